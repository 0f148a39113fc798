"""COBRA continuation at a carrier: which of a snapshot's coverages are COBRA, and the rule every
carrier shares. What each carrier supports (lines, states, not at all) is in its own module.

Reasons name fields and the carrier's documented support, never the member's values.
"""

from __future__ import annotations

from carriers.member_config import plan_path
from domain.errors import FieldProblem
from domain.members import CoverageChoice
from domain.snapshots import MemberSnapshot


def is_cobra(snapshot: MemberSnapshot, choice: CoverageChoice) -> bool:
    """Whether the coverage is COBRA continuation (`cobra_details.cobra_enrolled`)."""
    details = snapshot.coverages[choice.index].cobra_details
    return details is not None and details.cobra_enrolled


def cobra_path(choice: CoverageChoice) -> str:
    """The dotted path of the coverage's COBRA details, for refusals of COBRA itself."""
    return f"coverages.{choice.index}.cobra_details"


def ineligible_plan_problems(
    snapshot: MemberSnapshot, choices: list[CoverageChoice]
) -> list[FieldProblem]:
    """Active COBRA coverage on a plan the carrier says is not COBRA-eligible.

    A plan that states no COBRA rules (life, say) is not refused here: the carrier's own line
    rules decide. A COBRA coverage being ended is never refused: it must reach the carrier.
    """
    return [
        FieldProblem(plan_path(choice), "plan is not COBRA-eligible (cobra_rules.eligible false)")
        for choice in choices
        if choice.active and is_cobra(snapshot, choice) and choice.plan.cobra_eligible is False
    ]
