"""The one exception of the emulator's pure core: an API error with its wire code."""

from __future__ import annotations

from typing import Any

from hume_stream.errors import Code

__all__ = ["ApiError"]


class ApiError(Exception):
    """A request the service refuses; becomes `{"error": message, "code": code}`."""

    def __init__(self, code: Code, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def to_wire(self) -> dict[str, Any]:
        return {"error": self.message, "code": self.code.value}
