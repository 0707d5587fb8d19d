//! mse_loss, bce_loss and cross_entropy_loss against src/reference/loss.rs.

mod common;
use common::*;
use wgtrain::internal::rng::Rng;
use wgtrain::ops::loss::{loss, loss_models, weighted_cross_entropy, weighted_cross_entropy_models};
use wgtrain::ops::Models;
use wgtrain::reference::loss as reference;
use wgtrain::Loss;

/// Per-row sums run in the same order as the twin; exp/log on the GPU are within a few ulp, and losses are O(10)
/// at most here, so 1e-5 relative + 1e-6 absolute covers rounding while a wrong formula (e.g. a missing 2 in the
/// MSE gradient or 1/rows instead of 1/(rows·cols)) is off by ≥ 50%.
const ATOL: f32 = 1e-6;
const RTOL: f32 = 1e-5;

fn run(kind: Loss, logits: &[f32], targets: &[f32], rows: usize, cols: usize) -> (Vec<f32>, Vec<f32>) {
    let (tl, tt, td, ts) = (upload(logits), upload(targets), zeros(rows * cols), zeros(2 * rows));
    let d = loss(gpu(), kind, tl.view(), tt.view(), td.view(), ts.view(), rows, cols).unwrap();
    gpu().run(&[&d]).unwrap();
    (td.read(gpu()).unwrap(), ts.read(gpu()).unwrap())
}

fn check(kind: Loss, rows: usize, cols: usize, seed: u64) {
    let logits = uniform(seed, rows * cols, -4.0, 4.0);
    let mut rng = Rng::new(seed + 1);
    let targets: Vec<f32> = match kind {
        Loss::Mse => (0..rows * cols).map(|_| rng.uniform(-2.0, 2.0)).collect(),
        Loss::Bce => (0..rows * cols).map(|_| if rng.next_f64() < 0.5 { 0.0 } else { 1.0 }).collect(),
        Loss::CrossEntropy => (0..rows).map(|_| (rng.next_u64() % cols as u64) as f32).collect(),
    };
    let (dl, stats) = run(kind, &logits, &targets, rows, cols);
    let (want_dl, want_stats) = match kind {
        Loss::Mse => reference::mse_loss(&logits, &targets, rows, cols),
        Loss::Bce => reference::bce_loss(&logits, &targets, rows, cols),
        Loss::CrossEntropy => reference::cross_entropy_loss(&logits, &targets, rows, cols),
    };
    let label = format!("{kind:?} {rows}x{cols}");
    assert_nontrivial(&label, &want_dl);
    assert_close(&format!("{label} dlogits"), &dl, &want_dl, ATOL, RTOL);
    assert_close(&format!("{label} row stats"), &stats, &want_stats, ATOL, RTOL);
}

#[test]
fn losses_match_reference() {
    for kind in [Loss::Mse, Loss::Bce, Loss::CrossEntropy] {
        for (i, (rows, cols)) in [(1, 1), (1, 2), (37, 3), (64, 10), (65, 1), (129, 7)].into_iter().enumerate() {
            if kind == Loss::CrossEntropy && cols == 1 {
                continue;
            }
            check(kind, rows, cols, 50 + i as u64);
        }
    }
}

/// Hand-computed values: the formulas themselves, not just agreement with the twin.
#[test]
fn losses_match_hand_computed_values() {
    // CE on logits [0, ln 3] with label 1: p = [1/4, 3/4]; loss = −ln(3/4); grad = [1/4, −1/4].
    let (d, s) = run(Loss::CrossEntropy, &[0.0, 3f32.ln()], &[1.0], 1, 2);
    assert_close("ce grad", &d, &[0.25, -0.25], 1e-6, 0.0);
    assert_close("ce loss", &s, &[-(0.75f32.ln()), 1.0], 1e-6, 0.0);
    // MSE over 2 elements: ((1−0)² + (3−1)²)/2 = 2.5; grad = 2(y−t)/2 = [1, 2].
    let (d, s) = run(Loss::Mse, &[1.0, 3.0], &[0.0, 1.0], 1, 2);
    assert_close("mse grad", &d, &[1.0, 2.0], 1e-6, 0.0);
    assert_close("mse loss", &s, &[2.5, 0.0], 1e-6, 0.0);
    // BCE at logit 0: loss ln 2, grad σ(0) − t = −½ for t = 1.
    let (d, s) = run(Loss::Bce, &[0.0], &[1.0], 1, 1);
    assert_close("bce", &[d[0], s[0]], &[-0.5, 2f32.ln()], 1e-6, 0.0);
}

/// Logits of ±1e4 must not overflow (log-sum-exp and the stable BCE form).
#[test]
fn losses_are_stable_for_huge_logits() {
    let (d, s) = run(Loss::CrossEntropy, &[1e4, -1e4, 0.0], &[1.0], 1, 3);
    assert!(d.iter().chain(&s).all(|v| v.is_finite()), "{d:?} {s:?}");
    assert_close("ce huge", &s[..1], &[2e4], 1.0, 0.0);
    let (d, s) = run(Loss::Bce, &[1e4, -1e4], &[0.0, 1.0], 1, 2);
    assert!(d.iter().chain(&s).all(|v| v.is_finite()), "{d:?} {s:?}");
    assert_close("bce huge", &s[..1], &[1e4], 1.0, 0.0);
}

/// Beyond 65,535 workgroups of 64 rows.
#[test]
fn loss_beyond_65535_workgroups() {
    check(Loss::Mse, 65_536 * 64 + 5, 1, 3);
}

fn run_weighted(logits: &[f32], labels: &[f32], weights: &[f32], rows: usize, cols: usize) -> (Vec<f32>, Vec<f32>) {
    let (tl, tt, tw, td, ts) = (upload(logits), upload(labels), upload(weights), zeros(rows * cols), zeros(2 * rows));
    let d = weighted_cross_entropy(gpu(), tl.view(), tt.view(), tw.view(), td.view(), ts.view(), rows, cols).unwrap();
    gpu().run(&[&d]).unwrap();
    (td.read(gpu()).unwrap(), ts.read(gpu()).unwrap())
}

/// The weighted kernel against its twin on awkward shapes (one row, one workgroup plus one, several workgroups
/// that must each sum every row's weight), with weights that include 0; same tolerances as the unweighted losses:
/// W is summed in the twin's order, so only exp/log rounding differs.
#[test]
fn weighted_cross_entropy_matches_reference() {
    for (i, (rows, cols)) in [(1, 2), (37, 3), (64, 10), (65, 4), (129, 7), (1000, 5)].into_iter().enumerate() {
        let seed = 80 + i as u64;
        let logits = uniform(seed, rows * cols, -4.0, 4.0);
        let mut rng = Rng::new(seed + 1);
        let labels: Vec<f32> = (0..rows).map(|_| (rng.next_u64() % cols as u64) as f32).collect();
        let mut weights = uniform(seed + 2, cols, 0.1, 3.0);
        if cols > 3 {
            weights[cols - 1] = 0.0;
        }
        let (dl, stats) = run_weighted(&logits, &labels, &weights, rows, cols);
        let (want_dl, want_stats) = reference::weighted_cross_entropy_loss(&logits, &labels, &weights, rows, cols);
        let label = format!("weighted {rows}x{cols}");
        assert_nontrivial(&label, &want_dl);
        assert_close(&format!("{label} dlogits"), &dl, &want_dl, ATOL, RTOL);
        assert_close(&format!("{label} row stats"), &stats, &want_stats, ATOL, RTOL);
    }
}

/// By hand: two rows, logits [0, ln 3] with labels 1 and 0, weights [1, 3]: nll = [−ln ¾, −ln ¼], W = 4, loss =
/// (3·(−ln ¾) + 1·(−ln ¼)) / 4; equal weights give the unweighted loss.
#[test]
fn weighted_cross_entropy_by_hand() {
    let x = [0.0, 3f32.ln(), 0.0, 3f32.ln()];
    let (d, s) = run_weighted(&x, &[1.0, 0.0], &[1.0, 3.0], 2, 2);
    let want = (3.0 * -(0.75f32.ln()) + -(0.25f32.ln())) / 4.0;
    assert_close("weighted loss", &[(s[0] + s[1]) / 2.0], &[want], 1e-6, 1e-6);
    assert_close("weighted grad", &d, &[0.25 * 0.75, -0.25 * 0.75, (0.25 - 1.0) * 0.25, 0.75 * 0.25], 1e-6, 1e-6);
    let logits = uniform(9, 70 * 3, -2.0, 2.0);
    let labels: Vec<f32> = (0..70).map(|r| (r % 3) as f32).collect();
    let (dw, sw) = run_weighted(&logits, &labels, &[0.5, 0.5, 0.5], 70, 3);
    let (du, su) = run(Loss::CrossEntropy, &logits, &labels, 70, 3);
    assert_close("equal weights grad", &dw, &du, 1e-7, 1e-5);
    assert_close("equal weights loss", &sw, &su, 1e-6, 1e-5);
}

/// The model-batched losses (`mse_loss`, `bce_loss`, `cross_entropy_loss`, `weighted_cross_entropy_loss` with
/// workgroup z = model, every model on the same targets) for 1 and 3 models on ragged shapes: against the twin
/// (the tolerance above) and bit for bit against the single-model launch on each model's logits.
#[test]
fn model_batched_losses_match_reference_and_single_launches() {
    let same = |a: &[f32], b: &[f32]| a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits());
    for (rows, cols) in [(1usize, 1usize), (37, 3), (130, 10)] {
        for count in [1, 3] {
            let n = rows * cols;
            let models = Models { count, input: n.next_multiple_of(4) + 4, output: 2 * rows + 4 };
            let logits = uniform((n + count) as u64, models.span(models.input, n), -4.0, 4.0);
            let mut rng = Rng::new(rows as u64);
            let weights: Vec<f32> = (0..cols).map(|c| 0.5 + c as f32).collect();
            for (kind, weighted) in
                [(Loss::Mse, false), (Loss::Bce, false), (Loss::CrossEntropy, false), (Loss::CrossEntropy, true)]
            {
                let targets: Vec<f32> = match kind {
                    Loss::Mse => (0..n).map(|_| rng.uniform(-2.0, 2.0)).collect(),
                    Loss::Bce => (0..n).map(|_| if rng.next_f64() < 0.5 { 0.0 } else { 1.0 }).collect(),
                    Loss::CrossEntropy => (0..rows).map(|_| (rng.next_u64() % cols as u64) as f32).collect(),
                };
                let (tl, tt, tw) = (upload(&logits), upload(&targets), upload(&weights));
                let (td, ts) = (zeros(models.span(models.input, n)), zeros(models.span(models.output, 2 * rows)));
                let d = if weighted {
                    let (l, t, w, dl, st) = (tl.view(), tt.view(), tw.view(), td.view(), ts.view());
                    weighted_cross_entropy_models(gpu(), l, t, w, dl, st, rows, cols, &models).unwrap()
                } else {
                    loss_models(gpu(), kind, tl.view(), tt.view(), td.view(), ts.view(), rows, cols, &models).unwrap()
                };
                gpu().run(&[&d]).unwrap();
                let (dl, stats) = (td.read(gpu()).unwrap(), ts.read(gpu()).unwrap());
                let one = |x: &[f32]| match (kind, weighted) {
                    (Loss::Mse, _) => reference::mse_loss(x, &targets, rows, cols),
                    (Loss::Bce, _) => reference::bce_loss(x, &targets, rows, cols),
                    (Loss::CrossEntropy, false) => reference::cross_entropy_loss(x, &targets, rows, cols),
                    (Loss::CrossEntropy, true) => {
                        reference::weighted_cross_entropy_loss(x, &targets, &weights, rows, cols)
                    }
                };
                let (want_dl, want_stats) = reference::loss_models(one, &logits, rows, cols, &models);
                let label = format!("{} ×{count} {rows}x{cols}", d.name());
                assert_close(&format!("{label} dlogits"), &dl, &want_dl, ATOL, RTOL);
                assert_close(&format!("{label} row stats"), &stats, &want_stats, ATOL, RTOL);
                for m in 0..count {
                    let xm = &logits[m * models.input..m * models.input + n];
                    let (single_dl, single_stats) = if weighted {
                        run_weighted(xm, &targets, &weights, rows, cols)
                    } else {
                        run(kind, xm, &targets, rows, cols)
                    };
                    let (a, s) = (m * models.input, m * models.output);
                    assert!(same(&dl[a..a + n], &single_dl), "{label}: model {m}'s dlogits differ from alone");
                    assert!(same(&stats[s..s + 2 * rows], &single_stats), "{label}: model {m}'s row stats");
                }
            }
        }
    }
}
