"""The alerting rules: valid for promtool, unit-tested, about metrics that exist, each
with a runbook entry."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests.observability.support import exported_names, promtool

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "helm/hume-fleet/files/alerts.yaml"
RULE_TESTS = Path(__file__).with_name("alerts_test.yaml")
RUNBOOK = ROOT / "docs/metrics.md"


def alerts() -> list[dict[str, object]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_promtool_check_rules_passes() -> None:
    result = promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alerts())} rules found" in result.stdout


def test_promtool_rule_unit_tests_pass() -> None:
    result = promtool("test", "rules", str(RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_issue_alerts_are_there() -> None:
    names = {str(rule["alert"]) for rule in alerts()}
    assert {
        "HumeFleetQueueStalled",
        "HumeFleetJobErrorRatio",
        "HumeFleetDeadLetters",
        "HumeFleetApiAuthFailures",
        "HumeFleetPayloadLatencyHigh",
    } <= names


def test_every_metric_an_alert_uses_is_exported() -> None:
    used = set(re.findall(r"hume_fleet_[a-z_]+", RULES.read_text()))
    assert used and used <= exported_names(), used - exported_names()


def test_every_alert_has_a_severity_and_a_runbook_section() -> None:
    runbook = RUNBOOK.read_text()
    for rule in alerts():
        assert rule["labels"]["severity"] in ("warning", "critical")  # type: ignore[index]
        anchor = rule["annotations"]["runbook"]  # type: ignore[index]
        assert anchor == f"docs/metrics.md#{str(rule['alert']).lower()}"
        assert f"### {rule['alert']}" in runbook, f"docs/metrics.md has no section for {rule}"
