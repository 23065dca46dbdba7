//! Which tenant owns a record, asked only after a tenant-scoped lookup missed: tells a
//! request for another tenant's record (counted as a cross-tenant denial, a security
//! signal) from one for a record that does not exist. Both still answer 404.

use sqlx::Row;

use crate::{Database, StoreError};

/// The records looked up by id in the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owned {
    Analysis,
    Conversation,
    Task,
    GeneratedTests,
    Feedback,
}

impl Owned {
    pub fn as_str(self) -> &'static str {
        match self {
            Owned::Analysis => "analysis",
            Owned::Conversation => "conversation",
            Owned::Task => "task",
            Owned::GeneratedTests => "generated_tests",
            Owned::Feedback => "feedback",
        }
    }

    fn table(self) -> &'static str {
        match self {
            Owned::Analysis => "analyses",
            Owned::Conversation => "conversations",
            Owned::Task => "reasoning_traces",
            Owned::GeneratedTests => "generated_tests",
            Owned::Feedback => "feedback",
        }
    }
}

impl Database {
    /// The tenant that owns record `id` of `kind`, if it exists.
    pub async fn owner_of(&self, kind: Owned, id: i64) -> Result<Option<i64>, StoreError> {
        // The table name comes from the closed list above, never from input.
        let sql = format!("SELECT tenant_id FROM {} WHERE id = $1", kind.table());
        on_pool!(self, pool => {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(id)
                .fetch_optional(pool)
                .await?;
            Ok(row.map(|r| r.try_get::<i64, _>("tenant_id")).transpose()?)
        })
    }
}
