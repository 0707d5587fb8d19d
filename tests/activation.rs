//! Element-wise activations and row-wise softmax against src/reference/activation.rs.

mod common;
use common::*;
use wgtrain::ops::activation::{activation_backward, activation_forward, log_softmax_forward, softmax_forward};
use wgtrain::reference::activation as reference;
use wgtrain::Activation;

/// exp, tanh and division on the GPU are accurate to a few ulp but not correctly rounded (WGSL allows 3 ulp for exp
/// and tanh through exp); values are O(1), so 1e-5 absolute is about 100 ulp of headroom and still far below any
/// formula error (a wrong derivative differs by ≥ 1e-2 on these inputs).
const ATOL: f32 = 1e-5;
const RTOL: f32 = 1e-5;

/// Every kind the library has (`Activation::KINDS`, so a new one cannot go untested), plus a second leaky slope.
const ACTIVATIONS: [Activation; Activation::KINDS.len() + 1] = {
    let mut out = [Activation::LeakyRelu(0.2); Activation::KINDS.len() + 1];
    let mut i = 0;
    while i < Activation::KINDS.len() {
        out[i] = Activation::KINDS[i];
        i += 1;
    }
    out
};
#[test]
fn activation_forward_and_backward_match_reference() {
    for (i, act) in ACTIVATIONS.into_iter().enumerate() {
        for n in [1, 255, 257, 1000] {
            let mut x = uniform(i as u64 * 10 + n as u64, n, -6.0, 6.0);
            x[n - 1] = if n > 1 { 0.0 } else { 0.7 }; // relu'(0) = 0 and leaky'(0) = slope, as torch.
            let dy = uniform(99 + n as u64, n, -1.0, 1.0);
            let (tx, tdy, ty, tdx) = (upload(&x), upload(&dy), zeros(n), zeros(n));
            let f = activation_forward(gpu(), tx.view(), act, ty.view(), n).unwrap();
            let b = activation_backward(gpu(), tx.view(), tdy.view(), act, tdx.view(), n).unwrap();
            gpu().run(&[&f, &b]).unwrap();
            let want_y = reference::activation_forward(&x, act);
            let want_dx = reference::activation_backward(&x, &dy, act);
            assert_nontrivial("y", &want_y);
            assert_nontrivial("dx", &want_dx);
            assert_close(&format!("{act:?} forward n={n}"), &ty.read(gpu()).unwrap(), &want_y, ATOL, RTOL);
            assert_close(&format!("{act:?} backward n={n}"), &tdx.read(gpu()).unwrap(), &want_dx, ATOL, RTOL);
        }
    }
}

/// Large |x| must stay finite (tanh and sigmoid through exp overflow on some drivers).
#[test]
fn activations_are_finite_at_extremes() {
    let x = vec![-1e4, -100.0, -30.0, 30.0, 100.0, 1e4];
    for act in ACTIVATIONS {
        let (tx, ty) = (upload(&x), zeros(x.len()));
        gpu().run(&[&activation_forward(gpu(), tx.view(), act, ty.view(), x.len()).unwrap()]).unwrap();
        let got = ty.read(gpu()).unwrap();
        assert!(got.iter().all(|v| v.is_finite()), "{act:?}: {got:?}");
        assert_close(&format!("{act:?} extremes"), &got, &reference::activation_forward(&x, act), 1e-3, 1e-5);
    }
}

/// Beyond 65,535 workgroups of 256 elements: the 2-D grid must reach every element.
#[test]
fn activation_forward_beyond_65535_workgroups() {
    let n = 65_536 * 256 + 3;
    let x = uniform(5, n, -2.0, 2.0);
    let (tx, ty) = (upload(&x), zeros(n));
    gpu().run(&[&activation_forward(gpu(), tx.view(), Activation::Tanh, ty.view(), n).unwrap()]).unwrap();
    assert_close(
        "tanh 16.8M",
        &ty.read(gpu()).unwrap(),
        &reference::activation_forward(&x, Activation::Tanh),
        ATOL,
        RTOL,
    );
}

#[test]
fn softmax_and_log_softmax_match_reference() {
    for (rows, cols) in [(1, 1), (1, 10), (37, 3), (65, 129)] {
        // A large offset checks the max subtraction: without it exp overflows.
        let x: Vec<f32> =
            uniform(rows as u64 * cols as u64, rows * cols, -5.0, 5.0).iter().map(|v| v + 200.0).collect();
        let (tx, ts, tl) = (upload(&x), zeros(rows * cols), zeros(rows * cols));
        let s = softmax_forward(gpu(), tx.view(), ts.view(), rows, cols).unwrap();
        let l = log_softmax_forward(gpu(), tx.view(), tl.view(), rows, cols).unwrap();
        gpu().run(&[&s, &l]).unwrap();
        let want_s = reference::softmax_forward(&x, cols);
        let want_l = reference::log_softmax_forward(&x, cols);
        assert_nontrivial("softmax", &want_s);
        assert_close(&format!("softmax {rows}x{cols}"), &ts.read(gpu()).unwrap(), &want_s, ATOL, RTOL);
        // log-softmax values reach −10 and carry the rounding of the +200 offset (≈ 1.5e-5 per ulp at 200).
        assert_close(&format!("log_softmax {rows}x{cols}"), &tl.read(gpu()).unwrap(), &want_l, 1e-4, RTOL);
    }
}

#[test]
fn activation_parse_round_trips() {
    for act in ACTIVATIONS {
        assert_eq!(Activation::parse(&act.name()).unwrap(), act);
    }
    let err = Activation::parse("swish").unwrap_err().to_string();
    assert!(err.contains("activation") && err.contains("swish"), "{err}");
}
