//! CPU twin of shaders/loss_f16.wgsl: the f32 twin of shaders/loss.wgsl (`reference::loss`) on the f16 logits
//! widened exactly, with each gradient multiplied by the loss scale in f32 and rounded to f16 once (overflowing to
//! ±∞ as the kernel's store does); the per-row losses and correct flags stay f32 and unscaled.

use super::f16::f16;
use crate::ops::Models;

/// The twin of one f16 loss launch: `one` is the f32 twin of the loss with its targets bound (as for
/// `reference::loss::loss_models`), applied to each model's widened logits; returns (dlogits as f16, row_stats).
pub fn loss_f16_models(
    one: impl Fn(&[f32]) -> (Vec<f32>, Vec<f32>),
    logits: &[f16],
    rows: usize,
    cols: usize,
    models: &Models,
    scale: f32,
) -> (Vec<f16>, Vec<f32>) {
    let wide: Vec<f32> = logits.iter().map(|h| h.to_f32()).collect();
    let (d, stats) = super::loss::loss_models(one, &wide, rows, cols, models);
    (d.iter().map(|&g| f16::from_f32(g * scale)).collect(), stats)
}
