"""Listing roots on a real moto S3 server and on the local filesystem."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from producer.errors import InputError
from producer.listing import MEDIA_EXTENSIONS, Lister, is_media, matches
from producer.settings import ProducerSettings
from producer.uris import parse_root
from tests.producer.conftest import Bucket


def lister() -> Lister:
    return Lister(ProducerSettings())


def listed_keys(uri: str, page_size: int = 1000) -> list[str]:
    root = parse_root(uri)
    keys = []
    for page in lister().pages(root, page_size):
        assert 0 < len(page) <= page_size
        keys += [item.path.split("/", 1)[1] for item in page]
    return keys


def test_a_bucket_lists_every_object_once_in_pages(calls_bucket: Bucket) -> None:
    keys = listed_keys(calls_bucket.uri(), page_size=7)
    assert len(keys) == len(set(keys))
    # folder markers are not objects to process
    assert set(keys) == calls_bucket.media | calls_bucket.others | calls_bucket.empty_media


def test_a_prefix_lists_what_is_below_it_only(calls_bucket: Bucket) -> None:
    keys = listed_keys(calls_bucket.uri("intl"))
    assert sorted(keys) == sorted(k for k in calls_bucket.media if k.startswith("intl/"))
    # "2026-11" must not match "2026-11x": a prefix is a folder
    assert all(k.startswith("2026-11/") for k in listed_keys(calls_bucket.uri("2026-11")))


def test_unicode_and_url_encoded_keys_keep_their_names(calls_bucket: Bucket) -> None:
    root = parse_root(calls_bucket.uri("encoded"))
    items = [i for page in lister().pages(root, 100) for i in page]
    uris = sorted(i.uri for i in items)
    assert uris == [
        f"s3://{calls_bucket.name}/encoded/100%25-sure.ogg",
        f"s3://{calls_bucket.name}/encoded/a%20b.wav",
        f"s3://{calls_bucket.name}/encoded/x%2Fy%3Fz.m4a",
    ]
    root = parse_root(calls_bucket.uri("intl/日本/通話.mp3"))
    (single,) = [i for page in lister().pages(root, 100) for i in page]
    assert single.uri == f"s3://{calls_bucket.name}/intl/日本/通話.mp3"
    assert single.relative == "通話.mp3"


def test_s3_identity_is_uri_size_and_etag(calls_bucket: Bucket) -> None:
    root = parse_root(calls_bucket.uri("top-level.wav"))
    (item,) = [i for page in lister().pages(root, 10) for i in page]
    identity = item.identity()
    assert identity.uri == f"s3://{calls_bucket.name}/top-level.wav"
    assert identity.size == len(b"media top-level.wav")
    assert identity.etag and '"' not in identity.etag
    assert identity.mtime is None  # the etag names the version


def test_missing_bucket_and_missing_prefix(calls_bucket: Bucket) -> None:
    with pytest.raises(InputError, match="no such bucket 'no-such-bucket-x1'"):
        lister().check(parse_root("s3://no-such-bucket-x1/calls"))
    with pytest.raises(InputError, match="no such bucket 'no-such-bucket-x1'"):
        lister().check(parse_root("s3://no-such-bucket-x1"))
    with pytest.raises(InputError, match=f"nothing found at s3://{calls_bucket.name}/2027"):
        lister().check(parse_root(calls_bucket.uri("2027")))


def test_empty_bucket_lists_nothing(calls_bucket: Bucket) -> None:
    root = parse_root(f"s3://{calls_bucket.name}-empty")
    lister().check(root)
    assert list(lister().pages(root, 10)) == []


def test_local_directory_tree_with_mtime_identity(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    for name in ("a/one.wav", "a/b/two.MP3", "a/b/été à.flac", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    os.utime(tmp_path / "a/one.wav", (1_700_000_000.5, 1_700_000_000.5))
    root = parse_root(str(tmp_path))
    items = {i.relative: i for page in lister().pages(root, 2) for i in page}
    assert set(items) == {"a/one.wav", "a/b/two.MP3", "a/b/été à.flac", "notes.txt"}
    one = items["a/one.wav"].identity()
    assert one.uri == f"file://{tmp_path}/a/one.wav"
    assert (one.size, one.etag, one.mtime) == (1, None, pytest.approx(1_700_000_000.5))
    with pytest.raises(InputError, match="nothing found at file://"):
        lister().check(parse_root(str(tmp_path / "missing")))


def test_media_by_extension_and_patterns() -> None:
    assert {"wav", "mp3", "flac", "ogg", "opus", "m4a", "aac", "mp4", "webm", "mov", "mkv"} <= (
        MEDIA_EXTENSIONS
    )
    assert {"wma", "amr"} <= MEDIA_EXTENSIONS
    assert is_media("a/b/CALL.WAV") and is_media("x.ulaw.wav")
    assert not is_media("notes.txt") and not is_media("README") and not is_media("wav")
    assert matches("x/y.wav", ())
    assert matches("2026-11/day-01/agent/c.wav", ["2026-11/*/agent/*"])
    assert matches("deep/a/b/c.mp3", ["*.mp3"])  # '*' crosses '/'
    assert not matches("deep/a/b/c.mp3", ["*.wav", "day-*"])
