"""Separate virtualenvs for third-party clients whose pins clash with the project's (the
official Hume SDKs), made once under .cache/ (gitignored) and reused."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

CACHE = Path(__file__).resolve().parents[2] / ".cache"


def venv_python(name: str, requirements: Sequence[str]) -> Path:
    """The Python of venv `.cache/NAME` with `requirements` installed (once: a stamp file
    names what was installed). Fails the test, saying why, when pip cannot install them."""
    venv = CACHE / name
    python = venv / "bin" / "python"
    stamp = venv / ("installed-" + "-".join(requirements))
    if stamp.exists():
        return python
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, timeout=120)
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", *requirements],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if install.returncode != 0:
        pytest.fail(
            f"could not install {' '.join(requirements)} into {venv} (needs access to "
            f"PyPI or a local index):\n{install.stderr[-2000:]}",
            pytrace=False,
        )
    stamp.touch()
    return python
