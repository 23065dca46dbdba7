-- Run once when the PostgreSQL volume is created: the runbook's slow-query check reads
-- pg_stat_statements (its column is `total_exec_time` on PostgreSQL 13 and later).
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
