"""Enumerations shared by the wire contract, the store and the carriers."""

from __future__ import annotations

from enum import StrEnum


class LineOfCoverage(StrEnum):
    """A benefit line a group enrollment or plan belongs to (the contract's enum)."""

    MEDICAL = "medical"
    DENTAL = "dental"
    VISION = "vision"
    LIFE = "life"
    ADD = "add"
    STD = "std"
    LTD = "ltd"
    ACCIDENT = "accident"
    CRITICAL_ILLNESS = "critical_illness"
    CANCER = "cancer"
    HEALTH_FUND = "health_fund"
    HOSPITAL_INDEMNITY = "hospital_indemnity"
    PHARMACY = "pharmacy"
    WELLNESS = "wellness"


class LookupOutcome(StrEnum):
    """What a carrier said when asked for a group: the input of the connection lifecycle."""

    FOUND = "found"
    NEEDS_REVIEW = "needs_review"
    NOT_INSTALLED = "not_installed"
    ACTION_REQUIRED = "action_required"
    NOT_AUTHORIZED = "not_authorized"
    NOT_FOUND = "not_found"
