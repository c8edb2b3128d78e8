"""The Grafana dashboard: the panels the issue asks for, queries that parse as PromQL and
use only metrics the fleet exports."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from tests.observability.support import exported_names, promtool

DASHBOARD = Path(__file__).resolve().parents[2] / "helm/hume-fleet/files/dashboard.json"
# Grafana's variables, replaced by what they expand to so promtool can parse the queries.
VARIABLES = {"$__rate_interval": "1m", "$namespace": ".*"}


def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return data


def queries() -> list[str]:
    return [t["expr"] for p in dashboard()["panels"] for t in p.get("targets", [])]


def test_the_issue_panels_are_there() -> None:
    titles = {p["title"] for p in dashboard()["panels"]}
    assert {
        "Jobs by status",
        "Queue depth and jobs in progress",
        "Payload latency p50 / p95 by model",
        "API errors by code",
        "Socket reconnects and stream resets",
        "Audio seconds sent / s",
        "Media decode time p50 / p95",
    } <= titles


def test_panel_ids_are_unique_and_queries_use_the_datasource_variable() -> None:
    panels = dashboard()["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    for panel in panels:
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}


def test_every_query_parses_as_promql(tmp_path: Path) -> None:
    rules = []
    for n, expr in enumerate(queries()):
        for name, value in VARIABLES.items():
            expr = expr.replace(name, value)
        rules.append({"record": f"dashboard:query_{n}", "expr": expr})
    path = tmp_path / "dashboard-queries.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_metric_a_query_uses_is_exported() -> None:
    used = {m for q in queries() for m in re.findall(r"hume_fleet_[a-z_]+", q)}
    assert used and used <= exported_names(), used - exported_names()
