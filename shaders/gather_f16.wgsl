// gather_rows into an f16 batch (f16 training's input x): gather.wgsl with out[r, c] = f16(src[...]), the f32
// value rounded to the nearest f16 as it is stored. Same bindings and semantics as gather.wgsl.
// CPU twin: src/reference/half.rs (gather_rows_f16). The kernel is in gather_rows.wgsl, appended here.

alias Elem = f32;
alias Out = f16;
