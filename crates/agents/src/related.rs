//! What the asker's team accepted for similar questions (the learning engine's knowledge
//! base): which hits are similar enough to show, and how they are shown.

use serde::{Deserialize, Serialize};

use crate::planner::intent::{is_stopword, words};

/// An accepted answer, accepted test or rule explanation similar to the question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Related {
    /// `answer`, `test` or `rule`.
    pub kind: String,
    /// The earlier question, the test's target, or the rule.
    pub title: String,
    /// The beginning of what was accepted.
    pub excerpt: String,
    /// Where the whole of it is (`GET /api/v1/agent/tasks/17`).
    pub reference: String,
}

/// Share of the question's content words (stemmed, stopwords left out) that `title`
/// also has, in [0, 1]. BM25 scores are not comparable across searches, so the
/// orchestrator decides what is "similar" with this instead.
pub fn similarity(question: &str, title: &str) -> f64 {
    let content = |t: &str| -> std::collections::BTreeSet<String> {
        words(t)
            .into_iter()
            .filter(|w| w.chars().count() > 1 && !is_stopword(w))
            .collect()
    };
    let (q, t) = (content(question), content(title));
    if q.is_empty() {
        return 0.0;
    }
    q.intersection(&t).count() as f64 / q.len() as f64
}

/// The least [`similarity`] for a hit to be shown with an answer.
pub const SIMILAR: f64 = 0.5;

/// With the sentence encoder: the least cosine similarity between the question and a
/// hit's question for the hit to be shown (chosen on the replay's first held-out set;
/// bench/learning).
pub const SIMILAR_MEANING: f32 = 0.6;

/// The hits (by their questions, `titles`) to show for `question` by meaning: indices
/// with their similarity, at least `threshold` (the services use [`SIMILAR_MEANING`]),
/// most similar first, at most three.
pub fn similar_by_meaning(
    encoder: &crate::planner::SentenceEncoder,
    question: &str,
    titles: &[&str],
    threshold: f32,
) -> Result<Vec<(usize, f32)>, qa_embed::EmbedError> {
    if titles.is_empty() {
        return Ok(Vec::new());
    }
    let q = encoder.embed(question)?;
    let t = encoder.embed_cached(titles)?;
    let mut scored: Vec<(usize, f32)> = t
        .iter()
        .enumerate()
        .map(|(i, v)| (i, qa_embed::cosine(&q, v)))
        .filter(|(_, s)| *s >= threshold)
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    scored.truncate(3);
    Ok(scored)
}

/// Adds what the team accepted for similar questions to the answer: listed at its end,
/// each with where the whole of it is.
pub fn attach_related(answer: &mut crate::Answer, related: &[Related]) {
    if related.is_empty() {
        return;
    }
    let mut section = String::from("\n\n## Related, from your team's accepted work\n\n");
    for r in related {
        let what = match r.kind.as_str() {
            "answer" => "an answer rated well",
            "test" => "a test that was kept",
            _ => "a rule's explanation",
        };
        section.push_str(&format!("- “{}”: {what} ({})\n", r.title, r.reference));
    }
    answer.text.push_str(section.trim_end());
    answer.related = related.to_vec();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paraphrases_are_similar_and_other_questions_are_not() {
        let earlier = "which functions in the billing module have no tests?";
        assert!(similarity("untested functions in billing", earlier) >= SIMILAR);
        assert!(similarity("Which billing functions lack tests", earlier) >= SIMILAR);
        assert!(similarity("is there SQL injection in login?", earlier) < SIMILAR);
        assert_eq!(similarity("the and of", earlier), 0.0);
    }
}
