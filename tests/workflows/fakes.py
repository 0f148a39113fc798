"""Mocked activities of every lifecycle and a time-skipping Temporal environment for tests."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from temporalio import activity
from temporalio.api.enums.v1 import EventType, IndexedValueType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.audit import AuditActivities
from activities.confirmation import ConfirmationActivities
from activities.connection import ConnectionActivities
from activities.disconnection import DisconnectionActivities
from activities.feeds import FeedActivities
from activities.fulfillment import FulfillmentActivities
from activities.renewal import RenewalActivities
from domain.account import DataExchangeRegistration, GroupLookup
from domain.audits import AccountSummary, AuditFailure, PullRequest
from domain.census import CensusPageRequest, CensusPageResult
from domain.confirmation import ConfirmedTurn, DueCheck
from domain.connections import (
    ConnectionInput,
    ConnectionState,
    ConnectionStatus,
    DataExchangeRequest,
    GroupData,
    LookupRequest,
    RecheckPolicy,
    StatusChange,
    can_transition,
)
from domain.disconnections import (
    CarrierEnded,
    CheckResult,
    DisconnectGroup,
    DisconnectionChange,
    DisconnectionInput,
    DisconnectionState,
    DisconnectionStatus,
    RequestCheck,
    SourceType,
)
from domain.disconnections import can_transition as can_disconnection_transition
from domain.enums import LookupOutcome
from domain.feeds import FeedReadiness
from domain.fulfillment import (
    BuildRequest,
    Built,
    KeyedTransaction,
    SendRequest,
    Sent,
    Tracked,
    TrackRequest,
)
from domain.renewals import (
    CheckOutcome,
    IssueLevel,
    RecordedCheck,
    RenewalCheck,
    RenewalIssue,
    RenewalStatus,
)
from runtime.temporal import DATA_CONVERTER
from workflows import search_attributes as sa
from workflows.audit import GroupAuditWorkflow
from workflows.confirmation import GroupConfirmationsWorkflow
from workflows.connection import (
    GroupConnectionWorkflow,
    search_attributes,
    workflow_id,
)
from workflows.disconnection import (
    GroupDisconnectionWorkflow,
)
from workflows.fulfillment import GroupFulfillmentWorkflow
from workflows.renewal import RenewalDecisionWorkflow

TEST_SERVER = Path(sys.executable).parent / "temporal-test-server"

FakeActivity = TypeVar("FakeActivity", bound=Callable[..., Any])


def wire_name(real: Callable[..., Any]) -> str:
    """The name the real activity method is registered under (its `@activity.defn`)."""
    name = activity._Definition.must_from_callable(real).name
    assert name is not None, f"{real} is a dynamic activity"
    return name


def fake_of(real: Callable[..., Any]) -> Callable[[FakeActivity], FakeActivity]:
    """Register the decorated fake under the real activity's name, so workflows call it."""
    return activity.defn(name=wire_name(real))


# The marker a local activity's result is recorded in (the SDK's name for it).
LOCAL_ACTIVITY_MARKER = "core_local_activity"


def is_local_step(event: HistoryEvent) -> bool:
    """Whether the history event records a local activity's result (`short_step`)."""
    return (
        event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        and event.marker_recorded_event_attributes.marker_name == LOCAL_ACTIVITY_MARKER
    )


# The figures a mocked pull reports; tests compare the workflow's setup_result against them.
SUMMARY = {
    "locations": 2,
    "contacts": 3,
    "group_enrollments": 4,
    "plans": 5,
    "differences": 1,
    "coverage_end_date": "2027-12-31",
}


async def start_time_skipping() -> WorkflowEnvironment:
    """A time-skipping test server that knows the project's search attributes.

    The test server refuses unregistered search attributes (at start: "search attribute
    CarrierGroupId is not defined"; on upsert the workflow task fails and is retried every 10 s,
    so the run never moves on). It has no `search_attributes` option, but it implements the
    operator service's AddSearchAttributes, which is enough.
    """
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER), data_converter=DATA_CONVERTER
    )
    try:
        await env.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=env.client.namespace,
                search_attributes={
                    key.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD for key in sa.ALL
                },
            )
        )
    except BaseException:
        await env.shutdown()
        raise
    return env


def connection_input(
    carrier_group_id: str = "1234567",
    *,
    initial: timedelta = timedelta(minutes=1),
    backoff: float = 2.0,
    maximum: timedelta = timedelta(days=1),
    wait_limit: timedelta = timedelta(days=30),
    **overrides: Any,
) -> ConnectionInput:
    values: dict[str, Any] = {
        "connection_id": uuid.uuid4(),
        "organization_id": uuid.uuid4(),
        "group_id": uuid.uuid4(),
        "carrier_id": uuid.uuid4(),
        "group_data": GroupData(carrier_group_id=carrier_group_id, group_name="Acme Corp"),
        "federal_ein": "987654321",
        "request_type": "initial",
        "recheck": RecheckPolicy(
            initial_interval=initial,
            backoff=backoff,
            maximum_interval=maximum,
            wait_limit=wait_limit,
        ),
    }
    values.update(overrides)
    return ConnectionInput(**values)


@dataclass
class Lookup:
    """One execution attempt of the lookup activity, with the server's (virtual) clock."""

    carrier_group_id: str
    attempt: int
    scheduled: datetime  # when the workflow scheduled the lookup (first attempt)
    attempt_scheduled: datetime  # when this attempt was scheduled (after retry backoff)


Answer = Callable[[LookupRequest, int], LookupOutcome]
"""Decides a lookup from the request and the attempt number; may raise to fail the attempt."""


def always(outcome: LookupOutcome) -> Answer:
    return lambda request, attempt: outcome


def by_carrier_group_id(outcomes: dict[str, LookupOutcome]) -> Answer:
    return lambda request, attempt: outcomes[request.carrier_group_id]


def in_turn(*outcomes: LookupOutcome) -> Answer:
    """One outcome per lookup (not per attempt), the last one repeated."""
    answered = 0

    def answer(request: LookupRequest, attempt: int) -> LookupOutcome:
        nonlocal answered
        outcome = outcomes[min(answered, len(outcomes) - 1)]
        answered += 1
        return outcome

    return answer


@dataclass
class Gate:
    """Holds an activity while a test sends messages to the workflow that scheduled it."""

    entered: asyncio.Event = field(default_factory=asyncio.Event)
    opened: asyncio.Event = field(default_factory=asyncio.Event)

    async def reached(self, *, within: float = 10) -> None:
        await asyncio.wait_for(self.entered.wait(), within)

    def open(self) -> None:
        self.opened.set()


@dataclass
class FakeCarrier:
    """The connection activities, mocked: they record what they receive.

    `record_status` also checks each status against the previous one of the same connection with
    the domain's transition table, and the sequence numbers for growth, so every test asserts that
    the workflow only ever made legal moves.
    """

    answer: Answer = field(default_factory=lambda: always(LookupOutcome.FOUND))
    register_error: BaseException | None = None
    pull_error: BaseException | None = None
    gates: dict[str, Gate] = field(default_factory=dict)
    # Called after a status is written, before the activity returns (what a watcher could do).
    on_record: Callable[[StatusChange], Awaitable[None]] | None = None
    changes: list[StatusChange] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    lookups: list[Lookup] = field(default_factory=list)
    registrations: list[DataExchangeRequest] = field(default_factory=list)
    pulls: list[PullRequest] = field(default_factory=list)
    schedules: list[PullRequest] = field(default_factory=list)
    # Census pages the carrier answers (each page's employees); one empty page by default.
    census_pages: list[int] = field(default_factory=lambda: [0])
    census_requests: list[CensusPageRequest] = field(default_factory=list)
    audit_failures: list[AuditFailure] = field(default_factory=list)
    carrier_ended: list[CarrierEnded] = field(default_factory=list)
    audit_id: uuid.UUID = field(default_factory=uuid.uuid4)
    # A file carrier (issue 22): what the feed's readiness answers, in turn (the last repeats);
    # empty for an API carrier.
    readiness: list[FeedReadiness] = field(default_factory=list)
    readiness_asked: int = 0
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def activities(self) -> Sequence[Callable[..., Any]]:
        return [
            self.record_status,
            self.lookup_group,
            self.register_data_exchange,
            self.pull,
            self.ensure_audit_schedule,
            self.record_audit_failure,
            self.raise_carrier_disconnection,
            self.pull_census_page,
            self.prepare_feed,
            self.feed_readiness,
        ]

    @property
    def statuses(self) -> list[ConnectionStatus]:
        return [change.status for change in self.changes]

    @property
    def looked_up(self) -> list[str]:
        """The carrier group IDs of each lookup (retried attempts counted once)."""
        return [lookup.carrier_group_id for lookup in self.lookups if lookup.attempt == 1]

    async def reached(
        self, status: ConnectionStatus, *, times: int = 1, within: float = 10
    ) -> None:
        """Wait (in real time) until `status` has been recorded `times` times."""

        async def seen() -> None:
            while self.statuses.count(status) < times:
                self._changed.clear()
                await self._changed.wait()

        try:
            await asyncio.wait_for(seen(), within)
        except TimeoutError:
            raise AssertionError(f"{status} not recorded {times}x: {self.statuses}") from None

    def gate(self, real: Callable[..., Any]) -> Gate:
        """From now on, calls of the fake of activity `real` wait until the gate opens."""
        gate = self.gates[wire_name(real)] = Gate()
        return gate

    def open_gates(self) -> None:
        for gate in self.gates.values():
            gate.opened.set()

    async def _held(self) -> None:
        gate = self.gates.get(activity.info().activity_type)
        if gate is not None:
            gate.entered.set()
            await gate.opened.wait()

    @fake_of(ConnectionActivities.record_status)
    async def record_status(self, change: StatusChange) -> None:
        await self._held()
        mine = [
            c for c in self.changes if c.connection.connection_id == change.connection.connection_id
        ]
        previous = mine[-1].status if mine else change.connection.status
        # Re-recording the same status is how a restarted attempt announces `processing` again.
        if change.status is not previous and not can_transition(previous, change.status):
            self.problems.append(f"illegal move {previous} -> {change.status}")
        if mine and change.seq <= mine[-1].seq:
            self.problems.append(f"seq {change.seq} after {mine[-1].seq}")
        self.changes.append(change)
        self._changed.set()
        if self.on_record is not None:
            await self.on_record(change)

    @fake_of(ConnectionActivities.lookup_group)
    async def lookup_group(self, request: LookupRequest) -> GroupLookup:
        info = activity.info()
        self.lookups.append(
            Lookup(
                request.carrier_group_id,
                info.attempt,
                info.scheduled_time,
                info.current_attempt_scheduled_time,
            )
        )
        await self._held()
        outcome = self.answer(request, info.attempt)
        return GroupLookup(carrier_group_id=request.carrier_group_id, outcome=outcome)

    @fake_of(ConnectionActivities.register_data_exchange)
    async def register_data_exchange(
        self, request: DataExchangeRequest
    ) -> DataExchangeRegistration:
        self.registrations.append(request)
        await self._held()
        if self.register_error is not None:
            raise self.register_error
        return DataExchangeRegistration(
            registration_id=f"reg-{request.idempotency_key}",
            carrier_group_id=request.carrier_group_id,
            platform_reference=request.platform_reference,
        )

    @fake_of(AuditActivities.pull_account)
    async def pull(self, request: PullRequest) -> AccountSummary:
        self.pulls.append(request)
        await self._held()
        if self.pull_error is not None:
            raise self.pull_error
        return AccountSummary(audit_id=self.audit_id, **SUMMARY)

    @fake_of(AuditActivities.pull_census_page)
    async def pull_census_page(self, request: CensusPageRequest) -> CensusPageResult:
        self.census_requests.append(request)
        index = int(request.cursor or 0)
        last = index + 1 >= len(self.census_pages)
        return CensusPageResult(
            members=self.census_pages[index],
            total=sum(self.census_pages),
            differences=0,
            next_cursor=None if last else str(index + 1),
        )

    @fake_of(DisconnectionActivities.raise_carrier_disconnection)
    async def raise_carrier_disconnection(self, ended: CarrierEnded) -> uuid.UUID | None:
        self.carrier_ended.append(ended)
        return ended.request_id()

    @fake_of(AuditActivities.record_failure)
    async def record_audit_failure(self, failure: AuditFailure) -> None:
        self.audit_failures.append(failure)

    @fake_of(AuditActivities.ensure_audit_schedule)
    async def ensure_audit_schedule(self, request: PullRequest) -> str:
        self.schedules.append(request)
        return f"group-audit/{request.carrier_group_id}"

    @fake_of(FeedActivities.prepare_feed)
    async def prepare_feed(self, request: PullRequest) -> FeedReadiness:
        return await self.feed_readiness(request)

    @fake_of(FeedActivities.readiness)
    async def feed_readiness(self, request: PullRequest) -> FeedReadiness:
        if not self.readiness:
            return FeedReadiness(sends_files=False)
        answer = self.readiness[min(self.readiness_asked, len(self.readiness) - 1)]
        self.readiness_asked += 1
        return answer


@dataclass
class FakeDisconnectionStore:
    """The disconnection activities, mocked: a request table in memory and what was asked."""

    problem: str | None = None  # what the platform-request check answers
    disconnect_gate: Gate | None = None
    changes: list[DisconnectionChange] = field(default_factory=list)
    checks: list[RequestCheck] = field(default_factory=list)
    disconnected: list[DisconnectGroup] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def activities(self) -> Sequence[Callable[..., Any]]:
        return [self.record_status, self.check_request, self.disconnect_group]

    def statuses(self, request_id: uuid.UUID) -> list[DisconnectionStatus]:
        return [c.state.status for c in self.changes if c.input.request_id == request_id]

    async def reached(
        self, request_id: uuid.UUID, status: DisconnectionStatus, *, within: float = 10
    ) -> None:
        async def seen() -> None:
            while status not in self.statuses(request_id):
                self._changed.clear()
                await self._changed.wait()

        try:
            await asyncio.wait_for(seen(), within)
        except TimeoutError:
            raise AssertionError(f"{status} not recorded: {self.statuses(request_id)}") from None

    @fake_of(DisconnectionActivities.record_status)
    async def record_status(self, change: DisconnectionChange) -> uuid.UUID:
        mine = [c for c in self.changes if c.input.request_id == change.input.request_id]
        previous = mine[-1].state.status if mine else change.input.state.status
        new = change.state.status
        if new is not previous and not can_disconnection_transition(previous, new):
            self.problems.append(f"illegal move {previous} -> {new}")
        if mine and change.seq <= mine[-1].seq:
            self.problems.append(f"seq {change.seq} after {mine[-1].seq}")
        self.changes.append(change)
        self._changed.set()
        return uuid.uuid4()

    @fake_of(DisconnectionActivities.check_request)
    async def check_request(self, check: RequestCheck) -> CheckResult:
        self.checks.append(check)
        return CheckResult(connection_id=uuid.uuid4(), problem=self.problem)

    @fake_of(DisconnectionActivities.disconnect_group)
    async def disconnect_group(self, request: DisconnectGroup) -> None:
        self.disconnected.append(request)
        if self.disconnect_gate is not None:
            self.disconnect_gate.entered.set()
            await self.disconnect_gate.opened.wait()


def disconnection_input(
    status: DisconnectionStatus = DisconnectionStatus.PROCESSING,
    *,
    effective_end_date: date | None = None,
    source_type: SourceType = SourceType.PLATFORM,
    **overrides: Any,
) -> DisconnectionInput:
    request_id = uuid.uuid4()
    values: dict[str, Any] = {
        "request_id": request_id,
        "organization_id": uuid.uuid4(),
        "group_id": uuid.uuid4(),
        "carrier_id": uuid.uuid4(),
        "source_type": source_type,
        "state": DisconnectionState(
            request_id=request_id,
            status=status,
            version=uuid.uuid4(),
            effective_end_date=effective_end_date,
        ),
    }
    values.update(overrides)
    return DisconnectionInput(**values)


@dataclass
class FakeTransaction:
    id: uuid.UUID
    carrier_id: uuid.UUID
    sent: bool = False
    final: str | None = None  # "completed" | "failed"
    polls: int = 0


@dataclass
class FakeSnapshotStore:
    """The group fulfillment activities, mocked, with what each was asked.

    `store()` commits a snapshot with one transaction per carrier; the loop only sees stored
    ones. `faults` says how many sends a carrier fault holds back first; `polls` how many times
    the carrier answers "still working" before `final` (default: completed). The first key a
    transaction is sent under is the one the carrier sees, as the real activity stores it.
    """

    stored: dict[uuid.UUID, list[FakeTransaction]] = field(default_factory=dict)
    built: list[uuid.UUID] = field(default_factory=list)
    builds: list[list[uuid.UUID]] = field(default_factory=list)  # what each build awaited
    built_at: list[datetime] = field(default_factory=list)  # when each build began
    first_build: asyncio.Event = field(default_factory=asyncio.Event)
    # Runs inside the first send: what else happens while a turn is under way.
    during_send: Callable[[], Awaitable[None]] | None = None
    polls: int = 2
    faults: int = 0
    refused: set[uuid.UUID] = field(default_factory=set)
    failed_at_carrier: set[uuid.UUID] = field(default_factory=set)
    sends: list[KeyedTransaction] = field(default_factory=list)
    keys: dict[uuid.UUID, str] = field(default_factory=dict)
    tracks: list[datetime] = field(default_factory=list)
    sent_at: list[datetime] = field(default_factory=list)
    # Round-trip confirmation: the due times of pending checks, and the turns taken.
    due: list[datetime] = field(default_factory=list)
    turns: list[datetime] = field(default_factory=list)
    # At most this many snapshots per build (the rest answer `more`); None: all of them.
    build_batch: int | None = None
    # The test server's (virtual) clock: sends and tracks run as local activities, whose
    # scheduled time is the worker's wall clock.
    clock: Callable[[], Awaitable[datetime]] | None = None

    async def _now(self) -> datetime:
        return activity.info().scheduled_time if self.clock is None else await self.clock()

    @property
    def activities(self) -> Sequence[Callable[..., Any]]:
        return [self.build, self.send, self.track, self.confirm_due]

    def store(self, *carriers: uuid.UUID, snapshot_id: uuid.UUID | None = None) -> uuid.UUID:
        snapshot_id = snapshot_id or uuid.uuid4()
        self.stored[snapshot_id] = [FakeTransaction(uuid.uuid4(), carrier) for carrier in carriers]
        return snapshot_id

    def transactions(self) -> dict[uuid.UUID, FakeTransaction]:
        return {t.id: t for s in self.built for t in self.stored[s]}

    @fake_of(FulfillmentActivities.build_transactions)
    async def build(self, request: BuildRequest) -> Built:
        self.builds.append(request.awaited)
        self.built_at.append(await self._now())
        self.first_build.set()
        pending = [s for s in self.stored if s not in self.built]
        batch = pending if self.build_batch is None else pending[: self.build_batch]
        self.built.extend(batch)
        mine = self.transactions().values()
        return Built(
            unsent=[t.id for t in mine if not t.sent and t.final is None],
            stored=[s for s in request.awaited if s in self.stored],
            in_flight=sum(1 for t in mine if t.sent and t.final is None),
            more=len(pending) > len(batch),
        )

    @fake_of(FulfillmentActivities.send_transactions)
    async def send(self, request: SendRequest) -> Sent:
        if self.during_send is not None:
            during, self.during_send = self.during_send, None
            await during()
        self.sent_at.append(await self._now())
        transactions = self.transactions()
        sent, retry = 0, []
        for keyed in request.transactions:
            self.sends.append(keyed)
            self.keys.setdefault(keyed.transaction_id, keyed.idempotency_key)
            transaction = transactions[keyed.transaction_id]
            if transaction.id in self.refused:
                transaction.final = "failed"
            elif self.faults > 0:
                self.faults -= 1
                retry.append(transaction.id)
            else:
                transaction.sent = True
                sent += 1
        return Sent(sent=sent, retry=retry)

    @fake_of(FulfillmentActivities.track_transactions)
    async def track(self, request: TrackRequest) -> Tracked:
        self.tracks.append(await self._now())
        finished = 0
        pending = [t for t in self.transactions().values() if t.sent and t.final is None]
        for transaction in pending:
            transaction.polls += 1
            if transaction.polls > self.polls:
                failed = transaction.id in self.failed_at_carrier
                transaction.final = "failed" if failed else "completed"
                finished += 1
        return Tracked(in_flight=len(pending) - finished, finished=finished)

    @fake_of(ConfirmationActivities.confirm_due)
    async def confirm_due(self, check: DueCheck) -> ConfirmedTurn:
        self.turns.append(check.now)
        confirmed = [d for d in self.due if d <= check.now]
        self.due = [d for d in self.due if d > check.now]
        return ConfirmedTurn(confirmed=len(confirmed), next_due=min(self.due, default=None))


@dataclass
class FakeRenewals:
    """The renewal activities: the carriers' answer scripted by (skipped) time.

    `answer(now)` gives the check's status and issues; `edit_seq` is the decision's current
    edit (a test bumps it to edit); `faults` carrier faults fail the next check attempts.
    Every recorded check lands in `recorded` as (time, status, changed).
    """

    watched_until: date = date(2100, 1, 1)
    renewal_date: date = date(2100, 1, 1)
    answer: Callable[[datetime], RenewalStatus] = lambda _: RenewalStatus.READY
    edit_seq: int = 0
    faults: int = 0
    attempts: int = 0
    checks: list[datetime] = field(default_factory=list)
    recorded: list[tuple[datetime, RenewalStatus, bool]] = field(default_factory=list)
    status: RenewalStatus = RenewalStatus.SUBMITTED

    @property
    def activities(self) -> Sequence[Callable[..., Any]]:
        return [self.check_renewal, self.record_check]

    @fake_of(RenewalActivities.check_renewal)
    async def check_renewal(self, check: RenewalCheck) -> CheckOutcome:
        self.attempts += 1
        if self.faults > 0:
            self.faults -= 1
            raise RuntimeError("carrier unavailable (fake)")
        now = activity.info().current_attempt_scheduled_time
        self.checks.append(now)
        status = self.answer(now)
        issues = []
        if status is RenewalStatus.NOT_READY:
            issues = [RenewalIssue(level=IssueLevel.ERROR, message="plan not installed (fake)")]
        return CheckOutcome(
            decision_id=check.decision_id,
            edit_seq=self.edit_seq,
            renewal_date=self.renewal_date,
            watched_until=self.watched_until,
            status=status,
            issues=issues,
            group_name="Acme Corp",
        )

    @fake_of(RenewalActivities.record_check)
    async def record_check(self, outcome: CheckOutcome) -> RecordedCheck:
        if outcome.edit_seq != self.edit_seq or self.status is RenewalStatus.DONE:
            return RecordedCheck(applied=False, status=self.status, changed=False)
        changed = outcome.status is not self.status
        self.status = outcome.status
        self.recorded.append((activity.info().scheduled_time, outcome.status, changed))
        return RecordedCheck(applied=True, status=outcome.status, changed=changed)


@dataclass
class Rig:
    """One test's Temporal: its own time-skipping server, a worker and the mocked carrier."""

    env: WorkflowEnvironment
    carrier: FakeCarrier
    disconnections: FakeDisconnectionStore
    task_queue: str
    snapshots: FakeSnapshotStore = field(default_factory=FakeSnapshotStore)
    renewals: FakeRenewals = field(default_factory=FakeRenewals)

    @property
    def client(self) -> Client:
        return self.env.client

    async def start(
        self, input: ConnectionInput, *, id: str | None = None
    ) -> WorkflowHandle[Any, ConnectionState]:
        """Start a connection as the API does; the handle's `result()` skips time."""
        data = input.group_data
        return await self.client.start_workflow(
            GroupConnectionWorkflow.run,
            input,
            id=id or workflow_id(input.organization_id, input.carrier_id, data.carrier_group_id),
            task_queue=self.task_queue,
            search_attributes=search_attributes(input),
        )


@asynccontextmanager
async def running(env: WorkflowEnvironment, **worker_options: Any) -> AsyncIterator[Rig]:
    """A worker for the connection and audit workflows with a fresh mocked carrier."""
    carrier = FakeCarrier()
    disconnections = FakeDisconnectionStore()
    snapshots = FakeSnapshotStore(clock=env.get_current_time)
    renewals = FakeRenewals()
    task_queue = f"connections-{uuid.uuid4().hex[:8]}"
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=[
            GroupConnectionWorkflow,
            GroupAuditWorkflow,
            GroupDisconnectionWorkflow,
            GroupFulfillmentWorkflow,
            GroupConfirmationsWorkflow,
            RenewalDecisionWorkflow,
        ],
        activities=[
            *carrier.activities,
            *disconnections.activities,
            *snapshots.activities,
            *renewals.activities,
        ],
        **worker_options,
    ):
        try:
            yield Rig(env, carrier, disconnections, task_queue, snapshots, renewals)
        finally:
            carrier.open_gates()  # a held activity would stall the worker's shutdown
            if disconnections.disconnect_gate is not None:
                disconnections.disconnect_gate.open()
