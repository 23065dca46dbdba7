use super::*;

fn answer(id: i64, tenant: i64, question: &str, text: &str) -> Doc {
    Doc {
        key: format!("answer:{id}"),
        kind: Kind::Answer,
        tenant: Some(tenant),
        title: question.into(),
        body: text.into(),
        reference: format!("GET /api/v1/agent/tasks/{id}"),
    }
}

fn rule(id: &str, title: &str, docs: &str) -> Doc {
    Doc {
        key: format!("rule:{id}"),
        kind: Kind::Rule,
        tenant: None,
        title: format!("{id} {title}"),
        body: docs.into(),
        reference: format!("qa-agent rules explain {id}"),
    }
}

fn corpus() -> Vec<Doc> {
    vec![
        answer(
            1,
            7,
            "which functions in the billing module have no tests?",
            "`billing/invoice.py:12` compute_total has no test; `billing/tax.py:40` apply_vat neither.",
        ),
        answer(
            2,
            7,
            "is there SQL injection in the login handler?",
            "`auth/login.py:33` builds SQL with an f-string (SEC003).",
        ),
        answer(
            3,
            8,
            "which functions in the billing module have no tests?",
            "tenant 8's private answer about its own billing code",
        ),
        rule(
            "SEC003",
            "SQL built from strings",
            "## What it does\nFinds SQL queries built by string formatting.\n## How to fix\nUse parameters.",
        ),
    ]
}

#[test]
fn a_similar_question_finds_the_accepted_answer_first() {
    let kb = KnowledgeBase::in_memory();
    kb.sync(&corpus()).unwrap();
    let hits = kb
        .search(7, "untested functions of billing", &[], 5)
        .unwrap();
    assert_eq!(hits[0].key, "answer:1", "{hits:?}");
    assert!(
        hits[0].snippet.contains("<b>billing</b>"),
        "{}",
        hits[0].snippet
    );
    assert_eq!(hits[0].reference, "GET /api/v1/agent/tasks/1");
}

#[test]
fn tenants_see_their_own_documents_and_the_global_ones_only() {
    let kb = KnowledgeBase::in_memory();
    kb.sync(&corpus()).unwrap();
    let keys = |tenant| -> Vec<String> {
        kb.search(tenant, "billing module tests SQL", &[], 10)
            .unwrap()
            .into_iter()
            .map(|h| h.key)
            .collect()
    };
    let seven = keys(7);
    assert!(seven.contains(&"answer:1".to_string()));
    assert!(!seven.contains(&"answer:3".to_string()), "{seven:?}");
    assert!(seven.contains(&"rule:SEC003".to_string()), "{seven:?}");
    let nine = keys(9);
    assert_eq!(nine, vec!["rule:SEC003".to_string()]);
}

#[test]
fn kinds_filter_the_results() {
    let kb = KnowledgeBase::in_memory();
    kb.sync(&corpus()).unwrap();
    let hits = kb.search(7, "SQL injection", &[Kind::Rule], 10).unwrap();
    assert!(hits.iter().all(|h| h.kind == Kind::Rule), "{hits:?}");
    assert_eq!(hits.len(), 1);
}

#[test]
fn sync_writes_only_what_changed_and_removes_what_is_gone() {
    let kb = KnowledgeBase::in_memory();
    let mut docs = corpus();
    assert_eq!(kb.sync(&docs).unwrap().added, 4);
    let again = kb.sync(&docs).unwrap();
    assert!(!again.changed(), "{again:?}");
    assert_eq!(again.unchanged, 4);
    docs[1].body = "fixed since: parameters are used now".into();
    docs.remove(0);
    let r = kb.sync(&docs).unwrap();
    assert_eq!((r.added, r.updated, r.removed, r.unchanged), (0, 1, 1, 2));
    assert_eq!(kb.stats().documents, 3);
    assert!(
        kb.search(7, "billing", &[Kind::Answer], 5)
            .unwrap()
            .is_empty()
    );
    let updated = kb.search(7, "parameters", &[Kind::Answer], 5).unwrap();
    assert_eq!(updated[0].key, "answer:2");
}

#[test]
fn malformed_queries_still_search_their_words_and_huge_ones_are_refused() {
    let kb = KnowledgeBase::in_memory();
    kb.sync(&corpus()).unwrap();
    let hits = kb.search(7, "billing AND (( title:\"", &[], 5).unwrap();
    assert!(!hits.is_empty());
    assert!(kb.search(7, "", &[], 5).unwrap().is_empty());
    let huge = "x".repeat(MAX_QUERY_CHARS + 1);
    assert!(matches!(
        kb.search(7, &huge, &[], 5),
        Err(KnowledgeError::Invalid(_))
    ));
}

#[test]
fn the_index_survives_a_restart_and_a_corrupt_one_is_set_aside() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("knowledge");
    {
        let kb = KnowledgeBase::open(&path).unwrap();
        kb.sync(&corpus()).unwrap();
    }
    let kb = KnowledgeBase::open(&path).unwrap();
    assert_eq!(kb.stats().documents, 4);
    assert!(
        !kb.sync(&corpus()).unwrap().changed(),
        "digests were reloaded"
    );
    drop(kb);
    // Garbage in the meta file: opened empty, the broken one kept beside it.
    std::fs::write(path.join("meta.json"), b"\xff\xfe not json").unwrap();
    let kb = KnowledgeBase::open(&path).unwrap();
    assert_eq!(kb.stats().documents, 0);
    assert!(dir.path().join("knowledge.unreadable-1").exists());
    assert_eq!(kb.sync(&corpus()).unwrap().added, 4);
}

#[test]
fn optimize_merges_segments_into_one() {
    let kb = KnowledgeBase::in_memory();
    let docs = corpus();
    for n in 1..=docs.len() {
        kb.sync(&docs[..n]).unwrap();
    }
    assert!(kb.stats().segments > 1);
    let (before, after) = kb.optimize().unwrap();
    assert!(before > 1);
    assert_eq!(after, 1);
    assert_eq!(kb.stats().documents, 4);
    assert_eq!(kb.stats().by_kind["rule"], 1);
}
