#!/usr/bin/env bash
# The runbook's full backup: database, Redis, learned models and configuration in one
# `qa-agent backup` (see docs/operations.md), verified right after it is written.
#   BACKUP_DIR=/backups scripts/full_backup.sh [--config FILE]
# Reads DATABASE_URL, REDIS_URL, QA_AGENT_DATA_DIR, QA_AGENT_MODELS_DIR like the services.
set -euo pipefail
. "$(dirname "$0")/lib/qa-agent.sh"
dir=${BACKUP_DIR:-backups}
out=$(qa_agent backup --to "$dir" "$@")
echo "$out"
backup=$(sed -n 's/^backup written to //p' <<<"$out")
qa_agent verify-backup "$backup" "$@"
