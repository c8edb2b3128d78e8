"""Enqueue rate of `producer submit` against a naive `apply_async` loop, same broker, same run.

Real parts: a private redis-server (broker and job store), moto's S3 server in a child
process holding N small `.wav` objects under 100 prefixes. The bucket is filled through
the server's in-process backend (a PUT per object over HTTP would take minutes); listing
goes over HTTP like any S3 client's.

Figures (jobs/s):
  listing        S3 listing alone (s3fs over moto), no enqueueing
  submit s3://   the producer end to end: listing pipelined with state claims and publishing
  enqueue        the producer from the same listing held in memory: its own cost
  naive          `process_recording.apply_async(...)` per job (measured on --naive jobs)
  naive + state  a simple producer per job: state lookup, record queued, apply_async

Goal: enqueue >= 5x naive and >= 2 000 jobs/s. moto answers a 1 000-key page in roughly half
a second, so `submit s3://` is bounded by moto's listing, not by the producer.

    .venv/bin/python bench/enqueue_rate.py [--objects 100000] [--naive 5000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from producer.listing import Listed, Lister
from producer.settings import ProducerSettings
from producer.submit import SubmitReport, SubmitRequest, Submitter
from producer.uris import Root, parse_root
from tests.support.net import free_port, wait_for_port
from tests.support.redis_server import private_redis
from tests.support.s3 import DUMMY_ENV

BUCKET = "bench-calls"
MODELS: dict[str, dict[str, Any]] = {"prosody": {}, "burst": {}}
GOAL_RATIO = 5.0
GOAL_RATE = 2000.0


def serve_moto(port: int, objects: int) -> None:
    """Child process: moto's server with the bucket filled in-process; runs until stdin
    closes."""
    import boto3
    from moto.backends import get_backend
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).create_bucket(Bucket=BUCKET)
    backend = get_backend("s3")[DEFAULT_ACCOUNT_ID]["global"]
    for i in range(objects):
        backend.put_object(BUCKET, f"calls/{i % 100:02d}/call-{i:06d}.wav", b"RIFF")
    print("ready", flush=True)
    sys.stdin.read()
    server.stop()


@contextmanager
def moto_child(objects: int) -> Iterator[str]:
    port = free_port()
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve-moto", str(port), "--objects", str(objects)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"moto child did not start (said {line!r})")
        wait_for_port("127.0.0.1", port)
        yield f"http://127.0.0.1:{port}"
    finally:
        if child.stdin is not None:
            child.stdin.close()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(timeout=10)


class RecordedLister(Lister):
    """Replays a listing held in memory, so the enqueue rate is the producer's alone."""

    def __init__(self, settings: ProducerSettings, pages: list[list[Listed]]) -> None:
        super().__init__(settings)
        self.recorded = pages

    def check(self, root: Root) -> None:
        pass

    def pages(self, root: Root, page_size: int) -> Iterator[list[Listed]]:
        yield from self.recorded


def submit(lister: Lister, settings: ProducerSettings, batch: str) -> SubmitReport:
    from producer.cli import publisher_for, store_for

    with publisher_for(settings) as publisher:
        submitter = Submitter(lister, store_for(settings), publisher, settings.producer_chunk_size)
        request = SubmitRequest(roots=[parse_root(f"s3://{BUCKET}")], models=MODELS, batch_id=batch)
        return submitter.submit(request)


def naive(pages: list[list[Listed]], n: int, settings: ProducerSettings, state: bool) -> float:
    """Jobs/s of one `apply_async` per job (with a state lookup and write per job if asked)."""
    from worker.jobs import Job, JobOptions, job_id_for
    from worker.store import JobStore
    from worker.tasks import process_recording

    store = JobStore.from_url(settings.store_url, settings.fleet_result_ttl_s)
    listed = [item for page in pages for item in page][:n]
    started = time.perf_counter()
    for item in listed:
        source = item.identity()
        job_id = job_id_for(source, MODELS, JobOptions())
        job = Job(
            job_id=job_id,
            batch_id="naive",
            source=source,
            models=MODELS,
            submitted_at=time.time(),
        )
        if state:
            if store.states([job_id])[0] is not None:
                continue
            store.mark_queued([job])
        process_recording.apply_async(
            args=(job.model_dump(mode="json"),), queue=settings.fleet_queue
        )
    return len(listed) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--naive", type=int, default=5_000)
    parser.add_argument("--serve-moto", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_moto:
        serve_moto(args.serve_moto, args.objects)
        return

    import redis

    with private_redis() as server, moto_child(args.objects) as endpoint:
        os.environ.update(DUMMY_ENV)
        os.environ.update(
            {"AWS_ENDPOINT_URL": endpoint, "REDIS_URL": server.url, "FLEET_QUEUE": "bench"}
        )
        os.environ.pop("BROKER_URL", None)
        settings = ProducerSettings()
        client = redis.Redis.from_url(server.url)
        print(
            f"{args.objects} objects in s3://{BUCKET} (moto, filled in-process); redis {server.url}"
        )

        started = time.perf_counter()
        pages = list(Lister(settings).pages(parse_root(f"s3://{BUCKET}"), 1000))
        listing = sum(map(len, pages)) / (time.perf_counter() - started)

        report = submit(Lister(settings), settings, "bench-s3")
        assert report.enqueued == args.objects, report
        assert client.llen("bench") == args.objects
        end_to_end = report.enqueued / report.elapsed_s

        client.flushdb()
        report = submit(RecordedLister(settings, pages), settings, "bench-memory")
        assert report.enqueued == args.objects and client.llen("bench") == args.objects
        enqueue = report.enqueued / report.elapsed_s

        client.flushdb()
        bare = naive(pages, args.naive, settings, state=False)
        client.flushdb()
        with_state = naive(pages, args.naive, settings, state=True)
        client.flushdb()

    print(f"{'variant':<16}{'jobs':>8}{'jobs/s':>10}{'vs naive':>10}")
    rows = [
        ("listing", args.objects, listing),
        ("submit s3://", args.objects, end_to_end),
        ("enqueue", args.objects, enqueue),
        ("naive", args.naive, bare),
        ("naive + state", args.naive, with_state),
    ]
    for name, jobs, rate in rows:
        print(f"{name:<16}{jobs:>8}{rate:>10.0f}{rate / bare:>9.1f}x")
    for name, rate in (("enqueue", enqueue), ("submit s3://", end_to_end)):
        ok = rate >= GOAL_RATIO * bare and rate >= GOAL_RATE
        print(
            f"goal {name}: >= {GOAL_RATIO:.0f}x naive and >= {GOAL_RATE:.0f} jobs/s: "
            f"{'met' if ok else 'NOT met'} ({rate / bare:.1f}x, {rate:.0f} jobs/s)"
        )
    print(f"(submit s3:// cannot beat the listing it waits for: {listing:.0f} objects/s)")


if __name__ == "__main__":
    main()
