"""The messages between the GroupFulfillment loop and its activities: ids and counts, no people."""

from __future__ import annotations

import uuid

from pydantic import BaseModel


class BuildRequest(BaseModel):
    group_id: uuid.UUID
    awaited: list[uuid.UUID]


class Built(BaseModel):
    # The group's transactions not yet with their carrier (new ones and earlier leftovers).
    unsent: list[uuid.UUID]
    # Which of the awaited snapshots are stored.
    stored: list[uuid.UUID]
    # The group's transactions with a carrier, not finished.
    in_flight: int
    # More submitted snapshots than one batch: build again at once.
    more: bool


class KeyedTransaction(BaseModel):
    transaction_id: uuid.UUID
    idempotency_key: str


class SendRequest(BaseModel):
    group_id: uuid.UUID
    transactions: list[KeyedTransaction]


class Sent(BaseModel):
    # With the carrier now (sent by this attempt or an earlier one), not finished.
    sent: int
    # Not sent for a carrier fault (down, timed out): sent again next turn, under the key
    # stored with the first attempt.
    retry: list[uuid.UUID]


class TrackRequest(BaseModel):
    group_id: uuid.UUID


class Tracked(BaseModel):
    in_flight: int
    finished: int
