//! A group's member states taken between epochs, turned into a sweep checkpoint's bytes, read back and restored
//! into a fresh group, train on to exactly what the uninterrupted group ends with: parameters bitwise, histories equal but for timings, the same
//! stop reasons. The members mix a plateau schedule, early stopping that restores its best weights, a model that
//! diverges and one with fewer epochs, so every piece of the state matters. Bad bytes are refused.

mod common;
use std::path::Path;

use common::*;
use wgtrain::history::History;
use wgtrain::internal::rng::Rng;
use wgtrain::model::{init_params, Init, MlpConfig};
use wgtrain::network::DeviceData;
use wgtrain::schedule::{LrSchedule, PlateauConfig, Schedule, SchedulePer};
use wgtrain::sweep::{decode_members, encode_members};
use wgtrain::train::{EarlyStopping, GroupMember, GroupTrainer, MemberOutcome, Monitor, StopReason, TrainConfig};
use wgtrain::{Activation, Loss, OptimizerConfig};

const ROWS: usize = 41;
const INPUT: usize = 5;
const CLASSES: usize = 3;
const DATA_SEED: u64 = 13;
const EPOCHS: usize = 8;

fn model() -> MlpConfig {
    MlpConfig::new(INPUT, &[7, 4], CLASSES, Activation::Tanh)
}

fn dataset(seed: u64, rows: usize) -> (Vec<f32>, Vec<f32>) {
    let mut rng = Rng::new(seed);
    let x = (0..rows * INPUT).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let y = (0..rows).map(|_| (rng.next_u64() % CLASSES as u64) as f32).collect();
    (x, y)
}

fn config(lr: f64, epochs: usize) -> TrainConfig {
    let mut c = TrainConfig::new(Loss::CrossEntropy, OptimizerConfig::sgd(lr));
    c.optimizer.momentum = 0.9;
    c.batch_size = Some(8);
    c.epochs = epochs;
    c.seed = DATA_SEED;
    c
}

/// A plateau schedule; a model that diverges; early stopping that never sees an improvement (min_delta is huge),
/// so it stops after epoch 4 and restores epoch 1's weights; a model with fewer epochs.
fn members() -> Vec<GroupMember> {
    let mut plateau = config(0.05, EPOCHS);
    let p = PlateauConfig { patience: 0, factor: 0.5, ..PlateauConfig::default() };
    plateau.schedule = Schedule { kind: LrSchedule::Plateau(p), per: SchedulePer::Epoch, warmup: 0 };
    let wild = config(3e38, EPOCHS);
    let mut early = config(0.02, EPOCHS);
    early.early_stopping =
        Some(EarlyStopping { monitor: Monitor::ValLoss, patience: 3, min_delta: 1e9, restore_best: true });
    let short = config(0.03, 3);
    [plateau, wild, early, short]
        .into_iter()
        .enumerate()
        .map(|(i, config)| GroupMember { config, params: init_params(&model(), Init::Torch, 20 + i as u64).unwrap() })
        .collect()
}

fn data() -> (DeviceData, DeviceData) {
    let (x, y) = dataset(1, ROWS);
    let (vx, vy) = dataset(2, 17);
    (DeviceData::upload(gpu(), &x, INPUT, &y, 1).unwrap(), DeviceData::upload(gpu(), &vx, INPUT, &vy, 1).unwrap())
}

fn trainer() -> GroupTrainer<'static> {
    GroupTrainer::new(gpu(), &model(), members(), DATA_SEED, 8).expect("group")
}

/// The history without its wall-clock figures.
fn untimed(h: &History) -> History {
    let mut h = h.clone();
    for r in &mut h.epochs {
        (r.samples_per_s, r.wall_s) = (0.0, 0.0);
    }
    h
}

fn assert_same(got: &[MemberOutcome], want: &[MemberOutcome], label: &str) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g.stop, w.stop, "{label}: model {i}'s stop reason");
        assert_eq!(untimed(&g.history), untimed(&w.history), "{label}: model {i}'s history");
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert!(bits(&g.params) == bits(&w.params), "{label}: model {i}'s parameters differ");
    }
}

#[test]
fn a_group_restored_between_epochs_ends_bitwise_as_one_never_stopped() {
    let (train, val) = data();
    let mut full = trainer();
    full.fit(&train, Some(&val), &mut |_| {}).unwrap();
    let want = full.outcomes().unwrap();
    // The mix did what it is meant to: every kind of stop, and a plateau that cut the rate.
    let stops: Vec<StopReason> = want.iter().map(|o| o.stop).collect();
    assert_eq!(stops, [StopReason::Epochs, StopReason::Diverged, StopReason::EarlyStop, StopReason::Epochs]);
    assert_eq!((want[2].history.epochs.len(), want[2].history.best_epoch), (4, Some(1)));
    assert_eq!(want[3].history.epochs.len(), 3);
    assert!(want[0].history.epochs.iter().any(|r| r.lr < 0.05), "the plateau schedule never cut the rate");

    for breaks in [vec![1], vec![3], vec![2, 3, 5]] {
        let name = Path::new("group.safetensors");
        let mut t = trainer();
        let mut done = 0;
        for &b in &breaks {
            t.fit_epochs(&train, Some(&val), b - done, &mut |_| {}).unwrap();
            done = b;
            let bytes = encode_members(name, &t.member_states().unwrap()).unwrap();
            let states = decode_members(name, &bytes).unwrap();
            // Compared as bytes: a diverged model's NaN parameters are not equal to themselves.
            assert!(encode_members(name, &states).unwrap() == bytes, "the bytes round-trip");
            assert_eq!(states[0].progress.epochs_done, b);
            t = trainer();
            t.restore_members(&states).unwrap();
        }
        t.fit(&train, Some(&val), &mut |_| {}).unwrap();
        assert_same(&t.outcomes().unwrap(), &want, &format!("stopped after epochs {breaks:?}"));
    }
}

#[test]
fn continuing_in_the_same_trainer_keeps_stopped_models_frozen() {
    let (train, val) = data();
    let mut full = trainer();
    full.fit(&train, Some(&val), &mut |_| {}).unwrap();
    let mut t = trainer();
    for _ in 0..EPOCHS {
        t.fit_epochs(&train, Some(&val), 1, &mut |_| {}).unwrap();
    }
    assert_same(&t.outcomes().unwrap(), &full.outcomes().unwrap(), "one epoch per call");
}

#[test]
fn bad_state_bytes_and_mismatched_groups_are_refused() {
    let (train, val) = data();
    let name = Path::new("g.safetensors");
    let mut t = trainer();
    t.fit_epochs(&train, Some(&val), 1, &mut |_| {}).unwrap();
    let states = t.member_states().unwrap();
    let bytes = encode_members(name, &states).unwrap();

    let err = decode_members(name, &bytes[..bytes.len() - 9]).unwrap_err().to_string();
    assert!(err.contains("g.safetensors"), "{err}");
    let plain = wgtrain::tensor_file::encode_tensors(name, &[], &Default::default()).unwrap();
    let err = decode_members(name, &plain).unwrap_err().to_string();
    assert!(err.contains("not a sweep state file"), "{err}");

    let err = trainer().restore_members(&states[..3]).unwrap_err().to_string();
    assert!(err.contains("3 states for a group of 4"), "{err}");
    let mut short = states.clone();
    short[1].params.pop();
    assert!(trainer().restore_members(&short).is_err(), "a short parameter vector is refused");
}
