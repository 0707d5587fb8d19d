// gather_rows: out[r, c] = src[indices[offset + r] − row_start, c] for r < rows, c < cols, with offset =
// step.batch_offset, so one recorded dispatch serves every batch of an epoch. `src` holds rows
// row_start..row_start + src_rows of the data set: a data set larger than one storage binding is split into
// chunks, one dispatch per chunk, and each writes only the rows whose index falls in its chunk.
// Bindings: 0 params, 1 step, 2 indices, 3 src, 4 out.
// CPU twin: src/reference/gather.rs. The kernel itself is in gather_rows.wgsl, appended to this file.

alias Elem = f32;
alias Out = f32;
