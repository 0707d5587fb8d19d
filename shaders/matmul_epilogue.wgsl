// Appended to matmul.wgsl (the scalar fallback): its entry points and their epilogues.
// Each kernel file defines `params` (m, n, has_bias, activation, slope, store_pre), the bindings bias, aux, c, z,
// and `fn accumulate(wid, nwg, lid) -> Block`: the 4×4 block of op(A)·op(B) at rows row0.., columns col0...
// matmul_forward:             z = op(A)·op(B) + bias (when has_bias); c = act(z); z is stored when store_pre = 1.
// matmul_activation_backward: c = (op(A)·op(B)) ⊙ act'(aux), aux = the pre-activation of the layer below.

struct Block {
    row0: u32,
    col0: u32,
    acc: array<vec4<f32>, 4>,
}

@compute @workgroup_size(MATMUL_TILE / 4u, MATMUL_TILE / 4u)
fn matmul_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_id) lid: vec3<u32>) {
    let blk = accumulate(wid, nwg, lid);
    for (var i = 0u; i < 4u; i++) {
        let row = blk.row0 + i;
        if (row >= params.m) { break; }
        for (var j = 0u; j < 4u; j++) {
            let col = blk.col0 + j;
            if (col >= params.n) { break; }
            var v = blk.acc[i][j];
            if (params.has_bias != 0u) { v += bias[wid.z * params.bias_batch + col]; }
            let idx = wid.z * params.c_batch + row * params.n + col;
            if (params.store_pre != 0u) { z[idx] = v; }
            c[idx] = act_forward(v, params.activation, params.slope);
        }
    }
}

@compute @workgroup_size(MATMUL_TILE / 4u, MATMUL_TILE / 4u)
fn matmul_activation_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                              @builtin(local_invocation_id) lid: vec3<u32>) {
    let blk = accumulate(wid, nwg, lid);
    for (var i = 0u; i < 4u; i++) {
        let row = blk.row0 + i;
        if (row >= params.m) { break; }
        for (var j = 0u; j < 4u; j++) {
            let col = blk.col0 + j;
            if (col >= params.n) { break; }
            let idx = wid.z * params.c_batch + row * params.n + col;
            c[idx] = blk.acc[i][j] * act_derivative(aux[idx], params.activation, params.slope);
        }
    }
}
