#!/usr/bin/env bash
# Known-vulnerability audit of the locked dependencies (constraints.txt) with pip-audit,
# installed into .tools/audit-venv on first use.
#
# Usage: scripts/audit.sh [--offline-ok]
#   AUDIT_SERVICE=pypi|osv   the vulnerability feed (default pypi: PyPI's JSON API)
#   --offline-ok             when the feed cannot be reached from here, say so loudly and
#                            exit 0 instead of 3 (the audit is then NOT done)
# Exit: 0 every package audited and clean; 1 known vulnerabilities (listed); 3 some
# packages could not be audited (no feed reachable).
#
# pip-audit on its own reports "No known vulnerabilities found" and exits 0 even when it
# could not audit a single package (every one "skipped"); this script reads its JSON
# report and counts what was really checked.
set -euo pipefail

ROOT="$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
cd "$ROOT"
VENV="$ROOT/.tools/audit-venv"
PIP_AUDIT="pip-audit==2.10.1"
SERVICE="${AUDIT_SERVICE:-pypi}"
REPORT_ARGS=(--service "$SERVICE")
case "${1:-}" in
  "") ;;
  --offline-ok) REPORT_ARGS+=(--offline-ok) ;;
  *) echo "audit: unknown argument: $1 (expected none or --offline-ok)" >&2; exit 2 ;;
esac

if [ ! -x "$VENV/bin/pip-audit" ] || [ "$(cat "$VENV/.installed" 2>/dev/null)" != "$PIP_AUDIT" ]; then
  echo "== installing $PIP_AUDIT into $VENV"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$PIP_AUDIT"
  echo "$PIP_AUDIT" >"$VENV/.installed"
fi

REPORT="$(mktemp)"
trap 'rm -f "$REPORT"' EXIT
echo "== pip-audit -r constraints.txt (--vulnerability-service $SERVICE)"
# --no-deps --disable-pip: every pin is audited as written, nothing is resolved or installed.
set +e
"$VENV/bin/pip-audit" -r constraints.txt --no-deps --disable-pip --progress-spinner off \
  --vulnerability-service "$SERVICE" --format json --output "$REPORT" 2>"$REPORT.err"
status=$?
set -e
if [ $status -ne 0 ] && [ ! -s "$REPORT" ]; then
  # The feed itself failed (e.g. OSV's host does not resolve): nothing was audited.
  echo "audit: pip-audit failed: $(grep -m1 -E 'Error|error' "$REPORT.err" || tail -n 1 "$REPORT.err")" >&2
  echo '{"dependencies": []}' >"$REPORT"
fi
rm -f "$REPORT.err"

"$VENV/bin/python" scripts/audit_report.py "$REPORT" constraints.txt "${REPORT_ARGS[@]}"
