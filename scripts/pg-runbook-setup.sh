#!/usr/bin/env bash
# Creates the runbook's PostgreSQL role `agent_user` and its database `agent_db`, as the
# runbook's psql lines expect (`psql -h postgres-agent -U agent_user ...`). Idempotent.
#
#   scripts/pg-runbook-setup.sh            # create what is missing
#   scripts/pg-runbook-setup.sh --fresh    # also drop and recreate agent_db (tests)
#
# Connects as an admin role: PGHOST (127.0.0.1), PGPORT (5432), PGADMIN (postgres).
# AGENT_USER_PASSWORD, when set, becomes agent_user's password (production); without it
# the role relies on the server's authentication rules (trust on a local test server).
# The runbook's psql lines name no database: export PGDATABASE=agent_db before them.
set -euo pipefail
host=${PGHOST:-127.0.0.1}
port=${PGPORT:-5432}
admin=${PGADMIN:-postgres}
q() { psql -h "$host" -p "$port" -U "$admin" -d postgres -v ON_ERROR_STOP=1 -qAt "$@"; }

if [ "$(q -c "SELECT 1 FROM pg_roles WHERE rolname = 'agent_user'")" != 1 ]; then
  q -c "CREATE ROLE agent_user LOGIN"
fi
# `qa-agent verify-backup` restores into a scratch database it creates and drops.
q -c "ALTER ROLE agent_user CREATEDB"
if [ -n "${AGENT_USER_PASSWORD:-}" ]; then
  q -v pw="$AGENT_USER_PASSWORD" <<<"ALTER ROLE agent_user PASSWORD :'pw';"
fi
if [ "${1:-}" = "--fresh" ]; then
  q -c "DROP DATABASE IF EXISTS agent_db WITH (FORCE)"
fi
if [ "$(q -c "SELECT 1 FROM pg_database WHERE datname = 'agent_db'")" != 1 ]; then
  q -c "CREATE DATABASE agent_db OWNER agent_user"
fi
echo "agent_user and agent_db are ready: DATABASE_URL=postgres://agent_user@$host:$port/agent_db (export PGDATABASE=agent_db for the runbook's psql lines)"
