-- Repositories, analyses and their results, the job queue, conversations, generated tests,
-- feedback and learned state (SQLite). Additive: later issues add columns, never drop them.
-- JSON documents are TEXT on both backends; times are milliseconds since the Unix epoch.

CREATE TABLE repositories (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    -- `path` (a directory the admin allowed) or `upload` (an archive).
    source TEXT NOT NULL CHECK (source IN ('path', 'upload')),
    location TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE analyses (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    repository_id BIGINT REFERENCES repositories(id) ON DELETE SET NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    -- Hash of the analysed content: identical content is served from earlier results.
    content_hash TEXT,
    summary TEXT,
    error TEXT,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT
);
CREATE INDEX analyses_tenant_time ON analyses (tenant_id, created_at);
CREATE INDEX analyses_content ON analyses (content_hash);

CREATE TABLE components (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    analysis_id BIGINT NOT NULL REFERENCES analyses(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('file', 'class', 'function')),
    name TEXT NOT NULL,
    start_line INTEGER,
    end_line INTEGER,
    metrics TEXT
);
CREATE INDEX components_analysis_path ON components (analysis_id, path);

CREATE TABLE findings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    analysis_id BIGINT NOT NULL REFERENCES analyses(id) ON DELETE CASCADE,
    rule_id TEXT NOT NULL,
    severity TEXT NOT NULL,
    path TEXT NOT NULL,
    line INTEGER NOT NULL,
    message TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    suppressed BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX findings_analysis_severity ON findings (analysis_id, severity);
CREATE INDEX findings_analysis_rule ON findings (analysis_id, rule_id);
CREATE INDEX findings_analysis_path ON findings (analysis_id, path);
CREATE INDEX findings_fingerprint ON findings (fingerprint);

-- The durable job queue: a worker claims a row by taking its lease; a job whose lease
-- expired (its worker died) is claimed again.
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT REFERENCES tenants(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    progress REAL NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_expires_at BIGINT,
    run_after BIGINT NOT NULL,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX jobs_claimable ON jobs (status, run_after);
CREATE INDEX jobs_lease ON jobs (lease_expires_at);

CREATE TABLE conversations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    title TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX conversations_owner ON conversations (tenant_id, user_id, updated_at);

CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id BIGINT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
    content TEXT NOT NULL,
    -- The session event id under which the message was streamed (resume without gaps).
    event_id BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX messages_conversation ON messages (conversation_id, id);

CREATE TABLE reasoning_traces (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    conversation_id BIGINT REFERENCES conversations(id) ON DELETE CASCADE,
    message_id BIGINT REFERENCES messages(id) ON DELETE CASCADE,
    steps TEXT NOT NULL,
    confidence REAL,
    created_at BIGINT NOT NULL
);
CREATE INDEX reasoning_traces_conversation ON reasoning_traces (conversation_id, id);

CREATE TABLE generated_tests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    analysis_id BIGINT REFERENCES analyses(id) ON DELETE SET NULL,
    target TEXT NOT NULL,
    framework TEXT NOT NULL,
    code TEXT NOT NULL,
    status TEXT NOT NULL,
    coverage_gain REAL,
    mutation_score REAL,
    created_at BIGINT NOT NULL
);
CREATE INDEX generated_tests_tenant_time ON generated_tests (tenant_id, created_at);

CREATE TABLE test_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    generated_test_id BIGINT NOT NULL REFERENCES generated_tests(id) ON DELETE CASCADE,
    outcome TEXT NOT NULL,
    duration_ms BIGINT NOT NULL,
    output TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX test_runs_test ON test_runs (generated_test_id, id);

-- Feedback is stored first and processed later from here (never from Redis alone).
CREATE TABLE feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    -- What the feedback is about: an answer, a reasoning step, a generated test, a finding.
    target_kind TEXT NOT NULL CHECK (target_kind IN ('answer', 'step', 'test', 'finding', 'correction')),
    target_id TEXT NOT NULL,
    -- rating, accept, reject, dismiss, confirm, correction.
    kind TEXT NOT NULL,
    rating INTEGER,
    reason TEXT,
    comment TEXT,
    processed_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX feedback_unprocessed ON feedback (processed_at, id);
CREATE INDEX feedback_target ON feedback (tenant_id, target_kind, target_id);

CREATE TABLE learning_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT REFERENCES tenants(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX learning_events_tenant_time ON learning_events (tenant_id, created_at);

CREATE TABLE learned_state_snapshots (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT REFERENCES tenants(id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX learned_state_scope_time ON learned_state_snapshots (scope, created_at);
