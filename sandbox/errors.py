"""Errors the sandbox answers with: each knows its HTTP status and JSON body."""

from __future__ import annotations


class SandboxError(Exception):
    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, str]:
        return {"message": self.message}


class MissingIdempotencyKey(SandboxError):
    status_code = 400


class UnknownCarrier(SandboxError):
    status_code = 404


class GroupUnavailable(SandboxError):
    """The group is malformed, unknown or not (yet) shareable: the lookup status says which."""

    status_code = 404

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status

    def body(self) -> dict[str, str]:
        return {"status": self.status, "message": self.message}


class ChangeRejected(SandboxError):
    status_code = 422


class KeyReused(SandboxError):
    status_code = 422
