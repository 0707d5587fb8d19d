//! CPU twin of shaders/loss_scale.wgsl: dynamic loss scaling of every model of a group, on the same words of the
//! gradient-scale buffer (`ops::loss_scale::word`).

use crate::ops::loss_scale::word;

/// d[m·stride + i] ·= S_m for i < len, S_m = scaler[m·scaler_stride + SCALE], for each of `models` models.
pub fn scale_loss_gradient(
    scaler: &[f32],
    scaler_stride: usize,
    d: &mut [f32],
    len: usize,
    stride: usize,
    models: usize,
) {
    for m in 0..models {
        let s = scaler[m * scaler_stride + word::SCALE];
        d[m * stride..m * stride + len].iter_mut().for_each(|v| *v *= s);
    }
}

/// g[m·stride + i] ·= 1 / S_m for i < n, setting model m's found_inf word to 1 when any result is infinite or NaN.
pub fn unscale_check(
    scaler: &mut [f32],
    scaler_stride: usize,
    grad: &mut [f32],
    n: usize,
    stride: usize,
    models: usize,
) {
    for m in 0..models {
        let o = m * scaler_stride;
        let inv = 1.0 / scaler[o + word::SCALE];
        let mut found = false;
        for g in &mut grad[m * stride..m * stride + n] {
            *g *= inv;
            found |= !g.is_finite();
        }
        if found {
            scaler[o + word::FOUND_INF] = 1.0;
        }
    }
}

/// Each model's scaler after its step (torch's `_amp_update_scale_`, as `precision::LossScaleState::update` on
/// the host), found_inf cleared; a model with `frozen[m]` keeps its scaler.
pub fn loss_scale_update(scaler: &mut [f32], scaler_stride: usize, frozen: &[bool]) {
    for (m, &frozen) in frozen.iter().enumerate() {
        let w = &mut scaler[m * scaler_stride..m * scaler_stride + word::LEN];
        let found = w[word::FOUND_INF] != 0.0;
        w[word::FOUND_INF] = 0.0;
        if frozen {
            continue;
        }
        if found {
            w[word::SCALE] *= w[word::BACKOFF];
            w[word::GOOD] = 0.0;
            w[word::SKIPPED] += 1.0;
            w[word::PENDING] += 1.0;
            continue;
        }
        let good = w[word::GOOD] + 1.0;
        if good >= w[word::INTERVAL] {
            let grown = w[word::SCALE] * w[word::GROWTH];
            if grown.is_finite() {
                w[word::SCALE] = grown;
            }
            w[word::GOOD] = 0.0;
        } else {
            w[word::GOOD] = good;
        }
    }
}
