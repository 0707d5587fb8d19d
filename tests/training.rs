//! The whole network and trainer: finite-difference gradient checks, GPU trainer vs the CPU reference trainer,
//! learning tasks, early stopping and determinism.

mod common;
use common::*;
use wgtrain::internal::rng::Rng;
use wgtrain::model::{init_params, Init, MlpConfig};
use wgtrain::reference::network::loss_and_gradient;
use wgtrain::reference::trainer;
use wgtrain::schedule::{BatchGrowth, LrSchedule, Schedule, SchedulePer};
use wgtrain::train::{EarlyStopping, Monitor, TrainConfig, Trainer};
use wgtrain::{Activation, Loss, OptimizerConfig, OptimizerKind};

/// Central differences in f64 with h = 1e-6 have truncation error O(h²·f''') ≈ 1e-12 and rounding error
/// O(1e-16/h) ≈ 1e-10, so analytic and numeric gradients agree to ~1e-8; 1e-6 fails on any real mistake.
const FD_TOL: f64 = 1e-6;
/// GPU vs f32 twin gradients: same operation order, FMA contraction only (see tests/matmul.rs).
const GRAD_ATOL: f32 = 1e-5;
const GRAD_RTOL: f32 = 1e-4;
/// GPU trainer vs CPU trainer after 30 steps: per-step differences of ~1e-7 are amplified by adaptive optimizers
/// (division by √v for small v), so 1e-4 relative + 1e-5 absolute; a wrong rule or batch order differs by ≥ 1e-3.
const TRAIN_ATOL: f32 = 1e-5;
const TRAIN_RTOL: f32 = 1e-4;

fn data(loss: Loss, rows: usize, input: usize, outputs: usize, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut rng = Rng::new(seed);
    let x = (0..rows * input).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let y = match loss {
        Loss::CrossEntropy => (0..rows).map(|_| (rng.next_u64() % outputs as u64) as f32).collect(),
        Loss::Bce => (0..rows * outputs).map(|_| (rng.next_u64() % 2) as f32).collect(),
        Loss::Mse => (0..rows * outputs).map(|_| rng.uniform(-1.0, 1.0)).collect(),
    };
    (x, y)
}

#[test]
fn backward_pass_matches_finite_differences_for_every_loss_and_activation() {
    for loss in [Loss::Mse, Loss::Bce, Loss::CrossEntropy] {
        for act in ACTIVATIONS {
            let model = MlpConfig::new(4, &[5, 4], 3, act);
            let layout = model.layout();
            let params: Vec<f64> = init_params(&model, Init::Torch, 3).unwrap().iter().map(|&v| f64::from(v)).collect();
            let (x, y) = data(loss, 6, 4, 3, 9);
            let (x, y): (Vec<f64>, Vec<f64>) =
                (x.iter().map(|&v| v.into()).collect(), y.iter().map(|&v| v.into()).collect());
            let (_, grads) = loss_and_gradient(&model, &layout, loss, &params, &x, &y, 6);
            let mut worst = 0.0f64;
            for l in &layout.layers {
                let idx = (l.weight..l.weight + l.outputs * l.inputs).chain(l.bias..l.bias + l.outputs);
                for i in idx {
                    let h = 1e-6;
                    let mut p = params.clone();
                    p[i] += h;
                    let (up, _) = loss_and_gradient(&model, &layout, loss, &p, &x, &y, 6);
                    p[i] -= 2.0 * h;
                    let (down, _) = loss_and_gradient(&model, &layout, loss, &p, &x, &y, 6);
                    let numeric = (up - down) / (2.0 * h);
                    worst = worst.max((numeric - grads[i]).abs());
                }
            }
            assert!(worst < FD_TOL, "{loss:?} {act:?}: analytic vs numeric gradient differ by {worst:e}");
            assert!(grads.iter().any(|g| g.abs() > 1e-3), "{loss:?} {act:?}: gradient is trivially zero");
        }
    }
}

#[test]
fn gpu_gradients_match_twin_for_every_loss_and_activation() {
    for loss in [Loss::Mse, Loss::Bce, Loss::CrossEntropy] {
        for (i, act) in ACTIVATIONS.into_iter().enumerate() {
            let mut model = MlpConfig::new(7, &[13, 5], 3, act);
            if i == 3 && loss == Loss::Mse {
                model.output_activation = Activation::Sigmoid;
            }
            let params = init_params(&model, Init::Torch, 1).unwrap();
            let (x, y) = data(loss, 37, 7, 3, 2);
            let cfg = TrainConfig::new(loss, OptimizerConfig::sgd(0.1));
            let mut tr = Trainer::new(gpu(), &model, &params, cfg, 37).unwrap();
            let d = tr.upload(&x, &y).unwrap();
            let got = tr.network().gradient(gpu(), &d, 0, 37).unwrap();
            let (_, want) = loss_and_gradient::<f32>(&model, &model.layout(), loss, &params, &x, &y, 37);
            assert_nontrivial("grads", &want);
            assert_close(&format!("grads {loss:?} {act:?}"), &got, &want, GRAD_ATOL, GRAD_RTOL);
        }
    }
}

fn configs() -> Vec<(&'static str, TrainConfig)> {
    let base = |opt: OptimizerConfig| TrainConfig {
        batch_size: Some(8),
        epochs: 100,
        ..TrainConfig::new(Loss::CrossEntropy, opt)
    };
    let sched = |kind, per, warmup| Schedule { kind, per, warmup };
    vec![
        (
            "sgd momentum l2 step-schedule",
            TrainConfig {
                schedule: sched(LrSchedule::Step { every: 7, gamma: 0.5 }, SchedulePer::Step, 0),
                ..base(OptimizerConfig {
                    momentum: 0.9,
                    dampening: 0.1,
                    weight_decay: 0.01,
                    ..OptimizerConfig::sgd(0.1)
                })
            },
        ),
        (
            "sgd nesterov l1 clip",
            base(OptimizerConfig {
                momentum: 0.9,
                nesterov: true,
                l1: 0.001,
                clip_norm: Some(0.3),
                ..OptimizerConfig::sgd(0.1)
            }),
        ),
        (
            "adagrad cosine+warmup",
            TrainConfig {
                schedule: sched(LrSchedule::Cosine { period: 30, min: 0.001 }, SchedulePer::Step, 5),
                ..base(OptimizerConfig {
                    lr_decay: 0.01,
                    initial_accumulator_value: 0.1,
                    ..OptimizerConfig::adagrad(0.1)
                })
            },
        ),
        (
            "rmsprop centered momentum l2",
            base(OptimizerConfig {
                centered: true,
                momentum: 0.5,
                weight_decay: 0.01,
                ..OptimizerConfig::rmsprop(0.01)
            }),
        ),
        (
            "rmsprop exp-schedule per epoch",
            TrainConfig {
                schedule: sched(
                    LrSchedule::Exponential { every: 1, gamma: 0.8, staircase: false },
                    SchedulePer::Epoch,
                    0,
                ),
                ..base(OptimizerConfig::rmsprop(0.01))
            },
        ),
        (
            "adam amsgrad clip inv-sqrt",
            TrainConfig {
                schedule: sched(LrSchedule::InvSqrt, SchedulePer::Step, 0),
                ..base(OptimizerConfig { amsgrad: true, clip_norm: Some(0.5), ..OptimizerConfig::adam(0.01) })
            },
        ),
        (
            "adam l1 l2 batch growth",
            TrainConfig {
                batch_growth: Some(BatchGrowth { factor: 2.0, every: 1, max: 32 }),
                ..base(OptimizerConfig { l1: 0.001, weight_decay: 0.01, ..OptimizerConfig::adam(0.01) })
            },
        ),
        (
            "adamw full batch, no shuffle",
            TrainConfig { batch_size: None, shuffle: false, ..base(OptimizerConfig::adamw(0.01)) },
        ),
        (
            "nadam l2 momentum-decay step-schedule per epoch",
            TrainConfig {
                schedule: sched(LrSchedule::Step { every: 2, gamma: 0.5 }, SchedulePer::Epoch, 0),
                ..base(OptimizerConfig { weight_decay: 0.01, momentum_decay: 0.01, ..OptimizerConfig::nadam(0.01) })
            },
        ),
    ]
}

/// The trainer cases cover every optimizer of the library's table.
#[test]
fn every_optimizer_has_a_trainer_case() {
    for kind in OptimizerKind::all() {
        assert!(configs().iter().any(|(_, c)| c.optimizer.kind == kind), "{} has no case", kind.name());
    }
}

#[test]
fn gpu_trainer_matches_cpu_reference_trainer_over_30_steps() {
    let model = MlpConfig::new(6, &[11, 7], 4, Activation::Tanh);
    let params = init_params(&model, Init::Torch, 5).unwrap();
    let (x, y) = data(Loss::CrossEntropy, 29, 6, 4, 6); // 29 rows: batches of 8 end with a partial batch of 5
    for (name, cfg) in configs() {
        let mut tr = Trainer::new(gpu(), &model, &params, cfg.clone(), cfg.max_batch(29)).unwrap();
        let d = tr.upload(&x, &y).unwrap();
        // Whole epochs until at least 30 steps, then the CPU trainer runs to the same step.
        while tr.network().steps_done() < 30 {
            tr.fit_epochs(&d, None, 1, &mut |_| {}).unwrap();
        }
        let steps = tr.network().steps_done();
        let got = tr.params().unwrap();
        let want = trainer::train(&model, &params, &cfg, &x, &y, steps);
        let moved: Vec<f32> = want.iter().zip(&params).map(|(a, b)| a - b).collect();
        assert_nontrivial(name, &moved);
        assert_close(&format!("{name} after {steps} steps"), &got, &want, TRAIN_ATOL, TRAIN_RTOL);
    }
}

#[test]
fn xor_reaches_full_accuracy() {
    let model = MlpConfig::new(2, &[8], 2, Activation::Tanh);
    let params = init_params(&model, Init::Torch, 0).unwrap();
    let x = [0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0];
    let y = [0.0, 1.0, 1.0, 0.0];
    let cfg = TrainConfig {
        batch_size: Some(4),
        epochs: 300,
        ..TrainConfig::new(Loss::CrossEntropy, OptimizerConfig::adam(0.05))
    };
    let mut tr = Trainer::new(gpu(), &model, &params, cfg, 4).unwrap();
    let d = tr.upload(&x, &y).unwrap();
    tr.fit(&d, None, &mut |_| {}).unwrap();
    let (loss, acc) = tr.evaluate(&d).unwrap();
    assert_eq!(acc, Some(1.0), "xor accuracy (loss {loss})");
}

#[test]
fn sine_regression_reaches_low_mse() {
    let model = MlpConfig::new(1, &[32, 32], 1, Activation::Tanh);
    let params = init_params(&model, Init::Torch, 1).unwrap();
    let x: Vec<f32> = (0..256).map(|i| -3.0 + 6.0 * i as f32 / 255.0).collect();
    let y: Vec<f32> = x.iter().map(|v| v.sin()).collect();
    let cfg = TrainConfig {
        batch_size: Some(32),
        epochs: 400,
        schedule: Schedule { kind: LrSchedule::Cosine { period: 400, min: 1e-4 }, per: SchedulePer::Epoch, warmup: 0 },
        ..TrainConfig::new(Loss::Mse, OptimizerConfig::adam(0.01))
    };
    let mut tr = Trainer::new(gpu(), &model, &params, cfg, 32).unwrap();
    let d = tr.upload(&x, &y).unwrap();
    tr.fit(&d, None, &mut |_| {}).unwrap();
    let (mse, _) = tr.evaluate(&d).unwrap();
    assert!(mse < 1e-3, "sine MSE {mse}");
}

fn noisy_task() -> (MlpConfig, Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>) {
    // Few, noisy samples with a wide network: the validation loss turns up after a few epochs.
    let model = MlpConfig::new(5, &[64], 2, Activation::Relu);
    let (xt, yt) = data(Loss::CrossEntropy, 24, 5, 2, 11);
    let (xv, yv) = data(Loss::CrossEntropy, 40, 5, 2, 12);
    (model, xt, yt, xv, yv)
}

#[test]
fn early_stopping_stops_and_restores_best_weights() {
    let (model, xt, yt, xv, yv) = noisy_task();
    let params = init_params(&model, Init::Torch, 2).unwrap();
    let es = EarlyStopping { monitor: Monitor::ValLoss, patience: 3, min_delta: 0.0, restore_best: true };
    let cfg = TrainConfig {
        batch_size: Some(8),
        epochs: 200,
        early_stopping: Some(es),
        ..TrainConfig::new(Loss::CrossEntropy, OptimizerConfig::adam(0.05))
    };
    let mut tr = Trainer::new(gpu(), &model, &params, cfg, 40).unwrap();
    let (dt, dv) = (tr.upload(&xt, &yt).unwrap(), tr.upload(&xv, &yv).unwrap());
    let h = tr.fit(&dt, Some(&dv), &mut |_| {}).unwrap().clone();
    assert!(h.stopped_early, "ran all {} epochs", h.epochs.len());
    let best = h.best_epoch.expect("a best epoch");
    assert_eq!(h.epochs.len(), best + 3, "stops exactly patience epochs after the best");
    let best_loss = h.epochs[best - 1].val_loss.unwrap();
    let min_loss = h.epochs.iter().filter_map(|e| e.val_loss).fold(f64::INFINITY, f64::min);
    assert_eq!(best_loss, min_loss);
    let (restored, _) = tr.evaluate(&dv).unwrap();
    assert!(
        (restored - best_loss).abs() < 1e-6,
        "restored weights give val loss {restored}, best epoch had {best_loss}"
    );
    assert!(h.epochs.last().unwrap().val_loss.unwrap() > best_loss);
}

#[test]
fn same_seed_gives_bitwise_identical_weights_and_metrics() {
    let run = || {
        let (model, xt, yt, xv, yv) = noisy_task();
        let params = init_params(&model, Init::Torch, 7).unwrap();
        let cfg = TrainConfig {
            batch_size: Some(5),
            epochs: 5,
            seed: 42,
            ..TrainConfig::new(Loss::CrossEntropy, OptimizerConfig::adam(0.01))
        };
        let mut tr = Trainer::new(gpu(), &model, &params, cfg, 40).unwrap();
        let (dt, dv) = (tr.upload(&xt, &yt).unwrap(), tr.upload(&xv, &yv).unwrap());
        let h = tr.fit(&dt, Some(&dv), &mut |_| {}).unwrap().clone();
        let losses: Vec<(u64, Option<u64>)> =
            h.epochs.iter().map(|e| (e.train_loss.to_bits(), e.val_loss.map(f64::to_bits))).collect();
        (tr.params().unwrap().iter().map(|v| v.to_bits()).collect::<Vec<_>>(), losses)
    };
    assert_eq!(run(), run());
}

#[test]
fn invalid_training_configs_name_the_field() {
    let model = MlpConfig::new(2, &[3], 2, Activation::Relu);
    let params = init_params(&model, Init::Torch, 0).unwrap();
    let bad = [
        (TrainConfig { epochs: 0, ..TrainConfig::new(Loss::CrossEntropy, OptimizerConfig::adam(0.1)) }, "epochs"),
        (
            TrainConfig { batch_size: Some(0), ..TrainConfig::new(Loss::CrossEntropy, OptimizerConfig::adam(0.1)) },
            "batch_size",
        ),
        (TrainConfig::new(Loss::CrossEntropy, OptimizerConfig::adam(-1.0)), "lr"),
    ];
    for (cfg, field) in bad {
        let err = Trainer::new(gpu(), &model, &params, cfg, 4).err().expect("rejected").to_string();
        assert!(err.contains(field), "{field}: {err}");
    }
    // Sizes that overflow the parameter count (as a model file could claim) are rejected, not wrapped.
    for (input, layers) in
        [(usize::MAX, vec![2]), (1, vec![usize::MAX]), (1, vec![usize::MAX / 2, 1]), (70_000, vec![70_000])]
    {
        let m = MlpConfig { input, layers, activation: Activation::Relu, output_activation: Activation::Identity };
        assert!(m.validate().unwrap_err().to_string().contains("2³² parameters"), "{input}");
    }
}
