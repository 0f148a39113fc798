"""An activity that fails on a database error leaves no person in the workflow's history or in the
worker's log: the failure names the error (class, SQLSTATE), never the statement's values."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from runtime.logs import JsonFormatter
from store.db import Database
from worker import INTERCEPTORS

pytestmark = pytest.mark.integration

# What a snapshot's row would carry; written by the activity itself, so that only a leak of the
# database error's text can bring it into the history.
PERSON = ("Zelda", "Quarrington", "078-05-1120", "1961-04-02")

# The driver refuses the value before sending it (its message quotes the value), and the
# server refuses it after (its message quotes it too).
STATEMENTS = {
    "driver": "SELECT CAST(:value AS integer)",
    "server": "SELECT CAST(CAST(:value AS text) AS integer)",
}


class FailingActivities:
    def __init__(self, database: Database) -> None:
        self._database = database

    @activity.defn(name="test_fail_on_a_person")
    async def fail_on_a_person(self, kind: str) -> None:
        async with self._database.transaction() as session:
            await session.execute(text(STATEMENTS[kind]), {"value": " ".join(PERSON)})


@workflow.defn(name="TestFailOnAPerson")
class FailOnAPersonWorkflow:
    @workflow.run
    async def run(self) -> list[str]:
        told = []
        for kind in STATEMENTS:
            try:
                await workflow.execute_activity(
                    "test_fail_on_a_person",
                    kind,
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=RetryPolicy(maximum_attempts=1),
                )
            except ActivityError as error:
                cause = error.cause
                told.append(
                    f"{cause.type}: {cause.message}"
                    if isinstance(cause, ApplicationError)
                    else repr(cause)
                )
        return told


async def test_a_database_error_in_an_activity_leaves_no_person_in_history_or_log(
    client: Client, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    task_queue = f"failures-{uuid.uuid4().hex[:8]}"
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[FailOnAPersonWorkflow],
        activities=[FailingActivities(database).fail_on_a_person],
        workflow_runner=UnsandboxedWorkflowRunner(),
        interceptors=INTERCEPTORS,
    ):
        handle = await client.start_workflow(
            FailOnAPersonWorkflow.run, id=f"failures-{uuid.uuid4()}", task_queue=task_queue
        )
        told = await handle.result()

    # Both failed as the database's errors, named, and retried as before (plain types).
    assert len(told) == 2
    assert told == [
        "DBAPIError: DBAPIError: DataError (SQLSTATE 22000)",
        "DBAPIError: DBAPIError: InvalidTextRepresentationError (SQLSTATE 22P02)",
    ]

    history = await handle.fetch_history()
    failures = [
        event for event in history.events if event.HasField("activity_task_failed_event_attributes")
    ]
    assert len(failures) == 2
    history_text = history.to_json()
    assert [piece for piece in PERSON if piece in history_text] == []

    formatter = JsonFormatter()
    completed_as_failed = [
        record
        for record in caplog.records
        if "Completing activity as failed" in record.getMessage()
    ]
    assert len(completed_as_failed) == 2
    log_text = "\n".join(formatter.format(record) for record in caplog.records)
    assert "DataError" in log_text
    assert [piece for piece in PERSON if piece in log_text] == []
