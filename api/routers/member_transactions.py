"""`/api/v1/member_transactions` reads: the list, one transaction, and its status details.

The list is newest first (created, then id) unless `sort_by` and `sort_direction` say
otherwise. A transaction's `status_details` are kept oldest first; the last one is its current
status detail.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from api import responses
from api.deps import DB, OrganizationId
from api.openapi import ERROR_RESPONSES
from api.params import (
    Direction,
    Page,
    Paging,
    TransactionSortBy,
    csv_choices,
    csv_uuids,
    date_param,
    sorted_page,
)
from domain.errors import NotFound
from domain.member_changes import StatusDetail, TransactionType
from store import member_reads
from store.models import MemberTransaction
from store.tenancy import owned

router = APIRouter(
    prefix="/api/v1/member_transactions", tags=["member transactions"], responses=ERROR_RESPONSES
)
WHAT = "member transaction"

IdsFilter = Annotated[str | None, Query(description="comma-separated transaction ids")]
DetailsFilter = Annotated[
    str | None,
    Query(
        description="comma-separated status details: transactions that reached any of them "
        "(with status_detail_min_date/max_date: within those days)"
    ),
]
CurrentDetailFilter = Annotated[
    str | None, Query(description="comma-separated status details: the current (last) one")
]
CarriersFilter = Annotated[str | None, Query(description="comma-separated carrier ids")]
TypeFilter = Annotated[str | None, Query(description="comma-separated transaction types")]
MinCreated = Annotated[str | None, Query(description="YYYY-MM-DD: created on or after (UTC)")]
MaxCreated = Annotated[str | None, Query(description="YYYY-MM-DD: created on or before (UTC)")]
MinDetail = Annotated[
    str | None, Query(description="YYYY-MM-DD: a status detail's event_created on or after (UTC)")
]
MaxDetail = Annotated[
    str | None, Query(description="YYYY-MM-DD: a status detail's event_created on or before (UTC)")
]


@dataclass(frozen=True)
class TransactionFilters:
    """The list's query filters, as given.

    Checked by `conditions()` in the endpoint, not here: FastAPI calls a dependency even when
    other parameters failed, and their 422 must come first.
    """

    ids: IdsFilter = None
    status_details: DetailsFilter = None
    current_status_detail: CurrentDetailFilter = None
    carrier_ids: CarriersFilter = None
    transaction_type: TypeFilter = None
    transaction_min_date: MinCreated = None
    transaction_max_date: MaxCreated = None
    status_detail_min_date: MinDetail = None
    status_detail_max_date: MaxDetail = None

    def parsed(self) -> dict[str, Any]:
        """The filters as `store.member_reads.transaction_conditions` takes them (422 naming the
        first one not valid)."""
        details_allowed = [d.value for d in StatusDetail]
        ids = csv_uuids(self.ids, "ids")
        details = csv_choices(self.status_details, "status_details", details_allowed)
        current = csv_choices(self.current_status_detail, "current_status_detail", details_allowed)
        carriers = csv_uuids(self.carrier_ids, "carrier_ids")
        types = csv_choices(
            self.transaction_type, "transaction_type", (t.value for t in TransactionType)
        )
        return {
            "ids": ids,
            "current_status_details": current,
            "carrier_ids": carriers,
            "transaction_types": types,
            "created_from": date_param(self.transaction_min_date, "transaction_min_date"),
            "created_to": date_param(self.transaction_max_date, "transaction_max_date"),
            "status_details": details,
            "detail_from": date_param(self.status_detail_min_date, "status_detail_min_date"),
            "detail_to": date_param(self.status_detail_max_date, "status_detail_max_date"),
        }


Filters = Annotated[TransactionFilters, Depends()]


@router.get("", response_model=Page[responses.MemberTransaction])
async def list_member_transactions(
    organization_id: OrganizationId,
    db: DB,
    filters: Filters,
    page: Paging,
    sort_by: TransactionSortBy = "created",
    sort_direction: Direction = "desc",
) -> Page[Any]:
    """The organization's member transactions, newest first."""
    return await sorted_page(
        db,
        MemberTransaction,
        page,
        conditions=member_reads.transaction_conditions(organization_id, **filters.parsed()),
        sort_by=sort_by,
        sort_direction=sort_direction,
    )


@router.get("/{transaction_id}", response_model=responses.MemberTransaction)
async def get_member_transaction(
    transaction_id: uuid.UUID, organization_id: OrganizationId, db: DB
) -> dict[str, Any]:
    """One member transaction: what was sent to the carrier and its status details."""
    async with db.transaction() as session:
        row = await owned(session, MemberTransaction, transaction_id, organization_id, what=WHAT)
        return row.as_contract()


@router.get("/{transaction_id}/status_details", response_model=Page[responses.StatusDetail])
async def list_status_details(
    transaction_id: uuid.UUID, organization_id: OrganizationId, db: DB, page: Paging
) -> Page[Any]:
    """The transaction's status details, oldest first."""
    async with db.transaction() as session:
        row = await owned(session, MemberTransaction, transaction_id, organization_id, what=WHAT)
    details = row.status_details
    window = details[page.offset : page.offset + page.page_size]
    return Page.of(window, page, len(details))


@router.get("/{transaction_id}/status_details/latest", response_model=responses.StatusDetail)
async def latest_status_detail(
    transaction_id: uuid.UUID, organization_id: OrganizationId, db: DB
) -> dict[str, Any]:
    """The transaction's current status detail (its last one)."""
    async with db.transaction() as session:
        row = await owned(session, MemberTransaction, transaction_id, organization_id, what=WHAT)
    if not row.status_details:
        raise NotFound.of("status detail")
    return dict(row.status_details[-1])
