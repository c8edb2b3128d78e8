"""`ApiType`: which Hume API a client talks to, as in the SDK."""

from __future__ import annotations

from enum import Enum

__all__ = ["ApiType"]


class ApiType(Enum):
    """The Expression Measurement APIs, by the path segment that names them."""

    BATCH = "batch"
    STREAM = "stream"
