// Appended to loss.wgsl and loss_f16.wgsl, which declare logits and dlogits and define logit(i) (the value as f32)
// and set_grad(i, g) (store the gradient g): the loss entry points, described in loss.wgsl.

// x_batch: floats between consecutive models' logits (and dlogits); stats_batch: between their row_stats. A
// model-batched launch runs workgroup_id.z over the models, all reading the same targets (0 and z = 1 alone).
struct LossParams {
    rows: u32,
    cols: u32,
    inv_count: f32,
    x_batch: u32,
    stats_batch: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> params: LossParams;
@group(0) @binding(2) var<storage, read> targets: array<f32>;
@group(0) @binding(4) var<storage, read_write> row_stats: array<f32>;

// This launch's model's offsets (set first thing by every entry point).
var<private> xo: u32;
var<private> so: u32;

fn model_offsets(wid: vec3<u32>) {
    xo = wid.z * params.x_batch;
    so = wid.z * params.stats_batch;
}
@group(0) @binding(5) var<storage, read> class_weights: array<f32>;

var<workgroup> weight_sums: array<f32, WG_ROWS>;

@compute @workgroup_size(WG_ROWS)
fn mse_loss(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
    model_offsets(wid);
    let row = flat_workgroup(wid, nwg) * WG_ROWS + lid;
    if (row >= params.rows) { return; }
    let base = row * params.cols;
    var sum = 0.0;
    for (var c = 0u; c < params.cols; c++) {
        let d = logit(xo + base + c) - targets[base + c];
        sum += d * d;
        set_grad(xo + base + c, 2.0 * d * params.inv_count);
    }
    row_stats[so + row] = sum / f32(params.cols);
    row_stats[so + params.rows + row] = 0.0;
}

@compute @workgroup_size(WG_ROWS)
fn bce_loss(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
    model_offsets(wid);
    let row = flat_workgroup(wid, nwg) * WG_ROWS + lid;
    if (row >= params.rows) { return; }
    let base = row * params.cols;
    var sum = 0.0;
    var correct = 0.0;
    for (var c = 0u; c < params.cols; c++) {
        let x = logit(xo + base + c);
        let t = targets[base + c];
        sum += max(x, 0.0) - x * t + log(1.0 + exp(-abs(x)));
        set_grad(xo + base + c, (stable_sigmoid(x) - t) * params.inv_count);
        correct += select(0.0, 1.0, (x > 0.0) == (t > 0.5));
    }
    row_stats[so + row] = sum / f32(params.cols);
    row_stats[so + params.rows + row] = correct / f32(params.cols);
}

@compute @workgroup_size(WG_ROWS)
fn cross_entropy_loss(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                      @builtin(local_invocation_index) lid: u32) {
    model_offsets(wid);
    let row = flat_workgroup(wid, nwg) * WG_ROWS + lid;
    if (row >= params.rows) { return; }
    let base = row * params.cols;
    // Labels are validated on the host; the clamp only keeps a bad one from reading out of range.
    let label = min(u32(targets[row]), params.cols - 1u);
    var m = logit(xo + base);
    var arg = 0u;
    for (var c = 1u; c < params.cols; c++) {
        let v = logit(xo + base + c);
        if (v > m) { m = v; arg = c; }
    }
    var s = 0.0;
    for (var c = 0u; c < params.cols; c++) { s += exp(logit(xo + base + c) - m); }
    for (var c = 0u; c < params.cols; c++) {
        let p = exp(logit(xo + base + c) - m) / s;
        set_grad(xo + base + c, (p - select(0.0, 1.0, c == label)) * params.inv_count);
    }
    row_stats[so + row] = m + log(s) - logit(xo + base + label);
    row_stats[so + params.rows + row] = select(0.0, 1.0, arg == label);
}

@compute @workgroup_size(WG_ROWS)
fn weighted_cross_entropy_loss(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                               @builtin(local_invocation_index) lid: u32) {
    model_offsets(wid);
    let row = flat_workgroup(wid, nwg) * WG_ROWS + lid;
    // W over the whole batch: invocation lid adds rows lid, lid + WG_ROWS, ... in order, then a tree halves
    // WG_ROWS → 1.
    var part = 0.0;
    for (var r = lid; r < params.rows; r += WG_ROWS) {
        part += class_weights[min(u32(targets[r]), params.cols - 1u)];
    }
    weight_sums[lid] = part;
    workgroupBarrier();
    for (var s = WG_ROWS / 2u; s > 0u; s >>= 1u) {
        if (lid < s) { weight_sums[lid] += weight_sums[lid + s]; }
        workgroupBarrier();
    }
    let total = weight_sums[0];
    if (row >= params.rows) { return; }
    let base = row * params.cols;
    let label = min(u32(targets[row]), params.cols - 1u);
    let w = class_weights[label];
    var m = logit(xo + base);
    var arg = 0u;
    for (var c = 1u; c < params.cols; c++) {
        let v = logit(xo + base + c);
        if (v > m) { m = v; arg = c; }
    }
    var s = 0.0;
    for (var c = 0u; c < params.cols; c++) { s += exp(logit(xo + base + c) - m); }
    let scale = w / total;
    for (var c = 0u; c < params.cols; c++) {
        let p = exp(logit(xo + base + c) - m) / s;
        set_grad(xo + base + c, (p - select(0.0, 1.0, c == label)) * scale);
    }
    row_stats[so + row] = (m + log(s) - logit(xo + base + label)) * scale * f32(params.rows);
    row_stats[so + params.rows + row] = select(0.0, 1.0, arg == label);
}
