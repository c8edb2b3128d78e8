"""v1 backend: throughput of one worker process, and billed seconds with silence skipping.

1. Audio seconds measured per wall second by ONE worker process running S jobs at once
   (S = 1, 8, 32; each job a mono recording of 10 s of continuous speech, so one session
   each), through the worker's own v1 path (`worker.v1.pipeline.run_job_v1`: decode, chunk,
   one realtime session per channel on the process's one event loop), against an emulator
   process that enforces real-time pacing (burst 500 ms). A session cannot go faster than
   real time, so S sessions give at most S audio seconds per second: the goal is ≥ 0.9 x S.
2. Billed seconds per call second on the bundled samples (stereo calls), one session per
   channel, silence not streamed, each session billed at least 10 s; against streaming
   every channel whole. A synthetic 2-minute call shows where skipping pays off.

Run: .venv/bin/python bench/v1_throughput.py [--sessions 1 8 32] [--speech-s 10] [--no-long-call]
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from tempfile import TemporaryDirectory

import av
import numpy as np
import redis
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hume_stream.limits import MIN_BILLED_SECONDS
from samples import synth
from tests.support.emulator import EmulatorProcess
from worker.jobs import Job, SourceIdentity
from worker.limiter import ConnectionLimiter
from worker.runner import SocketRunner
from worker.runtime import Runtime
from worker.settings import FleetSettings
from worker.v1.pipeline import run_job_v1

ROOT = Path(__file__).resolve().parents[1]
RATE = 16_000
SPEECH_S = 10.0
SESSIONS = (1, 8, 32)
TEXT = (
    "Thank you for calling the billing line. I can see two charges on your account this "
    "month, and I will refund the second one right away. Is there anything else today?"
)


def continuous_speech(path: Path, seconds: float) -> Path:
    """`seconds` of speech with no pause long enough to be skipped."""
    speech = synth.speak(TEXT, RATE)[0]
    reps = int(np.ceil(seconds * RATE / speech.size))
    samples = np.tile(speech, reps)[: int(seconds * RATE)]
    return synth.write(path, samples[np.newaxis, :], RATE)


def long_call(path: Path) -> Path:
    """A 2-minute stereo call: each side speaks in turns, about 40% of the time each."""
    lines = [synth.Utterance(i % 2, 2.0 + 6.0 * i, TEXT[:60]) for i in range(19)]
    return synth.write(path, synth.call(lines, 120.0, 8000, 2), 8000)


def runtime(emulator: EmulatorProcess, sessions: int) -> Runtime:
    settings = FleetSettings(
        hume_api="v1",
        hume_api_key=SecretStr(emulator.api_key),
        hume_realtime_url=emulator.realtime_url,
        fleet_v1_sessions_per_process=sessions * 2,
    )

    async def no_v0_stream() -> None:
        raise RuntimeError("the v1 bench opens no v0 stream")

    runner = SocketRunner(no_v0_stream)  # type: ignore[arg-type]
    runner.start()
    # No store (results are not written) and no cap: the limiter never calls Redis.
    uncapped = ConnectionLimiter(redis.Redis(), cap=0)
    return Runtime(settings, None, uncapped, runner, "bench")  # type: ignore[arg-type]


def job(path: Path, n: int) -> Job:
    return Job(
        job_id=f"bench-{n}",
        batch_id="bench",
        source=SourceIdentity(uri=str(path)),
        models={"prosody": {}},
        submitted_at=time.time(),
    )


def run_jobs(rt: Runtime, paths: list[Path]) -> float:
    """Run the jobs at once on this process (one thread each, like the threads pool); the
    wall seconds it took."""
    started = time.monotonic()
    with ThreadPoolExecutor(len(paths)) as pool:
        results = list(pool.map(lambda a: run_job_v1(job(a[1], a[0]), rt, 1, time.time()),
                                enumerate(paths)))  # fmt: skip
    assert all(r.status.value == "done" for r in results)
    return time.monotonic() - started


def sessions_since(emulator: EmulatorProcess, seen: int) -> list[dict[str, object]]:
    return [e for e in emulator.events() if e["event"] == "session"][seen:]


def duration_s(path: Path) -> tuple[float, int]:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        duration, time_base = stream.duration, stream.time_base
        assert duration is not None and time_base is not None, path
        return float(duration * time_base), stream.codec_context.channels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=list(SESSIONS))
    parser.add_argument("--speech-s", type=float, default=SPEECH_S, help="audio per session")
    parser.add_argument(
        "--no-long-call", action="store_true", help="bill the bundled calls only (faster)"
    )
    args = parser.parse_args()
    with TemporaryDirectory() as tmp, EmulatorProcess("--realtime-burst-ms", "500") as emulator:
        rt = runtime(emulator, max(args.sessions))
        speech = continuous_speech(Path(tmp) / "speech.wav", args.speech_s)
        seen = 0
        print(f"one worker process, {args.speech_s:.0f} s of speech per session, "
              "real-time pacing")  # fmt: skip
        print(f"{'S':>3} {'audio s':>8} {'wall s':>7} {'audio s/s':>10} {'goal 0.9xS':>11} "
              f"{'ratio to S':>11}")  # fmt: skip
        for sessions in args.sessions:
            wall = run_jobs(rt, [speech] * sessions)
            done = sessions_since(emulator, seen)
            seen += len(done)
            audio = sum(float(str(e["audio_ms"])) for e in done) / 1000
            rate = audio / wall
            print(f"{sessions:>3} {audio:>8.1f} {wall:>7.2f} {rate:>10.2f} {0.9 * sessions:>11.1f} "
                  f"{rate / sessions:>11.3f}")  # fmt: skip

        print("\nbilled seconds per call second (one session per channel, 10 s minimum each)")
        print(f"{'call':<22} {'call s':>6} {'ch':>3} {'streamed s':>10} {'billed s':>9} "
              f"{'per call s':>10} {'whole, per call s':>18}")  # fmt: skip
        calls = sorted(ROOT.glob("samples/calls/*-call.*"))
        if not args.no_long_call:
            calls.append(long_call(Path(tmp) / "long.wav"))
        totals = [0.0, 0.0, 0.0]
        for call in calls:
            run_jobs(rt, [call])
            done = sessions_since(emulator, seen)
            seen += len(done)
            seconds, channels = duration_s(call)
            streamed = sum(float(str(e["audio_ms"])) for e in done) / 1000
            billed = sum(max(MIN_BILLED_SECONDS, float(str(e["audio_ms"])) / 1000) for e in done)
            whole = channels * max(MIN_BILLED_SECONDS, seconds)
            totals = [totals[0] + seconds, totals[1] + billed, totals[2] + whole]
            print(f"{call.name:<22} {seconds:>6.1f} {channels:>3} {streamed:>10.1f} {billed:>9.1f} "
                  f"{billed / seconds:>10.2f} {whole / seconds:>18.2f}")  # fmt: skip
        print(f"{'all':<22} {totals[0]:>6.1f} {'':>3} {'':>10} {totals[1]:>9.1f} "
              f"{totals[1] / totals[0]:>10.2f} {totals[2] / totals[0]:>18.2f}")  # fmt: skip
        rt.runner.stop()


if __name__ == "__main__":
    main()
