//! What training reports: the events of a run as it goes, and why a model stopped.

use crate::error::{Error, Result};
use crate::history::EpochRecord;

/// Progress reported during `fit`.
#[derive(Clone, Debug)]
pub enum Event<'a> {
    /// An epoch begins.
    EpochStart {
        /// Epoch number from 1.
        epoch: usize,
        /// Optimizer steps in this epoch.
        steps: usize,
        /// Batch size of this epoch.
        batch_size: usize,
    },
    /// An optimizer step was queued.
    Step {
        /// Step within the epoch, from 1.
        step: usize,
        /// Learning rate used.
        lr: f64,
        /// Running mean training loss of the epoch (only every `report_every` steps).
        loss: Option<f64>,
        /// Samples per second so far in this epoch (queued, not necessarily finished).
        samples_per_s: f64,
    },
    /// An epoch ended.
    EpochEnd(&'a EpochRecord),
}

/// Why a model stopped training (serialized as its [`name`](StopReason::name)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StopReason {
    /// It ran all its epochs.
    Epochs,
    /// Early stopping ended it (its best weights were put back when asked).
    EarlyStop,
    /// Its training loss became NaN or infinite; it was frozen.
    Diverged,
    /// Successive halving stopped it at a rung: it ranked below the configurations that went on.
    Halved,
}

impl StopReason {
    /// `epochs`, `early-stop`, `diverged` or `halved`.
    pub fn name(self) -> &'static str {
        match self {
            StopReason::Epochs => "epochs",
            StopReason::EarlyStop => "early-stop",
            StopReason::Diverged => "diverged",
            StopReason::Halved => "halved",
        }
    }

    /// The inverse of [`StopReason::name`].
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "epochs" => Ok(StopReason::Epochs),
            "early-stop" => Ok(StopReason::EarlyStop),
            "diverged" => Ok(StopReason::Diverged),
            "halved" => Ok(StopReason::Halved),
            _ => Err(Error::config("stop", format!("{s:?}: expected epochs, early-stop, diverged or halved"))),
        }
    }
}
