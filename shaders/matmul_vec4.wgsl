// C[M, N] = op(A)·op(B) with vec4 loads, each invocation computing a 4×4 block of C. On CPU-backed drivers
// (lavapipe) every scalar load of a SIMD lane is a gather, so loading four floats at once is the largest lever
// (measured ×4–9 over scalar loads). Three layouts, chosen by the host when the dimensions allow:
//   layout 0, NT: A [M, K], B [N, K] (C = A·Bᵀ, the forward pass), needs K % 4 = 0: both read as vec4 along K;
//   layout 1, NN: A [M, K], B [K, N] (dX = dZ·W), needs K % 4 = 0 and N % 4 = 0;
//   layout 2, TN: A [K, M], B [K, N] (dW = dZᵀ·X), needs M % 4 = 0 and N % 4 = 0.
// Bindings as shaders/matmul.wgsl: 0 params, 1 a, 2 b, 3 bias [N], 4 aux [M, N], 5 c, 6 z; the same entry points
// (matmul_forward, matmul_activation_backward) come from matmul_epilogue.wgsl, appended to this file.
// Every load index is clamped into range, so the kernel is safe without runtime bounds checks.
// CPU twin: src/reference/matmul.rs (the same products; only the summation order within a vec4 differs).

struct MatmulVec4Params {
    m: u32,
    n: u32,
    k: u32,
    tiles_n: u32,
    operand_layout: u32,
    has_bias: u32,
    activation: u32,
    slope: f32,
    store_pre: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> params: MatmulVec4Params;
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> aux: array<f32>;
@group(0) @binding(5) var<storage, read_write> c: array<f32>;
@group(0) @binding(6) var<storage, read_write> z: array<f32>;

const TILE: u32 = 32u;

// NT: c[i][j] = Σ_k a[row_i, k] b[col_j, k], four k at a time.
fn block_nt(row0: u32, col0: u32) -> array<vec4<f32>, 4> {
    let k4 = params.k / 4u;
    var ar: array<u32, 4>;
    var br: array<u32, 4>;
    for (var i = 0u; i < 4u; i++) {
        ar[i] = min(row0 + i, params.m - 1u) * k4;
        br[i] = min(col0 + i, params.n - 1u) * k4;
    }
    var acc: array<vec4<f32>, 4>;
    for (var kk = 0u; kk < k4; kk++) {
        let b0 = b[br[0] + kk];
        let b1 = b[br[1] + kk];
        let b2 = b[br[2] + kk];
        let b3 = b[br[3] + kk];
        for (var i = 0u; i < 4u; i++) {
            let av = a[ar[i] + kk];
            acc[i] += vec4<f32>(dot(av, b0), dot(av, b1), dot(av, b2), dot(av, b3));
        }
    }
    return acc;
}

// NN: c[i][·] = Σ_k a[row_i, k] b[k, col0..col0+4], A read four k at a time.
fn block_nn(row0: u32, col0: u32) -> array<vec4<f32>, 4> {
    let k4 = params.k / 4u;
    let n4 = params.n / 4u;
    let col4 = min(col0 / 4u, n4 - 1u);
    var ar: array<u32, 4>;
    for (var i = 0u; i < 4u; i++) {
        ar[i] = min(row0 + i, params.m - 1u) * k4;
    }
    var acc: array<vec4<f32>, 4>;
    for (var kk = 0u; kk < k4; kk++) {
        let base = 4u * kk * n4 + col4;
        let b0 = b[base];
        let b1 = b[base + n4];
        let b2 = b[base + 2u * n4];
        let b3 = b[base + 3u * n4];
        for (var i = 0u; i < 4u; i++) {
            let av = a[ar[i] + kk];
            acc[i] += av.x * b0 + av.y * b1 + av.z * b2 + av.w * b3;
        }
    }
    return acc;
}

// TN: c[i][·] = Σ_k a[k, row0 + i] b[k, col0..col0+4], an outer product of two vec4 per k.
fn block_tn(row0: u32, col0: u32) -> array<vec4<f32>, 4> {
    let m4 = params.m / 4u;
    let n4 = params.n / 4u;
    let row4 = min(row0 / 4u, m4 - 1u);
    let col4 = min(col0 / 4u, n4 - 1u);
    var acc: array<vec4<f32>, 4>;
    for (var kk = 0u; kk < params.k; kk++) {
        let av = a[kk * m4 + row4];
        let bv = b[kk * n4 + col4];
        acc[0] += av.x * bv;
        acc[1] += av.y * bv;
        acc[2] += av.z * bv;
        acc[3] += av.w * bv;
    }
    return acc;
}

fn accumulate(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> Block {
    let tile = flat_workgroup(wid, nwg);
    let row0 = (tile / params.tiles_n) * TILE + lid.y * 4u;
    let col0 = (tile % params.tiles_n) * TILE + lid.x * 4u;
    var acc: array<vec4<f32>, 4>;
    switch params.operand_layout {
        case 0u: { acc = block_nt(row0, col0); }
        case 1u: { acc = block_nn(row0, col0); }
        default: { acc = block_tn(row0, col0); }
    }
    return Block(row0, col0, acc);
}
