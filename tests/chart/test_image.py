"""The Dockerfile and the image's worker entry agree with the package and the chart."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

from tests.chart.render import CHART, ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text()
ENTRY = ROOT / "docker" / "start-worker.sh"


def test_base_image_is_pinned_to_an_exact_python_311_slim_release() -> None:
    (base,) = re.findall(r"^ARG PYTHON_IMAGE=(\S+)$", DOCKERFILE, re.M)
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", base)
    assert re.findall(r"^FROM (\S+)", DOCKERFILE, re.M) == ["${PYTHON_IMAGE}", "${PYTHON_IMAGE}"]


def test_image_user_matches_the_chart_security_context() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())["securityContext"]
    (user,) = re.findall(r"^USER (\S+)$", DOCKERFILE, re.M)
    assert user == f"{values['runAsUser']}:{values['runAsGroup']}"
    assert f"--uid {values['runAsUser']}" in DOCKERFILE


def test_default_command_is_the_worker_entry_the_chart_runs() -> None:
    assert re.findall(r"^CMD (.+)$", DOCKERFILE, re.M) == ['["hume-fleet-worker"]']
    assert "COPY docker/start-worker.sh /usr/local/bin/hume-fleet-worker" in DOCKERFILE
    assert ENTRY.stat().st_mode & 0o111, "docker/start-worker.sh must be executable"
    deployment = (CHART / "templates" / "worker-deployment.yaml").read_text()
    assert 'command: ["hume-fleet-worker"]' in deployment


def test_every_package_and_console_script_reaches_the_image() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = [p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]]
    allowed = (ROOT / ".dockerignore").read_text().splitlines()
    for package in packages:
        assert f"COPY {package}/ {package}/" in DOCKERFILE, package
        assert f"!{package}/" in allowed, package
    for needed in ("pyproject.toml", "constraints.txt", project["project"]["readme"]):
        assert f"!{needed}" in allowed, needed
    assert {"producer", "hume-emulator"} <= set(project["project"]["scripts"])


def test_worker_entry_uses_only_flags_the_pinned_celery_accepts() -> None:
    celery = Path(sys.executable).with_name("celery")
    help_text = subprocess.run(
        [str(celery), "worker", "--help"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    flags = set(re.findall(r"(--[a-z][a-z-]+)", ENTRY.read_text()))
    assert {"--disable-prefetch", "--queues", "--concurrency", "--without-gossip"} <= flags
    missing = {flag for flag in flags if not re.search(rf"{flag}\b", help_text)}
    assert missing == set(), f"celery worker does not accept {missing}"
