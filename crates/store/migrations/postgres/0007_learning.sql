-- The learning engine. Feedback carries what it was about, resolved when it was taken
-- (a finding's rule, fingerprint and repository; an answer's intent and route), so
-- learning never joins back to rows that may be gone. Learning is a fold over the
-- feedback that counts: a retracted one (its author undid it) or one set aside by a
-- rollback stays stored, for the audit trail, but no longer counts.
ALTER TABLE feedback ADD COLUMN context TEXT;
-- For findings: `repo:<id>` (or `tenant`) and the fingerprint, to find a fingerprint's
-- newest judgement when one is undone.
ALTER TABLE feedback ADD COLUMN scope TEXT;
ALTER TABLE feedback ADD COLUMN subject TEXT;
ALTER TABLE feedback ADD COLUMN error TEXT;
ALTER TABLE feedback ADD COLUMN retracted_at BIGINT;
ALTER TABLE feedback ADD COLUMN rolled_back_at BIGINT;
CREATE INDEX feedback_user ON feedback (tenant_id, user_id);
CREATE INDEX feedback_subject ON feedback (tenant_id, scope, subject);
CREATE INDEX learning_events_time ON learning_events (created_at);

-- Findings users dismissed, by fingerprint, per tenant and repository (`repo:<id>`,
-- or `tenant` for analyses of no repository): the newest judgement of a fingerprint
-- wins, and the row goes with the feedback that made it.
CREATE TABLE dismissals (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    feedback_id BIGINT NOT NULL REFERENCES feedback(id) ON DELETE CASCADE,
    user_id BIGINT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, scope, fingerprint)
);
