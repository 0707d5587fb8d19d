//! A trained model on disk: safetensors with tensors `layers.{i}.weight` [out, in] and `layers.{i}.bias` [out]
//! (nn.Linear's layout, so PyTorch loads them after renaming), and the architecture, loss, class names, feature
//! names and normalisation in the metadata. Written atomically.

use std::collections::BTreeMap;
use std::path::Path;

use crate::data::normalize::Normalizer;
use crate::data::preprocess::{Encoding, Preprocessor, TargetEncoding};
use crate::data::table::Table;
use crate::data::transform::TransformReport;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::model::MlpConfig;
use crate::ops::activation::Activation;
use crate::ops::loss::Loss;
#[cfg(not(target_arch = "wasm32"))]
use crate::tensor_file::load_tensors;
use crate::tensor_file::{decode_tensors, encode_tensors, NamedTensor};

/// Format tag in the metadata, bumped when the layout changes.
pub const FORMAT: &str = "wgtrain-mlp-1";

/// Everything needed to evaluate or predict with a trained model.
#[derive(Clone, Debug, PartialEq)]
pub struct SavedModel {
    /// The architecture.
    pub model: MlpConfig,
    /// The loss it was trained with (decides how outputs are read).
    pub loss: Loss,
    /// Flat parameters in `model.layout()`.
    pub params: Vec<f32>,
    /// Class names in output order, for classification.
    pub classes: Option<Vec<String>>,
    /// Feature column names, in input order.
    pub feature_names: Vec<String>,
    /// Target column name.
    pub target_name: String,
    /// Feature standardisation fitted on the training set (MNIST and models from before the preprocessor).
    pub normalizer: Option<Normalizer>,
    /// How raw CSV columns become the model's inputs and target (CSV training data).
    pub preprocessor: Option<Preprocessor>,
}

fn layer_names(i: usize) -> (String, String) {
    (format!("layers.{i}.weight"), format!("layers.{i}.bias"))
}

impl SavedModel {
    /// Writes the model to `path` (temporary file, then rename).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn save(&self, path: &Path) -> Result<()> {
        self.save_with(path, Vec::new(), BTreeMap::new())
    }

    /// Writes the model plus `extra` tensors and metadata (a resumable checkpoint) in one atomic file.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn save_with(&self, path: &Path, extra: Vec<NamedTensor>, extra_meta: BTreeMap<String, String>) -> Result<()> {
        crate::internal::atomic_file::write_atomic(path, &self.encode(path, extra, extra_meta)?)
    }

    /// The bytes [`SavedModel::save`] writes (the web page's download); `name` only names the file in errors.
    pub fn to_bytes(&self, name: &Path) -> Result<Vec<u8>> {
        self.encode(name, Vec::new(), BTreeMap::new())
    }

    /// The bytes [`SavedModel::save_with`] writes: the model plus `extra` tensors and metadata (a checkpoint).
    pub fn to_bytes_with(
        &self,
        name: &Path,
        extra: Vec<NamedTensor>,
        extra_meta: BTreeMap<String, String>,
    ) -> Result<Vec<u8>> {
        self.encode(name, extra, extra_meta)
    }

    fn encode(&self, path: &Path, extra: Vec<NamedTensor>, extra_meta: BTreeMap<String, String>) -> Result<Vec<u8>> {
        self.model.validate()?;
        let layout = self.model.layout();
        if self.params.len() != layout.len {
            return Err(Error::Shape {
                op: "save model",
                detail: format!("{} parameters for a layout of {}", self.params.len(), layout.len),
            });
        }
        let mut tensors = Vec::new();
        for (i, (l, (w, b))) in layout.layers.iter().zip(layout.unpack(&self.params)).enumerate() {
            let (wn, bn) = layer_names(i);
            tensors.push(NamedTensor { name: wn, shape: vec![l.outputs, l.inputs], data: w });
            tensors.push(NamedTensor { name: bn, shape: vec![l.outputs], data: b });
        }
        let json = |v: &dyn erased::Json| v.to_json();
        let mut meta = BTreeMap::new();
        meta.insert("format".into(), FORMAT.into());
        meta.insert("input".into(), self.model.input.to_string());
        meta.insert("layers".into(), self.model.layers.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(","));
        meta.insert("activation".into(), self.model.activation.name());
        meta.insert("output_activation".into(), self.model.output_activation.name());
        meta.insert("loss".into(), self.loss.name().into());
        meta.insert("feature_names".into(), json(&self.feature_names));
        meta.insert("target".into(), self.target_name.clone());
        if let Some(c) = &self.classes {
            meta.insert("classes".into(), json(c));
        }
        if let Some(n) = &self.normalizer {
            meta.insert("normalize_mean".into(), json(&n.mean));
            meta.insert("normalize_std".into(), json(&n.std));
        }
        if let Some(p) = &self.preprocessor {
            meta.insert("preprocess".into(), json(p));
        }
        tensors.extend(extra);
        meta.extend(extra_meta);
        encode_tensors(path, &tensors, &meta)
    }

    /// Reads a model written by [`SavedModel::save`].
    #[cfg(not(target_arch = "wasm32"))]
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(path, &bytes)
    }

    /// Parses the bytes of a model file, as [`SavedModel::load`]; `path` only names the file in errors.
    pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<Self> {
        let (tensors, meta) = decode_tensors(path, bytes)?;
        Self::from_tensors(path, &tensors, &meta)
    }

    /// The model held by decoded tensors and metadata (a model file's or a checkpoint's); tensors other than the
    /// layers' are left alone.
    pub fn from_tensors(path: &Path, tensors: &[NamedTensor], meta: &BTreeMap<String, String>) -> Result<Self> {
        let field = |key: &str| -> Result<&String> {
            meta.get(key).ok_or_else(|| {
                Error::parse(path, Some(format!("metadata {key:?}")), "missing; not a wgtrain model file")
            })
        };
        let bad = |key: &str, why: String| Error::parse(path, Some(format!("metadata {key:?}")), why);
        if field("format")? != FORMAT {
            return Err(bad("format", format!("unsupported format {:?}, expected {FORMAT}", field("format")?)));
        }
        let input: usize = field("input")?.parse().map_err(|_| bad("input", "not a number".into()))?;
        let layers = field("layers")?
            .split(',')
            .map(|v| v.trim().parse::<usize>().map_err(|_| bad("layers", format!("{v:?} is not a layer width"))))
            .collect::<Result<Vec<_>>>()?;
        let activation = Activation::parse(field("activation")?).map_err(|e| bad("activation", e.to_string()))?;
        let output_activation =
            Activation::parse(field("output_activation")?).map_err(|e| bad("output_activation", e.to_string()))?;
        let loss = Loss::parse(field("loss")?).map_err(|e| bad("loss", e.to_string()))?;
        let model = MlpConfig { input, layers, activation, output_activation };
        model.validate().map_err(|e| bad("layers", e.to_string()))?;
        let params = pack_named(path, &model, tensors)?;
        let json_vec = |key: &str| -> Result<Option<Vec<String>>> {
            meta.get(key).map(|s| serde_json::from_str(s).map_err(|e| bad(key, e.to_string()))).transpose()
        };
        let json_f32 = |key: &str| -> Result<Option<Vec<f32>>> {
            meta.get(key).map(|s| serde_json::from_str(s).map_err(|e| bad(key, e.to_string()))).transpose()
        };
        let normalizer = match (json_f32("normalize_mean")?, json_f32("normalize_std")?) {
            (Some(mean), Some(std)) if mean.len() == input && std.len() == input => {
                if mean.iter().any(|m| !m.is_finite()) || std.iter().any(|s| !s.is_finite() || *s <= 0.0) {
                    return Err(bad("normalize_std", "means must be finite and deviations finite and > 0".into()));
                }
                Some(Normalizer { mean, std })
            }
            (None, None) => None,
            _ => return Err(bad("normalize_mean", format!("normalisation must hold {input} means and stds"))),
        };
        let classes = json_vec("classes")?;
        let expected = match loss {
            Loss::CrossEntropy => Some(model.output()),
            Loss::Bce => Some(2),
            Loss::Mse => None,
        };
        match (&classes, expected) {
            (Some(c), Some(want)) if c.len() != want => {
                return Err(bad(
                    "classes",
                    format!("{} classes for a {} model that needs {want}", c.len(), loss.name()),
                ))
            }
            (None, Some(_)) if loss == Loss::CrossEntropy => {
                return Err(bad("classes", "missing for a cross-entropy model".into()))
            }
            _ => {}
        }
        let preprocessor = match meta.get("preprocess") {
            Some(s) => {
                let p: Preprocessor = serde_json::from_str(s).map_err(|e| bad("preprocess", e.to_string()))?;
                check_preprocessor(&p, input, classes.as_deref()).map_err(|why| bad("preprocess", why))?;
                Some(p)
            }
            None => None,
        };
        let feature_names = json_vec("feature_names")?.unwrap_or_default();
        // Without a preprocessor the names are the columns read (`encode_table`), one per input.
        if preprocessor.is_none() && !feature_names.is_empty() && feature_names.len() != input {
            return Err(bad("feature_names", format!("{} names for {input} inputs", feature_names.len())));
        }
        Ok(SavedModel {
            model,
            loss,
            params,
            classes,
            feature_names,
            target_name: meta.get("target").cloned().unwrap_or_default(),
            normalizer,
            preprocessor,
        })
    }
}

impl SavedModel {
    /// Encodes a raw table as this model's inputs (and targets, with `with_target`) through its preprocessor, or,
    /// for a file from before the preprocessor, the one its metadata implies ([`Preprocessor::legacy`]).
    pub fn encode_table(&self, table: &Table, with_target: bool) -> Result<(Dataset, TransformReport)> {
        let legacy;
        let pre = match &self.preprocessor {
            Some(p) => p,
            None => {
                let (classes, normalizer) = (self.classes.as_deref(), self.normalizer.as_ref());
                legacy = Preprocessor::legacy(&self.feature_names, &self.target_name, classes, normalizer)?;
                legacy.refuse_gaps(table)?;
                &legacy
            }
        };
        if pre.n_features() != self.model.input {
            let why =
                format!("the model file names {} features, its network takes {}", pre.n_features(), self.model.input);
            return Err(Error::Shape { op: "encode table", detail: why });
        }
        pre.transform(table, with_target)
    }
}

/// A preprocessor read from a file must fit the network and the class list, and scale by finite non-zero values.
fn check_preprocessor(p: &Preprocessor, input: usize, classes: Option<&[String]>) -> std::result::Result<(), String> {
    if p.n_features() != input {
        return Err(format!("encodes {} inputs but the network takes {input}", p.n_features()));
    }
    if p.classes().is_some() && p.classes() != classes {
        return Err("its classes differ from the model's \"classes\"".into());
    }
    let finite = |center: f64, scale: f64| center.is_finite() && scale.is_finite() && scale != 0.0;
    for c in &p.columns {
        if let Encoding::Numeric { fill, center, scale, .. } = c.encoding {
            if !fill.is_finite() || !finite(center, scale) {
                return Err(format!("column {:?} has a non-finite fill value or a zero scale", c.name));
            }
        }
    }
    match p.target_encoding {
        TargetEncoding::Value { center, scale } if !finite(center, scale) => {
            Err("the target's scale is zero or not finite".into())
        }
        _ => Ok(()),
    }
}

/// Flat parameters for `model` from tensors named `layers.{i}.weight` / `layers.{i}.bias` (a wgtrain file, or a
/// PyTorch state_dict saved with safetensors after renaming), with every name and shape checked.
pub fn pack_named(path: &Path, model: &MlpConfig, tensors: &[NamedTensor]) -> Result<Vec<f32>> {
    let layout = model.layout();
    let mut per_layer = Vec::new();
    for (i, l) in layout.layers.iter().enumerate() {
        let (wn, bn) = layer_names(i);
        let find = |name: &str, shape: Vec<usize>| -> Result<Vec<f32>> {
            let t = tensors.iter().find(|t| t.name == name).ok_or_else(|| {
                let names: Vec<&str> = tensors.iter().map(|t| t.name.as_str()).collect();
                Error::parse(
                    path,
                    Some(format!("tensor {name}")),
                    format!("missing (the file has {})", names.join(", ")),
                )
            })?;
            if t.shape != shape {
                return Err(Error::parse(
                    path,
                    Some(format!("tensor {name}")),
                    format!("shape {:?} does not fit the network, which needs {shape:?}", t.shape),
                ));
            }
            Ok(t.data.clone())
        };
        per_layer.push((find(&wn, vec![l.outputs, l.inputs])?, find(&bn, vec![l.outputs])?));
    }
    let expected = 2 * layout.layers.len();
    let layer_tensors = tensors.iter().filter(|t| t.name.starts_with("layers.")).count();
    if layer_tensors != expected {
        return Err(Error::parse(path, None, format!("has {layer_tensors} layer tensors, the network has {expected}")));
    }
    layout.pack(&per_layer)
}

/// Loads only the weights from `path` for `model` (the CLI's --init).
#[cfg(not(target_arch = "wasm32"))]
pub fn load_weights(path: &Path, model: &MlpConfig) -> Result<Vec<f32>> {
    let (tensors, _) = load_tensors(path)?;
    pack_named(path, model, &tensors)
}

mod erased {
    /// Serialises metadata values; infallible for the plain vectors stored here.
    pub trait Json {
        fn to_json(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn to_json(&self) -> String {
            serde_json::to_string(self).unwrap_or_default()
        }
    }
}
