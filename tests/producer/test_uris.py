"""Parsing what the user names on `producer submit`."""

from __future__ import annotations

from pathlib import Path

import pytest

from producer.errors import InputError
from producer.uris import Root, parse_root


@pytest.mark.parametrize(
    ("text", "root"),
    [
        ("s3://calls", Root("s3", "calls")),
        ("s3://calls/", Root("s3", "calls")),
        ("s3://calls/2026-11/", Root("s3", "calls/2026-11")),
        ("S3://calls/a/b.wav", Root("s3", "calls/a/b.wav")),
        ("gs://my_bucket/x", Root("gs", "my_bucket/x")),
        ("gcs://my_bucket/x", Root("gs", "my_bucket/x")),
        ("calls/2026-11", Root("s3", "calls/2026-11")),
        ("file:///data/calls", Root("file", "/data/calls")),
        ("file://localhost/data/calls/", Root("file", "/data/calls")),
        ("/data/calls/../calls/x.wav", Root("file", "/data/calls/x.wav")),
        ("s3://calls/café/appel 1.wav", Root("s3", "calls/café/appel 1.wav")),
        ("s3://calls/a%20b.wav", Root("s3", "calls/a%20b.wav")),
    ],
)
def test_uris_and_paths_become_roots(text: str, root: Root) -> None:
    assert parse_root(text) == root


def test_uri_of_a_root_keeps_keys_verbatim() -> None:
    root = parse_root("s3://calls/intl")
    assert root.uri == "s3://calls/intl"
    assert root.uri_of("calls/intl/a%20b é.wav") == "s3://calls/intl/a%20b é.wav"
    assert parse_root("file:///data").uri == "file:///data"


def test_relative_paths_are_local_when_they_exist_or_look_local(tmp_path: Path) -> None:
    (tmp_path / "recordings").mkdir()
    assert parse_root("recordings", cwd=tmp_path) == Root("file", f"{tmp_path}/recordings")
    assert parse_root("./later", cwd=tmp_path) == Root("file", f"{tmp_path}/later")
    # a bare path that does not exist here is a bucket path in the default scheme
    assert parse_root("elsewhere/x", cwd=tmp_path) == Root("s3", "elsewhere/x")
    assert parse_root("elsewhere/x", "gs", cwd=tmp_path) == Root("gs", "elsewhere/x")
    assert parse_root("elsewhere/x", "file", cwd=tmp_path) == Root(
        "file", f"{tmp_path}/elsewhere/x"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty URI"),
        ("   ", "empty URI"),
        ("ftp://host/x", "unsupported scheme 'ftp'"),
        ("http://example.com/a.wav", "unsupported scheme 'http'"),
        ("s3://", "no bucket name"),
        ("s3:///key.wav", "no bucket name"),
        ("s3://Calls/x", "'Calls' is not a bucket name"),
        ("s3://my bucket/x", "'my bucket' is not a bucket name"),
        ("s3://ab/x", "'ab' is not a bucket name"),
        ("s3:/calls/x", "malformed URI 's3:/calls/x'"),
        ("file://server/share/x", "needs an absolute path"),
        ("weird://", "unsupported scheme 'weird'"),
    ],
)
def test_bad_uris_are_refused_naming_the_problem(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(")) as info:
        parse_root(text)
    assert info.value.exit_code == 2


def test_credentials_in_a_uri_are_refused_without_being_quoted() -> None:
    for text in ("s3://AKIAX:s3cr3t@calls/x.wav", "ftp://user:s3cr3t@host/x", "gs://u:s3cr3t@b"):
        with pytest.raises(InputError) as info:
            parse_root(text)
        assert "s3cr3t" not in str(info.value)
