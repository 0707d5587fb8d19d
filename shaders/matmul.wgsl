// C[M, N] = op(A) · op(B), op = as stored or transposed, each invocation computing a 4×4 block of C
// (register blocking: a CPU-backed driver such as lavapipe gains nothing from workgroup memory).
// A is stored [M, K] (or [K, M] when transposed), B [K, N] (or [N, K]); the host passes the strides.
// Bindings: 0 params, 1 a, 2 b, 3 bias [N], 4 aux [M, N] (backward only), 5 c [M, N], 6 z [M, N] (forward only).
// The entry points (matmul_forward, matmul_activation_backward) are in matmul_epilogue.wgsl, appended to this file.
// Every load index is clamped into range, so the kernel is safe without runtime bounds checks.
// Model-batched launches run workgroup_id.z over the models, each operand offset by its per-model stride in floats
// (a_batch, b_batch, c_batch, bias_batch; aux and z share c's; 0 shares the operand); single launches pass 0 and z = 1.
// CPU twin: src/reference/matmul.rs.

struct MatmulParams {
    m: u32,
    n: u32,
    k: u32,
    blocks_n: u32,
    a_row_stride: u32,
    a_k_stride: u32,
    b_k_stride: u32,
    b_col_stride: u32,
    has_bias: u32,
    activation: u32,
    slope: f32,
    store_pre: u32,
    a_batch: u32,
    b_batch: u32,
    c_batch: u32,
    bias_batch: u32,
}

@group(0) @binding(0) var<uniform> params: MatmulParams;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> aux: array<f32>;
@group(0) @binding(5) var<storage, read_write> c: array<f32>;
@group(0) @binding(6) var<storage, read_write> z: array<f32>;

const TILE: u32 = MATMUL_TILE;

fn accumulate(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> Block {
    let tile = flat_workgroup(wid, nwg);
    let row0 = (tile / params.blocks_n) * TILE + lid.y * 4u;
    let col0 = (tile % params.blocks_n) * TILE + lid.x * 4u;
    var a_base: array<u32, 4>;
    var b_base: array<u32, 4>;
    for (var i = 0u; i < 4u; i++) {
        a_base[i] = wid.z * params.a_batch + min(row0 + i, params.m - 1u) * params.a_row_stride;
        b_base[i] = wid.z * params.b_batch + min(col0 + i, params.n - 1u) * params.b_col_stride;
    }
    // The canonical order of every matmul (src/matmul_wgsl): k in groups of four, each group summed first.
    var acc: array<vec4<f32>, 4>;
    for (var k0 = 0u; k0 < params.k; k0 += 4u) {
        var g: array<vec4<f32>, 4>;
        for (var q = 0u; q < 4u; q++) {
            let kk = k0 + q;
            if (kk >= params.k) { break; }
            let ak = kk * params.a_k_stride;
            let bk = kk * params.b_k_stride;
            let bv = vec4<f32>(b[bk + b_base[0]], b[bk + b_base[1]], b[bk + b_base[2]], b[bk + b_base[3]]);
            for (var i = 0u; i < 4u; i++) {
                let p = a[a_base[i] + ak] * bv;
                g[i] = select(g[i] + p, p, q == 0u);
            }
        }
        for (var i = 0u; i < 4u; i++) {
            acc[i] += g[i];
        }
    }
    return Block(row0, col0, acc);
}
