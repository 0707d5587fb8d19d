use super::*;
use crate::train::StopReason;

fn list(name: &str, v: &[&str]) -> Axis {
    Axis { name: name.into(), values: AxisValues::List(v.iter().map(|s| s.to_string()).collect()) }
}

#[test]
fn axes_split_on_commas_or_semicolons_and_ranges_parse() {
    assert_eq!(Axis::parse("lr", "1e-4,3e-4", ValueKind::Float).unwrap(), list("lr", &["1e-4", "3e-4"]));
    assert_eq!(
        Axis::parse("layers", "64,32;128,64", ValueKind::CommaText).unwrap(),
        list("layers", &["64,32", "128,64"])
    );
    assert_eq!(Axis::parse("layers", "64,32", ValueKind::CommaText).unwrap(), list("layers", &["64,32"]));
    assert_eq!(
        Axis::parse("schedule", "constant;step:10:0.5", ValueKind::CommaText).unwrap(),
        list("schedule", &["constant", "step:10:0.5"])
    );
    let r = Axis::parse("lr", "log:1e-5:1e-1", ValueKind::Float).unwrap();
    assert_eq!(r.values, AxisValues::Range { lo: 1e-5, hi: 1e-1, log: true, integer: false });
    assert!(Axis::parse("lr", "log:0:1", ValueKind::Float).is_err());
    assert!(Axis::parse("lr", "1,,2", ValueKind::Float).is_err());
    assert!(!list("lr", &["1"]).varies());
}

#[test]
fn the_grid_is_the_product_with_the_first_axis_slowest() {
    let g = grid(&[list("a", &["1", "2"]), list("b", &["x", "y", "z"])]).unwrap();
    assert_eq!(g.len(), 6);
    assert_eq!(g[0], vec![("a".to_string(), "1".to_string()), ("b".to_string(), "x".to_string())]);
    assert_eq!(g[5], vec![("a".to_string(), "2".to_string()), ("b".to_string(), "z".to_string())]);
    let r = Axis::parse("lr", "0.1:0.2", ValueKind::Float).unwrap();
    assert!(grid(&[r]).is_err());
}

#[test]
fn random_draws_are_seeded_and_stay_in_range() {
    let axes = [
        Axis::parse("lr", "log:1e-5:1e-1", ValueKind::Float).unwrap(),
        Axis::parse("momentum", "0.8:0.99", ValueKind::Float).unwrap(),
        Axis::parse("batch-size", "16:256", ValueKind::Integer).unwrap(),
        list("optimizer", &["adam", "sgd"]),
    ];
    let a = random(&axes, 50, 7);
    assert_eq!(a, random(&axes, 50, 7));
    assert_ne!(a, random(&axes, 50, 8));
    for c in &a {
        let lr: f64 = c[0].1.parse().unwrap();
        let m: f64 = c[1].1.parse().unwrap();
        let b: usize = c[2].1.parse().unwrap();
        assert!((1e-5..=1e-1).contains(&lr) && (0.8..=0.99).contains(&m) && (16..=256).contains(&b), "{c:?}");
    }
}

#[test]
fn shards_cover_the_sweep_once_and_read_the_scheduler() {
    for len in [0, 1, 7, 10] {
        let mut seen = Vec::new();
        for i in 0..3 {
            seen.extend(Shard::new(i, 3).unwrap().range(len));
        }
        assert_eq!(seen, (0..len).collect::<Vec<_>>());
    }
    assert_eq!(Shard::parse("2/3").unwrap(), Shard { index: 2, count: 3 });
    assert!(Shard::parse("3/3").is_err());
    let env = |vars: &'static [(&'static str, &'static str)]| {
        move |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    };
    let slurm = env(&[("SLURM_ARRAY_TASK_ID", "5"), ("SLURM_ARRAY_TASK_MIN", "1"), ("SLURM_ARRAY_TASK_COUNT", "8")]);
    assert_eq!(Shard::from_env(slurm, None).unwrap(), Shard { index: 4, count: 8 });
    let k8s = env(&[("JOB_COMPLETION_INDEX", "2")]);
    assert_eq!(Shard::from_env(k8s, Some(4)).unwrap(), Shard { index: 2, count: 4 });
    assert!(Shard::from_env(env(&[("JOB_COMPLETION_INDEX", "2")]), None).is_err());
    assert!(Shard::from_env(env(&[]), Some(2)).is_err());
}

#[test]
fn results_round_trip_through_json_and_sort_by_score() {
    let r = |index: usize, val: Option<f64>, stop: StopReason| ConfigResult {
        index,
        options: vec![
            ("epochs".into(), ConfigResult::option_value("3")),
            ("lr".into(), ConfigResult::option_value("1e-3")),
        ],
        metrics: FinalMetrics { loss: Some(0.5), accuracy: None, val_loss: val, val_accuracy: Some(0.9) },
        best_epoch: Some(2),
        epochs: 3,
        stop,
        curve: vec![1.0, f64::NAN, 0.5],
    };
    let mut v = vec![
        r(0, Some(0.3), StopReason::Epochs),
        r(1, None, StopReason::Diverged),
        r(2, Some(0.2), StopReason::EarlyStop),
        r(3, Some(0.25), StopReason::Halved),
    ];
    sort_results(&mut v);
    assert_eq!(v.iter().map(|r| r.index).collect::<Vec<_>>(), [2, 3, 0, 1]);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("r.json");
    results::write_results(&p, &v).unwrap();
    let back = read_results(&p).unwrap();
    assert_eq!(back.len(), 4);
    assert_eq!(back[0].options, v[0].options);
    assert_eq!(back[0].metrics, v[0].metrics);
    assert_eq!(back[1].stop, StopReason::Halved);
    assert_eq!(back[2].stop, StopReason::Epochs);
    assert_eq!(results::results_json(&back), results::results_json(&v));
    let csv = results::results_csv(&v);
    assert!(csv.starts_with("epochs,lr,loss,accuracy,val_loss,val_accuracy,best_epoch,epochs,stop\n"), "{csv}");
    assert!(results::table(&v).lines().count() == 5);
}
