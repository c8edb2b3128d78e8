"""The client against a real emulator process on loopback: every method and error path."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable

import pytest

from hume_stream import (
    HumeClientException,
    HumeStreamClient,
    PredictionsMessage,
    StreamSocket,
    WarningMessage,
)
from hume_stream.labels import EMOTIONS, LANGUAGE_EMOTIONS
from hume_stream.models.config import (
    BurstConfig,
    FaceConfig,
    FacemeshConfig,
    LanguageConfig,
    NerConfig,
    ProsodyConfig,
)
from tests.emulator.pictures import encode_image, face_picture
from tests.hume_stream.conftest import requests_seen, run
from tests.support.emulator import EmulatorProcess
from tests.support.media import MediaFactory

SPEECH = "I am so happy to hear from you, this is wonderful news."
MESH = [[[0.4 + 0.0001 * i, 0.5, 0.01] for i in range(478)]] * 2


def test_send_file_returns_the_sdk_dict(client: HumeStreamClient, media: MediaFactory) -> None:
    async def main() -> dict[str, object]:
        async with client.connect([BurstConfig(), ProsodyConfig()]) as socket:
            result: dict[str, object] = await socket.send_file(media.speech(SPEECH))
            return result

    result = run(main())
    assert set(result) == {"burst", "prosody"}
    [segment, *_] = result["prosody"]["predictions"]  # type: ignore[index]
    assert [e["name"] for e in segment["emotions"]] == list(EMOTIONS)


def test_send_bytes_takes_base64_like_the_sdk(
    client: HumeStreamClient, media: MediaFactory
) -> None:
    encoded = base64.b64encode(media.speech(SPEECH).read_bytes())

    async def main() -> object:
        async with client.connect([ProsodyConfig()]) as socket:
            return await socket.send_bytes(encoded)

    assert "predictions" in run(main())["prosody"]  # type: ignore[index]


def test_send_text_and_predict_text(client: HumeStreamClient) -> None:
    configs = [LanguageConfig(granularity="sentence", sentiment={}, toxicity={})]

    async def main() -> tuple[object, PredictionsMessage | WarningMessage]:
        async with client.connect(configs) as socket:
            raw = await socket.send_text("I love this so much! This is awful.")
            typed = await socket.predict_text("What a wonderful day.")
            return raw, typed

    raw, typed = run(main())
    sentences = raw["language"]["predictions"]  # type: ignore[index]
    assert [s["text"] for s in sentences] == ["I love this so much!", "This is awful."]
    assert [e["name"] for e in sentences[0]["emotions"]] == list(LANGUAGE_EMOTIONS)
    assert isinstance(typed, PredictionsMessage) and typed.language is not None
    [sentence] = typed.language.predictions
    assert sentence.sentiment is not None and sentence.toxicity is not None


def test_send_facemesh_and_predict_facemesh(client: HumeStreamClient) -> None:
    async def main() -> tuple[object, PredictionsMessage | WarningMessage]:
        async with client.connect([FacemeshConfig()]) as socket:
            return await socket.send_facemesh(MESH), await socket.predict_facemesh(MESH)

    raw, typed = run(main())
    assert len(raw["facemesh"]["predictions"]) == 2  # type: ignore[index]
    assert isinstance(typed, PredictionsMessage) and typed.facemesh is not None
    assert len(typed.facemesh.predictions) == 2


def test_reset_stream_and_job_details(client: HumeStreamClient) -> None:
    async def main() -> tuple[object, object, object]:
        async with client.connect([ProsodyConfig()]) as socket:
            first = await socket.get_job_details()
            reset = await socket.reset_stream()
            return first, reset, await socket.get_job_details()

    first, reset, again = run(main())
    job_id = first["job_details"]["job_id"]  # type: ignore[index]
    assert isinstance(job_id, str) and len(job_id) == 32
    assert again == first  # one job per connection
    assert reset == {}


def test_predict_file_and_bytes_are_typed_and_correlated(
    client: HumeStreamClient, media: MediaFactory, emulator: EmulatorProcess
) -> None:
    speech = media.speech(SPEECH)

    async def main() -> list[PredictionsMessage | WarningMessage]:
        async with client.connect([ProsodyConfig(), BurstConfig()], stream_window_ms=3000) as s:
            return [await s.predict_file(speech), await s.predict_bytes(speech.read_bytes())]

    before = len(requests_seen(emulator))
    replies = run(main())
    sent = [r["payload_id"] for r in requests_seen(emulator)[before:]]
    assert [r.payload_id for r in replies] == sent
    for reply in replies:
        assert isinstance(reply, PredictionsMessage)
        assert reply.prosody is not None and reply.prosody.predictions
        assert reply.warnings() == {"burst": ("W0101", "No vocal bursts detected.")}


def test_warning_for_silence_is_a_result_not_an_error(
    client: HumeStreamClient, media: MediaFactory
) -> None:
    async def main() -> tuple[object, PredictionsMessage | WarningMessage]:
        async with client.connect([ProsodyConfig()]) as socket:
            silence = media.silence(1.0)
            return await socket.send_file(silence), await socket.predict_file(silence)

    raw, typed = run(main())
    assert raw["prosody"]["code"] == "W0105"  # type: ignore[index]
    assert isinstance(typed, PredictionsMessage) and "prosody" in typed.warnings()


# ---------------------------------------------------------------- handshake errors


def test_bad_key_at_handshake(emulator: EmulatorProcess) -> None:
    client = HumeStreamClient("invalid-api-key", url=emulator.url)

    async def main() -> None:
        async with client.connect([FaceConfig(identify_faces=True)]):
            raise AssertionError("the handshake must fail")

    with pytest.raises(HumeClientException) as info:
        run(main())
    assert str(info.value) == "HumeStreamClient initialized with invalid API key."
    assert info.value.code is None and info.value.retryable is False
    assert "invalid-api-key" not in repr(info.value) + repr(info.value.__cause__)


def test_refused_handshake_other_than_401_is_retryable(
    emulator_factory: Callable[..., EmulatorProcess],
) -> None:
    emulator = emulator_factory("--max-connections-per-key", "1")
    client = HumeStreamClient(emulator.api_key, url=emulator.url)

    async def main() -> None:
        async with client.connect([ProsodyConfig()]), client.connect([ProsodyConfig()]):
            raise AssertionError("the second connection must be refused (429)")

    with pytest.raises(HumeClientException) as info:
        run(main())
    assert str(info.value) == "Unexpected error when creating streaming connection"
    assert (info.value.retryable, info.value.status) == (True, 429)


def test_key_stays_out_of_debug_logs_of_a_real_handshake(
    emulator: EmulatorProcess, caplog: pytest.LogCaptureFixture
) -> None:
    client = HumeStreamClient(emulator.api_key, url=emulator.url)

    async def main() -> None:
        async with client.connect([ProsodyConfig()]) as socket:
            await socket.reset_stream()

    with caplog.at_level(logging.DEBUG, logger="hume_stream"):
        run(main())
    lines = [r.getMessage() for r in caplog.records]
    assert "> X-Hume-Api-Key: ***" in lines
    assert not [line for line in lines if emulator.api_key in line]


def test_unreachable_endpoint_raises_oserror() -> None:
    from tests.support.net import free_port

    client = HumeStreamClient("k", url=f"ws://127.0.0.1:{free_port()}/v0/stream/models")

    async def main() -> None:
        async with client.connect([ProsodyConfig()]):
            pass

    with pytest.raises(OSError):
        run(main())


# ---------------------------------------------------------------- API errors


def test_e0102_from_the_service_and_the_socket_stays_usable(
    client: HumeStreamClient, media: MediaFactory
) -> None:
    image = media.raw("face.png", encode_image(face_picture()))

    async def main() -> object:
        async with client.connect([ProsodyConfig()]) as socket:
            with pytest.raises(HumeClientException) as info:
                await socket.send_file(image)
            assert str(info.value) == (
                "hume(E0102): Streaming payload configured with model type 'prosody', which "
                "is not supported for the detected file type 'image'."
            )
            assert info.value.code == "E0102" and info.value.retryable is False
            with pytest.raises(HumeClientException, match=r"^hume\(E0102\)"):
                await socket.predict_file(image)
            return await socket.send_file(media.speech(SPEECH))

    assert "prosody" in run(main())  # type: ignore[operator]


def test_e0203_from_the_service_when_checks_are_off(
    client: HumeStreamClient, media: MediaFactory
) -> None:
    async def main() -> None:
        async with client.connect([ProsodyConfig()], check_limits=False) as socket:
            await socket.send_file(media.tone(6.0))

    with pytest.raises(HumeClientException) as info:
        run(main())
    assert info.value.code == "E0203"
    assert str(info.value).startswith("hume(E0203): Your audio file was too long.")


def test_e0206_from_the_service_when_checks_are_off(client: HumeStreamClient) -> None:
    async def main() -> None:
        async with client.connect([LanguageConfig()], check_limits=False) as socket:
            await socket.predict_text("word " * 2001)

    with pytest.raises(HumeClientException) as info:
        run(main())
    assert info.value.code == "E0206"


# ---------------------------------------------------------------- refused before sending


def assert_nothing_sent(emulator: EmulatorProcess, before: int) -> None:
    assert len(requests_seen(emulator)) == before, "the payload must not reach the service"


@pytest.mark.parametrize("suffix", ["wav", "ulaw.wav", "flac", "mp3"])
def test_audio_over_5000_ms_is_refused_before_sending(
    client: HumeStreamClient, media: MediaFactory, emulator: EmulatorProcess, suffix: str
) -> None:
    too_long = media.tone(6.0, suffix=suffix)

    async def main() -> None:
        async with client.connect([BurstConfig(), ProsodyConfig()]) as socket:
            for send in (
                lambda: socket.send_file(too_long),
                lambda: socket.send_bytes(base64.b64encode(too_long.read_bytes())),
                lambda: socket.predict_file(too_long),
                lambda: socket.predict_bytes(too_long.read_bytes()),
            ):
                with pytest.raises(HumeClientException) as info:
                    await send()
                assert info.value.code == "E0203" and not info.value.retryable
                assert "the limit is 5000 ms" in str(info.value)
                assert "Audio payload is 6000 ms long" in str(info.value)

    before = len(requests_seen(emulator))
    run(main())
    assert_nothing_sent(emulator, before)


def test_audio_of_exactly_5000_ms_is_sent(client: HumeStreamClient, media: MediaFactory) -> None:
    async def main() -> PredictionsMessage | WarningMessage:
        async with client.connect([ProsodyConfig()]) as socket:
            return await socket.predict_file(media.tone(5.0))

    assert isinstance(run(main()), PredictionsMessage)


def test_text_over_10000_characters_is_refused_before_sending(
    client: HumeStreamClient, emulator: EmulatorProcess
) -> None:
    async def main() -> None:
        async with client.connect([LanguageConfig()]) as socket:
            for send in (socket.send_text, socket.predict_text):
                with pytest.raises(HumeClientException) as info:
                    await send("x" * 10_001)
                assert info.value.code == "E0206"
                assert "10001 characters; the limit is 10000" in str(info.value)

    before = len(requests_seen(emulator))
    run(main())
    assert_nothing_sent(emulator, before)


def test_send_text_without_language_config(
    client: HumeStreamClient, emulator: EmulatorProcess
) -> None:
    async def main() -> None:
        async with client.connect([ProsodyConfig()]) as socket:
            with pytest.raises(HumeClientException) as info:
                await socket.send_text("hello")
            assert str(info.value) == (
                "Socket configured with ProsodyConfig. "
                "send_text is only supported when using a LanguageConfig."
            )
            with pytest.raises(HumeClientException, match=r"^Payload configured with BurstConfig"):
                await socket.predict_text("hello", configs=[BurstConfig()])

    before = len(requests_seen(emulator))
    run(main())
    assert_nothing_sent(emulator, before)


@pytest.mark.parametrize(
    ("landmarks", "message"),
    [
        (
            [[[0.0, 0.0, 0.0]] * 478] * 101,
            "Number of faces sent in facemesh payload was greater than the limit of 100, "
            "found 101.",
        ),
        ([], "No faces sent in facemesh payload."),
        (
            [[[0.0, 0.0, 0.0]] * 477],
            "Number of MediaPipe landmarks per face must be exactly 478, found 477.",
        ),
        (
            [[[0.0, 0.0]] * 478],
            "Invalid facemesh payload detected. "
            "Each facemesh landmark should be an (x, y, z) point.",
        ),
        (
            [[[0.0, 0.0, 0.0]] * 478, [[0.0, 0.0, 0.0]] * 10],
            "Number of MediaPipe landmarks per face must be exactly 478, found 10. (face 1)",
        ),
    ],
    ids=["101-faces", "no-faces", "477-landmarks", "2d-points", "second-face"],
)
def test_facemesh_shapes_are_refused_before_sending(
    client: HumeStreamClient,
    emulator: EmulatorProcess,
    landmarks: list[list[list[float]]],
    message: str,
) -> None:
    async def main() -> None:
        async with client.connect([FacemeshConfig()]) as socket:
            for send in (socket.send_facemesh, socket.predict_facemesh):
                with pytest.raises(HumeClientException) as info:
                    await send(landmarks)
                assert str(info.value) == message

    before = len(requests_seen(emulator))
    run(main())
    assert_nothing_sent(emulator, before)


def test_send_facemesh_without_facemesh_config(client: HumeStreamClient) -> None:
    async def main() -> None:
        async with client.connect([FaceConfig()]) as socket:
            await socket.send_facemesh(MESH)

    with pytest.raises(HumeClientException) as info:
        run(main())
    assert str(info.value) == (
        "Socket configured with FaceConfig. "
        "send_facemesh is only supported when using a FacemeshConfig."
    )


def test_ner_config_is_refused_before_the_handshake(
    client: HumeStreamClient, emulator: EmulatorProcess
) -> None:
    opened = sum(e["event"] == "open" for e in emulator.events())

    async def main() -> None:
        async with client.connect([ProsodyConfig(), NerConfig()]):
            raise AssertionError("must not connect")

    with pytest.raises(HumeClientException, match="NerConfig is not supported by the streaming"):
        run(main())
    assert sum(e["event"] == "open" for e in emulator.events()) == opened


def test_ner_config_per_call_is_refused_before_sending(
    client: HumeStreamClient, emulator: EmulatorProcess, media: MediaFactory
) -> None:
    async def main() -> None:
        async with client.connect([ProsodyConfig()]) as socket:
            await socket.send_file(media.tone(1.0), configs=[NerConfig()])

    before = len(requests_seen(emulator))
    with pytest.raises(HumeClientException, match="NerConfig"):
        run(main())
    assert_nothing_sent(emulator, before)


def test_stream_window_out_of_bounds_is_refused_before_the_handshake(
    client: HumeStreamClient,
) -> None:
    async def main() -> None:
        async with client.connect([ProsodyConfig()], stream_window_ms=20_000):
            raise AssertionError("must not connect")

    with pytest.raises(HumeClientException, match="between 500 and 10000, got 20000"):
        run(main())


def test_socket_closed_on_exit_also_on_error(client: HumeStreamClient) -> None:
    sockets: list[StreamSocket] = []

    async def main() -> None:
        async with client.connect([ProsodyConfig()]) as socket:
            sockets.append(socket)
            await socket.reset_stream()
            raise KeyError("boom")

    with pytest.raises(KeyError):
        run(main())
    assert not sockets[0].is_open
