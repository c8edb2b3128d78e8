"""Arbitrary request frames never crash the emulator nor break one-reply-per-request."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.sync.client import ClientConnection

from tests.emulator.client import TIMEOUT_S, session
from tests.support.emulator import EmulatorProcess

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
model_names = st.sampled_from(["burst", "face", "facemesh", "language", "prosody", "ner", "x"])
model_configs = st.dictionaries(
    st.sampled_from(["granularity", "sentiment", "toxicity", "facs", "identify_faces", "fps_pred"]),
    json_values,
    max_size=2,
)
data_values = st.one_of(
    st.text(max_size=40),
    st.binary(max_size=64).map(lambda b: base64.b64encode(b).decode()),
    st.sampled_from(["UklGRiQAAABXQVZF", "[]", "[[[0, 0, 0]]]", ""]),
    json_values,
)
requests = st.fixed_dictionaries(
    {},
    optional={
        "data": data_values,
        "models": st.dictionaries(model_names, model_configs | json_values, max_size=3)
        | json_values,
        "raw_text": st.booleans() | json_values,
        "stream_window_ms": st.integers(-10, 20_000) | json_values,
        "reset_stream": st.booleans() | json_values,
        "job_details": st.booleans() | json_values,
        "payload_id": st.text(max_size=10) | json_values,
        "extra": json_values,
    },
)
frames = st.one_of(
    requests.map(json.dumps),
    json_values.map(json.dumps),
    st.text(max_size=60),
)


@pytest.fixture(scope="module")
def ws(emulator: EmulatorProcess) -> Iterator[ClientConnection]:
    with session(emulator) as connection:
        yield connection


def reply(ws: ClientConnection) -> dict[str, Any]:
    message = ws.recv(timeout=TIMEOUT_S)
    assert isinstance(message, str)
    parsed = json.loads(message)
    assert isinstance(parsed, dict)
    return parsed


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=frames)
def test_any_frame_gets_exactly_one_reply(ws: ClientConnection, frame: str) -> None:
    ws.send(frame)
    answer = reply(ws)
    if "error" in answer:
        assert isinstance(answer["code"], str) and answer["code"][:1] == "E"
    # A marker request right after proves no extra reply was queued behind the first.
    ws.send(json.dumps({"job_details": True, "payload_id": "marker"}))
    assert reply(ws)["payload_id"] == "marker"
