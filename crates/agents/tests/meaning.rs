//! The planner with the sentence encoder: questions understood by meaning, and a
//! correction covering what means the same. Needs the encoder's files
//! (`QA_AGENT_TEST_ENCODER_DIR`, fetched by scripts/test.sh); with CI=true their
//! absence fails instead of skipping.

use std::sync::{Arc, OnceLock};

use qa_agents::planner::SentenceEncoder;
use qa_agents::{Intent, LearnedState, Planner};

fn encoder() -> Option<Arc<SentenceEncoder>> {
    static ENCODER: OnceLock<Option<Arc<SentenceEncoder>>> = OnceLock::new();
    ENCODER
        .get_or_init(|| {
            qa_embed::dir_for_tests().map(|dir| {
                Arc::new(SentenceEncoder::load(&dir).expect("QA_AGENT_TEST_ENCODER_DIR loads"))
            })
        })
        .clone()
}

fn intent(p: &Planner, q: &str) -> Intent {
    p.understand(q).classification.intent
}

#[test]
fn a_question_the_words_miss_is_understood_by_its_meaning() {
    let Some(e) = encoder() else { return };
    let words = Planner::new(&LearnedState::default());
    let meaning = Planner::with_sentences(&LearnedState::default(), Some(e));
    assert!(meaning.understands_by_meaning());
    let q = "how many requests a second can this api take before it falls over";
    assert_ne!(intent(&words, q), Intent::Performance);
    assert_eq!(intent(&meaning, q), Intent::Performance);
    // What neither model knows stays not understood, rather than a guess.
    assert_eq!(
        intent(&meaning, "what's the weather in Paris?"),
        Intent::Unknown
    );
    assert_eq!(
        intent(&meaning, "write tests for parse_header"),
        Intent::WriteTests
    );
}

#[test]
fn a_correction_covers_questions_that_mean_the_same() {
    let Some(e) = encoder() else { return };
    let before = Planner::with_sentences(&LearnedState::default(), Some(e.clone()));
    let corrected =
        "is the naming and structure in src/billing/ understandable for somebody new to the team";
    let paraphrase = "would a new hire be able to follow what's going on in src/utils/dates.ts";
    assert_ne!(intent(&before, paraphrase), Intent::Review);
    let taught = LearnedState {
        extra_examples: vec![(Intent::Review, corrected.to_string())],
        ..LearnedState::default()
    };
    let after = Planner::with_sentences(&taught, Some(e));
    assert_eq!(intent(&after, corrected), Intent::Review);
    assert_eq!(intent(&after, paraphrase), Intent::Review);
}

#[test]
fn a_question_understood_twice_is_encoded_once() {
    // The API handler and the engine both understand each question.
    let Some(e) = encoder() else { return };
    let first = e.embed("which functions have no tests?").unwrap();
    let again = e.embed("which functions have no tests?").unwrap();
    assert!(Arc::ptr_eq(&first, &again));
}
