// Reductions. Bindings: 0 params, 1 x (read), 2 out (read_write).
// column_sum:          out[c] = Σ_r x[r, c]                 x: [rows, cols] (bias gradients)
// column_sum_texture:  the same, four columns per invocation, x read from a texture copy (binding 3; the texture
//                      family, cols % 4 = 0): a scalar storage load per row is a loop over the lanes on lavapipe.
// sum_squares_partial: out[w] = Σ_{i in chunk w} x[i]²     chunks of CHUNK elements (first pass of the global norm)
// clip_scale:          t = Σ_i x[i] (the partials); out[0] = min(1, max_norm / (√t + 1e-6)); out[1] = √t
//                      (torch.nn.utils.clip_grad_norm_); a single invocation.
// stats_accumulate:    out[0] += Σ x[0..rows]; out[1] += Σ x[rows..2·rows]; out[2] += rows   (loss and correct
//                      sums of a batch, accumulated on the GPU over an epoch); a single invocation.
// column_sum, column_sum_texture and stats_accumulate also run model-batched: workgroup_id.z is the model, whose
// x starts x_batch floats and whose out starts out_batch floats after the previous model's (0 and z = 1 alone).
// CPU twin: src/reference/reduce.rs.

struct ReduceParams {
    n: u32,
    cols: u32,
    max_norm: f32,
    x_batch: u32,
    out_batch: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> params: ReduceParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var x_texture: texture_2d<f32>;

const WG: u32 = REDUCE_WG;
const CHUNK: u32 = REDUCE_CHUNK;

var<workgroup> scratch: array<f32, WG>;

@compute @workgroup_size(WG_ROWS)
fn column_sum(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
    let col = flat_workgroup(wid, nwg) * WG_ROWS + lid;
    if (col >= params.cols) { return; }
    let rows = params.n / params.cols;
    let xo = wid.z * params.x_batch;
    var s = 0.0;
    for (var r = 0u; r < rows; r++) { s += x[xo + r * params.cols + col]; }
    out[wid.z * params.out_batch + col] = s;
}

@compute @workgroup_size(WG_ROWS)
fn column_sum_texture(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                      @builtin(local_invocation_index) lid: u32) {
    let c4 = params.cols / 4u;
    let g = flat_workgroup(wid, nwg) * WG_ROWS + lid;
    if (g >= c4) { return; }
    let rows = params.n / params.cols;
    let xo = wid.z * params.x_batch / 4u;
    let o = wid.z * params.out_batch + 4u * g;
    var s = vec4<f32>();
    for (var r = 0u; r < rows; r++) { s += flat_texel(x_texture, xo + r * c4 + g); }
    out[o] = s.x;
    out[o + 1u] = s.y;
    out[o + 2u] = s.z;
    out[o + 3u] = s.w;
}

fn tree_sum(lid: u32, v: f32) -> f32 {
    scratch[lid] = v;
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
        if (lid < stride) { scratch[lid] += scratch[lid + stride]; }
        workgroupBarrier();
    }
    return scratch[0];
}

@compute @workgroup_size(WG)
fn sum_squares_partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                       @builtin(local_invocation_index) lid: u32) {
    let w = flat_workgroup(wid, nwg);
    let start = w * CHUNK;
    let end = min(start + CHUNK, params.n);
    var s = 0.0;
    for (var i = start + lid; i < end; i += WG) {
        let v = x[i];
        s += v * v;
    }
    let total = tree_sum(lid, s);
    if (lid == 0u) { out[w] = total; }
}

// The two finalising reductions run in one invocation: their inputs are short (a few dozen partials, one value per
// batch row), and on CPU-backed drivers the barriers of a tree reduction cost more than the additions.
@compute @workgroup_size(1)
fn clip_scale() {
    var total = 0.0;
    for (var i = 0u; i < params.n; i++) { total += x[i]; }
    let norm = sqrt(total);
    out[0] = min(1.0, params.max_norm / (norm + 1e-6));
    out[1] = norm;
}

@compute @workgroup_size(1)
fn stats_accumulate(@builtin(workgroup_id) wid: vec3<u32>) {
    let rows = params.n;
    let xo = wid.z * params.x_batch;
    let o = wid.z * params.out_batch;
    var loss = 0.0;
    var correct = 0.0;
    for (var i = 0u; i < rows; i++) {
        loss += x[xo + i];
        correct += x[xo + rows + i];
    }
    out[o] += loss;
    out[o + 1u] += correct;
    out[o + 2u] += f32(rows);
}
