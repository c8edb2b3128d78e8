"""Drives the official Hume SDK 0.4.2 against an emulator; run by the SDK venv's Python.

Usage: python sdk_script.py WS_BASE API_KEY SPEECH_WAV LONG_WAV IMAGE_PNG
Prints one JSON object: what each SDK call returned, or the text of the exception it raised.
"""

import asyncio
import base64
import json
import sys
from pathlib import Path

from hume import HumeClientException, HumeStreamClient
from hume.models.config import (
    BurstConfig,
    FaceConfig,
    FacemeshConfig,
    LanguageConfig,
    ProsodyConfig,
)


def landmarks(n_faces: int) -> list[list[list[float]]]:
    return [
        [[(i * 37 % 101) / 101, (i * 53 % 103) / 103, face * 0.01] for i in range(478)]
        for face in range(n_faces)
    ]


async def main(base: str, key: str, speech: Path, long_wav: Path, image: Path) -> None:
    out: dict[str, object] = {}
    speech_b64 = base64.b64encode(await asyncio.to_thread(speech.read_bytes))
    # The 0.4.x SDK builds its URL from this private base: {base}/v0/stream/models.
    client = HumeStreamClient(key, _api_ws_base_uri=base)
    async with client.connect([ProsodyConfig(), BurstConfig()], stream_window_ms=5000) as socket:
        out["send_file"] = await socket.send_file(speech)
        out["send_bytes"] = await socket.send_bytes(speech_b64)
        out["reset_stream"] = await socket.reset_stream()
        out["job_details"] = await socket.get_job_details()
        out["job_details_again"] = await socket.get_job_details()
        try:
            await socket.send_file(long_wav)
        except HumeClientException as exc:
            out["too_long"] = str(exc)
        try:
            await socket.send_file(image)
        except HumeClientException as exc:
            out["unsupported"] = str(exc)
        out["after_errors"] = await socket.send_file(speech)
    config = LanguageConfig(granularity="sentence", sentiment={}, toxicity={})
    async with client.connect([config]) as socket:
        out["send_text"] = await socket.send_text("I love this. Thanks a lot!")
    async with client.connect([FacemeshConfig()]) as socket:
        out["send_facemesh"] = await socket.send_facemesh(landmarks(2))
    async with client.connect([FaceConfig(identify_faces=True, facs={})]) as socket:
        out["face"] = await socket.send_file(image)
    try:
        async with HumeStreamClient("invalid-api-key", _api_ws_base_uri=base).connect(
            [ProsodyConfig()]
        ) as socket:
            out["bad_key"] = await socket.get_job_details()
    except HumeClientException as exc:
        out["bad_key"] = str(exc)
    print(json.dumps(out))


if __name__ == "__main__":
    base_url, api_key, *paths = sys.argv[1:]
    asyncio.run(main(base_url, api_key, *map(Path, paths)))
