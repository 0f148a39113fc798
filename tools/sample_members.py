"""Fictional members as a file carrier is sent them: for the 834 tests and `bench/feeds.py`."""

from __future__ import annotations

import datetime as dt
import random
import uuid

from domain.enums import LineOfCoverage
from domain.members import (
    OPEN_END,
    CarrierCobra,
    CarrierCoverage,
    CarrierDependent,
    CarrierEmployee,
    CarrierMember,
    EnrolledIndividual,
    MemberEvent,
)
from domain.snapshots import IndividualType

_FIRST = ("Ana", "Ben", "Chloe", "Dev", "Elena", "Femi", "Grace", "Hiro", "Ines", "Jonah")
_LAST = ("Alvarez", "Brooks", "Chen", "Dubois", "Eze", "Fischer", "Gupta", "Haddad")
_CITIES = (("Springfield", "IL", "62701"), ("Madison", "WI", "53703"), ("Salem", "OR", "97301"))
PLAN_IDS = {
    LineOfCoverage.DENTAL: "LM-DEN-PPO",
    LineOfCoverage.VISION: "LM-VIS-BASE",
    LineOfCoverage.LIFE: "LM-LIFE-1X",
    LineOfCoverage.STD: "LM-STD-60",
    LineOfCoverage.LTD: "LM-LTD-60",
}


def person(rng: random.Random, *, born: dt.date, sex: str, last: str | None = None) -> dict:
    city, state, postal = rng.choice(_CITIES)
    address = {
        "street_one": f"{rng.randint(1, 9999)} Main St",
        "city": city,
        "state": state,
        "zip_code": postal,
    }
    return {
        "first_name": rng.choice(_FIRST),
        "last_name": last or rng.choice(_LAST),
        "date_of_birth": born.isoformat(),
        "sex": sex,
        "ssn": f"9{rng.randint(0, 99):02d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}",
        "home_address": address,
        "mailing_address": address,
    }


def member(
    rng: random.Random,
    *,
    spouse: bool = True,
    children: int = 1,
    start: dt.date = dt.date(2026, 2, 1),
    hire: dt.date = dt.date(2026, 1, 5),
    event: str | None = "new_hire",
    lines: tuple[LineOfCoverage, ...] = tuple(PLAN_IDS),
    cobra: bool = False,
) -> CarrierMember:
    """An employee with a spouse and `children`, every one on dental and vision, the employee
    alone on life, STD and LTD."""
    last = rng.choice(_LAST)
    employee = CarrierEmployee(
        id=uuid.UUID(int=rng.getrandbits(128)),
        person=person(rng, born=dt.date(1980, 2, 3), sex="F", last=last),
        employment={
            "employment_status": "full-time",
            "hours_worked": 40,
            "employment_dates": {"hire_date": hire.isoformat()},
        },
    )
    dependents = []
    if spouse:
        dependents.append(
            CarrierDependent(
                id=uuid.UUID(int=rng.getrandbits(128)),
                person=person(rng, born=dt.date(1981, 4, 5), sex="M", last=last),
                relationship="spouse",
            )
        )
    for index in range(children):
        dependents.append(
            CarrierDependent(
                id=uuid.UUID(int=rng.getrandbits(128)),
                person=person(rng, born=dt.date(2012 + index, 6, 7), sex="U", last=last),
                relationship="child",
            )
        )
    family = (LineOfCoverage.DENTAL, LineOfCoverage.VISION)
    cobra_details = (
        CarrierCobra(
            eligibility_start_date=start,
            eligibility_end_date=start + dt.timedelta(days=540),
            qualifying_event_date=start - dt.timedelta(days=1),
            qualifying_event_reason="termination_of_employment",
        )
        if cobra
        else None
    )
    coverages = tuple(
        CarrierCoverage(
            line_of_coverage=line,
            plan_id=uuid.uuid5(uuid.NAMESPACE_OID, PLAN_IDS[line]),
            carrier_plan_id=PLAN_IDS[line],
            enrolled_members=tuple(
                EnrolledIndividual(
                    individual_id=individual.id,
                    individual_type=(
                        IndividualType.EMPLOYEE
                        if individual is employee
                        else IndividualType.DEPENDENT
                    ),
                    effective_start_date=start,
                    effective_end_date=OPEN_END,
                )
                for individual in ([employee, *dependents] if line in family else [employee])
            ),
            cobra=cobra_details if line in family else None,
        )
        for line in lines
        if not cobra or line in family
    )
    return CarrierMember(
        employee=employee,
        dependents=tuple(dependents),
        coverages=coverages,
        event=MemberEvent(type="coverage", reason=event, date=hire) if event else None,
    )


def ended(member: CarrierMember, *, on: dt.date) -> CarrierMember:
    """The member with every coverage ended on `on` (a termination)."""
    return member.model_copy(
        update={
            "coverages": tuple(
                coverage.model_copy(
                    update={
                        "enrolled_members": tuple(
                            e.model_copy(update={"effective_end_date": on})
                            for e in coverage.enrolled_members
                        )
                    }
                )
                for coverage in member.coverages
            ),
            "event": MemberEvent(type="coverage", reason="termination", date=on),
        }
    )


def group(size: int, *, seed: int = 7) -> list[CarrierMember]:
    """A group of `size` employees of mixed families."""
    rng = random.Random(seed)
    return [
        member(rng, spouse=rng.random() < 0.5, children=rng.choice((0, 0, 1, 2)), event=None)
        for _ in range(size)
    ]
