#!/usr/bin/env bash
# Offline checks of the deployment artefacts (deploy/, k8s/): the Prometheus scrape
# config and alert rules, with the alerts' unit tests. Run by scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m[deploy]\033[0m %s\n' "$*" >&2; }

log "promtool check config deploy/prometheus/prometheus.yml"
promtool check config deploy/prometheus/prometheus.yml >/dev/null
log "promtool test rules deploy/prometheus/alerts.test.yml"
promtool test rules deploy/prometheus/alerts.test.yml >/dev/null

# Kubernetes manifests against the API schemas (kubernetes-validate, from PyPI), the
# staging copy in step with production, the compose file against the Compose spec, and
# the runbook's kubectl commands against the manifests (scripts/check_deploy.py).
log "kubernetes-validate --strict k8s/production k8s/staging"
for env in production staging; do
  python3 -m kubernetes_validate --strict --quiet -k 1.30.0 k8s/$env/*.yaml k8s/$env/secret.yaml.example
done
bash scripts/sync-staging-manifests.sh --check
cache="${XDG_CACHE_HOME:-$HOME/.cache}/qa-agent/compose-spec"
schema="$cache/compose/config/compose_spec.json"
if [ ! -f "$schema" ]; then
  log "fetching the Compose specification's schema (docker-compose 1.29.2 wheel)"
  mkdir -p "$cache"
  python3 -m pip download --quiet --disable-pip-version-check --no-deps -d "$cache" docker-compose==1.29.2
  python3 -m zipfile -e "$cache"/docker_compose-1.29.2-py2.py3-none-any.whl "$cache"
fi
log "compose schema, runbook kubectl commands, manifests"
python3 scripts/check_deploy.py . "$schema"
