//! The sentence encoder on its real files (`QA_AGENT_TEST_ENCODER_DIR`, fetched by
//! scripts/test.sh; with CI=true their absence fails instead of skipping), and the
//! errors for missing or corrupt files, which need none.

use qa_embed::{EmbedError, Encoder, cosine};

#[test]
fn questions_that_mean_the_same_are_closer_than_unrelated_ones() {
    let Some(dir) = qa_embed::dir_for_tests() else {
        return;
    };
    let e = Encoder::load(&dir).unwrap();
    let v = e
        .encode(&[
            "are we ok to ship this to prod on friday",
            "would you sign off on deploying this build to customers",
            "write unit tests for parse_header",
            "",
            // Longer than the model's 128 tokens: cut, not an error.
            &"the quick brown fox jumps over the lazy dog ".repeat(40),
        ])
        .unwrap();
    assert_eq!(v.len(), 5);
    assert!(v.iter().all(|x| x.len() == 384));
    for x in &v {
        let norm: f32 = x.iter().map(|a| a * a).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-3, "{norm}");
    }
    assert!(cosine(&v[0], &v[1]) > cosine(&v[0], &v[2]) + 0.1);
    // The same text gives the same vector, alone or in a batch with others.
    let alone = e
        .encode(&["would you sign off on deploying this build to customers"])
        .unwrap();
    assert!(cosine(&alone[0], &v[1]) > 0.999);
}

#[test]
fn missing_files_are_named_with_what_to_run() {
    let dir = tempfile::tempdir().unwrap();
    let err = Encoder::load(dir.path()).unwrap_err();
    assert!(matches!(err, EmbedError::Missing(_)), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("config.json") && msg.contains("scripts/fetch-model.sh"),
        "{msg}"
    );
}

#[test]
fn corrupt_files_are_reported_not_loaded() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), b"{ not json").unwrap();
    std::fs::write(dir.path().join("tokenizer.json"), b"{}").unwrap();
    std::fs::write(dir.path().join("model.safetensors"), [0u8, 159, 146, 150]).unwrap();
    let err = Encoder::load(dir.path()).unwrap_err();
    assert!(
        matches!(&err, EmbedError::Corrupt { path, .. } if path.ends_with("config.json")),
        "{err}"
    );
    // With the real configuration and tokenizer, truncated weights are named.
    let Some(real) = qa_embed::dir_for_tests() else {
        return;
    };
    for f in ["config.json", "tokenizer.json"] {
        std::fs::copy(real.join(f), dir.path().join(f)).unwrap();
    }
    let bytes = std::fs::read(real.join("model.safetensors")).unwrap();
    std::fs::write(
        dir.path().join("model.safetensors"),
        &bytes[..bytes.len() / 2],
    )
    .unwrap();
    let err = Encoder::load(dir.path()).unwrap_err();
    assert!(
        matches!(&err, EmbedError::Corrupt { path, .. } if path.ends_with("model.safetensors")),
        "{err}"
    );
}
