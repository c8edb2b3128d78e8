"""Streaming client for Hume's Expression Measurement API (v0).

The SDK's surface (`HumeStreamClient`, `StreamSocket`, `HumeClientException`, `ApiType`;
configs in `hume_stream.models.config`) plus typed replies (`predict_*` methods,
`parse_response`) and a self-healing connection (`ReconnectingStream`).
"""

from hume_stream._api_type import ApiType
from hume_stream._client import HumeStreamClient
from hume_stream._reconnect import ReconnectingStream, RetryPolicy
from hume_stream._socket import StreamSocket
from hume_stream.errors import HumeClientException
from hume_stream.models.messages import (
    ErrorMessage,
    PredictionsMessage,
    StreamResponse,
    WarningMessage,
    parse_response,
)

__all__ = [
    "ApiType",
    "ErrorMessage",
    "HumeClientException",
    "HumeStreamClient",
    "PredictionsMessage",
    "ReconnectingStream",
    "RetryPolicy",
    "StreamResponse",
    "StreamSocket",
    "WarningMessage",
    "parse_response",
]
