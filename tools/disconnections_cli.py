"""`carrierlink-disconnections`: review group disconnection requests from a shell.

Talks to the REST API (so the token's organization and every API rule apply): list requests,
show one, confirm one, reject one with a reason.

    carrierlink-disconnections list --status needs_review
    carrierlink-disconnections show <id>
    carrierlink-disconnections confirm <id> [--effective-end-date 2026-12-31]
    carrierlink-disconnections reject <id> --reason connection_restored [--context "..."]
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import httpx

from carriers import CARRIERS
from domain.disconnections import DisconnectionStatus, RejectionReason
from runtime.settings import get_settings

API = "/api/v1/group_disconnection_requests"

# `show` prints these first, in this order; any other field follows.
SHOW_ORDER = (
    "id",
    "status",
    "status_reason",
    "group_name",
    "group_id",
    "carrier_id",
    "effective_end_date",
    "source_type",
    "source_id",
    "source_date",
    "reason",
    "context",
    "version",
    "created",
    "modified",
    "decided",
    "completed",
    "organization_id",
)
TIMESTAMPS = frozenset({"created", "modified", "decided", "completed"})


class CliError(Exception):
    """A refusal to print on stderr (exit 1)."""


def default_api_url() -> str:
    if url := os.environ.get("CARRIERLINK_API_URL"):
        return url
    settings = get_settings()
    return f"http://{settings.api_host}:{settings.api_port}"


def default_token() -> str:
    return os.environ.get("CARRIERLINK_TOKEN") or get_settings().dev_token


def _iso_date(raw: str) -> str:
    try:
        return date.fromisoformat(raw).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date YYYY-MM-DD: {raw!r}") from None


def api_parser(
    *, prog: str, description: str
) -> tuple[argparse.ArgumentParser, argparse._SubParsersAction[argparse.ArgumentParser]]:
    """A review CLI's parser: where the API is and whose token, then its commands."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument(
        "--api-url",
        default=None,
        help="the API's base URL (default: $CARRIERLINK_API_URL, else the settings' API host:port)",
    )
    parser.add_argument(
        "--token",
        default=None,
        help="the organization's API token (default: $CARRIERLINK_TOKEN, else the dev token)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    return parser, commands


def _parser() -> argparse.ArgumentParser:
    parser, commands = api_parser(
        prog="carrierlink-disconnections",
        description="Review group disconnection requests through the carrierlink REST API.",
    )

    listing = commands.add_parser("list", help="list requests (newest first)")
    listing.add_argument(
        "--status",
        choices=[s.value for s in DisconnectionStatus],
        help="only requests in this status, e.g. needs_review",
    )
    listing.add_argument("--group-id", help="only this group's requests")
    listing.add_argument("--carrier-id", help="only requests for this carrier")
    listing.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")

    show = commands.add_parser("show", help="show one request")
    show.add_argument("id")

    confirm = commands.add_parser("confirm", help="confirm: the request moves to processing")
    confirm.add_argument("id")
    confirm.add_argument(
        "--effective-end-date",
        type=_iso_date,
        help="YYYY-MM-DD, the last day coverage is managed (needed if the request has none)",
    )

    reject = commands.add_parser("reject", help="reject: the group stays connected")
    reject.add_argument("id")
    reject.add_argument("--reason", required=True, choices=[r.value for r in RejectionReason])
    reject.add_argument("--context", help="a note kept with the request")
    return parser


def _answer(response: httpx.Response) -> Any:
    """The response's JSON, or a CliError with the API's message."""
    if response.is_success:
        return response.json()
    try:
        body = response.json()
        message = body.get("message") or response.text
        extra = {k: v for k, v in body.items() if k not in ("message", "status", "errors")}
    except ValueError:
        message, extra = response.text, {}
    details = "".join(f"; {k}: {v}" for k, v in extra.items())
    raise CliError(f"{response.status_code}: {message}{details}")


def _carrier_name(carrier_id: str | None) -> str:
    for carrier_uuid, info in CARRIERS.items():
        if str(carrier_uuid) == carrier_id:
            return info.name
    return carrier_id or ""


def _table(rows: list[dict[str, Any]]) -> str:
    header = ("ID", "STATUS", "GROUP", "CARRIER", "END DATE", "SOURCE")
    lines = [
        (
            str(r["id"]),
            str(r["status"]),
            str(r.get("group_name") or ""),
            _carrier_name(r.get("carrier_id")),
            str(r.get("effective_end_date") or "-"),
            str(r.get("source_type") or ""),
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *lines]
    )


def _show(record: dict[str, Any]) -> str:
    keys = [k for k in SHOW_ORDER if k in record] + [k for k in record if k not in SHOW_ORDER]
    width = max(len(k) for k in keys)
    lines = []
    for key in keys:
        value = record[key]
        if key == "carrier_id" and value:
            value = f"{value} ({_carrier_name(value)})"
        elif key in TIMESTAMPS and isinstance(value, int):
            value = f"{value} ({datetime.fromtimestamp(value, UTC):%Y-%m-%d %H:%M:%S} UTC)"
        lines.append(f"{key.ljust(width)}  {'-' if value is None else value}")
    return "\n".join(lines)


def _run(args: argparse.Namespace, http: httpx.Client) -> str:
    if args.command == "list":
        params: dict[str, Any] = {"page_size": args.limit}
        if args.status:
            params["status"] = args.status
        if args.group_id:
            params["group_id"] = args.group_id
        if args.carrier_id:
            params["carrier_id"] = args.carrier_id
        page = _answer(http.get(API, params=params))
        rows = page["response"]
        total = page["meta"]["total_records"]
        if not rows:
            return "no disconnection requests"
        shown = f"{len(rows)} of {total}" if total > len(rows) else str(total)
        return f"{_table(rows)}\n\n{shown} request(s)"
    if args.command == "show":
        return _show(_answer(http.get(f"{API}/{args.id}")))
    if args.command == "confirm":
        body = {"effective_end_date": args.effective_end_date} if args.effective_end_date else {}
        record = _answer(http.put(f"{API}/{args.id}/confirm", json=body))
        return f"confirmed: {record['id']} is {record['status']}\n\n{_show(record)}"
    assert args.command == "reject"
    body = {"reason": args.reason}
    if args.context:
        body["context"] = args.context
    record = _answer(http.put(f"{API}/{args.id}/reject", json=body))
    return f"rejected: {record['id']} is {record['status']}\n\n{_show(record)}"


def main(argv: list[str] | None = None) -> int:
    return run_against_api(_parser().parse_args(argv), _run)


def run_against_api(
    args: argparse.Namespace, run: Callable[[argparse.Namespace, httpx.Client], str]
) -> int:
    """Run a review CLI's command against the API and print its answer; the exit code.

    Shared by `carrierlink-disconnections` and `carrierlink-connections`: one way to reach the
    API, and one way to report a refusal or an unreachable API (exit 1)."""
    api_url = (args.api_url or default_api_url()).rstrip("/")
    token = args.token or default_token()
    try:
        with httpx.Client(
            base_url=api_url, headers={"Authorization": f"Bearer {token}"}, timeout=60
        ) as http:
            print(run(args, http))
    except CliError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except httpx.HTTPError as err:
        print(f"error: cannot reach the API at {api_url}: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
