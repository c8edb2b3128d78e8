"""A real Google Cloud Storage emulator process (gcp-storage-emulator) on a loopback port."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.util import find_spec

import pytest

from tests.support.net import free_port, wait_for_port

HOW_TO_GET_IT = (
    "the GCS emulator is needed for this test: install the dev extras "
    '(`.venv/bin/pip install -c constraints.txt -e ".[dev,gcs]"`).'
)


@contextmanager
def gcs_emulator(bucket: str) -> Iterator[dict[str, str]]:
    """Run the emulator with `bucket` created; yield fsspec storage options for gs:// URIs."""
    if find_spec("gcp_storage_emulator") is None or find_spec("gcsfs") is None:
        pytest.fail(HOW_TO_GET_IT, pytrace=False)
    # gcsfs asks a gRPC control plane for each bucket's layout, which the emulator lacks
    # (each lookup would wait for its timeout); the plain JSON API is what is tested here.
    os.environ["GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"] = "false"
    port = free_port()
    command = [sys.executable, "-m", "gcp_storage_emulator", "start", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--in-memory", "--quiet", "--default-bucket", bucket]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port("127.0.0.1", port, timeout=30)
        yield {"endpoint_url": f"http://127.0.0.1:{port}", "token": "anon", "project": "test"}
    finally:
        process.terminate()
        process.wait(timeout=10)
