"""The activity classes, for workflows to call by reference (`execute_activity_method`).

Workflows cannot import `activities/` when they are imported: activities call services, and
services import the workflows (to start and signal them by reference), so an import at the top
of a workflow module closes a cycle that fails whichever of the three is imported first. Each
class is imported here on first use instead, inside a running workflow, when every module is
loaded; the sandbox passes it through (no per-run re-import of SQLAlchemy, aiohttp, ...). For
mypy the names are ordinary imports, so a call is checked against the activity's signature.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from temporalio import workflow

if TYPE_CHECKING:
    from activities.audit import AuditActivities
    from activities.confirmation import ConfirmationActivities
    from activities.connection import ConnectionActivities
    from activities.coverage_export import CoverageExportActivities
    from activities.disconnection import DisconnectionActivities
    from activities.feeds import FeedActivities
    from activities.fulfillment import FulfillmentActivities
    from activities.renewal import RenewalActivities
    from activities.webhooks import WebhookActivities

__all__ = [
    "AuditActivities",
    "ConfirmationActivities",
    "ConnectionActivities",
    "CoverageExportActivities",
    "DisconnectionActivities",
    "FeedActivities",
    "FulfillmentActivities",
    "RenewalActivities",
    "WebhookActivities",
]

_MODULES = {
    "AuditActivities": "activities.audit",
    "ConfirmationActivities": "activities.confirmation",
    "ConnectionActivities": "activities.connection",
    "CoverageExportActivities": "activities.coverage_export",
    "DisconnectionActivities": "activities.disconnection",
    "FeedActivities": "activities.feeds",
    "FulfillmentActivities": "activities.fulfillment",
    "RenewalActivities": "activities.renewal",
    "WebhookActivities": "activities.webhooks",
}


def __getattr__(name: str) -> type:
    module_name = _MODULES.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    # `__import__`, not importlib: the sandbox sees (and passes through) only the former.
    with workflow.unsafe.imports_passed_through():
        module = __import__(module_name, fromlist=[name])
    found: type = getattr(module, name)
    globals()[name] = found  # later lookups skip this function
    return found
