"""Files to and from a carrier's SFTP server (asyncssh): an upload made once, a 999 read back."""

from __future__ import annotations

import posixpath
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

# asyncssh registers DSA keys on import, which cryptography warns about; nothing here uses DSA.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="DSA is deprecated")
    import asyncssh

from carriers.protocol import CarrierUnavailable, SftpSettings

CONNECT_TIMEOUT = 15.0


@asynccontextmanager
async def _sftp(settings: SftpSettings) -> AsyncIterator[asyncssh.SFTPClient]:
    try:
        async with (
            asyncssh.connect(
                settings.host,
                port=settings.port,
                username=settings.user,
                password=settings.password,
                client_keys=[settings.key_file] if settings.key_file else None,
                known_hosts=settings.known_hosts,
                connect_timeout=CONNECT_TIMEOUT,
            ) as connection,
            connection.start_sftp_client() as sftp,
        ):
            yield sftp
    except (OSError, asyncssh.Error) as exc:
        raise CarrierUnavailable(f"SFTP {settings.host}:{settings.port}: {exc}") from exc


async def upload(settings: SftpSettings, name: str, content: bytes) -> bool:
    """Put `content` at `inbound/name` once; False when a file of that name and size is there.

    Written under a temporary name and renamed, so the carrier never picks up half a file; a
    retry after a crash finds the whole file (same name, same size: the same control numbers)
    and stops, or a leftover part and writes it again.
    """
    target = posixpath.join(settings.inbound, name)
    part = target + ".part"
    async with _sftp(settings) as sftp:
        if await sftp.exists(target):
            attributes = await sftp.stat(target)
            if attributes.size == len(content):
                return False
        async with sftp.open(part, "wb") as handle:
            await handle.write(content)
        if await sftp.exists(target):
            await sftp.remove(target)
        await sftp.rename(part, target)
    return True


async def download(settings: SftpSettings, name: str) -> bytes | None:
    """The file `outbound/name`, or None when it is not there (yet)."""
    path = posixpath.join(settings.outbound, name)
    async with _sftp(settings) as sftp:
        if not await sftp.exists(path):
            return None
        async with sftp.open(path, "rb") as handle:
            data: bytes = await handle.read()
            return data
