#!/usr/bin/env bash
# The runbook's weekly report, from the database (usage, answer quality and time,
# learning, incidents and operator interventions, next to the week before) and, when
# the services answer, the current state from `qa-agent doctor`.
#   scripts/generate_weekly_report.sh [--days N] [--out FILE] [doctor options]
# Reads DATABASE_URL / QA_AGENT_DATA_DIR like the services. Exit 1 if the database
# cannot be read.
set -uo pipefail
. "$(dirname "$0")/lib/qa-agent.sh"
days=7 out=
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --days) days=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
report=$(qa_agent admin report --days "$days") || { echo "cannot read the database for the report" >&2; exit 1; }
doctor=$(qa_agent doctor "${args[@]}" 2>&1)
rc=$?
text="$report

## Current state (qa-agent doctor, exit $rc)

\`\`\`
$doctor
\`\`\`"
if [ -n "$out" ]; then printf '%s\n' "$text" > "$out"; echo "report written to $out"; else printf '%s\n' "$text"; fi
