//! The per-epoch training history, serialized as JSON next to checkpoints and plotted by `plot`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
#[cfg(not(target_arch = "wasm32"))]
use crate::internal::atomic_file::write_atomic;

/// The measurements of one epoch.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Epoch number (from 1).
    pub epoch: usize,
    /// Mean training loss over the epoch's batches.
    pub train_loss: f64,
    /// Training accuracy in [0, 1], for classification.
    pub train_accuracy: Option<f64>,
    /// Validation loss, when a validation set is given.
    pub val_loss: Option<f64>,
    /// Validation accuracy in [0, 1], for classification with a validation set.
    pub val_accuracy: Option<f64>,
    /// Learning rate in force at the end of the epoch.
    pub lr: f64,
    /// Batch size used in the epoch.
    pub batch_size: usize,
    /// Training samples per second of wall time.
    pub samples_per_s: f64,
    /// Wall-clock seconds the epoch took.
    pub wall_s: f64,
}

/// All epochs of a run, with the best epoch and whether early stopping ended it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// One record per finished epoch, in order.
    pub epochs: Vec<EpochRecord>,
    /// Epoch number (not index) with the best monitored metric.
    pub best_epoch: Option<usize>,
    /// True when early stopping ended training before the last epoch.
    pub stopped_early: bool,
}

impl History {
    /// Pretty-printed JSON; non-finite floats (a diverged loss) are written as `null`.
    pub fn to_json(&self) -> String {
        // Only serde_json's I/O and map-key errors can occur and neither applies to a String of these types,
        // but fall back to a JSON string carrying the message rather than panicking.
        serde_json::to_string_pretty(self)
            .unwrap_or_else(|e| serde_json::Value::String(format!("history not serializable: {e}")).to_string())
    }

    /// Writes [`History::to_json`] to `path` atomically (temporary file + rename).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn write_json(&self, path: &Path) -> Result<()> {
        let mut json = self.to_json();
        json.push('\n');
        write_atomic(path, json.as_bytes())
    }

    /// Parses the JSON written by [`History::to_json`]; `path` only names the source in errors.
    pub fn from_json(json: &str, path: &Path) -> Result<History> {
        serde_json::from_str(json)
            .map_err(|e| Error::parse(path, Some(format!("{}:{}", e.line(), e.column())), e.to_string()))
    }

    /// Reads a history file written by [`History::write_json`].
    #[cfg(not(target_arch = "wasm32"))]
    pub fn read_json(path: &Path) -> Result<History> {
        let json = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        History::from_json(&json, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> History {
        let rec = |epoch, val: Option<f64>| EpochRecord {
            epoch,
            train_loss: 1.0 / epoch as f64,
            train_accuracy: Some(0.5),
            val_loss: val,
            val_accuracy: None,
            lr: 0.01,
            batch_size: 32,
            samples_per_s: 1234.5,
            wall_s: 0.25,
        };
        History { epochs: vec![rec(1, Some(0.9)), rec(2, None)], best_epoch: Some(1), stopped_early: true }
    }

    #[test]
    fn json_round_trip_through_file() {
        let dir = std::env::temp_dir().join(format!("wgtrain-history-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("history.json");
        let h = sample();
        h.write_json(&path).unwrap();
        assert_eq!(History::read_json(&path).unwrap(), h);
        assert!(h.to_json().contains("\"best_epoch\": 1"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn malformed_json_names_file_and_position() {
        let err = History::from_json("{\"epochs\": [}", Path::new("h.json")).unwrap_err().to_string();
        assert!(err.starts_with("h.json:1:"), "{err}");
        assert!(matches!(History::read_json(Path::new("/nonexistent/h.json")), Err(Error::Io { .. })));
    }
}
