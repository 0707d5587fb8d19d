//! The scalars that change every optimizer step, computed on the host in f64 as torch computes them (bias
//! corrections, AdaGrad's decayed rate, NAdam's momentum schedule), in this one place for the kernels and their
//! CPU twins.

use super::{OptimizerConfig, OptimizerKind};

/// Scalars that change every optimizer step, for one model: the kernel reads them from the model's
/// `ops::optim::ModelHyper`, written into a uniform before each step's submission, so a schedule never rebuilds a
/// pipeline or bind group.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StepScalars {
    /// The learning rate of this step.
    pub lr: f32,
    /// Adam: lr / (1 − β1^t); AdaGrad: lr / (1 + (t − 1)·lr_decay); NAdam: lr·μ_{t+1} / (1 − Π_{i≤t+1} μ_i), the
    /// first moment's coefficient; otherwise lr.
    pub step_size: f32,
    /// Adam: √(1 − β2^t); otherwise 1.
    pub bias_correction2_sqrt: f32,
    /// 1 on the first optimizer step (SGD momentum starts its buffer from the gradient), else 0.
    pub first_step: u32,
    /// NAdam: lr·(1 − μ_t) / (1 − Π_{i≤t} μ_i), the gradient's coefficient; otherwise 0.
    pub grad_step_size: f32,
    /// NAdam: 1 − β2^t; otherwise 1.
    pub bias_correction2: f32,
}

impl OptimizerConfig {
    /// The per-step scalars for optimizer step `t` (from 1) at learning rate `lr`; computed in f64 as torch does.
    pub fn step_scalars(&self, t: u64, lr: f64) -> StepScalars {
        let tf = t as f64;
        let (mut step_size, mut bc2_sqrt, mut grad_step_size, mut bc2) = (lr, 1.0, 0.0, 1.0);
        match self.kind {
            OptimizerKind::Adam | OptimizerKind::AdamW => {
                step_size = lr / (1.0 - self.beta1.powf(tf));
                bc2_sqrt = (1.0 - self.beta2.powf(tf)).sqrt();
            }
            OptimizerKind::Adagrad => step_size = lr / (1.0 + (tf - 1.0) * self.lr_decay),
            OptimizerKind::NAdam => {
                // torch: mu_product_next = mu_product · μ_{t+1} in f64 from the f32 product.
                let (mu, mu_next, product) = (self.nadam_mu(tf), self.nadam_mu(tf + 1.0), self.nadam_mu_product(t));
                grad_step_size = lr * (1.0 - mu) / (1.0 - product);
                step_size = lr * mu_next / (1.0 - product * mu_next);
                bc2 = 1.0 - self.beta2.powf(tf);
            }
            OptimizerKind::Sgd | OptimizerKind::RmsProp => {}
        }
        StepScalars {
            lr: lr as f32,
            step_size: step_size as f32,
            bias_correction2_sqrt: bc2_sqrt as f32,
            first_step: u32::from(t == 1),
            grad_step_size: grad_step_size as f32,
            bias_correction2: bc2 as f32,
        }
    }

    /// NAdam's momentum coefficient at step `t`: μ_t = β1·(1 − ½·0.96^(t·ψ)).
    fn nadam_mu(&self, t: f64) -> f64 {
        self.beta1 * (1.0 - 0.5 * 0.96f64.powf(t * self.momentum_decay))
    }

    /// Π_{i≤t} μ_i as torch keeps it: an f32 tensor multiplied by each step's μ_i (rounded to f32) in turn. Each μ_i
    /// is at most β1 < 1, so the product underflows to exactly 0 (and stays there) after a few hundred steps for
    /// torch's defaults; the loop stops there.
    fn nadam_mu_product(&self, t: u64) -> f64 {
        let mut product = 1.0f32;
        for i in 1..=t {
            product *= self.nadam_mu(i as f64) as f32;
            if product == 0.0 {
                break;
            }
        }
        f64::from(product)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// NAdam(lr=2e-3) at steps 1 and 2, written out as torch's `_single_tensor_nadam` computes them:
    /// μ_t = 0.9·(1 − ½·0.96^(0.004·t)), the product kept in f32.
    #[test]
    fn nadam_scalars_follow_torchs_formula() {
        let c = OptimizerConfig::nadam(2e-3);
        let mu = |t: f64| 0.9 * (1.0 - 0.5 * 0.96f64.powf(t * 4e-3));
        let s = c.step_scalars(1, 2e-3);
        let p1 = f64::from(mu(1.0) as f32);
        assert_eq!(s.grad_step_size, (2e-3 * (1.0 - mu(1.0)) / (1.0 - p1)) as f32);
        assert_eq!(s.step_size, (2e-3 * mu(2.0) / (1.0 - p1 * mu(2.0))) as f32);
        assert_eq!(s.bias_correction2, (1.0 - 0.999f64) as f32);
        let p2 = f64::from(mu(1.0) as f32 * mu(2.0) as f32);
        assert_eq!(c.step_scalars(2, 2e-3).grad_step_size, (2e-3 * (1.0 - mu(2.0)) / (1.0 - p2)) as f32);
        // The product reaches 0 and the coefficients settle at lr·(1 − μ_t) and lr·μ_{t+1}.
        let late = c.step_scalars(100_000, 2e-3);
        assert_eq!(late.step_size, (2e-3 * mu(100_001.0)) as f32);
    }
}
