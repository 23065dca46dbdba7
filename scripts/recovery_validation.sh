#!/usr/bin/env bash
# The runbook's last recovery step: the restored deployment must be healthy. `qa-agent
# restore` itself already compared every table's rows with the backup's manifest (and
# exited 1 on a difference); this checks the services on top of that data.
#   scripts/recovery_validation.sh [doctor options]   e.g. --host agent-orchestrator --api-key KEY
# Exit code: doctor's (0 healthy, 1 P2, 3 P1, 4 P0).
set -uo pipefail
. "$(dirname "$0")/lib/qa-agent.sh"
qa_agent doctor "$@"
