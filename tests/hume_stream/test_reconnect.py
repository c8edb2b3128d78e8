"""`ReconnectingStream` against real emulator processes with injected faults."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from websockets.exceptions import ConnectionClosed

from hume_stream import (
    HumeClientException,
    HumeStreamClient,
    PredictionsMessage,
    ReconnectingStream,
    RetryPolicy,
)
from hume_stream.models.config import LanguageConfig, ProsodyConfig
from tests.emulator.pictures import encode_image, face_picture
from tests.hume_stream.conftest import requests_seen, run, wait_until
from tests.support.emulator import EmulatorProcess
from tests.support.media import MediaFactory

Factory = Callable[..., EmulatorProcess]
#: Short waits so the fault tests stay fast; the shape of the backoff is tested on its own.
FAST = RetryPolicy(max_attempts=6, initial_delay_s=0.01, max_delay_s=0.05)


def stream_for(emulator: EmulatorProcess, **kwargs: object) -> ReconnectingStream:
    client = HumeStreamClient(emulator.api_key, url=emulator.url, open_timeout=5)
    kwargs.setdefault("policy", FAST)
    return ReconnectingStream(client, [LanguageConfig(granularity="passage")], **kwargs)  # type: ignore[arg-type]


# ---------------------------------------------------------------- policy


def test_backoff_grows_exponentially_within_jitter_and_cap() -> None:
    policy = RetryPolicy(initial_delay_s=1.0, max_delay_s=8.0, multiplier=2.0, jitter=0.5)
    for retry, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 8.0)]:
        delays = [policy.delay(retry) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1  # jittered
    assert RetryPolicy(jitter=0).delay(3) == 2.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_attempts": 0}, "max_attempts must be at least 1"),
        ({"initial_delay_s": 5, "max_delay_s": 1}, "initial_delay_s <= max_delay_s"),
        ({"multiplier": 0.5}, "multiplier must be at least 1"),
        ({"jitter": 2}, "jitter must be between 0 and 1"),
    ],
)
def test_bad_policy_is_named(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


# ---------------------------------------------------------------- server-side closes


def test_reconnects_after_the_server_restarts(emulator_factory: Factory) -> None:
    emulator = emulator_factory()
    reconnects: list[int] = []

    async def main() -> ReconnectingStream:
        async with stream_for(emulator, on_reconnect=reconnects.append) as stream:
            before = await stream.get_job_details()
            await asyncio.to_thread(emulator.restart)
            reply = await stream.predict_text("Back again, and glad of it.")
            assert isinstance(reply, PredictionsMessage) and reply.language is not None
            assert await stream.get_job_details() != before  # a new connection, a new job
            return stream

    stream = run(main())
    assert stream.reconnects == 1 and reconnects == [1]


def test_resends_the_payload_in_flight_when_the_server_is_killed(
    emulator_factory: Factory,
) -> None:
    # The first connection stalls on its first data request; the test kills the server
    # while the request waits, then starts it again on the same port.
    emulator = emulator_factory("--stall-rate", "1.0")
    errors: list[BaseException] = []

    async def main() -> ReconnectingStream:
        # Patient enough to outlast a process start.
        policy = RetryPolicy(max_attempts=40, initial_delay_s=0.05, max_delay_s=0.5)
        stream = stream_for(emulator, policy=policy, on_retry=lambda e, n, d: errors.append(e))
        async with stream:
            task = asyncio.create_task(stream.predict_text("Are you there?"))
            await wait_until(lambda: bool(requests_seen(emulator)), "the request to arrive")
            emulator.kill()
            emulator.extra_args.remove("--stall-rate")
            emulator.extra_args.remove("1.0")
            await asyncio.to_thread(emulator.start)
            reply = await task
            assert isinstance(reply, PredictionsMessage)
            return stream

    stream = run(main())
    assert stream.reconnects >= 1 and stream.retries >= 1
    # The killed connection, then refused connects until the new process listens.
    assert all(isinstance(e, ConnectionClosed | OSError) for e in errors)


def test_reconnects_and_resends_under_random_drops(emulator_factory: Factory) -> None:
    emulator = emulator_factory("--drop-rate", "0.5", "--seed", "7")

    async def main() -> tuple[ReconnectingStream, list[str]]:
        async with stream_for(emulator, policy=RetryPolicy(10, 0.01, 0.05)) as stream:
            texts = [f"Sentence number {i} is a happy one." for i in range(8)]
            replies = [await stream.predict_text(t) for t in texts]
            got = [r.language.predictions[0].text for r in replies]  # type: ignore[union-attr]
            return stream, got

    stream, got = run(main())
    assert got == [f"Sentence number {i} is a happy one." for i in range(8)]
    assert stream.reconnects >= 1 and stream.retries >= stream.reconnects
    dropped = [e for e in requests_seen(emulator) if e.get("fault") == "drop"]
    assert len(dropped) == stream.reconnects


def test_every_request_dropped_gives_up_after_max_attempts(emulator_factory: Factory) -> None:
    emulator = emulator_factory("--drop-rate", "1.0")

    async def main() -> ReconnectingStream:
        stream = stream_for(emulator, policy=RetryPolicy(3, 0.01, 0.02))
        async with stream:
            with pytest.raises(HumeClientException) as info:
                await stream.send_text("hello")
            assert str(info.value).startswith("Streaming request failed after 3 attempts")
            assert info.value.retryable
        return stream

    stream = run(main())
    assert (stream.retries, stream.reconnects) == (2, 2)
    assert len(requests_seen(emulator)) == 3  # the same payload, sent three times


def test_idle_timeout_close_is_healed_on_the_next_request(emulator_factory: Factory) -> None:
    emulator = emulator_factory("--idle-timeout", "0.3")

    async def main() -> ReconnectingStream:
        async with stream_for(emulator) as stream:
            await stream.send_text("first")
            assert stream.socket is not None
            socket = stream.socket
            # The server closes it after 0.3 s of silence.
            await wait_until(lambda: not socket.is_open, "the idle close")
            await stream.send_text("second")
            return stream

    stream = run(main())
    assert stream.reconnects == 1 and stream.retries == 0


# ---------------------------------------------------------------- stalls and API errors


def test_stalled_request_times_out_reconnects_and_resends(emulator_factory: Factory) -> None:
    emulator = emulator_factory("--stall-rate", "0.5", "--seed", "3")
    timeouts: list[BaseException] = []

    async def main() -> ReconnectingStream:
        stream = stream_for(
            emulator,
            request_timeout=0.5,
            policy=RetryPolicy(10, 0.01, 0.05),
            on_retry=lambda e, n, d: timeouts.append(e),
        )
        async with stream:
            for i in range(6):
                reply = await stream.predict_text(f"Message {i}.")
                assert reply.payload_id is not None
        return stream

    stream = run(main())
    stalled = [e for e in requests_seen(emulator) if e.get("fault") == "stall"]
    assert stalled, "seed 3 must stall at least one request"
    assert stream.reconnects == len(stalled) == len(timeouts)
    assert all(isinstance(e, TimeoutError) for e in timeouts)


def test_retryable_api_error_is_retried_on_the_same_connection(emulator_factory: Factory) -> None:
    emulator = emulator_factory("--error-rate", "0.5", "--seed", "5")
    codes: list[str | None] = []

    async def main() -> ReconnectingStream:
        stream = stream_for(
            emulator,
            policy=RetryPolicy(10, 0.01, 0.05),
            on_retry=lambda e, n, d: codes.append(getattr(e, "code", None)),
        )
        async with stream:
            for i in range(6):
                await stream.predict_text(f"Message {i}.")
        return stream

    stream = run(main())
    assert codes and set(codes) == {"I0100"}
    assert stream.retries == len(codes) and stream.reconnects == 0


def test_persistent_service_error_gives_up_with_its_code(emulator_factory: Factory) -> None:
    emulator = emulator_factory("--error-rate", "1.0")

    async def main() -> None:
        async with stream_for(emulator, policy=RetryPolicy(2, 0.01, 0.02)) as stream:
            await stream.send_text("hello")

    with pytest.raises(HumeClientException) as info:
        run(main())
    assert info.value.code == "I0100" and info.value.retryable
    assert "after 2 attempts" in str(info.value) and "hume(I0100)" in str(info.value)


def test_handshake_429_is_retried_until_a_slot_frees(emulator_factory: Factory) -> None:
    emulator = emulator_factory("--max-connections-per-key", "1")
    client = HumeStreamClient(emulator.api_key, url=emulator.url)

    async def main() -> ReconnectingStream:
        holder = client.connect([LanguageConfig()])
        await holder.__aenter__()
        stream = ReconnectingStream(client, [LanguageConfig()], policy=RetryPolicy(50, 0.02, 0.05))

        async def release_after_a_refusal() -> None:
            await wait_until(lambda: stream.retries > 0, "a refused handshake")
            await holder.__aexit__(None, None, None)

        releaser = asyncio.create_task(release_after_a_refusal())
        async with stream:
            await stream.send_text("got in")
        await releaser
        return stream

    stream = run(main())
    assert stream.retries >= 1 and stream.reconnects == 0


# ---------------------------------------------------------------- never retried


def test_bad_key_is_not_retried(emulator_factory: Factory) -> None:
    emulator = emulator_factory()
    client = HumeStreamClient("wrong-key", url=emulator.url)
    stream = ReconnectingStream(client, [LanguageConfig()], policy=FAST)

    async def main() -> None:
        async with stream:
            raise AssertionError("must not connect")

    with pytest.raises(HumeClientException, match="initialized with invalid API key"):
        run(main())
    assert stream.retries == 0


def test_e0102_is_not_retried(emulator_factory: Factory, media: MediaFactory) -> None:
    emulator = emulator_factory()
    image = encode_image(face_picture())

    async def main() -> ReconnectingStream:
        client = HumeStreamClient(emulator.api_key, url=emulator.url)
        async with ReconnectingStream(client, [ProsodyConfig()], policy=FAST) as stream:
            with pytest.raises(HumeClientException) as info:
                await stream.predict_bytes(image)
            assert info.value.code == "E0102"
            with pytest.raises(HumeClientException, match="E0203"):
                await stream.send_file(media.tone(6.0))
        return stream

    stream = run(main())
    assert stream.retries == 0 and len(requests_seen(emulator)) == 1


def test_request_timeout_must_be_positive(emulator: EmulatorProcess) -> None:
    with pytest.raises(ValueError, match="request_timeout must be positive"):
        stream_for(emulator, request_timeout=0)
