"""Media pipeline throughput and memory: decode + resample + split + chunk vs the ffmpeg CLI.

1. A 30-minute stereo 8 kHz MP3 call (speech turns on each channel, silence between) is
   made once and cached in the temp directory.
2. Throughput: `stream_chunks` over it (decode, resample to 16 kHz, split channels, cut
   into ≤ 5 s WAV payloads) against `ffmpeg` doing the same conversion (decode, resample
   to 16 kHz, split the channels into two WAV files), in the same run. Figures are audio
   seconds per CPU second ("x realtime per core"); the best of `--repeat` runs counts.
3. Memory: peak RSS of a fresh process that chunks a 2-hour file vs one that chunks a
   1-minute file (both cut from the same call with `ffmpeg -c copy`).

Run: .venv/bin/python bench/media_throughput.py [--repeat 3] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from samples import synth
from worker.media import stream_chunks

CACHE = Path(tempfile.gettempdir()) / "hume-fleet-bench"
SOURCE_RATE = 8000
CALL_MINUTES = 30
GOAL_XRT = 1000.0
GOAL_VS_FFMPEG = 0.8
GOAL_RSS_RATIO = 1.2

TURNS = [
    (0, "thank you for calling, this is the billing desk, how can I help you today"),
    (1, "hi, I was charged twice for my subscription this month and I would like a refund"),
    (0, "I am sorry to hear that, let me look up your account, one moment please"),
    (1, "sure, my account number is four five six seven, it is under my name"),
]


def minute_of_call() -> np.ndarray:
    """60 s of stereo call at 8 kHz: turns alternate between channels, pauses between."""
    out = synth.silence(60, SOURCE_RATE, channels=2)
    turns = [(channel, synth.speak(text, SOURCE_RATE)[0]) for channel, text in TURNS]
    at = round(0.5 * SOURCE_RATE)
    while True:
        for channel, speech in turns:
            if at + speech.size > out.shape[1]:
                return out
            out[channel, at : at + speech.size] = speech
            at += speech.size + round(1.5 * SOURCE_RATE)


def make_call(path: Path, minutes: int) -> Path:
    """Encode `minutes` of the one-minute pattern as a stereo 8 kHz MP3, block by block."""
    if path.exists():
        return path
    minute = minute_of_call()
    partial = path.with_suffix(".part.mp3")
    with av.open(str(partial), "w", format="mp3") as container:
        stream = container.add_stream("libmp3lame", rate=SOURCE_RATE, layout="stereo")
        stream.bit_rate = 32_000
        pts = 0
        for _ in range(minutes):
            for start in range(0, minute.shape[1], 4608):
                block = np.ascontiguousarray(minute[:, start : start + 4608])
                frame = av.AudioFrame.from_ndarray(block, format="fltp", layout="stereo")
                frame.rate, frame.pts, frame.time_base = SOURCE_RATE, pts, Fraction(1, SOURCE_RATE)
                pts += block.shape[1]
                container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    partial.rename(path)
    return path


def ffmpeg_copy(source: Path, target: Path, before: list[str], after: list[str]) -> Path:
    """Copy (no re-encoding) `source` to `target` with input options `before`, output
    options `after`: how the 1-minute and 2-hour files are cut from the 30-minute call."""
    if not target.exists():
        ffmpeg(*before, "-i", str(source), *after, "-c", "copy", str(target))
    return target


def ffmpeg(*args: str) -> None:
    binary = shutil.which("ffmpeg")
    if binary is None:
        sys.exit("ffmpeg is needed for the baseline: apt-get install ffmpeg")
    subprocess.run([binary, "-v", "error", "-y", *args], check=True, timeout=600)


def cpu_seconds(children: bool = False) -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(run: Callable[[], object], children: bool = False) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one call to `run`."""
    cpu0, wall0 = cpu_seconds(children), time.perf_counter()
    run()
    return cpu_seconds(children) - cpu0, time.perf_counter() - wall0


def chunk_file(path: Path) -> tuple[int, int, float]:
    """Chunk the whole file; (chunks, skipped spans, seconds decoded)."""
    with stream_chunks(str(path)) as media:
        chunks = sum(1 for _ in media)
        return chunks, len(media.skipped), media.duration_s


def ffmpeg_split(path: Path, out: Path) -> None:
    ffmpeg(
        "-threads", "1", "-i", str(path),
        "-filter_complex", "[0:a]aresample=16000,channelsplit=channel_layout=stereo[l][r]",
        "-map", "[l]", "-c:a", "pcm_s16le", str(out / "agent.wav"),
        "-map", "[r]", "-c:a", "pcm_s16le", str(out / "customer.wav"),
    )  # fmt: skip


def peak_rss_kib(path: Path) -> tuple[int, float]:
    """(ru_maxrss in KiB, seconds decoded) of a fresh process that chunks `path`."""
    done = subprocess.run(
        [sys.executable, __file__, "--rss-child", str(path)],
        check=True,
        capture_output=True,
        text=True,
        timeout=900,
    )
    rss, decoded = done.stdout.split()[-2:]
    return int(rss), float(decoded)


def throughput(call: Path, repeat: int, profile: bool) -> None:
    audio_s = CALL_MINUTES * 60.0
    chunks, skipped, decoded = chunk_file(call)  # warm caches, and the counts to print
    ours = min((measure(lambda: chunk_file(call)) for _ in range(repeat)), key=lambda m: m[0])
    with tempfile.TemporaryDirectory(prefix="bench-ffmpeg-") as out:
        theirs = min(
            (measure(lambda: ffmpeg_split(call, Path(out)), children=True) for _ in range(repeat)),
            key=lambda m: m[0],
        )
    ours_xrt, theirs_xrt = audio_s / ours[0], audio_s / theirs[0]
    print(f"input: {call.name}, {audio_s / 60:.0f} min stereo {SOURCE_RATE} Hz MP3")
    print(f"pipeline output: {chunks} chunks, {skipped} skipped spans, {decoded:.1f} s decoded")
    print("run                           cpu s   wall s   x realtime/core")
    print(f"worker.media stream_chunks  {ours[0]:7.2f}  {ours[1]:7.2f}   {ours_xrt:10.0f}")
    print(f"ffmpeg CLI (split to WAV)   {theirs[0]:7.2f}  {theirs[1]:7.2f}   {theirs_xrt:10.0f}")
    print(
        f"ratio vs ffmpeg: {ours_xrt / theirs_xrt:.2f} (goal >= {GOAL_VS_FFMPEG}); "
        f"x realtime {ours_xrt:.0f} (goal >= {GOAL_XRT:.0f})"
    )
    if profile:
        profiler = cProfile.Profile()
        profiler.runcall(chunk_file, call)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(15)


def memory(call: Path) -> None:
    short = ffmpeg_copy(call, CACHE / "call-1min.mp3", [], ["-t", "60"])
    long = ffmpeg_copy(call, CACHE / "call-120min.mp3", ["-stream_loop", "3"], [])
    (rss_short, short_s), (rss_long, long_s) = peak_rss_kib(short), peak_rss_kib(long)
    print("file        decoded     peak RSS")
    print(f"1 minute   {short_s:7.0f} s  {rss_short / 1024:7.1f} MiB")
    print(f"2 hours    {long_s:7.0f} s  {rss_long / 1024:7.1f} MiB")
    print(f"ratio: {rss_long / rss_short:.2f} (goal <= {GOAL_RSS_RATIO})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one run")
    parser.add_argument("--rss-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        decoded = chunk_file(args.rss_child)[2]
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, decoded)
        return
    CACHE.mkdir(exist_ok=True)
    call = make_call(CACHE / f"call-{CALL_MINUTES}min-stereo-8k.mp3", CALL_MINUTES)
    throughput(call, args.repeat, args.profile)
    memory(call)


if __name__ == "__main__":
    main()
