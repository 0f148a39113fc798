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
    # `transaction_key(transaction_id)`. Runs from before that patch sent a key drawn in the
    # workflow; the send uses the transaction's own either way (services/fulfillment.py).
    idempotency_key: str


def transaction_key(transaction_id: uuid.UUID) -> str:
    """The idempotency key a transaction is sent to its carrier under: derived from its id, so
    every attempt at it sends the same key (a retried activity, a workflow task run again after
    it timed out, a later turn or run) and no two transactions share one.

    A key drawn in the workflow (`workflow.uuid4()`, in the order of a build's answer) was not
    that: a local build and send whose workflow task timed out ran again with a later build's
    answer, in which the n-th key could fall to another transaction than the one that had
    stored it, and the carrier refused that transaction ("Idempotency-Key already used for a
    different request"): issue 23's 5,000-snapshot bench failed 6-24 transactions so.
    """
    return str(uuid.uuid5(transaction_id, "carrier-write"))


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
