"""What `hume_stream` adds to a round trip, against a bare `websockets` client.

Starts a real emulator process (no injected latency), makes a 5 s 16 kHz mono speech WAV,
then on two connections to the same emulator times N round trips of that payload, the
calls interleaved (order alternating each round so drift hits both alike):

* bare:        `websockets` JSON-encodes the SDK's message (base64 pre-encoded), sends it
               and `json.loads` the reply;
* send_bytes:  `StreamSocket.send_bytes` with the same pre-encoded base64;
* send_file:   `StreamSocket.send_file` (reads and encodes the file each time);
* predict_bytes: the typed path (raw bytes, payload_id, pydantic-parsed reply).

Both connections use the same transport settings (no compression, 64 MiB max message), so
the ratio is the client's own cost: limit checks (WAV header), encoding, the lock, reply
parsing. Prints mean and median per variant and the ratio of each to bare.

Run: .venv/bin/python bench/client_overhead.py [--rounds 200]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hume_stream import HumeStreamClient
from hume_stream.limits import MAX_RESPONSE_BYTES
from hume_stream.models.config import BurstConfig, ProsodyConfig
from samples import synth
from tests.support.emulator import EmulatorProcess

RATE = 16_000
SECONDS = 5.0
KEY = "bench-key"
WARMUP = 3


def make_wav(directory: Path) -> Path:
    """A 5 s speech WAV: one espeak-ng phrase repeated with short pauses."""
    speech = synth.speak("thanks for calling, how can I help you today", RATE)[0]
    unit = np.concatenate([speech, np.zeros(RATE // 4, dtype=np.float32)])
    n = int(SECONDS * RATE)
    samples = np.tile(unit, n // unit.size + 1)[:n][np.newaxis, :]
    return synth.write(directory / "speech-5s.wav", samples, RATE, "wav")


async def measure(url: str, wav: Path, raw: bytes, rounds: int) -> dict[str, list[float]]:
    encoded = base64.b64encode(raw)
    configs = [BurstConfig(), ProsodyConfig()]
    text = encoded.decode()
    client = HumeStreamClient(KEY, url=url)
    async with (
        connect(
            url,
            additional_headers={"X-Hume-Api-Key": KEY},
            max_size=MAX_RESPONSE_BYTES,
            compression=None,
        ) as ws,
        client.connect(configs) as socket,
    ):

        async def bare() -> Any:
            # The least any client does per payload: build the message, send, parse.
            message = {"data": text, "models": {"burst": {}, "prosody": {}}, "raw_text": False}
            await ws.send(json.dumps(message))
            return json.loads(await ws.recv())

        variants: dict[str, Callable[[], Awaitable[Any]]] = {
            "bare websockets": bare,
            "send_bytes": lambda: socket.send_bytes(encoded),
            "send_file": lambda: socket.send_file(wav),
            "predict_bytes": lambda: socket.predict_bytes(raw),
        }
        timings: dict[str, list[float]] = {name: [] for name in variants}
        names = list(variants)
        for index in range(WARMUP + rounds):
            order = names if index % 2 == 0 else names[::-1]
            for name in order:
                start = time.perf_counter()
                reply = await variants[name]()
                elapsed = time.perf_counter() - start
                if name == "predict_bytes":
                    assert reply.prosody is not None, reply
                else:
                    assert "prosody" in reply, reply
                if index >= WARMUP:
                    timings[name].append(elapsed)
        return timings


def report(timings: dict[str, list[float]]) -> None:
    base_mean = statistics.fmean(timings["bare websockets"])
    base_median = statistics.median(timings["bare websockets"])
    rounds = len(timings["bare websockets"])
    print(f"{rounds} round trips each, 5 s 16 kHz mono WAV, prosody + burst, interleaved")
    print(f"{'variant':<16} {'mean ms':>8} {'median ms':>10} {'ratio mean':>11} {'ratio med':>10}")
    for name, values in timings.items():
        mean, median = statistics.fmean(values), statistics.median(values)
        print(
            f"{name:<16} {mean * 1000:>8.2f} {median * 1000:>10.2f} "
            f"{mean / base_mean:>11.3f} {median / base_median:>10.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200, help="timed round trips per variant")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, EmulatorProcess(api_keys=(KEY,)) as emulator:
        wav = make_wav(Path(tmp))
        coro = measure(emulator.url, wav, wav.read_bytes(), args.rounds)
        timings = asyncio.run(asyncio.wait_for(coro, 600))
    report(timings)


if __name__ == "__main__":
    main()
