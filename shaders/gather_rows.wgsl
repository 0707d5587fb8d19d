// Appended to gather.wgsl, gather_vec4.wgsl and their f16 forms, which define `Elem` (f32 or vec4<f32>, what src
// holds) and `Out` (what out holds: the same, or f16 or vec4<f16>, each value rounded once as it is stored): the
// row gather.

struct GatherParams {
    rows: u32,
    cols: u32,
    src_rows: u32,
    row_start: u32,
}

// What changes every step and is shared by a step's gathers, written once per step (ops::step::StepParams).
struct Step {
    batch_offset: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> params: GatherParams;
@group(0) @binding(1) var<uniform> step: Step;
@group(0) @binding(2) var<storage, read> indices: array<u32>;
@group(0) @binding(3) var<storage, read> src: array<Elem>;
@group(0) @binding(4) var<storage, read_write> out: array<Out>;

@compute @workgroup_size(WG_ELEMENTWISE)
fn gather_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    // `cols` counts Elems: floats, or vec4s in gather_vec4.wgsl.
    let i = flat_workgroup(wid, nwg) * WG_ELEMENTWISE + lid;
    if (i >= params.rows * params.cols) { return; }
    let r = i / params.cols;
    let c = i % params.cols;
    let index = indices[step.batch_offset + r];
    if (index < params.row_start || index - params.row_start >= params.src_rows) { return; }
    out[i] = Out(src[(index - params.row_start) * params.cols + c]);
}
