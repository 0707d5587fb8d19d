//! Tests of `schedule`: hand-computed values, parsing, and a hand-traced torch ReduceLROnPlateau run.

use super::*;

fn close(a: f64, b: f64) {
    assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0), "{a} != {b}");
}

fn sched(kind: LrSchedule) -> Schedule {
    Schedule { kind, warmup: 0, per: SchedulePer::Step }
}

#[test]
fn stateless_kinds_match_hand_values() {
    let s = sched(LrSchedule::Constant);
    close(s.lr(0.1, 0), 0.1);
    close(s.lr(0.1, 1000), 0.1);

    let s = sched(LrSchedule::Step { every: 10, gamma: 0.5 });
    for (t, want) in [(0, 1.0), (9, 1.0), (10, 0.5), (19, 0.5), (25, 0.25)] {
        close(s.lr(1.0, t), want);
    }

    let s = sched(LrSchedule::Exponential { every: 4, gamma: 0.5, staircase: false });
    for (t, want) in [(0, 1.0), (2, 0.5f64.sqrt()), (4, 0.5), (6, 0.5f64.powf(1.5))] {
        close(s.lr(1.0, t), want);
    }
    let s = sched(LrSchedule::Exponential { every: 4, gamma: 0.5, staircase: true });
    for (t, want) in [(0, 1.0), (3, 1.0), (4, 0.5), (7, 0.5), (8, 0.25)] {
        close(s.lr(1.0, t), want);
    }

    let s = sched(LrSchedule::InvSqrt);
    for (t, want) in [(0, 2.0), (3, 1.0), (15, 0.5)] {
        close(s.lr(2.0, t), want);
    }

    // 1/√(1+0.5·t): t=0 → 1, t=6 → 1/2, t=30 → 1/4.
    let s = sched(LrSchedule::InvTime { delta: 0.5 });
    for (t, want) in [(0, 1.0), (6, 0.5), (30, 0.25)] {
        close(s.lr(1.0, t), want);
    }

    let s = sched(LrSchedule::Linear { every: 2, delta: 0.25, min: 0.1 });
    for (t, want) in [(0, 1.0), (1, 1.0), (2, 0.75), (5, 0.5), (6, 0.25), (8, 0.1), (100, 0.1)] {
        close(s.lr(1.0, t), want);
    }

    // 0.1 + 0.9·(1+cos(πt/4))/2: t=0 → 1, t=2 → 0.55, t=4 → 0.1, beyond T stays at 0.1.
    let s = sched(LrSchedule::Cosine { period: 4, min: 0.1 });
    for (t, want) in [(0, 1.0), (2, 0.55), (4, 0.1), (9, 0.1)] {
        close(s.lr(1.0, t), want);
    }
    close(s.lr(1.0, 1), 0.1 + 0.9 * (1.0 + std::f64::consts::FRAC_1_SQRT_2) / 2.0);

    close(sched(LrSchedule::Plateau(PlateauConfig::default())).lr(0.3, 50), 0.3);
}

#[test]
fn warmup_multiplies_any_kind() {
    let mut s = sched(LrSchedule::Step { every: 2, gamma: 0.5 });
    s.warmup = 4;
    // factors 1/4, 2/4, 3/4, 1, 1 times 1, 1, 0.5, 0.5, 0.25
    for (t, want) in [(0, 0.25), (1, 0.5), (2, 0.375), (3, 0.5), (4, 0.25)] {
        close(s.lr(1.0, t), want);
    }
    s.kind = LrSchedule::Constant;
    s.warmup = 1;
    close(s.lr(0.1, 0), 0.1);
    s.warmup = 0;
    close(s.warmup_factor(0), 1.0);
}

#[test]
fn parse_every_form_and_round_trip() {
    let cases = [
        ("constant", LrSchedule::Constant),
        ("step:30:0.1", LrSchedule::Step { every: 30, gamma: 0.1 }),
        ("exp:100:0.5", LrSchedule::Exponential { every: 100, gamma: 0.5, staircase: false }),
        ("exp-stair:100:0.5", LrSchedule::Exponential { every: 100, gamma: 0.5, staircase: true }),
        ("inv-sqrt", LrSchedule::InvSqrt),
        ("inv-time:0.01", LrSchedule::InvTime { delta: 0.01 }),
        ("linear:10:0.001:0.0001", LrSchedule::Linear { every: 10, delta: 0.001, min: 0.0001 }),
        ("cosine:1000:0", LrSchedule::Cosine { period: 1000, min: 0.0 }),
        ("plateau:5:0.5", LrSchedule::Plateau(PlateauConfig { patience: 5, factor: 0.5, ..Default::default() })),
    ];
    for (spec, want) in cases {
        let got = Schedule::parse(spec).unwrap();
        assert_eq!(got, want, "{spec}");
        assert_eq!(Schedule::parse(&got.to_string()).unwrap(), want, "{spec} round trip");
    }
    assert_eq!(Schedule::parse(" step : 2 : 0.5 ").unwrap(), LrSchedule::Step { every: 2, gamma: 0.5 });
}

#[test]
fn parse_rejects_bad_specs_naming_them() {
    let bad = [
        ("", "unknown schedule"),
        ("warp", "unknown schedule `warp`"),
        ("constant:1", "expected the form constant"),
        ("step:10", "expected the form step:K:GAMMA"),
        ("step:0:0.5", "K must be an integer ≥ 1"),
        ("step:-1:0.5", "K must be an integer ≥ 1"),
        ("step:10:0", "GAMMA must be > 0"),
        ("step:10:nan", "GAMMA must be a finite number"),
        ("exp:10:-2", "GAMMA must be > 0"),
        ("exp-stair:1.5:0.5", "K must be an integer ≥ 1"),
        ("inv-sqrt:3", "expected the form inv-sqrt"),
        ("inv-time:-1", "DELTA must be ≥ 0"),
        ("inv-time:x", "DELTA must be a finite number"),
        ("linear:1:0.1", "expected the form linear:K:DELTA:MIN"),
        ("linear:1:0.1:-0.5", "MIN must be ≥ 0"),
        ("cosine:0:0", "T must be an integer ≥ 1"),
        ("cosine:10:inf", "MIN must be a finite number"),
        ("plateau:-1:0.5", "PATIENCE must be an integer ≥ 0"),
        ("plateau:3:1", "FACTOR must be in (0, 1)"),
        ("plateau:3:0", "FACTOR must be in (0, 1)"),
    ];
    for (spec, want) in bad {
        let msg = Schedule::parse(spec).unwrap_err().to_string();
        assert!(msg.contains("schedule") && msg.contains(&format!("`{spec}`")), "{spec}: {msg}");
        assert!(msg.contains(want), "{spec}: {msg}");
    }
}

#[test]
fn batch_growth_values_and_parse() {
    let g = BatchGrowth::parse("2:3:100").unwrap();
    assert_eq!(g, BatchGrowth { factor: 2.0, every: 3, max: 100 });
    let sizes: Vec<usize> = (0..12).map(|e| g.batch_size(16, e)).collect();
    assert_eq!(sizes, [16, 16, 16, 32, 32, 32, 64, 64, 64, 100, 100, 100]);
    // floor(10·1.5^k): 10, 15, 22, 33
    let g = BatchGrowth { factor: 1.5, every: 1, max: 1000 };
    assert_eq!((0..4).map(|e| g.batch_size(10, e)).collect::<Vec<_>>(), [10, 15, 22, 33]);
    assert_eq!(g.batch_size(0, 0), 1);
    assert_eq!(BatchGrowth { factor: 10.0, every: 1, max: 7 }.batch_size(5, u64::MAX), 7);
    for bad in ["", "2:3", "0.5:3:100", "2:0:100", "2:3:0", "x:1:1", "inf:1:1", "2:3:100:4"] {
        let msg = BatchGrowth::parse(bad).unwrap_err().to_string();
        assert!(msg.contains("batch growth") && msg.contains(&format!("`{bad}`")), "{bad}: {msg}");
    }
}
