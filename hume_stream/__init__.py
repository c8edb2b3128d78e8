"""Clients for Hume's Expression Measurement APIs: the v0 streaming API and its successor,
the v1 realtime audio API.

v0: the SDK's surface (`HumeStreamClient`, `StreamSocket`, `HumeClientException`,
`ApiType`; configs in `hume_stream.models.config`) plus typed replies (`predict_*` methods,
`parse_response`) and a self-healing connection (`ReconnectingStream`).

v1: `RealtimeClient` opens a `RealtimeSession` (one recording or channel per session),
paced by a `RealtimePacer`; its messages are the typed models of
`hume_stream.models.realtime`, parsed with `parse_realtime_event`.
"""

from hume_stream._api_type import ApiType
from hume_stream._client import HumeStreamClient
from hume_stream._pacer import RealtimePacer
from hume_stream._realtime import RealtimeClient, RealtimeSession
from hume_stream._reconnect import ReconnectingStream, RetryPolicy
from hume_stream._socket import StreamSocket
from hume_stream.errors import HumeClientException, RealtimeCode
from hume_stream.models.messages import (
    ErrorMessage,
    PredictionsMessage,
    StreamResponse,
    WarningMessage,
    parse_response,
)
from hume_stream.models.realtime import (
    MeasurementResult,
    RealtimeError,
    RealtimeEvent,
    SessionClosed,
    SessionCreated,
    SessionUpdated,
    UtteranceEnd,
    UtteranceStart,
    parse_realtime_event,
)

__all__ = [
    "ApiType",
    "ErrorMessage",
    "HumeClientException",
    "HumeStreamClient",
    "MeasurementResult",
    "PredictionsMessage",
    "RealtimeClient",
    "RealtimeCode",
    "RealtimeError",
    "RealtimeEvent",
    "RealtimePacer",
    "RealtimeSession",
    "ReconnectingStream",
    "RetryPolicy",
    "SessionClosed",
    "SessionCreated",
    "SessionUpdated",
    "StreamResponse",
    "StreamSocket",
    "UtteranceEnd",
    "UtteranceStart",
    "WarningMessage",
    "parse_realtime_event",
    "parse_response",
]
