"""The Temporal worker: registers workflows and activities and wires their dependencies."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext

import uvloop
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.audit import AuditActivities
from activities.confirmation import ConfirmationActivities
from activities.connection import ConnectionActivities
from activities.coverage_export import CoverageExportActivities
from activities.disconnection import DisconnectionActivities
from activities.failures import ScrubbedFailures
from activities.feeds import FeedActivities
from activities.fulfillment import FulfillmentActivities
from activities.renewal import RenewalActivities
from activities.webhooks import WebhookActivities
from carriers import CARRIERS, SftpSettings, carrier_adapters
from runtime import temporal
from runtime.activity_metrics import ActivityMetrics
from runtime.logs import configure_logging
from runtime.probes import serve_probes
from runtime.settings import Settings, get_settings
from store.db import Database
from workflows.audit import GroupAuditWorkflow
from workflows.confirmation import GroupConfirmationsWorkflow
from workflows.connection import GroupConnectionWorkflow
from workflows.coverage_export import CoverageExportWorkflow
from workflows.disconnection import GroupDisconnectionWorkflow
from workflows.feed_run import FeedRunWorkflow
from workflows.fulfillment import GroupFulfillmentWorkflow
from workflows.renewal import RenewalDecisionWorkflow
from workflows.webhooks import WebhookDeliveryWorkflow

WORKFLOWS = [
    GroupConnectionWorkflow,
    GroupAuditWorkflow,
    GroupDisconnectionWorkflow,
    GroupFulfillmentWorkflow,
    GroupConfirmationsWorkflow,
    RenewalDecisionWorkflow,
    WebhookDeliveryWorkflow,
    CoverageExportWorkflow,
    FeedRunWorkflow,
]

log = logging.getLogger("carrierlink.worker")

# Every activity's failure leaves without the values a database or validation error quotes
# (activities/failures.py): the history and the log keep no person.
INTERCEPTORS = [ScrubbedFailures()]

# The workflow sandbox re-imports a workflow's modules for every run it starts. `domain` is
# pure (no I/O, no clocks, no randomness at import or in use), so it is shared instead: one
# import per worker, not per run. Without this a burst of runs spends most of its CPU importing.
# The workflows pass `domain` and the activity classes through themselves as well
# (`workflows/activity_refs.py`), so the replayer and test workers share them too.
WORKFLOW_RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules("domain")
)


@asynccontextmanager
async def build_worker(
    settings: Settings, client: Client, *, database: Database | None = None
) -> AsyncIterator[Worker]:
    """A worker with real dependencies; closes what it opened. Tests use this too."""
    db = database or Database(
        settings.require_database_url(), pool_size=settings.database_pool_size
    )
    async with carrier_adapters(
        {info.slug: settings.carrier_base_url(info.slug) for info in CARRIERS.values()},
        timeout_seconds=settings.carrier_timeout_seconds,
        sftp={
            info.slug: SftpSettings.from_url(settings.carrier_sftp_url(info.slug))
            for info in CARRIERS.values()
            if info.sends_files
        },
    ) as adapters:
        connection = ConnectionActivities(db, adapters)
        audit = AuditActivities(db, adapters, client, settings)
        disconnection = DisconnectionActivities(db, client, settings)
        fulfillment = FulfillmentActivities(db, adapters, client, settings)
        confirmation = ConfirmationActivities(db, adapters)
        renewal = RenewalActivities(db, adapters)
        webhook = WebhookActivities(db, settings)
        coverage_export = CoverageExportActivities(db)
        feeds = FeedActivities(db, adapters, client, settings)
        try:
            yield Worker(
                client,
                task_queue=settings.task_queue,
                workflows=WORKFLOWS,
                workflow_runner=WORKFLOW_RUNNER,
                activities=[
                    connection.record_status,
                    connection.lookup_group,
                    connection.register_data_exchange,
                    audit.pull_account,
                    audit.ensure_audit_schedule,
                    audit.pull_census_page,
                    audit.record_failure,
                    disconnection.record_status,
                    disconnection.check_request,
                    disconnection.disconnect_group,
                    disconnection.raise_carrier_disconnection,
                    fulfillment.build_transactions,
                    fulfillment.send_transactions,
                    fulfillment.track_transactions,
                    confirmation.confirm_due,
                    renewal.check_renewal,
                    renewal.record_check,
                    webhook.deliver_due,
                    coverage_export.build_export,
                    feeds.prepare_feed,
                    feeds.readiness,
                    feeds.open_run,
                    feeds.build_file,
                    feeds.record_review,
                    feeds.deliver_file,
                    feeds.read_acknowledgement,
                    feeds.give_up,
                ],
                interceptors=[*INTERCEPTORS, ActivityMetrics()],
                max_concurrent_activities=200,
                # On SIGTERM running activities get this long to finish before they are cancelled.
                graceful_shutdown_timeout=settings.worker_graceful_shutdown,
            )
        finally:
            await webhook.close()
            if database is None:
                await db.dispose()


async def main() -> None:
    # JSON lines off a terminal; activity and workflow lines carry their workflow and run ids.
    configure_logging()
    settings = get_settings()
    client = await temporal.connect(settings, runtime=temporal.metrics_runtime(settings))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with build_worker(settings, client) as worker, _probes(settings, worker), worker:
        log.info(
            "worker polling task queue %s on %s", settings.task_queue, settings.temporal_target
        )
        await stop.wait()
        log.info("worker stopping")


def _probes(settings: Settings, worker: Worker) -> AbstractAsyncContextManager[None]:
    """`/readyz` answers 200 while the worker runs (polls its task queue); off without a port."""
    if settings.worker_probe_port is None:
        return nullcontext()
    return serve_probes(
        settings.worker_host,
        settings.worker_probe_port,
        ready=lambda: worker.is_running and not worker.is_shutdown,
    )


if __name__ == "__main__":
    # libuv's event loop: the worker's time goes to socket I/O (PostgreSQL, the carriers,
    # Temporal), which it makes cheaper. uvicorn picks it for the API and the sandbox too.
    uvloop.run(main())
