"""The Temporal worker: registers workflows and activities and wires their dependencies."""

from __future__ import annotations

import asyncio
import compileall
import logging
import signal
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager, nullcontext
from pathlib import Path

import uvloop
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

import workflows
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
from carriers import CARRIERS, CarrierAdapter, SftpSettings, carrier_adapters
from domain.webhooks import delivery_queue
from runtime import temporal
from runtime.activity_metrics import ActivityMetrics
from runtime.logs import configure_logging
from runtime.probes import serve_probes
from runtime.settings import Settings, WorkerRole, get_settings
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


def cache_workflow_bytecode(root: Path | None = None) -> bool:
    """Compile the workflow modules to bytecode beside them (`__pycache__`), once, before the
    workers are built (`build_worker`).

    Each run the sandbox starts imports them again, and Python reads that bytecode when it is
    there. Where bytecode is never written (PYTHONDONTWRITEBYTECODE=1, as the image and CI set
    it), every run compiled its workflow's source instead: 65% of starting a run, about 8 ms
    of CPU per connection in bench.connections' burst (py-spy). Up-to-date files are left as
    they are; a tree the worker may not write (the image's, compiled when it is built) is
    used as it is. True when every module has its bytecode."""
    return bool(compileall.compile_dir(root or Path(workflows.__file__).parent, quiet=2))


# The webhook worker's activity slots: each is one subscription's turn (minutes long, mostly
# waiting on its receivers), so this is how many subscriptions one process serves at once; more
# subscriptions than that want more `webhooks` workers, not a bigger one.
WEBHOOK_ACTIVITY_SLOTS = 100


class Workers:
    """One process's Temporal workers, one per task queue its role polls, used as one Worker:
    `run()`, `shutdown()`, `is_running`, `is_shutdown` and `async with` (which runs them)."""

    def __init__(self, workers: Sequence[Worker]) -> None:
        if not workers:
            raise ValueError("a worker process polls at least one task queue")
        self._workers = tuple(workers)
        self._stack: AsyncExitStack | None = None

    @property
    def task_queues(self) -> list[str]:
        return [worker.task_queue for worker in self._workers]

    @property
    def is_running(self) -> bool:
        return all(worker.is_running for worker in self._workers)

    @property
    def is_shutdown(self) -> bool:
        return any(worker.is_shutdown for worker in self._workers)

    async def run(self) -> None:
        """Run every worker until shut down; one failing stops the others, then it raises."""
        tasks = [asyncio.create_task(worker.run()) for worker in self._workers]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            await self.shutdown()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise

    async def shutdown(self) -> None:
        await asyncio.gather(*(worker.shutdown() for worker in self._workers))

    async def __aenter__(self) -> Workers:
        async with AsyncExitStack() as stack:
            for worker in self._workers:
                await stack.enter_async_context(worker)
            self._stack = stack.pop_all()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._stack is not None:
            await self._stack.aclose()
            self._stack = None


def polls(role: WorkerRole) -> tuple[bool, bool]:
    """Whether a process of `role` polls (the engine's queue, the deliveries' queue)."""
    return role in ("all", "engine"), role in ("all", "webhooks")


@asynccontextmanager
async def build_worker(
    settings: Settings,
    client: Client,
    *,
    database: Database | None = None,
    role: WorkerRole | None = None,
) -> AsyncIterator[Workers]:
    """The workers of one process (`role`, default `settings.worker_role`) with real
    dependencies; closes what it opened. Tests use this too."""
    if not cache_workflow_bytecode():
        log.warning("workflow modules not compiled: every run started compiles its source")
    engine, webhooks = polls(role or settings.worker_role)
    db = database or Database(
        settings.require_database_url(), pool_size=settings.database_pool_size
    )
    # One instance (one HTTP client) for both queues when a process polls both.
    webhook = WebhookActivities(db, settings)
    try:
        async with AsyncExitStack() as stack:
            workers: list[Worker] = []
            if engine:
                adapters = await stack.enter_async_context(
                    carrier_adapters(
                        {
                            info.slug: settings.carrier_base_url(info.slug)
                            for info in CARRIERS.values()
                        },
                        timeout_seconds=settings.carrier_timeout_seconds,
                        sftp={
                            info.slug: SftpSettings.from_url(settings.carrier_sftp_url(info.slug))
                            for info in CARRIERS.values()
                            if info.sends_files
                        },
                    )
                )
                workers.append(_engine_worker(settings, client, db, adapters, webhook))
            if webhooks:
                workers.append(
                    Worker(
                        client,
                        task_queue=delivery_queue(settings.task_queue),
                        activities=[webhook.deliver_due],
                        interceptors=[*INTERCEPTORS, ActivityMetrics()],
                        max_concurrent_activities=WEBHOOK_ACTIVITY_SLOTS,
                        graceful_shutdown_timeout=settings.worker_graceful_shutdown,
                    )
                )
            yield Workers(workers)
    finally:
        await webhook.close()
        if database is None:
            await db.dispose()


def _engine_worker(
    settings: Settings,
    client: Client,
    db: Database,
    adapters: dict[uuid.UUID, CarrierAdapter],
    webhook: WebhookActivities,
) -> Worker:
    """The main task queue: every workflow and every activity."""
    connection = ConnectionActivities(db, adapters)
    audit = AuditActivities(db, adapters, client, settings)
    disconnection = DisconnectionActivities(db, client, settings)
    fulfillment = FulfillmentActivities(db, adapters, client, settings)
    confirmation = ConfirmationActivities(db, adapters)
    renewal = RenewalActivities(db, adapters)
    coverage_export = CoverageExportActivities(db)
    feeds = FeedActivities(db, adapters, client, settings)
    return Worker(
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
            # Deliveries run on their own queue (`workflows.webhooks`), but a loop started
            # before that patch schedules its turns here until it continues as new (at most
            # TURNS_PER_RUN turns, about 8 hours): the engine serves them till then.
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
            "worker polling task queues %s (role %s) on %s",
            ", ".join(worker.task_queues),
            settings.worker_role,
            settings.temporal_target,
        )
        await stop.wait()
        log.info("worker stopping")


def _probes(settings: Settings, worker: Workers) -> AbstractAsyncContextManager[None]:
    """`/readyz` answers 200 while the workers run (poll their task queues); off without a port."""
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
