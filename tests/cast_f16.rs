//! The f32 ↔ f16 conversions of half-precision training (shaders/cast_f16.wgsl) against their CPU twin, on
//! awkward lengths, offsets and model strides, with values that round, overflow f16 and fall below its normal
//! range.

mod common;
use common::*;
use wgtrain::ops::cast_f16::{cast, CastSide};
use wgtrain::reference::cast_f16 as reference;
use wgtrain::reference::f16::{pack, to_f16, unpack, widen};

/// One rounding (to f16, to nearest even) or none (f16 → f32 is exact) on each side, by the same IEEE rule: the
/// kernel and its twin agree bit for bit.
const EXACT_BITS: bool = true;

/// (len, src offset, src stride, dst offset, dst stride, models)
const SHAPES: [(usize, usize, usize, usize, usize, usize); 5] =
    [(1, 0, 0, 0, 0, 1), (7, 3, 0, 5, 0, 1), (31, 2, 40, 64, 128, 3), (257, 0, 300, 6, 258, 2), (1031, 1, 0, 2, 0, 1)];

/// Values over f16's whole range and past it: ±1e5 overflows to ±∞, 1e-6 is subnormal in f16.
fn values(seed: u64, n: usize) -> Vec<f32> {
    let mut v = uniform(seed, n, -2.0, 2.0);
    for (i, x) in v.iter_mut().enumerate() {
        *x *= [1.0, 3e4, 1e5, 1e-6, 0.1][i % 5];
    }
    v
}

#[test]
fn to_f16_matches_its_twin() {
    for (len, so, ss, d_o, ds, models) in SHAPES {
        let src = values(len as u64, so + (models - 1) * ss + len);
        let dst_len = d_o + (models - 1) * ds + len;
        let (ts, td) = (upload(&src), zeros(dst_len.div_ceil(2)));
        let (s, d) = (
            CastSide { view: ts.view(), offset: so, stride: ss },
            CastSide { view: td.view(), offset: d_o, stride: ds },
        );
        let launch = cast(gpu(), true, s, d, len, models).unwrap();
        gpu().run(&[&launch]).unwrap();
        let words: Vec<u32> = td.read(gpu()).unwrap().iter().map(|x| x.to_bits()).collect();
        let got = widen(&unpack(&words, dst_len));
        let mut want = vec![0.0; dst_len];
        reference::cast(true, &src, so, ss, &mut want, d_o, ds, len, models);
        assert!(want.iter().any(|x| x.is_infinite()) || len < 5, "len={len}: some values overflow f16");
        for (i, (a, b)) in got.iter().zip(&want).enumerate() {
            assert_eq!(a.to_bits() == b.to_bits(), EXACT_BITS, "len={len}: element {i}: kernel {a}, twin {b}");
        }
    }
}

#[test]
fn to_f32_matches_its_twin() {
    for (len, so, ss, d_o, ds, models) in SHAPES {
        let halfs = to_f16(&values(7 + len as u64, so + (models - 1) * ss + len));
        let src: Vec<f32> = pack(&halfs).into_iter().map(f32::from_bits).collect();
        let dst_len = d_o + (models - 1) * ds + len;
        let (ts, td) = (upload(&src), zeros(dst_len));
        let (s, d) = (
            CastSide { view: ts.view(), offset: so, stride: ss },
            CastSide { view: td.view(), offset: d_o, stride: ds },
        );
        let launch = cast(gpu(), false, s, d, len, models).unwrap();
        gpu().run(&[&launch]).unwrap();
        let mut want = vec![0.0; dst_len];
        reference::cast(false, &widen(&halfs), so, ss, &mut want, d_o, ds, len, models);
        let got = td.read(gpu()).unwrap();
        for (i, (a, b)) in got.iter().zip(&want).enumerate() {
            assert_eq!(a.to_bits() == b.to_bits(), EXACT_BITS, "len={len}: element {i}: kernel {a}, twin {b}");
        }
    }
}

#[test]
fn a_cast_past_either_view_is_refused() {
    let t = upload(&[0.0; 8]);
    let side = |offset| CastSide { view: t.view(), offset, stride: 0 };
    assert!(cast(gpu(), true, side(0), side(0), 9, 1).is_err(), "src holds 8 f32s");
    assert!(cast(gpu(), false, side(0), side(0), 9, 1).is_err(), "dst holds 8 f32s");
    assert!(cast(gpu(), true, side(0), side(10), 7, 1).is_err(), "dst holds 16 f16s");
    assert!(cast(gpu(), true, side(0), side(0), 0, 1).is_err());
}
