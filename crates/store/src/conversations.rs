//! Conversations (the conversation manager's sessions), their messages, and the events
//! sent to clients, each with an id that increases per conversation (allocated in the
//! same transaction that stores the event, so two replicas never hand out one id twice).

use sqlx::Row;

use crate::{Database, StoreError, now_ms};

#[derive(Debug, Clone, PartialEq)]
pub struct Conversation {
    pub id: i64,
    pub tenant_id: i64,
    pub user_id: i64,
    pub title: Option<String>,
    pub last_event_id: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub event_id: i64,
    pub kind: String,
    /// JSON.
    pub payload: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MessageRecord {
    pub id: i64,
    pub role: String,
    pub content: String,
    pub event_id: Option<i64>,
    pub created_at: i64,
}

macro_rules! conversation_from {
    ($r:expr) => {
        Conversation {
            id: $r.try_get("id")?,
            tenant_id: $r.try_get("tenant_id")?,
            user_id: $r.try_get("user_id")?,
            title: $r.try_get("title")?,
            last_event_id: $r.try_get("last_event_id")?,
            created_at: $r.try_get("created_at")?,
            updated_at: $r.try_get("updated_at")?,
        }
    };
}

const CONVERSATION: &str = "SELECT id, tenant_id, user_id, title, last_event_id, created_at, updated_at FROM conversations";

impl Database {
    pub async fn create_conversation(
        &self,
        tenant_id: i64,
        user_id: i64,
        title: Option<&str>,
    ) -> Result<Conversation, StoreError> {
        let now = now_ms();
        let id: i64 = on_pool!(self, pool => sqlx::query_scalar(
            "INSERT INTO conversations (tenant_id, user_id, title, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4) RETURNING id",
        )
        .bind(tenant_id)
        .bind(user_id)
        .bind(title)
        .bind(now)
        .fetch_one(pool)
        .await?);
        Ok(Conversation {
            id,
            tenant_id,
            user_id,
            title: title.map(str::to_string),
            last_event_id: 0,
            created_at: now,
            updated_at: now,
        })
    }

    /// The conversation `id` if `user_id` of `tenant_id` owns it.
    pub async fn conversation(
        &self,
        tenant_id: i64,
        user_id: i64,
        id: i64,
    ) -> Result<Option<Conversation>, StoreError> {
        let sql = format!("{CONVERSATION} WHERE id = $1 AND tenant_id = $2 AND user_id = $3");
        Ok(on_pool!(self, pool => {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .bind(tenant_id)
                .bind(user_id)
                .fetch_optional(pool)
                .await?;
            match row {
                Some(r) => Some(conversation_from!(r)),
                None => None,
            }
        }))
    }

    /// The user's conversations, most recently active first.
    pub async fn conversations(
        &self,
        tenant_id: i64,
        user_id: i64,
        limit: i64,
    ) -> Result<Vec<Conversation>, StoreError> {
        let sql = format!(
            "{CONVERSATION} WHERE tenant_id = $1 AND user_id = $2 ORDER BY updated_at DESC, id DESC LIMIT $3"
        );
        Ok(on_pool!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(tenant_id)
                .bind(user_id)
                .bind(limit)
                .fetch_all(pool)
                .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                out.push(conversation_from!(r));
            }
            out
        }))
    }

    /// Deletes the user's conversation with its messages and events; whether it existed.
    pub async fn delete_conversation(
        &self,
        tenant_id: i64,
        user_id: i64,
        id: i64,
    ) -> Result<bool, StoreError> {
        let n = on_pool!(self, pool => sqlx::query(
            "DELETE FROM conversations WHERE id = $1 AND tenant_id = $2 AND user_id = $3",
        )
        .bind(id)
        .bind(tenant_id)
        .bind(user_id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected())?);
        Ok(n > 0)
    }

    /// Stores an event under the conversation's next id (and, for a message, the
    /// message with it), in one transaction; returns the id and the conversation's
    /// creation time (with its id, what tells it apart from another database's).
    pub async fn append_event(
        &self,
        conversation_id: i64,
        kind: &str,
        payload: &str,
        message: Option<(&str, &str)>,
    ) -> Result<(i64, i64), StoreError> {
        self.append_event_after(conversation_id, None, kind, payload, message)
            .await?
            .ok_or_else(|| StoreError::Invalid(format!("conversation {conversation_id} is gone")))
    }

    /// As [`Database::append_event`], but only if the conversation's last event is still
    /// `expected` (when given): `None` when another event came first. Two replicas that
    /// both find a turn interrupted store one report, not two.
    pub async fn append_event_after(
        &self,
        conversation_id: i64,
        expected: Option<i64>,
        kind: &str,
        payload: &str,
        message: Option<(&str, &str)>,
    ) -> Result<Option<(i64, i64)>, StoreError> {
        let now = now_ms();
        Ok(on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let row: Option<(i64, i64)> = sqlx::query_as(
                "UPDATE conversations SET last_event_id = last_event_id + 1, updated_at = $2 \
                 WHERE id = $1 AND ($3 IS NULL OR last_event_id = $3) RETURNING last_event_id, created_at",
            )
            .bind(conversation_id)
            .bind(now)
            .bind(expected)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((id, created_at)) = row else {
                return Ok(None);
            };
            sqlx::query(
                "INSERT INTO conversation_events (conversation_id, event_id, kind, payload, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(conversation_id)
            .bind(id)
            .bind(kind)
            .bind(payload)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if let Some((role, content)) = message {
                sqlx::query(
                    "INSERT INTO messages (conversation_id, role, content, event_id, created_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(conversation_id)
                .bind(role)
                .bind(content)
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                if role == "user" {
                    // The first question names the conversation in lists.
                    sqlx::query("UPDATE conversations SET title = $2 WHERE id = $1 AND title IS NULL")
                        .bind(conversation_id)
                        .bind(title_of(content))
                        .execute(&mut *tx)
                        .await?;
                }
            }
            tx.commit().await?;
            Some((id, created_at))
        }))
    }

    /// The conversation's events after `after`, in order, at most `limit`.
    pub async fn events_after(
        &self,
        conversation_id: i64,
        after: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        Ok(on_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT event_id, kind, payload, created_at FROM conversation_events \
                 WHERE conversation_id = $1 AND event_id > $2 ORDER BY event_id LIMIT $3",
            )
            .bind(conversation_id)
            .bind(after)
            .bind(limit)
            .fetch_all(pool)
            .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                out.push(StoredEvent {
                    event_id: r.try_get("event_id")?,
                    kind: r.try_get("kind")?,
                    payload: r.try_get("payload")?,
                    created_at: r.try_get("created_at")?,
                });
            }
            out
        }))
    }

    pub async fn messages(&self, conversation_id: i64) -> Result<Vec<MessageRecord>, StoreError> {
        Ok(on_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT id, role, content, event_id, created_at FROM messages \
                 WHERE conversation_id = $1 ORDER BY id",
            )
            .bind(conversation_id)
            .fetch_all(pool)
            .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                out.push(MessageRecord {
                    id: r.try_get("id")?,
                    role: r.try_get("role")?,
                    content: r.try_get("content")?,
                    event_id: r.try_get("event_id")?,
                    created_at: r.try_get("created_at")?,
                });
            }
            out
        }))
    }
}

/// Feedback as a client gives it (stored first, processed later by the learning engine).
#[derive(Debug, Clone, Default)]
pub struct NewFeedback {
    pub tenant_id: i64,
    pub user_id: Option<i64>,
    pub target_kind: String,
    pub target_id: String,
    pub kind: String,
    pub rating: Option<i32>,
    pub reason: Option<String>,
    pub comment: Option<String>,
    /// What it was about, resolved when it was taken (JSON; see the learning engine).
    pub context: Option<String>,
    /// For findings: the repository scope (`repo:<id>`) and the fingerprint.
    pub scope: Option<String>,
    pub subject: Option<String>,
}

impl Database {
    pub async fn add_feedback(&self, f: &NewFeedback) -> Result<i64, StoreError> {
        Ok(on_pool!(self, pool => sqlx::query_scalar(
            "INSERT INTO feedback (tenant_id, user_id, target_kind, target_id, kind, rating, reason, comment, created_at, \
             context, scope, subject) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        )
        .bind(f.tenant_id)
        .bind(f.user_id)
        .bind(&f.target_kind)
        .bind(&f.target_id)
        .bind(&f.kind)
        .bind(f.rating)
        .bind(&f.reason)
        .bind(&f.comment)
        .bind(now_ms())
        .bind(&f.context)
        .bind(&f.scope)
        .bind(&f.subject)
        .fetch_one(pool)
        .await?))
    }

    /// The tenant's feedback about one thing (an answer's task id, a finding's
    /// fingerprint), oldest first.
    pub async fn feedback_about(
        &self,
        tenant_id: i64,
        target_kind: &str,
        target_id: &str,
    ) -> Result<Vec<NewFeedback>, StoreError> {
        on_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT tenant_id, user_id, target_kind, target_id, kind, rating, reason, comment FROM feedback \
                 WHERE tenant_id = $1 AND target_kind = $2 AND target_id = $3 ORDER BY id",
            )
            .bind(tenant_id)
            .bind(target_kind)
            .bind(target_id)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| {
                    Ok(NewFeedback {
                        tenant_id: r.try_get("tenant_id")?,
                        user_id: r.try_get("user_id")?,
                        target_kind: r.try_get("target_kind")?,
                        target_id: r.try_get("target_id")?,
                        kind: r.try_get("kind")?,
                        rating: r.try_get("rating")?,
                        reason: r.try_get("reason")?,
                        comment: r.try_get("comment")?,
                        ..Default::default()
                    })
                })
                .collect()
        })
    }
}

/// A conversation's title from its first question: the first line, at most 80 characters.
fn title_of(question: &str) -> String {
    let line = question.trim().lines().next().unwrap_or_default().trim();
    match line.char_indices().nth(80) {
        Some((cut, _)) => format!("{}…", line[..cut].trim_end()),
        None => line.to_string(),
    }
}
