"""Feeds to file carriers: one per group and carrier, run on a Temporal Schedule or on demand.

A run's use cases (`FeedRuns`, called by the run workflow's activities) take and answer ids and
counts only: the file is built here from what PostgreSQL holds, never from workflow history,
stored encrypted (`FeedFileStore`), delivered over SFTP under a name and control numbers fixed
when it was built, and its 999 moves each transaction to `carrier_accepted` (completed: a file
carrier is not read back) or `carrier_failed` with the reason. Each step is safe to repeat.
The API's use cases (the module's functions) list, change, run and resend feeds.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import uuid
from typing import Any

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
)
from temporalio.common import WorkflowIDConflictPolicy

from carriers import CarrierAdapter, carrier_info
from carriers.protocol import CarrierInfo, FileMode, TradingPartner
from carriers.x12 import AckCode, read_999, validate
from domain.audits import PullRequest
from domain.edi834 import Built834, Envelope, FileAction, MemberLevel, Party, build_834
from domain.edi834_members import member_action, member_levels
from domain.errors import Conflict, NotFound, ValidationFailed
from domain.feeds import (
    FeedReadiness,
    FeedRunInput,
    FeedRunStatus,
    FeedRunTrigger,
    FeedStatus,
    OpenRunRequest,
    RunAcknowledged,
    RunBuilt,
    RunOpened,
    RunRequest,
    exceeds_threshold,
    feed_run_workflow_id,
    feed_schedule_id,
    file_name,
    parse_schedule,
)
from domain.member_changes import StatusDetail, TransactionStatus
from domain.members import CarrierMember
from runtime.settings import Settings
from services.feed_files import FILE_LINK_PREFIX, FeedFileStore, FileLinks
from services.fulfillment import settle_snapshots
from store import feeds as store
from store.db import Database
from store.models import Feed, FeedRun, MemberTransaction, unix_now
from store.versioning import save_version, save_versions
from workflows.feed_run import WORKFLOW_NAME, FeedRunWorkflow

log = logging.getLogger("carrierlink.feeds")


def _partner(info: CarrierInfo) -> TradingPartner:
    if info.trading_partner is None:
        raise ValidationFailed.one("carrier_id", f"{info.name} takes no files")
    return info.trading_partner


def run_input(settings: Settings, feed_id: uuid.UUID, **fields: Any) -> FeedRunInput:
    return FeedRunInput(
        feed_id=feed_id,
        ack_poll=settings.feed_ack_poll,
        ack_wait_limit=settings.feed_ack_wait_limit,
        **fields,
    )


# --- the run's use cases (activities) ------------------------------------------------------------


class FeedRuns:
    """One per worker: the database, the carriers, the file store, the threshold."""

    def __init__(
        self,
        database: Database,
        adapters: dict[uuid.UUID, CarrierAdapter],
        settings: Settings,
        files: FeedFileStore,
    ) -> None:
        self._db = database
        self._adapters = adapters
        self._settings = settings
        self._files = files

    async def open(self, request: OpenRunRequest) -> RunOpened:
        """The run (made now for a scheduled one); none while the feed is paused or retired."""
        async with self._db.transaction() as session:
            if request.run_id is not None:
                found = await store.run(session, request.run_id)
                return RunOpened(run_id=found.id, status=FeedRunStatus(found.status))
            existing = await store.run_by_key(session, request.run_key)
            if existing is not None:
                return RunOpened(run_id=existing.id, status=FeedRunStatus(existing.status))
            feed = await store.feed(session, request.feed_id)
            if feed.paused or feed.status != FeedStatus.ACTIVE.value:
                return RunOpened(run_id=None)
            created = _new_run(feed, run_key=request.run_key, trigger=request.trigger)
            await save_version(session, created, is_new=True, history=False)
            return RunOpened(run_id=created.id, status=FeedRunStatus.BUILDING)

    async def build(self, request: RunRequest) -> RunBuilt:
        """Collect, build, validate, store; held when too many would be refused. A run built
        already answers what it was built as."""
        self._files.purge_expired()
        async with self._db.transaction() as session:
            run = await store.run(session, request.run_id, for_update=True)
            if run.status != FeedRunStatus.BUILDING.value:
                return RunBuilt(status=FeedRunStatus(run.status), members=_members(run))
            # One run of a feed builds at a time: the feed's row serialises them.
            feed = await store.feed(session, run.feed_id, for_update=True)
            adapter = self._adapters[feed.carrier_id]
            info = adapter.info
            partner = _partner(info)
            rules = adapter.file_rules(feed.carrier_group_id)
            pending = await store.pending_transactions(session, feed.group_id, feed.carrier_id)
            full = run.file_mode == FileMode.FULL.value
            if not pending and not full:
                run.status = FeedRunStatus.EMPTY.value
                await save_version(session, run, history=False)
                return RunBuilt(status=FeedRunStatus.EMPTY)
            today = dt.datetime.now(dt.UTC).date()
            levels: list[MemberLevel] = []
            if full:
                for latest in await store.latest_members(session, feed.group_id, feed.carrier_id):
                    levels += member_levels(_member(latest), rules=rules, action=None, as_of=today)
            else:
                for transaction in pending:
                    levels += member_levels(
                        _member(transaction),
                        rules=rules,
                        action=member_action(transaction.transaction_type),
                        changes=transaction.body.get("changes", []),
                        as_of=today,
                    )
            subscribers = [level for level in levels if level.subscriber]
            if full and not subscribers:
                run.status = FeedRunStatus.EMPTY.value
                await save_version(session, run, history=False)
                return RunBuilt(status=FeedRunStatus.EMPTY)
            would_refuse = sum(1 for level in subscribers if rules.refuses(level))
            number = await store.next_control_number(session, feed.carrier_id)
            group = await store.group(session, feed.group_id)
            built = build_834(
                _envelope(partner, number, testing=run.testing),
                sponsor=Party(group.name, group.federal_ein or ""),
                payer=Party(partner.payer_name, partner.payer_federal_ein),
                action=FileAction.FULL if full else FileAction.CHANGES,
                members=levels,
                reference=run.id.hex[:30],
                master_policy=feed.carrier_group_id,
            )
            # pyx12 takes seconds on a big file: off the event loop, so heartbeats go on.
            report = await asyncio.to_thread(validate, built.text)
            _record_file(run, built, info, feed, number)
            await store.link_transactions(
                session,
                run.id,
                [
                    (t.id, CarrierMember.model_validate(t.body["member"]).employee.id.hex)
                    for t in pending
                ],
            )
            if not report.valid:
                run.status = FeedRunStatus.FAILED.value
                run.reason = "the file does not pass 005010X220A1: " + "; ".join(
                    _where(error.segment, error.element, error.code) for error in report.errors[:10]
                )
                log.error("feed run %s: built file failed validation", run.id)
            else:
                threshold = feed.error_threshold
                if threshold is None:
                    threshold = self._settings.feed_error_threshold
                held = exceeds_threshold(would_refuse, len(subscribers), threshold)
                run.status = (FeedRunStatus.HELD if held else FeedRunStatus.BUILT).value
                if held:
                    run.reason = (
                        f"{would_refuse} of {len(subscribers)} subscriber(s) would be refused by "
                        f"{info.name}'s rules (threshold {threshold:.0%}): held for review"
                    )
                self._files.write(run.id, built.text.encode("ascii"))
            await save_version(session, run, history=False)
            log.info(
                "feed run %s: %s, %d member(s), control number %d",
                run.id,
                run.status,
                built.counts.members,
                number,
            )
            return RunBuilt(
                status=FeedRunStatus(run.status),
                members=built.counts.members,
                would_refuse=would_refuse,
            )

    async def review(self, run_id: uuid.UUID, decision: str, note: str | None) -> FeedRunStatus:
        """An operator's word on a held run: send it (built), or discard it (its transactions
        go in the next run)."""
        async with self._db.transaction() as session:
            run = await store.run(session, run_id, for_update=True)
            if run.status != FeedRunStatus.HELD.value:
                return FeedRunStatus(run.status)
            run.status = (
                FeedRunStatus.BUILT if decision == "send" else FeedRunStatus.DISCARDED
            ).value
            run.reason = f"{run.reason} — reviewed: {decision}" + (f" ({note})" if note else "")
            await save_version(session, run, history=False)
            return FeedRunStatus(run.status)

    async def deliver(self, request: RunRequest) -> None:
        """Upload the stored file under its name; a retry (or a resend) delivers the same bytes
        under the same name and control numbers, which the carrier recognises."""
        async with self._db.transaction() as session:
            run = await store.run(session, request.run_id)
            name = run.file_name
            carrier_id = run.carrier_id
        if name is None:
            raise ValidationFailed.one("run_id", "the run has no file")
        content = self._files.read(request.run_id)
        await self._adapters[carrier_id].deliver_file(name, content)
        async with self._db.transaction() as session:
            run = await store.run(session, request.run_id, for_update=True)
            if run.sent_timestamp is None:
                run.sent_timestamp = unix_now()
            if run.status == FeedRunStatus.BUILT.value:
                run.status = FeedRunStatus.SENT.value
            await save_version(session, run, history=False)

    async def acknowledge(self, request: RunRequest) -> RunAcknowledged:
        """Read the carrier's 999 for the file, if it is there; move the run's transactions."""
        async with self._db.transaction() as session:
            run = await store.run(session, request.run_id)
            name, carrier_id = run.file_name, run.carrier_id
            if run.acknowledged is not None:
                return RunAcknowledged(found=True, status=FeedRunStatus(run.status))
        assert name is not None
        text = await self._adapters[carrier_id].fetch_acknowledgement(name)
        if text is None:
            return RunAcknowledged(found=False)
        ack = read_999(text)
        async with self._db.transaction() as session:
            run = await store.run(session, request.run_id, for_update=True)
            if run.acknowledged is not None:
                return RunAcknowledged(found=True, status=FeedRunStatus(run.status))
            refused = _refused_subscribers(run, ack)
            accepted = ack.accepted
            moved = await store.run_transactions(session, run.id)
            changed: list[MemberTransaction] = []
            counts = {"accepted": 0, "failed": 0}
            for transaction, subscriber_id in moved:
                if transaction.status != TransactionStatus.PROCESSING.value:
                    continue
                reason = refused.get(subscriber_id.upper())
                if not accepted:
                    reason = reason or f"the carrier rejected the file (999 {ack.code.value})"
                _settle_transaction(transaction, reason)
                counts["failed" if reason else "accepted"] += 1
                changed.append(transaction)
            await save_versions(session, changed)
            await settle_snapshots(session, {t.member_snapshot_id for t in changed})
            run.status = (
                FeedRunStatus.REJECTED
                if not accepted
                else FeedRunStatus.ACCEPTED_WITH_ERRORS
                if refused or ack.code is not AckCode.ACCEPTED
                else FeedRunStatus.ACCEPTED
            ).value
            run.acknowledged = unix_now()
            run.acknowledgement = _ack_record(ack)
            run.counts = {**run.counts, **counts}
            await save_version(session, run, history=False)
            if run.testing and accepted:
                await _approve_test_file(session, run.feed_id)
            log.info("feed run %s: 999 %s (%s)", run.id, ack.code.value, counts)
            return RunAcknowledged(
                found=True,
                status=FeedRunStatus(run.status),
                accepted=counts["accepted"],
                failed=counts["failed"],
            )

    async def give_up(self, request: RunRequest) -> None:
        """No 999 came within the wait limit: the run says so (its transactions stay held, an
        operator resends)."""
        async with self._db.transaction() as session:
            run = await store.run(session, request.run_id, for_update=True)
            if run.acknowledged is None and run.status == FeedRunStatus.SENT.value:
                run.status = FeedRunStatus.UNACKNOWLEDGED.value
                run.reason = "no 999 from the carrier within the wait limit"
                await save_version(session, run, history=False)


def _new_run(feed: Feed, *, run_key: str, trigger: FeedRunTrigger) -> FeedRun:
    return FeedRun(
        id=uuid.uuid4(),
        organization_id=feed.organization_id,
        feed_id=feed.id,
        group_id=feed.group_id,
        carrier_id=feed.carrier_id,
        run_key=run_key,
        status=FeedRunStatus.BUILDING.value,
        trigger=trigger.value,
        testing=feed.testing,
        file_mode=feed.file_mode,
        counts={},
        acknowledgement={},
        loops=[],
        resends=0,
    )


def _member(transaction: MemberTransaction) -> CarrierMember:
    return CarrierMember.model_validate(transaction.body["member"])


def _members(run: FeedRun) -> int:
    return int(run.counts.get("members", 0))


def _envelope(partner: TradingPartner, number: int, *, testing: bool) -> Envelope:
    return Envelope(
        sender_qualifier=partner.isa_qualifier,
        sender_id=partner.isa_sender_id,
        receiver_qualifier=partner.isa_receiver_qualifier,
        receiver_id=partner.isa_receiver_id,
        application_sender=partner.gs_sender,
        application_receiver=partner.gs_receiver,
        interchange_control_number=number,
        group_control_number=number,
        created=dt.datetime.now(dt.UTC).replace(tzinfo=None),
        production=partner.production and not testing,
    )


def _record_file(run: FeedRun, built: Built834, info: CarrierInfo, feed: Feed, number: int) -> None:
    content = built.text.encode("ascii")
    run.file_name = file_name(info.slug, feed.carrier_group_id, number, test=run.testing)
    run.interchange_control_number = number
    run.group_control_number = number
    run.file_sha256 = hashlib.sha256(content).hexdigest()
    run.file_bytes = len(content)
    counts = built.counts
    run.counts = {
        "members": counts.members,
        "primaries": counts.primaries,
        "dependents": counts.dependents,
        "enrollments": counts.enrollments,
        "terminations": counts.terminations,
    }
    run.loops = [{"position": p, "subscriber_id": s} for p, s in built.subscriber_loops]


def _where(segment: str | None, element: str | None, code: str) -> str:
    """An error's place and code, never its value (a value may be a birth date or an SSN)."""
    return f"{element or segment or 'file'} (error {code})"


def _refused_subscribers(run: FeedRun, ack: Any) -> dict[str, str]:
    """Subscriber id (upper case, as in the file) -> why the 999 refused their loop."""
    starts = sorted((int(loop["position"]), str(loop["subscriber_id"])) for loop in run.loops)
    refused: dict[str, str] = {}
    for transaction in ack.transactions:
        for note in transaction.notes:
            owner = None
            for position, subscriber_id in starts:
                if position <= note.position:
                    owner = subscriber_id
            if owner is None:
                continue
            elements = ", ".join(
                f"{note.segment}{position:02d} (error {code})" for position, code in note.elements
            )
            refused[owner.upper()] = (
                f"the carrier refused the member (999 {transaction.code.value}): segment "
                f"{note.segment} at {note.position}" + (f", {elements}" if elements else "")
            )
    return refused


def _ack_record(ack: Any) -> dict[str, Any]:
    """The 999 as the run shows it: codes and places, no copied values (IK404)."""
    return {
        "code": ack.code.value,
        "group_control_number": ack.group_control_number,
        "transactions": [
            {
                "control_number": t.control_number,
                "code": t.code.value,
                "errors": [
                    {
                        "segment": n.segment,
                        "position": n.position,
                        "code": n.code,
                        "elements": [{"position": p, "code": c} for p, c in n.elements],
                    }
                    for n in t.notes
                ],
            }
            for t in ack.transactions
        ],
    }


def _settle_transaction(transaction: MemberTransaction, reason: str | None) -> None:
    """`carrier_accepted` (and completed: a file carrier is not read back), or failed."""
    detail = StatusDetail.CARRIER_FAILED if reason else StatusDetail.CARRIER_ACCEPTED
    entry: dict[str, Any] = {"status_detail": detail.value, "event_created": unix_now()}
    if reason:
        entry["message"] = reason
        transaction.result = {**transaction.result, "reason": reason}
    transaction.status = (TransactionStatus.FAILED if reason else TransactionStatus.COMPLETED).value
    transaction.status_details = [*transaction.status_details, entry]


async def _approve_test_file(session: Any, feed_id: uuid.UUID) -> None:
    """The carrier's positive 999 on a test file approves it: the feed leaves testing."""
    feed = await store.feed(session, feed_id, for_update=True)
    if feed.testing:
        feed.testing = False
        feed.approved = unix_now()
        await save_version(session, feed)


# --- schedules -----------------------------------------------------------------------------------


def feed_schedule(settings: Settings, feed: Feed) -> Schedule:
    calendar = parse_schedule(feed.rrule, feed.time_of_day)
    # Temporal counts weekdays from Sunday = 0; the RRULE's from Monday.
    weekdays = [ScheduleRange((day + 1) % 7) for day in calendar.weekdays] or [ScheduleRange(0, 6)]
    return Schedule(
        action=ScheduleActionStartWorkflow(
            WORKFLOW_NAME,
            run_input(settings, feed.id),
            # Temporal appends the scheduled time, so each run has its own ID.
            id=feed_run_workflow_id(feed.id, "scheduled"),
            task_queue=settings.task_queue,
        ),
        spec=ScheduleSpec(
            calendars=[
                ScheduleCalendarSpec(
                    day_of_week=weekdays,
                    hour=[ScheduleRange(calendar.hour)],
                    minute=[ScheduleRange(calendar.minute)],
                )
            ],
            time_zone_name=feed.zone_info,
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
        state=ScheduleState(
            paused=feed.paused or feed.status != FeedStatus.ACTIVE.value,
            note=f"Feed {feed.id}: {feed.rrule} at {feed.time_of_day} {feed.zone_info}",
        ),
    )


async def ensure_feed_schedule(client: Client, settings: Settings, feed: Feed) -> str:
    """Create the feed's schedule, or bring it up to date (schedule, paused) with the feed."""
    schedule = feed_schedule(settings, feed)
    schedule_id = feed_schedule_id(feed.id)
    try:
        await client.create_schedule(schedule_id, schedule)
    except ScheduleAlreadyRunningError:
        handle = client.get_schedule_handle(schedule_id)
        await handle.update(lambda _: ScheduleUpdate(schedule=schedule))
        if schedule.state.paused:
            await handle.pause(note="feed paused")
        else:
            await handle.unpause(note="feed running")
    return schedule_id


# --- the API's and the connection's use cases -----------------------------------------------------


async def prepare_connection_feed(
    db: Database, client: Client, settings: Settings, request: PullRequest
) -> FeedReadiness:
    """A connection's account is pulled: for a file carrier, its feed (made once, with its
    schedule) and how far the census and the test file are; nothing for an API carrier."""
    if not carrier_info(request.carrier_id).sends_files:
        return FeedReadiness(sends_files=False)
    contract = await ensure_feed(
        db,
        client,
        settings,
        organization_id=request.organization_id,
        group_id=request.group_id,
        carrier_id=request.carrier_id,
        carrier_group_id=request.carrier_group_id,
    )
    return await feed_readiness(db, request, feed_id=uuid.UUID(contract["id"]))


async def feed_readiness(
    db: Database, request: PullRequest, *, feed_id: uuid.UUID | None = None
) -> FeedReadiness:
    async with db.transaction() as session:
        feed = await store.feed_of(session, request.group_id, request.carrier_id)
        census = await store.has_census(session, request.group_id, request.carrier_id)
        return FeedReadiness(
            sends_files=True,
            feed_id=feed.id if feed is not None else feed_id,
            census=census,
            test_file_approved=feed is not None and feed.approved is not None,
        )


async def ensure_feed(
    db: Database,
    client: Client,
    settings: Settings,
    *,
    organization_id: uuid.UUID,
    group_id: uuid.UUID,
    carrier_id: uuid.UUID,
    carrier_group_id: str,
) -> dict[str, Any]:
    """The group's feed to a file carrier, made with the carrier's defaults (in testing until
    the carrier approves a test file), and its schedule."""
    partner = _partner(carrier_info(carrier_id))
    async with db.transaction() as session:
        feed = await store.ensure_feed(
            session,
            Feed(
                id=uuid.uuid4(),
                version=uuid.uuid4(),
                organization_id=organization_id,
                group_id=group_id,
                carrier_id=carrier_id,
                carrier_group_id=carrier_group_id,
                status=FeedStatus.ACTIVE.value,
                testing=True,
                paused=False,
                rrule=partner.schedule.rrule,
                time_of_day=partner.schedule.time_of_day,
                zone_info=partner.schedule.zone_info,
                file_mode=partner.file_mode.value,
                error_threshold=None,
                approved=None,
                created=unix_now(),
                modified=unix_now(),
            ),
        )
        contract = feed.as_contract()
    await ensure_feed_schedule(client, settings, feed)
    return contract


async def feed_contract(
    db: Database, *, organization_id: uuid.UUID, feed_id: uuid.UUID
) -> dict[str, Any]:
    async with db.transaction() as session:
        return (await store.owned_feed(session, feed_id, organization_id)).as_contract()


async def edit_feed(
    db: Database,
    client: Client,
    settings: Settings,
    *,
    organization_id: uuid.UUID,
    feed_id: uuid.UUID,
    version: uuid.UUID,
    changes: dict[str, Any],
) -> dict[str, Any]:
    """Pause or resume, reschedule, change the file mode or threshold, if still at `version`."""
    async with db.transaction() as session:
        feed = await store.owned_feed(session, feed_id, organization_id, for_update=True)
        if feed.version != version:
            raise Conflict(
                f"version conflict: the current version is {feed.version}",
                current_version=str(feed.version),
            )
        for name, value in changes.items():
            setattr(feed, name, value)
        try:
            parse_schedule(feed.rrule, feed.time_of_day)
        except ValueError as err:
            raise ValidationFailed.one("rrule", str(err)) from None
        await save_version(session, feed)
        contract = feed.as_contract()
    await ensure_feed_schedule(client, settings, feed)
    return contract


async def start_run(
    db: Database,
    client: Client,
    settings: Settings,
    *,
    organization_id: uuid.UUID,
    feed_id: uuid.UUID,
) -> dict[str, Any]:
    """A run now (`POST /feeds/{id}/runs`): the run is recorded, then its workflow started."""
    run_id = uuid.uuid4()
    workflow_id = feed_run_workflow_id(feed_id, str(run_id))
    async with db.transaction() as session:
        feed = await store.owned_feed(session, feed_id, organization_id)
        if feed.status != FeedStatus.ACTIVE.value:
            raise Conflict("the feed is retired")
        run = _new_run(feed, run_key=workflow_id, trigger=FeedRunTrigger.ON_DEMAND)
        run.id = run_id
        await save_version(session, run, is_new=True, history=False)
        contract = run.as_contract()
    await client.start_workflow(
        FeedRunWorkflow.run,
        run_input(settings, feed_id, run_id=run_id, trigger=FeedRunTrigger.ON_DEMAND),
        id=workflow_id,
        task_queue=settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    return contract


async def resend_run(
    db: Database,
    client: Client,
    settings: Settings,
    *,
    organization_id: uuid.UUID,
    run_id: uuid.UUID,
) -> dict[str, Any]:
    """Send a run's file again: the same bytes, name and control numbers (the carrier knows
    it); the 999 is read again if the run has none yet."""
    async with db.transaction() as session:
        run = await store.owned_run(session, run_id, organization_id)
        if run.file_name is None or run.status in (
            FeedRunStatus.BUILDING.value,
            FeedRunStatus.HELD.value,
            FeedRunStatus.FAILED.value,
            FeedRunStatus.DISCARDED.value,
        ):
            raise Conflict(f"a {run.status} run has no file to resend", status=run.status)
        run.resends += 1
        await save_version(session, run, history=False)
        feed_id, resends = run.feed_id, run.resends
        contract = run.as_contract()
    await client.start_workflow(
        FeedRunWorkflow.run,
        run_input(settings, feed_id, run_id=run_id, trigger=FeedRunTrigger.RESEND, resend=True),
        id=feed_run_workflow_id(feed_id, f"{run_id}/resend/{resends}"),
        task_queue=settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    return contract


async def run_contract(
    db: Database, *, organization_id: uuid.UUID, run_id: uuid.UUID
) -> dict[str, Any]:
    async with db.transaction() as session:
        return (await store.owned_run(session, run_id, organization_id)).as_contract()


async def file_link(
    db: Database,
    links: FileLinks,
    files: FeedFileStore,
    *,
    organization_id: uuid.UUID,
    run_id: uuid.UUID,
) -> tuple[str, int]:
    """A signed path to the run's file and when it expires (Unix seconds)."""
    async with db.transaction() as session:
        await store.owned_run(session, run_id, organization_id)
    if not files.exists(run_id):
        raise ValidationFailed.one("id", "the run has no stored file (none built, or expired)")
    expires, signature = links.sign(run_id)
    return (
        f"{FILE_LINK_PREFIX}/{run_id}?expires={expires}&signature={signature}",
        expires,
    )


def file_content(
    links: FileLinks, files: FeedFileStore, *, run_id: uuid.UUID, expires: int, signature: str
) -> bytes:
    """The file behind a signed link; `NotFound` once the link expired or if it was forged."""
    if not links.check(run_id, expires, signature):
        raise NotFound.of("feed run file")
    return files.read(run_id)


__all__ = [
    "FeedRuns",
    "edit_feed",
    "ensure_feed",
    "ensure_feed_schedule",
    "feed_contract",
    "file_content",
    "file_link",
    "resend_run",
    "run_contract",
    "start_run",
]
