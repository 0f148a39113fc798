"""Carrier knowledge: one adapter protocol, one module per carrier, and the registry of both."""

from carriers.protocol import CarrierAdapter, CarrierInfo, CarrierRejected, CarrierUnavailable
from carriers.registry import CARRIERS, carrier_adapters, carrier_info, rules_for

__all__ = [
    "CARRIERS",
    "CarrierAdapter",
    "CarrierInfo",
    "CarrierRejected",
    "CarrierUnavailable",
    "carrier_adapters",
    "carrier_info",
    "rules_for",
]
