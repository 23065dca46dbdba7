#!/usr/bin/env bash
# The runbook's daily health check: `qa-agent doctor` against the deployment.
#   scripts/health_check.sh [doctor options]   e.g. --host agent-orchestrator --backups /backups
# Exit code: 0 healthy, 1 worst problem P2, 3 P1, 4 P0 (2: usage error).
set -uo pipefail
. "$(dirname "$0")/lib/qa-agent.sh"
qa_agent doctor "$@"
