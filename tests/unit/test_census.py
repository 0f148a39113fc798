"""Censuses: the sandbox carriers' paged census, its engine view, and every linking rule."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from domain.census import (
    CensusCandidate,
    CensusPage,
    match_dependents,
    match_employee,
    match_key,
    to_carrier_member,
)
from domain.errors import ValidationFailed
from tests.unit.test_sandbox_app import sandbox_client

Json = dict[str, Any]


async def pages(carrier: str, group_id: str, *, limit: int) -> list[Json]:
    async with sandbox_client() as http:
        found: list[Json] = []
        cursor: str | None = "0"
        while cursor is not None:
            response = await http.get(
                f"/{carrier}/groups/{group_id}/census", params={"cursor": cursor, "limit": limit}
            )
            assert response.status_code == 200, response.text
            body = response.json()
            found.append(body)
            cursor = body["next_cursor"]
        return found


async def test_a_census_group_is_read_in_pages_and_the_same_every_time() -> None:
    first = await pages("principal", "1880012", limit=5)
    assert [len(page["members"]) for page in first] == [5, 5, 2]
    assert {page["total"] for page in first} == {12}
    assert first == await pages("principal", "1880012", limit=5)
    members = [member for page in first for member in page["members"]]
    assert len({member["employee"]["id"] for member in members}) == 12
    # Pages of another size hold the same members in the same order.
    again = [m for page in await pages("principal", "1880012", limit=7) for m in page["members"]]
    assert again == members
    for member in members:
        CensusPage.model_validate({"members": [member], "total": 1})
        assert len(member["employee"]["person"]["ssn"]) == 9


@pytest.mark.parametrize(
    ("carrier", "group_id", "size"),
    [("principal", "2345678", 0), ("unum", "18800003", 3), ("unum", "H562343085C02814123", 0)],
)
async def test_groups_hold_the_census_their_id_says(carrier: str, group_id: str, size: int) -> None:
    (page,) = await pages(carrier, group_id, limit=1000)
    assert page["total"] == size
    assert len(page["members"]) == size


async def test_a_group_not_at_the_carrier_has_no_census() -> None:
    async with sandbox_client() as http:
        response = await http.get("/principal/groups/1323000/census")
    assert response.status_code >= 400


def test_the_engine_view_uses_engine_ids_and_leaves_out_unknown_plans() -> None:
    (member,) = CensusPage.model_validate(
        {
            "total": 1,
            "members": [
                {
                    "employee": {"id": "e1", "person": {"first_name": "A"}, "employment": {}},
                    "dependents": [{"id": "d1", "person": {}, "relationship": "child"}],
                    "coverages": [
                        {
                            "line_of_coverage": "dental",
                            "carrier_plan_id": "known",
                            "enrolled_members": [
                                {
                                    "individual_id": "e1",
                                    "individual_type": "employee",
                                    "effective_start_date": "2024-02-01",
                                    "effective_end_date": "9999-12-31",
                                },
                                {
                                    "individual_id": "d1",
                                    "individual_type": "dependent",
                                    "effective_start_date": "2024-02-01",
                                    "effective_end_date": "9999-12-31",
                                },
                            ],
                        },
                        {
                            "line_of_coverage": "vision",
                            "carrier_plan_id": "unknown",
                            "enrolled_members": [],
                        },
                    ],
                }
            ],
        }
    ).members
    employee, dependent, plan = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    view = to_carrier_member(
        member, engine_ids={"e1": employee, "d1": dependent}, plan_ids={"known": plan}
    )
    assert view.employee.id == employee
    assert view.dependents[0].id == dependent
    (coverage,) = view.coverages
    assert coverage.plan_id == plan
    assert [e.individual_id for e in coverage.enrolled_members] == [employee, dependent]


PERSON = {
    "first_name": "Ana",
    "last_name": "Reyes",
    "date_of_birth": "1990-04-01",
    "ssn": "900112222",
}


def candidate(**person: Any) -> CensusCandidate:
    return CensusCandidate(uuid.uuid4(), {**PERSON, **person})


def test_an_employee_links_by_ssn_and_date_of_birth() -> None:
    same = candidate()
    others = [candidate(ssn="900113333"), candidate(date_of_birth="1990-04-02")]
    assert match_employee(PERSON, [*others, same]) == same.id
    # Names do not matter for an employee: SSN and date of birth identify them.
    assert match_employee({**PERSON, "first_name": "Anna"}, [same]) == same.id


def test_an_employee_without_ssn_or_date_of_birth_links_to_nobody() -> None:
    assert match_employee({**PERSON, "ssn": None}, [candidate()]) is None
    assert match_employee(PERSON, [candidate(ssn=None)]) is None
    assert match_employee(PERSON, []) is None
    assert match_key({"ssn": "", "date_of_birth": "1990-04-01"}) is None


def test_an_employee_matching_two_census_employees_is_refused_naming_the_employee() -> None:
    with pytest.raises(ValidationFailed) as refused:
        match_employee(PERSON, [candidate(), candidate()])
    assert [p.field for p in refused.value.problems] == ["employee"]
    assert "900112222" not in str(refused.value)  # the refusal echoes no SSN


def test_the_match_key_hides_the_ssn() -> None:
    key = match_key(PERSON)
    assert key is not None
    assert "900112222" not in key
    assert len(key) == 64
    assert match_key({**PERSON, "ssn": "900-11-2222"}) == key


def test_dependents_link_by_name_and_date_of_birth() -> None:
    spouse = candidate(first_name="Luis", ssn=None)
    child = candidate(first_name="Mia", date_of_birth="2015-06-01", ssn=None)
    sent = [
        {"first_name": "mia ", "last_name": "REYES", "date_of_birth": "2015-06-01"},
        None,  # already known: skipped
        {"first_name": "Luis", "last_name": "Reyes", "date_of_birth": "1990-04-01"},
        {"first_name": "Noa", "last_name": "Reyes", "date_of_birth": "2020-01-01"},
    ]
    assert match_dependents(sent, [spouse, child]) == [child.id, None, spouse.id, None]


def test_a_dependent_matching_two_census_dependents_is_refused_naming_it() -> None:
    twins = [candidate(first_name="Sam", ssn=None), candidate(first_name="Sam", ssn=None)]
    sent = [{"first_name": "Sam", "last_name": "Reyes", "date_of_birth": "1990-04-01"}]
    with pytest.raises(ValidationFailed) as refused:
        match_dependents(sent, twins)
    assert [p.field for p in refused.value.problems] == ["dependents.0"]


def test_two_dependents_matching_one_census_dependent_are_refused() -> None:
    one = candidate(first_name="Sam", ssn=None)
    sent = [{"first_name": "Sam", "last_name": "Reyes", "date_of_birth": "1990-04-01"}] * 2
    with pytest.raises(ValidationFailed) as refused:
        match_dependents(sent, [one])
    assert [p.field for p in refused.value.problems] == ["dependents.1"]
