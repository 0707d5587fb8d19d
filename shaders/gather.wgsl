// gather_rows: out[r, c] = src[indices[offset + r] − row_start, c] for r < rows, c < cols, with offset =
// step.batch_offset, so one recorded dispatch serves every batch of an epoch. `src` holds rows
// row_start..row_start + src_rows of the data set: a data set larger than one storage binding is split into
// chunks, one dispatch per chunk, and each writes only the rows whose index falls in its chunk.
// Bindings: 0 params, 1 step, 2 indices, 3 src, 4 out.
// CPU twin: src/reference/gather.rs.

struct GatherParams {
    rows: u32,
    cols: u32,
    src_rows: u32,
    row_start: u32,
}

@group(0) @binding(0) var<uniform> params: GatherParams;
@group(0) @binding(1) var<uniform> step: Step;
@group(0) @binding(2) var<storage, read> indices: array<u32>;
@group(0) @binding(3) var<storage, read> src: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn gather_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let i = flat_workgroup(wid, nwg) * 256u + lid;
    if (i >= params.rows * params.cols) { return; }
    let r = i / params.cols;
    let c = i % params.cols;
    let index = indices[step.batch_offset + r];
    if (index < params.row_start || index - params.row_start >= params.src_rows) { return; }
    out[i] = src[(index - params.row_start) * params.cols + c];
}
