"""Working the differences (contract 4d writes): assign, dismiss and reopen, one or a batch.

A write that changes nothing (dismissing a dismissed difference, assigning it to whom it is
assigned already) writes nothing and makes no new version; a batch answers the ids it changed.
The organization's differences only: an id of another's, or unknown, is `NotFound` and the
batch changes nothing. No event is emitted: the contract names none for these writes.
"""

from __future__ import annotations

import uuid
from typing import Any

from domain.differences import DifferenceAction, worked
from store import differences as store
from store.db import Database


async def work_difference(
    db: Database,
    *,
    organization_id: uuid.UUID,
    difference_id: uuid.UUID,
    action: DifferenceAction,
    assignee_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Assign, dismiss or reopen one difference; the difference as it stands after."""
    async with db.transaction() as session:
        [row] = await store.differences_for_update(session, organization_id, [difference_id])
        changes = worked(action, row, assignee_id=assignee_id)
        if changes is not None:
            await store.write_changes(session, row, changes)
        return row.as_detail()


async def work_differences(
    db: Database,
    *,
    organization_id: uuid.UUID,
    ids: list[uuid.UUID],
    action: DifferenceAction,
    assignee_id: uuid.UUID | None = None,
) -> list[uuid.UUID]:
    """Assign, dismiss or reopen every difference named, in one transaction; the ids of those
    that changed, in the order given."""
    async with db.transaction() as session:
        rows = await store.differences_for_update(session, organization_id, ids)
        changed = [
            (row, changes)
            for row in rows
            if (changes := worked(action, row, assignee_id=assignee_id)) is not None
        ]
        await store.write_many(session, changed)
    changed_ids = {row.id for row, _ in changed}
    return [difference_id for difference_id in dict.fromkeys(ids) if difference_id in changed_ids]
