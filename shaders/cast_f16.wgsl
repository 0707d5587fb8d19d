// Conversions between the f32 tensors a step keeps (the master weights, the gathered batch, the loss's logits and
// gradient) and the f16 tensors of half-precision training, for every model of a group (model m = workgroup_id.z).
// Offsets, strides and lengths count elements of each side (an f16 buffer holds two per 4-byte word).
// to_f16: dst16[dst_offset + m·dst_stride + i] = f16(src32[src_offset + m·src_stride + i])   for i < len
//         (round to nearest even; beyond f16's range, ±∞)
// to_f32: dst32[dst_offset + m·dst_stride + i] = f32(src16[src_offset + m·src_stride + i])   for i < len (exact)
// One invocation per element. CPU twin: src/reference/cast_f16.rs.

struct CastParams {
    len: u32,
    src_offset: u32,
    src_stride: u32,
    dst_offset: u32,
    dst_stride: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> params: CastParams;
@group(0) @binding(1) var<storage, read> src32: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst16: array<f16>;
@group(0) @binding(3) var<storage, read> src16: array<f16>;
@group(0) @binding(4) var<storage, read_write> dst32: array<f32>;

@compute @workgroup_size(WG_ELEMENTWISE)
fn to_f16(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
    let i = flat_workgroup(wid, nwg) * WG_ELEMENTWISE + lid;
    if (i >= params.len) { return; }
    dst16[params.dst_offset + wid.z * params.dst_stride + i] = f16(src32[params.src_offset + wid.z * params.src_stride + i]);
}

@compute @workgroup_size(WG_ELEMENTWISE)
fn to_f32(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
    let i = flat_workgroup(wid, nwg) * WG_ELEMENTWISE + lid;
    if (i >= params.len) { return; }
    dst32[params.dst_offset + wid.z * params.dst_stride + i] = f32(src16[params.src_offset + wid.z * params.src_stride + i]);
}
