//! Half precision on the host: the one rounding rule every f16 twin uses, and the packing of f16 tensors into the
//! 4-byte words buffers and views count.
//!
//! Rounding is IEEE 754 round to nearest, ties to even, with overflow to ±∞ (`half::f16::from_f32`); the f16
//! kernels round where they store an f16 value, with WGSL's f32→f16 conversion, which the drivers tested
//! (lavapipe: LLVM's `fptrunc`) implement the same way.

pub use half::f16;

/// `v` rounded to the nearest f16 (ties to even), as an f32 (exact: every f16 is an f32).
pub fn round(v: f32) -> f32 {
    f16::from_f32(v).to_f32()
}

/// Every value rounded to f16.
pub fn round_all(v: &[f32]) -> Vec<f32> {
    v.iter().map(|&x| round(x)).collect()
}

/// Every value rounded to f16, as f16.
pub fn to_f16(v: &[f32]) -> Vec<f16> {
    v.iter().map(|&x| f16::from_f32(x)).collect()
}

/// f16 values widened to f32 (exact), as a kernel's load does.
pub fn widen(v: &[f16]) -> Vec<f32> {
    v.iter().map(|x| x.to_f32()).collect()
}

/// f16 values packed two to a little-endian 4-byte word, element 2i in the low half of word i (how a WGSL
/// `array<f16>` lies in memory); an odd count leaves the last word's high half zero.
pub fn pack(v: &[f16]) -> Vec<u32> {
    v.chunks(2).map(|p| u32::from(p[0].to_bits()) | (u32::from(p.get(1).map_or(0, |h| h.to_bits())) << 16)).collect()
}

/// The first `n` f16 values of packed words (the inverse of [`pack`]); `words` are the raw bits, e.g. a tensor's
/// f32s read back and taken apart with `to_bits`.
pub fn unpack(words: &[u32], n: usize) -> Vec<f16> {
    words.iter().flat_map(|&w| [w as u16, (w >> 16) as u16]).take(n).map(f16::from_bits).collect()
}

/// Distance in f16 units in the last place between two f16 values (0 when equal, 1 for neighbours; +0 and −0 are
/// 0 apart); None when either is NaN.
pub fn ulps(a: f16, b: f16) -> Option<u32> {
    if a.is_nan() || b.is_nan() {
        return None;
    }
    // Map the sign-magnitude bits onto a line where neighbouring values are neighbouring integers.
    let line = |h: f16| {
        let bits = i32::from(h.to_bits());
        if bits & 0x8000 != 0 {
            -(bits & 0x7fff)
        } else {
            bits
        }
    };
    Some(line(a).abs_diff(line(b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_is_nearest_even_with_overflow_to_infinity() {
        // 1 + 2⁻¹¹ is halfway between 1 and the next f16 (1 + 2⁻¹⁰): ties to even, down to 1.
        assert_eq!(round(1.0 + 2f32.powi(-11)), 1.0);
        assert_eq!(round(1.0 + 3.0 * 2f32.powi(-11)), 1.0 + 2.0 * 2f32.powi(-10));
        assert_eq!(round(65504.0), 65504.0);
        assert_eq!(round(65520.0), f32::INFINITY);
        assert_eq!(round(-1e6), f32::NEG_INFINITY);
        assert_eq!(round(2f32.powi(-24)), 2f32.powi(-24), "smallest subnormal");
    }

    #[test]
    fn pack_round_trips_and_ulps_count() {
        let v = to_f16(&[1.0, -2.5, 0.1, 65504.0, -0.0]);
        let words = pack(&v);
        assert_eq!(words.len(), 3);
        assert_eq!(words[0], 0xc100_3c00);
        assert_eq!(unpack(&words, 5), v);
        let one = f16::from_f32(1.0);
        assert_eq!(ulps(one, f16::from_bits(one.to_bits() + 1)), Some(1));
        assert_eq!(ulps(f16::from_bits(0x8001), f16::from_bits(0x0001)), Some(2));
        assert_eq!(ulps(f16::from_f32(0.0), f16::from_f32(-0.0)), Some(0));
    }
}
