// The losses of loss.wgsl on f16 network outputs (f16 training): logits and dlogits are f16, everything else as in
// loss.wgsl. Each logit is widened to f32 as it is read; the loss values (row_stats) are f32 and unscaled; each
// gradient is computed in f32, multiplied by the loss scale (loss_scale[0], an f32 in a storage buffer that the
// dynamic loss scaler writes, so the recorded step never changes) and rounded to f16 once, as it is stored: a
// gradient too large for f16 becomes ±∞, which the scaler's check finds.
// Bindings: those of loss.wgsl and 6 loss_scale. CPU twin: src/reference/loss_f16.rs.
// The entry points are in loss_body.wgsl, appended here.

@group(0) @binding(1) var<storage, read> logits: array<f16>;
@group(0) @binding(3) var<storage, read_write> dlogits: array<f16>;
@group(0) @binding(6) var<storage, read> loss_scale: array<f32>;

fn logit(i: u32) -> f32 { return f32(logits[i]); }
fn set_grad(i: u32, g: f32) { dlogits[i] = f16(g * loss_scale[0]); }
