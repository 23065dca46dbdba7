#!/usr/bin/env bash
# The runbook's rollback notice: posts JSON to ROLLBACK_WEBHOOK_URL (Slack- and
# Teams-compatible `text`, plus the details for other receivers).
#   ROLLBACK_WEBHOOK_URL=https://hooks.example.com/... scripts/send_rollback_notification.sh ["why"]
# The version now running is read from the orchestrator (QA_AGENT_ORCHESTRATOR_URL,
# default http://127.0.0.1:8000). Exit 1 when the webhook does not accept it.
set -euo pipefail
url=${ROLLBACK_WEBHOOK_URL:-}
if [ -z "$url" ]; then
  echo "set ROLLBACK_WEBHOOK_URL to the webhook to notify" >&2
  exit 2
fi
env=${QA_AGENT_ENVIRONMENT:-production}
orchestrator=${QA_AGENT_ORCHESTRATOR_URL:-http://127.0.0.1:8000}
version=$(curl -fsS --max-time 5 "$orchestrator/health/detailed" 2>/dev/null | jq -r '.version // empty' 2>/dev/null || true)
version=${version:-unknown (the orchestrator did not answer)}
message=${1:-qa-agent was rolled back}
payload=$(jq -n \
  --arg env "$env" --arg version "$version" --arg message "$message" \
  --arg host "$(hostname)" --arg at "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  '{text: ("[" + $env + "] " + $message + "; now running qa-agent " + $version),
    event: "rollback", environment: $env, version: $version, message: $message,
    host: $host, at: $at}')
if ! curl -fsS --max-time 10 -X POST -H 'Content-Type: application/json' \
  --data "$payload" "$url" >/dev/null; then
  echo "the webhook at ${url%%/*}//$(cut -d/ -f3 <<<"$url")/… did not accept the rollback notification" >&2
  exit 1
fi
# The URL is the webhook's secret: only its host is printed.
echo "rollback notification sent to $(cut -d/ -f3 <<<"$url")"
