//! What understanding by meaning costs per question: encoding one question, and a batch
//! of 32 (a planner's examples are embedded in such batches). Needs the encoder's files
//! in `QA_AGENT_ENCODER_DIR` (scripts/fetch-model.sh); without them nothing is measured.
//!
//! `QA_AGENT_ENCODER_DIR=... cargo bench -p qa-embed`

use std::sync::OnceLock;

use qa_embed::Encoder;

fn main() {
    divan::main();
}

fn encoder() -> Option<&'static Encoder> {
    static E: OnceLock<Option<Encoder>> = OnceLock::new();
    E.get_or_init(|| {
        let dir = std::env::var_os("QA_AGENT_ENCODER_DIR")?;
        Some(Encoder::load(std::path::Path::new(&dir)).expect("the encoder loads"))
    })
    .as_ref()
}

const QUESTION: &str =
    "is the code in a state where we can cut the 2.0 release without nasty surprises";

#[divan::bench]
fn one_question(b: divan::Bencher) {
    let Some(e) = encoder() else {
        eprintln!("QA_AGENT_ENCODER_DIR is not set: nothing measured");
        return;
    };
    b.bench(|| e.encode(&[divan::black_box(QUESTION)]).unwrap());
}

#[divan::bench]
fn batch_of_32(b: divan::Bencher) {
    let Some(e) = encoder() else { return };
    let batch: Vec<String> = (0..32).map(|i| format!("{QUESTION} ({i})")).collect();
    b.bench(|| e.encode(divan::black_box(&batch)).unwrap());
}
