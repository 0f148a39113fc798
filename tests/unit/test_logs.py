"""The JSON log line: correlation ids lifted to the top, extras kept, one object a line."""

from __future__ import annotations

import json
import logging

from runtime import logs


def test_a_worker_line_carries_its_workflow_and_run_id() -> None:
    record = logging.makeLogRecord(
        {
            "name": "temporalio.activity",
            "levelname": "INFO",
            "msg": "pulled %s plans",
            "args": (3,),
            # What temporalio's activity logger puts on the record (activity_info_on_extra).
            "temporal_activity": {
                "workflow_id": "group-audit/principal/1767/abc",
                "workflow_run_id": "0193-run",
                "workflow_type": "GroupAudit",
                "activity_type": "pull_account",
            },
        }
    )
    line = json.loads(logs.JsonFormatter().format(record))
    assert line["message"] == "pulled 3 plans"
    assert line["workflow_id"] == "group-audit/principal/1767/abc"
    assert line["run_id"] == "0193-run"
    assert line["activity_type"] == "pull_account"
    assert line["level"] == "INFO"


def test_a_line_logged_while_serving_a_request_carries_its_id() -> None:
    token = logs.request_id.set("req-1")
    try:
        record = logging.getLogger("carrierlink.test").makeRecord(
            "carrierlink.test", logging.INFO, __file__, 1, "hello", (), None
        )
    finally:
        logs.request_id.reset(token)
    line = json.loads(logs.JsonFormatter().format(record))
    assert line["request_id"] == "req-1"
    assert "req-1" in logs.TextFormatter().format(record)
