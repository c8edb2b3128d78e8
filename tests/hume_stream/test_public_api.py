"""The public surface: exports, the SDK's signatures and defaults, endpoint choice, secrecy."""

from __future__ import annotations

import inspect
import logging
import subprocess
import sys

import pytest

import hume_stream
from hume_stream import ApiType, HumeStreamClient, StreamSocket
from tests.support.media import MediaFactory

SEED_NAMES = {"ApiType", "HumeClientException", "HumeStreamClient", "StreamSocket"}
TYPED_NAMES = {
    "ErrorMessage",
    "PredictionsMessage",
    "ReconnectingStream",
    "RetryPolicy",
    "StreamResponse",
    "WarningMessage",
    "parse_response",
}
REALTIME_NAMES = {
    "MeasurementResult",
    "RealtimeClient",
    "RealtimeCode",
    "RealtimeError",
    "RealtimeEvent",
    "RealtimePacer",
    "RealtimeSession",
    "SessionClosed",
    "SessionCreated",
    "SessionUpdated",
    "UtteranceEnd",
    "UtteranceStart",
    "parse_realtime_event",
}


def test_all_is_pinned() -> None:
    assert set(hume_stream.__all__) == SEED_NAMES | TYPED_NAMES | REALTIME_NAMES
    assert len(hume_stream.__all__) == len(set(hume_stream.__all__))
    for name in hume_stream.__all__:
        assert getattr(hume_stream, name) is not None


def params(func: object) -> list[tuple[str, object, object]]:
    sig = inspect.signature(func)  # type: ignore[arg-type]
    return [(p.name, p.kind, p.default) for p in sig.parameters.values()]


P, K, VA, VK = (
    inspect.Parameter.POSITIONAL_OR_KEYWORD,
    inspect.Parameter.KEYWORD_ONLY,
    inspect.Parameter.VAR_POSITIONAL,
    inspect.Parameter.VAR_KEYWORD,
)
EMPTY = inspect.Parameter.empty


def test_client_signature_matches_the_sdk() -> None:
    got = params(HumeStreamClient.__init__)
    assert got[:5] == [
        ("self", P, EMPTY),
        ("api_key", P, EMPTY),
        ("args", VA, EMPTY),
        ("open_timeout", K, 10),
        ("close_timeout", K, 10),
    ]
    assert got[-1] == ("kwargs", VK, EMPTY)
    assert params(HumeStreamClient.connect)[:3] == [
        ("self", P, EMPTY),
        ("configs", P, EMPTY),
        ("stream_window_ms", P, None),
    ]
    assert HumeStreamClient.get_api_type() is ApiType.STREAM
    assert {t.name: t.value for t in ApiType} == {"BATCH": "batch", "STREAM": "stream"}


@pytest.mark.parametrize(
    ("method", "first"),
    [
        ("send_file", "filepath"),
        ("send_bytes", "bytes_data"),
        ("send_text", "text"),
        ("send_facemesh", "landmarks"),
    ],
)
def test_socket_send_signatures_match_the_sdk(method: str, first: str) -> None:
    assert params(getattr(StreamSocket, method)) == [
        ("self", P, EMPTY),
        (first, P, EMPTY),
        ("configs", P, None),
    ]


def test_socket_constructor_and_no_argument_methods_match_the_sdk() -> None:
    assert params(StreamSocket.__init__)[:4] == [
        ("self", P, EMPTY),
        ("protocol", P, EMPTY),
        ("configs", P, EMPTY),
        ("stream_window_ms", P, None),
    ]
    assert params(StreamSocket.reset_stream) == [("self", P, EMPTY)]
    assert params(StreamSocket.get_job_details) == [("self", P, EMPTY)]
    assert (StreamSocket._FACE_LIMIT, StreamSocket._N_LANDMARKS, StreamSocket._N_SPATIAL) == (
        100,
        478,
        3,
    )


def test_default_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUME_STREAM_URL", raising=False)
    assert HumeStreamClient("k").url == "wss://api.hume.ai/v0/stream/models"


def test_endpoint_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUME_STREAM_URL", "ws://env.example:9/v0/stream/models")
    assert HumeStreamClient("k").url == "ws://env.example:9/v0/stream/models"
    assert HumeStreamClient("k", url="ws://kw.example/x").url == "ws://kw.example/x"
    # The SDK's own base-URI argument, positional or by keyword.
    sdk = "ws://sdk.example:1/v0/stream/models"
    assert HumeStreamClient("k", _api_ws_base_uri="ws://sdk.example:1").url == sdk
    assert HumeStreamClient("k", "v0", "https://x", "ws://sdk.example:1/").url == sdk


@pytest.mark.parametrize("url", ["http://host/v0/stream/models", "wss://", "host:80"])
def test_bad_endpoint_is_named(url: str) -> None:
    with pytest.raises(ValueError, match="must be ws://HOST"):
        HumeStreamClient("k", url=url)


def test_unknown_arguments_are_refused_like_a_python_function() -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'stream_url'"):
        HumeStreamClient("k", stream_url="ws://x")
    with pytest.raises(TypeError, match="at most 4 positional"):
        HumeStreamClient("k", "v0", "a", "b", "c")


def test_empty_key_is_refused() -> None:
    with pytest.raises(ValueError, match="An API key is required"):
        HumeStreamClient("")


def test_key_never_shows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUME_STREAM_URL", raising=False)
    client = HumeStreamClient("sk-very-secret")
    shown = repr(client) + str(client) + repr(vars(client))
    assert "sk-very-secret" not in shown
    assert "api_key=***" in repr(client)
    # A key put in the URL the browser way is hidden from the repr too.
    in_url = HumeStreamClient("k", url="ws://h:1/v0/stream/models?apikey=sk-very-secret")
    assert "sk-very-secret" not in repr(in_url)
    # so is any other query or user-info, whatever it is called
    for url in ("ws://h:1/v0/stream/models?token=sk-very-secret", "ws://u:sk-very-secret@h:1/v0"):
        assert "sk-very-secret" not in repr(HumeStreamClient("k", url=url))


def test_websockets_debug_log_of_the_handshake_hides_the_key() -> None:
    logger = logging.getLogger("hume_stream.websocket")
    record = logger.makeRecord(
        logger.name, logging.DEBUG, __file__, 1, "> %s: %s", ("X-Hume-Api-Key", "sk-1"), None
    )
    for log_filter in logger.filters:
        assert isinstance(log_filter, logging.Filter) and log_filter.filter(record)
    assert record.getMessage() == "> X-Hume-Api-Key: ***"
    record = logger.makeRecord(
        logger.name, logging.DEBUG, __file__, 1, "> GET %s HTTP/1.1", ("/v0?apikey=sk-1",), None
    )
    for log_filter in logger.filters:
        assert isinstance(log_filter, logging.Filter) and log_filter.filter(record)
    assert "sk-1" not in record.getMessage()


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


def test_importing_the_client_loads_no_other_layer_and_no_pyav() -> None:
    done = run_python(
        "import sys, hume_stream, hume_stream.models.config\n"
        "bad = {'celery', 'redis', 'worker', 'emulator', 'producer', 'av'} & {\n"
        "    m.split('.')[0] for m in sys.modules}\n"
        "assert not bad, bad\n"
    )
    assert done.returncode == 0, done.stderr


def test_works_without_pyav_leaving_non_wav_media_to_the_service(media: MediaFactory) -> None:
    flac, wav = media.tone(6.0, suffix="flac"), media.tone(6.0)
    done = run_python(
        "import sys\n"
        "sys.modules['av'] = None  # as if PyAV were not installed\n"
        "from pathlib import Path\n"
        "from hume_stream._media import probe_media\n"
        f"assert probe_media(Path({str(flac)!r}).read_bytes()) is None\n"
        f"assert probe_media(Path({str(wav)!r}).read_bytes()).duration_ms == 6000.0\n"
    )
    assert done.returncode == 0, done.stderr
