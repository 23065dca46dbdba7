//! The offline planner's intent model: multinomial naive Bayes over word unigrams and
//! bigrams, trained at start-up from `data/intents.toml` plus whatever examples the
//! learned state adds (corrections from the learning engine). Small, deterministic, and
//! explainable: the features that decided are the words of the question.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

/// What a question asks for.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    /// Overall risk of a repository or directory.
    Risk,
    Security,
    Performance,
    /// Maintainability review, refactoring.
    Review,
    /// Test strategy and what to test first.
    Testing,
    WriteTests,
    ExplainRule,
    /// Facts about one function (source, metrics).
    Function,
    Search,
    Compare,
    Capabilities,
    /// Nothing the planner knows how to do.
    Unknown,
}

impl Intent {
    pub const ALL: [Intent; 11] = [
        Intent::Risk,
        Intent::Security,
        Intent::Performance,
        Intent::Review,
        Intent::Testing,
        Intent::WriteTests,
        Intent::ExplainRule,
        Intent::Function,
        Intent::Search,
        Intent::Compare,
        Intent::Capabilities,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Intent::Risk => "risk",
            Intent::Security => "security",
            Intent::Performance => "performance",
            Intent::Review => "review",
            Intent::Testing => "testing",
            Intent::WriteTests => "write_tests",
            Intent::ExplainRule => "explain_rule",
            Intent::Function => "function",
            Intent::Search => "search",
            Intent::Compare => "compare",
            Intent::Capabilities => "capabilities",
            Intent::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<Intent> {
        Intent::ALL.into_iter().find(|i| i.as_str() == s)
    }
}

/// Words too common to show that the planner understood a question.
const STOPWORDS: &[&str] = &[
    "a", "an", "the", "is", "are", "be", "of", "in", "on", "for", "to", "and", "or", "me", "my",
    "i", "we", "you", "it", "this", "that", "these", "those", "what", "which", "how", "why",
    "where", "who", "do", "does", "did", "can", "could", "should", "would", "will", "there", "any",
    "some", "with", "about", "at", "by", "from", "our", "your", "its", "please", "here", "so",
    "than", "then", "just", "all", "get", "give", "tell", "show", "let", "us",
];

pub fn is_stopword(w: &str) -> bool {
    STOPWORDS.contains(&w)
}

/// Lower-cased words (placeholders such as `<fn>` kept whole), with a light stemming so
/// that "tests" and "test", "functions" and "function" meet.
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_placeholder = false;
    for ch in text.chars() {
        if ch == '<' {
            flush(&mut cur, &mut out);
            in_placeholder = true;
            cur.push(ch);
        } else if ch == '>' && in_placeholder {
            cur.push(ch);
            in_placeholder = false;
            out.push(std::mem::take(&mut cur));
        } else if ch.is_alphanumeric() || ch == '_' || (in_placeholder && ch != ' ') {
            cur.extend(ch.to_lowercase());
        } else {
            in_placeholder = false;
            flush(&mut cur, &mut out);
        }
    }
    flush(&mut cur, &mut out);
    out
}

fn flush(cur: &mut String, out: &mut Vec<String>) {
    if cur.is_empty() {
        return;
    }
    let w = std::mem::take(cur);
    out.push(stem(&w));
}

fn stem(w: &str) -> String {
    if w.starts_with('<') {
        return w.to_string();
    }
    for suffix in ["ies", "ing", "ed", "es", "s"] {
        if let Some(base) = w.strip_suffix(suffix)
            && base.len() >= 3
            && !w.ends_with("ss")
        {
            return match suffix {
                "ies" => format!("{base}y"),
                _ => base.to_string(),
            };
        }
    }
    w.to_string()
}

fn features(words: &[String]) -> Vec<String> {
    let mut f: Vec<String> = words.to_vec();
    f.extend(words.windows(2).map(|w| format!("{} {}", w[0], w[1])));
    f
}

/// `data/intents.toml`, parsed once.
fn data() -> &'static BTreeMap<String, toml::Value> {
    static DATA: std::sync::LazyLock<BTreeMap<String, toml::Value>> =
        std::sync::LazyLock::new(|| {
            toml::from_str(include_str!("../../data/intents.toml"))
                .expect("data/intents.toml is checked by the tests")
        });
    &DATA
}

/// The examples the model is built from: `data/intents.toml`.
pub fn builtin_examples() -> Vec<(Intent, String)> {
    let mut out = Vec::new();
    for (name, v) in data() {
        if name == "lexicon" {
            continue;
        }
        let intent = Intent::parse(name)
            .unwrap_or_else(|| panic!("data/intents.toml: unknown intent `{name}`"));
        for e in v["examples"].as_array().into_iter().flatten() {
            out.push((intent, e.as_str().unwrap_or_default().to_string()));
        }
    }
    out
}

/// Domain words by intent (`[lexicon]` of `data/intents.toml`), matched as prefixes.
pub fn builtin_lexicon() -> Vec<(Intent, String)> {
    let mut out = Vec::new();
    let data = data();
    let Some(lexicon) = data.get("lexicon").and_then(|l| l.as_table()) else {
        return out;
    };
    for (name, words) in lexicon {
        let intent = Intent::parse(name)
            .unwrap_or_else(|| panic!("data/intents.toml: unknown intent `{name}` in [lexicon]"));
        for w in words.as_array().into_iter().flatten() {
            out.push((intent, w.as_str().unwrap_or_default().to_string()));
        }
    }
    out
}

#[derive(Debug, Clone)]
pub struct IntentModel {
    priors: HashMap<Intent, f64>,
    /// log P(feature | intent), for features seen in training.
    likelihood: HashMap<Intent, HashMap<String, f64>>,
    /// log P(unseen feature | intent).
    unseen: HashMap<Intent, f64>,
    vocabulary: HashSet<String>,
    lexicon: Vec<(Intent, String)>,
}

/// How sure the model is, and of what.
#[derive(Debug, Clone, Serialize)]
pub struct Classification {
    pub intent: Intent,
    /// Posterior probability of `intent`, in [0, 1].
    pub confidence: f64,
    /// The runner-up, for the trace.
    pub alternative: Option<(Intent, f64)>,
    /// Every intent's posterior, best first (empty when nothing was understood).
    #[serde(skip)]
    pub posterior: Vec<(Intent, f64)>,
}

const ALPHA: f64 = 0.5;
/// What one domain word adds to its intent's log score (a likelihood ratio of e²).
const LEXICON_WEIGHT: f64 = 2.0;
/// Below this posterior the question is not understood.
pub(crate) const MIN_CONFIDENCE: f64 = 0.3;

impl IntentModel {
    pub fn train(examples: &[(Intent, String)]) -> IntentModel {
        let mut counts: HashMap<Intent, HashMap<String, f64>> = HashMap::new();
        let mut docs: HashMap<Intent, f64> = HashMap::new();
        let mut vocabulary = HashSet::new();
        for (intent, text) in examples {
            *docs.entry(*intent).or_default() += 1.0;
            let c = counts.entry(*intent).or_default();
            for f in features(&words(text)) {
                vocabulary.insert(f.clone());
                *c.entry(f).or_default() += 1.0;
            }
        }
        let total_docs: f64 = docs.values().sum();
        let v = vocabulary.len() as f64;
        let mut likelihood = HashMap::new();
        let mut unseen = HashMap::new();
        let mut priors = HashMap::new();
        for (intent, c) in counts {
            let total: f64 = c.values().sum();
            let denom = total + ALPHA * v;
            unseen.insert(intent, (ALPHA / denom).ln());
            likelihood.insert(
                intent,
                c.into_iter()
                    .map(|(f, n)| (f, ((n + ALPHA) / denom).ln()))
                    .collect(),
            );
            priors.insert(intent, (docs[&intent] / total_docs).ln());
        }
        IntentModel {
            priors,
            likelihood,
            unseen,
            vocabulary,
            lexicon: builtin_lexicon(),
        }
    }

    /// The intents whose domain words `word` starts with.
    fn domain_of<'a>(&'a self, word: &'a str) -> impl Iterator<Item = Intent> + 'a {
        self.lexicon
            .iter()
            .filter(move |(_, prefix)| word.starts_with(prefix.as_str()))
            .map(|(i, _)| *i)
    }

    pub fn builtin() -> IntentModel {
        IntentModel::train(&builtin_examples())
    }

    /// Whether the word is part of what the model knows (so it is not a symbol name).
    pub fn knows(&self, word: &str) -> bool {
        let w = stem(&word.to_lowercase());
        self.vocabulary.contains(&w) || self.domain_of(&w).next().is_some()
    }

    /// Classifies a question whose names were already replaced by placeholders.
    pub fn classify(&self, masked: &str) -> Classification {
        let ws = words(masked);
        // Understood at all: a known content word, a domain word, or a known pair of
        // words ("what can you do" is all common words, but a known phrase).
        let known_content = ws
            .iter()
            .filter(|w| {
                !is_stopword(w)
                    && (self.vocabulary.contains(*w) || self.domain_of(w).next().is_some())
            })
            .count()
            + ws.windows(2)
                .filter(|p| self.vocabulary.contains(&format!("{} {}", p[0], p[1])))
                .count();
        if known_content == 0 {
            return Classification {
                intent: Intent::Unknown,
                confidence: 0.0,
                alternative: None,
                posterior: Vec::new(),
            };
        }
        let fs: Vec<String> = features(&ws)
            .into_iter()
            .filter(|f| self.vocabulary.contains(f))
            .collect();
        let mut scores: Vec<(Intent, f64)> = self
            .priors
            .iter()
            .map(|(intent, prior)| {
                let l = &self.likelihood[intent];
                let u = self.unseen[intent];
                let domain = ws
                    .iter()
                    .filter(|w| self.domain_of(w).any(|i| i == *intent))
                    .count() as f64;
                let s = prior
                    + fs.iter()
                        .map(|f| l.get(f).copied().unwrap_or(u))
                        .sum::<f64>()
                    + LEXICON_WEIGHT * domain;
                (*intent, s)
            })
            .collect();
        scores.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let max = scores[0].1;
        let z: f64 = scores.iter().map(|(_, s)| (s - max).exp()).sum();
        let p = |s: f64| (s - max).exp() / z;
        let (top, top_score) = scores[0];
        let confidence = p(top_score);
        let alternative = scores.get(1).map(|(i, s)| (*i, p(*s)));
        Classification {
            intent: if confidence < MIN_CONFIDENCE {
                Intent::Unknown
            } else {
                top
            },
            confidence,
            alternative,
            posterior: scores.iter().map(|(i, s)| (*i, p(*s))).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_intent_has_examples_and_the_model_fits_them() {
        let examples = builtin_examples();
        let model = IntentModel::train(&examples);
        for intent in Intent::ALL {
            assert!(examples.iter().any(|(i, _)| *i == intent), "{intent:?}");
        }
        let right = examples
            .iter()
            .filter(|(i, e)| model.classify(e).intent == *i)
            .count();
        assert!(
            right * 100 >= examples.len() * 95,
            "{right}/{}",
            examples.len()
        );
    }

    #[test]
    fn questions_with_no_known_word_are_not_understood() {
        let model = IntentModel::builtin();
        assert_eq!(
            model.classify("what's the weather in Paris").intent,
            Intent::Unknown
        );
        assert_eq!(model.classify("").intent, Intent::Unknown);
        assert_eq!(
            model.classify("What can you do?").intent,
            Intent::Capabilities
        );
    }

    #[test]
    fn placeholders_and_plurals_are_words() {
        assert_eq!(
            words("Write tests for <fn>!"),
            ["write", "test", "for", "<fn>"]
        );
        assert_eq!(words("functions"), ["function"]);
    }
}
