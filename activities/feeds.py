"""Activities of a feed run: open, build, review, deliver, read the 999, give up.

Each is a thin call of `services.feeds.FeedRuns`; ids, statuses and counts only.
"""

from __future__ import annotations

import uuid

from temporalio import activity
from temporalio.client import Client

from activities.heartbeat import heartbeats
from activities.refusals import refused
from carriers import CarrierAdapter, CarrierRejected
from domain.audits import PullRequest
from domain.feeds import (
    FeedReadiness,
    FeedRunStatus,
    OpenRunRequest,
    RunAcknowledged,
    RunBuilt,
    RunOpened,
    RunRequest,
    RunReviewed,
)
from runtime.settings import Settings
from services import feeds
from services.feed_files import FeedFileStore
from services.feeds import FeedRuns
from store.db import Database


class FeedActivities:
    def __init__(
        self,
        database: Database,
        adapters: dict[uuid.UUID, CarrierAdapter],
        client: Client,
        settings: Settings,
    ) -> None:
        self._db = database
        self._client = client
        self._settings = settings
        self._runs = FeedRuns(database, adapters, settings, FeedFileStore.from_settings(settings))

    @activity.defn(name="prepare_file_feed")
    async def prepare_feed(self, request: PullRequest) -> FeedReadiness:
        """A connection's account is pulled: a file carrier's feed (and schedule), and how far
        its census and test file are; `sends_files` False for an API carrier."""
        return await feeds.prepare_connection_feed(self._db, self._client, self._settings, request)

    @activity.defn(name="file_feed_readiness")
    async def readiness(self, request: PullRequest) -> FeedReadiness:
        return await feeds.feed_readiness(self._db, request)

    @activity.defn(name="open_feed_run")
    async def open_run(self, request: OpenRunRequest) -> RunOpened:
        return await self._runs.open(request)

    @activity.defn(name="build_feed_file")
    @heartbeats
    async def build_file(self, request: RunRequest) -> RunBuilt:
        return await self._runs.build(request)

    @activity.defn(name="record_feed_run_review")
    async def record_review(self, review: RunReviewed) -> FeedRunStatus:
        return await self._runs.review(review.run_id, review.decision, None)

    @activity.defn(name="deliver_feed_file")
    async def deliver_file(self, request: RunRequest) -> None:
        try:
            await self._runs.deliver(request)
        except CarrierRejected as exc:
            raise refused(exc) from exc

    @activity.defn(name="read_feed_acknowledgement")
    async def read_acknowledgement(self, request: RunRequest) -> RunAcknowledged:
        return await self._runs.acknowledge(request)

    @activity.defn(name="give_up_feed_acknowledgement")
    async def give_up(self, request: RunRequest) -> None:
        await self._runs.give_up(request)
