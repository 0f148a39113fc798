"""GroupDisconnection: wait for a person's word or for the end date, then disconnect the group."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any, Literal

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ApplicationError

from workflows import activity_refs
from workflows import search_attributes as sa
from workflows.common import STORE_RETRY, STORE_WRITE_TIMEOUT, at

# The activities hand back domain types from outside the sandbox (`activity_refs`): the
# workflow must compare against the same classes and enum members, whatever the runner.
with workflow.unsafe.imports_passed_through():
    from domain.disconnections import (
        Decision,
        DisconnectGroup,
        DisconnectionChange,
        DisconnectionInput,
        DisconnectionState,
        DisconnectionStatus,
        IllegalDecision,
        RequestCheck,
        SourceType,
        VersionConflict,
        apply_decision,
        check_decision,
        check_decision_bounds,
        check_transition,
        disconnects_at,
        parse_signalled_decision,
    )
    from domain.errors import ValidationFailed

WORKFLOW_NAME = "GroupDisconnection"

# Failure types a refused update carries back to the API (its 409 and 422 answers).
ILLEGAL_DECISION = "IllegalDecision"
VERSION_CONFLICT = "VersionConflict"
INVALID_DECISION = "InvalidDecision"

# Signals are checked against the API's bounds in the run (a refused one changes nothing):
# runs that took an out-of-bounds signal before replay as they ran.
BOUNDED_SIGNALS = "bounded-decision-signals"


def workflow_id(request_id: uuid.UUID) -> str:
    return f"group-disconnection/{request_id}"


def summary(group_name: str, carrier_name: str, source_type: str) -> str:
    """The run's static summary in the Temporal UI (names, no member data)."""
    return f"Disconnection of {group_name} from {carrier_name} (raised by the {source_type})"


# What a request in `needs_review` waits for, as the UI's current details say it.
_REVIEW_WAIT = (
    "Waits for a person's decision, with no deadline: confirm or reject it "
    "(`carrierlink-disconnections confirm|reject`, the API's `.../confirm` and `.../reject`, "
    "or the signals `confirm` / `reject` here)."
)


def search_attributes(input: DisconnectionInput) -> TypedSearchAttributes:
    return TypedSearchAttributes(
        [
            SearchAttributePair(sa.DISCONNECTION_STATUS, input.state.status.value),
            SearchAttributePair(sa.CARRIER_ID, str(input.carrier_id)),
            SearchAttributePair(sa.GROUP_ID, str(input.group_id)),
        ]
    )


class ConfirmSignal(BaseModel):
    """The optional input of the `confirm` signal, e.g. `{"effective_end_date": "2026-12-31"}`,
    as it was read before BOUNDED_SIGNALS (`domain.disconnections.parse_signalled_decision` now)."""

    effective_end_date: date | None = None


class RejectSignal(BaseModel):
    """The optional input of the `reject` signal, e.g. `{"reason": "connection_restored"}`, as
    it was read before BOUNDED_SIGNALS."""

    reason: str | None = None
    context: str | None = None


def _refusal(err: Exception) -> ApplicationError:
    """A refused decision as the failure the API maps to 409 or 422."""
    if isinstance(err, IllegalDecision):
        return ApplicationError(str(err), err.status.value, type=ILLEGAL_DECISION)
    if isinstance(err, VersionConflict):
        return ApplicationError(str(err), str(err.current), type=VERSION_CONFLICT)
    assert isinstance(err, ValidationFailed)
    problem = err.problems[0]
    return ApplicationError(str(err), problem.field, problem.reason, type=INVALID_DECISION)


def _legacy_decision(kind: Literal["confirm", "reject"], body: Any) -> Decision | None:
    """A signal's decision as runs before BOUNDED_SIGNALS read it (None: the SDK dropped it)."""
    try:
        if kind == "confirm":
            confirm = ConfirmSignal.model_validate(body or {})
            return Decision.confirm(confirm.effective_end_date)
        reject = RejectSignal.model_validate(body or {})
        return Decision.reject(reject.reason, reject.context)
    except ValueError:  # pydantic's ValidationError is one
        return None


@workflow.defn(name=WORKFLOW_NAME)
class GroupDisconnectionWorkflow:
    @workflow.init
    def __init__(self, input: DisconnectionInput) -> None:
        self._input = input
        self._state = input.state
        self._seq = input.status_seq
        self._connection_id = input.connection_id
        # Decisions in arrival order, each with its ticket; outcomes by ticket (None: applied).
        self._pending: list[tuple[int, Decision]] = []
        self._received = 0
        self._outcomes: dict[int, ApplicationError | None] = {}
        self._signal_tickets: set[int] = set()  # nobody waits for a signal's outcome
        # The end date a platform request was last checked for; None: check (again).
        self._checked_end: date | None = None
        self._since = workflow.now()  # when the current status was entered (or this run began)
        # Why the last decision signal was refused (shown in the UI until a decision is taken),
        # and what the run waits for (the UI's current details are redrawn with it).
        self._refused_signal: str | None = None
        self._waits: str | None = None

    # --- messages -----------------------------------------------------------------------------

    @workflow.query
    def state(self) -> DisconnectionState:
        return self._state

    @workflow.update
    async def decide(self, decision: Decision) -> DisconnectionState:
        """Confirm, reject or edit; answers once the decision is recorded, or refuses it."""
        ticket = self._enqueue(decision)
        await workflow.wait_condition(lambda: ticket in self._outcomes)
        refusal = self._outcomes.pop(ticket)
        if refusal is not None:
            raise refusal
        return self._state

    @decide.validator
    def _validate_decide(self, decision: Decision) -> None:
        try:
            # The API's bounds as well: `temporal workflow update` reaches here without it.
            check_decision_bounds(decision)
            check_decision(self._state, decision)
        except (IllegalDecision, VersionConflict, ValidationFailed) as err:
            raise _refusal(err) from None

    # Raw JSON, checked here against the API's bounds: a malformed body would otherwise be
    # dropped by the SDK before any handler saw it, and an out-of-bounds one taken as it is.
    @workflow.signal
    def confirm(self, body: Any = None) -> None:
        """An operator's confirm, from the Temporal UI or `temporal workflow signal`; a
        refused one is logged and shown on the run (current details) and changes nothing."""
        self._signalled("confirm", body)

    @workflow.signal
    def reject(self, body: Any = None) -> None:
        """An operator's reject, from the Temporal UI or `temporal workflow signal`; a refused
        one is logged and shown on the run (current details) and changes nothing."""
        self._signalled("reject", body)

    def _signalled(self, kind: Literal["confirm", "reject"], body: Any) -> None:
        # A signal cannot be refused to its sender: a refused one is logged, shown and dropped.
        try:
            decision = parse_signalled_decision(kind, body)
        except ValidationFailed as err:
            if workflow.patched(BOUNDED_SIGNALS):
                self._refuse_signal(kind, str(err))
                return
            legacy = _legacy_decision(kind, body)
            if legacy is None:
                return  # the SDK dropped it, as it could not read it
            decision = legacy
        try:
            check_decision(self._state, decision)
        except (IllegalDecision, VersionConflict, ValidationFailed) as err:
            workflow.logger.warning("ignored %s signal: %s", decision.kind, err)
            return
        if self._refused_signal is not None:
            self._refused_signal = None
            self._show_details(self._waits)
        self._signal_tickets.add(self._enqueue(decision))

    def _refuse_signal(self, kind: str, problem: str) -> None:
        # The problem names fields and rules, never the values sent.
        self._refused_signal = f"refused {kind} signal ({problem})"
        workflow.logger.warning("%s", self._refused_signal)
        self._show_details(self._waits)

    def _enqueue(self, decision: Decision) -> int:
        self._received += 1
        self._pending.append((self._received, decision))
        return self._received

    # --- lifecycle ----------------------------------------------------------------------------

    @workflow.run
    async def run(self, input: DisconnectionInput) -> DisconnectionState:
        while True:
            await self._apply_decisions()
            status = self._state.status
            if status in (DisconnectionStatus.COMPLETED, DisconnectionStatus.REJECTED):
                # Rejected is where this run ends (an edit later starts the next one from the
                # row), unless a decision accepted meanwhile still waits for its answer.
                await workflow.wait_condition(
                    lambda: bool(self._pending) or workflow.all_handlers_finished()
                )
                if self._pending:
                    continue
                break
            if status is DisconnectionStatus.NEEDS_REVIEW:
                self._show_details(_REVIEW_WAIT)
                await workflow.wait_condition(lambda: bool(self._pending))
                continue
            if status is DisconnectionStatus.PROCESSING:
                await self._process()
        return self._state

    async def _process(self) -> None:
        """Check a platform request, wait for the end date, disconnect; returns on a decision."""
        end = self._state.effective_end_date
        assert end is not None, "processing always has an end date (check_decision)"
        if self._input.source_type is SourceType.PLATFORM and self._checked_end != end:
            result = await workflow.execute_activity_method(
                activity_refs.DisconnectionActivities.check_request,
                RequestCheck(
                    request_id=self._input.request_id,
                    group_id=self._input.group_id,
                    carrier_id=self._input.carrier_id,
                    effective_end_date=end,
                ),
                start_to_close_timeout=STORE_WRITE_TIMEOUT,
                retry_policy=STORE_RETRY,
            )
            if self._pending:
                return  # a decision arrived meanwhile: it may change what to check
            if result.problem is not None:
                await self._move(
                    self._state.model_copy(
                        update={
                            "status": DisconnectionStatus.REJECTED,
                            "status_reason": result.problem,
                        }
                    )
                )
                return
            self._checked_end = end
            self._connection_id = result.connection_id or self._connection_id
        disconnection = disconnects_at(end)
        if disconnection is None:
            # An open end (9999-12-31): nothing to wait for but a person's decision.
            self._show_details(f"Open end ({end}): waits for a decision (an edit or a reject).")
            await workflow.wait_condition(lambda: bool(self._pending))
            return
        remaining = disconnection - workflow.now()
        if remaining > timedelta(0):
            self._show_details(
                f"Waits until the end of {end}: disconnects at {at(disconnection)} "
                f"(in {remaining}), unless an edit or a reject comes first."
            )
            try:
                await workflow.wait_condition(lambda: bool(self._pending), timeout=remaining)
                return
            except TimeoutError:
                pass
        if self._pending:
            return
        # No way back from here: later decisions are refused (check_decision).
        self._state = self._state.model_copy(update={"disconnecting": True})
        await workflow.execute_activity_method(
            activity_refs.DisconnectionActivities.disconnect_group,
            DisconnectGroup(
                request_id=self._input.request_id,
                group_id=self._input.group_id,
                carrier_id=self._input.carrier_id,
                connection_id=self._connection_id,
            ),
            start_to_close_timeout=STORE_WRITE_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
        await self._move(
            self._state.model_copy(update={"status": DisconnectionStatus.COMPLETED}), completed=True
        )

    async def _apply_decisions(self) -> None:
        """Apply waiting decisions in arrival order, each checked against the state it meets."""
        while self._pending:
            ticket, decision = self._pending.pop(0)
            signalled = ticket in self._signal_tickets
            self._signal_tickets.discard(ticket)
            try:
                check_decision(self._state, decision)
            except (IllegalDecision, VersionConflict, ValidationFailed) as err:
                if signalled:
                    workflow.logger.warning("ignored %s signal: %s", decision.kind, err)
                else:
                    self._outcomes[ticket] = _refusal(err)
                continue
            self._checked_end = None
            await self._move(apply_decision(self._state, decision), decided=True)
            if not signalled:
                self._outcomes[ticket] = None

    async def _move(
        self, new: DisconnectionState, *, decided: bool = False, completed: bool = False
    ) -> None:
        """Check, record (PostgreSQL, search attributes, UI details) and adopt a new state."""
        if new.status is not self._state.status:
            check_transition(self._state.status, new.status)
        self._seq += 1
        version = await workflow.execute_activity_method(
            activity_refs.DisconnectionActivities.record_status,
            DisconnectionChange(
                input=self._input.model_copy(update={"connection_id": self._connection_id}),
                state=new,
                seq=self._seq,
                decided=decided,
                completed=completed,
            ),
            start_to_close_timeout=STORE_WRITE_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
        if new.status is not self._state.status:
            self._since = workflow.now()
        self._state = new.model_copy(update={"version": version})
        workflow.upsert_search_attributes([sa.DISCONNECTION_STATUS.value_set(new.status.value)])
        self._show_details()

    def _show_details(self, waits: str | None = None) -> None:
        """The UI's current details: the status since when, the end date, why, and what the
        run waits for until when (no commands: replays are not affected)."""
        self._waits = waits
        state = self._state
        lines = [f"**{state.status.value}** since {at(self._since)}"]
        if state.effective_end_date:
            lines.append(f"effective end date {state.effective_end_date}")
        if state.status_reason:
            lines.append(state.status_reason)
        if waits:
            lines.append(waits)
        if self._refused_signal:
            lines.append(self._refused_signal)
        workflow.set_current_details("\n\n".join(lines))
