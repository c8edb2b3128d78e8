"""`StreamSocket`: one open connection to the streaming API, one request in flight at a time.

The protocol pairs each reply with the request before it (no ids in the legacy SDK), so a
request whose reply was not read — cancelled, timed out — leaves the connection useless:
it is aborted, and the next call fails with `ConnectionClosed` instead of reading a reply
that belongs to someone else.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

from websockets.asyncio.client import ClientConnection
from websockets.protocol import State

from hume_stream._checks import (
    check_config_types,
    check_facemesh,
    check_media,
    check_stream_window_ms,
    check_text,
)
from hume_stream._media import probe_media, probe_media_b64
from hume_stream.errors import HumeClientException
from hume_stream.limits import FACE_LIMIT, N_LANDMARKS, N_SPATIAL
from hume_stream.models.config import (
    FacemeshConfig,
    LanguageConfig,
    ModelConfigBase,
    serialize_configs,
)
from hume_stream.models.messages import (
    ErrorMessage,
    PredictionsMessage,
    WarningMessage,
    parse_response,
)

__all__ = ["StreamSocket"]

#: The SDK's message for a reply that is not a JSON object.
UNEXPECTED_REPLY = "Unexpected error when fetching streaming API predictions"

# Models that read the media itself, so its duration or size matters before sending.
_MEDIA_MODELS = frozenset({"burst", "face", "prosody"})


class StreamSocket:
    """A connection to the streaming API, as yielded by `HumeStreamClient.connect`.

    Two families of methods send the same messages:

    * ``send_file``, ``send_bytes``, ``send_text``, ``send_facemesh``, ``reset_stream``,
      ``get_job_details`` behave like the Hume SDK's (0.4.x): they return the reply as a
      ``dict`` and raise `HumeClientException` for an error reply.
    * ``predict_file``, ``predict_bytes``, ``predict_text``, ``predict_facemesh`` add a fresh
      ``payload_id`` to each request, check that the reply echoes it, and return a typed
      `PredictionsMessage` (or a `WarningMessage` when the service found nothing).

    Before anything is sent, both families check what the API would refuse: configs the
    stream does not run, audio or video over 5000 ms, images over 3000 px, text over
    10 000 characters and facemesh shapes. Pass ``check_limits=False`` to leave the media and
    text limits to the service.
    """

    _FACE_LIMIT: ClassVar[int] = FACE_LIMIT
    _N_LANDMARKS: ClassVar[int] = N_LANDMARKS
    _N_SPATIAL: ClassVar[int] = N_SPATIAL

    def __init__(
        self,
        protocol: ClientConnection,
        configs: Iterable[ModelConfigBase],
        stream_window_ms: int | None = None,
        *,
        check_limits: bool = True,
    ) -> None:
        """Wrap an open connection.

        Args:
            protocol: An open `websockets` client connection to the streaming endpoint.
            configs: Model configs sent with every data message; the last config of each
                model type wins.
            stream_window_ms: Length of the sliding window (ms) over which the service
                aggregates audio across payloads on this connection (500 to 10 000).
            check_limits: Check media duration/size and text length before sending.

        Raises:
            HumeClientException: A config the streaming API does not run, or a bad window.
        """
        check_stream_window_ms(stream_window_ms)
        self._protocol = protocol
        self._configs = list(configs)
        self._stream_window_ms = stream_window_ms
        self._check_limits = check_limits
        # Serialised once: the same `models` object goes with every data message.
        self._serialized_configs = serialize_configs(self._configs)
        self._lock = asyncio.Lock()

    @property
    def is_open(self) -> bool:
        """Whether the connection can still carry a request."""
        return self._protocol.state is State.OPEN

    # ------------------------------------------------------------ SDK-compatible family

    async def send_file(
        self, filepath: str | Path, configs: Iterable[ModelConfigBase] | None = None
    ) -> Any:
        """Send a media file (audio, video or image) and return the API's reply.

        Args:
            filepath: Path of the file to send.
            configs: Model configs for this message only, replacing the socket's.

        Returns:
            The reply as a dict (predictions, or a warning when nothing was found).

        Raises:
            HumeClientException: An error reply, or a payload over the API's limits.
        """
        raw = await _read_file(filepath)
        models = self._models(configs)
        self._check_media(raw, models)
        message = self._data_message(_encode(raw), models, False)
        return await self._request(message)

    async def send_bytes(
        self, bytes_data: bytes, configs: Iterable[ModelConfigBase] | None = None
    ) -> Any:
        """Send media that is **already base64-encoded** (like the SDK) and return the reply.

        Args:
            bytes_data: Base64 of the media file's bytes, e.g. ``base64.b64encode(raw)``.
            configs: Model configs for this message only, replacing the socket's.

        Returns:
            The reply as a dict.

        Raises:
            HumeClientException: An error reply, or a payload over the API's limits.
        """
        models = self._models(configs)
        if self._wants_media_check(models):
            check_media(probe_media_b64(bytes_data))
        message = self._data_message(bytes_data.decode("utf-8"), models, False)
        return await self._request(message)

    async def send_text(self, text: str, configs: Iterable[ModelConfigBase] | None = None) -> Any:
        """Send raw text to the language model and return the reply.

        Args:
            text: UTF-8 text, at most 10 000 characters.
            configs: Model configs for this message only, replacing the socket's.

        Returns:
            The reply as a dict.

        Raises:
            HumeClientException: A config other than `LanguageConfig`, text over the limit,
                or an error reply.
        """
        models = self._text_models(text, configs)
        return await self._request(self._data_message(text, models, True))

    async def send_facemesh(
        self, landmarks: list[list[list[float]]], configs: Iterable[ModelConfigBase] | None = None
    ) -> Any:
        """Send MediaPipe face-mesh landmarks and return the reply.

        Args:
            landmarks: Shape (n, 478, 3): n faces (1 to 100), 478 landmarks, (x, y, z).
                Nested lists or a NumPy array.
            configs: Model configs for this message only, replacing the socket's.

        Returns:
            The reply as a dict.

        Raises:
            HumeClientException: A config other than `FacemeshConfig`, a bad shape (every
                face is checked), or an error reply.
        """
        data, models = self._facemesh_payload(landmarks, configs)
        return await self._request(self._data_message(data, models, False))

    async def reset_stream(self) -> Any:
        """Drop the sliding-window context so the next payload does not see earlier media.

        Returns:
            The reply as a dict.
        """
        return await self._request({"reset_stream": True})

    async def get_job_details(self) -> Any:
        """Ask for this connection's job details.

        Returns:
            The reply as a dict: ``{"job_details": {"job_id": "<32 chars>"}}``.
        """
        return await self._request({"job_details": True})

    # ------------------------------------------------------------ typed family

    async def predict_file(
        self,
        filepath: str | Path,
        configs: Iterable[ModelConfigBase] | None = None,
        *,
        payload_id: str | None = None,
    ) -> PredictionsMessage | WarningMessage:
        """Send a media file and return the typed reply (see `predict_bytes`)."""
        return await self.predict_bytes(await _read_file(filepath), configs, payload_id=payload_id)

    async def predict_bytes(
        self,
        data: bytes,
        configs: Iterable[ModelConfigBase] | None = None,
        *,
        payload_id: str | None = None,
    ) -> PredictionsMessage | WarningMessage:
        """Send **raw** media bytes (not base64, unlike `send_bytes`) and return the typed reply.

        Args:
            data: The media file's bytes, e.g. a WAV chunk of at most 5000 ms.
            configs: Model configs for this message only, replacing the socket's.
            payload_id: Id to send and expect back; a fresh UUID4 when not given.

        Returns:
            The predictions, or a top-level warning when the models found nothing.

        Raises:
            HumeClientException: An error reply (``hume(E0102): …``), a reply for another
                payload, or a payload over the API's limits.
        """
        models = self._models(configs)
        self._check_media(data, models)
        return await self._predict(self._data_message(_encode(data), models, False), payload_id)

    async def predict_text(
        self,
        text: str,
        configs: Iterable[ModelConfigBase] | None = None,
        *,
        payload_id: str | None = None,
    ) -> PredictionsMessage | WarningMessage:
        """Send raw text to the language model and return the typed reply."""
        models = self._text_models(text, configs)
        return await self._predict(self._data_message(text, models, True), payload_id)

    async def predict_facemesh(
        self,
        landmarks: list[list[list[float]]],
        configs: Iterable[ModelConfigBase] | None = None,
        *,
        payload_id: str | None = None,
    ) -> PredictionsMessage | WarningMessage:
        """Send face-mesh landmarks of shape (n, 478, 3) and return the typed reply."""
        data, models = self._facemesh_payload(landmarks, configs)
        return await self._predict(self._data_message(data, models, False), payload_id)

    # ------------------------------------------------------------ internals

    def _models(self, configs: Iterable[ModelConfigBase] | None) -> dict[str, dict[str, Any]]:
        if configs is None:
            return self._serialized_configs
        return serialize_configs(configs)

    def _text_models(
        self, text: str, configs: Iterable[ModelConfigBase] | None
    ) -> dict[str, dict[str, Any]]:
        active, source = self._active(configs)
        check_config_types(active, LanguageConfig, "send_text", source)
        if self._check_limits:
            check_text(text)
        return self._models(active if configs is not None else None)

    def _facemesh_payload(
        self, landmarks: Any, configs: Iterable[ModelConfigBase] | None
    ) -> tuple[str, dict[str, dict[str, Any]]]:
        active, source = self._active(configs)
        check_config_types(active, FacemeshConfig, "send_facemesh", source)
        faces = check_facemesh(landmarks)
        models = self._models(active if configs is not None else None)
        return _encode(json.dumps(faces).encode("utf-8")), models

    def _active(
        self, configs: Iterable[ModelConfigBase] | None
    ) -> tuple[list[ModelConfigBase], str]:
        if configs is None:
            return self._configs, "Socket"
        return list(configs), "Payload"

    def _wants_media_check(self, models: dict[str, dict[str, Any]]) -> bool:
        return self._check_limits and not _MEDIA_MODELS.isdisjoint(models)

    def _check_media(self, raw: bytes, models: dict[str, dict[str, Any]]) -> None:
        if self._wants_media_check(models):
            check_media(probe_media(raw))

    def _data_message(
        self, data: str, models: dict[str, dict[str, Any]], raw_text: bool
    ) -> dict[str, Any]:
        # Key order as the SDK sends it: data, models, raw_text, stream_window_ms.
        message: dict[str, Any] = {"data": data, "models": models, "raw_text": raw_text}
        if self._stream_window_ms is not None:
            message["stream_window_ms"] = self._stream_window_ms
        return message

    async def _request(self, message: dict[str, Any]) -> Any:
        reply = await self._exchange(_to_json(message))
        if "error" in reply:
            raise _error_exception(reply)
        return reply

    async def _predict(
        self, message: dict[str, Any], payload_id: str | None
    ) -> PredictionsMessage | WarningMessage:
        sent_id = payload_id if payload_id is not None else str(uuid.uuid4())
        message["payload_id"] = sent_id
        reply = await self._exchange(_to_json(message))
        echoed = reply.get("payload_id")
        # An error about an unreadable request cannot echo the id; any other reply must.
        if echoed != sent_id and not ("error" in reply and echoed is None):
            self._abort()
            raise HumeClientException(
                f"Reply payload_id {echoed!r} does not match request payload_id {sent_id!r}; "
                "replies are out of order, so the connection was dropped.",
                retryable=True,
            )
        parsed = parse_response(reply)
        if isinstance(parsed, ErrorMessage):
            raise _error_exception(reply)
        return parsed

    async def _exchange(self, request: str) -> dict[str, Any]:
        async with self._lock:
            try:
                await self._protocol.send(request)
                frame = await self._protocol.recv()
            except BaseException:
                # Sent but unanswered (cancelled, timed out, failed): pairing is lost.
                self._abort()
                raise
        return _decode_reply(frame)

    def _abort(self) -> None:
        self._protocol.transport.abort()


class _Base64(str):
    """Base64 this client encoded: only ``A-Z a-z 0-9 + / =``, nothing JSON escapes."""

    __slots__ = ()


def _encode(raw: bytes) -> _Base64:
    return _Base64(base64.b64encode(raw).decode("ascii"))


def _to_json(message: dict[str, Any]) -> str:
    """``json.dumps(message)``, with base64 data this client encoded put in as it is: it
    needs no escaping, and the encoder's scan of a payload of hundreds of kilobytes costs
    more than the rest of the message's handling."""
    data = message.get("data")
    if not isinstance(data, _Base64):
        return json.dumps(message)
    rest = json.dumps({key: value for key, value in message.items() if key != "data"})
    return f'{{"data": "{data}"{", " if rest != "{}" else ""}{rest[1:]}'


async def _read_file(filepath: str | Path) -> bytes:
    return await asyncio.to_thread(Path(filepath).read_bytes)


def _decode_reply(frame: str | bytes) -> dict[str, Any]:
    # Like the SDK, only a text frame holding a JSON object is a reply.
    if not isinstance(frame, str):
        raise HumeClientException(UNEXPECTED_REPLY) from TypeError("reply was a binary frame")
    try:
        reply = json.loads(frame)
    except json.JSONDecodeError as exc:
        raise HumeClientException(UNEXPECTED_REPLY) from exc
    if not isinstance(reply, dict):
        raise HumeClientException(UNEXPECTED_REPLY) from TypeError(
            f"reply was a JSON {type(reply).__name__}, not an object"
        )
    return reply


def _error_exception(reply: dict[str, Any]) -> HumeClientException:
    code = reply.get("code")
    if not isinstance(code, str) or not code:
        return HumeClientException(f"Streaming API error without a code: {reply['error']}")
    return HumeClientException.from_error(code, str(reply["error"]))
