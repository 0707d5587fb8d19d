//! CPU twin of shaders/optim.wgsl, in f32 with the kernel's operation order (see that file for the formulas).

use crate::ops::optim::ModelHyper;
use crate::optim::OptimizerKind;

fn sign(v: f32) -> f32 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// torch.lerp: a + w (b − a) for w < ½, else b − (b − a)(1 − w).
pub fn lerp(a: f32, b: f32, w: f32) -> f32 {
    if w < 0.5 {
        a + w * (b - a)
    } else {
        b - (b - a) * (1.0 - w)
    }
}

/// g = scale·grad + λθ + l1·sign(θ).
fn regularized(p: &ModelHyper, scale: f32, grad: f32, theta: f32) -> f32 {
    scale * grad + p.weight_decay * theta + p.l1 * sign(theta)
}

/// One SGD step (momentum buffer in state[0..n]).
pub fn sgd_update(p: &ModelHyper, scale: f32, grad: &[f32], param: &mut [f32], state: &mut [f32]) {
    for i in 0..param.len() {
        let theta = param[i];
        let mut g = regularized(p, scale, grad[i], theta);
        if p.momentum != 0.0 {
            let b = if p.first_step != 0 { g } else { p.momentum * state[i] + (1.0 - p.dampening) * g };
            state[i] = b;
            g = if p.nesterov != 0 { g + p.momentum * b } else { b };
        }
        param[i] = theta - p.lr * g;
    }
}

/// One AdaGrad step (sum of squares in state[0..n]); p.step_size is the decayed learning rate.
pub fn adagrad_update(p: &ModelHyper, scale: f32, grad: &[f32], param: &mut [f32], state: &mut [f32]) {
    for i in 0..param.len() {
        let theta = param[i];
        let g = regularized(p, scale, grad[i], theta);
        state[i] += g * g;
        param[i] = theta - p.step_size * g / (state[i].sqrt() + p.eps);
    }
}

/// One RMSprop step (state: v, ḡ, momentum buffer).
pub fn rmsprop_update(p: &ModelHyper, scale: f32, grad: &[f32], param: &mut [f32], state: &mut [f32]) {
    let n = param.len();
    for i in 0..n {
        let theta = param[i];
        let g = regularized(p, scale, grad[i], theta);
        let v = p.alpha * state[i] + (1.0 - p.alpha) * g * g;
        state[i] = v;
        let mut avg = v;
        if p.centered != 0 {
            let gm = lerp(state[n + i], g, 1.0 - p.alpha);
            state[n + i] = gm;
            avg = v - gm * gm;
        }
        let denom = avg.sqrt() + p.eps;
        if p.momentum > 0.0 {
            let b = p.momentum * state[2 * n + i] + g / denom;
            state[2 * n + i] = b;
            param[i] = theta - p.lr * b;
        } else {
            param[i] = theta - p.lr * g / denom;
        }
    }
}

/// One Adam / AdamW step (state: m, v, v̂max).
pub fn adam_update(p: &ModelHyper, scale: f32, grad: &[f32], param: &mut [f32], state: &mut [f32]) {
    let n = param.len();
    for i in 0..n {
        let theta = param[i] * (1.0 - p.lr * p.decoupled_weight_decay);
        let g = regularized(p, scale, grad[i], theta);
        let m = lerp(state[i], g, 1.0 - p.beta1);
        let v = p.beta2 * state[n + i] + (1.0 - p.beta2) * g * g;
        state[i] = m;
        state[n + i] = v;
        let mut vhat = v;
        if p.amsgrad != 0 {
            vhat = state[2 * n + i].max(v);
            state[2 * n + i] = vhat;
        }
        param[i] = theta - p.step_size * m / (vhat.sqrt() / p.bias_correction2_sqrt + p.eps);
    }
}

/// One NAdam step (state: m, v); p.grad_step_size and p.step_size are the gradient's and the first moment's
/// coefficients, p.bias_correction2 is 1 − β2^t.
pub fn nadam_update(p: &ModelHyper, scale: f32, grad: &[f32], param: &mut [f32], state: &mut [f32]) {
    let n = param.len();
    for i in 0..n {
        let theta = param[i];
        let g = regularized(p, scale, grad[i], theta);
        let m = lerp(state[i], g, 1.0 - p.beta1);
        let v = p.beta2 * state[n + i] + (1.0 - p.beta2) * g * g;
        state[i] = m;
        state[n + i] = v;
        let denom = (v / p.bias_correction2).sqrt() + p.eps;
        let after_grad = theta - p.grad_step_size * g / denom;
        param[i] = after_grad - p.step_size * m / denom;
    }
}

/// Dispatches to the rule of `kind`: one model of `param.len()` parameters, its gradient scaled by `scale`.
pub fn optimizer_update(
    kind: OptimizerKind,
    p: &ModelHyper,
    scale: f32,
    grad: &[f32],
    param: &mut [f32],
    state: &mut [f32],
) {
    match kind {
        OptimizerKind::Sgd => sgd_update(p, scale, grad, param, state),
        OptimizerKind::Adagrad => adagrad_update(p, scale, grad, param, state),
        OptimizerKind::RmsProp => rmsprop_update(p, scale, grad, param, state),
        OptimizerKind::Adam | OptimizerKind::AdamW => adam_update(p, scale, grad, param, state),
        OptimizerKind::NAdam => nadam_update(p, scale, grad, param, state),
    }
}

/// The launch of shaders/optim.wgsl: model m (record `models[m]`, gradient scale `scales[m]`) has its `n`
/// parameters and gradients at [m·n, (m+1)·n) and its state at [m·slots·n, (m+1)·slots·n); a frozen model is left
/// as it is.
pub fn optimizer_update_models(
    kind: OptimizerKind,
    models: &[ModelHyper],
    scales: &[f32],
    slots: usize,
    grad: &[f32],
    param: &mut [f32],
    state: &mut [f32],
) {
    let n = param.len() / models.len().max(1);
    for (m, (h, &scale)) in models.iter().zip(scales).enumerate() {
        if h.frozen != 0 {
            continue;
        }
        let (g, p) = (&grad[m * n..(m + 1) * n], &mut param[m * n..(m + 1) * n]);
        let s = &mut state[m * slots * n..(m + 1) * slots * n];
        optimizer_update(kind, h, scale, g, p, s);
    }
}
