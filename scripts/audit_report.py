"""Read a pip-audit JSON report and say what was really audited (used by scripts/audit.sh).

pip-audit prints "No known vulnerabilities found" and exits 0 even when its feed could not
audit one package: each is only "skipped". Here a skipped pin is not a pass.

Exit status: 0 every pin audited and clean; 1 known vulnerabilities (each listed);
3 some pins not audited (0 with --offline-ok, after saying so on stderr).
Standard library only: it runs in pip-audit's own virtualenv.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

NOT_AUDITED = 3


def pinned(constraints: Path) -> int:
    """The number of `name==version` pins in a constraints file."""
    lines = (line.split("#", 1)[0].strip() for line in constraints.read_text().splitlines())
    return sum(1 for line in lines if "==" in line)


def verdict(report: dict[str, Any], pins: int, service: str, offline_ok: bool) -> int:
    """Print the findings; the exit status."""
    deps = report.get("dependencies", [])
    audited = [d for d in deps if "skip_reason" not in d]
    skipped = [d for d in deps if "skip_reason" in d]
    vulnerable = [d for d in audited if d.get("vulns")]
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixed = ", ".join(vuln.get("fix_versions") or []) or "no fix yet"
            print(f"VULNERABLE {dep['name']}=={dep['version']}: {vuln['id']} (fixed in {fixed})")
    print(
        f"audit: {len(audited)} of {pins} pinned packages audited against {service}, "
        f"{len(vulnerable)} with known vulnerabilities"
    )
    if vulnerable:
        return 1
    if len(audited) < pins:
        reason = skipped[0]["skip_reason"] if skipped else "the vulnerability feed failed"
        print(
            f"audit: NOT DONE for {pins - len(audited)} packages: the {service} feed cannot "
            f"be reached from here (e.g. {reason})",
            file=sys.stderr,
        )
        return 0 if offline_ok else NOT_AUDITED
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="pip-audit --format json output")
    parser.add_argument("constraints", type=Path, help="the pinned requirements audited")
    parser.add_argument("--service", default="pypi")
    parser.add_argument("--offline-ok", action="store_true")
    args = parser.parse_args(argv)
    report = json.loads(args.report.read_text())
    return verdict(report, pinned(args.constraints), args.service, args.offline_ok)


if __name__ == "__main__":
    sys.exit(main())
