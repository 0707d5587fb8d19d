// Weights-only L2 penalty (scikit-learn's alpha), added to a layer's weight gradient for every model of a group.
// Bindings: 0 params, 1 coef (read), 2 w (read), 3 dw (read_write).
// weight_l2: dw[m·stride + j] += coef[m] · w[m·stride + j]   for m < models, j < len
// (coef[m] = alpha_m / rows: the gradient of 0.5·alpha_m·Σ W² / rows.) One invocation per element of every model.
// CPU twin: src/reference/weight_l2.rs.

struct WeightL2Params {
    len: u32,
    stride: u32,
    models: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> params: WeightL2Params;
@group(0) @binding(1) var<storage, read> coef: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> dw: array<f32>;

@compute @workgroup_size(WG_ELEMENTWISE)
fn weight_l2(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
    let i = flat_workgroup(wid, nwg) * WG_ELEMENTWISE + lid;
    if (i >= params.len * params.models) { return; }
    let m = i / params.len;
    let at = m * params.stride + i % params.len;
    dw[at] = dw[at] + coef[m] * w[at];
}
