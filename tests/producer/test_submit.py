"""`producer submit` in-process against a real moto S3 server and a real Redis."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.producer.conftest import Bucket, ProducerEnv, Run
from worker import keys
from worker.jobs import TASK_NAME, Job, Result, State, Timings


def summary(result_stdout: str) -> dict[str, Any]:
    return json.loads(result_stdout.strip().splitlines()[-1])


def nothing_written(env: ProducerEnv) -> bool:
    return not env.client.keys(f"{keys.PREFIX}*") and not env.messages()


def test_submit_a_bucket_enqueues_one_job_per_media_file(
    run: Run, producer_env: ProducerEnv, calls_bucket: Bucket
) -> None:
    result = run("submit", calls_bucket.uri(), "--models", "prosody,burst", "--batch", "b1")
    assert result.exit_code == 0, result.stderr
    n = len(calls_bucket.media)
    assert f"batch b1: enqueued {n}, skipped 0, rejected 30 (198 objects listed" in result.stdout
    assert "rejected 29: not a media file (extension), e.g. s3://" in result.stdout
    assert "rejected 1: empty file (0 bytes), e.g. s3://" in result.stdout
    assert "enqueueing" in result.stderr  # the progress display

    messages = producer_env.messages()
    assert {m["headers"]["task"] for m in messages} == {TASK_NAME}
    jobs = [Job.model_validate(j) for j in producer_env.jobs_sent()]
    assert len(jobs) == n == len({j.job_id for j in jobs})
    assert {j.uri for j in jobs} == {f"s3://{calls_bucket.name}/{k}" for k in calls_bucket.media}
    assert all(j.batch_id == "b1" and j.models == {"prosody": {}, "burst": {}} for j in jobs)
    assert all(j.options.split_channels for j in jobs)
    assert producer_env.store.counts("b1")[State.QUEUED] == n
    meta = producer_env.store.batch_meta("b1")
    assert meta is not None and meta["total"] == n and meta["uris"] == [calls_bucket.uri()]


def test_resubmit_is_a_no_op_and_reports_what_is_known(
    run: Run, producer_env: ProducerEnv, calls_bucket: Bucket
) -> None:
    uri = calls_bucket.uri("intl")
    assert run("submit", uri, "-m", "prosody", "-b", "first").exit_code == 0
    first = [Job.model_validate(j) for j in producer_env.jobs_sent()]
    # one of them has finished meanwhile
    finish(producer_env, first[0], State.DONE)

    again = run("submit", uri, "-m", "prosody", "-b", "second", "--json")
    assert again.exit_code == 0, again.stderr
    report = summary(again.stdout)
    assert report["enqueued"] == 0
    assert report["skipped"] == {"queued": 2, "done": 1}
    assert len(producer_env.messages()) == 3  # nothing new was sent
    assert producer_env.store.batch_meta("second") is None  # no empty batch recorded

    dry = run("submit", uri, "-m", "prosody", "-b", "second", "--dry-run")
    assert f"skip (done in batch first)\t{first[0].job_id}\t{first[0].uri}" in dry.stdout

    # other configs are other jobs
    other = run("submit", uri, "-m", "prosody,burst", "-b", "third", "--json")
    assert summary(other.stdout)["enqueued"] == 3


def test_force_requeues_and_forgets_old_results(
    run: Run, producer_env: ProducerEnv, calls_bucket: Bucket
) -> None:
    uri = calls_bucket.uri("encoded")
    assert run("submit", uri, "-m", "burst", "-b", "old").exit_code == 0
    jobs = [Job.model_validate(j) for j in producer_env.jobs_sent()]
    finish(producer_env, jobs[0], State.DONE)
    producer_env.client.hset(keys.job(jobs[0].job_id), "attempts", 3)

    forced = run("submit", uri, "-m", "burst", "-b", "new", "--force", "--json")
    assert forced.exit_code == 0, forced.stderr
    assert summary(forced.stdout)["enqueued"] == 3
    assert len(producer_env.messages()) == 6
    assert producer_env.store.result(jobs[0].job_id) is None
    assert producer_env.store.job_state(jobs[0].job_id)["attempts"] == "0"
    # the jobs moved to the new batch: the old one no longer counts them
    assert producer_env.store.counts("new")[State.QUEUED] == 3
    assert sum(producer_env.store.counts("old").values()) == 0


def test_dry_run_prints_and_writes_nothing(
    run: Run, producer_env: ProducerEnv, calls_bucket: Bucket
) -> None:
    result = run("submit", calls_bucket.uri("2026-11/day-01"), "-m", "prosody", "--dry-run")
    assert result.exit_code == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("enqueue\t")]
    expected = {k for k in calls_bucket.media if k.startswith("2026-11/day-01/")}
    assert len(lines) == len(expected) == 40
    assert {line.split("\t")[2] for line in lines} == {
        f"s3://{calls_bucket.name}/{k}" for k in expected
    }
    assert f"would enqueue {len(expected)}" in result.stdout
    assert nothing_written(producer_env)


def test_limit_enqueues_at_most_n_and_a_rerun_continues(
    run: Run, producer_env: ProducerEnv, calls_bucket: Bucket
) -> None:
    first = run("submit", calls_bucket.uri(), "-m", "prosody", "-b", "lim", "--limit", "10")
    assert first.exit_code == 0, first.stderr
    assert "enqueued 10," in first.stdout and "stopped at --limit" in first.stdout
    second = run("submit", calls_bucket.uri(), "-m", "prosody", "-b", "lim", "--limit", "10")
    assert "enqueued 10, skipped 10" in second.stdout
    assert len({j["job_id"] for j in producer_env.jobs_sent()}) == 20
    assert producer_env.store.counts("lim")[State.QUEUED] == 20


def test_pattern_narrows_and_mix_changes_the_job(
    run: Run, producer_env: ProducerEnv, calls_bucket: Bucket
) -> None:
    result = run(
        "submit", calls_bucket.uri("2026-11"), "-m", "prosody", "--mix", "--json",
        "--pattern", "day-02/customer/*", "--pattern", "*.amr",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    jobs = [Job.model_validate(j) for j in producer_env.jobs_sent()]
    wanted = {
        k
        for k in calls_bucket.media
        if k.startswith("2026-11/day-02/customer/")
        or (k.startswith("2026-11/") and k.endswith(".amr"))
    }
    assert {j.uri.split("/", 3)[3] for j in jobs} == wanted
    assert summary(result.stdout)["rejected"]["does not match --pattern"] > 0
    assert all(not j.options.split_channels for j in jobs)
    # split and mixed runs of the same file are different jobs
    split = run("submit", calls_bucket.uri("2026-11"), "-m", "prosody", "-p", "*.amr", "--json")
    assert summary(split.stdout)["enqueued"] == len([k for k in wanted if k.endswith(".amr")])


def test_single_files_local_paths_and_bare_bucket_paths(
    run: Run, producer_env: ProducerEnv, calls_bucket: Bucket, tmp_path: Path
) -> None:
    local = tmp_path / "calls"
    local.mkdir()
    (local / "a.wav").write_bytes(b"RIFF")
    (local / "b.txt").write_bytes(b"x")
    result = run(
        "submit", f"{calls_bucket.name}/top-level.wav", f"s3://{calls_bucket.name}/intl/日本/通話.mp3",
        str(local), f"file://{local}/a.wav", "-m", "burst", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    report = summary(result.stdout)
    assert report["enqueued"] == 3
    assert report["rejected"] == {
        "not a media file (extension)": 1,
        "listed twice in this submit": 1,
    }
    assert {j["source"]["uri"] for j in producer_env.jobs_sent()} == {
        f"s3://{calls_bucket.name}/top-level.wav",
        f"s3://{calls_bucket.name}/intl/日本/通話.mp3",
        f"file://{local}/a.wav",
    }


def test_priority_goes_to_the_priority_list(
    run: Run, producer_env: ProducerEnv, calls_bucket: Bucket
) -> None:
    result = run("submit", calls_bucket.uri("intl"), "-m", "burst", "--priority", "7")
    assert result.exit_code == 0, result.stderr
    # kombu's Redis transport: priority 7 rounds down to step 6, list "<queue>\x06\x166"
    assert producer_env.client.llen(f"{producer_env.queue}\x06\x166") == 3
    assert producer_env.client.llen(producer_env.queue) == 0
    assert {m["properties"]["priority"] for m in producer_env.messages()} == {7}


def test_batch_name_is_generated_when_not_given(
    run: Run, producer_env: ProducerEnv, calls_bucket: Bucket
) -> None:
    result = run("submit", calls_bucket.uri("spaces"), "-m", "burst", "--json")
    batch_id = str(summary(result.stdout)["batch_id"])
    assert batch_id.startswith(time.strftime("%Y%m%d", time.gmtime()))
    assert producer_env.store.counts(batch_id)[State.QUEUED] == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-m", "prosody,sentiment"], "Unknown model type 'sentiment'"),
        (["-m", "ner"], "NerConfig is not supported by the streaming API"),
        (["--config", "{bad_field}"], "LanguageConfig.colour: Extra inputs are not permitted"),
        (["--config", "{bad_syntax}"], "is not valid YAML"),
        (["--config", "{prosody_batch_only}"], "ProsodyConfig.window is only available"),
        ([], "no models chosen"),
        (["-m", "burst", "s3://no-such-bucket-x2/calls"], "no such bucket 'no-such-bucket-x2'"),
        (["-m", "burst", "ftp://host/calls"], "unsupported scheme 'ftp'"),
        (["-m", "burst", "s3://"], "no bucket name"),
        (["-m", "burst", "s3://Bad_Bucket/x"], "is not a bucket name"),
        (["-m", "burst", "{bucket}/no-such-prefix"], "nothing found at s3://"),
        (["-m", "burst", "-b", "no:colons"], "bad batch name 'no:colons'"),
        (["-m", "burst", "--priority", "12"], "--priority 12 is out of range"),
    ],
)
def test_bad_input_exits_2_naming_it_and_enqueues_nothing(
    run: Run,
    producer_env: ProducerEnv,
    calls_bucket: Bucket,
    tmp_path: Path,
    args: list[str],
    message: str,
) -> None:
    files = {
        "{bad_field}": "language:\n  colour: blue\n",
        "{bad_syntax}": "prosody: {granularity: [\n",
        "{prosody_batch_only}": "prosody:\n  window: {length: 4}\n",
    }
    resolved = []
    for arg in args:
        if arg in files:
            path = tmp_path / "configs.yaml"
            path.write_text(files[arg])
            arg = str(path)
        resolved.append(arg.replace("{bucket}", calls_bucket.name))
    # a good URI first: nothing of it may be enqueued either
    result = run("submit", calls_bucket.uri("intl"), *resolved)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert nothing_written(producer_env)


def test_a_root_without_media_is_an_error_but_the_others_are_submitted(
    run: Run, producer_env: ProducerEnv, calls_bucket: Bucket
) -> None:
    empty = f"s3://{calls_bucket.name}-empty"
    alone = run("submit", empty, "-m", "burst")
    assert alone.exit_code == 2
    assert f"no media files found under {empty}" in alone.stderr
    assert nothing_written(producer_env)

    only_other = run("submit", calls_bucket.uri("2026-11/day-00/meta"), "-m", "burst")
    assert only_other.exit_code == 2 and "no media files found under" in only_other.stderr

    mixed = run("submit", calls_bucket.uri("intl"), empty, "-m", "burst", "--json")
    assert mixed.exit_code == 2
    assert summary(mixed.stdout)["enqueued"] == 3


def test_media_that_is_all_rejected_is_an_error(
    run: Run, producer_env: ProducerEnv, tmp_path: Path
) -> None:
    (tmp_path / "calls").mkdir()
    (tmp_path / "calls" / "a.wav").touch()
    result = run("submit", str(tmp_path / "calls"), "-m", "burst")
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert "rejected 1: empty file (0 bytes)" in result.stdout
    assert "nothing to enqueue: every media file listed was rejected" in result.stderr
    assert nothing_written(producer_env)


def test_unreachable_redis_exits_1_with_a_message(
    run: Run, monkeypatch: pytest.MonkeyPatch, calls_bucket: Bucket
) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://:s3cret@127.0.0.1:1/0")
    result = run("submit", calls_bucket.uri("intl"), "-m", "burst")
    assert result.exit_code == 1
    assert "the job store (Redis) failed" in result.stderr
    assert "s3cret" not in result.stderr + result.stdout


def finish(env: ProducerEnv, job: Job, state: State) -> None:
    """What a worker writes when it finishes a job (the store's own worker-side call)."""
    now = time.time()
    env.store.finish(
        Result(
            job_id=job.job_id,
            batch_id=job.batch_id,
            status=state,
            source=job.source,
            timings=Timings(started_at=now, finished_at=now),
            attempts=1,
            worker="test",
        )
    )


def test_concurrent_submits_of_the_same_files_enqueue_each_once(
    producer_env: ProducerEnv, calls_bucket: Bucket
) -> None:
    from producer.cli import publisher_for
    from producer.listing import Lister
    from producer.settings import ProducerSettings
    from producer.submit import SubmitRequest, Submitter
    from producer.uris import parse_root

    settings = ProducerSettings(producer_chunk_size=10)
    request = SubmitRequest(
        roots=[parse_root(calls_bucket.uri("2026-11"))], models={"burst": {}}, batch_id="race"
    )
    reports = []

    def one() -> None:
        with publisher_for(settings) as publisher:
            submitter = Submitter(Lister(settings), producer_env.store, publisher, 10)
            reports.append(submitter.submit(request))

    threads = [threading.Thread(target=one) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    media = [k for k in calls_bucket.media if k.startswith("2026-11/")]
    assert sum(r.enqueued for r in reports) == len(media)
    assert sum(sum(r.skipped.values()) for r in reports) == 2 * len(media)
    sent = [j["job_id"] for j in producer_env.jobs_sent()]
    assert len(sent) == len(set(sent)) == len(media)


def test_a_broker_lost_mid_submit_keeps_what_was_sent_and_a_resubmit_sends_the_rest(
    producer_env: ProducerEnv, tmp_path: Path
) -> None:
    from pydantic import SecretStr

    from producer.cli import publisher_for
    from producer.listing import Lister
    from producer.settings import ProducerSettings
    from producer.submit import SubmitReport, SubmitRequest, Submitter
    from producer.uris import parse_root
    from tests.support.redis_server import private_redis

    for i in range(30):
        (tmp_path / f"call-{i:02d}.wav").write_bytes(b"RIFF" + bytes([i]))
    request = SubmitRequest(
        roots=[parse_root(str(tmp_path))], models={"burst": {}}, batch_id="lost"
    )
    with private_redis() as broker:
        settings = ProducerSettings(producer_chunk_size=10, broker_url=SecretStr(broker.url))

        def lose_the_broker_after_the_first_page(report: SubmitReport) -> None:
            if report.enqueued == 10:
                broker.stop()

        with publisher_for(settings) as publisher:
            submitter = Submitter(Lister(settings), producer_env.store, publisher, 10)
            report = submitter.submit(request, progress=lose_the_broker_after_the_first_page)
        assert report.enqueued == 10
        assert report.failure is not None and "publishing 10 jobs" in str(report.failure)
        # the page that could not be sent is not left recorded as queued
        assert producer_env.store.counts("lost")[State.QUEUED] == 10

        broker.start()
        with publisher_for(settings) as publisher:
            submitter = Submitter(Lister(settings), producer_env.store, publisher, 10)
            again = submitter.submit(request)
        assert again.failure is None
        assert (again.enqueued, dict(again.skipped)) == (20, {"queued": 10})
        assert producer_env.store.counts("lost")[State.QUEUED] == 30
