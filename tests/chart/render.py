"""Render the hume-fleet chart with the pinned helm binary and query the manifests."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "hume-fleet"
ALL_ON = CHART / "ci" / "all-on-values.yaml"
CHECK_SCRIPT = ROOT / "scripts" / "check_deploy.sh"
RELEASE = "fleet"
NAMESPACE = "media"
FULLNAME = f"{RELEASE}-hume-fleet"
WORKER = f"{FULLNAME}-worker"

Doc = dict[str, Any]


@dataclass(frozen=True)
class Manifests:
    """The documents of one render."""

    docs: list[Doc]

    def of_kind(self, kind: str) -> list[Doc]:
        return [d for d in self.docs if d["kind"] == kind]

    def kinds(self) -> set[str]:
        return {d["kind"] for d in self.docs}

    def one(self, kind: str, name: str | None = None) -> Doc:
        """The single document of this kind (and name); fails naming what was found."""
        found = [d for d in self.of_kind(kind) if name is None or d["metadata"]["name"] == name]
        names = [d["metadata"]["name"] for d in self.of_kind(kind)]
        assert len(found) == 1, f"expected one {kind} {name or ''}, found {names}"
        return found[0]

    def worker(self) -> Doc:
        return self.one("Deployment", WORKER)

    def config(self) -> dict[str, str]:
        data: dict[str, str] = self.one("ConfigMap", FULLNAME)["data"]
        return data

    def pod_specs(self) -> Iterator[tuple[str, Doc]]:
        """(workload name, pod spec) of every Deployment and Job."""
        for doc in self.docs:
            if doc["kind"] in ("Deployment", "Job"):
                yield doc["metadata"]["name"], doc["spec"]["template"]["spec"]


def container(pod_spec: Doc, name: str) -> Doc:
    return next(c for c in pod_spec["containers"] if c["name"] == name)


def env_of(cont: Doc) -> dict[str, Doc]:
    """A container's env entries by name."""
    return {e["name"]: e for e in cont.get("env", [])}


class Chart:
    """`helm template` of the chart with chosen values (merged over defaults or all-on)."""

    def __init__(self, helm: Path) -> None:
        self.helm = helm

    def _run(self, values: Doc | None, all_on: bool) -> subprocess.CompletedProcess[str]:
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as extra:
            yaml.safe_dump(values or {}, extra)
            extra.flush()
            files = [str(ALL_ON)] if all_on else []
            cmd = [str(self.helm), "template", RELEASE, str(CHART), "--namespace", NAMESPACE]
            for f in [*files, extra.name]:
                cmd += ["-f", f]
            return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)

    def render(self, values: Doc | None = None, *, all_on: bool = False) -> Manifests:
        out = self._run(values, all_on)
        assert out.returncode == 0, f"helm template failed:\n{out.stderr}"
        return Manifests([d for d in yaml.safe_load_all(out.stdout) if d])

    def render_error(self, values: Doc, *, all_on: bool = False) -> str:
        """helm's error message for values the chart must refuse."""
        out = self._run(values, all_on)
        assert out.returncode != 0, f"rendering should have failed for {values}"
        return out.stderr
