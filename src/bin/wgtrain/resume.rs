//! Resumable checkpoints: the model file plus optimizer state, early stopping's best weights, the run's position
//! (RNG state, epoch, step, schedules) and the options it was started with, in one atomically written file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use wgtrain::checkpoint::{load_tensors, NamedTensor};
use wgtrain::saved::{pack_named, SavedModel};
use wgtrain::train::{Progress, Trainer};
use wgtrain::{Error, Gpu, Result};

use crate::options::TrainOptions;

const OPTIMIZER_STATE: &str = "optimizer.state";
const BEST_PARAMS: &str = "trainer.best_params";
const MATMUL_VARIANTS: &str = "matmul_variants";

/// A checkpoint read back for `--resume`.
pub struct Checkpoint {
    path: PathBuf,
    /// The options of the interrupted run.
    pub options: TrainOptions,
    progress: Progress,
    tensors: Vec<NamedTensor>,
    /// The matmul variant chosen per shape class in the interrupted run (absent in older checkpoints).
    variants: BTreeMap<String, String>,
}

impl Checkpoint {
    /// Reads a checkpoint written by [`write`].
    pub fn read(path: &Path) -> Result<Checkpoint> {
        let (tensors, meta) = load_tensors(path)?;
        let json = |key: &str| -> Result<&String> {
            meta.get(key).ok_or_else(|| {
                Error::parse(
                    path,
                    Some(format!("metadata {key:?}")),
                    "missing: not a resumable checkpoint (written by --checkpoint-every or Ctrl-C)",
                )
            })
        };
        let bad =
            |key: &str, e: serde_json::Error| Error::parse(path, Some(format!("metadata {key:?}")), e.to_string());
        let options = serde_json::from_str(json("options")?).map_err(|e| bad("options", e))?;
        let progress = serde_json::from_str(json("progress")?).map_err(|e| bad("progress", e))?;
        let variants = match meta.get(MATMUL_VARIANTS) {
            Some(v) => serde_json::from_str(v).map_err(|e| bad(MATMUL_VARIANTS, e))?,
            None => BTreeMap::new(),
        };
        Ok(Checkpoint { path: path.to_path_buf(), options, progress, tensors, variants })
    }

    /// Makes `gpu` use the matmul variants the interrupted run used, before any plan is built.
    pub fn apply_variants(&self, gpu: &Gpu) {
        for (class, variant) in &self.variants {
            gpu.set_tuned_choice(class, variant);
        }
    }

    /// Puts the trainer where the checkpointed run stood.
    pub fn restore(&self, trainer: &mut Trainer<'_>) -> Result<()> {
        let params = pack_named(&self.path, trainer.model(), &self.tensors)?;
        let find = |name: &str, len: usize| -> Result<Vec<f32>> {
            match self.tensors.iter().find(|t| t.name == name) {
                Some(t) if t.data.len() == len => Ok(t.data.clone()),
                Some(t) => Err(Error::parse(
                    &self.path,
                    Some(format!("tensor {name}")),
                    format!("has {} values, expected {len}", t.data.len()),
                )),
                None => {
                    Err(Error::parse(&self.path, Some(format!("tensor {name}")), "missing: not a resumable checkpoint"))
                }
            }
        };
        let (state, _) = trainer.network().optimizer_state_len();
        let opt = find(OPTIMIZER_STATE, state)?;
        let best = find(BEST_PARAMS, params.len())?;
        trainer.restore(&self.progress, &params, &opt, &best)
    }
}

/// Writes the model and everything `--resume` needs to `path`, atomically.
pub fn write(trainer: &Trainer<'_>, model: SavedModel, options: &TrainOptions, path: &Path) -> Result<()> {
    let progress = trainer.progress()?;
    let state = trainer.optimizer_state()?;
    let best = trainer.best_params()?;
    let extra = vec![
        NamedTensor { name: OPTIMIZER_STATE.into(), shape: vec![state.len()], data: state },
        NamedTensor { name: BEST_PARAMS.into(), shape: vec![best.len()], data: best },
    ];
    let to_json = |v: serde_json::Result<String>| v.map_err(|e| Error::config("checkpoint", e.to_string()));
    let mut meta = BTreeMap::new();
    meta.insert("options".to_string(), to_json(serde_json::to_string(options))?);
    meta.insert("progress".to_string(), to_json(serde_json::to_string(&progress))?);
    meta.insert(MATMUL_VARIANTS.to_string(), to_json(serde_json::to_string(&trainer.gpu().tuned_choices()))?);
    model.save_with(path, extra, meta)
}
