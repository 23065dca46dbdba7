#!/usr/bin/env bash
# The runbook's monthly performance baselines: measures every service over an interval
# (`qa-agent capacity`, INTERVAL seconds, 60) while it serves its usual traffic, compares
# with the newest baseline in BASELINE_DIR (./baselines) and saves the new one as
# baseline-<UTC time>.json. Exit 1 on a regression of more than 20% (the new baseline is
# kept all the same, so the next run compares against it only if you keep it).
#   BASELINE_DIR=/var/lib/qa-agent/baselines scripts/update_performance_baselines.sh [--host H]
set -uo pipefail
. "$(dirname "$0")/lib/qa-agent.sh"
dir=${BASELINE_DIR:-baselines}
mkdir -p "$dir"
previous=$(ls -1 "$dir"/baseline-*.json 2>/dev/null | sort | tail -n 1 || true)
new="$dir/baseline-$(date -u +%Y%m%dT%H%M%SZ).json"
args=(capacity --interval "${INTERVAL:-60}" --save "$new" "$@")
if [ -n "$previous" ]; then args+=(--compare "$previous"); fi
qa_agent "${args[@]}"
rc=$?
if [ -n "$previous" ]; then echo "compared with $previous"; else echo "first baseline: nothing to compare with"; fi
exit "$rc"
