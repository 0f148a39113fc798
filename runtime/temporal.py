"""The one way to reach Temporal: a client with the project's data converter."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from runtime.settings import Settings

DATA_CONVERTER = pydantic_data_converter


async def connect(settings: Settings, *, lazy: bool = False) -> Client:
    """A client for the configured cluster; `lazy` defers dialing to the first call."""
    return await Client.connect(
        settings.temporal_target,
        namespace=settings.temporal_namespace,
        data_converter=DATA_CONVERTER,
        lazy=lazy,
    )
