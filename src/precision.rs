//! Which floating-point type a training step computes in ([`Precision`]), and the dynamic loss scaling that half
//! precision trains with ([`LossScaling`], [`LossScaleState`]): the rule of `torch.amp.GradScaler`.

use crate::error::{Error, Result};

/// The element type of a training step's activations, their gradients and the matmul operands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// Everything in f32 (the default).
    #[default]
    F32,
    /// Activations, their gradients and the matmul operands in f16 (accumulated in f32); f32 master weights,
    /// weight gradients and optimizer state; dynamic loss scaling. Needs wgpu's `SHADER_F16` feature.
    F16,
}

impl Precision {
    /// Every precision, default first.
    pub const ALL: [Precision; 2] = [Precision::F32, Precision::F16];

    /// The lower-case name: `f32` or `f16`.
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::F16 => "f16",
        }
    }

    /// Parses `f32` or `f16` (any case; `fp16`, `half`, `fp32` and `float` too).
    pub fn parse(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "f32" | "fp32" | "float" | "float32" => Ok(Precision::F32),
            "f16" | "fp16" | "half" | "float16" => Ok(Precision::F16),
            _ => Err(Error::config("precision", format!("unknown precision {s:?}; expected f32 or f16"))),
        }
    }

    /// Whether the step scales the loss (half precision does, so small gradients do not flush to zero).
    pub fn scales_loss(self) -> bool {
        self == Precision::F16
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Dynamic loss scaling with `torch.amp.GradScaler`'s parameters and defaults: the loss gradient is multiplied by
/// the scale S; the weight gradients are divided by S before the optimizer; a step with an infinite or NaN
/// gradient is skipped (parameters, optimizer state and its step count unchanged) and S is multiplied by
/// `backoff_factor`; after `growth_interval` consecutive steps without one, S is multiplied by `growth_factor`
/// (when the product is finite).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LossScaling {
    /// The first scale (torch: 2^16).
    pub init_scale: f64,
    /// The factor S grows by (torch: 2).
    pub growth_factor: f64,
    /// The factor S shrinks by on a skipped step (torch: 0.5).
    pub backoff_factor: f64,
    /// Consecutive good steps before S grows (torch: 2000).
    pub growth_interval: u32,
}

impl Default for LossScaling {
    fn default() -> Self {
        LossScaling { init_scale: 65536.0, growth_factor: 2.0, backoff_factor: 0.5, growth_interval: 2000 }
    }
}

impl LossScaling {
    /// Rejects values torch rejects (it asserts growth > 1 and backoff < 1), naming the field.
    pub fn validate(&self) -> Result<()> {
        if !self.init_scale.is_finite() || self.init_scale <= 0.0 || self.init_scale as f32 == f32::INFINITY {
            return Err(Error::config("init_scale", format!("must be a finite f32 > 0, got {}", self.init_scale)));
        }
        if !self.growth_factor.is_finite() || self.growth_factor <= 1.0 {
            return Err(Error::config("growth_factor", format!("must be > 1, got {}", self.growth_factor)));
        }
        if !(self.backoff_factor > 0.0 && self.backoff_factor < 1.0) {
            return Err(Error::config("backoff_factor", format!("must be in (0, 1), got {}", self.backoff_factor)));
        }
        if self.growth_interval == 0 {
            return Err(Error::config("growth_interval", "must be at least 1"));
        }
        Ok(())
    }

    /// The state before the first step.
    pub fn initial_state(&self) -> LossScaleState {
        LossScaleState { scale: self.init_scale as f32, good_steps: 0, skipped: 0 }
    }
}

/// One model's loss scaler as it stands: the scale, the good steps since it last changed (torch's
/// `_growth_tracker`) and the steps skipped so far (not counted as optimizer steps).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LossScaleState {
    /// The current scale S (f32, as torch keeps it).
    pub scale: f32,
    /// Consecutive steps without an infinite or NaN gradient since S last changed.
    pub good_steps: u32,
    /// Steps skipped so far.
    pub skipped: u64,
}

impl LossScaleState {
    /// torch's `_amp_update_scale_` after a step whose gradients were (`found_inf`) or were not all finite: on an
    /// overflow S ← S·backoff and the count restarts; else the count grows, and at `growth_interval` S ← S·growth
    /// (kept only when finite) and the count restarts. Products are taken in f32, as torch's f32 scale tensor.
    pub fn update(&mut self, found_inf: bool, cfg: &LossScaling) {
        if found_inf {
            self.scale *= cfg.backoff_factor as f32;
            self.good_steps = 0;
            self.skipped += 1;
            return;
        }
        let good = self.good_steps + 1;
        if good >= cfg.growth_interval {
            let grown = self.scale * cfg.growth_factor as f32;
            if grown.is_finite() {
                self.scale = grown;
            }
            self.good_steps = 0;
        } else {
            self.good_steps = good;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precision_names_parse_back() {
        for p in Precision::ALL {
            assert_eq!(Precision::parse(p.name()).unwrap(), p);
        }
        assert_eq!(Precision::parse(" FP16 ").unwrap(), Precision::F16);
        let err = Precision::parse("bf16").unwrap_err().to_string();
        assert!(err.contains("precision") && err.contains("f32 or f16"), "{err}");
    }

    #[test]
    fn the_scaler_halves_on_overflow_and_doubles_after_the_interval() {
        let cfg = LossScaling { growth_interval: 3, ..LossScaling::default() };
        let mut s = cfg.initial_state();
        s.update(true, &cfg);
        assert_eq!((s.scale, s.good_steps, s.skipped), (32768.0, 0, 1));
        s.update(false, &cfg);
        s.update(false, &cfg);
        assert_eq!((s.scale, s.good_steps), (32768.0, 2));
        s.update(false, &cfg);
        assert_eq!((s.scale, s.good_steps, s.skipped), (65536.0, 0, 1));
        // Growth that would overflow f32 keeps the scale and restarts the count.
        let mut top = LossScaleState { scale: f32::MAX, good_steps: 2, skipped: 0 };
        top.update(false, &cfg);
        assert_eq!((top.scale, top.good_steps), (f32::MAX, 0));
        assert!(LossScaling { backoff_factor: 1.0, ..cfg }.validate().is_err());
        assert!(LossScaling { growth_interval: 0, ..cfg }.validate().is_err());
    }
}
