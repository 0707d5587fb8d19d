//! The [`Activation`] enum: its code, its names, and its WGSL formula, written once and emitted both as the scalar
//! `act_forward` / `act_derivative` of every shader and as the vec4 `act4` / `derivative4` of the generated matmuls
//! (`shaders::prelude`). The CPU twin is `reference::activation`.
//!
//! Adding an activation: a variant here (with its arms in `code`, `kind_name`, `parse`, `wgsl_forward`,
//! `wgsl_derivative` and `KINDS`), its twin in `reference::activation`, and a line in the tests' activation lists.

use crate::error::{Error, Result};

/// An element-wise activation, as torch.nn.functional defines it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Activation {
    /// f(x) = x.
    #[default]
    Identity,
    /// f(x) = max(x, 0); f'(0) = 0.
    Relu,
    /// f(x) = x for x > 0, slope·x otherwise (torch's default slope is 0.01).
    LeakyRelu(f32),
    /// f(x) = 1 / (1 + e^−x).
    Sigmoid,
    /// f(x) = tanh x.
    Tanh,
    /// f(x) = ½x(1 + tanh(√(2/π)(x + 0.044715x³))), torch's gelu(approximate='tanh').
    Gelu,
    /// f(x) = x·σ(x), torch's silu; f'(x) = σ(x)(1 + x(1 − σ(x))).
    Silu,
}

impl Activation {
    /// One activation of each kind (any slope stands for leaky_relu): the cases the WGSL prelude emits.
    pub const KINDS: [Activation; 7] = [
        Activation::Identity,
        Activation::Relu,
        Activation::LeakyRelu(0.01),
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Gelu,
        Activation::Silu,
    ];

    /// The code the shaders switch on (the `ACT_*` constants of the generated WGSL prelude).
    pub fn code(self) -> u32 {
        match self {
            Activation::Identity => 0,
            Activation::Relu => 1,
            Activation::LeakyRelu(_) => 2,
            Activation::Sigmoid => 3,
            Activation::Tanh => 4,
            Activation::Gelu => 5,
            Activation::Silu => 6,
        }
    }

    /// The negative slope (leaky_relu only; 0 otherwise).
    pub fn slope(self) -> f32 {
        match self {
            Activation::LeakyRelu(s) => s,
            _ => 0.0,
        }
    }

    /// The name used on the command line and in checkpoints.
    pub fn name(self) -> String {
        match self {
            Activation::LeakyRelu(s) => format!("leaky_relu:{s}"),
            _ => self.kind_name().into(),
        }
    }

    /// The name without leaky_relu's slope: the suffix of its WGSL constant `ACT_<NAME>`.
    pub fn kind_name(self) -> &'static str {
        match self {
            Activation::Identity => "identity",
            Activation::Relu => "relu",
            Activation::LeakyRelu(_) => "leaky_relu",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Gelu => "gelu",
            Activation::Silu => "silu",
        }
    }

    /// Parses `identity`, `relu`, `leaky_relu[:SLOPE]`, `sigmoid`, `tanh`, `gelu` or `silu`.
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim().to_ascii_lowercase();
        let (name, arg) = s.split_once(':').map_or((s.as_str(), None), |(n, a)| (n, Some(a)));
        let act = match (name.replace('-', "_").as_str(), arg) {
            ("identity" | "linear" | "none", None) => Activation::Identity,
            ("relu", None) => Activation::Relu,
            ("leaky_relu", None) => Activation::LeakyRelu(0.01),
            ("leaky_relu", Some(a)) => {
                let slope: f32 =
                    a.parse().ok().filter(|v: &f32| v.is_finite()).ok_or_else(|| {
                        Error::config("activation", format!("leaky_relu slope {a:?} is not a number"))
                    })?;
                Activation::LeakyRelu(slope)
            }
            ("sigmoid", None) => Activation::Sigmoid,
            ("tanh", None) => Activation::Tanh,
            ("gelu" | "gelu_tanh", None) => Activation::Gelu,
            ("silu", None) => Activation::Silu,
            _ => {
                return Err(Error::config(
                    "activation",
                    format!(
                        "unknown activation {s:?}; expected identity, relu, leaky_relu[:SLOPE], sigmoid, tanh, gelu \
                         or silu"
                    ),
                ))
            }
        };
        Ok(act)
    }

    /// f(x) as WGSL statements ending in a return. `x` has type `{T}` (f32 or vec4<f32>), `slope` is an f32, and
    /// `{sigmoid}` / `{tanh}` name the overflow-safe σ and tanh of that type (`shaders::prelude`).
    pub fn wgsl_forward(self) -> &'static str {
        match self {
            Activation::Identity => "return x;",
            Activation::Relu => "return max(x, {T}(0.0));",
            Activation::LeakyRelu(_) => "return select(x * slope, x, x > {T}(0.0));",
            Activation::Sigmoid => "return {sigmoid}(x);",
            Activation::Tanh => "return {tanh}(x);",
            Activation::Gelu => "return 0.5 * x * (1.0 + {tanh}(GELU_K * (x + GELU_C * x * x * x)));",
            Activation::Silu => "return x * {sigmoid}(x);",
        }
    }

    /// f'(x) at the pre-activation x, in the form of [`Activation::wgsl_forward`] (torch's convention: relu'(0) = 0,
    /// leaky'(0) = slope).
    pub fn wgsl_derivative(self) -> &'static str {
        match self {
            Activation::Identity => "return {T}(1.0);",
            Activation::Relu => "return select({T}(0.0), {T}(1.0), x > {T}(0.0));",
            Activation::LeakyRelu(_) => "return select({T}(slope), {T}(1.0), x > {T}(0.0));",
            Activation::Sigmoid => "let s = {sigmoid}(x);\n            return s * (1.0 - s);",
            Activation::Tanh => "let t = {tanh}(x);\n            return 1.0 - t * t;",
            Activation::Gelu => {
                "let x2 = x * x;
            let t = {tanh}(GELU_K * (x + GELU_C * x2 * x));
            return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * GELU_K * (1.0 + 3.0 * GELU_C * x2);"
            }
            Activation::Silu => "let s = {sigmoid}(x);\n            return s * (1.0 + x * (1.0 - s));",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Activation;

    #[test]
    fn kinds_cover_each_code_once_in_order() {
        let codes: Vec<u32> = Activation::KINDS.iter().map(|a| a.code()).collect();
        let want: Vec<u32> = (0..Activation::KINDS.len() as u32).collect();
        assert_eq!(codes, want);
        for a in Activation::KINDS {
            assert_eq!(Activation::parse(a.kind_name()).map(|p| p.code()).ok(), Some(a.code()), "{a:?}");
        }
    }
}
