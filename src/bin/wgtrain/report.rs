//! `wgtrain eval` and `wgtrain predict`: a saved model applied to a CSV file (or MNIST directory), with metrics
//! in the target's own units and class probabilities.

use std::path::Path;

use wgtrain::internal::atomic_file::{check_writable, write_atomic};
use wgtrain::metrics::{argmax, classification, regression, softmax};
use wgtrain::saved::SavedModel;
use wgtrain::train::Trainer;
use wgtrain::{Error, Gpu, Loss, Result};

use crate::tabular::load_for;

fn trainer_for<'g>(gpu: &'g Gpu, saved: &SavedModel, rows: usize) -> Result<Trainer<'g>> {
    let config = wgtrain::train::TrainConfig::new(saved.loss, wgtrain::OptimizerConfig::sgd(0.01));
    Trainer::new(gpu, &saved.model, &saved.params, config, wgtrain::train::buffer_rows(1, rows))
}

/// The predicted class of each row of outputs: arg-max for cross-entropy, logit > 0 for bce.
fn predicted_classes(outputs: &[f32], width: usize, loss: Loss) -> Vec<usize> {
    outputs
        .chunks(width)
        .map(|row| match loss {
            Loss::Bce => usize::from(row[0] > 0.0),
            _ => argmax(row),
        })
        .collect()
}

/// A value written as one CSV field (quoted when it holds a comma, quote or line break).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// `wgtrain eval`: loss, and accuracy, per-class precision / recall / F1, macro F1 and the confusion matrix for
/// classification, or mse, rmse, mae and r² in the target's units for regression.
pub fn eval(model: &Path, data: &Path, json: bool) -> Result<()> {
    let saved = SavedModel::load(model)?;
    let (set, notes) = load_for(&saved, data, true)?;
    for note in &notes {
        eprintln!("wgtrain: {note}");
    }
    let gpu = Gpu::new()?;
    let mut trainer = trainer_for(&gpu, &saved, set.len())?;
    let d = trainer.upload(&set.features, &set.targets)?;
    let (loss, _) = trainer.evaluate(&d)?;
    let outputs = trainer.predict(&d)?;
    let width = saved.model.output();
    let n = set.len();
    let mut obj = serde_json::json!({ "samples": n });
    let line = match (&saved.classes, saved.loss) {
        (Some(classes), Loss::CrossEntropy | Loss::Bce) => {
            let predicted = predicted_classes(&outputs, width, saved.loss);
            let actual: Vec<usize> = set.targets.iter().map(|&t| t as usize).collect();
            let m = classification(&predicted, &actual, classes);
            obj["loss"] = serde_json::json!(loss);
            obj["accuracy"] = serde_json::json!(m.accuracy);
            obj["macro_f1"] = serde_json::json!(m.macro_f1);
            obj["per_class"] = serde_json::json!(m.per_class);
            obj["confusion_matrix"] =
                serde_json::json!({ "classes": classes, "rows_actual_columns_predicted": m.confusion });
            format!("{n} samples: loss {loss:.6}, accuracy {:.2}%, macro F1 {:.4}", 100.0 * m.accuracy, m.macro_f1)
        }
        _ => {
            let unscale = |v: f32| saved.preprocessor.as_ref().map_or(f64::from(v), |p| p.unscale_target(f64::from(v)));
            let predicted: Vec<f64> = outputs.iter().map(|&v| unscale(v)).collect();
            let actual: Vec<f64> = set.targets.iter().map(|&v| unscale(v)).collect();
            let m = regression(&predicted, &actual);
            // The loss in the target's own units: for an mse model that is the mse of the unscaled predictions.
            let own = if saved.loss == Loss::Mse { m.mse } else { loss };
            obj["loss"] = serde_json::json!(own);
            for (k, v) in [("mse", m.mse), ("rmse", m.rmse), ("mae", m.mae), ("r2", m.r2)] {
                obj[k] = serde_json::json!(v);
            }
            format!("{n} samples: loss {own:.6}, rmse {:.6}, mae {:.6}, r2 {:.4}", m.rmse, m.mae, m.r2)
        }
    };
    if json {
        outln!("{obj}");
    } else {
        outln!("{line}");
    }
    Ok(())
}

/// `wgtrain predict`: one line per row of `data`, in order: the class name or the value in the target's units;
/// with `proba`, a header of class names and one probability per class.
pub fn predict(model: &Path, data: &Path, out: Option<&Path>, proba: bool) -> Result<()> {
    if let Some(p) = out {
        check_writable(p)?;
    }
    let saved = SavedModel::load(model)?;
    let classes = match (&saved.classes, saved.loss) {
        (Some(c), Loss::CrossEntropy | Loss::Bce) => Some(c.clone()),
        _ if proba => {
            let why = format!("needs a classification model; {} predicts a value", model.display());
            return Err(Error::config("--proba", why));
        }
        _ => None,
    };
    let (set, notes) = load_for(&saved, data, false)?;
    for note in &notes {
        eprintln!("wgtrain: {note}");
    }
    let gpu = Gpu::new()?;
    let mut trainer = trainer_for(&gpu, &saved, set.len())?;
    let targets = vec![0.0; set.len() * saved.loss.target_cols(saved.model.output())];
    let d = trainer.upload(&set.features, &targets)?;
    let outputs = trainer.predict(&d)?;
    let width = saved.model.output();
    let mut text = String::new();
    match &classes {
        Some(classes) if proba => {
            text.push_str(&classes.iter().map(|c| csv_field(c)).collect::<Vec<_>>().join(","));
            text.push('\n');
            for row in outputs.chunks(width) {
                let p = match saved.loss {
                    Loss::Bce => {
                        let s = 1.0 / (1.0 + (-f64::from(row[0])).exp());
                        vec![1.0 - s, s]
                    }
                    _ => softmax(row),
                };
                text.push_str(&p.iter().map(|v| format!("{v:.6}")).collect::<Vec<_>>().join(","));
                text.push('\n');
            }
        }
        Some(classes) => {
            for c in predicted_classes(&outputs, width, saved.loss) {
                text.push_str(&classes.get(c).cloned().unwrap_or_else(|| c.to_string()));
                text.push('\n');
            }
        }
        None => {
            for row in outputs.chunks(width) {
                let unscale =
                    |v: f32| saved.preprocessor.as_ref().map_or(f64::from(v), |p| p.unscale_target(f64::from(v)));
                let values: Vec<String> = row
                    .iter()
                    .map(|&v| if saved.preprocessor.is_some() { unscale(v).to_string() } else { v.to_string() })
                    .collect();
                text.push_str(&values.join(","));
                text.push('\n');
            }
        }
    }
    match out {
        Some(p) => write_atomic(p, text.as_bytes()),
        None => {
            out!("{text}");
            Ok(())
        }
    }
}
