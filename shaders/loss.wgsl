// Loss value and gradient with respect to the raw network outputs, in one pass, reduction = mean (PyTorch).
// One invocation per row (sample). Bindings: 0 params, 1 logits [rows, cols], 2 targets, 3 dlogits [rows, cols],
// 4 row_stats [2 * rows]: row_stats[r] = the sample's loss (mean over its outputs), row_stats[rows + r] = correct.
// mse_loss:           l = (y − t)²,                               dy = 2 (y − t) / (rows · cols)
// bce_loss:           l = max(x, 0) − x t + log(1 + e^(−|x|)),    dx = (σ(x) − t) / (rows · cols); correct: (x > 0) = (t > ½)
// cross_entropy_loss: l = logsumexp(x) − x[t],                    dx = (softmax(x) − onehot(t)) / rows; correct: argmax = t
// weighted_cross_entropy_loss (PyTorch's CrossEntropyLoss(weight=w), reduction = mean): with W = Σ_batch w[t_i],
//   l = w[t]·(logsumexp(x) − x[t])·rows / W (so the batch mean of l is Σ w[t_i]·nll_i / W),  dx = w[t]·(softmax(x) − onehot(t)) / W.
//   Binding 5 holds w [cols]. Every workgroup sums W itself (WG_ROWS strided partial sums, then a tree), O(rows) per
//   workgroup, so the batch needs no separate reduction launch.
// Targets: [rows, cols] values for mse and bce, [rows] class indices stored as f32 for cross-entropy.
// CPU twin: src/reference/loss.rs. The entry points are in loss_body.wgsl, appended here (and to loss_f16.wgsl).

@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(3) var<storage, read_write> dlogits: array<f32>;

fn logit(i: u32) -> f32 { return logits[i]; }
fn set_grad(i: u32, g: f32) { dlogits[i] = g; }
