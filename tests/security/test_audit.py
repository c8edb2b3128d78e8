"""`scripts/audit.sh` reads pip-audit's JSON report itself: a pin the feed could not audit
is not a pass (pip-audit alone says "No known vulnerabilities found" and exits 0 then).
Reports below are in pip-audit 2.10's format; the first is what it writes on this network."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scripts.audit_report import NOT_AUDITED, main

PINS = "# locked\ncelery==5.7.0\nredis==8.1.0  # broker and store\n-e .\n"
SKIPPED = "Dependency not found on PyPI and could not be audited: celery (5.7.0)"


def audit(tmp_path: Path, deps: list[dict[str, Any]], *flags: str) -> int:
    (tmp_path / "constraints.txt").write_text(PINS)
    (tmp_path / "report.json").write_text(json.dumps({"dependencies": deps, "fixes": []}))
    return main([str(tmp_path / "report.json"), str(tmp_path / "constraints.txt"), *flags])


def clean(name: str, version: str) -> dict[str, Any]:
    return {"name": name, "version": version, "vulns": []}


def test_every_pin_audited_and_clean_passes(tmp_path: Path) -> None:
    assert audit(tmp_path, [clean("celery", "5.7.0"), clean("redis", "8.1.0")]) == 0


def test_a_known_vulnerability_fails_and_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vuln = {"id": "PYSEC-2026-1", "fix_versions": ["8.1.1"], "aliases": [], "description": "x"}
    deps = [clean("celery", "5.7.0"), {"name": "redis", "version": "8.1.0", "vulns": [vuln]}]
    assert audit(tmp_path, deps, "--offline-ok") == 1
    assert "VULNERABLE redis==8.1.0: PYSEC-2026-1 (fixed in 8.1.1)" in capsys.readouterr().out


def test_pins_the_feed_could_not_audit_are_not_a_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deps = [{"name": "celery", "skip_reason": SKIPPED}, clean("redis", "8.1.0")]
    assert audit(tmp_path, deps) == NOT_AUDITED
    assert "NOT DONE for 1 packages" in capsys.readouterr().err
    # --offline-ok: said as loudly, but the run goes on
    assert audit(tmp_path, deps, "--offline-ok") == 0
    assert "NOT DONE for 1 packages" in capsys.readouterr().err


def test_a_feed_that_failed_outright_audited_nothing(tmp_path: Path) -> None:
    assert audit(tmp_path, []) == NOT_AUDITED
