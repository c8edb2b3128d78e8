"""What each call puts on the wire (PROTOCOL.md §2), byte for byte, and how replies the
emulator never sends are handled. Uses the scripted loopback server in `wire_server`."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from hume_stream import (
    HumeClientException,
    HumeStreamClient,
    ReconnectingStream,
    RetryPolicy,
    StreamSocket,
)
from hume_stream.models.config import (
    BurstConfig,
    FacemeshConfig,
    LanguageConfig,
    ProsodyConfig,
)
from tests.hume_stream.wire_server import WireServer, wire_server
from tests.support.media import MediaFactory

MESH = [[[0.25, 0.5, 0.75]] * 478]
Body = Callable[[StreamSocket, WireServer], Awaitable[None]]


def run_against_wire(
    configs: list[Any], body: Body, stream_window_ms: int | None = None, **client_kw: Any
) -> WireServer:
    async def main() -> WireServer:
        async with wire_server() as server:
            client = HumeStreamClient("wire-key", url=server.url, **client_kw)
            async with client.connect(configs, stream_window_ms) as socket:
                await body(socket, server)
            return server

    return asyncio.run(asyncio.wait_for(main(), 30))


def test_sdk_messages_in_sdk_key_order(media: MediaFactory) -> None:
    wav = media.tone(1.0)
    raw = wav.read_bytes()

    async def body(socket: StreamSocket, server: WireServer) -> None:
        assert await socket.send_file(wav) == {}
        assert await socket.send_bytes(base64.b64encode(raw)) == {}
        assert await socket.reset_stream() == {}
        assert await socket.get_job_details() == {}

    server = run_against_wire([BurstConfig(), ProsodyConfig()], body, stream_window_ms=2000)
    data = base64.b64encode(raw).decode()
    media_frame = json.dumps(
        {
            "data": data,
            "models": {"burst": {}, "prosody": {}},
            "raw_text": False,
            "stream_window_ms": 2000,
        }
    )
    assert server.frames == [
        media_frame,
        media_frame,
        '{"reset_stream": true}',
        '{"job_details": true}',
    ]


def test_text_and_facemesh_messages() -> None:
    async def text(socket: StreamSocket, server: WireServer) -> None:
        await socket.send_text("I love this so much!")

    server = run_against_wire([LanguageConfig(granularity="sentence", sentiment={})], text)
    assert server.frames == [
        json.dumps(
            {
                "data": "I love this so much!",
                "models": {"language": {"granularity": "sentence", "sentiment": {}}},
                "raw_text": True,
            }
        )
    ]

    async def mesh(socket: StreamSocket, server: WireServer) -> None:
        await socket.send_facemesh(MESH)

    server = run_against_wire([FacemeshConfig()], mesh)
    [request] = server.requests
    assert list(request) == ["data", "models", "raw_text"]
    assert json.loads(base64.b64decode(request["data"])) == MESH
    assert request["models"] == {"facemesh": {}} and request["raw_text"] is False


def test_per_call_configs_replace_the_models_for_that_message_only(media: MediaFactory) -> None:
    wav = media.tone(1.0)

    async def body(socket: StreamSocket, server: WireServer) -> None:
        await socket.send_file(wav, configs=[ProsodyConfig()])
        await socket.send_text("hello", configs=[LanguageConfig()])
        await socket.send_file(wav)

    server = run_against_wire([BurstConfig()], body)
    assert [r["models"] for r in server.requests] == [
        {"prosody": {}},
        {"language": {}},
        {"burst": {}},
    ]


def test_typed_path_sends_a_fresh_uuid_payload_id_per_request(media: MediaFactory) -> None:
    wav = media.tone(1.0)

    async def body(socket: StreamSocket, server: WireServer) -> None:
        first = await socket.predict_file(wav)
        second = await socket.predict_bytes(wav.read_bytes())
        third = await socket.predict_text("hi", configs=[LanguageConfig()])
        fourth = await socket.predict_facemesh(MESH, configs=[FacemeshConfig()])
        chosen = await socket.predict_file(wav, payload_id="chunk-0007")
        ids = [r.payload_id for r in (first, second, third, fourth, chosen)]
        assert ids == [r["payload_id"] for r in server.requests]

    server = run_against_wire([ProsodyConfig()], body)
    ids = [r["payload_id"] for r in server.requests]
    assert len(set(ids)) == 5 and ids[-1] == "chunk-0007"
    assert all(len(i) == 36 for i in ids[:4])
    assert [list(r)[-1] for r in server.requests] == ["payload_id"] * 5
    # base64 the client encoded is put into the frame as it is: the same bytes json.dumps gives
    assert server.frames == [json.dumps(r) for r in server.requests]


def test_base64_from_the_caller_is_escaped_like_any_string(media: MediaFactory) -> None:
    """send_bytes takes the caller's base64 as it is, line breaks included: it goes through
    the JSON encoder, so the frame stays valid JSON."""
    raw = media.tone(1.0).read_bytes()

    async def body(socket: StreamSocket, server: WireServer) -> None:
        await socket.send_bytes(base64.encodebytes(raw))

    server = run_against_wire([ProsodyConfig()], body)
    [request] = server.requests
    assert request["data"] == base64.encodebytes(raw).decode()
    assert "\\n" in server.frames[0]


def test_handshake_headers() -> None:
    async def body(socket: StreamSocket, server: WireServer) -> None:
        pass

    server = run_against_wire([BurstConfig()], body)
    [headers] = server.headers
    assert headers["X-Hume-Api-Key"] == "wire-key"
    assert headers["X-Hume-Client-Name"] == "hume_stream"
    assert headers["X-Hume-Client-Version"]
    # No permessage-deflate: payloads are media, compressing them costs more than it saves.
    assert "Sec-WebSocket-Extensions" not in headers


@pytest.mark.parametrize(
    "reply",
    ["not json", "[1, 2]", '"text"', b'{"prosody": {}}'],
    ids=["garbage", "array", "string", "binary"],
)
def test_a_reply_that_is_not_a_json_object_text_frame(reply: str | bytes) -> None:
    async def body(socket: StreamSocket, server: WireServer) -> None:
        server.reply = lambda request: reply
        with pytest.raises(HumeClientException) as info:
            await socket.send_text("hi")
        assert str(info.value) == "Unexpected error when fetching streaming API predictions"
        assert info.value.code is None and not info.value.retryable
        # The reply was read, so the connection stays in step and usable.
        server.reply = lambda request: "{}"
        assert await socket.send_text("again") == {}

    run_against_wire([LanguageConfig()], body)


def test_error_without_code() -> None:
    async def body(socket: StreamSocket, server: WireServer) -> None:
        server.reply = lambda request: '{"error": "mystery"}'
        with pytest.raises(HumeClientException, match="error without a code: mystery"):
            await socket.send_text("hi")

    run_against_wire([LanguageConfig()], body)


def test_payload_id_mismatch_names_both_and_drops_the_connection(media: MediaFactory) -> None:
    wav = media.tone(1.0)

    async def body(socket: StreamSocket, server: WireServer) -> None:
        server.reply = lambda request: json.dumps({"payload_id": "someone-else", "prosody": {}})
        with pytest.raises(HumeClientException) as info:
            await socket.predict_file(wav, payload_id="mine")
        assert "'someone-else'" in str(info.value) and "'mine'" in str(info.value)
        assert info.value.retryable
        with pytest.raises(ConnectionClosed):
            await socket.predict_file(wav)

    run_against_wire([ProsodyConfig()], body)


def test_missing_payload_id_echo_is_a_mismatch_but_an_error_may_lack_it(
    media: MediaFactory,
) -> None:
    wav = media.tone(1.0)

    async def body(socket: StreamSocket, server: WireServer) -> None:
        server.reply = lambda request: '{"error": "Invalid JSON", "code": "E0100"}'
        with pytest.raises(HumeClientException, match=r"hume\(E0100\): Invalid JSON"):
            await socket.predict_file(wav)
        server.reply = lambda request: '{"prosody": {"predictions": []}}'
        with pytest.raises(HumeClientException, match="Reply payload_id None does not match"):
            await socket.predict_file(wav)

    run_against_wire([ProsodyConfig()], body)


def test_one_request_in_flight_even_when_callers_overlap() -> None:
    async def body(socket: StreamSocket, server: WireServer) -> None:
        server.reply = lambda request: json.dumps({"echo": request["data"]})
        texts = [f"text {i}" for i in range(20)]
        replies = await asyncio.gather(*(socket.send_text(t) for t in texts))
        assert [r["echo"] for r in replies] == texts

    run_against_wire([LanguageConfig()], body)


def test_cancelled_request_drops_the_connection_rather_than_mispair() -> None:
    async def body(socket: StreamSocket, server: WireServer) -> None:
        server.reply = lambda request: json.dumps({"echo": request["data"]})
        task = asyncio.create_task(socket.send_text("slow"))
        await asyncio.sleep(0)  # the request is on its way; cancel before its reply is read
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        with pytest.raises(ConnectionClosed):
            await socket.send_text("next")

    run_against_wire([LanguageConfig()], body)


def test_max_reply_size_is_raised_above_the_websockets_default() -> None:
    big = json.dumps({"language": {"predictions": [], "pad": "x" * (3 * 2**20)}})

    async def body(socket: StreamSocket, server: WireServer) -> None:
        server.reply = lambda request: big
        reply = await socket.send_text("long")
        assert len(reply["language"]["pad"]) == 3 * 2**20

    run_against_wire([LanguageConfig()], body)


def test_keepalive_pings_keep_an_idle_connection_usable() -> None:
    async def body(socket: StreamSocket, server: WireServer) -> None:
        await asyncio.sleep(0.5)  # several ping/pong rounds
        assert socket.is_open
        assert await socket.send_text("still there") == {}

    run_against_wire([LanguageConfig()], body, ping_interval=0.05, ping_timeout=2)


def test_file_not_found_is_raised_before_sending(tmp_path: Path) -> None:
    async def body(socket: StreamSocket, server: WireServer) -> None:
        with pytest.raises(FileNotFoundError):
            await socket.send_file(tmp_path / "missing.wav")
        assert server.requests == []

    run_against_wire([ProsodyConfig()], body)


@asynccontextmanager
async def tcp_server(on_connect: Callable[[asyncio.StreamWriter], None]) -> AsyncIterator[str]:
    """A loopback TCP listener that is no WebSocket server; yields its ws:// URL."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        on_connect(writer)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"ws://127.0.0.1:{port}/v0/stream/models"


def test_handshake_that_never_completes_is_an_open_timeout_and_is_retried() -> None:
    held: list[asyncio.StreamWriter] = []

    async def main() -> ReconnectingStream:
        async with tcp_server(held.append) as url:
            client = HumeStreamClient("k", url=url, open_timeout=0.2)
            with pytest.raises(TimeoutError):
                async with client.connect([ProsodyConfig()]):
                    pass
            stream = ReconnectingStream(
                client, [ProsodyConfig()], policy=RetryPolicy(2, 0.01, 0.01)
            )
            with pytest.raises(HumeClientException, match="after 2 attempts; last error: Timeout"):
                await stream.__aenter__()
            for writer in held:
                writer.close()
            return stream

    stream = asyncio.run(asyncio.wait_for(main(), 30))
    assert stream.retries == 1 and len(held) == 3


def test_server_hanging_up_during_the_handshake_is_a_retryable_connect_error() -> None:
    async def main() -> None:
        async with tcp_server(lambda writer: writer.close()) as url:
            client = HumeStreamClient("k", url=url)
            with pytest.raises(HumeClientException) as info:
                async with client.connect([ProsodyConfig()]):
                    pass
            assert str(info.value) == "Unexpected error when creating streaming connection"
            assert info.value.retryable

    asyncio.run(asyncio.wait_for(main(), 30))


@pytest.mark.parametrize(
    ("status", "reason", "retryable"),
    [
        (429, "Too Many Requests", True),
        (503, "Service Unavailable", True),
        (403, "Forbidden", False),
    ],
)
def test_a_refused_handshake_carries_its_http_status(
    status: int, reason: str, retryable: bool
) -> None:
    """The SDK's message is the same for every refusal but 401; `status` tells them apart,
    and survives the reconnecting wrapper giving up."""

    def refuse(writer: asyncio.StreamWriter) -> None:
        writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\n\r\n".encode())
        writer.close()

    async def main() -> None:
        async with tcp_server(refuse) as url:
            client = HumeStreamClient("k", url=url)
            with pytest.raises(HumeClientException) as info:
                async with client.connect([ProsodyConfig()]):
                    pass
            assert str(info.value) == "Unexpected error when creating streaming connection"
            assert (info.value.status, info.value.retryable) == (status, retryable)
            assert f"status={status}" in repr(info.value)
            if not retryable:
                return
            stream = ReconnectingStream(client, [ProsodyConfig()], policy=RetryPolicy(2, 0, 0))
            with pytest.raises(HumeClientException) as gave_up:
                await stream.__aenter__()
            assert gave_up.value.status == status
            assert str(gave_up.value).endswith(f"(HTTP {status})")

    asyncio.run(asyncio.wait_for(main(), 30))
