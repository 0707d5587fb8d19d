//! Resumable training checkpoints, the same for every front end: the model file ([`SavedModel`]) plus the
//! optimizer state, early stopping's best weights, the run's position ([`Progress`]: RNG state, epoch, step,
//! schedules, history), the matmul variants the run used, and the front end's own options as JSON, in one
//! safetensors file (written atomically on native targets, as bytes for a browser download).
//!
//! Reading checks everything that can be checked without a device (the model, the position, the lengths of the
//! best weights); [`Checkpoint::restore`] checks the optimizer state against the trainer's network.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::saved::SavedModel;
use crate::tensor_file::{decode_tensors, NamedTensor};
use crate::train::{Progress, Trainer};

/// Tensor holding the optimizer's state slots, flat.
const OPTIMIZER_STATE: &str = "optimizer.state";
/// Tensor holding early stopping's best weights, flat in the model's layout.
const BEST_PARAMS: &str = "trainer.best_params";
/// Metadata key of the front end's options (JSON).
const OPTIONS: &str = "options";
/// Metadata key of the run's position (JSON).
const PROGRESS: &str = "progress";
/// Metadata key of the matmul variant chosen per shape class (JSON; absent in older checkpoints).
const MATMUL_VARIANTS: &str = "matmul_variants";

/// A checkpoint read back to resume from.
#[derive(Clone, Debug)]
pub struct Checkpoint {
    path: PathBuf,
    /// The model as it stood, with its data preprocessing.
    pub model: SavedModel,
    /// The options the interrupted run was started with, as the front end wrote them (JSON).
    pub options: String,
    /// Where the run stood.
    pub progress: Progress,
    optimizer_state: Vec<f32>,
    best_params: Vec<f32>,
    variants: BTreeMap<String, String>,
}

impl Checkpoint {
    /// Reads a checkpoint written by [`write_checkpoint`].
    #[cfg(not(target_arch = "wasm32"))]
    pub fn read(path: &Path) -> Result<Checkpoint> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Checkpoint::from_bytes(path, &bytes)
    }

    /// Parses the bytes of a checkpoint, as [`Checkpoint::read`]; `path` only names the file in errors.
    pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<Checkpoint> {
        let (tensors, meta) = decode_tensors(path, bytes)?;
        let model = SavedModel::from_tensors(path, &tensors, &meta)?;
        let entry = |key: &str| -> Result<&String> {
            meta.get(key).ok_or_else(|| {
                let why = "missing: not a resumable checkpoint (a model file, or not written by a checkpointing run)";
                Error::parse(path, Some(format!("metadata {key:?}")), why)
            })
        };
        let bad =
            |key: &str, e: serde_json::Error| Error::parse(path, Some(format!("metadata {key:?}")), e.to_string());
        let options = entry(OPTIONS)?.clone();
        let progress: Progress = serde_json::from_str(entry(PROGRESS)?).map_err(|e| bad(PROGRESS, e))?;
        let variants = match meta.get(MATMUL_VARIANTS) {
            Some(v) => serde_json::from_str(v).map_err(|e| bad(MATMUL_VARIANTS, e))?,
            None => BTreeMap::new(),
        };
        let flat = |name: &str| -> Result<Vec<f32>> {
            match tensors.iter().find(|t| t.name == name) {
                Some(t) if t.shape.len() == 1 => Ok(t.data.clone()),
                Some(t) => Err(Error::parse(
                    path,
                    Some(format!("tensor {name}")),
                    format!("has shape {:?}, expected one dimension", t.shape),
                )),
                None => Err(Error::parse(path, Some(format!("tensor {name}")), "missing: not a resumable checkpoint")),
            }
        };
        let (optimizer_state, best_params) = (flat(OPTIMIZER_STATE)?, flat(BEST_PARAMS)?);
        if best_params.len() != model.params.len() {
            let why = format!("has {} values, the model has {} parameters", best_params.len(), model.params.len());
            return Err(Error::parse(path, Some(format!("tensor {BEST_PARAMS}")), why));
        }
        Ok(Checkpoint { path: path.to_path_buf(), model, options, progress, optimizer_state, best_params, variants })
    }

    /// Makes `gpu` use the matmul variants the interrupted run used, before any plan is built, so that the resumed
    /// run computes what the uninterrupted one would have.
    pub fn apply_variants(&self, gpu: &Gpu) {
        for (class, variant) in &self.variants {
            gpu.set_tuned_choice(class, variant);
        }
    }

    /// Puts `trainer` (built for the checkpoint's model) where the checkpointed run stood.
    pub fn restore(&self, trainer: &mut Trainer<'_>) -> Result<()> {
        if trainer.model() != &self.model.model {
            let why = format!("holds a {:?} network, the trainer has {:?}", self.model.model, trainer.model());
            return Err(Error::parse(&self.path, None, why));
        }
        let (state, _) = trainer.network().optimizer_state_len();
        if self.optimizer_state.len() != state {
            let why = format!("has {} values, the optimizer keeps {state}", self.optimizer_state.len());
            return Err(Error::parse(&self.path, Some(format!("tensor {OPTIMIZER_STATE}")), why));
        }
        trainer.restore(&self.progress, &self.model.params, &self.optimizer_state, &self.best_params)
    }
}

/// The checkpoint's bytes: `model` (the trainer's weights as a [`SavedModel`]) with the trainer's state and the
/// front end's `options` (JSON); `name` only names the file in errors.
pub async fn checkpoint_bytes_async(
    trainer: &Trainer<'_>,
    model: SavedModel,
    options: &str,
    name: &Path,
) -> Result<Vec<u8>> {
    let progress = trainer.progress_async().await?;
    let state = trainer.optimizer_state_async().await?;
    let best = trainer.best_params_async().await?;
    let (extra, meta) = parts(trainer, &progress, state, best, options)?;
    model.to_bytes_with(name, extra, meta)
}

/// Writes the checkpoint of [`checkpoint_bytes_async`] to `path`, atomically (blocking).
#[cfg(not(target_arch = "wasm32"))]
pub fn write_checkpoint(trainer: &Trainer<'_>, model: SavedModel, options: &str, path: &Path) -> Result<()> {
    let (extra, meta) =
        parts(trainer, &trainer.progress()?, trainer.optimizer_state()?, trainer.best_params()?, options)?;
    model.save_with(path, extra, meta)
}

/// The tensors and metadata a checkpoint adds to the model file.
fn parts(
    trainer: &Trainer<'_>,
    progress: &Progress,
    state: Vec<f32>,
    best: Vec<f32>,
    options: &str,
) -> Result<(Vec<NamedTensor>, BTreeMap<String, String>)> {
    let extra = vec![
        NamedTensor { name: OPTIMIZER_STATE.into(), shape: vec![state.len()], data: state },
        NamedTensor { name: BEST_PARAMS.into(), shape: vec![best.len()], data: best },
    ];
    let to_json = |v: serde_json::Result<String>| v.map_err(|e| Error::config("checkpoint", e.to_string()));
    let mut meta = BTreeMap::new();
    meta.insert(OPTIONS.to_string(), options.to_string());
    meta.insert(PROGRESS.to_string(), to_json(serde_json::to_string(progress))?);
    meta.insert(MATMUL_VARIANTS.to_string(), to_json(serde_json::to_string(&trainer.gpu().tuned_choices()))?);
    Ok((extra, meta))
}
