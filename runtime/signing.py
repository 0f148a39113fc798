"""The keys that sign API access tokens and encrypt feed files: the settings, or each one
generated once under the data dir."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from runtime.settings import Settings

KEY_FILE = "token-signing.key"
FEED_FILE_KEY_FILE = "feed-file.key"


def token_signing_key(settings: Settings) -> str:
    """`settings.token_signing_key`, else the key in `{data_dir}/token-signing.key` (written
    the first time, readable by its owner only), so a dev stack's tokens survive restarts and no
    key is ever built into the code."""
    if settings.token_signing_key is not None:
        return settings.token_signing_key.get_secret_value()
    path = settings.data_dir / KEY_FILE
    return _read_or_create(path)


def feed_file_key(settings: Settings) -> str:
    """The secret that encrypts stored feed files (services/feed_files.py): the setting, else
    one generated once in `{data_dir}/feed-file.key`, like the token-signing key."""
    if settings.feed_file_key is not None:
        return settings.feed_file_key.get_secret_value()
    return _read_or_create(settings.data_dir / FEED_FILE_KEY_FILE)


def _read_or_create(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(48))
    try:
        # A hard link never replaces: of two processes starting together, the first key wins
        # and both read it, never a half-written file.
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return path.read_text().strip()
