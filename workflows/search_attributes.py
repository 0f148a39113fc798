"""The search attributes carrierlink registers and upserts: one definition for every user."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

CARRIER_ID = SearchAttributeKey.for_keyword("CarrierId")
GROUP_ID = SearchAttributeKey.for_keyword("GroupId")
CARRIER_GROUP_ID = SearchAttributeKey.for_keyword("CarrierGroupId")
CONNECTION_STATUS = SearchAttributeKey.for_keyword("ConnectionStatus")
DISCONNECTION_STATUS = SearchAttributeKey.for_keyword("DisconnectionStatus")
RENEWAL_STATUS = SearchAttributeKey.for_keyword("RenewalStatus")

ALL = (
    CARRIER_ID,
    GROUP_ID,
    CARRIER_GROUP_ID,
    CONNECTION_STATUS,
    DISCONNECTION_STATUS,
    RENEWAL_STATUS,
)
