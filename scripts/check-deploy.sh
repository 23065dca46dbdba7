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
