-- The conversation manager's sessions are conversations: every event sent to a client
-- is stored with an id that increases per conversation, so a client that reconnects
-- (to any replica) resumes after the last id it saw, without gaps or duplicates.
ALTER TABLE conversations ADD COLUMN last_event_id BIGINT NOT NULL DEFAULT 0;

CREATE TABLE conversation_events (
    conversation_id BIGINT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    event_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, event_id)
);
