"""Carrier knowledge: one adapter protocol, one module per carrier, and the registry of both."""

from carriers.protocol import (
    CarrierAdapter,
    CarrierInfo,
    CarrierRejected,
    CarrierUnavailable,
    FileMode,
    Network,
    SftpSettings,
    TradingPartner,
)
from carriers.registry import (
    CARRIERS,
    carrier_adapters,
    carrier_info,
    file_carrier_ids,
    rules_for,
)

__all__ = [
    "CARRIERS",
    "CarrierAdapter",
    "CarrierInfo",
    "CarrierRejected",
    "CarrierUnavailable",
    "FileMode",
    "Network",
    "SftpSettings",
    "TradingPartner",
    "carrier_adapters",
    "carrier_info",
    "file_carrier_ids",
    "rules_for",
]
