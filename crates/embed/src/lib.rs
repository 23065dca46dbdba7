//! A sentence encoder for short questions: sentence-transformers' all-MiniLM-L6-v2
//! (a 6-layer BERT, 384 dimensions, mean pooling, unit length), run on the CPU with
//! candle from the model's own files (`model.safetensors`, `tokenizer.json`,
//! `config.json`).
//!
//! The word model of the planner only knows words it was shown; this one places
//! "is the code in a state where we can cut the release" near "are we ok to ship",
//! which is what a correction has to generalise over. The files are not in the
//! repository (90 MB): `scripts/fetch-model.sh` fetches them (the services look in
//! `QA_AGENT_ENCODER_DIR`, by default `data_dir/encoder/all-MiniLM-L6-v2`), and
//! without them callers fall back to the word model.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{PaddingParams, Tokenizer, TruncationParams};

/// The model's name, and its directory's under `data_dir/encoder`.
pub const MODEL_NAME: &str = "all-MiniLM-L6-v2";
/// Questions are short; longer text is cut (the model was trained on 128 tokens).
const MAX_TOKENS: usize = 128;

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error(
        "the sentence encoder's file {0} is missing; run scripts/fetch-model.sh [DIR] (DIR: the encoder directory, QA_AGENT_ENCODER_DIR)"
    )]
    Missing(PathBuf),
    #[error(
        "the sentence encoder's file {path} is unreadable or corrupt ({reason}); delete the directory and run scripts/fetch-model.sh again"
    )]
    Corrupt { path: PathBuf, reason: String },
    #[error("encoding failed: {0}")]
    Encode(String),
}

/// A loaded encoder. Encoding is pure: the same text always gives the same vector.
pub struct Encoder {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
    dir: PathBuf,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder").field("dir", &self.dir).finish()
    }
}

impl Encoder {
    /// Loads the model from its directory (the one holding `config.json`).
    pub fn load(dir: &Path) -> Result<Encoder, EmbedError> {
        let file = |name: &str| {
            let p = dir.join(name);
            if p.is_file() {
                Ok(p)
            } else {
                Err(EmbedError::Missing(p))
            }
        };
        let corrupt = |path: &Path, e: &dyn std::fmt::Display| EmbedError::Corrupt {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        let config_path = file("config.json")?;
        let tokenizer_path = file("tokenizer.json")?;
        let weights_path = file("model.safetensors")?;

        let config: Config = std::fs::read(&config_path)
            .map_err(|e| corrupt(&config_path, &e))
            .and_then(|b| serde_json::from_slice(&b).map_err(|e| corrupt(&config_path, &e)))?;
        let mut tokenizer =
            Tokenizer::from_file(&tokenizer_path).map_err(|e| corrupt(&tokenizer_path, &e))?;
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..Default::default()
            }))
            .map_err(|e| corrupt(&tokenizer_path, &e))?;
        tokenizer.with_padding(Some(PaddingParams::default()));

        let device = Device::Cpu;
        let weights = std::fs::read(&weights_path).map_err(|e| corrupt(&weights_path, &e))?;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &device)
            .map_err(|e| corrupt(&weights_path, &e))?;
        let model = BertModel::load(vb, &config).map_err(|e| corrupt(&weights_path, &e))?;
        tracing::info!(dir = %dir.display(), "sentence encoder loaded");
        Ok(Encoder {
            model,
            tokenizer,
            device,
            dir: dir.to_path_buf(),
        })
    }

    /// Unit-length embeddings of `texts`, in order.
    pub fn encode<S: AsRef<str>>(&self, texts: &[S]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut out = Vec::with_capacity(texts.len());
        // Batches of 32 bound the padded tensor (every text is padded to the batch's
        // longest).
        for chunk in texts.chunks(32) {
            out.extend(self.encode_batch(chunk)?);
        }
        Ok(out)
    }

    fn encode_batch<S: AsRef<str>>(&self, texts: &[S]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let err = |e: &dyn std::fmt::Display| EmbedError::Encode(e.to_string());
        let inputs: Vec<&str> = texts.iter().map(|t| t.as_ref()).collect();
        let encodings = self
            .tokenizer
            .encode_batch(inputs, true)
            .map_err(|e| err(&e))?;
        let rows = |f: &dyn Fn(&tokenizers::Encoding) -> Vec<u32>| -> Result<Tensor, EmbedError> {
            let v: Vec<Tensor> = encodings
                .iter()
                .map(|e| Tensor::new(f(e), &self.device))
                .collect::<Result<_, _>>()
                .map_err(|e| err(&e))?;
            Tensor::stack(&v, 0).map_err(|e| err(&e))
        };
        let ids = rows(&|e| e.get_ids().to_vec())?;
        let type_ids = rows(&|e| e.get_type_ids().to_vec())?;
        let mask = rows(&|e| e.get_attention_mask().to_vec())?;
        let hidden = self
            .model
            .forward(&ids, &type_ids, Some(&mask))
            .map_err(|e| err(&e))?;
        // Mean over the real tokens (padding masked out), then unit length.
        let pooled = (|| {
            let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
            let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
            let counts = mask.sum(1)?;
            let mean = summed.broadcast_div(&counts)?;
            let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?;
            mean.broadcast_div(&norm)?.to_vec2::<f32>()
        })()
        .map_err(|e| err(&e))?;
        Ok(pooled)
    }
}

/// The encoder's files for tests: `QA_AGENT_TEST_ENCODER_DIR` (scripts/test.sh fetches
/// them; a name of its own, since `QA_AGENT_ENCODER_DIR` would make every test server
/// load them). Unset, a test skips with a visible line, and under CI=true fails.
pub fn dir_for_tests() -> Option<PathBuf> {
    match std::env::var_os("QA_AGENT_TEST_ENCODER_DIR") {
        Some(d) => Some(PathBuf::from(d)),
        None if std::env::var_os("CI").is_some() => {
            panic!(
                "CI must test the sentence encoder: scripts/test.sh sets QA_AGENT_TEST_ENCODER_DIR"
            )
        }
        None => {
            eprintln!(
                "skipped: QA_AGENT_TEST_ENCODER_DIR is not set (scripts/test.sh fetches the encoder)"
            );
            None
        }
    }
}

/// Cosine similarity of two unit vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
