//! Wide products: the products of K models that share one operand, computed as one ordinary product whose other
//! dimension is K times as wide. A group's first layer is the case: every model reads the same batch X, so the K
//! forward products X·W_qᵀ are the columns of one [B × K·H] product, and the K weight gradients dZ_qᵀ·X the rows of
//! one [K·H × in] product. Each model's operands and results stay where the model-batched launch would find them
//! (model q's at q times its stride, `a_batch` … `bias_batch` of the params); only the addresses along the wide
//! dimension change: index j of it is row or column j mod G of model j div G, G (`WIDE_GROUP`, a pipeline
//! constant) being one model's extent. The inner loops are the register block's own, summing over k in the
//! canonical order, so each model's result is bit for bit the one it gets alone.

use super::MatmulVariant;

/// Which dimension of C a wide product stacks the models along.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WideAxis {
    /// C's rows: model q's rows are q·G … q·G + G − 1 (the weight gradient dZᵀ·X, B shared); A is per model.
    Rows,
    /// C's columns: model q's columns are q·G … q·G + G − 1 (the forward X·Wᵀ, A shared); B and the bias are per
    /// model.
    Cols,
}

impl WideAxis {
    /// The short name used in variant names.
    pub fn name(self) -> &'static str {
        match self {
            WideAxis::Rows => "rows",
            WideAxis::Cols => "cols",
        }
    }
}

/// The pipeline constant holding G, one model's extent along the wide dimension.
pub const GROUP_CONSTANT: &str = "WIDE_GROUP";

/// The index helpers of a wide variant, in the units of its loads (A and B: vec4s) and stores (vec4s or floats).
/// Rows axis: row r of A stored [M, K] starts at vec4 `a_row4(r)`, at float `a_row1(r)` when read one float at a
/// time, and `a_group4(q)` is the vec4 of rows 4q … 4q+3 of A stored [K, M] at k = 0 (k adds k·G/4). Columns axis:
/// row j of B stored [N, K] starts at vec4 `b_row4(j)`. Both: `c_index4` / `c_index` and `bias_index4` /
/// `bias_index` place the stores (a rows-axis launch has no per-model bias).
pub fn helpers(v: &MatmulVariant, axis: WideAxis) -> String {
    let mut w = format!("override {GROUP_CONSTANT}: u32 = 1u;\n");
    // The vec4 forms divide by G/4: only a variant with whole vec4s per model has them (max keeps the default
    // constant of 1 well defined).
    w.push_str("fn wide_group4() -> u32 { return max(WIDE_GROUP / 4u, 1u); }\n");
    let g = GROUP_CONSTANT;
    match axis {
        WideAxis::Rows => {
            w.push_str(&format!(
                "fn a_row4(r: u32) -> u32 {{ return (r / {g}) * (params.a_batch / 4u) + (r % {g}) * (params.k / 4u); }}
fn a_row1(r: u32) -> u32 {{ return (r / {g}) * params.a_batch + (r % {g}) * params.a_row_stride; }}
fn a_group4(q: u32) -> u32 {{ return (q / wide_group4()) * (params.a_batch / 4u) + q % wide_group4(); }}
"
            ));
        }
        WideAxis::Cols => {
            w.push_str(&format!(
                "fn b_row4(j: u32) -> u32 {{ return (j / {g}) * (params.b_batch / 4u) + (j % {g}) * (params.k / 4u); }}
"
            ));
        }
    }
    let (c4, c1, bias4, bias1) = match axis {
        WideAxis::Rows => (
            format!("(r / {g}) * (params.c_batch / 4u) + (r % {g}) * (params.n / 4u) + j4"),
            format!("(r / {g}) * params.c_batch + (r % {g}) * params.n + j"),
            "j4".to_string(),
            "j".to_string(),
        ),
        WideAxis::Cols => (
            "(j4 / wide_group4()) * (params.c_batch / 4u) + r * wide_group4() + j4 % wide_group4()".to_string(),
            format!("(j / {g}) * params.c_batch + r * {g} + j % {g}"),
            "(j4 / wide_group4()) * (params.bias_batch / 4u) + j4 % wide_group4()".to_string(),
            format!("(j / {g}) * params.bias_batch + j % {g}"),
        ),
    };
    if v.vec4_store {
        w.push_str(&format!("fn c_index4(r: u32, j4: u32) -> u32 {{ return {c4}; }}\n"));
        w.push_str(&format!("fn bias_index4(j4: u32) -> u32 {{ return {bias4}; }}\n"));
    } else {
        w.push_str(&format!("fn c_index(r: u32, j: u32) -> u32 {{ return {c1}; }}\n"));
        w.push_str(&format!("fn bias_index(j: u32) -> u32 {{ return {bias1}; }}\n"));
    }
    w
}
