#!/usr/bin/env bash
# After a rollout: waits until every service is ready (up to READY_TIMEOUT seconds, 120),
# then runs `qa-agent doctor`; fails unless the deployment is healthy.
#   scripts/post_deployment_health_check.sh [--host HOST] [doctor options]
set -uo pipefail
. "$(dirname "$0")/lib/qa-agent.sh"
host=127.0.0.1
if [ "${1:-}" = "--host" ]; then host=$2; fi
deadline=$(( $(date +%s) + ${READY_TIMEOUT:-120} ))
for port in 8000 8001 8081 8002; do
  until curl -sf "http://$host:$port/health/ready" >/dev/null; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "not ready after ${READY_TIMEOUT:-120} s: http://$host:$port/health/ready" >&2
      curl -s "http://$host:$port/health/ready" >&2 || true
      exit 4
    fi
    sleep 2
  done
done
qa_agent doctor "$@"
