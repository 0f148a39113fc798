"""Idempotency keys: claim a key for a request, then keep its answer (or let the claim go)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import IdempotencyKey, unix_now

# A claim whose request never finished (its process died) stops blocking the key after this.
ABANDONED_AFTER = timedelta(minutes=5)


@dataclass(frozen=True)
class KeyUse:
    """A key seen before: the hash of the request that claimed it, and its answer, if done."""

    request_sha256: str
    status_code: int | None
    content_type: str | None
    response_body: bytes | None


async def claim(
    session: AsyncSession,
    organization_id: uuid.UUID,
    key: str,
    request_sha256: str,
    *,
    ttl: timedelta,
) -> KeyUse | None:
    """Claim `key` for this request: None when claimed (go ahead), else the earlier use.

    Expired keys of the organization are dropped first (and an abandoned claim of this key).
    Commit at once: a concurrent repeat waits on the row, then sees it in flight.
    """
    now = unix_now()
    expired_before = now - int(ttl.total_seconds())
    await session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.organization_id == organization_id,
            or_(
                IdempotencyKey.created < expired_before,
                (IdempotencyKey.key == key)
                & IdempotencyKey.status_code.is_(None)
                & (IdempotencyKey.created < now - int(ABANDONED_AFTER.total_seconds())),
            ),
        )
    )
    claimed = await session.scalar(
        insert(IdempotencyKey)
        .values(
            organization_id=organization_id, key=key, request_sha256=request_sha256, created=now
        )
        .on_conflict_do_nothing(index_elements=["organization_id", "key"])
        .returning(IdempotencyKey.key)
    )
    if claimed is not None:
        return None
    row = await session.scalar(
        select(IdempotencyKey).where(
            IdempotencyKey.organization_id == organization_id, IdempotencyKey.key == key
        )
    )
    if row is None:  # expired and dropped by a concurrent claim in between: rare, treat as busy
        return KeyUse(request_sha256, None, None, None)
    return KeyUse(row.request_sha256, row.status_code, row.content_type, row.response_body)


async def keep_answer(
    session: AsyncSession,
    organization_id: uuid.UUID,
    key: str,
    *,
    status_code: int,
    content_type: str | None,
    body: bytes,
) -> None:
    """Record the first request's answer: repeats get it from now on."""
    await session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.organization_id == organization_id, IdempotencyKey.key == key)
        .values(status_code=status_code, content_type=content_type, response_body=body)
    )


async def release(session: AsyncSession, organization_id: uuid.UUID, key: str) -> None:
    """Let an unfinished claim go (the request failed without effect): the key is free again."""
    await session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.organization_id == organization_id,
            IdempotencyKey.key == key,
            IdempotencyKey.status_code.is_(None),
        )
    )
