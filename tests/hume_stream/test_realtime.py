"""The v1 realtime client (`RealtimeClient`, `RealtimeSession`, `RealtimePacer`) against a
real emulator process: every message kind, the configuration, pacing and the resend of
rate-limited frames, each documented error code, auth, limits, the per-key cap, faults."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from hume_stream import (
    HumeClientException,
    MeasurementResult,
    RealtimeClient,
    RealtimeCode,
    RealtimeEvent,
    RealtimePacer,
    RealtimeSession,
    SessionClosed,
    UtteranceEnd,
    UtteranceStart,
)
from hume_stream._realtime import INVALID_CREDENTIALS, UNEXPECTED_CONNECT
from samples import synth
from tests.hume_stream.conftest import run
from tests.support.emulator import EmulatorProcess

RATE = 16_000


def pcm(seconds: float, lead: float = 0.0, tail: float = 0.0) -> bytes:
    body = synth.tone(220.0, seconds, RATE)[0]
    samples = np.concatenate([np.zeros(round(lead * RATE)), body, np.zeros(round(tail * RATE))])
    return (samples * 32767).astype("<i2").tobytes()


async def measure(
    session: RealtimeSession, audio: bytes
) -> tuple[list[RealtimeEvent], SessionClosed]:
    """Send the audio, close, and return every event and the totals."""
    events: list[RealtimeEvent] = []

    async def read() -> None:
        async for event in session.events():
            events.append(event)

    reader = asyncio.create_task(read())
    await session.send_audio(audio)
    closed = await session.close()
    await reader
    return events, closed


def realtime(emulator: EmulatorProcess, **kwargs: Any) -> RealtimeClient:
    return RealtimeClient(emulator.api_key, url=emulator.realtime_url, **kwargs)


def test_a_session_end_to_end(emulator: EmulatorProcess) -> None:
    async def go() -> tuple[list[RealtimeEvent], SessionClosed, RealtimeSession]:
        async with realtime(emulator).connect(measurement_timer_ms=5000) as session:
            assert session.measurement_timer_ms == 5000
            events, closed = await measure(session, pcm(1.0, lead=0.5, tail=0.6))
            return events, closed, session

    events, closed, session = run(go())
    assert [type(e) for e in events] == [
        UtteranceStart,
        MeasurementResult,
        UtteranceEnd,
        SessionClosed,
    ]
    start, result, end = events[:3]
    assert isinstance(start, UtteranceStart) and abs(start.audio_start_ms - 500) <= 20
    assert isinstance(result, MeasurementResult) and result.trigger == "speech_ended"
    assert isinstance(end, UtteranceEnd) and abs(end.audio_end_ms - 1500) <= 20
    assert session.latency_s(result) is not None
    assert closed.reason == "client_request" and closed.session_id == session.session_id
    assert closed.received.audio_duration_ms == 2100 and closed.received.frames == 21
    assert session.accepted_ms == 2100 and session.frames == 21 and session.resends == 0


def test_a_bearer_token_is_a_credential(emulator: EmulatorProcess) -> None:
    async def go() -> str:
        client = RealtimeClient(access_token=emulator.api_key, url=emulator.realtime_url)
        async with client.connect() as session:
            return session.session_id

    assert run(go())


def test_a_rejected_key_raises_the_sdk_message(emulator: EmulatorProcess) -> None:
    async def go() -> None:
        async with RealtimeClient("wrong", url=emulator.realtime_url).connect():
            pass

    with pytest.raises(HumeClientException) as err:
        run(go())
    assert err.value.message == INVALID_CREDENTIALS and not err.value.retryable


def test_credentials_and_options_are_checked_before_connecting() -> None:
    with pytest.raises(ValueError, match="exactly one credential"):
        RealtimeClient()
    with pytest.raises(ValueError, match="exactly one credential"):
        RealtimeClient("key", access_token="token")
    with pytest.raises(ValueError, match="ws://"):
        RealtimeClient("key", url="http://example.com/x")
    client = RealtimeClient("secret-key", url="ws://127.0.0.1:9/v1/expression/audio/realtime")
    assert "secret-key" not in repr(client)
    # a credential put in the URL is hidden from the repr too
    in_url = RealtimeClient("k", url="ws://127.0.0.1:9/v1/expression/audio/realtime?token=s3cr")
    assert "s3cr" not in repr(in_url) and "realtime?***" in repr(in_url)

    async def go() -> None:
        async with client.connect(measurement_timer_ms=2000):
            pass

    with pytest.raises(HumeClientException) as err:
        run(go())
    assert err.value.code == RealtimeCode.CONFIG_INVALID and "checked before sending" in str(
        err.value
    )


def test_bad_audio_is_refused_before_sending(emulator: EmulatorProcess) -> None:
    async def go() -> None:
        async with realtime(emulator).connect() as session:
            await session.send_audio(b"\x00\x01\x02")

    with pytest.raises(HumeClientException) as err:
        run(go())
    assert err.value.code == RealtimeCode.INVALID_AUDIO_FRAME and not err.value.retryable


def test_rate_limited_frames_are_resent_so_offsets_do_not_shift(
    emulator_factory: Callable[..., EmulatorProcess],
) -> None:
    strict = emulator_factory("--realtime-burst-ms", "0")
    audio = pcm(1.0, lead=1.0, tail=0.6)

    async def go(speed: float) -> tuple[list[RealtimeEvent], SessionClosed, int]:
        client = RealtimeClient(strict.api_key, url=strict.realtime_url)
        async with client.connect(speed=speed) as session:
            events, closed = await measure(session, audio)
            return events, closed, session.resends

    paced, paced_closed, paced_resends = run(go(1.0))
    rushed, rushed_closed, rushed_resends = run(go(2.0))
    # At twice real time about every other frame is refused (with no burst allowed, even
    # the paced run may meet one through scheduling jitter).
    assert rushed_resends > paced_resends
    limited = [e for e in strict.events() if e.get("code") == "rate_limited"]
    assert len(limited) == paced_resends + rushed_resends
    # Every frame was accepted once: the same audio, the same times.
    assert rushed_closed.received == paced_closed.received
    starts = [e.audio_start_ms for e in rushed if isinstance(e, UtteranceStart)]
    assert starts == [e.audio_start_ms for e in paced if isinstance(e, UtteranceStart)]
    assert abs(starts[0] - 1000) <= 20


def test_pacer_releases_audio_at_real_time() -> None:
    now = [100.0]
    pacer = RealtimePacer(clock=lambda: now[0])
    run(pacer.wait(100))
    assert pacer.delay_s() == pytest.approx(0.1)
    now[0] += 0.1
    run(pacer.wait(250))
    assert pacer.delay_s() == pytest.approx(0.25)
    pacer.refund(250)
    assert pacer.delay_s() == 0
    catching_up = RealtimePacer(clock=lambda: now[0], burst_ms=100)
    run(catching_up.wait(100))
    assert catching_up.delay_s() == 0  # may run 100 ms ahead
    run(catching_up.wait(100))
    assert catching_up.delay_s() == pytest.approx(0.1)
    with pytest.raises(ValueError):
        RealtimePacer(speed=0)
    with pytest.raises(ValueError):
        RealtimePacer(burst_ms=-1)
    with pytest.raises(ValueError):
        run(pacer.wait(0))


@pytest.mark.parametrize(
    ("flags", "code", "retryable"),
    [
        (("--error-rate", "1"), RealtimeCode.INTERNAL_ERROR, True),
        (("--drop-rate", "1"), RealtimeCode.CONNECTION_LOST, True),
        (("--realtime-max-session-s", "0.5"), "session_limit_reached", False),
    ],
)
def test_a_session_that_ends_early_raises_with_its_code(
    emulator_factory: Callable[..., EmulatorProcess],
    flags: tuple[str, ...],
    code: str,
    retryable: bool,
) -> None:
    faulty = emulator_factory(*flags)

    async def go() -> None:
        client = RealtimeClient(faulty.api_key, url=faulty.realtime_url)
        async with client.connect() as session:
            await measure(session, pcm(1.0))

    with pytest.raises(HumeClientException) as err:
        run(go())
    assert (err.value.code, err.value.retryable) == (code, retryable)


def test_an_idle_session_is_closed_by_the_service(
    emulator_factory: Callable[..., EmulatorProcess],
) -> None:
    idle = emulator_factory("--idle-timeout", "0.3")

    async def go() -> None:
        client = RealtimeClient(idle.api_key, url=idle.realtime_url)
        async with client.connect() as session:
            async for _ in session.events():
                pass

    with pytest.raises(HumeClientException) as err:
        run(go())
    assert err.value.code == RealtimeCode.IDLE_TIMEOUT and err.value.retryable


def test_the_per_key_cap_refuses_the_next_session_retryably(
    emulator_factory: Callable[..., EmulatorProcess],
) -> None:
    capped = emulator_factory("--max-connections-per-key", "1")

    async def go() -> None:
        client = RealtimeClient(capped.api_key, url=capped.realtime_url)
        async with client.connect(), client.connect():
            pass

    with pytest.raises(HumeClientException) as err:
        run(go())
    assert err.value.message == UNEXPECTED_CONNECT and err.value.retryable


def test_a_server_shutdown_is_reported_retryably(
    emulator_factory: Callable[..., EmulatorProcess],
) -> None:
    server = emulator_factory()

    async def go() -> None:
        client = RealtimeClient(server.api_key, url=server.realtime_url)
        async with client.connect() as session:
            await asyncio.to_thread(server.stop)
            async for _ in session.events():
                pass

    with pytest.raises(HumeClientException) as err:
        run(go())
    assert err.value.code == RealtimeCode.SERVER_SHUTDOWN and err.value.retryable


def test_the_key_stays_out_of_debug_logs(
    emulator: EmulatorProcess, caplog: pytest.LogCaptureFixture
) -> None:
    async def go() -> None:
        async with RealtimeClient(
            access_token=emulator.api_key, url=emulator.realtime_url
        ).connect():
            pass

    with caplog.at_level(logging.DEBUG):
        run(go())
    assert emulator.api_key not in caplog.text
