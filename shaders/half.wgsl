// The element-wise kernels of f16 training that have no f32 counterpart to share a body with. Every value is
// computed in f32 (f16 inputs widened exactly as they are read) and rounded to f16 once, where an f16 is stored.
// Bindings: 0 params, then per entry point the ones it uses: 2 x16 (f16 in), 3 dy16 (f16 in), 4 out16 (f16 out),
// 5 out32 (f32 out).
// activation_backward_f16: out16[i] = f16(dy16[i] · f'(x16[i]))         i < n, x16 the pre-activation
// column_sum_f16:          out32[c] = Σ_r x16[r, c] (in f32, r in order) x16: [n / cols, cols] (bias gradients)
// transpose_f16:           out16[c, r] = x16[r, c]                      x16: [n / cols, cols]
// column_sum_f16 and transpose_f16 run model-batched: workgroup_id.z is the model, whose x16 starts x_batch and
// whose output starts out_batch elements after the previous model's (0 and z = 1 alone).
// CPU twin: src/reference/half.rs.

struct HalfParams {
    n: u32,
    cols: u32,
    kind: u32,
    slope: f32,
    x_batch: u32,
    out_batch: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> params: HalfParams;
@group(0) @binding(2) var<storage, read> x16: array<f16>;
@group(0) @binding(3) var<storage, read> dy16: array<f16>;
@group(0) @binding(4) var<storage, read_write> out16: array<f16>;
@group(0) @binding(5) var<storage, read_write> out32: array<f32>;

@compute @workgroup_size(WG_ELEMENTWISE)
fn activation_backward_f16(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                           @builtin(local_invocation_index) lid: u32) {
    let i = flat_workgroup(wid, nwg) * WG_ELEMENTWISE + lid;
    if (i >= params.n) { return; }
    out16[i] = f16(f32(dy16[i]) * act_derivative(f32(x16[i]), params.kind, params.slope));
}

@compute @workgroup_size(WG_ROWS)
fn column_sum_f16(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
    let col = flat_workgroup(wid, nwg) * WG_ROWS + lid;
    if (col >= params.cols) { return; }
    let rows = params.n / params.cols;
    let xo = wid.z * params.x_batch;
    var s = 0.0;
    for (var r = 0u; r < rows; r++) { s += f32(x16[xo + r * params.cols + col]); }
    out32[wid.z * params.out_batch + col] = s;
}

@compute @workgroup_size(WG_ELEMENTWISE)
fn transpose_f16(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
    let i = flat_workgroup(wid, nwg) * WG_ELEMENTWISE + lid;
    if (i >= params.n) { return; }
    let rows = params.n / params.cols;
    let r = i / params.cols;
    let c = i % params.cols;
    out16[wid.z * params.out_batch + c * rows + r] = x16[wid.z * params.x_batch + i];
}
