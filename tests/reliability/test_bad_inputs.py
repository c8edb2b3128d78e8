"""A matrix of bad and odd inputs, through the real `producer` and a real worker.

Producer side: what `producer submit` refuses, each with exit code 2 (bad input) or 1 (the
store refused access), a message naming what was wrong, and nothing enqueued.

Worker side, one batch for speed: local files and S3 objects submitted by `producer
submit`, two of them deleted after it (missing objects), one in a bucket the worker may not
read, and messages the producer would never send (an old or a newer producer: unknown
schemes and models). Each ends in the state it owes, with a clear error naming the file;
the worker's processes are the same ones before and after; the good file is done.

Rejected API key: the job is held (not failed, not counted), its state says why.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict
from urllib.parse import unquote

import pytest

from tests.reliability.bad_media import LOCAL, SPEECH, BadMedia, call_wav, html_page
from tests.reliability.support import assert_settled, live_children, wait_for_pool
from tests.support.emulator import EmulatorProcess
from tests.support.fleet import Fleet
from tests.support.media import MediaFactory
from tests.support.redis_server import private_redis
from tests.support.s3 import create_user_with_policy, iam_enforced, s3_client
from tests.support.worker import WorkerProcess
from worker.jobs import Job, JobOptions, Result, SourceIdentity, State, job_id_for

pytestmark = pytest.mark.reliability

BATCH = "matrix"
BUCKET = "rel-matrix"
PRIVATE = "rel-private"
MODELS: dict[str, dict[str, object]] = {"prosody": {}, "burst": {}}


@dataclass(frozen=True)
class Direct:
    """A message the producer would refuse to send, sent to the queue as it is."""

    id: str
    uri: str
    state: State
    code: str
    says: str
    models: dict[str, dict[str, object]] = field(default_factory=lambda: dict(MODELS))


#: S3 objects below s3://rel-matrix/in/ (keys kept verbatim), and what they owe.
S3_OBJECTS: tuple[BadMedia, ...] = (
    BadMedia("s3-unicode-key", "звонок café 日本.wav", call_wav, State.DONE),
    BadMedia("s3-percent-key", "a%20b%2Fc.wav", call_wav, State.DONE),
    BadMedia("s3-plus-and-space-key", "a+b c.wav", call_wav, State.DONE),
    BadMedia("s3-corrupt-object", "corrupt.mp3", html_page, State.FAILED, "corrupt", "FFmpeg"),
    BadMedia(
        "s3-missing-object", "vanished.wav", call_wav, State.FAILED, "not_found", "no such file"
    ),
)
#: Deleted after `producer submit` listed them.
VANISHED_LOCAL = BadMedia(
    "missing-file", "vanished.wav", call_wav, State.FAILED, "not_found", "no such file"
)
DENIED = BadMedia(
    "denied-bucket", "call.wav", call_wav, State.FAILED, "permission_denied", "denied"
)
DIRECT: tuple[Direct, ...] = (
    Direct("unknown-scheme", "foo://calls/x.wav", State.FAILED, "not_found", "Protocol not known"),
    Direct("malformed-uri", "s3://", State.FAILED, "not_found", "not a file"),
    Direct("bad-bucket-name", "s3://Calls_2026!/x.wav", State.FAILED, "not_found",
           'Invalid bucket name "Calls_2026!"'),
    Direct("ftp-refused", "ftp://127.0.0.1:1/x.wav", State.DEAD, "unavailable", "refused"),
    Direct("http-refused", "http://127.0.0.1:1/x.wav", State.DEAD, "unavailable", "Cannot connect"),
    Direct("empty-file", "{dir}/empty.wav", State.FAILED, "empty_file", "0 bytes"),
    Direct("unknown-model", "{good}", State.FAILED, "invalid_job", "'colour'", {"colour": {}}),
    Direct("ner-requested", "{good}", State.FAILED, "invalid_job", "NerConfig", {"ner": {}}),
    Direct("language-model-on-audio", "{good}", State.FAILED, "E0102", "language",
           {"language": {}}),
    Direct("face-model-on-audio", "{good}", State.FAILED, "E0102", "'face'", {"face": {}}),
    Direct("text-with-language-model", "{dir}/transcript.txt", State.FAILED, "corrupt",
           "transcript.txt", {"language": {}}),
)  # fmt: skip
WORKER_CASES: list[BadMedia | Direct] = [*LOCAL, VANISHED_LOCAL, *S3_OBJECTS, DENIED, *DIRECT]
#: Local names the producer turns into file:// URIs without percent-encoding them, which the
#: worker then decodes ('%20' becomes a space, '#' starts a fragment): reported, not fixed here.
GOOD = "good-call.wav"


@dataclass(frozen=True)
class Rejection:
    """A submit the producer must refuse: its arguments, exit code and message."""

    id: str
    args: tuple[str, ...]
    exit_code: int
    says: str


REJECTIONS: tuple[Rejection, ...] = (
    Rejection("wrong-scheme", ("ftp://calls/2026", "-m", "prosody"), 2, "unsupported scheme 'ftp'"),
    Rejection("malformed-uri", ("s3:/calls/2026", "-m", "prosody"), 2, "malformed URI"),
    Rejection("no-bucket-name", ("s3://", "-m", "prosody"), 2, "no bucket name"),
    Rejection("bad-bucket-name", ("s3://Calls_2026!/x", "-m", "prosody"), 2, "not a bucket name"),
    Rejection("missing-bucket", ("s3://rel-no-such-bucket/x", "-m", "prosody"), 2,
              "no such bucket"),
    Rejection("missing-prefix", (f"s3://{BUCKET}/no-such/prefix", "-m", "prosody"), 2,
              "nothing found at"),
    Rejection("missing-local-path", ("/nonexistent/calls", "-m", "prosody"), 2, "nothing found"),
    Rejection("credentials-in-uri", ("s3://key:secret@calls/x", "-m", "prosody"), 2,
              "credentials do not belong in the URI"),
    Rejection("unknown-model", ("{good}", "-m", "colour"), 2, "Unknown model type 'colour'"),
    Rejection("ner-requested", ("{good}", "-m", "ner"), 2, "only by the batch API"),
    Rejection("empty-models", ("{good}", "-m", " , "), 2, "--models is empty"),
    Rejection("batch-only-config", ("{good}", "-c", "{config}"), 2, "only available"),
    Rejection("text-with-language-model", ("{text}", "-m", "language"), 2,
              "no media files found"),
    Rejection("bad-batch-name", ("{good}", "-m", "prosody", "-b", "a b"), 2, "bad batch name"),
    Rejection("priority-out-of-range", ("{good}", "-m", "prosody", "--priority", "12"), 2,
              "out of range"),
)  # fmt: skip


@dataclass
class Matrix:
    """What the producer and the worker did with the whole matrix."""

    fleet: Fleet
    worker: WorkerProcess
    jobs: dict[str, Job]
    results: dict[str, Result]
    pids_before: set[int]
    pids_after: set[int]
    submitted: dict[str, object]
    status: dict[str, object]
    csv: str
    rejections: dict[str, tuple[int, str, int]]
    denied_listing: tuple[int, str]
    held: dict[str, str]


def _make_local(media: MediaFactory, directory: Path) -> None:
    directory.mkdir()
    for case in [*LOCAL, VANISHED_LOCAL]:
        case.make(media, directory / case.name)
    (directory / GOOD).write_bytes(media.call(SPEECH, seconds=4.0, channels=1).read_bytes())
    (directory / "empty.wav").write_bytes(b"")


class Credentials(TypedDict):
    """An S3 user's keys, as the environment of a producer or a worker."""

    AWS_ACCESS_KEY_ID: str
    AWS_SECRET_ACCESS_KEY: str


def _make_s3(media: MediaFactory, endpoint: str, scratch: Path) -> Credentials:
    """The objects, and credentials of a user who may read rel-matrix but not rel-private."""
    s3 = s3_client(endpoint)
    for bucket, cases in ((BUCKET, S3_OBJECTS), (PRIVATE, (DENIED,))):
        s3.create_bucket(Bucket=bucket)
        for case in cases:
            path = scratch / f"{case.id}.bin"
            case.make(media, path)
            s3.put_object(Bucket=bucket, Key=f"in/{case.name}", Body=path.read_bytes())
    reader = create_user_with_policy(
        endpoint,
        "rel-matrix-reader",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:ListBucket"],
                    "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
                }
            ],
        },
    )
    return {
        "AWS_ACCESS_KEY_ID": reader["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": reader["aws_secret_access_key"],
    }


def _direct_jobs(fleet: Fleet, directory: Path) -> dict[str, Job]:
    (directory / "transcript.txt").write_text("I was charged twice on my bill. " * 4000)
    jobs = {}
    for case in DIRECT:
        uri = case.uri.format(dir=directory, good=directory / GOOD)
        size = Path(uri).stat().st_size if Path(uri).exists() else None
        source = SourceIdentity(uri=uri, size=size)
        # built without validation: these are the messages a producer would refuse to send
        jobs[case.id] = Job.model_construct(
            job_id=job_id_for(source, case.models, JobOptions()),
            batch_id=BATCH,
            source=source,
            models=case.models,
            options=JobOptions(),
            submitted_at=time.time(),
        )
    return jobs


def _rejections(fleet: Fleet, directory: Path, scratch: Path) -> dict[str, tuple[int, str, int]]:
    """Each refused submit: (exit code, stderr, messages in the queue afterwards)."""
    (scratch / "texts").mkdir()
    (scratch / "texts" / "transcript.txt").write_text("words " * 20000)
    config = scratch / "batch-only.yaml"
    config.write_text("prosody:\n  window: {length: 4}\n")
    names = {"{good}": str(directory / GOOD), "{text}": str(scratch / "texts"),
             "{config}": str(config)}  # fmt: skip
    out = {}
    for case in REJECTIONS:
        args = [names.get(a, a) for a in case.args]
        if "-b" not in args:
            args += ["-b", "matrix-refused"]
        done = fleet.producer("submit", *args)
        out[case.id] = (done.returncode, done.stderr, fleet.client.llen(fleet.queue))
    return out


@pytest.fixture(scope="module")
def matrix(
    media: MediaFactory, s3_endpoint: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Matrix]:
    workdir = tmp_path_factory.mktemp("matrix")
    local = workdir / "calls"
    _make_local(media, local)
    reader = _make_s3(media, s3_endpoint, workdir)
    with private_redis() as redis_server, EmulatorProcess() as emulator:
        fleet = Fleet(redis_server.url, emulator, workdir)
        try:
            rejections = _rejections(fleet, local, workdir)
            submitted = fleet.producer(
                "submit", str(local), f"s3://{BUCKET}/in", f"s3://{PRIVATE}/in",
                "-m", "prosody,burst", "-b", BATCH, "--json",
            )  # fmt: skip
            assert submitted.returncode == 0, submitted.stderr
            # listed, then gone before a worker reads them
            (local / VANISHED_LOCAL.name).unlink()
            s3_client(s3_endpoint).delete_object(Bucket=BUCKET, Key="in/vanished.wav")
            direct = _direct_jobs(fleet, local)
            fleet.submit(list(direct.values()))

            with iam_enforced(s3_endpoint):
                denied = fleet.producer("submit", f"s3://{PRIVATE}/in", "-m", "prosody", **reader)
                worker = fleet.start_worker(
                    concurrency=2, FLEET_MAX_ATTEMPTS="2", AWS_ENDPOINT_URL=s3_endpoint, **reader
                )
                pids_before = {worker.pid, *wait_for_pool(worker, 2)}
                status = fleet.producer("status", BATCH, "--watch", "--json", "--interval",
                                        "0.5", "--timeout", "120")  # fmt: skip
                assert status.returncode == 0, status.stderr + worker.logs()[-4000:]
                pids_after = {worker.pid, *live_children(worker)}
            exported = fleet.producer("results", BATCH, "--format", "csv")
            assert exported.returncode == 0, exported.stderr

            jobs = {**_listed_jobs(fleet, {j.job_id for j in direct.values()}), **direct}
            results = assert_settled(fleet, BATCH, list(jobs.values()))
            yield Matrix(
                fleet=fleet,
                worker=worker,
                jobs=jobs,
                results={case: results[job.job_id] for case, job in jobs.items()},
                pids_before=pids_before,
                pids_after=pids_after,
                submitted=json.loads(submitted.stdout),
                status=json.loads(status.stdout.splitlines()[-1]),
                csv=exported.stdout,
                rejections=rejections,
                denied_listing=(denied.returncode, denied.stderr),
                held=_held_with_a_rejected_key(redis_server.url, emulator, workdir, local),
            )
        finally:
            fleet.stop()


def _listed_jobs(fleet: Fleet, direct: set[str]) -> dict[str, Job]:
    """The jobs `producer submit` made, by matrix case (matched on the file's name)."""
    ids = sorted(set().union(*(fleet.store.job_ids(BATCH, s) for s in State)) - direct)
    by_name = {}
    jobs, unreadable = fleet.store.jobs(ids)
    assert len(jobs) == len(ids) and not unreadable, unreadable
    for job in jobs:
        scheme, name = job.uri.split("://")[0], job.uri.rsplit("/", 1)[1]
        # Local paths travel percent-encoded in file:// URIs; object keys verbatim.
        by_name[(scheme, unquote(name) if scheme == "file" else name)] = job
    cases = {}
    for case in [*LOCAL, VANISHED_LOCAL]:
        cases[case.id] = by_name.pop(("file", case.name))
    for case in [*S3_OBJECTS, DENIED]:
        cases[case.id] = by_name.pop(("s3", case.name))
    cases["good-file"] = by_name.pop(("file", GOOD))
    return cases


def _held_with_a_rejected_key(
    redis_url: str, emulator: EmulatorProcess, workdir: Path, local: Path
) -> dict[str, str]:
    """A worker whose API key the service rejects: its job's state, once it was tried."""
    fleet = Fleet(redis_url, emulator, workdir)
    try:
        worker = fleet.start_worker(concurrency=1, HUME_API_KEY="not-the-key")
        pool = wait_for_pool(worker, 1)
        jobs = fleet.jobs_for([local / GOOD], "matrix-key")
        fleet.submit(jobs)
        deadline = time.monotonic() + 60
        while not (state := fleet.store.job_state(jobs[0].job_id)).get("error_code"):
            assert time.monotonic() < deadline, (state, worker.logs()[-3000:])
            time.sleep(0.1)
        assert live_children(worker) == pool
        return state
    finally:
        fleet.stop()


# ------------------------------------------------------------------------ producer side


@pytest.mark.parametrize("case", REJECTIONS, ids=[c.id for c in REJECTIONS])
def test_producer_refuses_with_a_clear_error_and_enqueues_nothing(
    matrix: Matrix, case: Rejection
) -> None:
    code, stderr, queued = matrix.rejections[case.id]
    assert code == case.exit_code, stderr
    assert case.says in stderr, stderr
    assert "Traceback" not in stderr
    assert queued == 0


def test_producer_refuses_a_bucket_it_may_not_list(matrix: Matrix) -> None:
    code, stderr = matrix.denied_listing
    assert code == 1 and f"access denied listing s3://{PRIVATE}/in" in stderr, stderr
    assert "Traceback" not in stderr


def test_producer_submit_reports_the_empty_file_it_left_out(matrix: Matrix) -> None:
    listed = len(LOCAL) + 3 + len(S3_OBJECTS) + 1  # + vanished, good, empty; the private call
    assert matrix.submitted["listed"] == listed, matrix.submitted
    assert matrix.submitted["enqueued"] == listed - 1
    assert matrix.submitted["rejected"] == {"empty file (0 bytes)": 1}


# ------------------------------------------------------------------------ worker side


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in WORKER_CASES])
def test_each_bad_input_ends_with_the_outcome_it_owes(
    matrix: Matrix, case: BadMedia | Direct
) -> None:
    result = matrix.results[case.id]
    job = matrix.jobs[case.id]
    assert (result.status, result.error.code if result.error else None) == (
        case.state,
        case.code,
    ), result.error
    state = matrix.fleet.store.job_state(job.job_id)
    if case.state is State.DONE:
        assert result.duration_s is not None and result.channels, result
        if case.says:
            assert any(case.says in w for w in result.warnings), result.warnings
        return
    assert result.error is not None
    message = result.error.message
    assert case.says in message, message
    assert case.code is not None
    # the error names the file (jobs with an unusable Job have only their id to go by)
    if case.code != "invalid_job" and not case.code.startswith("E0"):
        assert Path(job.uri).name in message or job.uri.rstrip("/") in message, message
    assert (state["error_code"], state["error"]) == (result.error.code, message)


def test_good_input_beside_them_is_done(matrix: Matrix) -> None:
    result = matrix.results["good-file"]
    assert result.status is State.DONE and result.attempts == 1
    assert result.channels[0].summary["prosody"].segments >= 1


def test_no_worker_process_crashed(matrix: Matrix) -> None:
    assert matrix.pids_before == matrix.pids_after
    assert "exited with 'signal" not in matrix.worker.logs()


def test_the_batch_completes_and_exports(matrix: Matrix) -> None:
    counts = matrix.status["counts"]
    expected = {s.value: 0 for s in State}
    for case in WORKER_CASES:
        expected[case.state.value] += 1
    expected["done"] += 1  # the good file
    assert counts == expected, counts
    assert matrix.status["complete"] is True
    rows = matrix.csv.splitlines()
    assert len({r.split(",")[0] for r in rows[1:]}) == len(matrix.jobs)


def test_a_rejected_api_key_holds_the_job_with_its_reason(matrix: Matrix) -> None:
    held = matrix.held
    assert held["state"] == "queued" and held["error_code"] == "auth", held
    assert "invalid API key" in held["error"]
    assert held["attempts"] == "0"  # given back: not the job's fault
