//! The MLP: layer sizes, activations, initialisation, and the flat parameter layout shared by GPU and CPU.
//!
//! Parameters follow torch.nn.Linear: layer i has weight [out, in] row-major and bias [out]. All layers live in one
//! flat buffer, each tensor starting on a 64-float (256-byte) boundary, because WebGPU binds a buffer range only at
//! offsets that are multiples of min_storage_buffer_offset_alignment (at most 256 bytes). The padding stays zero.

use crate::error::{Error, Result};
use crate::internal::rng::Rng;
use crate::ops::activation::Activation;

/// Alignment of every tensor in the flat parameter buffer, in f32 elements (256 bytes).
pub const PARAM_ALIGN: usize = 64;

/// How weights are initialised.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Init {
    /// torch.nn.Linear's default: weight and bias ~ U(−1/√fan_in, 1/√fan_in).
    #[default]
    Torch,
    /// Xavier/Glorot uniform: weight ~ U(±√(6/(fan_in + fan_out))), bias 0.
    Xavier,
    /// He/Kaiming uniform for ReLU: weight ~ U(±√(6/fan_in)), bias 0.
    He,
}

impl Init {
    /// Parses torch, xavier or he.
    pub fn parse(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "torch" | "default" => Ok(Init::Torch),
            "xavier" | "glorot" => Ok(Init::Xavier),
            "he" | "kaiming" => Ok(Init::He),
            _ => Err(Error::config("init", format!("unknown initialisation {s:?}; expected torch, xavier or he"))),
        }
    }
}

/// The architecture: input width, then each linear layer's output width and activation.
#[derive(Clone, Debug, PartialEq)]
pub struct MlpConfig {
    /// Number of input features.
    pub input: usize,
    /// Output width of each linear layer; the last is the network's output.
    pub layers: Vec<usize>,
    /// Activation after each hidden layer.
    pub activation: Activation,
    /// Activation after the output layer (Identity: raw logits, what the losses expect).
    pub output_activation: Activation,
}

impl MlpConfig {
    /// `input` → hidden sizes (with `activation`) → `output` (linear).
    pub fn new(input: usize, hidden: &[usize], output: usize, activation: Activation) -> Self {
        let mut layers = hidden.to_vec();
        layers.push(output);
        MlpConfig { input, layers, activation, output_activation: Activation::Identity }
    }

    /// Rejects empty or zero-width layers.
    pub fn validate(&self) -> Result<()> {
        if self.input == 0 {
            return Err(Error::config("input", "the network needs at least one input feature"));
        }
        if self.layers.is_empty() {
            return Err(Error::config("layers", "the network needs at least one layer"));
        }
        if let Some(i) = self.layers.iter().position(|&w| w == 0) {
            return Err(Error::config("layers", format!("layer {i} has width 0")));
        }
        // The kernels index with u32, so the flat parameter buffer must stay below 2³² elements.
        if self.checked_len().is_none_or(|n| n > u32::MAX as usize) {
            return Err(Error::config("layers", "the network has more than 2³² parameters"));
        }
        Ok(())
    }

    /// The flat layout's length, or None if it overflows (untrusted sizes from a file).
    fn checked_len(&self) -> Option<usize> {
        let mut total = 0usize;
        for (i, &out) in self.layers.iter().enumerate() {
            let weights = out.checked_mul(self.fan_in(i))?.checked_next_multiple_of(PARAM_ALIGN)?;
            let bias = out.checked_next_multiple_of(PARAM_ALIGN)?;
            total = total.checked_add(weights)?.checked_add(bias)?;
        }
        Some(total)
    }

    /// The activation applied after layer `i`.
    pub fn activation_of(&self, i: usize) -> Activation {
        if i + 1 == self.layers.len() {
            self.output_activation
        } else {
            self.activation
        }
    }

    /// Input width of layer `i`.
    pub fn fan_in(&self, i: usize) -> usize {
        if i == 0 {
            self.input
        } else {
            self.layers[i - 1]
        }
    }

    /// The network's output width.
    pub fn output(&self) -> usize {
        self.layers.last().copied().unwrap_or(0)
    }

    /// Where each tensor sits in the flat parameter buffer.
    pub fn layout(&self) -> Layout {
        let mut offset = 0;
        let mut layers = Vec::with_capacity(self.layers.len());
        for (i, &out) in self.layers.iter().enumerate() {
            let inp = self.fan_in(i);
            let weight = offset;
            offset += (out * inp).next_multiple_of(PARAM_ALIGN);
            let bias = offset;
            offset += out.next_multiple_of(PARAM_ALIGN);
            layers.push(LayerLayout { inputs: inp, outputs: out, weight, bias });
        }
        Layout { layers, len: offset }
    }
}

/// One linear layer's place in the flat buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayerLayout {
    /// Input width.
    pub inputs: usize,
    /// Output width.
    pub outputs: usize,
    /// Offset of the weight [outputs, inputs].
    pub weight: usize,
    /// Offset of the bias [outputs].
    pub bias: usize,
}

/// The flat parameter layout of an MLP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Per layer, in order.
    pub layers: Vec<LayerLayout>,
    /// Total length including padding.
    pub len: usize,
}

impl Layout {
    /// A zero flat buffer filled with the given per-layer (weight, bias) tensors.
    pub fn pack(&self, tensors: &[(Vec<f32>, Vec<f32>)]) -> Result<Vec<f32>> {
        if tensors.len() != self.layers.len() {
            return Err(Error::Shape {
                op: "pack",
                detail: format!("{} layers given, {} expected", tensors.len(), self.layers.len()),
            });
        }
        let mut flat = vec![0.0; self.len];
        for (i, (l, (w, b))) in self.layers.iter().zip(tensors).enumerate() {
            if w.len() != l.outputs * l.inputs || b.len() != l.outputs {
                return Err(Error::Shape {
                    op: "pack",
                    detail: format!(
                        "layer {i}: weight has {} values and bias {}, expected [{}, {}] and [{}]",
                        w.len(),
                        b.len(),
                        l.outputs,
                        l.inputs,
                        l.outputs
                    ),
                });
            }
            flat[l.weight..l.weight + w.len()].copy_from_slice(w);
            flat[l.bias..l.bias + b.len()].copy_from_slice(b);
        }
        Ok(flat)
    }

    /// The per-layer (weight, bias) tensors of a flat buffer.
    pub fn unpack(&self, flat: &[f32]) -> Vec<(Vec<f32>, Vec<f32>)> {
        self.layers
            .iter()
            .map(|l| {
                (flat[l.weight..l.weight + l.outputs * l.inputs].to_vec(), flat[l.bias..l.bias + l.outputs].to_vec())
            })
            .collect()
    }
}

/// Freshly initialised flat parameters for `config`, from `seed`.
pub fn init_params(config: &MlpConfig, init: Init, seed: u64) -> Result<Vec<f32>> {
    config.validate()?;
    let layout = config.layout();
    let mut rng = Rng::new(seed);
    let tensors: Vec<(Vec<f32>, Vec<f32>)> = layout
        .layers
        .iter()
        .map(|l| {
            let (fan_in, fan_out) = (l.inputs as f32, l.outputs as f32);
            let (w_bound, b_bound) = match init {
                Init::Torch => (1.0 / fan_in.sqrt(), 1.0 / fan_in.sqrt()),
                Init::Xavier => ((6.0 / (fan_in + fan_out)).sqrt(), 0.0),
                Init::He => ((6.0 / fan_in).sqrt(), 0.0),
            };
            let w = (0..l.outputs * l.inputs).map(|_| rng.uniform(-w_bound, w_bound)).collect();
            let b = (0..l.outputs).map(|_| if b_bound > 0.0 { rng.uniform(-b_bound, b_bound) } else { 0.0 }).collect();
            (w, b)
        })
        .collect();
    layout.pack(&tensors)
}
