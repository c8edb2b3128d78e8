"""Opening media by URI: local files, a real S3-compatible server, a real HTTP server."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.support.media import MediaFactory
from tests.support.s3 import create_user_with_policy, iam_enforced, s3_client
from tests.worker.media.gcs_server import gcs_emulator
from tests.worker.media.helpers import read_wav
from tests.worker.media.http_files import serve_directory
from worker.jobs import JobOptions, job_id_for
from worker.media import (
    ChunkOptions,
    EmptyMedia,
    MediaError,
    MediaNotFound,
    MediaOptions,
    MediaPermissionDenied,
    MediaUnavailable,
    open_media,
    stat_media,
    stream_chunks,
)

REPO = Path(__file__).resolve().parents[3]
SECRET = "s3cr3t-signature-value"


def pcm_of(uri: str, **options: object) -> tuple[np.ndarray, object]:
    """Every sample of every chunk (nothing skipped) and the stream, for comparing sources."""
    opts = MediaOptions(chunk=ChunkOptions(skip_silent=False), **options)  # type: ignore[arg-type]
    with stream_chunks(uri, opts) as media:
        samples = np.concatenate([read_wav(c.wav)[1] for c in media])
    return samples, media


# ---------------------------------------------------------------- local files


def test_a_path_and_a_file_uri_read_the_same_file(media: MediaFactory, tmp_path: Path) -> None:
    # a name that a URI must escape, and that fsspec would take for URL chaining
    path = tmp_path / "call 1::agent#2.flac"
    shutil.copy(media.tone(2.0, rate=8000, suffix="flac"), path)

    by_path, stream = pcm_of(str(path))
    by_uri, _ = pcm_of(path.as_uri())

    np.testing.assert_array_equal(by_path, by_uri)
    identity = stream.identity  # type: ignore[attr-defined]
    assert identity.uri == str(path)
    assert identity.size == path.stat().st_size
    assert identity.mtime == path.stat().st_mtime
    assert identity == stat_media(str(path))


def test_the_job_id_follows_the_file_version(media: MediaFactory, tmp_path: Path) -> None:
    path = tmp_path / "call.wav"
    shutil.copy(media.tone(1.0), path)
    first = stat_media(str(path))
    models: dict[str, dict[str, object]] = {"prosody": {}}
    first_id = job_id_for(first, models, JobOptions())
    assert job_id_for(stat_media(str(path)), models, JobOptions()) == first_id

    shutil.copy(media.tone(1.5), path)
    os.utime(path, (first.mtime + 10, first.mtime + 10))  # type: ignore[operator]

    assert job_id_for(stat_media(str(path)), models, JobOptions()) != first_id
    assert first.model_dump() == {
        "uri": str(path),
        "size": first.size,
        "etag": None,
        "mtime": first.mtime,
    }


def test_a_missing_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(MediaNotFound, match="no such file") as caught:
        pcm_of(str(tmp_path / "gone.wav"))
    assert caught.value.code == "not_found"
    assert not caught.value.retryable


def test_a_directory_is_not_a_media_file(tmp_path: Path) -> None:
    with pytest.raises(MediaNotFound, match="directory"):
        pcm_of(str(tmp_path))


def test_an_empty_file_is_refused_before_decoding(media: MediaFactory) -> None:
    path = media.raw("zero.mp3", b"")
    with pytest.raises(EmptyMedia), open_media(str(path)):
        pass


def test_an_unreadable_file_is_permission_denied(media: MediaFactory, tmp_path: Path) -> None:
    path = tmp_path / "locked.wav"
    shutil.copy(media.tone(1.0), path)
    path.chmod(0o000)
    probe = (
        "import sys\n"
        "from worker.media import MediaError, stream_chunks\n"
        "try:\n"
        "    with stream_chunks(sys.argv[1]) as media:\n"
        "        list(media)\n"
        "except MediaError as error:\n"
        "    print(error.code)\n"
    )
    command = [sys.executable, "-c", probe, str(path)]
    if os.geteuid() == 0:
        # root reads any file: run the probe as root without the capabilities that bypass
        # file modes (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), so the kernel really refuses
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.fail("setpriv (util-linux) is needed: apt-get install util-linux", False)
        command = [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--", *command]

    done = subprocess.run(
        command,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.stdout.strip() == "permission_denied", done.stderr


# ---------------------------------------------------------------- S3 (moto server)


@pytest.fixture(scope="module")
def bucket(s3_endpoint: str, media: MediaFactory) -> str:
    client = s3_client(s3_endpoint)
    client.create_bucket(Bucket="media-calls")
    for key, path in {
        "2026/11/call.flac": media.tone(3.0, rate=8000, channels=2, suffix="flac"),
        "2026/11/call.m4a": media.tone(3.0, rate=16000, suffix="m4a"),
    }.items():
        client.put_object(Bucket="media-calls", Key=key, Body=path.read_bytes())
    return "media-calls"


def test_s3_objects_are_read_through_the_endpoint_in_the_environment(
    bucket: str, s3_endpoint: str, media: MediaFactory
) -> None:
    assert os.environ["AWS_ENDPOINT_URL"] == s3_endpoint
    local = media.tone(3.0, rate=8000, channels=2, suffix="flac")

    remote, stream = pcm_of(f"s3://{bucket}/2026/11/call.flac")

    np.testing.assert_array_equal(remote, pcm_of(str(local))[0])
    identity = stream.identity  # type: ignore[attr-defined]
    assert identity.uri == f"s3://{bucket}/2026/11/call.flac"
    assert identity.size == local.stat().st_size
    assert identity.etag == hashlib.md5(local.read_bytes()).hexdigest()
    assert identity.mtime is not None
    assert stream.info.labels == ("agent", "customer")  # type: ignore[attr-defined]


def test_small_read_blocks_give_the_same_audio(bucket: str) -> None:
    # many ranged GETs, and seeks to the index at the end of the M4A
    uri = f"s3://{bucket}/2026/11/call.m4a"

    small, _ = pcm_of(uri, block_size=4096)

    np.testing.assert_array_equal(small, pcm_of(uri)[0])


@pytest.mark.parametrize("uri", ["s3://media-calls/2026/11/none.wav", "s3://no-such-bucket/a.wav"])
def test_a_missing_key_or_bucket_is_not_found(bucket: str, uri: str) -> None:
    with pytest.raises(MediaNotFound) as caught:
        pcm_of(uri)
    assert caught.value.uri == uri


def test_a_bucket_name_s3_cannot_have_is_not_found_not_retried(bucket: str) -> None:
    """botocore refuses the name before any request: no store failure, nothing to retry."""
    with pytest.raises(MediaNotFound) as caught:
        pcm_of("s3://Calls_2026!/a.wav")
    assert not caught.value.retryable
    assert str(caught.value) == (
        's3://Calls_2026!/a.wav: not a usable media URI: Invalid bucket name "Calls_2026!" '
        "[not_found]"
    )


def test_a_bucket_the_credentials_may_not_read_is_permission_denied(
    bucket: str, s3_endpoint: str, media: MediaFactory
) -> None:
    s3_client(s3_endpoint).create_bucket(Bucket="hr-private")
    s3_client(s3_endpoint).put_object(
        Bucket="hr-private", Key="call.wav", Body=media.tone(1.0).read_bytes()
    )
    reader = create_user_with_policy(
        s3_endpoint,
        "calls-reader",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:ListBucket"],
                    "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                }
            ],
        },
    )
    credentials = {"key": reader["aws_access_key_id"], "secret": reader["aws_secret_access_key"]}

    with iam_enforced(s3_endpoint):
        allowed, _ = pcm_of(f"s3://{bucket}/2026/11/call.flac", storage_options=credentials)
        with pytest.raises(MediaPermissionDenied, match="access denied") as caught:
            pcm_of("s3://hr-private/call.wav", storage_options=credentials)

    assert allowed.size > 0
    assert caught.value.code == "permission_denied"
    assert reader["aws_secret_access_key"] not in str(caught.value)


# ---------------------------------------------------------------- HTTP(S)


@pytest.fixture(scope="module")
def http_base(media: MediaFactory, tmp_path_factory: pytest.TempPathFactory) -> object:
    directory = tmp_path_factory.mktemp("http")
    shutil.copy(media.tone(2.0, rate=16000, suffix="mp3"), directory / "call.mp3")
    with serve_directory(directory) as base:
        yield base


def test_a_presigned_https_style_url_is_read_and_its_signature_never_shown(
    http_base: str,
) -> None:
    uri = f"{http_base}/call.mp3?X-Amz-Credential=AKIAEXAMPLE&X-Amz-Signature={SECRET}"

    samples, stream = pcm_of(uri, block_size=8192)

    assert abs(samples.size - 2 * 16000) < 1200
    identity = stream.identity  # type: ignore[attr-defined]
    assert identity.etag == "v1"
    assert SECRET not in identity.uri and "AKIAEXAMPLE" not in identity.uri
    assert identity.uri.startswith(f"{http_base}/call.mp3?X-Amz-Credential=***")


@pytest.mark.parametrize(
    ("path", "error"),
    [("/gone.mp3", MediaNotFound), ("/forbidden/call.mp3", MediaPermissionDenied)],
)
def test_http_statuses_become_media_errors_without_credentials(
    http_base: str, path: str, error: type[MediaError]
) -> None:
    uri = http_base.replace("http://", f"http://agent:{SECRET}@") + f"{path}?sig={SECRET}"

    with pytest.raises(error) as caught:
        pcm_of(uri)

    assert SECRET not in str(caught.value)
    assert SECRET not in caught.value.uri and SECRET not in caught.value.reason
    assert "agent" not in caught.value.uri


def test_an_unreachable_store_is_retryable() -> None:
    with pytest.raises(MediaUnavailable) as caught:
        pcm_of(f"http://127.0.0.1:1/call.wav?token={SECRET}")

    assert caught.value.retryable
    assert caught.value.code == "unavailable"
    assert SECRET not in str(caught.value)


# ---------------------------------------------------------------- GCS (emulator)


@pytest.fixture(scope="module")
def gcs_options() -> Iterator[dict[str, str]]:
    with gcs_emulator("gcs-calls") as options:
        yield options


def test_gs_objects_are_read_with_their_identity(
    gcs_options: dict[str, str], media: MediaFactory
) -> None:
    import gcsfs

    local = media.tone(2.0, rate=8000, channels=2, suffix="mp3")
    gcsfs.GCSFileSystem(**gcs_options).pipe("gcs-calls/day/call.mp3", local.read_bytes())

    remote, stream = pcm_of("gs://gcs-calls/day/call.mp3", storage_options=gcs_options)

    np.testing.assert_array_equal(remote, pcm_of(str(local))[0])
    identity = stream.identity  # type: ignore[attr-defined]
    assert (identity.uri, identity.size) == ("gs://gcs-calls/day/call.mp3", local.stat().st_size)
    assert identity.etag and identity.mtime


def test_a_missing_gs_object_is_not_found(gcs_options: dict[str, str]) -> None:
    with pytest.raises(MediaNotFound):
        pcm_of("gs://gcs-calls/day/none.mp3", storage_options=gcs_options)
