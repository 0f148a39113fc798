"""Recording a group connection's status transitions, as its workflow reports them."""

from __future__ import annotations

from domain.connections import StatusChange
from store.connections import add_connection, connection_for_update
from store.db import Database
from store.models import unix_now
from store.versioning import save_version
from workflows.connection import workflow_id


async def record_status(database: Database, change: StatusChange) -> None:
    """Write a transition once: a retried or replayed write with an old seq is a no-op."""
    connection = change.connection
    async with database.transaction() as session:
        row = await connection_for_update(session, connection.connection_id)
        if row is None:
            # The API commits the row before the run is visible, but a crash between the
            # workflow start and that commit must not lose the request.
            row = await add_connection(
                session,
                connection,
                workflow_id=workflow_id(
                    connection.organization_id,
                    connection.carrier_id,
                    connection.group_data.carrier_group_id,
                ),
            )
        if row.status_seq >= change.seq:
            return
        row.status = change.status.value
        row.status_seq = change.seq
        row.group_data = connection.group_data.contract()
        row.carrier_group_id = connection.group_data.carrier_group_id
        row.federal_ein = connection.federal_ein
        row.request_type = connection.request_type
        row.setup_result = change.setup_result
        if change.completed:
            row.completed = unix_now()
        await save_version(session, row)
