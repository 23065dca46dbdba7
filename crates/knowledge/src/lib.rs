//! The knowledge base: what a tenant's users accepted (answers rated 4 or 5, generated
//! tests they kept) and every rule's explanation, in a tantivy index searched with BM25.
//! The learning engine keeps it in step with the feedback ([`KnowledgeBase::sync`]); the
//! orchestrator retrieves from it as context for similar later questions.
//!
//! The index is a local materialisation (`QA_AGENT_MODELS_DIR/knowledge`): the database
//! stays the source of truth, so a missing or corrupt index is set aside and rebuilt.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;
use tantivy::collector::{DocSetCollector, TopDocs};
use tantivy::query::{BooleanQuery, Occur, Query, QueryParser, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer,
};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

/// The tenant value of documents every tenant may retrieve (rule explanations).
pub const GLOBAL: &str = "global";

/// Bumped when the schema or analyzer changes: an index of another version is rebuilt.
const SCHEMA_VERSION: &str = "1";
const ANALYZER: &str = "qa_english";
/// The writer's memory budget (tantivy's minimum is 15 MB per thread; one thread).
const WRITER_BYTES: usize = 20_000_000;
/// The longest query accepted (characters): a question, not a document.
pub const MAX_QUERY_CHARS: usize = 2_000;

#[derive(Debug, thiserror::Error)]
pub enum KnowledgeError {
    #[error("knowledge index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("knowledge index directory {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

/// What a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// An answer its asker rated 4 or 5 (title: the question; body: the answer).
    Answer,
    /// A generated test a user accepted (title: its target; body: its code).
    Test,
    /// A rule's explanation (title: id and one-line title; body: its docs).
    Rule,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Answer => "answer",
            Kind::Test => "test",
            Kind::Rule => "rule",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        [Kind::Answer, Kind::Test, Kind::Rule]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// One document to index.
#[derive(Debug, Clone, PartialEq)]
pub struct Doc {
    /// Unique and stable: `answer:17`, `test:5:test_parse`, `rule:SEC001`.
    pub key: String,
    pub kind: Kind,
    /// The tenant whose users may retrieve it; `None`: every tenant.
    pub tenant: Option<i64>,
    pub title: String,
    pub body: String,
    /// Where the whole thing is (`GET /api/v1/agent/tasks/17`, `qa-agent rules explain SEC001`).
    pub reference: String,
}

/// A document found by a search.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    pub key: String,
    pub kind: Kind,
    pub title: String,
    /// The best-matching fragment of the body, matched words in `<b>…</b>`.
    pub snippet: String,
    /// The body's beginning (at most [`Hit::EXCERPT_CHARS`] characters).
    pub excerpt: String,
    pub reference: String,
    /// BM25; comparable only within one search.
    pub score: f32,
}

impl Hit {
    pub const EXCERPT_CHARS: usize = 600;
}

/// What [`KnowledgeBase::sync`] changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    pub added: usize,
    pub updated: usize,
    pub removed: usize,
    pub unchanged: usize,
}

impl SyncReport {
    pub fn changed(&self) -> bool {
        self.added + self.updated + self.removed > 0
    }
}

/// Size of the index, for health and maintenance reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub documents: u64,
    pub by_kind: std::collections::BTreeMap<String, u64>,
    pub segments: usize,
    /// Where it lives; `None` in memory.
    pub path: Option<PathBuf>,
}

struct Fields {
    key: Field,
    kind: Field,
    tenant: Field,
    title: Field,
    body: Field,
    reference: Field,
    digest: Field,
}

pub struct KnowledgeBase {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    path: Option<PathBuf>,
    /// Key → digest of every indexed document, so a sync writes only what changed.
    known: Mutex<HashMap<String, u64>>,
    /// One writer at a time (tantivy locks the directory for it anyway).
    writing: Mutex<()>,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default()
        .set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(ANALYZER)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        )
        .set_stored();
    let fields = Fields {
        key: b.add_text_field("key", STRING | STORED),
        kind: b.add_text_field("kind", STRING | STORED),
        tenant: b.add_text_field("tenant", STRING | STORED),
        title: b.add_text_field("title", text.clone()),
        body: b.add_text_field("body", text),
        reference: b.add_text_field("reference", STORED),
        digest: b.add_u64_field("digest", STORED),
    };
    b.add_text_field(&format!("schema_v{SCHEMA_VERSION}"), STORED);
    (b.build(), fields)
}

fn register(index: &Index) {
    let analyzer = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(StopWordFilter::new(Language::English).expect("tantivy ships English stopwords"))
        .filter(Stemmer::new(Language::English))
        .build();
    index.tokenizers().register(ANALYZER, analyzer);
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KnowledgeError + '_ {
    move |source| KnowledgeError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl KnowledgeBase {
    /// An index kept only in memory (tests, and the embedded CLI).
    pub fn in_memory() -> KnowledgeBase {
        let (schema, fields) = schema();
        let index = Index::create_in_ram(schema);
        Self::from_index(index, fields, None).expect("an index in memory opens")
    }

    /// Opens the index in `dir`, creating it when missing. An index that cannot be opened
    /// or was written by another schema version is moved aside (`<dir>.unreadable-<n>`)
    /// and started empty, with a log line: the caller's next sync refills it.
    pub fn open(dir: &Path) -> Result<KnowledgeBase, KnowledgeError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let (schema, fields) = schema();
        let opened = match Index::open_in_dir(dir) {
            Ok(index) if index.schema() == schema => Ok(index),
            Ok(_) => Err("it was written by another version of qa-agent".to_string()),
            Err(tantivy::TantivyError::OpenDirectoryError(_)) => {
                Index::create_in_dir(dir, schema.clone()).map_err(|e| e.to_string())
            }
            Err(e) if std::fs::read_dir(dir).map_err(io(dir))?.next().is_none() => {
                tracing::debug!(error = %e, "empty knowledge directory");
                Index::create_in_dir(dir, schema.clone()).map_err(|e| e.to_string())
            }
            Err(e) => Err(e.to_string()),
        };
        let index = match opened {
            Ok(index) => index,
            Err(why) => {
                let aside = set_aside(dir)?;
                tracing::warn!(
                    dir = %dir.display(),
                    moved_to = %aside.display(),
                    reason = %why,
                    "the knowledge index cannot be used; it was moved aside and is rebuilt from the database"
                );
                std::fs::create_dir_all(dir).map_err(io(dir))?;
                Index::create_in_dir(dir, schema)?
            }
        };
        match Self::from_index(index, fields, Some(dir.to_path_buf())) {
            Ok(kb) => Ok(kb),
            Err(e) => {
                // Opened, but its segments cannot be read: the same remedy.
                let aside = set_aside(dir)?;
                tracing::warn!(dir = %dir.display(), moved_to = %aside.display(), error = %e,
                    "the knowledge index cannot be read; it was moved aside and is rebuilt from the database");
                std::fs::create_dir_all(dir).map_err(io(dir))?;
                let (schema, fields) = self::schema();
                Self::from_index(
                    Index::create_in_dir(dir, schema)?,
                    fields,
                    Some(dir.to_path_buf()),
                )
            }
        }
    }

    fn from_index(
        index: Index,
        fields: Fields,
        path: Option<PathBuf>,
    ) -> Result<KnowledgeBase, KnowledgeError> {
        register(&index);
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let kb = KnowledgeBase {
            index,
            reader,
            fields,
            path,
            known: Mutex::new(HashMap::new()),
            writing: Mutex::new(()),
        };
        let known = kb.scan()?;
        *kb.known.lock().unwrap_or_else(|p| p.into_inner()) = known;
        Ok(kb)
    }

    /// Key → digest of every document in the index.
    fn scan(&self) -> Result<HashMap<String, u64>, KnowledgeError> {
        let searcher = self.reader.searcher();
        let all = searcher.search(&tantivy::query::AllQuery, &DocSetCollector)?;
        let mut known = HashMap::with_capacity(all.len());
        for address in all {
            let doc: TantivyDocument = searcher.doc(address)?;
            let key = doc.get_first(self.fields.key).and_then(|v| v.as_str());
            let digest = doc.get_first(self.fields.digest).and_then(|v| v.as_u64());
            if let (Some(key), Some(digest)) = (key, digest) {
                known.insert(key.to_string(), digest);
            }
        }
        Ok(known)
    }

    /// Makes the index hold exactly `docs`: new and changed documents are (re)written,
    /// ones no longer wanted removed, the rest left alone. One commit, none when nothing
    /// changed.
    pub fn sync(&self, docs: &[Doc]) -> Result<SyncReport, KnowledgeError> {
        let _writing = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let mut report = SyncReport::default();
        let mut wanted: HashMap<&str, (&Doc, u64)> = HashMap::with_capacity(docs.len());
        for d in docs {
            if d.key.is_empty() {
                return Err(KnowledgeError::Invalid("a document without a key".into()));
            }
            wanted.insert(&d.key, (d, digest(d)));
        }
        let mut writer: Option<IndexWriter> = None;
        let mut write = |f: &dyn Fn(&mut IndexWriter) -> tantivy::Result<()>| {
            if writer.is_none() {
                writer = Some(self.index.writer_with_num_threads(1, WRITER_BYTES)?);
            }
            f(writer.as_mut().expect("just set"))
        };
        let stale: Vec<String> = known
            .keys()
            .filter(|k| !wanted.contains_key(String::as_str(k)))
            .cloned()
            .collect();
        for key in stale {
            write(&|w| {
                w.delete_term(Term::from_field_text(self.fields.key, &key));
                Ok(())
            })?;
            known.remove(&key);
            report.removed += 1;
        }
        for (key, (doc, hash)) in &wanted {
            match known.get(*key) {
                Some(h) if h == hash => report.unchanged += 1,
                previous => {
                    let document = self.document(doc, *hash);
                    let replace = previous.is_some();
                    write(&|w| {
                        if replace {
                            w.delete_term(Term::from_field_text(self.fields.key, key));
                        }
                        w.add_document(document.clone())?;
                        Ok(())
                    })?;
                    if replace {
                        report.updated += 1;
                    } else {
                        report.added += 1;
                    }
                    known.insert(key.to_string(), *hash);
                }
            }
        }
        if let Some(mut w) = writer {
            w.commit()?;
            self.reader.reload()?;
            *self.known.lock().unwrap_or_else(|p| p.into_inner()) = known;
        }
        Ok(report)
    }

    fn document(&self, d: &Doc, digest: u64) -> TantivyDocument {
        let f = &self.fields;
        let mut doc = TantivyDocument::default();
        doc.add_text(f.key, &d.key);
        doc.add_text(f.kind, d.kind.as_str());
        doc.add_text(f.tenant, tenant_value(d.tenant));
        doc.add_text(f.title, &d.title);
        doc.add_text(f.body, &d.body);
        doc.add_text(f.reference, &d.reference);
        doc.add_u64(f.digest, digest);
        doc
    }

    /// The best `limit` documents for `query` that `tenant` may see (its own and the
    /// global ones), of the given kinds (all when empty). Query syntax errors are
    /// forgiven: the words still count.
    pub fn search(
        &self,
        tenant: i64,
        query: &str,
        kinds: &[Kind],
        limit: usize,
    ) -> Result<Vec<Hit>, KnowledgeError> {
        if query.chars().count() > MAX_QUERY_CHARS {
            return Err(KnowledgeError::Invalid(format!(
                "the query is longer than {MAX_QUERY_CHARS} characters"
            )));
        }
        let f = &self.fields;
        let mut parser = QueryParser::for_index(&self.index, vec![f.title, f.body]);
        parser.set_field_boost(f.title, 2.0);
        let (text_query, _errors) = parser.parse_query_lenient(query);
        let term = |field: Field, value: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(field, value),
                IndexRecordOption::Basic,
            ))
        };
        let tenants = BooleanQuery::new(vec![
            (Occur::Should, term(f.tenant, &tenant.to_string())),
            (Occur::Should, term(f.tenant, GLOBAL)),
        ]);
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![
            (Occur::Must, text_query.box_clone()),
            (Occur::Must, Box::new(tenants)),
        ];
        if !kinds.is_empty() {
            let kinds = kinds
                .iter()
                .map(|k| (Occur::Should, term(f.kind, k.as_str())))
                .collect();
            clauses.push((Occur::Must, Box::new(BooleanQuery::new(kinds))));
        }
        let query_all = BooleanQuery::new(clauses);
        let searcher = self.reader.searcher();
        let top = searcher.search(
            &query_all,
            &TopDocs::with_limit(limit.clamp(1, 100)).order_by_score(),
        )?;
        let snippets = SnippetGenerator::create(&searcher, &*text_query, f.body).ok();
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let doc: TantivyDocument = searcher.doc(address)?;
            let text = |field: Field| {
                doc.get_first(field)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string()
            };
            let body = text(f.body);
            let snippet = snippets
                .as_ref()
                .map(|g| g.snippet(&body).to_html())
                .unwrap_or_default();
            hits.push(Hit {
                key: text(f.key),
                kind: Kind::parse(&text(f.kind)).unwrap_or(Kind::Answer),
                title: text(f.title),
                snippet,
                excerpt: body.chars().take(Hit::EXCERPT_CHARS).collect(),
                reference: text(f.reference),
                score,
            });
        }
        Ok(hits)
    }

    /// Merges all segments into one and deletes the files no longer used.
    pub fn optimize(&self) -> Result<(usize, usize), KnowledgeError> {
        let _writing = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        let before = self.index.searchable_segment_ids()?;
        let mut writer: IndexWriter = self.index.writer_with_num_threads(1, WRITER_BYTES)?;
        if before.len() > 1 {
            writer.merge(&before).wait()?;
        }
        writer.garbage_collect_files().wait()?;
        writer.wait_merging_threads()?;
        self.reader.reload()?;
        let after = self.index.searchable_segment_ids()?.len();
        Ok((before.len(), after))
    }

    pub fn stats(&self) -> Stats {
        let searcher = self.reader.searcher();
        let mut by_kind = std::collections::BTreeMap::new();
        for kind in [Kind::Answer, Kind::Test, Kind::Rule] {
            let n = searcher
                .doc_freq(&Term::from_field_text(self.fields.kind, kind.as_str()))
                .unwrap_or(0);
            by_kind.insert(kind.as_str().to_string(), n);
        }
        Stats {
            documents: searcher.num_docs(),
            by_kind,
            segments: searcher.segment_readers().len(),
            path: self.path.clone(),
        }
    }
}

fn tenant_value(tenant: Option<i64>) -> String {
    tenant.map_or_else(|| GLOBAL.to_string(), |t| t.to_string())
}

fn digest(d: &Doc) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for part in [
        d.kind.as_str(),
        &tenant_value(d.tenant),
        &d.title,
        &d.body,
        &d.reference,
    ] {
        h.update(part.as_bytes());
        h.update(&[0]);
    }
    h.digest()
}

/// Moves an unusable index directory out of the way, keeping it for inspection.
fn set_aside(dir: &Path) -> Result<PathBuf, KnowledgeError> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "knowledge".into());
    for n in 1.. {
        let aside = dir.with_file_name(format!("{name}.unreadable-{n}"));
        if !aside.exists() {
            std::fs::rename(dir, &aside).map_err(io(dir))?;
            return Ok(aside);
        }
    }
    unreachable!("some suffix is free")
}

#[cfg(test)]
mod tests;
