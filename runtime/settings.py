"""The one home of every setting: read from the environment (or `.env`), with embedded defaults."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.connections import ConnectionStatus
from domain.disconnections import DisconnectionStatus
from domain.overdue import OverdueLimits

# Which task queues a worker process polls (`worker.py`): `all` both (one process, as the tests
# and simple deployments want), `engine` the main queue only, `webhooks` the deliveries' own
# queue only (`domain.webhooks.delivery_queue`), so deliveries scale and stall on their own.
WorkerRole = Literal["all", "engine", "webhooks"]


class Settings(BaseSettings):
    """Runtime configuration shared by the dev stack, the worker, the API and the sandbox.

    Every field reads ``CARRIERLINK_<NAME>`` from the environment. ``DATABASE_URL`` and
    ``TEMPORAL_ADDRESS`` are also read unprefixed: setting either points the worker and the API
    at an external PostgreSQL or Temporal cluster instead of the embedded ones.
    """

    model_config = SettingsConfigDict(
        env_prefix="CARRIERLINK_",
        env_file=".env",
        extra="ignore",
        frozen=True,
        populate_by_name=True,
    )

    data_dir: Path = Path(".data")

    # PostgreSQL. None means "the embedded server under data_dir" (dev stack and tests only).
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "CARRIERLINK_DATABASE_URL")
    )
    database_pool_size: int = 10

    # Temporal. None means "the embedded dev server" on temporal_port.
    temporal_address: str | None = Field(
        default=None,
        validation_alias=AliasChoices("TEMPORAL_ADDRESS", "CARRIERLINK_TEMPORAL_ADDRESS"),
    )
    temporal_namespace: str = "default"
    task_queue: str = "carrierlink"
    temporal_port: int = 7233
    temporal_ui_port: int = 8233

    # REST API.
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # Request limits (api/limits.py): larger bodies answer 413, deeper JSON 400.
    max_body_bytes: int = Field(default=1024 * 1024, gt=0)
    max_json_depth: int = Field(default=32, gt=0)

    # Sandbox carrier systems (one HTTP app playing every carrier).
    sandbox_host: str = "127.0.0.1"
    sandbox_port: int = 8100
    sandbox_latency_ms: int = 0
    sandbox_error_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    sandbox_timeout_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    sandbox_timeout_seconds: float = 30.0
    sandbox_seed: int = 7
    # Member transactions: seconds until one finishes, and how many times longer managed ones take.
    sandbox_processing_delay_seconds: float = Field(default=2.0, ge=0.0)
    sandbox_managed_factor: float = Field(default=5.0, ge=1.0)
    # Where the sandbox keeps its carriers' groups across restarts (default: under data_dir).
    sandbox_state_file: Path | None = None
    # The sandbox file carrier's SFTP server (sandbox/file_carrier.py), on sandbox_host; 0 = off.
    sandbox_sftp_port: int = Field(default=8122, ge=0)
    sandbox_sftp_root: Path | None = None  # default: {data_dir}/sandbox/sftp

    # Carrier systems: each base URL defaults to the sandbox's mount for that carrier.
    principal_base_url: str | None = None
    unum_base_url: str | None = None
    larkspur_base_url: str | None = None
    # File carriers' SFTP servers, as sftp://user[:password]@host:port[?key_file=PATH]; each
    # defaults to the sandbox's server.
    larkspur_sftp_url: SecretStr | None = None
    carrier_timeout_seconds: float = 10.0

    # File carriers' feeds (services/feeds.py): a run that the carrier's rules would refuse for
    # more than this fraction of its subscribers is held for review instead of sent.
    feed_error_threshold: float = Field(default=0.1, ge=0.0, le=1.0)
    # Built files (PII) are kept encrypted under feed_files_dir (default {data_dir}/feed-files)
    # this long, then deleted; the key is feed_file_key, else {data_dir}/feed-file.key.
    feed_files_dir: Path | None = None
    feed_file_retention: timedelta = Field(default=timedelta(days=90), gt=timedelta(0))
    feed_file_key: SecretStr | None = None
    # Waiting for a file's 999: first look after this, then less often, until the limit.
    feed_ack_poll: timedelta = Field(default=timedelta(seconds=30), gt=timedelta(0))
    feed_ack_wait_limit: timedelta = Field(default=timedelta(days=3), gt=timedelta(0))
    # `GET /feed_runs/{id}/file` answers a signed link valid this long.
    feed_link_seconds: int = Field(default=300, gt=0)

    # Connection lifecycle: how a waiting connection re-checks the carrier.
    connection_recheck_initial: timedelta = timedelta(seconds=5)
    connection_recheck_backoff: float = 2.0
    connection_recheck_max: timedelta = timedelta(days=1)
    connection_wait_limit: timedelta = timedelta(days=30)

    # Member transactions: how soon after a send the group's loop first asks the carriers how
    # far they are (then 1.5 times longer each time nothing moved, up to 10 minutes).
    member_transaction_poll_first: timedelta = Field(default=timedelta(seconds=5), gt=timedelta(0))
    # Member snapshots: while a group's snapshots keep arriving, its loop starts a build at
    # most this often, and what arrives meanwhile is built together (0: build at each arrival).
    member_snapshot_build_spacing: timedelta = Field(
        default=timedelta(seconds=1), ge=timedelta(0), le=timedelta(minutes=1)
    )

    # Carrier audits: how often each completed connection's schedule re-pulls the group.
    audit_interval: timedelta = Field(default=timedelta(days=1), gt=timedelta(0))

    # Disconnections: how far in the past a platform's effective end date may lie.
    disconnection_max_days_past: int = Field(default=30, ge=0)

    # Renewal decisions: how often each decision's run re-checks its carriers (woken at once by
    # an edit). Daily in production; `make run` uses minutes.
    renewal_recheck_interval: timedelta = Field(default=timedelta(days=1), gt=timedelta(0))
    # Webhooks (contract 6): a 2xx within the timeout acknowledges; otherwise retried, each wait
    # `retry_factor` times the last, `max_attempts` in all (15 over about 3 days). A subscription
    # failing every delivery for `unhealthy_after` is unhealthy, for `failed_after` failed and
    # paused. A rotated secret keeps signing for `secret_grace`. URLs resolving to loopback or
    # private ranges are refused unless allowed (`make run` and the tests allow loopback).
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_max_attempts: int = Field(default=15, ge=1)
    webhook_retry_first: timedelta = Field(default=timedelta(seconds=16), gt=timedelta(0))
    webhook_retry_factor: float = Field(default=2.0, ge=1.0)
    webhook_unhealthy_after: timedelta = timedelta(days=1)
    webhook_failed_after: timedelta = timedelta(days=7)
    webhook_secret_grace: timedelta = timedelta(hours=24)
    webhook_allow_loopback: bool = False
    webhook_allow_private: bool = False
    # How often a subscription's delivery loop looks for due deliveries, and how many POSTs it
    # keeps in flight.
    webhook_poll_interval: timedelta = Field(default=timedelta(milliseconds=500), gt=timedelta(0))
    webhook_concurrency: int = Field(default=50, ge=1)
    # How long a coverage export (a census as of a date, PII) can be read after it is asked for;
    # then it and its records are deleted.
    coverage_export_ttl: timedelta = Field(default=timedelta(days=1), gt=timedelta(0))

    # The worker's operations: its probe port (`/healthz`, `/readyz`) and the Temporal SDK's
    # Prometheus port (None: off; `make run` and compose set both), and how long a stopping worker
    # lets running activities finish (within compose's stop_grace_period).
    worker_host: str = "127.0.0.1"
    worker_probe_port: int | None = None
    worker_metrics_port: int | None = None
    worker_graceful_shutdown: timedelta = Field(default=timedelta(seconds=30), ge=timedelta(0))
    worker_role: WorkerRole = "all"
    # `make run` only: the probe and metrics ports of its webhook worker, a process of its own
    # (each worker process gets its own: the SDK's Prometheus exporter cannot share one).
    webhook_worker_probe_port: int | None = None
    webhook_worker_metrics_port: int | None = None

    # Stuck work: how long a record may stay in a waiting status before it is overdue
    # (`?overdue=true` on the lists, the carrierlink_overdue gauge): a connection waiting on the
    # carrier for a week, a review (the platform's or an operator's) waiting three days.
    overdue_noyo_review: timedelta = Field(default=timedelta(days=3), gt=timedelta(0))
    overdue_waiting_on_carrier: timedelta = Field(default=timedelta(days=7), gt=timedelta(0))
    overdue_carrier_authorization: timedelta = Field(default=timedelta(days=7), gt=timedelta(0))
    overdue_action_required: timedelta = Field(default=timedelta(days=7), gt=timedelta(0))
    overdue_disconnection_review: timedelta = Field(default=timedelta(days=3), gt=timedelta(0))

    # Development tenancy: the organization and token created by the dev stack.
    dev_organization: str = "demo"
    dev_token: str = "dev-token"

    # API clients (api/tokens.py): client-credentials tokens are JWTs signed (HS256) with this
    # key and valid this many SECONDS. No key set: one is generated once into
    # {data_dir}/token-signing.key (runtime/signing.py); set it wherever several APIs serve.
    token_signing_key: SecretStr | None = None
    token_lifetime_seconds: int = Field(default=600, gt=0)
    # The admin API (/admin/...: API clients of any organization) takes `Authorization: Bearer
    # <admin_token>`; unset, the admin API is off (403).
    admin_token: SecretStr | None = None
    # Idempotency-Key on a POST: how long its first answer is replayed.
    idempotency_key_ttl: timedelta = Field(default=timedelta(days=1), gt=timedelta(0))

    @property
    def temporal_target(self) -> str:
        """The host:port the worker and the API dial."""
        return self.temporal_address or f"127.0.0.1:{self.temporal_port}"

    def overdue_limits(self) -> OverdueLimits:
        """The time-in-status limits of every waiting status that has one."""
        return OverdueLimits.of(
            connections={
                ConnectionStatus.NOYO_REVIEW: self.overdue_noyo_review,
                ConnectionStatus.WAITING_ON_CARRIER: self.overdue_waiting_on_carrier,
                ConnectionStatus.CARRIER_AUTHORIZATION: self.overdue_carrier_authorization,
                ConnectionStatus.ACTION_REQUIRED: self.overdue_action_required,
            },
            disconnections={DisconnectionStatus.NEEDS_REVIEW: self.overdue_disconnection_review},
        )

    def carrier_base_url(self, slug: str) -> str:
        """Where the carrier with this registry slug answers (the sandbox unless overridden)."""
        override = getattr(self, f"{slug}_base_url", None)
        return override or f"http://{self.sandbox_host}:{self.sandbox_port}/{slug}"

    def carrier_sftp_url(self, slug: str) -> str:
        """Where the file carrier with this registry slug takes files (the sandbox's server
        unless overridden; the URL may hold a password: never log it)."""
        override = getattr(self, f"{slug}_sftp_url", None)
        if override is not None:
            return str(override.get_secret_value())
        return f"sftp://carrierlink:sandbox@{self.sandbox_host}:{self.sandbox_sftp_port}"

    def require_database_url(self) -> str:
        """The database URL, failing loudly when nothing has resolved the embedded one yet."""
        if not self.database_url:
            raise RuntimeError(
                "DATABASE_URL is not set: start the stack with `make run`, or point DATABASE_URL "
                "at a PostgreSQL database (postgresql+asyncpg://user:pass@host/db)."
            )
        return self.database_url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
