"""Carrier-side changes to a group, replayed over its generated account on every read."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from sandbox.carriers import CarrierRules, LookupStatus
from sandbox.errors import ChangeRejected
from sandbox.generator import NoMoreChoices, added_plan
from sandbox.plans import Json


class _Strict(BaseModel):
    # A misspelt field would otherwise be dropped silently and the change applied half-done.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Address(_Strict):
    street_one: str = Field(min_length=1)
    street_two: str | None = None
    city: str = Field(min_length=1)
    state: str = Field(pattern=r"^[A-Z]{2}$")
    zip_code: str = Field(pattern=r"^[0-9]{5}$")
    county: str = Field(min_length=1)


class Rename(_Strict):
    kind: Literal["rename"]
    name: str = Field(min_length=1)


class AddPlan(_Strict):
    kind: Literal["add_plan"]
    line_of_coverage: str


class DiscontinuePlan(_Strict):
    kind: Literal["discontinue_plan"]
    carrier_plan_id: str


class ChangeLocation(_Strict):
    kind: Literal["change_location"]
    carrier_location_id: str
    address: Address


class EndGroup(_Strict):
    kind: Literal["end_group"]
    coverage_end_date: date


class SetStatus(_Strict):
    """Moves the group's lookup status, e.g. a group waiting on the carrier gets installed."""

    kind: Literal["set_status"]
    status: LookupStatus
    message: str | None = None


class RenewalPlan(_Strict):
    """Install, rename or remove one plan of the plan year starting on `renewal_date`.

    `install` takes a current plan's `carrier_plan_id` (renewed under its id, under `name` if
    given), or a `line_of_coverage` and `name` for a plan new to the group.
    """

    kind: Literal["renewal_plan"]
    renewal_date: date
    action: Literal["install", "rename", "remove"]
    carrier_plan_id: str | None = None
    line_of_coverage: str | None = None
    name: str | None = Field(default=None, min_length=1)


Change = Annotated[
    Rename | AddPlan | DiscontinuePlan | ChangeLocation | EndGroup | SetStatus | RenewalPlan,
    Field(discriminator="kind"),
]


def apply_change(account: Json, change: Change, *, carrier: CarrierRules, ordinal: int) -> None:
    """Apply one change to the account in place; `ordinal` is the change's place in the log."""
    match change:
        case Rename(name=name):
            account["group"]["name"] = name
        case AddPlan(line_of_coverage=line):
            if line not in carrier.lines:
                raise ChangeRejected(f"{carrier.name} does not offer {line!r} coverage")
            try:
                enrollment, plan = added_plan(
                    carrier.slug, account["carrier_group_id"], account, line, ordinal
                )
            except NoMoreChoices as exc:
                raise ChangeRejected(str(exc)) from exc
            if enrollment is not None:
                account["group_enrollments"].append(enrollment)
            account["plans"].append(plan)
        case DiscontinuePlan(carrier_plan_id=plan_id):
            _find(account["plans"], "carrier_plan_id", plan_id)["status"] = "discontinued"
        case ChangeLocation(carrier_location_id=location_id, address=address):
            location = _find(account["locations"], "carrier_location_id", location_id)
            location["address"] = address.model_dump()
        case EndGroup(coverage_end_date=end):
            account["coverage_end_date"] = end.isoformat()
        case SetStatus():
            pass  # Lookup-only: the account itself is unchanged.
        case RenewalPlan():
            pass  # Next plan year only: `sandbox.renewals` replays it.


def _find(records: list[Json], key: str, value: str) -> Json:
    for record in records:
        if record[key] == value:
            return record
    raise ChangeRejected(f"the group has no record with {key} {value!r}")
