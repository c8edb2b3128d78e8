"""Drives the official `hume-expression-measurement` SDK (0.1.0) against an emulator's v1
realtime endpoint; run by the SDK venv's Python.

Usage: python sdk_v1_script.py BASE_HTTP BASE_WS API_KEY SPEECH_PCM RECONNECT_BASE_WS
Prints one JSON object: what the SDK received or raised.
"""

import asyncio
import json
import sys
import time
from pathlib import Path

from hume_expression_measurement import (
    AsyncExpressionMeasurementClient,
    ExpressionMeasurementClient,
)
from hume_expression_measurement.core.api_error import ApiError
from hume_expression_measurement.environment import ExpressionMeasurementClientEnvironment
from hume_expression_measurement.reconnect import reconnecting
from hume_expression_measurement.types import AudioSessionUpdate, SessionClose

FRAME = 3200  # 100 ms


def environment(http: str, ws: str) -> ExpressionMeasurementClientEnvironment:
    return ExpressionMeasurementClientEnvironment(base=http, production=ws)


def sync_session(http: str, ws: str, key: str, pcm: bytes) -> dict[str, object]:
    client = ExpressionMeasurementClient(api_key=key, environment=environment(http, ws))
    out: dict[str, object] = {}
    with client.audio.connect() as socket:
        out["created"] = socket.recv().dict()
        socket.send_audio_session_update(
            AudioSessionUpdate(type="session.update", measurement_timer_ms=3000)
        )
        out["updated"] = socket.recv().dict()
        for start in range(0, len(pcm), FRAME):
            socket.send_audio_frame(pcm[start : start + FRAME])
            time.sleep(0.1)
        socket.send_audio_session_close(SessionClose(type="session.close"))
        out["messages"] = [message.dict() for message in socket]
    return out


async def bad_key(http: str, ws: str) -> dict[str, object]:
    client = AsyncExpressionMeasurementClient(api_key="wrong", environment=environment(http, ws))
    try:
        async with client.audio.connect():
            return {"connected": True}
    except ApiError as exc:
        return {"status": exc.status_code, "body": exc.body}


async def reconnect(http: str, ws: str, key: str, pcm: bytes) -> list[str]:
    """The first session fails with internal_error on its first frame; the helper opens a
    new one and sends it the last session.update; that one is closed normally."""
    client = AsyncExpressionMeasurementClient(api_key=key, environment=environment(http, ws))
    seen: list[str] = []
    async with reconnecting(client.audio) as socket:
        await socket.send_audio_session_update(
            AudioSessionUpdate(type="session.update", measurement_timer_ms=4000)
        )
        await socket.send_audio_frame(pcm[:FRAME])
        async for message in socket:
            seen.append(f"{message.type}:{getattr(message, 'measurement_timer_ms', '')}")
            if message.type == "session.updated" and seen.count("session.created:3000") == 2:
                await socket.send_audio_frame(pcm[:FRAME])
                await socket.send_audio_session_close(SessionClose(type="session.close"))
            if message.type == "session.closed" and message.reason == "client_request":
                break
    return seen


def main() -> None:
    http, ws, key, speech, reconnect_ws = sys.argv[1:]
    pcm = Path(speech).read_bytes()
    out = {
        "sync": sync_session(http, ws, key, pcm),
        "bad_key": asyncio.run(bad_key(http, ws)),
        "reconnect": asyncio.run(
            reconnect(reconnect_ws.replace("ws://", "http://"), reconnect_ws, key, pcm)
        ),
    }
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
