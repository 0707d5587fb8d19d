//! The library's sweep runner: its state between epochs is plain data. A halving sweep that shows its state after
//! every epoch ends as the same sweep run straight through, and a fresh runner started from any of those states,
//! written to JSON and read back, ends there too: the same results and bitwise the same weights.

mod common;
use common::*;
use wgtrain::data::Dataset;
use wgtrain::internal::rng::Rng;
use wgtrain::model::{init_params, Init, MlpConfig};
use wgtrain::sweep::{Halving, Planned, SweepOptions, SweepOutcome, SweepRunner, SweepState};
use wgtrain::train::{EarlyStopping, Monitor, TrainConfig};
use wgtrain::{Activation, Loss, OptimizerConfig, OptimizerKind};

const INPUT: usize = 4;
const CLASSES: usize = 3;

fn dataset(seed: u64, rows: usize) -> Dataset {
    let mut rng = Rng::new(seed);
    let features = (0..rows * INPUT).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let targets = (0..rows).map(|_| (rng.next_u64() % CLASSES as u64) as f32).collect();
    Dataset {
        features,
        n_features: INPUT,
        targets,
        classes: Some((0..CLASSES).map(|c| c.to_string()).collect()),
        feature_names: (0..INPUT).map(|i| format!("x{i}")).collect(),
        target_name: "y".into(),
    }
}

/// Nine configurations: three learning rates, three seeds; one seed's configurations stop early.
fn plan() -> Vec<Planned> {
    let model = MlpConfig::new(INPUT, &[6], CLASSES, Activation::Relu);
    let mut out = Vec::new();
    for (i, lr) in [1e-3, 1e-2, 5e-2].into_iter().enumerate() {
        for seed in 0..3u64 {
            let mut c = TrainConfig::new(Loss::CrossEntropy, OptimizerConfig::new(OptimizerKind::Adam, lr));
            c.batch_size = Some(8);
            c.epochs = 5;
            c.seed = seed;
            if seed == 2 {
                c.early_stopping =
                    Some(EarlyStopping { monitor: Monitor::ValLoss, patience: 1, min_delta: 0.0, restore_best: true });
            }
            let params = init_params(&model, Init::Torch, seed).unwrap();
            let assignment = vec![("lr".to_string(), lr.to_string()), ("seed".to_string(), seed.to_string())];
            out.push(Planned::new(i * 3 + seed as usize, assignment, model.clone(), c, params));
        }
    }
    out
}

fn options() -> SweepOptions {
    SweepOptions {
        halving: Some(Halving { eta: 3, min_epochs: 1 }),
        max_group: Some(4),
        data_seed: 3,
        ..Default::default()
    }
}

/// Runs from `state` (the start when None) and returns the outcomes and every state the hook saw.
fn run(plan: &[Planned], state: Option<SweepState>, hook: bool) -> (Vec<SweepOutcome>, Vec<String>) {
    let (train, val) = (dataset(1, 45), dataset(2, 17));
    let mut runner = SweepRunner::new(gpu(), plan, &train, Some(&val), options()).expect("runner");
    let mut state = state.unwrap_or_else(|| runner.start());
    let mut seen = Vec::new();
    let mut save = |s: &SweepState| -> wgtrain::Result<()> {
        seen.push(serde_json::to_string(s).expect("state serializes"));
        Ok(())
    };
    let on_epoch: Option<&mut wgtrain::sweep::StateHook<'_>> = if hook { Some(&mut save) } else { None };
    runner.run(&mut state, &mut |_| {}, on_epoch).expect("sweep runs");
    let outcomes = runner.outcomes(&state);
    (outcomes, seen)
}

fn assert_same(label: &str, got: &[SweepOutcome], want: &[SweepOutcome]) {
    assert_eq!(got.len(), want.len(), "{label}");
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g.result, w.result, "{label}");
        let bits = |p: &[f32]| p.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&g.params), bits(&w.params), "{label}: weights of configuration {}", g.result.index);
    }
}

#[test]
fn a_sweep_continues_exactly_from_any_saved_state() {
    let plan = plan();
    let (straight, _) = run(&plan, None, false);
    assert_eq!(straight.len(), 9);
    let stops: Vec<&str> = straight.iter().map(|o| o.result.stop.name()).collect();
    assert!(stops.contains(&"halved"), "{stops:?}");
    let (watched, states) = run(&plan, None, true);
    assert_same("with the state read every epoch", &watched, &straight);
    assert!(states.len() > 5, "a state per group epoch and per rung: {}", states.len());
    for (k, text) in states.iter().enumerate() {
        let state: SweepState = serde_json::from_str(text).expect("state reads back");
        let (resumed, _) = run(&plan, Some(state), k % 2 == 0);
        assert_same(&format!("resumed from state {k}"), &resumed, &straight);
    }
}
