//! The library's resumable checkpoints (`wgtrain::resume`), as a front end without the CLI uses them (the web
//! page): bytes taken mid-run, read back, restored into a fresh trainer, and the run finished bitwise where the
//! uninterrupted one ends; and what reading refuses.

mod common;
use std::path::Path;

use common::*;
use wgtrain::internal::rng::Rng;
use wgtrain::model::{init_params, Init, MlpConfig};
use wgtrain::precision::{LossScaleState, LossScaling};
use wgtrain::resume::{checkpoint_bytes_async, Checkpoint};
use wgtrain::saved::SavedModel;
use wgtrain::schedule::{LrSchedule, PlateauConfig, Schedule, SchedulePer};
use wgtrain::train::{EarlyStopping, Monitor, TrainConfig, Trainer};
use wgtrain::{Activation, Loss, OptimizerConfig, Precision};

const ROWS: usize = 90;

fn setup() -> (MlpConfig, Vec<f32>, TrainConfig, Vec<f32>, Vec<f32>) {
    let model = MlpConfig::new(3, &[8], 3, Activation::Tanh);
    let params = init_params(&model, Init::Torch, 5).unwrap();
    let mut rng = Rng::new(8);
    let x: Vec<f32> = (0..ROWS * 3).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let y: Vec<f32> =
        (0..ROWS).map(|i| ((x[3 * i] + x[3 * i + 1] > 0.0) as u8 + (x[3 * i + 2] > 0.5) as u8) as f32).collect();
    // Shuffled batches, a plateau schedule and early stopping: every piece of the run's position matters.
    let config = TrainConfig {
        batch_size: Some(16),
        epochs: 8,
        seed: 3,
        schedule: Schedule { kind: LrSchedule::Plateau(PlateauConfig::default()), per: SchedulePer::Epoch, warmup: 0 },
        early_stopping: Some(EarlyStopping {
            monitor: Monitor::ValLoss,
            patience: 20,
            min_delta: 0.0,
            restore_best: true,
        }),
        ..TrainConfig::new(Loss::CrossEntropy, OptimizerConfig::adam(0.02))
    };
    (model, params, config, x, y)
}

fn saved(trainer: &Trainer<'_>) -> SavedModel {
    SavedModel {
        model: trainer.model().clone(),
        loss: Loss::CrossEntropy,
        params: trainer.params().unwrap(),
        classes: Some(vec!["a".into(), "b".into(), "c".into()]),
        feature_names: vec!["x".into(), "y".into(), "z".into()],
        target_name: "t".into(),
        normalizer: None,
        preprocessor: None,
    }
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn a_checkpoint_taken_mid_run_resumes_to_the_same_weights() {
    let (model, params, config, x, y) = setup();
    resumes_bitwise(&model, &params, config, &x, &y);
}

/// In f16 the checkpoint carries the loss scaler: with a growth interval of 5 the scale has doubled three times by
/// the checkpoint (18 good steps), and the resumed run continues from that scale, bit for bit.
#[test]
fn an_f16_checkpoint_resumes_with_its_loss_scale() {
    let (model, params, config, x, y) = setup();
    let scaling = LossScaling { growth_interval: 5, ..LossScaling::default() };
    let config = TrainConfig { precision: Precision::F16, loss_scaling: scaling, ..config };
    let ck = resumes_bitwise(&model, &params, config, &x, &y);
    assert_eq!(ck.progress.loss_scale, Some(LossScaleState { scale: 524288.0, good_steps: 3, skipped: 0 }));
}

/// Trains the run whole, and again in two parts through a checkpoint after 3 epochs; the weights agree bitwise.
fn resumes_bitwise(model: &MlpConfig, params: &[f32], config: TrainConfig, x: &[f32], y: &[f32]) -> Checkpoint {
    let (model, params, x, y) = (model.clone(), params.to_vec(), x.to_vec(), y.to_vec());
    let rows = config.buffer_rows(ROWS, ROWS);
    let mut full = Trainer::new(gpu(), &model, &params, config.clone(), rows).unwrap();
    let data = full.upload(&x, &y).unwrap();
    full.fit(&data, Some(&data), &mut |_| {}).unwrap();

    let mut first = Trainer::new(gpu(), &model, &params, config.clone(), rows).unwrap();
    let data = first.upload(&x, &y).unwrap();
    first.fit_epochs(&data, Some(&data), 3, &mut |_| {}).unwrap();
    let name = Path::new("run.safetensors");
    let bytes = pollster::block_on(checkpoint_bytes_async(&first, saved(&first), r#"{"front":"end"}"#, name)).unwrap();
    drop(first);

    let ck = Checkpoint::from_bytes(name, &bytes).unwrap();
    assert_eq!((ck.options.as_str(), ck.progress.epochs_done), (r#"{"front":"end"}"#, 3));
    // A checkpoint is a model file too.
    assert_eq!(SavedModel::from_bytes(name, &bytes).unwrap(), ck.model);
    ck.apply_variants(gpu());
    let mut resumed = Trainer::new(gpu(), &ck.model.model, &ck.model.params, config, rows).unwrap();
    ck.restore(&mut resumed).unwrap();
    let data = resumed.upload(&x, &y).unwrap();
    resumed.fit(&data, Some(&data), &mut |_| {}).unwrap();
    assert_eq!(bits(&resumed.params().unwrap()), bits(&full.params().unwrap()), "resumed weights differ");
    assert_eq!(resumed.history().epochs.len(), full.history().epochs.len());
    ck
}

#[test]
fn reading_refuses_a_model_file_and_restoring_refuses_another_network() {
    let (model, params, config, x, y) = setup();
    let mut t = Trainer::new(gpu(), &model, &params, config.clone(), 16).unwrap();
    let data = t.upload(&x, &y).unwrap();
    t.fit_epochs(&data, Some(&data), 1, &mut |_| {}).unwrap();
    let name = Path::new("m.safetensors");
    let plain = saved(&t).to_bytes(name).unwrap();
    let e = Checkpoint::from_bytes(name, &plain).unwrap_err().to_string();
    assert!(e.contains("m.safetensors") && e.contains("not a resumable checkpoint"), "{e}");
    let bytes = pollster::block_on(checkpoint_bytes_async(&t, saved(&t), "{}", name)).unwrap();
    let ck = Checkpoint::from_bytes(name, &bytes).unwrap();
    let other = MlpConfig::new(3, &[4], 3, Activation::Tanh);
    let mut wrong = Trainer::new(gpu(), &other, &init_params(&other, Init::Torch, 0).unwrap(), config, 16).unwrap();
    let e = ck.restore(&mut wrong).unwrap_err().to_string();
    assert!(e.contains("m.safetensors") && e.contains("network"), "{e}");
}
