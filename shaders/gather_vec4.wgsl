// gather_rows four floats at a time, for rows whose length is a multiple of 4 (e.g. 784 MNIST pixels): on
// CPU-backed drivers a vec4 copy replaces four per-lane gathers. Same bindings and semantics as gather.wgsl, with
// params.cols counting vec4s. CPU twin: src/reference/gather.rs. The kernel is in gather_rows.wgsl, appended here.

alias Elem = vec4<f32>;
alias Out = vec4<f32>;
