//! The registry of WGSL sources: every shader file, with `common.wgsl` prepended and shared fragments appended
//! (WGSL has no include).

/// A shader file of `shaders/`, ready to compile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shader {
    /// The file name in `shaders/`.
    pub file: &'static str,
    /// The full source: common.wgsl followed by the file.
    pub source: &'static str,
    /// Whether every memory access of every entry point is guarded or clamped by the kernel itself, so naga's
    /// runtime bounds checks can be turned off (tested on ragged shapes in tests/).
    pub trusted: bool,
}

macro_rules! shader {
    ($name:ident, $file:literal, $trusted:expr $(, $appended:literal)*) => {
        #[doc = concat!("`shaders/", $file, "`.")]
        pub const $name: Shader = Shader {
            file: $file,
            source: concat!(
                include_str!("../shaders/common.wgsl"),
                "\n",
                include_str!(concat!("../shaders/", $file))
                $(, "\n", include_str!(concat!("../shaders/", $appended)))*
            ),
            trusted: $trusted,
        };
    };
}

/// Files that are not shaders of their own but are prepended or appended to others.
pub const FRAGMENTS: &[&str] = &["common.wgsl", "matmul_epilogue.wgsl", "gather_rows.wgsl"];

shader!(MATMUL, "matmul.wgsl", true, "matmul_epilogue.wgsl");
shader!(MATMUL_VEC4, "matmul_vec4.wgsl", true, "matmul_epilogue.wgsl");
shader!(MATMUL_TEXTURE, "matmul_texture.wgsl", true);
shader!(MATMUL_TEXTURE_BIG, "matmul_texture_big.wgsl", true);
shader!(TRANSPOSE, "transpose.wgsl", false);
shader!(ACTIVATION, "activation.wgsl", false);
shader!(LOSS, "loss.wgsl", false);
shader!(REDUCE, "reduce.wgsl", false);
shader!(OPTIM, "optim.wgsl", false);
shader!(GATHER, "gather.wgsl", false, "gather_rows.wgsl");
shader!(GATHER_VEC4, "gather_vec4.wgsl", false, "gather_rows.wgsl");

/// Every shader, for validation and for compiling all pipelines up front.
pub const ALL: &[Shader] = &[
    MATMUL,
    MATMUL_VEC4,
    MATMUL_TEXTURE,
    MATMUL_TEXTURE_BIG,
    TRANSPOSE,
    ACTIVATION,
    LOSS,
    REDUCE,
    OPTIM,
    GATHER,
    GATHER_VEC4,
];
