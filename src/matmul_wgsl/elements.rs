//! The element types of a matmul's operands and results: f32, or f16 with f32 arithmetic.

use std::fmt::Write as _;

/// The element type of a matmul's stored operands or results. Whatever the element, every product and sum is
/// computed in f32: an f16 operand is widened to f32 (exactly) when it is loaded, and an f16 result is rounded to
/// f16 once, when it is stored (WGSL's f32→f16 conversion; round to nearest even on the drivers tested).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Element {
    /// 32-bit floats.
    F32,
    /// 16-bit floats (WGSL `f16`; needs the adapter's `SHADER_F16` and `enable f16;`).
    F16,
}

impl Element {
    /// The WGSL scalar type.
    pub fn wgsl(self) -> &'static str {
        match self {
            Element::F32 => "f32",
            Element::F16 => "f16",
        }
    }

    /// Elements per 4-byte word of a buffer (views count words): 1 for f32, 2 for f16.
    pub fn per_word(self) -> usize {
        match self {
            Element::F32 => 1,
            Element::F16 => 2,
        }
    }

    /// `expr` (an f32 scalar, or a `vec4<f32>` when `vec4`) converted to this element for a store; unchanged for
    /// f32, so f32 kernels are written exactly as before f16 existed.
    pub fn store(self, expr: &str, vec4: bool) -> String {
        match (self, vec4) {
            (Element::F32, _) => expr.to_string(),
            (Element::F16, false) => format!("f16({expr})"),
            (Element::F16, true) => format!("vec4<f16>({expr})"),
        }
    }

    /// `expr` (a loaded element, or a vec4 of them when `vec4`) widened to f32; unchanged for f32.
    pub fn load(self, expr: &str, vec4: bool) -> String {
        match (self, vec4) {
            (Element::F32, _) => expr.to_string(),
            (Element::F16, false) => format!("f32({expr})"),
            (Element::F16, true) => format!("vec4<f32>({expr})"),
        }
    }
}

/// The element types of one matmul: `input` for A, B and the backward pass's aux, `output` for C and the
/// forward pass's z. The bias is always f32 (the f32 master copy is read directly: nothing to cast, and it is
/// added to the f32 accumulator before the one rounding of z and c).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Elements {
    /// A, B and aux.
    pub input: Element,
    /// C and z.
    pub output: Element,
}

impl Elements {
    /// Everything f32 (the default precision).
    pub const F32: Elements = Elements { input: Element::F32, output: Element::F32 };
    /// f16 in, f16 out: the forward and input-gradient products of f16 training.
    pub const F16: Elements = Elements { input: Element::F16, output: Element::F16 };
    /// f16 in, f32 out: the weight gradient dZᵀ·X of f16 training, which feeds the f32 optimizer.
    pub const F16_TO_F32: Elements = Elements { input: Element::F16, output: Element::F32 };

    /// Whether the kernel declares any f16 (and so needs `enable f16;` and the adapter's `SHADER_F16`).
    pub fn uses_f16(self) -> bool {
        self.input == Element::F16 || self.output == Element::F16
    }

    /// The suffix of variant names: empty for f32, `_f16` for f16 in and out, `_f16_out_f32` for f16 in, f32 out.
    pub fn suffix(self) -> String {
        let mut s = String::new();
        if self.input == Element::F16 {
            s.push_str("_f16");
        }
        if self.output != self.input {
            let _ = write!(s, "_out_{}", self.output.wgsl());
        }
        s
    }
}
