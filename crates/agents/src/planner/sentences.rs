//! Intents by meaning: the question's sentence embedding (qa-embed's MiniLM) against
//! the embeddings of the intent examples and of users' corrections, nearest example
//! per intent. The word model only knows words it was shown, so a correction taught
//! it one phrasing; here a correction also covers what means the same ("go/no-go for
//! the release" near "ok to ship on friday").
//!
//! Optional: without the encoder's files the planner is the word model alone.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use qa_embed::{EmbedError, Encoder, cosine};

use super::intent::Intent;

/// Embeddings kept for texts seen before (examples and corrections are embedded again
/// each time a planner is built).
const CACHE_LIMIT: usize = 20_000;
/// Questions kept: one question is understood by the API handler and again by the
/// engine, so the second finds it here.
const RECENT_LIMIT: usize = 256;

/// The loaded encoder, shared by every planner of a process.
pub struct SentenceEncoder {
    encoder: Encoder,
    cache: Mutex<HashMap<String, Arc<Vec<f32>>>>,
    recent: Mutex<HashMap<String, Arc<Vec<f32>>>>,
}

impl std::fmt::Debug for SentenceEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentenceEncoder")
            .field("encoder", &self.encoder)
            .finish_non_exhaustive()
    }
}

impl SentenceEncoder {
    pub fn load(dir: &Path) -> Result<SentenceEncoder, EmbedError> {
        Ok(SentenceEncoder {
            encoder: Encoder::load(dir)?,
            cache: Mutex::new(HashMap::new()),
            recent: Mutex::new(HashMap::new()),
        })
    }

    /// Embeddings of texts that recur (training examples, earlier questions of the
    /// knowledge base), from the cache when seen.
    pub fn embed_cached(&self, texts: &[&str]) -> Result<Vec<Arc<Vec<f32>>>, EmbedError> {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let missing: Vec<&str> = {
            let mut m: Vec<&str> = texts
                .iter()
                .copied()
                .filter(|t| !cache.contains_key(*t))
                .collect();
            m.sort_unstable();
            m.dedup();
            m
        };
        if !missing.is_empty() {
            let vectors = self.encoder.encode(&missing)?;
            if cache.len() + missing.len() > CACHE_LIMIT {
                cache.clear();
            }
            for (t, v) in missing.iter().zip(vectors) {
                cache.insert((*t).to_string(), Arc::new(v));
            }
        }
        Ok(texts.iter().map(|t| cache[*t].clone()).collect())
    }

    /// The embedding of one question (the same text within a few questions is not
    /// encoded again).
    pub fn embed(&self, text: &str) -> Result<Arc<Vec<f32>>, EmbedError> {
        let lock = || self.recent.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(v) = lock().get(text) {
            return Ok(v.clone());
        }
        // Encoded outside the lock: other questions need not wait for this one.
        let v = Arc::new(self.encoder.encode(&[text])?.remove(0));
        let mut recent = lock();
        if recent.len() >= RECENT_LIMIT {
            recent.clear();
        }
        recent.insert(text.to_owned(), v.clone());
        Ok(v)
    }
}

/// Labelled examples, embedded.
#[derive(Debug, Clone)]
pub struct SentenceIntents {
    encoder: Arc<SentenceEncoder>,
    /// Each example, and whether a user's correction taught it.
    examples: Vec<(Intent, Arc<Vec<f32>>, bool)>,
}

/// What the nearest examples say about a question.
#[derive(Debug, Clone, PartialEq)]
pub struct Nearest {
    /// Per intent, the similarity of its nearest example, best first.
    pub by_intent: Vec<(Intent, f32)>,
    /// Per intent, the similarity of its nearest correction (intents with some).
    pub corrections: Vec<(Intent, f32)>,
}

impl SentenceIntents {
    /// Embeds the built-in examples and the users' corrections (placeholders as in
    /// the word model: `<fn>`, `<path>`).
    pub fn new(
        encoder: Arc<SentenceEncoder>,
        builtin: &[(Intent, String)],
        corrections: &[(Intent, String)],
    ) -> Result<SentenceIntents, EmbedError> {
        let labelled: Vec<(Intent, &str, bool)> = builtin
            .iter()
            .map(|(i, t)| (*i, t.as_str(), false))
            .chain(corrections.iter().map(|(i, t)| (*i, t.as_str(), true)))
            .collect();
        let texts: Vec<&str> = labelled.iter().map(|(_, t, _)| *t).collect();
        let vectors = encoder.embed_cached(&texts)?;
        Ok(SentenceIntents {
            encoder,
            examples: labelled
                .iter()
                .zip(vectors)
                .map(|((i, _, taught), v)| (*i, v, *taught))
                .collect(),
        })
    }

    pub fn nearest(&self, masked: &str) -> Result<Nearest, EmbedError> {
        let v = self.encoder.embed(masked)?;
        let mut best: HashMap<Intent, f32> = HashMap::new();
        let mut taught: HashMap<Intent, f32> = HashMap::new();
        for (intent, e, corrected) in &self.examples {
            let s = cosine(&v, e);
            let b = best.entry(*intent).or_insert(f32::MIN);
            *b = b.max(s);
            if *corrected {
                let t = taught.entry(*intent).or_insert(f32::MIN);
                *t = t.max(s);
            }
        }
        let ranked = |m: HashMap<Intent, f32>| {
            let mut v: Vec<(Intent, f32)> = m.into_iter().collect();
            v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            v
        };
        Ok(Nearest {
            by_intent: ranked(best),
            corrections: ranked(taught),
        })
    }
}
