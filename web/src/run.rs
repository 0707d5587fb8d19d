//! One training run on the page: the form's settings ([`WebConfig`]), a fresh model or a checkpoint's trained epoch
//! by epoch on the loaded data with each epoch's test loss and accuracy sent to the page, and the run's summary.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use wgtrain::history::EpochRecord;
use wgtrain::model::{init_params, Init, MlpConfig};
use wgtrain::network::DeviceData;
use wgtrain::resume::Checkpoint;
use wgtrain::schedule::{Schedule, SchedulePer};
use wgtrain::train::{Event, TrainConfig, Trainer};
use wgtrain::{Activation, Gpu, Loss, OptimizerConfig, OptimizerKind, Precision};

use crate::{js_error, Loaded, Session};

/// The settings of the page's form, as JSON.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    /// Hidden layer widths.
    pub hidden: Vec<usize>,
    /// relu, leaky_relu, tanh, sigmoid, gelu (the CLI's names).
    pub activation: String,
    /// An optimizer name of the library's table (sgd, adagrad, rmsprop, adam, adamw, nadam).
    pub optimizer: String,
    /// Base learning rate.
    pub lr: f64,
    /// A `--schedule` of the CLI (constant, cosine:T:MIN, step:K:GAMMA, plateau:PATIENCE:FACTOR, ...).
    pub schedule: String,
    /// What the schedule's counter counts: "step" or "epoch".
    pub schedule_per: String,
    /// Rows per mini-batch.
    pub batch_size: usize,
    /// Passes over the training rows.
    pub epochs: usize,
    /// Seeds the initial weights and the shuffling.
    pub seed: u64,
    /// "f32" (absent: the default) or "f16", offered where the adapter has SHADER_F16 (`Engine::has_f16`).
    #[serde(default)]
    pub precision: Option<String>,
}

impl WebConfig {
    pub(crate) fn train_config(&self, loss: Loss) -> wgtrain::Result<TrainConfig> {
        let kind = OptimizerKind::parse(&self.optimizer)?;
        let per = SchedulePer::parse(&self.schedule_per)?;
        let schedule = Schedule { kind: Schedule::parse(&self.schedule)?, warmup: 0, per };
        let precision = self.precision.as_deref().map_or(Ok(Precision::F32), Precision::parse)?;
        let config = TrainConfig {
            schedule,
            precision,
            batch_size: Some(self.batch_size),
            epochs: self.epochs,
            seed: self.seed,
            ..TrainConfig::new(loss, OptimizerConfig::new(kind, self.lr))
        };
        config.validate()?;
        Ok(config)
    }
}

/// One epoch as the page charts it.
#[derive(Serialize)]
struct EpochReport<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    record: &'a EpochRecord,
    steps: usize,
    test_loss: f64,
    test_accuracy: Option<f64>,
}

/// The outcome of a run.
#[derive(Serialize)]
pub(crate) struct RunSummary {
    epochs: usize,
    test_loss: f64,
    test_accuracy: Option<f64>,
    /// Median over epochs of the epoch's wall time divided by its steps, in ms (steps are queued without waiting,
    /// so this is the throughput of the pipelined steps, read-back at the epoch's end included).
    step_ms_median: f64,
    stopped: bool,
}

/// Sends one event (JSON) to the page.
fn emit(on_event: &js_sys::Function, json: &str) {
    // An exception in the page's handler must not end the run.
    let _ = on_event.call1(&JsValue::NULL, &JsValue::from_str(json));
}

/// One run: a fresh model (or the checkpoint's, where it stopped) trained epoch by epoch, each epoch followed by
/// the test loss and accuracy.
pub(crate) async fn run(
    gpu: &'static Gpu,
    data: &Loaded,
    config_json: &str,
    resume: Option<&Checkpoint>,
    on_event: &js_sys::Function,
    stop: Arc<AtomicBool>,
) -> Result<(Session, RunSummary), JsValue> {
    let web: WebConfig = serde_json::from_str(config_json).map_err(|e| js_error(format!("settings: {e}")))?;
    let loss = data.loss();
    let mut config = web.train_config(loss).map_err(js_error)?;
    let n = data.train.len();
    let steps = n.div_ceil(config.batch_size_at(n, 0));
    // The running loss a few times an epoch: each report waits for the GPU, so not every step.
    config.report_every = Some((steps / 8).max(1));
    let activation = Activation::parse(&web.activation).map_err(js_error)?;
    let model = MlpConfig::new(data.train.n_features, &web.hidden, data.outputs(), activation);
    model.validate().map_err(js_error)?;
    let params = match resume {
        Some(ck) => {
            check_resumable(ck, &model, data)?;
            ck.apply_variants(gpu);
            ck.model.params.clone()
        }
        None => init_params(&model, Init::Torch, config.seed).map_err(js_error)?,
    };
    let rows = config.buffer_rows(n, data.test.len());
    let epochs = config.epochs;
    let mut trainer = Trainer::new(gpu, &model, &params, config, rows).map_err(js_error)?;
    if let Some(ck) = resume {
        ck.restore(&mut trainer).map_err(js_error)?;
    }
    trainer.set_stop_flag(stop);
    let train_data: DeviceData = trainer.upload(&data.train.features, &data.train.targets).map_err(js_error)?;
    let test_data: DeviceData = trainer.upload(&data.test.features, &data.test.targets).map_err(js_error)?;
    let mut step_ms = Vec::new();
    let mut last = (f64::NAN, None);
    let mut stopped = false;
    let mut on_train_event = |event: Event<'_>| match event {
        Event::EpochStart { epoch, steps, batch_size } => emit(
            on_event,
            &format!(r#"{{"type":"epoch_start","epoch":{epoch},"steps":{steps},"batch_size":{batch_size}}}"#),
        ),
        Event::Step { step, lr, loss: Some(l), .. } if l.is_finite() => {
            emit(on_event, &format!(r#"{{"type":"step","step":{step},"lr":{lr},"loss":{l}}}"#))
        }
        _ => {}
    };
    while !trainer.finished() {
        match trainer.fit_epochs_async(&train_data, None, 1, &mut on_train_event).await {
            Ok(_) => {}
            Err(wgtrain::Error::Interrupted { .. }) => {
                stopped = true;
                break;
            }
            Err(e) => return Err(js_error(e)),
        }
        let record = trainer.history().epochs.last().cloned().ok_or_else(|| js_error("no epoch ran"))?;
        let steps = n.div_ceil(record.batch_size);
        step_ms.push(record.wall_s * 1e3 / steps as f64);
        last = trainer.evaluate_async(&test_data).await.map_err(js_error)?;
        let report =
            EpochReport { kind: "epoch_end", record: &record, steps, test_loss: last.0, test_accuracy: last.1 };
        emit(on_event, &serde_json::to_string(&report).unwrap_or_default());
    }
    if stopped || last.0.is_nan() {
        last = trainer.evaluate_async(&test_data).await.map_err(js_error)?;
    }
    step_ms.sort_by(f64::total_cmp);
    let summary = RunSummary {
        epochs: trainer.history().epochs.len().min(epochs),
        test_loss: last.0,
        test_accuracy: last.1,
        step_ms_median: step_ms.get(step_ms.len() / 2).copied().unwrap_or(f64::NAN),
        stopped,
    };
    let session = Session {
        trainer,
        loss,
        train: data.train.clone(),
        preprocessor: data.preprocessor.clone(),
        config_json: config_json.to_string(),
    };
    Ok((session, summary))
}

/// A checkpoint resumes only on the data it was trained on: the same network, classes and CSV preprocessing.
fn check_resumable(ck: &Checkpoint, model: &MlpConfig, data: &Loaded) -> Result<(), JsValue> {
    let saved = &ck.model;
    if &saved.model != model {
        return Err(js_error(format!(
            "the checkpoint holds a {}-input, {}-output network; the loaded data and its settings need {} and {}",
            saved.model.input,
            saved.model.output(),
            model.input,
            model.output()
        )));
    }
    if saved.classes != data.train.classes || saved.preprocessor != data.preprocessor {
        return Err(js_error("the checkpoint was trained on other data (its classes or column encoding differ)"));
    }
    Ok(())
}
