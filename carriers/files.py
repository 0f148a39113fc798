"""A carrier that takes enrollment as 834 files over SFTP: every file carrier subclasses it."""

from __future__ import annotations

from dataclasses import replace

import aiohttp

from carriers import sftp
from carriers.http import HttpCarrier
from carriers.protocol import CarrierRejected, SftpSettings
from domain.edi834_members import FileRules
from domain.members import CarrierMember, CarrierTransactionReceipt

# The 999 for file `NAME` is `NAME.999` in the carrier's outbound folder.
ACK_SUFFIX = ".999"


class FileCarrier(HttpCarrier):
    """Files for enrollment; the group's lookup and account structure come from the carrier's
    implementation portal (the HTTP calls of `HttpCarrier`).

    A carrier module subclasses it with its `info` (with `trading_partner`), its pure rules,
    and `FILE_RULES`, its companion guide's choices.
    """

    FILE_RULES: FileRules

    def __init__(
        self, http: aiohttp.ClientSession, base_url: str, *, sftp: SftpSettings | None = None
    ) -> None:
        super().__init__(http, base_url)
        partner = self.info.trading_partner
        assert partner is not None, "a file carrier's registry entry has trading-partner settings"
        self._sftp = sftp or partner.sftp

    def file_rules(self, carrier_group_id: str) -> FileRules:
        return replace(self.FILE_RULES, policy_number=carrier_group_id)

    async def send_member_transaction(
        self,
        carrier_group_id: str,
        *,
        transaction_id: str,
        transaction_type: str,
        member: CarrierMember,
        idempotency_key: str,
    ) -> CarrierTransactionReceipt:
        raise CarrierRejected(f"{self.info.name} takes member changes in its feed's files")

    async def deliver_file(self, name: str, content: bytes) -> None:
        await sftp.upload(self._sftp, name, content)

    async def fetch_acknowledgement(self, name: str) -> str | None:
        data = await sftp.download(self._sftp, name + ACK_SUFFIX)
        return None if data is None else data.decode("ascii", errors="replace")
