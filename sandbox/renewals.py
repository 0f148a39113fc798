"""A sandbox group's next plan year: scripted by the renewal date's day of month, then changed.

Every group holds, per renewal date, the plans the carrier has installed for the plan year that
starts on it. Groups nobody changed follow a script chosen by the renewal date's day of month
(the contract records only day 1 → ready; the others are this sandbox's choice):

| day | the carrier's next plan year |
|---|---|
| 1, and any day not listed | every active plan renewed under its id and name, installed at once |
| 2 | the same, but installed only `INSTALL_DELAY` after the carrier was first asked |
| 3 | a line missing: the group's first line (alphabetically) has no plans yet |
| 4 | a plan named differently: the first plan is renewed as "<name> Renewed" |
| 5 | nothing installed until a carrier-side change installs plans |

A `renewal_plan` change (`POST /_sandbox/{carrier}/groups/{id}/changes`) then installs, renames
or removes one plan of one renewal date, so a decision can be driven between `not_ready` and
`ready`. Each line's open enrollment runs the 30 days before the renewal date; Unum's never
closes (seed 004: its enrollments end OE on 9999-12-31).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sandbox.carriers import CarrierRules
from sandbox.changes import Change, RenewalPlan
from sandbox.errors import ChangeRejected
from sandbox.ids import stable_id
from sandbox.plans import OPEN_ENDED, Json

INSTALL_DELAY = timedelta(seconds=20)
OE_LENGTH = timedelta(days=30)

SCRIPT_DELAYED = 2
SCRIPT_LINE_MISSING = 3
SCRIPT_RENAMED = 4
SCRIPT_NOTHING = 5


def renewal_plans(
    carrier: CarrierRules,
    account: Json,
    log: list[Change],
    renewal_date: date,
    *,
    first_asked: datetime,
    now: datetime,
    strict_last: bool = False,
) -> Json:
    """The group's enrollments and plans for the plan year starting on `renewal_date`.

    `strict_last`: the log's last change is new, and refused (`ChangeRejected`) when it does
    not apply; earlier ones that no longer apply are skipped.
    """
    current = [plan for plan in account["plans"] if plan["status"] == "active"]
    script = renewal_date.day
    installed: list[Json] = []
    if not (
        script == SCRIPT_NOTHING or (script == SCRIPT_DELAYED and now - first_asked < INSTALL_DELAY)
    ):
        installed = [_renewed(plan, renewal_date) for plan in current]
    if script == SCRIPT_LINE_MISSING and installed:
        first_line = min(plan["line_of_coverage"] for plan in installed)
        installed = [plan for plan in installed if plan["line_of_coverage"] != first_line]
    if script == SCRIPT_RENAMED and installed:
        installed[0]["name"] = f"{installed[0]['name']} Renewed"
    changes = [
        change
        for change in log
        if isinstance(change, RenewalPlan) and change.renewal_date == renewal_date
    ]
    for ordinal, change in enumerate(changes):
        try:
            _apply(carrier, account, installed, current, change, ordinal)
        except ChangeRejected:
            if strict_last and ordinal == len(changes) - 1 and log and log[-1] is change:
                raise
    lines = sorted({plan["line_of_coverage"] for plan in installed})
    return {
        "as_of": renewal_date.isoformat(),
        "group_enrollments": [_enrollment(carrier, line, renewal_date) for line in lines],
        "plans": installed,
    }


def _renewed(plan: Json, renewal_date: date) -> Json:
    return {
        "carrier_plan_id": plan["carrier_plan_id"],
        "line_of_coverage": plan["line_of_coverage"],
        "name": plan["name"],
        "status": "active",
        "effective_start_date": renewal_date.isoformat(),
        "effective_end_date": OPEN_ENDED,
    }


def _enrollment(carrier: CarrierRules, line: str, renewal_date: date) -> Json:
    oe_end = renewal_date - timedelta(days=1)
    return {
        "line_of_coverage": line,
        "open_enrollment_start_date": (renewal_date - OE_LENGTH).isoformat(),
        # Unum takes open-enrollment elections at any time of the year (seed 004).
        "open_enrollment_end_date": OPEN_ENDED if carrier.slug == "unum" else oe_end.isoformat(),
        "open_enrollment_renewal_date": renewal_date.isoformat(),
    }


def _apply(
    carrier: CarrierRules,
    account: Json,
    installed: list[Json],
    current: list[Json],
    change: RenewalPlan,
    ordinal: int,
) -> None:
    by_id = {plan["carrier_plan_id"]: plan for plan in installed}
    if change.action == "install":
        if change.carrier_plan_id is not None:
            if change.carrier_plan_id in by_id:
                raise ChangeRejected(f"plan {change.carrier_plan_id!r} is already installed")
            plan = next(
                (p for p in current if p["carrier_plan_id"] == change.carrier_plan_id), None
            )
            if plan is None:
                raise ChangeRejected(f"the group has no plan {change.carrier_plan_id!r}")
            renewed = _renewed(plan, change.renewal_date)
            if change.name:
                renewed["name"] = change.name
            installed.append(renewed)
            return
        line = change.line_of_coverage
        if line is None or change.name is None:
            raise ChangeRejected("install needs carrier_plan_id, or line_of_coverage and name")
        if line not in carrier.lines:
            raise ChangeRejected(f"{carrier.name} does not offer {line!r} coverage")
        new_id = stable_id(
            carrier.slug,
            account["carrier_group_id"],
            "renewal",
            str(change.renewal_date),
            str(ordinal),
        )
        installed.append(
            {
                "carrier_plan_id": new_id,
                "line_of_coverage": line,
                "name": change.name,
                "status": "active",
                "effective_start_date": change.renewal_date.isoformat(),
                "effective_end_date": OPEN_ENDED,
            }
        )
        return
    plan = by_id.get(change.carrier_plan_id or "")
    if plan is None:
        raise ChangeRejected(
            f"no plan {change.carrier_plan_id!r} is installed for {change.renewal_date}"
        )
    if change.action == "rename":
        if change.name is None:
            raise ChangeRejected("rename needs a name")
        plan["name"] = change.name
    else:
        installed.remove(plan)
