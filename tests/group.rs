//! Groups: K models trained together end with the weights each would have trained to alone (same options, same
//! initial weights, the group's data seed as its shuffle seed), for every optimizer, and a model that diverges or
//! stops early does not disturb the others.

mod common;
use common::*;
use wgtrain::internal::rng::Rng;
use wgtrain::model::{init_params, Init, MlpConfig};
use wgtrain::schedule::{LrSchedule, Schedule, SchedulePer};
use wgtrain::train::{EarlyStopping, GroupMember, GroupTrainer, Monitor, StopReason, TrainConfig, Trainer};
use wgtrain::{Activation, Loss, OptimizerConfig, OptimizerKind};

/// The group's model-batched launches sum each model's products with the same kernels (the batched form of the
/// variant a lone trainer picks) in the same order, so the weights must agree bit for bit; any tolerance would
/// hide a model reading another's buffer or batch.
const BITWISE: bool = true;

const ROWS: usize = 37;
const INPUT: usize = 5;
const CLASSES: usize = 3;
const DATA_SEED: u64 = 11;

fn dataset(seed: u64, rows: usize) -> (Vec<f32>, Vec<f32>) {
    let mut rng = Rng::new(seed);
    let x = (0..rows * INPUT).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let y = (0..rows).map(|_| (rng.next_u64() % CLASSES as u64) as f32).collect();
    (x, y)
}

fn model() -> MlpConfig {
    MlpConfig::new(INPUT, &[7, 4], CLASSES, Activation::Tanh)
}

fn config(optimizer: OptimizerConfig, epochs: usize) -> TrainConfig {
    let mut c = TrainConfig::new(Loss::CrossEntropy, optimizer);
    c.batch_size = Some(8);
    c.epochs = epochs;
    c.seed = DATA_SEED;
    c
}

/// Trains `config` alone from `params`; Err when it diverges.
fn alone(config: &TrainConfig, params: &[f32], val: bool) -> wgtrain::Result<Vec<f32>> {
    let gpu = gpu();
    let mut t = Trainer::new(gpu, &model(), params, config.clone(), 8)?;
    let (x, y) = dataset(1, ROWS);
    let train = t.upload(&x, &y)?;
    let (vx, vy) = dataset(2, 13);
    let v = t.upload(&vx, &vy)?;
    t.fit(&train, val.then_some(&v), &mut |_| {})?;
    t.params()
}

fn group(configs: &[TrainConfig], seeds: &[u64]) -> Vec<wgtrain::train::MemberOutcome> {
    let gpu = gpu();
    let members = configs
        .iter()
        .zip(seeds)
        .map(|(c, &s)| GroupMember { config: c.clone(), params: init_params(&model(), Init::Torch, s).unwrap() })
        .collect();
    let mut g = GroupTrainer::new(gpu, &model(), members, DATA_SEED, 8).expect("group");
    let (x, y) = dataset(1, ROWS);
    let train = wgtrain::network::DeviceData::upload(gpu, &x, INPUT, &y, 1).unwrap();
    let (vx, vy) = dataset(2, 13);
    let val = wgtrain::network::DeviceData::upload(gpu, &vx, INPUT, &vy, 1).unwrap();
    g.fit(&train, Some(&val), &mut |_| {}).expect("fit");
    g.outcomes().expect("outcomes")
}

fn assert_same(label: &str, got: &[f32], want: &[f32]) {
    if BITWISE {
        let differ = got.iter().zip(want).filter(|(a, b)| a.to_bits() != b.to_bits()).count();
        assert!(
            got.len() == want.len() && differ == 0,
            "{label}: {differ} of {} weights differ from the model trained alone",
            want.len()
        );
    } else {
        assert_close(label, got, want, 0.0, 1e-5);
    }
}

/// Three models per optimizer, differing in learning rate, seed and the optimizer's own hyperparameters, one with
/// a step schedule.
fn members(kind: OptimizerKind) -> Vec<TrainConfig> {
    (0..3)
        .map(|i| {
            let mut o = OptimizerConfig::new(kind, [0.01, 0.003, 0.03][i]);
            match kind {
                OptimizerKind::Sgd => {
                    o.momentum = [0.0, 0.9, 0.5][i];
                    o.nesterov = i == 1;
                    o.weight_decay = [0.0, 1e-3, 0.0][i];
                }
                OptimizerKind::Adagrad => o.weight_decay = [0.0, 1e-3, 0.0][i],
                OptimizerKind::RmsProp => {
                    o.centered = i == 2;
                    o.momentum = [0.0, 0.5, 0.9][i];
                }
                OptimizerKind::Adam | OptimizerKind::AdamW => {
                    o.beta1 = [0.9, 0.8, 0.95][i];
                    o.amsgrad = i == 1;
                    o.l1 = [0.0, 0.0, 1e-4][i];
                }
                OptimizerKind::NAdam => {
                    o.beta1 = [0.9, 0.8, 0.95][i];
                    o.momentum_decay = [4e-3, 0.05, 0.0][i];
                    o.weight_decay = [0.0, 1e-3, 0.0][i];
                }
            }
            o.clip_norm = (i == 2).then_some(0.5);
            let mut c = config(o, 3);
            // scikit-learn's weights-only L2, per model (one without).
            c.weight_l2 = [0.0, 0.02, 0.5][i];
            if i == 1 {
                c.schedule =
                    Schedule { kind: LrSchedule::Step { every: 2, gamma: 0.5 }, per: SchedulePer::Epoch, warmup: 0 };
            }
            c
        })
        .collect()
}

#[test]
fn every_model_of_a_group_ends_as_it_would_alone_for_every_optimizer() {
    // Every optimizer of the library's table (members() has an arm for each kind, so a new one must be added).
    for kind in OptimizerKind::all() {
        let configs = members(kind);
        let seeds = [3, 4, 5];
        let outcomes = group(&configs, &seeds);
        for ((c, s), o) in configs.iter().zip(seeds).zip(&outcomes) {
            let want = alone(c, &init_params(&model(), Init::Torch, s).unwrap(), true).expect("alone");
            assert_nontrivial("weights", &want);
            assert_same(&format!("{} seed {s}", kind.name()), &o.params, &want);
            assert_eq!(o.stop, StopReason::Epochs);
            assert_eq!(o.history.epochs.len(), 3);
        }
    }
}

#[test]
fn a_diverging_and_an_early_stopping_model_leave_the_others_unchanged() {
    let steady = config(OptimizerConfig::sgd(0.05), 5);
    // Steps of ~3e38 overflow f32 within a few steps: the weights, then the loss, become infinite or NaN.
    let mut wild = config(OptimizerConfig::sgd(3e38), 5);
    wild.optimizer.momentum = 0.9;
    // No improvement ever counts (min_delta is huge), so it stops after its second epoch and restores the first.
    let mut early = config(OptimizerConfig::sgd(0.02), 5);
    early.early_stopping =
        Some(EarlyStopping { monitor: Monitor::ValLoss, patience: 1, min_delta: 1e9, restore_best: true });
    let configs = [steady, wild, early];
    let seeds = [7, 8, 9];
    let outcomes = group(&configs, &seeds);
    let init = |s| init_params(&model(), Init::Torch, s).unwrap();

    assert_eq!(outcomes[0].stop, StopReason::Epochs);
    assert_eq!(outcomes[0].history.epochs.len(), 5);
    assert_same("steady", &outcomes[0].params, &alone(&configs[0], &init(7), true).unwrap());

    assert_eq!(outcomes[1].stop, StopReason::Diverged);
    assert!(outcomes[1].history.epochs.len() < 5);
    let err = alone(&configs[1], &init(8), true).expect_err("diverges alone too");
    assert!(matches!(err, wgtrain::Error::Diverged { .. }), "{err}");

    assert_eq!(outcomes[2].stop, StopReason::EarlyStop);
    assert_eq!(outcomes[2].history.epochs.len(), 2);
    assert_eq!(outcomes[2].history.best_epoch, Some(1));
    assert_same("early stop", &outcomes[2].params, &alone(&configs[2], &init(9), true).unwrap());
}

#[test]
fn members_that_differ_in_batch_size_are_refused() {
    let a = config(OptimizerConfig::adam(0.01), 1);
    let mut b = a.clone();
    b.batch_size = Some(4);
    let p = init_params(&model(), Init::Torch, 0).unwrap();
    let members = vec![GroupMember { config: a, params: p.clone() }, GroupMember { config: b, params: p }];
    let err = GroupTrainer::new(gpu(), &model(), members, 0, 8).err().expect("refused");
    assert!(err.to_string().contains("batch_size"), "{err}");
}

#[test]
fn a_group_larger_than_the_memory_budget_is_cut_to_fit() {
    let c = config(OptimizerConfig::adam(0.01), 1);
    let per = wgtrain::network::NetworkGroup::device_bytes_per_model(&model(), &c.optimizer, 8);
    assert_eq!(wgtrain::train::group_capacity(&model(), &c, 8, 10 * per + per / 2), 10);
    assert_eq!(wgtrain::train::group_capacity(&model(), &c, 8, 1), 1, "at least one model");
}
