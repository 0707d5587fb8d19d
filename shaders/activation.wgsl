// Element-wise activations and row-wise softmax.
// Bindings: 0 params, 1 x (read), then 2 dy (read, backward only), and the output (read_write) last.
// activation_forward:  y[i] = f(x[i])                      x, y: [n]
// activation_backward: dx[i] = dy[i] * f'(x[i])            x = pre-activation
// softmax_forward / log_softmax_forward: row-wise over [rows, cols], max-subtracted for stability.
// CPU twin: src/reference/activation.rs.

struct ActivationParams {
    n: u32,
    kind: u32,
    slope: f32,
    cols: u32,
}

@group(0) @binding(0) var<uniform> params: ActivationParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG_ELEMENTWISE)
fn activation_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                      @builtin(local_invocation_index) lid: u32) {
    let i = flat_workgroup(wid, nwg) * WG_ELEMENTWISE + lid;
    if (i >= params.n) { return; }
    out[i] = act_forward(x[i], params.kind, params.slope);
}

@compute @workgroup_size(WG_ELEMENTWISE)
fn activation_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                       @builtin(local_invocation_index) lid: u32) {
    let i = flat_workgroup(wid, nwg) * WG_ELEMENTWISE + lid;
    if (i >= params.n) { return; }
    out[i] = dy[i] * act_derivative(x[i], params.kind, params.slope);
}

// One invocation per row: rows are short (class counts), so a per-row loop beats a cross-lane reduction.
@compute @workgroup_size(WG_ROWS)
fn softmax_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
    let row = flat_workgroup(wid, nwg) * WG_ROWS + lid;
    let rows = params.n / max(params.cols, 1u);
    if (row >= rows) { return; }
    let base = row * params.cols;
    var m = x[base];
    for (var c = 1u; c < params.cols; c++) { m = max(m, x[base + c]); }
    var s = 0.0;
    for (var c = 0u; c < params.cols; c++) { s += exp(x[base + c] - m); }
    for (var c = 0u; c < params.cols; c++) { out[base + c] = exp(x[base + c] - m) / s; }
}

@compute @workgroup_size(WG_ROWS)
fn log_softmax_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                       @builtin(local_invocation_index) lid: u32) {
    let row = flat_workgroup(wid, nwg) * WG_ROWS + lid;
    let rows = params.n / max(params.cols, 1u);
    if (row >= rows) { return; }
    let base = row * params.cols;
    var m = x[base];
    for (var c = 1u; c < params.cols; c++) { m = max(m, x[base + c]); }
    var s = 0.0;
    for (var c = 0u; c < params.cols; c++) { s += exp(x[base + c] - m); }
    let lse = m + log(s);
    for (var c = 0u; c < params.cols; c++) { out[base + c] = x[base + c] - lse; }
}
