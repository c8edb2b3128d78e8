"""Checks before sending: facemesh shapes, text length, window, config types, media limits."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

from hume_stream import HumeClientException
from hume_stream._checks import (
    check_config_types,
    check_facemesh,
    check_media,
    check_stream_window_ms,
    check_text,
)
from hume_stream._media import MediaInfo
from hume_stream.models.config import BurstConfig, LanguageConfig, ProsodyConfig


def faces(n: int, landmarks: int = 478, spatial: int = 3) -> list[Any]:
    return [[[0.5] * spatial for _ in range(landmarks)] for _ in range(n)]


def raises(message: str) -> Any:
    return pytest.raises(HumeClientException, match=re.escape(message))


@pytest.mark.parametrize("n", [1, 2, 100])
def test_facemesh_accepts_1_to_100_faces(n: int) -> None:
    assert len(check_facemesh(faces(n))) == n


def test_facemesh_accepts_a_numpy_array() -> None:
    result = check_facemesh(np.zeros((2, 478, 3)))
    assert isinstance(result, list) and len(result) == 2


def test_facemesh_sdk_messages() -> None:
    with raises(
        "Number of faces sent in facemesh payload was greater than the limit of 100, found 101."
    ):
        check_facemesh(faces(101))
    with raises("No faces sent in facemesh payload."):
        check_facemesh([])
    with raises("Number of MediaPipe landmarks per face must be exactly 478, found 477."):
        check_facemesh(faces(1, landmarks=477))
    with raises(
        "Invalid facemesh payload detected. Each facemesh landmark should be an (x, y, z) point."
    ):
        check_facemesh(faces(1, spatial=2))


def test_facemesh_checks_every_face_and_names_it() -> None:
    bad_second = faces(3)
    bad_second[1] = bad_second[1][:400]
    with raises("must be exactly 478, found 400. (face 1)"):
        check_facemesh(bad_second)
    bad_point = faces(3)
    bad_point[2][10] = [0.1, 0.2]
    with raises("should be an (x, y, z) point. (face 2)"):
        check_facemesh(bad_point)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "0.5", None, True])
def test_facemesh_refuses_non_numbers(value: Any) -> None:
    mesh = faces(1)
    mesh[0][5] = [0.1, value, 0.3]
    with raises("Each facemesh landmark should be an (x, y, z) point."):
        check_facemesh(mesh)


def test_facemesh_refuses_what_is_not_a_list_of_faces() -> None:
    with raises("must be a sequence of faces, got str"):
        check_facemesh("faces")
    with raises("Each face should be a list of 478 (x, y, z) points, got int."):
        check_facemesh([7])


def test_facemesh_errors_carry_a_code_and_are_final() -> None:
    with pytest.raises(HumeClientException) as info:
        check_facemesh([])
    assert info.value.code == "E0101" and info.value.retryable is False


def test_text_limit_names_limit_and_length() -> None:
    check_text("x" * 10_000)
    with pytest.raises(HumeClientException) as info:
        check_text("x" * 10_001)
    assert info.value.code == "E0206" and not info.value.retryable
    assert str(info.value) == (
        "hume(E0206): Text payload has 10001 characters; the limit is 10000. "
        "(checked before sending)"
    )


@pytest.mark.parametrize("window", [None, 500, 5000, 10_000])
def test_stream_window_within_bounds(window: int | None) -> None:
    check_stream_window_ms(window)


@pytest.mark.parametrize(
    ("window", "message"),
    [
        (499, "between 500 and 10000, got 499"),
        (10_001, "between 500 and 10000, got 10001"),
        (1.5, "must be an int, got float"),
        (True, "must be an int, got bool"),
    ],
)
def test_stream_window_out_of_bounds(window: Any, message: str) -> None:
    with raises(message):
        check_stream_window_ms(window)


def test_config_types_sdk_message_for_socket_and_payload() -> None:
    check_config_types([LanguageConfig()], LanguageConfig, "send_text", "Socket")
    check_config_types([], LanguageConfig, "send_text", "Socket")
    with raises(
        "Socket configured with ProsodyConfig. "
        "send_text is only supported when using a LanguageConfig."
    ):
        check_config_types(
            [LanguageConfig(), ProsodyConfig()], LanguageConfig, "send_text", "Socket"
        )
    with raises(
        "Payload configured with BurstConfig. "
        "send_text is only supported when using a LanguageConfig."
    ):
        check_config_types([BurstConfig()], LanguageConfig, "send_text", "Payload")


@pytest.mark.parametrize(
    "info",
    [
        None,
        MediaInfo("audio", 5000.0, exact=True),
        MediaInfo("audio", 5080.0, exact=False),  # container metadata of compressed audio
        MediaInfo("audio", None),
        MediaInfo("video", 5000.0, 640, 480),
        MediaInfo("image", None, 3000, 3000),
    ],
)
def test_media_within_limits(info: MediaInfo | None) -> None:
    check_media(info)


@pytest.mark.parametrize(
    ("info", "code", "message"),
    [
        (
            MediaInfo("audio", 5000.1, exact=True),
            "E0203",
            "Audio payload is 5001 ms long; the limit is 5000 ms",
        ),
        (MediaInfo("audio", 6000.0, exact=True), "E0203", "Audio payload is 6000 ms long"),
        (MediaInfo("audio", 5200.0, exact=False), "E0203", "Audio payload is 5200 ms long"),
        (
            MediaInfo("video", 7000.0, 64, 48),
            "E0204",
            "Video payload is 7000 ms long; the limit is 5000 ms",
        ),
        (
            MediaInfo("image", None, 3001, 20),
            "E0205",
            "Image payload is 3001 x 20 px; the limit is 3000 x 3000 px",
        ),
    ],
)
def test_media_over_limits(info: MediaInfo, code: str, message: str) -> None:
    with pytest.raises(HumeClientException) as raised:
        check_media(info)
    assert raised.value.code == code and not raised.value.retryable
    assert str(raised.value).startswith(f"hume({code}): {message}")
