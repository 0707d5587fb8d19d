// Dynamic loss scaling (torch.amp.GradScaler) on the device, for every model of a group (model m = workgroup_id.z;
// a lone network is m = 0). Each model's scaler lives in its words of the gradient-scale buffer the optimizer
// reads, at m · scaler_stride (ops::loss_scale::word names them):
//   [0] clip factor, [1] gradient norm (written by clip_scale), [2] found_inf (0 or 1), [3] scale S,
//   [4] good steps since S last changed, [5] steps skipped so far, [6] growth factor, [7] backoff factor,
//   [8] growth interval, [9] skipped steps the host has not yet counted (the optimizer picks its record by it).
// scale_loss_gradient: d[m·stride + i] ·= S_m                           for i < len (the loss gradient)
// unscale_check:       g[m·stride + i] ·= 1 / S_m; found_inf_m = 1 if any g is infinite or NaN    (i < len vec4s;
//                      torch's _amp_foreach_non_finite_check_and_unscale_)
// loss_scale_update:   found_inf: S ·= backoff, good = 0, skipped += 1, pending += 1; else good += 1 and, at the interval,
//                      S ·= growth (kept only if finite), good = 0; then found_inf = 0 (torch's
//                      _amp_update_scale_). A frozen model's scaler is left as it is.
// The optimizer skips a model whose found_inf is set (optim.wgsl, SKIP_NON_FINITE), so a skipped step changes
// neither its parameters nor its state. CPU twin: src/reference/loss_scale.rs.

struct LossScaleParams {
    len: u32,
    stride: u32,
    scaler_stride: u32,
    _pad: u32,
}

// The optimizer's per-model record (ops::optim::ModelHyper, 80 bytes), read here only for `frozen`: its 17th
// word, the first of the fifth vec4.
struct HyperWords {
    w0: vec4<u32>,
    w1: vec4<u32>,
    w2: vec4<u32>,
    w3: vec4<u32>,
    w4: vec4<u32>,
}

@group(0) @binding(0) var<uniform> params: LossScaleParams;
@group(0) @binding(1) var<storage, read_write> scaler: array<f32>;
@group(0) @binding(2) var<storage, read_write> d: array<f32>;
@group(0) @binding(3) var<storage, read_write> grad: array<vec4<f32>>;
@group(0) @binding(4) var<uniform> models: array<HyperWords, 256>;

const FOUND_INF: u32 = 2u;
const SCALE: u32 = 3u;
const GOOD: u32 = 4u;
const SKIPPED: u32 = 5u;
const GROWTH: u32 = 6u;
const BACKOFF: u32 = 7u;
const INTERVAL: u32 = 8u;
const PENDING: u32 = 9u;
const EXPONENT: u32 = 0x7f800000u;

// Infinite or NaN: every exponent bit set (tested on the bits, which a fast-math compiler cannot fold away).
fn non_finite(x: vec4<f32>) -> bool {
    return any((bitcast<vec4<u32>>(x) & vec4<u32>(EXPONENT)) == vec4<u32>(EXPONENT));
}

@compute @workgroup_size(WG_ELEMENTWISE)
fn scale_loss_gradient(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                       @builtin(local_invocation_index) lid: u32) {
    let i = flat_workgroup(wid, nwg) * WG_ELEMENTWISE + lid;
    if (i >= params.len) { return; }
    let at = wid.z * params.stride + i;
    d[at] = d[at] * scaler[wid.z * params.scaler_stride + SCALE];
}

@compute @workgroup_size(WG_ELEMENTWISE)
fn unscale_check(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
    let i = flat_workgroup(wid, nwg) * WG_ELEMENTWISE + lid;
    if (i >= params.len) { return; }
    let o = wid.z * params.scaler_stride;
    let inv = 1.0 / scaler[o + SCALE];
    let at = wid.z * params.stride + i;
    let g = grad[at] * inv;
    grad[at] = g;
    // Every invocation that finds one stores the same 1.0, and nothing else writes the word in this launch, so the
    // stores need no atomic (whose bounds-checked form naga's SPIR-V back end does not implement).
    if (non_finite(g)) { scaler[o + FOUND_INF] = 1.0; }
}

@compute @workgroup_size(1)
fn loss_scale_update(@builtin(workgroup_id) wid: vec3<u32>) {
    let o = wid.z * params.scaler_stride;
    let found = scaler[o + FOUND_INF] != 0.0;
    scaler[o + FOUND_INF] = 0.0;
    if (models[wid.z].w4.x != 0u) { return; }
    if (found) {
        scaler[o + SCALE] = scaler[o + SCALE] * scaler[o + BACKOFF];
        scaler[o + GOOD] = 0.0;
        scaler[o + SKIPPED] = scaler[o + SKIPPED] + 1.0;
        scaler[o + PENDING] = scaler[o + PENDING] + 1.0;
        return;
    }
    let good = scaler[o + GOOD] + 1.0;
    if (good >= scaler[o + INTERVAL]) {
        let grown = scaler[o + SCALE] * scaler[o + GROWTH];
        if (!non_finite(vec4<f32>(grown))) { scaler[o + SCALE] = grown; }
        scaler[o + GOOD] = 0.0;
    } else {
        scaler[o + GOOD] = good;
    }
}
