#!/usr/bin/env bash
# After a deployment: pushes deploy/grafana/dashboards/*.json to Grafana's HTTP API,
# tagged with the qa-agent version now deployed (`qa-agent-vX.Y.Z`) and overwriting the
# previous copies.
#   GRAFANA_URL=http://grafana:3000 GRAFANA_TOKEN=glsa_... scripts/update_dashboards_for_new_version.sh [VERSION]
# VERSION defaults to `qa-agent --version`. Exit 1 when Grafana refuses one.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/qa-agent.sh
grafana=${GRAFANA_URL:-http://127.0.0.1:3000}
if [ -z "${GRAFANA_TOKEN:-}" ]; then
  echo "set GRAFANA_TOKEN to a Grafana service-account token with dashboard write access" >&2
  exit 2
fi
version=${1:-$(qa_agent --version | awk '{print $2}')}
status=0
for f in deploy/grafana/dashboards/*.json; do
  payload=$(jq --arg v "$version" '{
      dashboard: (. + {id: null,
        tags: (((.tags // []) | map(select(startswith("qa-agent-v") | not))) + ["qa-agent-v" + $v])}),
      overwrite: true,
      message: ("qa-agent " + $v)}' "$f")
  if curl -fsS --max-time 10 -X POST -H "Authorization: Bearer $GRAFANA_TOKEN" \
    -H 'Content-Type: application/json' --data "$payload" "$grafana/api/dashboards/db" >/dev/null; then
    echo "updated $(jq -r .title "$f") for qa-agent $version"
  else
    echo "Grafana at $grafana refused $(basename "$f")" >&2
    status=1
  fi
done
exit "$status"
