//! Plain-Rust CPU twins of every WGSL entry point, same names, written for clarity rather than speed.
//! They are the specification the kernels are tested against, and (in f64) the ground truth for gradient checks.
//! Dimension letters: M rows (batch), N output columns, K the contracted dimension, C classes.

pub mod activation;
pub mod cast_f16;
pub mod f16;
pub mod gather;
pub mod half;
pub mod loss;
pub mod loss_f16;
pub mod loss_scale;
pub mod matmul;
pub mod matmul_f16;
pub mod network;
pub mod optim;
pub mod reduce;
pub mod trainer;
pub mod transpose;
pub mod weight_l2;

/// The float operations the twins need, so each twin runs in f32 (to compare with the GPU) or f64 (as the truth).
pub trait Real:
    Copy
    + PartialOrd
    + std::fmt::Debug
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
    + std::ops::Neg<Output = Self>
    + std::ops::AddAssign
{
    /// Converts from f64 (rounding for f32).
    fn of(v: f64) -> Self;
    /// Converts to f64.
    fn to_f64(self) -> f64;
    /// e^self.
    fn exp(self) -> Self;
    /// Natural logarithm.
    fn ln(self) -> Self;
    /// Hyperbolic tangent.
    fn tanh(self) -> Self;
    /// Square root.
    fn sqrt(self) -> Self;
    /// Absolute value.
    fn abs(self) -> Self;
}

macro_rules! impl_real {
    ($t:ty) => {
        impl Real for $t {
            fn of(v: f64) -> Self {
                v as $t
            }
            fn to_f64(self) -> f64 {
                self as f64
            }
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            fn ln(self) -> Self {
                <$t>::ln(self)
            }
            fn tanh(self) -> Self {
                <$t>::tanh(self)
            }
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            fn abs(self) -> Self {
                <$t>::abs(self)
            }
        }
    };
}
impl_real!(f32);
impl_real!(f64);

/// The larger of two values (NaN-free inputs assumed).
pub fn max<T: Real>(a: T, b: T) -> T {
    if a > b {
        a
    } else {
        b
    }
}
