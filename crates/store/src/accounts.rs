//! Tenants, users, API keys, the audit log and process-wide settings.
//!
//! An API key is 32 random bytes shown once as `qak_<64 hex>`; only its SHA-256 is
//! stored, with its first characters (`prefix`) to tell keys apart in listings and audits.

use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::{Database, StoreError, conflict, now_ms};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: i64,
    pub name: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "member" => Some(Role::Member),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub tenant_id: i64,
    pub email: String,
    pub role: Role,
}

/// Who a valid API key speaks for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Principal {
    pub tenant_id: i64,
    pub tenant: String,
    pub user_id: i64,
    pub email: String,
    pub role: Role,
    pub key_id: i64,
    pub key_prefix: String,
}

/// What a presented key turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyCheck {
    Valid(Principal),
    Revoked,
    Unknown,
}

/// A key as listings show it (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyInfo {
    pub id: i64,
    pub tenant_id: i64,
    pub user_id: i64,
    pub prefix: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// One audited action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub tenant_id: Option<i64>,
    /// `user:<id>`, `key:<prefix>`, `cli:<login>` or the source address of a keyless call.
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub detail: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub id: i64,
    pub entry: AuditEntry,
    pub created_at: i64,
}

/// What the first start of an empty installation created.
#[derive(Debug, Clone)]
pub struct Bootstrap {
    pub tenant: Tenant,
    pub user: User,
    /// The admin key: the one given, or a new one to print once.
    pub key: String,
    pub generated: bool,
}

const KEY_PREFIX_LEN: usize = 12;

/// An [`ApiKeyInfo`] from a row of `id, tenant_id, user_id, prefix, created_at,
/// revoked_at` (either backend).
macro_rules! api_key_from {
    ($r:expr) => {
        ApiKeyInfo {
            id: $r.try_get("id")?,
            tenant_id: $r.try_get("tenant_id")?,
            user_id: $r.try_get("user_id")?,
            prefix: $r.try_get("prefix")?,
            created_at: $r.try_get("created_at")?,
            revoked_at: $r.try_get("revoked_at")?,
        }
    };
}

/// A new random API key (`qak_` and 64 hex digits).
pub fn generate_api_key() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source is available");
    let mut key = String::with_capacity(68);
    key.push_str("qak_");
    for b in bytes {
        key.push_str(&format!("{b:02x}"));
    }
    key
}

/// The stored form of a key.
pub fn hash_api_key(key: &str) -> String {
    format!("{:x}", Sha256::digest(key.as_bytes()))
}

fn key_prefix(key: &str) -> String {
    key.chars().take(KEY_PREFIX_LEN).collect()
}

impl Database {
    pub async fn create_tenant(&self, name: &str) -> Result<Tenant, StoreError> {
        let now = now_ms();
        on_pool!(self, pool => {
            let r = sqlx::query(
                "INSERT INTO tenants (name, created_at) VALUES ($1, $2) RETURNING id, name, created_at",
            )
            .bind(name)
            .bind(now)
            .fetch_one(pool)
            .await
            .map_err(|e| conflict(e, || format!("tenant `{name}`")))?;
            Ok(Tenant { id: r.try_get("id")?, name: r.try_get("name")?, created_at: r.try_get("created_at")? })
        })
    }

    pub async fn tenant_by_name(&self, name: &str) -> Result<Option<Tenant>, StoreError> {
        on_pool!(self, pool => {
            let row = sqlx::query("SELECT id, name, created_at FROM tenants WHERE name = $1")
                .bind(name)
                .fetch_optional(pool)
                .await?;
            row.map(|r| Ok(Tenant { id: r.try_get("id")?, name: r.try_get("name")?, created_at: r.try_get("created_at")? }))
                .transpose()
        })
    }

    /// Whether the installation has no tenant yet (first start).
    pub async fn is_empty(&self) -> Result<bool, StoreError> {
        let n: i64 = on_pool!(self, pool => sqlx::query_scalar("SELECT COUNT(*) FROM tenants").fetch_one(pool).await?);
        Ok(n == 0)
    }

    pub async fn create_user(
        &self,
        tenant_id: i64,
        email: &str,
        role: Role,
    ) -> Result<User, StoreError> {
        let now = now_ms();
        let id: i64 = on_pool!(self, pool => sqlx::query_scalar(
            "INSERT INTO users (tenant_id, email, role, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(tenant_id)
        .bind(email)
        .bind(role.as_str())
        .bind(now)
        .fetch_one(pool)
        .await
        .map_err(|e| conflict(e, || format!("user `{email}`")))?);
        Ok(User {
            id,
            tenant_id,
            email: email.to_string(),
            role,
        })
    }

    pub async fn user_by_email(
        &self,
        tenant_id: i64,
        email: &str,
    ) -> Result<Option<User>, StoreError> {
        on_pool!(self, pool => {
            let row = sqlx::query("SELECT id, role FROM users WHERE tenant_id = $1 AND email = $2")
                .bind(tenant_id)
                .bind(email)
                .fetch_optional(pool)
                .await?;
            row.map(|r| -> Result<User, StoreError> {
                let role: String = r.try_get("role")?;
                Ok(User {
                    id: r.try_get("id")?,
                    tenant_id,
                    email: email.to_string(),
                    role: Role::parse(&role).unwrap_or(Role::Member),
                })
            })
            .transpose()
        })
    }

    /// Stores `key` (its hash) for `user`. Use [`generate_api_key`] for a new one.
    pub async fn add_api_key(&self, user: &User, key: &str) -> Result<ApiKeyInfo, StoreError> {
        let now = now_ms();
        let prefix = key_prefix(key);
        let id: i64 = on_pool!(self, pool => sqlx::query_scalar(
            "INSERT INTO api_keys (tenant_id, user_id, key_hash, prefix, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(user.tenant_id)
        .bind(user.id)
        .bind(hash_api_key(key))
        .bind(&prefix)
        .bind(now)
        .fetch_one(pool)
        .await
        .map_err(|e| conflict(e, || "this API key".to_string()))?);
        Ok(ApiKeyInfo {
            id,
            tenant_id: user.tenant_id,
            user_id: user.id,
            prefix,
            created_at: now,
            revoked_at: None,
        })
    }

    /// Looks a presented key up by its hash.
    pub async fn check_api_key(&self, key: &str) -> Result<KeyCheck, StoreError> {
        let hash = hash_api_key(key);
        on_pool!(self, pool => {
            let row = sqlx::query(
                "SELECT k.id AS key_id, k.prefix, k.revoked_at, u.id AS user_id, u.email, u.role, \
                        t.id AS tenant_id, t.name AS tenant \
                 FROM api_keys k JOIN users u ON u.id = k.user_id JOIN tenants t ON t.id = k.tenant_id \
                 WHERE k.key_hash = $1",
            )
            .bind(&hash)
            .fetch_optional(pool)
            .await?;
            let Some(r) = row else { return Ok(KeyCheck::Unknown) };
            let revoked: Option<i64> = r.try_get("revoked_at")?;
            if revoked.is_some() {
                return Ok(KeyCheck::Revoked);
            }
            let role: String = r.try_get("role")?;
            Ok(KeyCheck::Valid(Principal {
                tenant_id: r.try_get("tenant_id")?,
                tenant: r.try_get("tenant")?,
                user_id: r.try_get("user_id")?,
                email: r.try_get("email")?,
                role: Role::parse(&role).unwrap_or(Role::Member),
                key_id: r.try_get("key_id")?,
                key_prefix: r.try_get("prefix")?,
            }))
        })
    }

    /// Whether the key `key_id` still stands (exists, not revoked): what a session token
    /// issued from it is worth.
    pub async fn api_key_active(&self, key_id: i64) -> Result<bool, StoreError> {
        let revoked: Option<Option<i64>> = on_pool!(self, pool => sqlx::query_scalar(
            "SELECT revoked_at FROM api_keys WHERE id = $1",
        )
        .bind(key_id)
        .fetch_optional(pool)
        .await?);
        Ok(matches!(revoked, Some(None)))
    }

    /// This installation's id (created on first use): it keeps the rebuildable state of
    /// two installations that share a Redis apart.
    pub async fn deployment_id(&self) -> Result<String, StoreError> {
        if let Some(id) = self.setting("deployment_id").await? {
            return Ok(id);
        }
        let fresh = generate_api_key()[4..20].to_string();
        on_pool!(self, pool => sqlx::query(
            "INSERT INTO settings (key, value, updated_at) VALUES ('deployment_id', $1, $2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(&fresh)
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(self.setting("deployment_id").await?.unwrap_or(fresh))
    }

    /// Revokes the key given whole, or by its listed prefix (at least its first
    /// [`KEY_PREFIX_LEN`] characters); returns the revoked key, or `None` when no active key
    /// matches. A prefix shared by several active keys is refused rather than guessed.
    pub async fn revoke_api_key(
        &self,
        key_or_prefix: &str,
    ) -> Result<Option<ApiKeyInfo>, StoreError> {
        let given = key_or_prefix.trim().trim_end_matches('…');
        if given.chars().count() < KEY_PREFIX_LEN {
            return Err(StoreError::Invalid(format!(
                "give the whole key or at least its first {KEY_PREFIX_LEN} characters, as `qa-agent admin list-keys` shows them"
            )));
        }
        let whole = given.len() == generate_api_key().len();
        let hash = hash_api_key(given);
        let prefix = key_prefix(given);
        let keys: Vec<ApiKeyInfo> = on_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT id, tenant_id, user_id, prefix, created_at, revoked_at FROM api_keys \
                 WHERE revoked_at IS NULL AND (($1 AND key_hash = $2) OR (NOT $1 AND prefix = $3))",
            )
            .bind(whole)
            .bind(&hash)
            .bind(&prefix)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| -> Result<ApiKeyInfo, StoreError> {
                    Ok(api_key_from!(r))
                })
                .collect::<Result<_, _>>()?
        });
        let key = match keys.as_slice() {
            [] => return Ok(None),
            [one] => one.clone(),
            _ => {
                return Err(StoreError::Invalid(format!(
                    "more than one active key starts with `{prefix}`: give the whole key"
                )));
            }
        };
        let now = now_ms();
        on_pool!(self, pool => sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2")
            .bind(now)
            .bind(key.id)
            .execute(pool)
            .await
            .map(|_| ())?);
        Ok(Some(ApiKeyInfo {
            revoked_at: Some(now),
            ..key
        }))
    }

    /// Every key, or a tenant's.
    pub async fn api_keys(&self, tenant_id: Option<i64>) -> Result<Vec<ApiKeyInfo>, StoreError> {
        on_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT id, tenant_id, user_id, prefix, created_at, revoked_at FROM api_keys \
                 WHERE $1 IS NULL OR tenant_id = $1 ORDER BY id",
            )
            .bind(tenant_id)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| Ok(api_key_from!(r)))
                .collect()
        })
    }

    pub async fn audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        on_pool!(self, pool => sqlx::query(
            "INSERT INTO audit_log (tenant_id, actor, action, target, detail, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(entry.tenant_id)
        .bind(&entry.actor)
        .bind(&entry.action)
        .bind(&entry.target)
        .bind(&entry.detail)
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|_| ())?);
        Ok(())
    }

    /// The newest audit entries first, of one tenant or (None) of every tenant and of
    /// keyless operational calls.
    pub async fn audit_log(
        &self,
        tenant_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        on_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT id, tenant_id, actor, action, target, detail, created_at FROM audit_log \
                 WHERE $1 IS NULL OR tenant_id = $1 ORDER BY id DESC LIMIT $2",
            )
            .bind(tenant_id)
            .bind(limit)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| Ok(AuditRecord {
                    id: r.try_get("id")?,
                    created_at: r.try_get("created_at")?,
                    entry: AuditEntry {
                        tenant_id: r.try_get("tenant_id")?,
                        actor: r.try_get("actor")?,
                        action: r.try_get("action")?,
                        target: r.try_get("target")?,
                        detail: r.try_get("detail")?,
                    },
                }))
                .collect()
        })
    }

    /// On an installation with no tenant: tenant `default`, its admin `admin@localhost`
    /// and an API key for it (`key`, else a new one), in one transaction, so a failure
    /// leaves nothing half made. `None` when tenants exist, including when another
    /// replica bootstrapped first.
    pub async fn bootstrap(&self, key: Option<&str>) -> Result<Option<Bootstrap>, StoreError> {
        if !self.is_empty().await? {
            return Ok(None);
        }
        let (key, generated) = match key {
            Some(k) => (k.to_string(), false),
            None => (generate_api_key(), true),
        };
        let now = now_ms();
        let email = "admin@localhost";
        let prefix = key_prefix(&key);
        let ids: Option<(i64, i64)> = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let tenant: Option<i64> = sqlx::query_scalar(
                "INSERT INTO tenants (name, created_at) VALUES ('default', $1) \
                 ON CONFLICT (name) DO NOTHING RETURNING id",
            )
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            match tenant {
                None => None,
                Some(tenant) => {
                    let user: i64 = sqlx::query_scalar(
                        "INSERT INTO users (tenant_id, email, role, created_at) VALUES ($1, $2, 'admin', $3) RETURNING id",
                    )
                    .bind(tenant)
                    .bind(email)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                    sqlx::query(
                        "INSERT INTO api_keys (tenant_id, user_id, key_hash, prefix, created_at) VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(tenant)
                    .bind(user)
                    .bind(hash_api_key(&key))
                    .bind(&prefix)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "INSERT INTO audit_log (tenant_id, actor, action, target, detail, created_at) \
                         VALUES ($1, 'system', 'bootstrap', $2, 'first start: tenant `default`, admin admin@localhost', $3)",
                    )
                    .bind(tenant)
                    .bind(format!("key:{prefix}"))
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Some((tenant, user))
                }
            }
        });
        Ok(ids.map(|(tenant, user)| Bootstrap {
            tenant: Tenant {
                id: tenant,
                name: "default".into(),
                created_at: now,
            },
            user: User {
                id: user,
                tenant_id: tenant,
                email: email.into(),
                role: Role::Admin,
            },
            key,
            generated,
        }))
    }

    /// A process-wide setting every replica sees (e.g. `read_only`).
    pub async fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(
            on_pool!(self, pool => sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_optional(pool)
            .await?),
        )
    }

    /// Every setting whose key starts with `prefix`, in one query.
    pub async fn settings_with_prefix(
        &self,
        prefix: &str,
    ) -> Result<std::collections::HashMap<String, String>, StoreError> {
        let like = format!("{}%", prefix.replace('%', "\\%").replace('_', "\\_"));
        let rows: Vec<(String, String)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT key, value FROM settings WHERE key LIKE $1 ESCAPE '\\'",
        )
        .bind(like)
        .fetch_all(pool)
        .await?);
        Ok(rows.into_iter().collect())
    }

    pub async fn set_setting(&self, key: &str, value: &str) -> Result<(), StoreError> {
        on_pool!(self, pool => sqlx::query(
            "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(key)
        .bind(value)
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|_| ())?);
        Ok(())
    }

    /// Read-only mode: every write through the API answers 503, reads keep working.
    pub async fn read_only(&self) -> Result<bool, StoreError> {
        Ok(self.setting("read_only").await?.as_deref() == Some("on"))
    }
}
