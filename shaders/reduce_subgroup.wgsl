// The reductions that combine values across invocations, with subgroup operations, for adapters with wgpu's
// SUBGROUP feature (src/gpu.rs requests it; WGTRAIN_SUBGROUPS=off keeps reduce.wgsl's paths):
// sum_squares_partial_subgroup: out[w] = Σ_{i in chunk w} x[i]²   (as sum_squares_partial: the global norm's first
//                               pass), subgroupAdd in place of a tree of log2(REDUCE_WG) barrier rounds;
// stats_accumulate_subgroup:    out[0] += Σ x[0..rows]; out[1] += Σ x[rows..2·rows]; out[2] += rows (as
//                               stats_accumulate), one workgroup of REDUCE_WG instead of one invocation.
// stats_accumulate_subgroup runs model-batched as stats_accumulate does (workgroup_id.z, x_batch, out_batch).
// Bindings as reduce.wgsl: 0 params, 1 x (read), 2 out (read_write). CPU twin: src/reference/reduce.rs (the same
// sums; the order of the additions differs: within each subgroup the driver's, then the subgroups in order).
// No `enable subgroups;`: naga 30 rejects the directive (not yet implemented) and takes the built-ins without it.

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

const WG: u32 = REDUCE_WG;
const CHUNK: u32 = REDUCE_CHUNK;

var<workgroup> partial: array<f32, WG>;

// Σ of v over the workgroup, valid in invocation 0: each subgroup adds its own values, its first invocation stores
// the sum, and invocation 0 adds the subgroups' sums in order. Subgroups are taken to be consecutive runs of
// local_invocation_index (index = subgroup_invocation_id + subgroup_size · subgroup id), as on every driver we run
// and as Dawn documents for its emulation of subgroup_id.
fn workgroup_sum(lid: u32, sid: u32, size: u32, v: f32) -> f32 {
    let s = subgroupAdd(v);
    if (sid == 0u) { partial[lid / size] = s; }
    workgroupBarrier();
    var total = 0.0;
    if (lid == 0u) {
        for (var g = 0u; g < (WG + size - 1u) / size; g++) { total += partial[g]; }
    }
    workgroupBarrier();
    return total;
}

@compute @workgroup_size(WG)
fn sum_squares_partial_subgroup(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                                @builtin(local_invocation_index) lid: u32,
                                @builtin(subgroup_invocation_id) sid: u32, @builtin(subgroup_size) size: u32) {
    let w = flat_workgroup(wid, nwg);
    let start = w * CHUNK;
    let end = min(start + CHUNK, params.n);
    var s = 0.0;
    for (var i = start + lid; i < end; i += WG) {
        let v = x[i];
        s += v * v;
    }
    let total = workgroup_sum(lid, sid, size, s);
    if (lid == 0u) { out[w] = total; }
}

@compute @workgroup_size(WG)
fn stats_accumulate_subgroup(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
                             @builtin(subgroup_invocation_id) sid: u32, @builtin(subgroup_size) size: u32) {
    let rows = params.n;
    let xo = wid.z * params.x_batch;
    let o = wid.z * params.out_batch;
    var loss = 0.0;
    var correct = 0.0;
    for (var i = lid; i < rows; i += WG) {
        loss += x[xo + i];
        correct += x[xo + rows + i];
    }
    let loss_sum = workgroup_sum(lid, sid, size, loss);
    let correct_sum = workgroup_sum(lid, sid, size, correct);
    if (lid == 0u) {
        out[o] += loss_sum;
        out[o + 1u] += correct_sum;
        out[o + 2u] += f32(rows);
    }
}
