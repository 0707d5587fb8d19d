// transpose_texture: out[c, r] = x[r, c] for an R×C matrix x read from a flat texture copy (src/texture.rs),
// R and C multiples of 4: each invocation moves one 4×4 block (four texel fetches, four vec4 stores).
// The texture family uses it to turn dZ [B, out] into dZᵀ, so that the weight gradient dZᵀ·X runs as the A·B
// product with large blocks (about 40 GFLOP/s on lavapipe) instead of Aᵀ·B (about 25).
// Bindings: 0 params, 1 x (texture), 2 out [C, R]. CPU twin: src/reference/transpose.rs.

// x_batch, out_batch: texels and vec4s between consecutive models' x and out of a model-batched launch
// (workgroup_id.z is the model; 0 and z = 1 alone).
struct TransposeParams {
    rows: u32,
    cols: u32,
    x_batch: u32,
    out_batch: u32,
}

@group(0) @binding(0) var<uniform> params: TransposeParams;
@group(0) @binding(1) var x: texture_2d<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<vec4<f32>>;

@compute @workgroup_size(WG_ROWS)
fn transpose_texture(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_index) lid: u32) {
    let g = flat_workgroup(wid, nwg) * WG_ROWS + lid;
    let r4 = params.rows / 4u;
    let c4 = params.cols / 4u;
    if (g >= r4 * c4) { return; }
    let br = g / c4;
    let bc = g % c4;
    let xo = wid.z * params.x_batch;
    let o = wid.z * params.out_batch;
    let t0 = flat_texel(x, xo + (4u * br) * c4 + bc);
    let t1 = flat_texel(x, xo + (4u * br + 1u) * c4 + bc);
    let t2 = flat_texel(x, xo + (4u * br + 2u) * c4 + bc);
    let t3 = flat_texel(x, xo + (4u * br + 3u) * c4 + bc);
    out[o + (4u * bc) * r4 + br] = vec4<f32>(t0.x, t1.x, t2.x, t3.x);
    out[o + (4u * bc + 1u) * r4 + br] = vec4<f32>(t0.y, t1.y, t2.y, t3.y);
    out[o + (4u * bc + 2u) * r4 + br] = vec4<f32>(t0.z, t1.z, t2.z, t3.z);
    out[o + (4u * bc + 3u) * r4 + br] = vec4<f32>(t0.w, t1.w, t2.w, t3.w);
}
