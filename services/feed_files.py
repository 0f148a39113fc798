"""Built feed files (they hold PII): encrypted at rest outside Temporal, kept for a retention
period, and reachable through a signed link that expires."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
import uuid
from datetime import timedelta
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from domain.errors import NotFound
from runtime.settings import Settings
from runtime.signing import feed_file_key, token_signing_key

# Where a signed link points (api/routers/feeds.py): outside /api/, as it takes no token.
FILE_LINK_PREFIX = "/feed-files"


class FeedFileStore:
    """One file per run, `{run_id}.x12.enc`, Fernet-encrypted (AES-128-CBC with HMAC-SHA256)."""

    def __init__(self, root: Path, secret: str, *, retention: timedelta) -> None:
        self._root = root
        self._fernet = Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest()))
        self._retention = retention

    @classmethod
    def from_settings(cls, settings: Settings) -> FeedFileStore:
        root = settings.feed_files_dir or settings.data_dir / "feed-files"
        return cls(root, feed_file_key(settings), retention=settings.feed_file_retention)

    def _path(self, run_id: uuid.UUID) -> Path:
        return self._root / f"{run_id}.x12.enc"

    def write(self, run_id: uuid.UUID, content: bytes) -> None:
        self._root.mkdir(parents=True, exist_ok=True)
        path = self._path(run_id)
        draft = path.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(self._fernet.encrypt(content))
        draft.replace(path)

    def read(self, run_id: uuid.UUID) -> bytes:
        """The run's file; `NotFound` once retention removed it (or it was never built)."""
        try:
            return self._fernet.decrypt(self._path(run_id).read_bytes())
        except (FileNotFoundError, InvalidToken):
            raise NotFound.of("feed run file") from None

    def exists(self, run_id: uuid.UUID) -> bool:
        return self._path(run_id).exists()

    def purge_expired(self, *, now: float | None = None) -> int:
        """Delete files older than the retention period; answers how many."""
        if not self._root.exists():
            return 0
        cutoff = (now or time.time()) - self._retention.total_seconds()
        removed = 0
        for path in self._root.glob("*.x12.enc"):
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                removed += 1
        return removed


class FileLinks:
    """Signed links to a run's file: HMAC of the run and the expiry, with the API's signing key."""

    def __init__(self, secret: str, *, lifetime_seconds: int) -> None:
        self._secret = hashlib.sha256(b"feed-file-link:" + secret.encode()).digest()
        self.lifetime_seconds = lifetime_seconds

    @classmethod
    def from_settings(cls, settings: Settings) -> FileLinks:
        return cls(token_signing_key(settings), lifetime_seconds=settings.feed_link_seconds)

    def sign(self, run_id: uuid.UUID, *, now: float | None = None) -> tuple[int, str]:
        expires = int(now or time.time()) + self.lifetime_seconds
        return expires, self._signature(run_id, expires)

    def check(
        self, run_id: uuid.UUID, expires: int, signature: str, *, now: float | None = None
    ) -> bool:
        if expires < int(now or time.time()):
            return False
        return hmac.compare_digest(signature, self._signature(run_id, expires))

    def _signature(self, run_id: uuid.UUID, expires: int) -> str:
        message = f"{run_id}:{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()
