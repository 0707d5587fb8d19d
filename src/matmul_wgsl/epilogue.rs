//! The parts every generated matmul shares: the params uniform, the epilogue's bindings, the activation in vector
//! form and the stores of a register block.

use std::fmt::Write as _;

use super::{Element, MatmulVariant, Pass};
use crate::shaders::prelude;

/// Mirrors `ops::matmul::MatmulParams`; the epilogue's switches come from pipeline constants instead of
/// has_bias / activation / store_pre (CPU drivers run both sides of every branch under a lane mask, and a
/// specialised pipeline folds them away).
pub const PARAMS: &str = "
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

override ACTIVATION: u32 = 0u;
override HAS_BIAS: bool = false;
override STORE_PRE: bool = false;

@group(0) @binding(0) var<uniform> params: MatmulParams;
";

/// Four products summed in the canonical order of every matmul variant.
pub const DOT4: &str = "
fn dot4(a: vec4<f32>, b: vec4<f32>) -> f32 {
    return a.x * b.x + a.y * b.y + a.z * b.z + a.w * b.w;
}
";

/// The activation and its derivative four values at a time, from the same formulas as every shader's act_forward /
/// act_derivative (`shaders::prelude`): one switch per four values kept pipeline creation four times faster than
/// scalar switches, and the switch on the pipeline constant folds away.
pub fn act4() -> String {
    let slope = "    let slope = params.slope;\n";
    let sig = "x: vec4<f32>) -> vec4<f32>";
    [
        prelude::activation_helpers(prelude::VEC4),
        prelude::activation_function(&format!("act4({sig}"), slope, "ACTIVATION", prelude::VEC4, false),
        prelude::activation_function(&format!("derivative4({sig}"), slope, "ACTIVATION", prelude::VEC4, true),
    ]
    .concat()
}

/// `"{name}_at + "` in a model-batched variant (the operand's offset for this launch's model, set by the entry
/// point from `workgroup_id.z`), nothing in a single-model one, whose indexing stays offset-free.
pub fn at(v: &MatmulVariant, name: &str) -> String {
    if v.batched {
        format!("{name}_at + ")
    } else {
        String::new()
    }
}

/// The private offsets of a model-batched variant and the entry-point lines that set them: A's and B's in units of
/// their loads (`a_div` floats), c's (also aux's and z's) and bias's in units of their stores (`c_div` floats).
pub fn model_offsets(v: &MatmulVariant, a_div: u32, c_div: u32) -> (String, String) {
    if !v.batched {
        return (String::new(), String::new());
    }
    let decls =
        "var<private> a_at: u32;\nvar<private> b_at: u32;\nvar<private> c_at: u32;\nvar<private> bias_at: u32;\n";
    let set = format!(
        "    a_at = wid.z * params.a_batch / {a_div}u;\n    b_at = wid.z * params.b_batch / {a_div}u;\n    \
         c_at = wid.z * params.c_batch / {c_div}u;\n    bias_at = wid.z * params.bias_batch / {c_div}u;\n"
    );
    (decls.to_string(), set)
}

/// Declares bias, aux, c and z as the variant's pass and store width need them: vec4 arrays for vec4 stores,
/// f32 arrays otherwise; aux is a texture copy when the operands are.
/// Bias is f32 whatever the variant's elements; c and z are its output element, aux its input element, widened to
/// f32 by `aux_texel` / `aux_element`.
pub fn bindings(w: &mut String, v: &MatmulVariant, texture_aux: bool) {
    let typed = |e: Element| if v.vec4_store { format!("vec4<{}>", e.wgsl()) } else { e.wgsl().to_string() };
    let (input, output) = (v.elements.input, v.elements.output);
    let out = typed(output);
    match v.pass {
        Pass::Forward => {
            let _ = writeln!(w, "@group(0) @binding(3) var<storage, read> bias: array<{}>;", typed(Element::F32));
            let _ = writeln!(w, "@group(0) @binding(5) var<storage, read_write> c: array<{out}>;");
            let _ = writeln!(w, "@group(0) @binding(6) var<storage, read_write> z: array<{out}>;");
        }
        Pass::ActivationBackward => {
            if texture_aux {
                let _ = writeln!(w, "@group(0) @binding(4) var aux: texture_2d<f32>;");
            } else {
                let _ = writeln!(w, "@group(0) @binding(4) var<storage, read> aux: array<{}>;", typed(input));
            }
            let _ = writeln!(w, "@group(0) @binding(5) var<storage, read_write> c: array<{out}>;");
            let texel = if texture_aux {
                "flat_texel(aux, t)".to_string()
            } else if v.vec4_store {
                input.load("aux[t]", true)
            } else {
                String::new()
            };
            if !texel.is_empty() {
                let _ = writeln!(w, "fn aux_texel(t: u32) -> vec4<f32> {{ return {texel}; }}");
            }
            let element = if texture_aux {
                "flat_texel(aux, f >> 2u)[f & 3u]".to_string()
            } else if v.vec4_store {
                input.load("aux[f >> 2u][f & 3u]", false)
            } else {
                input.load("aux[f]", false)
            };
            let _ = writeln!(w, "fn aux_element(f: u32) -> f32 {{ return {element}; }}");
        }
    }
}

/// The store functions of a bm×bn register block (the entry point calls the one its pass and store width need).
/// Unrolled with constant indices: a dynamic index into the block is lowered to a ladder over all of it. Rows past
/// M and columns past N are skipped; with vec4 stores N % 4 = 0, so a group of four is wholly in or out.
pub fn block_store(v: &MatmulVariant, bm: u32, bn: u32) -> String {
    let b4 = bn / 4;
    let (c_at, bias_at) = (at(v, "c"), at(v, "bias"));
    let mut l: Vec<String> = Vec::new();
    let store = match (v.pass, v.vec4_store) {
        (Pass::Forward, true) => store_forward_vec4,
        (Pass::Forward, false) => store_forward_scalar,
        (Pass::ActivationBackward, true) => store_backward_vec4,
        (Pass::ActivationBackward, false) => store_backward_scalar,
    };
    store(&mut l, bm, b4, &c_at, &bias_at, v.wide.is_some(), v.elements.output);
    l.push("}".into());
    l.join("\n") + "\n"
}

/// The vec4 stores of the forward pass: bias, pre-activation, activation, each converted to the output element type.
/// A wide variant places each vec4 with its `c_index4` and `bias_index4` (see `wide`).
fn store_forward_vec4(l: &mut Vec<String>, bm: u32, b4: u32, c_at: &str, bias_at: &str, wide: bool, out: Element) {
    l.push("fn store_forward(o: vec2<u32>, blk: Block) {".into());
    l.push("    let n4 = params.n / 4u;\n    let c0 = o.y / 4u;".into());
    l.push("    let rows = params.m - o.x;\n    let groups = n4 - c0;".into());
    for j in 0..b4 {
        l.push(format!("    var bias{j} = vec4<f32>();"));
        let col = format!("min(c0 + {j}u, n4 - 1u)");
        let at = if wide { format!("bias_index4({col})") } else { format!("{bias_at}{col}") };
        l.push(format!("    if (HAS_BIAS) {{ bias{j} = bias[{at}]; }}"));
    }
    for i in 0..bm {
        l.push(format!("    if ({i}u < rows) {{\n        let base = {c_at}(o.x + {i}u) * n4 + c0;"));
        for j in 0..b4 {
            let at = if wide { format!("c_index4(o.x + {i}u, c0 + {j}u)") } else { format!("base + {j}u") };
            l.push(format!("        if ({j}u < groups) {{"));
            l.push(format!("            let v = blk[{i}][{j}] + bias{j};"));
            l.push(format!("            if (STORE_PRE) {{ z[{at}] = {}; }}", out.store("v", true)));
            l.push(format!("            c[{at}] = {};\n        }}", out.store("act4(v)", true)));
        }
        l.push("    }".into());
    }
}

/// The scalar stores of the forward pass (N not a multiple of 4), placed by `c_index` and `bias_index` in a wide
/// variant.
fn store_forward_scalar(l: &mut Vec<String>, bm: u32, b4: u32, c_at: &str, bias_at: &str, wide: bool, out: Element) {
    l.push("fn store_forward_scalar(o: vec2<u32>, blk: Block) {".into());
    l.push("    let rows = params.m - o.x;\n    let cols = params.n - o.y;".into());
    for j in 0..b4 {
        l.push(format!("    var bias{j} = vec4<f32>();\n    if (HAS_BIAS) {{"));
        for q in 0..4 {
            let col = format!("min(o.y + {}u, params.n - 1u)", 4 * j + q);
            let at = if wide { format!("bias_index({col})") } else { format!("{bias_at}{col}") };
            l.push(format!("        bias{j}[{q}] = bias[{at}];"));
        }
        l.push("    }".into());
    }
    for i in 0..bm {
        l.push(format!("    if ({i}u < rows) {{\n        let base = {c_at}(o.x + {i}u) * params.n + o.y;"));
        for j in 0..b4 {
            l.push(format!("        if ({}u < cols) {{", 4 * j));
            l.push(format!("            let v = blk[{i}][{j}] + bias{j};\n            let h = act4(v);"));
            for q in 0..4 {
                let col = 4 * j + q;
                let guard = if q > 0 { format!("if ({col}u < cols) ") } else { String::new() };
                let at = if wide { format!("c_index(o.x + {i}u, o.y + {col}u)") } else { format!("base + {col}u") };
                l.push(format!("            {guard}{{"));
                let (zq, hq) = (out.store(&format!("v[{q}]"), false), out.store(&format!("h[{q}]"), false));
                l.push(format!("                if (STORE_PRE) {{ z[{at}] = {zq}; }}"));
                l.push(format!("                c[{at}] = {hq};\n            }}"));
            }
            l.push("        }".into());
        }
        l.push("    }".into());
    }
}

/// The vec4 stores of the backward pass: times the activation derivative.
fn store_backward_vec4(l: &mut Vec<String>, bm: u32, b4: u32, c_at: &str, _bias_at: &str, _wide: bool, out: Element) {
    l.push("fn store_backward(o: vec2<u32>, blk: Block) {".into());
    l.push("    let n4 = params.n / 4u;\n    let c0 = o.y / 4u;".into());
    l.push("    let rows = params.m - o.x;\n    let groups = n4 - c0;".into());
    for i in 0..bm {
        l.push(format!("    if ({i}u < rows) {{\n        let base = {c_at}(o.x + {i}u) * n4 + c0;"));
        for j in 0..b4 {
            let g = out.store(&format!("blk[{i}][{j}] * derivative4(aux_texel(base + {j}u))"), true);
            let store = format!("c[base + {j}u] = {g};");
            l.push(format!("        if ({j}u < groups) {{ {store} }}"));
        }
        l.push("    }".into());
    }
}

/// The scalar stores of the backward pass.
fn store_backward_scalar(l: &mut Vec<String>, bm: u32, b4: u32, c_at: &str, _bias_at: &str, _wide: bool, out: Element) {
    l.push("fn store_backward_scalar(o: vec2<u32>, blk: Block) {".into());
    l.push("    let rows = params.m - o.x;\n    let cols = params.n - o.y;".into());
    for i in 0..bm {
        l.push(format!("    if ({i}u < rows) {{\n        let base = {c_at}(o.x + {i}u) * params.n + o.y;"));
        for j in 0..b4 {
            l.push(format!("        if ({}u < cols) {{", 4 * j));
            let last = format!("{c_at}params.m * params.n - 1u");
            let aux: Vec<String> = (0..4).map(|q| format!("aux_element(min(base + {}u, {last}))", 4 * j + q)).collect();
            l.push(format!("            let g = blk[{i}][{j}] * derivative4(vec4<f32>({}));", aux.join(", ")));
            for q in 0..4 {
                let col = 4 * j + q;
                let guard = if q > 0 { format!("if ({col}u < cols) ") } else { String::new() };
                l.push(format!(
                    "            {guard}{{ c[base + {col}u] = {}; }}",
                    out.store(&format!("g[{q}]"), false)
                ));
            }
            l.push("        }".into());
        }
        l.push("    }".into());
    }
}

/// The scalar epilogue of one element of C at `idx` (row < M and col < N checked by the caller), for the tiled
/// family whose invocations store columns strided across the workgroup, so neighbouring invocations store
/// neighbouring floats.
pub fn element_store(v: &MatmulVariant) -> String {
    let (c_at, bias_at) = (at(v, "c"), at(v, "bias"));
    let out = v.elements.output;
    match v.pass {
        Pass::Forward => format!(
            "fn store_element(idx: u32, col: u32, acc: f32) {{
    var v = acc;
    if (HAS_BIAS) {{ v += bias[{bias_at}col]; }}
    if (STORE_PRE) {{ z[{c_at}idx] = {z}; }}
    c[{c_at}idx] = {c};
}}
",
            z = out.store("v", false),
            c = out.store("act_forward(v, ACTIVATION, params.slope)", false),
        ),
        Pass::ActivationBackward => format!(
            "fn store_element(idx: u32, col: u32, acc: f32) {{
    c[{c_at}idx] = {c};
}}
",
            c = out.store(
                &format!(
                    "acc * act_derivative({}, ACTIVATION, params.slope)",
                    v.elements.input.load(&format!("aux[{c_at}idx]"), false)
                ),
                false
            ),
        ),
    }
}
