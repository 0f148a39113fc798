"""Logging for every process: one JSON object a line when not on a terminal, with correlation ids.

A line carries the request id of the API request it belongs to (`request_id`, set by
`api.access`), and a worker's line the workflow and run id of the activity or workflow that
logged it (temporalio puts them on the record as `temporal_activity` / `temporal_workflow`; they
are lifted to `workflow_id` and `run_id`). Nothing here adds personal data: callers log ids,
statuses and counts, never a member's name, SSN or date of birth.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

# The API request being served in this task (set and reset by `api.access.AccessLog`).
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

# What every LogRecord has; anything else on a record came from `extra=` and is kept.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
# temporalio's context dicts: their ids become top-level fields, the rest stays under the key.
_TEMPORAL = ("temporal_activity", "temporal_workflow")


def _stamp_request_id() -> None:
    """Record the request id on each record when it is made (the formatter may run later, e.g.
    under pytest's caplog, when the request is long over)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "stamps_request_id", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        current = request_id.get()
        if current is not None:
            record.request_id = current
        return record

    factory.stamps_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


_stamp_request_id()


def _correlation(record: logging.LogRecord) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    current = getattr(record, "request_id", None) or request_id.get()
    if current is not None:
        fields["request_id"] = current
    for key in _TEMPORAL:
        context = getattr(record, key, None)
        if isinstance(context, dict):
            for name in ("workflow_id", "run_id", "workflow_type", "activity_type"):
                if name in context:
                    fields[name] = context[name]
            if "workflow_run_id" in context:  # the activity's spelling of its run id
                fields["run_id"] = context["workflow_run_id"]
    return fields


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, correlation ids, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(_correlation(record))
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """For a person at a terminal: the usual line, with the request id when there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        current = getattr(record, "request_id", None)
        return f"{line} [request_id={current}]" if current else line


def configure_logging(*, level: int = logging.INFO, json_lines: bool | None = None) -> None:
    """Send every logger's records to stderr: JSON lines unless stderr is a terminal."""
    if json_lines is None:
        json_lines = not sys.stderr.isatty()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn's own loggers keep their records to themselves unless told otherwise.
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
