//! `--checkpoint-every` and `--resume`: the library's resumable checkpoints ([`wgtrain::resume`]) carrying this
//! command's options, which a resumed run starts from (the command line wins).

use std::path::Path;

use wgtrain::resume::{self, write_checkpoint};
use wgtrain::saved::SavedModel;
use wgtrain::train::Trainer;
use wgtrain::{Error, Result};

use crate::options::TrainOptions;

/// Key in the checkpoint's options: written by a version that standardises tables unless --no-normalize.
const STANDARDISED_BY_DEFAULT: &str = "standardised-by-default";

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
            // Checkpoints from before tables were standardised by default lack the marker and, without
            // --normalize, trained on raw numbers: they resume as they started.
            if map.remove(STANDARDISED_BY_DEFAULT).is_none() && !map.contains_key("normalize") {
                map.insert("no-normalize".into(), true.into());
            }
        }
        let options = serde_json::from_value(json).map_err(bad)?;
        Ok(Checkpoint { saved, options })
    }
}

/// Writes the model and everything `--resume` needs to `path`, atomically; the options carry a marker that they
/// were written when tables were standardised by default (see [`Checkpoint::read`]).
pub fn write(trainer: &Trainer<'_>, model: SavedModel, options: &TrainOptions, path: &Path) -> Result<()> {
    let to_json = |e: serde_json::Error| Error::config("checkpoint", e.to_string());
    let mut json = serde_json::to_value(options).map_err(to_json)?;
    if let Some(map) = json.as_object_mut() {
        map.insert(STANDARDISED_BY_DEFAULT.into(), true.into());
    }
    write_checkpoint(trainer, model, &json.to_string(), path)
}
