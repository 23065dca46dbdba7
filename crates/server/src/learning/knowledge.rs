//! The knowledge base as the learning engine keeps it: after every rebuild the index in
//! `models_dir/knowledge` is brought in step with the feedback that counts (answers whose
//! asker's latest rating is 4 or 5, tests whose latest verdict is accept) and with the
//! rules' explanations. Undone, rolled-back and deleted feedback drops its documents.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use qa_knowledge::{Doc, Kind, KnowledgeBase, SyncReport};
use qa_store::{FeedbackRow, StoreError};

use crate::AppState;

/// Longest body indexed per document (characters): enough for an answer or a test file.
const MAX_BODY_CHARS: usize = 20_000;

/// The learning engine's knowledge base and what it knows about its documents.
#[derive(Default)]
pub struct Knowledge {
    base: OnceLock<Arc<KnowledgeBase>>,
    /// Why it is not open, when it is not.
    error: Mutex<Option<String>>,
    /// Documents built from the database, by key: traces and generated tests do not
    /// change once finished, so each is read once.
    built: Mutex<HashMap<String, Option<Doc>>>,
    last_sync: Mutex<Option<SyncReport>>,
}

impl Knowledge {
    pub fn base(&self) -> Option<Arc<KnowledgeBase>> {
        self.base.get().cloned()
    }

    /// For `/health/detailed`.
    pub fn status(&self) -> serde_json::Value {
        match self.base() {
            Some(kb) => {
                let stats = kb.stats();
                serde_json::json!({
                    "status": "up",
                    "documents": stats.documents,
                    "by_kind": stats.by_kind,
                    "segments": stats.segments,
                    "path": stats.path,
                    "last_sync": *self.last_sync.lock().unwrap_or_else(|p| p.into_inner()),
                })
            }
            None => serde_json::json!({
                "status": "down",
                "error": self.error.lock().unwrap_or_else(|p| p.into_inner()).clone()
                    .unwrap_or_else(|| "not opened yet".into()),
            }),
        }
    }
}

/// Opens the index in `models_dir/knowledge` (the learning engine, at start).
pub async fn open(state: &AppState) {
    let dir = state.config.models_dir().join("knowledge");
    let opened = tokio::task::spawn_blocking(move || KnowledgeBase::open(&dir)).await;
    let k = &state.learning.knowledge;
    match opened {
        Ok(Ok(kb)) => {
            tracing::info!(documents = kb.stats().documents, path = ?kb.stats().path, "knowledge base open");
            let _ = k.base.set(Arc::new(kb));
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "the knowledge base cannot be opened; answers go without related knowledge");
            *k.error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
        }
        Err(e) => {
            *k.error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
        }
    }
}

/// What the counted feedback accepts, by (tenant, target kind, target id): the latest
/// verdict wins, so a later low rating or a rejection takes a document out again.
#[derive(Debug, Default)]
pub struct Accepted(BTreeMap<(i64, &'static str, String), bool>);

impl Accepted {
    pub fn observe(&mut self, row: &FeedbackRow) {
        let verdict = match (row.target_kind.as_str(), row.kind.as_str()) {
            ("answer", "rating") => row.rating.map(|r| (Kind::Answer, r >= 4)),
            ("test", "accept") => Some((Kind::Test, true)),
            ("test", "reject") => Some((Kind::Test, false)),
            _ => None,
        };
        if let Some((kind, yes)) = verdict {
            self.0
                .insert((row.tenant_id, kind.as_str(), row.target_id.clone()), yes);
        }
    }

    fn keys(&self) -> impl Iterator<Item = (i64, &'static str, &str)> {
        self.0
            .iter()
            .filter(|(_, yes)| **yes)
            .map(|((t, k, id), _)| (*t, *k, id.as_str()))
    }
}

/// Brings the index in step with `accepted` and the rules. Documents that cannot be
/// built (their answer failed, their generation is gone) are left out.
pub async fn sync(state: &AppState, accepted: &Accepted) -> Result<Option<SyncReport>, StoreError> {
    let k = &state.learning.knowledge;
    let Some(kb) = k.base() else { return Ok(None) };
    let mut docs: Vec<Doc> = rule_docs();
    let mut wanted = std::collections::HashSet::new();
    for (tenant, kind, id) in accepted.keys() {
        let key = format!("{kind}:{tenant}:{id}");
        wanted.insert(key.clone());
        let cached = k
            .built
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .cloned();
        let doc = match cached {
            Some(doc) => doc,
            None => {
                let doc = build(state, tenant, kind, id, &key).await?;
                k.built
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(key, doc.clone());
                doc
            }
        };
        docs.extend(doc);
    }
    // What is no longer accepted is not kept in memory either.
    k.built
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .retain(|key, _| wanted.contains(key));
    let report = tokio::task::spawn_blocking(move || kb.sync(&docs))
        .await
        .map_err(|e| StoreError::Invalid(e.to_string()))?
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    if report.changed() {
        tracing::info!(
            added = report.added,
            updated = report.updated,
            removed = report.removed,
            "knowledge base updated"
        );
    }
    *k.last_sync.lock().unwrap_or_else(|p| p.into_inner()) = Some(report);
    Ok(Some(report))
}

fn rule_docs() -> Vec<Doc> {
    qa_analysis::rules()
        .map(|r| Doc {
            key: format!("rule:{}", r.id),
            kind: Kind::Rule,
            tenant: None,
            title: format!("{} {}: {}", r.id, r.name, r.title),
            body: r.docs.to_string(),
            reference: format!("qa-agent rules explain {}", r.id),
        })
        .collect()
}

fn clip(text: &str) -> String {
    text.chars().take(MAX_BODY_CHARS).collect()
}

async fn build(
    state: &AppState,
    tenant: i64,
    kind: &str,
    id: &str,
    key: &str,
) -> Result<Option<Doc>, StoreError> {
    let db = &state.db.db;
    let number = |s: &str| s.parse::<i64>().ok();
    let Some(first) = id.split(':').next().and_then(number) else {
        return Ok(None);
    };
    if kind == Kind::Answer.as_str() {
        let Some(trace) = db.trace(tenant, first).await? else {
            return Ok(None);
        };
        let Some(text) = answer_field(&trace, "text") else {
            return Ok(None);
        };
        return Ok(Some(Doc {
            key: key.into(),
            kind: Kind::Answer,
            tenant: Some(tenant),
            title: trace.question,
            body: clip(&text),
            reference: format!("GET /api/v1/agent/tasks/{first}"),
        }));
    }
    // A test: `<task id>:artifact:<n>` (one an answer wrote) or `<generation id>:<name>`.
    let parts: Vec<&str> = id.split(':').collect();
    if let [_, "artifact", n] = parts[..] {
        let Some(trace) = db.trace(tenant, first).await? else {
            return Ok(None);
        };
        let artifact = trace
            .answer
            .as_deref()
            .and_then(|a| serde_json::from_str::<serde_json::Value>(a).ok())
            .and_then(|a| a["artifacts"].get(n.parse::<usize>().ok()?).cloned());
        let Some(a) = artifact else { return Ok(None) };
        return Ok(Some(Doc {
            key: key.into(),
            kind: Kind::Test,
            tenant: Some(tenant),
            title: format!(
                "{} (for “{}”)",
                a["title"].as_str().unwrap_or("test"),
                trace.question
            ),
            body: clip(a["content"].as_str().unwrap_or_default()),
            reference: format!("GET /api/v1/agent/tasks/{first}"),
        }));
    }
    let Some(generated) = db.generated_tests(tenant, first).await? else {
        return Ok(None);
    };
    let name = parts.get(1).copied().unwrap_or_default();
    let body = test_function(&generated.code, name).unwrap_or(&generated.code);
    Ok(Some(Doc {
        key: key.into(),
        kind: Kind::Test,
        tenant: Some(tenant),
        title: if name.is_empty() {
            format!("tests of {} ({})", generated.target, generated.framework)
        } else {
            format!(
                "{name}: a test of {} ({})",
                generated.target, generated.framework
            )
        },
        body: clip(body),
        reference: format!("GET /api/v1/generated-tests/{first}"),
    }))
}

fn answer_field(trace: &qa_store::TraceRecord, name: &str) -> Option<String> {
    let answer: serde_json::Value = serde_json::from_str(trace.answer.as_deref()?).ok()?;
    answer[name].as_str().map(str::to_string)
}

/// The source of one Python test function in a generated file (from its `def` to the
/// next top-level statement), when it is there.
fn test_function<'a>(code: &'a str, name: &str) -> Option<&'a str> {
    if name.is_empty() {
        return None;
    }
    let start = code
        .match_indices(&format!("def {name}("))
        .map(|(i, _)| i)
        .find(|&i| i == 0 || code[..i].ends_with('\n'))?;
    let rest = &code[start..];
    let end = rest
        .match_indices('\n')
        .map(|(i, _)| i + 1)
        .find(|&i| {
            rest[i..]
                .chars()
                .next()
                .is_some_and(|c| !c.is_whitespace() && c != '#' && c != ')')
        })
        .unwrap_or(rest.len());
    Some(&rest[..end])
}

#[cfg(test)]
mod tests {
    use super::test_function;

    #[test]
    fn one_test_function_is_cut_out_of_its_file() {
        let code = "import pytest\n\n\ndef test_a():\n    assert 1\n\n\n@pytest.mark.x\ndef test_b(x):\n    y = (\n        1\n    )\n    assert y\n\n\ndef test_c():\n    pass\n";
        assert_eq!(
            test_function(code, "test_b"),
            Some("def test_b(x):\n    y = (\n        1\n    )\n    assert y\n\n\n")
        );
        assert_eq!(
            test_function(code, "test_a"),
            Some("def test_a():\n    assert 1\n\n\n")
        );
        assert_eq!(test_function(code, "test_z"), None);
    }
}
