"""Fixtures for chart tests: the pinned helm binary (installed on first use) and a renderer."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.chart.render import CHECK_SCRIPT, Chart

HOW_TO_GET_HELM = (
    "helm is needed to render the chart. It is installed into .tools/bin by "
    "`scripts/check_deploy.sh --helm-only` (or `make deploy-check`), which needs the shared "
    "tools folder beside the clone (../shared/tools/install-helm.sh) and access to PyPI."
)


@pytest.fixture(scope="session")
def helm() -> Path:
    """Path of helm v3.19.0, installed into .tools/bin if it is not there yet."""
    try:
        out = subprocess.run(
            ["bash", str(CHECK_SCRIPT), "--helm-only"],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.fail(f"installing helm timed out. {HOW_TO_GET_HELM}", pytrace=False)
    if out.returncode != 0:
        pytest.fail(f"installing helm failed:\n{out.stderr}\n{HOW_TO_GET_HELM}", pytrace=False)
    binary = Path(out.stdout.strip().splitlines()[-1]) / "helm"
    if not binary.is_file():
        pytest.fail(f"{binary} is missing after the install. {HOW_TO_GET_HELM}", pytrace=False)
    return binary


@pytest.fixture(scope="session")
def chart(helm: Path) -> Chart:
    return Chart(helm)
