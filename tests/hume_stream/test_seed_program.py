"""The SDK's own example, with only its import lines changed, runs against the emulator."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.emulator import EmulatorProcess
from tests.support.media import MediaFactory

#: The example from the Hume SDK's README (0.4.x), verbatim.
SDK_EXAMPLE = """\
import asyncio

from hume import HumeStreamClient
from hume.models.config import BurstConfig
from hume.models.config import ProsodyConfig

async def main():
    client = HumeStreamClient("<your-api-key>")
    configs = [BurstConfig(), ProsodyConfig()]
    async with client.connect(configs) as socket:
        result = await socket.send_file("<your-audio-filepath>")
        print(result)

asyncio.run(main())
"""

IMPORTS = {
    "from hume import HumeStreamClient": "from hume_stream import HumeStreamClient",
    "from hume.models.config import": "from hume_stream.models.config import",
}


def test_sdk_example_runs_with_only_its_imports_changed(
    emulator: EmulatorProcess, media: MediaFactory, tmp_path: Path
) -> None:
    program = SDK_EXAMPLE
    for old, new in IMPORTS.items():
        assert old in program
        program = program.replace(old, new)
    changed = [
        (a, b)
        for a, b in zip(SDK_EXAMPLE.splitlines(), program.splitlines(), strict=True)
        if a != b
    ]
    assert all(a.startswith(("from ", "import ")) for a, _ in changed)

    speech = media.speech("Thank you so much for calling, I am delighted to help you today.")
    program = program.replace("<your-api-key>", emulator.api_key)
    program = program.replace("<your-audio-filepath>", str(speech))
    script = tmp_path / "example.py"
    script.write_text(program)
    env = {**os.environ, "HUME_STREAM_URL": emulator.url}
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "'prosody': {'predictions': [{'time': {'begin':" in done.stdout
    assert "'burst':" in done.stdout
