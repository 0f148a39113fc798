"""`carrierlink-connections`: find group connections waiting on an operator and decide reviews.

Talks to the REST API (so the token's organization and every API rule apply):

    carrierlink-connections list --status noyo_review
    carrierlink-connections show <id>
    carrierlink-connections review <id> approve [--note "EIN checked with the employer"]
    carrierlink-connections review <id> reject --note "the EIN belongs to another employer"

A decision goes through the connection's `review` update: a connection not in `noyo_review`
answers 409 and the CLI exits 1; a decision other than approve/reject is a usage error (exit 2).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

import httpx

from domain.connections import ConnectionStatus
from tools.disconnections_cli import (
    _answer,
    _carrier_name,
    api_parser,
    run_against_api,
)

API = "/api/v1/group_connections"
SHOW_ORDER = (
    "id",
    "status",
    "carrier_id",
    "carrier_group_id",
    "group_id",
    "request_type",
    "setup_result",
    "created",
    "modified",
    "completed",
    "organization_id",
)
TIMESTAMPS = frozenset({"created", "modified", "completed"})


def _parser() -> argparse.ArgumentParser:
    parser, commands = api_parser(
        prog="carrierlink-connections",
        description="Find waiting group connections and decide reviews through the REST API.",
    )

    listing = commands.add_parser("list", help="list connections (oldest first)")
    listing.add_argument(
        "--status",
        choices=[s.value for s in ConnectionStatus],
        help="only connections in this status, e.g. noyo_review",
    )
    listing.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")

    show = commands.add_parser("show", help="show one connection")
    show.add_argument("id")

    review = commands.add_parser("review", help="decide a connection in noyo_review")
    review.add_argument("id")
    review.add_argument(
        "decision",
        choices=["approve", "reject"],
        help="approve: pull the account; reject: unable_to_connect",
    )
    review.add_argument("--note", help="why (kept with the decision)")
    return parser


def _table(rows: list[dict[str, Any]]) -> str:
    header = ("ID", "STATUS", "CARRIER", "CARRIER GROUP", "WAITING SINCE")
    lines = [
        (
            str(r["id"]),
            str(r["status"]),
            _carrier_name(r.get("carrier_id")),
            str(r.get("carrier_group_id") or ""),
            _when(r.get("modified")),
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *lines]
    )


def _when(value: object) -> str:
    if isinstance(value, int):
        return f"{datetime.fromtimestamp(value, UTC):%Y-%m-%d %H:%M:%S} UTC"
    return "-"


def _show(record: dict[str, Any]) -> str:
    keys = [k for k in SHOW_ORDER if k in record] + [k for k in record if k not in SHOW_ORDER]
    width = max(len(k) for k in keys)
    lines = []
    for key in keys:
        value = record[key]
        if key == "carrier_id" and value:
            value = f"{value} ({_carrier_name(value)})"
        elif key in TIMESTAMPS and isinstance(value, int):
            value = f"{value} ({_when(value)})"
        elif isinstance(value, dict | list):
            value = json.dumps(value, sort_keys=True)
        lines.append(f"{key.ljust(width)}  {'-' if value is None else value}")
    return "\n".join(lines)


def _run(args: argparse.Namespace, http: httpx.Client) -> str:
    if args.command == "list":
        params: dict[str, Any] = {
            "page_size": args.limit,
            "sort_by": "modified",
            "sort_direction": "asc",
        }
        if args.status:
            params["status"] = args.status
        page = _answer(http.get(API, params=params))
        rows = page["response"]
        total = page["meta"]["total_records"]
        if not rows:
            return "no group connections"
        shown = f"{len(rows)} of {total}" if total > len(rows) else str(total)
        return f"{_table(rows)}\n\n{shown} connection(s)"
    if args.command == "show":
        return _show(_answer(http.get(f"{API}/{args.id}")))
    assert args.command == "review"
    body: dict[str, Any] = {"decision": args.decision}
    if args.note:
        body["note"] = args.note
    record = _answer(http.put(f"{API}/{args.id}/review", json=body))
    verb = "approved" if args.decision == "approve" else "rejected"
    return f"{verb}: {record['id']} is {record['status']}\n\n{_show(record)}"


def main(argv: list[str] | None = None) -> int:
    return run_against_api(_parser().parse_args(argv), _run)


if __name__ == "__main__":
    sys.exit(main())
