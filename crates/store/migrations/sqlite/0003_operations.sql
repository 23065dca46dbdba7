-- Operational flags, specialist registrations, and what the analysis API keeps of a
-- finished analysis (SQLite). Additive.

-- Process-wide switches every replica reads, such as `read_only` (the runbook's first
-- step on data corruption).
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Specialists announce themselves here, so every orchestrator replica lists the same set.
CREATE TABLE specialists (
    name TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    -- JSON array of capability names.
    capabilities TEXT NOT NULL,
    -- Base URL of the specialist service that hosts it.
    url TEXT NOT NULL,
    registered_at INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL
);

-- The whole analysis report (JSON), for SARIF export and results, and the job running it.
ALTER TABLE analyses ADD COLUMN report TEXT;
ALTER TABLE analyses ADD COLUMN job_id INTEGER REFERENCES jobs(id) ON DELETE SET NULL;
ALTER TABLE analyses ADD COLUMN progress REAL NOT NULL DEFAULT 0;
