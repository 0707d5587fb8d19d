//! `--checkpoint-every` and `--resume`: the library's resumable checkpoints ([`wgtrain::resume`]) carrying this
//! command's options, which a resumed run starts from (the command line wins).

use std::path::Path;

use wgtrain::resume::{self, write_checkpoint};
use wgtrain::saved::SavedModel;
use wgtrain::train::Trainer;
use wgtrain::{Error, Result};

use crate::options::TrainOptions;

/// A checkpoint read back for `--resume`.
pub struct Checkpoint {
    /// The library's checkpoint: the model, the run's position and state.
    pub saved: resume::Checkpoint,
    /// The options of the interrupted run.
    pub options: TrainOptions,
}

impl Checkpoint {
    /// Reads a checkpoint written by [`write`].
    pub fn read(path: &Path) -> Result<Checkpoint> {
        let saved = resume::Checkpoint::read(path)?;
        let bad = |e: serde_json::Error| Error::parse(path, Some("metadata \"options\"".into()), e.to_string());
        let mut json: serde_json::Value = serde_json::from_str(&saved.options).map_err(bad)?;
        if let Some(map) = json.as_object_mut() {
            // Checkpoints from before numeric inputs were standardised by default name neither option and
            // trained on raw inputs; new ones always name one (see `write`).
            if !map.contains_key("normalize") && !map.contains_key("no-normalize") {
                map.insert("no-normalize".into(), true.into());
            }
        }
        let options = serde_json::from_value(json).map_err(bad)?;
        Ok(Checkpoint { saved, options })
    }
}

/// Writes the model and everything `--resume` needs to `path`, atomically; the options name whether inputs were
/// standardised, so a later default cannot change how a resumed run reads its data.
pub fn write(trainer: &Trainer<'_>, model: SavedModel, options: &TrainOptions, path: &Path) -> Result<()> {
    let mut options = options.clone();
    let standardise = options.standardise()?;
    (options.normalize, options.no_normalize) = (standardise, !standardise);
    let json = serde_json::to_string(&options).map_err(|e| Error::config("checkpoint", e.to_string()))?;
    write_checkpoint(trainer, model, &json, path)
}
