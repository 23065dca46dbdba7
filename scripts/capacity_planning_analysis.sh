#!/usr/bin/env bash
# The runbook's quarterly capacity review: each service's load over INTERVAL seconds
# (300) against its CPU, memory and database-pool limits, the reasoning queue, and what
# to scale (`qa-agent capacity`), followed by the database's size and largest tables when
# psql can reach DATABASE_URL.
#   scripts/capacity_planning_analysis.sh [--host H] [--json]
set -uo pipefail
. "$(dirname "$0")/lib/qa-agent.sh"
qa_agent capacity --interval "${INTERVAL:-300}" "$@"
rc=$?
if [ -n "${DATABASE_URL:-}" ] && command -v psql >/dev/null; then
  echo "database:"
  psql "$DATABASE_URL" -qAt -F ' ' -c "SELECT '  size', pg_size_pretty(pg_database_size(current_database()))" 2>/dev/null || true
  psql "$DATABASE_URL" -qAt -F ' ' -c "SELECT '  ' || relname, pg_size_pretty(pg_total_relation_size(relid)), n_live_tup || ' rows' FROM pg_stat_user_tables ORDER BY pg_total_relation_size(relid) DESC LIMIT 8" 2>/dev/null || true
fi
exit "$rc"
