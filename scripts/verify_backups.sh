#!/usr/bin/env bash
# The runbook's backup check: the newest backup in BACKUP_DIR must exist, be younger than
# MAX_AGE_HOURS (26) and restore cleanly into a scratch database (`qa-agent
# verify-backup`). Exit 1 when it does not.
#   BACKUP_DIR=/backups scripts/verify_backups.sh [--config FILE]
set -euo pipefail
. "$(dirname "$0")/lib/qa-agent.sh"
dir=${BACKUP_DIR:-backups}
newest=$(ls -1d "$dir"/qa-agent-*[0-9]Z 2>/dev/null | sort | tail -n 1 || true)
if [ -z "$newest" ]; then
  echo "no backup in $dir (run scripts/full_backup.sh)" >&2
  exit 1
fi
created=$(sed -n 's/^  "created_at": \([0-9]*\),$/\1/p' "$newest/manifest.json" 2>/dev/null || true)
if [ -z "$created" ]; then
  echo "$newest has no readable manifest.json: incomplete or damaged" >&2
  exit 1
fi
age_h=$(( ($(date +%s) - created) / 3600 ))
if [ "$age_h" -ge "${MAX_AGE_HOURS:-26}" ]; then
  echo "the newest backup, $newest, is ${age_h} h old (limit ${MAX_AGE_HOURS:-26} h)" >&2
  exit 1
fi
qa_agent verify-backup "$newest" "$@"
