-- Agent tasks (POST /api/v1/agent/tasks) are stored as reasoning traces: who asked what,
-- the steps as they were taken, the answer, and its quality score. A trace is written
-- when the task starts (status `running`) and completed at the end; one left `running`
-- by a process that died is reported as `interrupted`.
ALTER TABLE reasoning_traces ADD COLUMN user_id BIGINT REFERENCES users(id) ON DELETE SET NULL;
ALTER TABLE reasoning_traces ADD COLUMN question TEXT;
ALTER TABLE reasoning_traces ADD COLUMN status TEXT NOT NULL DEFAULT 'done';
ALTER TABLE reasoning_traces ADD COLUMN intent TEXT;
ALTER TABLE reasoning_traces ADD COLUMN specialists TEXT;
ALTER TABLE reasoning_traces ADD COLUMN answer TEXT;
ALTER TABLE reasoning_traces ADD COLUMN quality DOUBLE PRECISION;
ALTER TABLE reasoning_traces ADD COLUMN analysis_id BIGINT REFERENCES analyses(id) ON DELETE SET NULL;
ALTER TABLE reasoning_traces ADD COLUMN duration_ms BIGINT;
ALTER TABLE reasoning_traces ADD COLUMN finished_at BIGINT;
CREATE INDEX reasoning_traces_tenant_time ON reasoning_traces (tenant_id, id);
CREATE INDEX reasoning_traces_user_time ON reasoning_traces (tenant_id, user_id, id);
