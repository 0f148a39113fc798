"""Census pulls: keep a page of a carrier's census as its view of each member, and compare it.

Called by `activities.census` once per page; the page holds people, so it is read and stored in
one activity and only counts and the next cursor go back to the workflow. With a `source`
(`connection`), each stored employee the platform has already sent is compared with what the
carrier holds (`domain.confirmation.compare_member`) and what differs is recorded as
differences of that source; audits refresh the views without one.
"""

from __future__ import annotations

import datetime as dt
import time

from carriers.registry import CARRIERS
from domain.census import CensusPage, CensusPageRequest, CensusPageResult
from domain.confirmation import compare_member
from store import census as census_rows
from store.db import Database
from store.differences import record_comparison


async def store_census_page(
    db: Database, request: CensusPageRequest, page: CensusPage
) -> CensusPageResult:
    """Store one page read from the carrier (idempotent) and compare it when asked to."""
    pull = request.pull
    fetched_at = int(time.time())
    today = dt.datetime.now(dt.UTC).date()
    opened = 0
    async with db.transaction() as session:
        stored = await census_rows.store_census_page(
            session,
            organization_id=pull.organization_id,
            group_id=pull.group_id,
            carrier_id=pull.carrier_id,
            members=page.members,
            fetched_at=fetched_at,
        )
        if request.source is not None:
            slug = CARRIERS[pull.carrier_id].slug
            for employee_id, (snapshot_id, sent) in stored.platform.items():
                holding_id, held = stored.views[employee_id]
                found = compare_member(sent, held, carrier=slug, today=today)
                opened += await record_comparison(
                    session,
                    organization_id=pull.organization_id,
                    group_id=pull.group_id,
                    carrier_id=pull.carrier_id,
                    employee_id=employee_id,
                    member_snapshot_id=snapshot_id,
                    holding_id=holding_id,
                    found=found,
                    stage=request.source,
                    fetched_at=fetched_at,
                )
    return CensusPageResult(
        members=stored.members,
        total=page.total,
        differences=opened,
        next_cursor=page.next_cursor,
    )
