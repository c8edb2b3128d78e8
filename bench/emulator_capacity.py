"""How many payloads per second the emulator sustains with no injected latency.

Starts a real emulator process, then for 1 and 8 concurrent connections sends 1 s and 5 s
16 kHz mono WAV payloads (speech, prosody + burst) back to back for a fixed time, and prints
payloads/s, audio seconds per wall second, and the ratio to the 1-connection 1 s run.
A `reset_stream` round-trip rate is printed first as the protocol-only baseline.

Run: .venv/bin/python bench/emulator_capacity.py [--seconds 4]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import sys
import time
import wave
from pathlib import Path

import numpy as np
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from samples import synth
from tests.support.emulator import EmulatorProcess

RATE = 16_000
KEY = "bench-key"


def wav_payload(seconds: float) -> str:
    """Base64 of a WAV with speech repeated to fill `seconds` (short pauses between)."""
    speech = synth.speak("thanks for calling, how can I help you today", RATE)[0]
    gap = np.zeros(RATE // 4, dtype=np.float32)
    unit = np.concatenate([speech, gap])
    samples = np.tile(unit, int(seconds * RATE / unit.size) + 1)[: int(seconds * RATE)]
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes((samples * 32767).astype("<i2").tobytes())
    return base64.b64encode(out.getvalue()).decode()


async def drive(url: str, request: str, connections: int, seconds: float) -> int:
    """Send `request` back to back on each connection for `seconds`; total replies."""
    deadline = time.monotonic() + seconds

    async def one() -> int:
        done = 0
        async with connect(url, additional_headers={"X-Hume-Api-Key": KEY}) as ws:
            while time.monotonic() < deadline:
                await ws.send(request)
                reply = json.loads(await ws.recv())
                assert "error" not in reply, reply
                done += 1
        return done

    return sum(await asyncio.gather(*(one() for _ in range(connections))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="duration of each run")
    args = parser.parse_args()
    payloads = {s: wav_payload(s) for s in (1.0, 5.0)}
    with EmulatorProcess(api_keys=(KEY,)) as emulator:
        reset = json.dumps({"reset_stream": True})
        n = asyncio.run(drive(emulator.url, reset, 1, args.seconds))
        print(f"baseline reset_stream round-trips, 1 connection: {n / args.seconds:8.1f}/s")
        print(
            f"{'connections':>11} {'payload':>8} {'payloads/s':>11} {'audio s/s':>10} {'ratio':>6}"
        )
        baseline = None
        for connections in (1, 8):
            for seconds, data in payloads.items():
                request = json.dumps(
                    {"data": data, "models": {"prosody": {}, "burst": {}}, "reset_stream": True}
                )
                n = asyncio.run(drive(emulator.url, request, connections, args.seconds))
                rate = n / args.seconds
                baseline = baseline or rate
                print(
                    f"{connections:>11} {seconds:>7.0f}s {rate:>11.1f} {rate * seconds:>10.1f} "
                    f"{rate / baseline:>6.2f}"
                )


if __name__ == "__main__":
    main()
