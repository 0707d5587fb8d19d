//! Launchers for shaders/loss.wgsl.

use super::{need, positive, to_u32, Models};
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::kernel::Dispatch;
use crate::shaders::{self, prelude::WG_ROWS};
use crate::tensor::{uniform, View};

/// A training loss, with PyTorch's reduction='mean'.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    /// Mean squared error over all outputs (F.mse_loss).
    Mse,
    /// Binary cross-entropy on logits over all outputs (F.binary_cross_entropy_with_logits).
    Bce,
    /// Softmax cross-entropy with integer class targets, mean over rows (F.cross_entropy).
    CrossEntropy,
}

impl Loss {
    /// The WGSL entry point.
    pub fn entry(self) -> &'static str {
        match self {
            Loss::Mse => "mse_loss",
            Loss::Bce => "bce_loss",
            Loss::CrossEntropy => "cross_entropy_loss",
        }
    }

    /// The name on the command line and in checkpoints.
    pub fn name(self) -> &'static str {
        match self {
            Loss::Mse => "mse",
            Loss::Bce => "bce",
            Loss::CrossEntropy => "cross-entropy",
        }
    }

    /// Parses `mse`, `bce` or `cross-entropy` (also `ce`, `cross_entropy`).
    pub fn parse(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "mse" => Ok(Loss::Mse),
            "bce" => Ok(Loss::Bce),
            "cross-entropy" | "ce" | "crossentropy" => Ok(Loss::CrossEntropy),
            _ => Err(Error::config("loss", format!("unknown loss {s:?}; expected cross-entropy, bce or mse"))),
        }
    }

    /// Whether the loss classifies (and so reports accuracy).
    pub fn is_classification(self) -> bool {
        !matches!(self, Loss::Mse)
    }

    /// Elements of the target tensor per row.
    pub fn target_cols(self, outputs: usize) -> usize {
        match self {
            Loss::CrossEntropy => 1,
            _ => outputs,
        }
    }
}

/// Mirrors `struct LossParams` in shaders/loss.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct LossParams {
    pub(crate) rows: u32,
    pub(crate) cols: u32,
    pub(crate) inv_count: f32,
    pub(crate) x_batch: u32,
    pub(crate) stats_batch: u32,
    pub(crate) _pad: [u32; 3],
}

impl LossParams {
    pub(crate) fn new(op: &'static str, rows: usize, cols: usize, count: usize, models: &Models) -> Result<Self> {
        Ok(LossParams {
            rows: to_u32(op, "rows", rows)?,
            cols: to_u32(op, "cols", cols)?,
            inv_count: (1.0 / count as f64) as f32,
            x_batch: to_u32(op, "logits model stride", models.input)?,
            stats_batch: to_u32(op, "row_stats model stride", models.output)?,
            _pad: [0; 3],
        })
    }
}

/// Loss value per row, correct flags and d loss / d logits for `rows` samples of `cols` outputs.
/// `targets` holds rows·cols values (mse, bce) or rows class indices as f32 (cross-entropy);
/// `row_stats` receives 2·rows values: losses, then correct flags.
pub fn loss(
    gpu: &Gpu,
    kind: Loss,
    logits: View<'_>,
    targets: View<'_>,
    dlogits: View<'_>,
    row_stats: View<'_>,
    rows: usize,
    cols: usize,
) -> Result<Dispatch> {
    loss_models(gpu, kind, logits, targets, dlogits, row_stats, rows, cols, &Models::ONE)
}

/// [`loss`] of `models.count` models in one launch, all on the same targets: model m's logits and dlogits at
/// m·`models.input`, its row_stats at m·`models.output`.
#[allow(clippy::too_many_arguments)]
pub fn loss_models(
    gpu: &Gpu,
    kind: Loss,
    logits: View<'_>,
    targets: View<'_>,
    dlogits: View<'_>,
    row_stats: View<'_>,
    rows: usize,
    cols: usize,
    models: &Models,
) -> Result<Dispatch> {
    const OP: &str = "loss";
    positive(OP, "rows", rows)?;
    positive(OP, "cols", cols)?;
    check_models(OP, models, rows, cols)?;
    need(OP, "logits", &logits, models.span(models.input, rows * cols))?;
    need(OP, "targets", &targets, rows * kind.target_cols(cols))?;
    need(OP, "dlogits", &dlogits, models.span(models.input, rows * cols))?;
    need(OP, "row_stats", &row_stats, models.span(models.output, 2 * rows))?;
    let count = match kind {
        Loss::CrossEntropy => rows,
        _ => rows * cols,
    };
    let p = LossParams::new(OP, rows, cols, count, models)?;
    let kernel = gpu.kernel(&shaders::LOSS, kind.entry())?;
    let u = uniform(gpu, kind.entry(), &p);
    let res = [u.as_entire_binding(), logits.binding(), targets.binding(), dlogits.binding(), row_stats.binding()];
    Dispatch::batched(gpu, kernel, &res, rows.div_ceil(WG_ROWS as usize) as u64, models.count, Vec::new())
}

/// Both outputs of consecutive models (dlogits, row_stats) must not overlap.
fn check_models(op: &'static str, models: &Models, rows: usize, cols: usize) -> Result<()> {
    models.check(op, 2 * rows)?;
    if models.count > 1 && models.input < rows * cols {
        let detail = format!("{} models' dlogits of {} overlap at stride {}", models.count, rows * cols, models.input);
        return Err(Error::Shape { op, detail });
    }
    Ok(())
}

/// Class-weighted cross-entropy (`weighted_cross_entropy_loss` in shaders/loss.wgsl): like [`loss`] with
/// [`Loss::CrossEntropy`], with `weights` [cols] so that the batch loss is Σ w[yᵢ]·nllᵢ / Σ w[yᵢ] (PyTorch's
/// `CrossEntropyLoss(weight=w)`), and the gradient w[y]·(softmax − onehot) / Σ w[yᵢ]. Each workgroup sums the
/// batch's weights itself: rows²/`WG_ROWS` loads per launch, negligible for mini-batches, noticeable only for full-batch
/// training on hundreds of thousands of rows. A batch whose weights sum to 0 gives NaN, as in PyTorch.
#[allow(clippy::too_many_arguments)]
pub fn weighted_cross_entropy(
    gpu: &Gpu,
    logits: View<'_>,
    targets: View<'_>,
    weights: View<'_>,
    dlogits: View<'_>,
    row_stats: View<'_>,
    rows: usize,
    cols: usize,
) -> Result<Dispatch> {
    weighted_cross_entropy_models(gpu, logits, targets, weights, dlogits, row_stats, rows, cols, &Models::ONE)
}

/// [`weighted_cross_entropy`] of `models.count` models in one launch (strides as [`loss_models`]).
#[allow(clippy::too_many_arguments)]
pub fn weighted_cross_entropy_models(
    gpu: &Gpu,
    logits: View<'_>,
    targets: View<'_>,
    weights: View<'_>,
    dlogits: View<'_>,
    row_stats: View<'_>,
    rows: usize,
    cols: usize,
    models: &Models,
) -> Result<Dispatch> {
    const OP: &str = "weighted cross-entropy";
    const ENTRY: &str = "weighted_cross_entropy_loss";
    positive(OP, "rows", rows)?;
    positive(OP, "cols", cols)?;
    check_models(OP, models, rows, cols)?;
    need(OP, "logits", &logits, models.span(models.input, rows * cols))?;
    need(OP, "targets", &targets, rows)?;
    need(OP, "weights", &weights, cols)?;
    need(OP, "dlogits", &dlogits, models.span(models.input, rows * cols))?;
    need(OP, "row_stats", &row_stats, models.span(models.output, 2 * rows))?;
    let p = LossParams::new(OP, rows, cols, rows, models)?;
    let kernel = gpu.kernel(&shaders::LOSS, ENTRY)?;
    let u = uniform(gpu, ENTRY, &p);
    let res = [
        u.as_entire_binding(),
        logits.binding(),
        targets.binding(),
        dlogits.binding(),
        row_stats.binding(),
        weights.binding(),
    ];
    Dispatch::batched(gpu, kernel, &res, rows.div_ceil(WG_ROWS as usize) as u64, models.count, Vec::new())
}
