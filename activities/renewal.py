"""Activities of a renewal decision's run: check it at its carriers, and record the result."""

from __future__ import annotations

import uuid

from temporalio import activity

from activities.heartbeat import heartbeats
from carriers import CarrierAdapter, CarrierRejected
from carriers.registry import CARRIERS
from domain.renewals import (
    CheckOutcome,
    IssueLevel,
    RecordedCheck,
    RenewalCheck,
    RenewalIssue,
    compare_carrier,
    status_of,
    watched_until,
)
from store import renewals as store
from store.db import Database


class RenewalActivities:
    def __init__(self, database: Database, adapters: dict[uuid.UUID, CarrierAdapter]) -> None:
        self._db = database
        self._adapters = adapters

    @activity.defn(name="check_renewal_decision")
    @heartbeats
    async def check_renewal(self, check: RenewalCheck) -> CheckOutcome:
        """Compare the decision with each carrier's plans as of its renewal date.

        A carrier fault (`CarrierUnavailable`) fails the attempt and is retried by the run's
        retry policy; a carrier that refuses the read (e.g. no longer shares the group) is an
        error issue, so the decision shows `not_ready` with the reason.
        """
        async with self._db.transaction() as session:
            decision = await store.decision_to_check(session, check.decision_id)
        if decision is None:
            return CheckOutcome(decision_id=check.decision_id, missing=True)
        issues: list[RenewalIssue] = []
        for carrier in decision.body.carriers:
            carrier_group_id = decision.group.connections.get(carrier.carrier_id)
            if carrier_group_id is None:
                issues.append(
                    RenewalIssue(
                        level=IssueLevel.ERROR,
                        message="the group is no longer connected to this carrier",
                        carrier_id=carrier.carrier_id,
                    )
                )
                continue
            adapter = self._adapters[carrier.carrier_id]
            try:
                plans = await adapter.fetch_plans(carrier_group_id, as_of=decision.renewal_date)
            except CarrierRejected as exc:
                issues.append(
                    RenewalIssue(
                        level=IssueLevel.ERROR,
                        message=f"the carrier refused the read of its plans: {exc}",
                        carrier_id=carrier.carrier_id,
                    )
                )
                continue
            issues += compare_carrier(
                carrier,
                plans,
                carrier_plan_ids=decision.group.plans.get(carrier.carrier_id, {}),
            )
        return CheckOutcome(
            decision_id=decision.decision_id,
            edit_seq=decision.edit_seq,
            renewal_date=decision.renewal_date,
            watched_until=watched_until(decision.renewal_date, decision.body),
            status=status_of(issues),
            issues=issues,
            group_name=decision.group_name,
            carrier_names={
                c.carrier_id: CARRIERS[c.carrier_id].name
                for c in decision.body.carriers
                if c.carrier_id in CARRIERS
            },
        )

    @activity.defn(name="record_renewal_check")
    async def record_check(self, outcome: CheckOutcome) -> RecordedCheck:
        """Store the check; safe to repeat (an unchanged result writes no new version)."""
        async with self._db.transaction() as session:
            return await store.record_check(session, outcome)
