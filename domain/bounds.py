"""The bounds of every text, number and date the API takes, declared once for every model to reuse.

A real record fits well inside them and a hostile or careless one does not: each text has a
maximum length and no NUL character or unpaired surrogate (PostgreSQL refuses both, and so does
every carrier file format); dates lie in a plausible range (with `9999-12-31` where the contract
writes an open end); numbers have a floor and a ceiling; free-form objects have a depth, a size and
clean keys and strings. Every payload built from bounded input fits Temporal's payload limit
(2 MB) with room to spare. Refusals name the rule, never the value.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints
from pydantic_core import PydanticCustomError

# --- texts -------------------------------------------------------------------------------------

# Free text a person writes: a reason's context, a note. 4 000 characters (at most 16 kB).
MAX_TEXT = 4_000
# A name of a person, a company, a plan, a title, an address line.
MAX_NAME = 200
# A short code or label: a suffix, a language, a phone number, a tribe, a frequency.
MAX_SHORT_TEXT = 100
# An identifier someone else assigned (a carrier's group id, the platform's member id, an event
# id): short enough that a btree index row holds it (PostgreSQL's row limit is about 2.7 kB; 200
# characters are at most 800 bytes).
MAX_IDENTIFIER = 200
# An email address (RFC 5321's limit on a forward path).
MAX_EMAIL = 254


def _surrogate(character: str) -> bool:
    return "\ud800" <= character <= "\udfff"


def clean_text(value: str) -> str:
    """The text, if it has no NUL character and no unpaired surrogate (else a pydantic error).

    A Python string decoded from valid UTF-8 or from JSON's paired `\\uD83D\\uDE00` escapes holds no
    surrogate at all: any one found is unpaired, and no database or file can store it.
    """
    if "\x00" in value:
        raise PydanticCustomError("text_nul", "must not contain NUL characters")
    if not value.isascii() and any(_surrogate(character) for character in value):
        raise PydanticCustomError("text_surrogate", "must not contain unpaired surrogates")
    return value


def _text(max_length: int) -> StringConstraints:
    return StringConstraints(max_length=max_length)


def _required(max_length: int, *, strip: bool = False) -> StringConstraints:
    return StringConstraints(strip_whitespace=strip, min_length=1, max_length=max_length)


_Clean = AfterValidator(clean_text)

Text = Annotated[str, _text(MAX_TEXT), _Clean]
Name = Annotated[str, _text(MAX_NAME), _Clean]
ShortText = Annotated[str, _text(MAX_SHORT_TEXT), _Clean]
Identifier = Annotated[str, _text(MAX_IDENTIFIER), _Clean]
EmailText = Annotated[str, _text(MAX_EMAIL), _Clean]
# Present means not blank (surrounding spaces are dropped).
NonEmptyName = Annotated[str, _required(MAX_NAME, strip=True), _Clean]
NonEmptyIdentifier = Annotated[str, _required(MAX_IDENTIFIER, strip=True), _Clean]
# Present means not empty; kept as given (snapshots store exactly what was sent).
RequiredName = Annotated[str, _required(MAX_NAME), _Clean]
RequiredIdentifier = Annotated[str, _required(MAX_IDENTIFIER), _Clean]

# --- dates -------------------------------------------------------------------------------------

# Nobody enrolled today was born, hired or covered before this day.
EARLIEST_DATE = dt.date(1900, 1, 1)
# No coverage, employment or disconnection is planned further ahead than this day.
LATEST_DATE = dt.date(2200, 12, 31)
# How the contract writes an open end ("active until further notice").
OPEN_END = dt.date(9999, 12, 31)


def _today() -> dt.date:
    # A day of slack: a person born "today" in UTC+14 is born tomorrow in UTC.
    return dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)


def _plausible(value: dt.date) -> dt.date:
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise PydanticCustomError(
            "date_implausible",
            "must be between {earliest} and {latest}",
            {"earliest": str(EARLIEST_DATE), "latest": str(LATEST_DATE)},
        )
    return value


def _plausible_end(value: dt.date) -> dt.date:
    if value == OPEN_END:
        return value
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise PydanticCustomError(
            "date_implausible",
            "must be between {earliest} and {latest}, or {open_end} for an open end",
            {"earliest": str(EARLIEST_DATE), "latest": str(LATEST_DATE), "open_end": str(OPEN_END)},
        )
    return value


def _birth(value: dt.date) -> dt.date:
    if value < EARLIEST_DATE or value > _today():
        raise PydanticCustomError(
            "birth_date_implausible",
            "must not be in the future nor before {earliest}",
            {"earliest": str(EARLIEST_DATE)},
        )
    return value


# A business day: a coverage start, a hire date, an event, a signature.
PlausibleDate = Annotated[dt.date, AfterValidator(_plausible)]
# An end: a business day, or 9999-12-31 for "no end yet".
PlausibleEndDate = Annotated[dt.date, AfterValidator(_plausible_end)]
# A date of birth: not in the future, not before 1900.
BirthDate = Annotated[dt.date, AfterValidator(_birth)]

# --- numbers -----------------------------------------------------------------------------------

# A week has 168 hours.
MAX_HOURS_WORKED = 168
# Whole dollars of a coverage's volume (life, disability): a billion is beyond any policy.
MAX_VOLUME = 1_000_000_000
# A salary amount in any unit: a billion is beyond any payroll.
MAX_MONEY = 1_000_000_000.0

# Strict, so a JSON "40" or true is not quietly taken for a number.
HoursWorked = Annotated[int, Field(strict=True, ge=0, le=MAX_HOURS_WORKED)]
Volume = Annotated[int, Field(strict=True, ge=0, le=MAX_VOLUME)]
Money = Annotated[float, Field(strict=True, ge=0, le=MAX_MONEY, allow_inf_nan=False)]

# --- lists -------------------------------------------------------------------------------------

# People in one snapshot besides the employee: beyond any family.
MAX_DEPENDENTS = 50
# Coverages in one snapshot: every line at every carrier, with room to spare.
MAX_COVERAGES = 50
# Events in one snapshot.
MAX_EVENTS = 100
# Members enrolled in one coverage: the employee and every dependent.
MAX_ENROLLED = MAX_DEPENDENTS + 1
# Primary care providers of one member in one coverage.
MAX_PROVIDERS = 20
# Choices from a short enumeration (contact types, tobacco types): each at most once or twice.
MAX_CHOICES = 10
# Records one batch write names (`PUT /differences/{assign|dismiss|reopen}`): a page or a few of a
# list, each locked and written in one transaction.
MAX_BATCH_IDS = 500

# --- free-form objects -------------------------------------------------------------------------

# Levels of objects and arrays inside a free-form object (carrier_config, classifications).
MAX_FREE_FORM_DEPTH = 8
# Keys, array items and values in one free-form object, all levels counted.
MAX_FREE_FORM_NODES = 1_000
# The magnitude of a number in a free-form object (beyond it, carriers' formats overflow).
MAX_FREE_FORM_NUMBER = 1e15


def check_free_form(value: Any) -> Any:
    """A free-form JSON value, if bounded in depth, size, strings and numbers (else an error)."""
    nodes = 0
    # (value, depth) pairs; iterative, so no nesting exhausts Python's stack here.
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        nodes += 1
        if nodes > MAX_FREE_FORM_NODES:
            raise PydanticCustomError(
                "free_form_size", "must hold at most {limit} values", {"limit": MAX_FREE_FORM_NODES}
            )
        if isinstance(item, dict | list):
            if depth >= MAX_FREE_FORM_DEPTH:
                raise PydanticCustomError(
                    "free_form_depth",
                    "must not nest objects and arrays more than {limit} levels deep",
                    {"limit": MAX_FREE_FORM_DEPTH},
                )
            children = item.values() if isinstance(item, dict) else item
            if isinstance(item, dict):
                for key in item:
                    _free_form_text(key)
            pending.extend((child, depth + 1) for child in children)
        elif isinstance(item, str):
            _free_form_text(item)
        elif isinstance(item, bool) or item is None:
            pass
        elif isinstance(item, int | float) and not (
            -MAX_FREE_FORM_NUMBER <= item <= MAX_FREE_FORM_NUMBER
        ):
            raise PydanticCustomError(
                "free_form_number",
                "numbers must be finite and lie within ±{limit}",
                {"limit": f"{MAX_FREE_FORM_NUMBER:g}"},
            )
    return value


def _free_form_text(text: str) -> None:
    if len(text) > MAX_TEXT:
        raise PydanticCustomError(
            "free_form_text", "strings must be at most {limit} characters", {"limit": MAX_TEXT}
        )
    clean_text(text)


FreeFormObject = Annotated[dict[str, Any], AfterValidator(check_free_form)]
# A flat map of labels (a member's classifications).
Labels = Annotated[dict[Identifier, Name], Field(max_length=100), AfterValidator(check_free_form)]
