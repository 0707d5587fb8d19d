// gather_vec4.wgsl into an f16 batch: four values per invocation, out a vec4<f16> (its view must start on 8
// bytes). CPU twin: src/reference/half.rs (gather_rows_f16). The kernel is in gather_rows.wgsl, appended here.

alias Elem = vec4<f32>;
alias Out = vec4<f16>;
