"""Pure parts of the v1 worker path: stream-to-file time mapping, the per-process session
slots, and the models a v1 job may ask for."""

from __future__ import annotations

import threading
import time

import pytest

from worker.failures import Disposition, JobFailure
from worker.jobs import Job, SourceIdentity
from worker.v1.pipeline import _check_models
from worker.v1.sessions import SessionSlots
from worker.v1.timemap import StreamMap

RATE = 16_000


def test_stream_times_map_back_through_the_pieces_sent() -> None:
    stream = StreamMap(RATE)
    stream.add(file_start=2 * RATE, length=RATE)  # file 2-3 s (leading silence skipped)
    stream.add(file_start=3 * RATE, length=RATE // 2)  # a bridge: file 3-3.5 s
    stream.add(file_start=10 * RATE, length=2 * RATE)  # file 10-12 s
    assert stream.samples == 3.5 * RATE
    assert stream.file_seconds(0) == 2.0
    assert stream.file_seconds(999) == pytest.approx(2.999)
    assert stream.file_seconds(1250) == 3.25
    assert stream.file_seconds(1500) == 10.0
    assert stream.file_seconds(3500) == 12.0
    # A window reported a little past the audio runs on from the last piece.
    assert stream.file_seconds(3600) == pytest.approx(12.1)


def test_an_empty_stream_has_no_times() -> None:
    with pytest.raises(ValueError, match="no audio"):
        StreamMap(RATE).file_seconds(0)
    with pytest.raises(ValueError):
        StreamMap(RATE).add(0, 0)


def test_slots_are_taken_all_at_once() -> None:
    slots = SessionSlots(3)
    assert slots.acquire(2) and slots.in_use == 2
    assert not slots.acquire(2, timeout=0.05)  # never takes 1 of 2 and waits for the other
    assert slots.in_use == 2
    got: list[bool] = []
    waiter = threading.Thread(target=lambda: got.append(slots.acquire(2, timeout=10)))
    waiter.start()
    time.sleep(0.05)
    slots.release(2)
    waiter.join(10)
    assert got == [True] and slots.in_use == 2
    with pytest.raises(ValueError, match="FLEET_V1_SESSIONS_PER_PROCESS"):
        slots.acquire(4)
    with pytest.raises(ValueError):
        SessionSlots(0)


def job(models: dict[str, dict[str, object]]) -> Job:
    return Job(
        job_id="j", batch_id="b", source=SourceIdentity(uri="/x.wav"), models=models,
        submitted_at=0.0,
    )  # fmt: skip


def test_audio_models_run_and_others_fail_the_job_clearly() -> None:
    _check_models(job({"prosody": {}, "burst": {}}))
    with pytest.raises(JobFailure) as err:
        _check_models(job({"prosody": {}, "language": {}}))
    assert err.value.disposition is Disposition.FAIL
    assert err.value.error.code == "unsupported_model" and "language" in err.value.error.message
