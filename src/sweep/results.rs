//! A sweep's results: one record per configuration, sorted by the validation loss (the training loss without a
//! validation set), written as JSON or CSV, read back and merged, printed as a table and plotted.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{json, Map, Value};

use crate::error::{Error, Result};
use crate::internal::atomic_file::write_atomic;
use crate::train::StopReason;

/// The metrics a configuration ended with (absent ones are None).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FinalMetrics {
    /// Mean training loss of the reported epoch.
    pub loss: Option<f64>,
    /// Training accuracy (classification).
    pub accuracy: Option<f64>,
    /// Validation loss.
    pub val_loss: Option<f64>,
    /// Validation accuracy (classification).
    pub val_accuracy: Option<f64>,
}

/// What one configuration of a sweep ended with.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigResult {
    /// Position in the whole sweep (grid order or draw order), so shards merge into the same table.
    pub index: usize,
    /// The swept options: CLI name (without dashes) and value.
    pub options: Vec<(String, Value)>,
    /// The metrics of the epoch whose weights the model ended with (the best epoch when early stopping restored it).
    pub metrics: FinalMetrics,
    /// The best epoch by the validation loss (early stopping's), when there is one.
    pub best_epoch: Option<usize>,
    /// Epochs run.
    pub epochs: usize,
    /// Why training ended.
    pub stop: StopReason,
    /// Validation loss per epoch (training loss without validation), for the plot.
    pub curve: Vec<f64>,
}

const RESULT_KEYS: [&str; 6] = ["index", "final", "best_epoch", "epochs", "stop", "curve"];

impl ConfigResult {
    /// A command-line value as JSON: a number when it reads as one, else the text.
    pub fn option_value(text: &str) -> Value {
        if let Ok(i) = text.parse::<i64>() {
            return json!(i);
        }
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() => json!(v),
            _ => Value::String(text.to_string()),
        }
    }

    /// The sort key: validation loss, else training loss; a diverged or non-finite result sorts last.
    pub fn score(&self) -> f64 {
        let s = self.metrics.val_loss.or(self.metrics.loss).unwrap_or(f64::INFINITY);
        if self.stop == StopReason::Diverged || !s.is_finite() {
            f64::INFINITY
        } else {
            s
        }
    }

    /// The option's key in the JSON object: its name, or `--name` when a result field has that name (`epochs`).
    fn key(name: &str) -> String {
        if RESULT_KEYS.contains(&name) || name == "--" {
            format!("--{name}")
        } else {
            name.to_string()
        }
    }

    /// The JSON object of this result.
    pub fn to_json(&self) -> Value {
        let mut o = Map::new();
        for (k, v) in &self.options {
            o.insert(Self::key(k), v.clone());
        }
        let mut fin = Map::new();
        let m = &self.metrics;
        for (k, v) in
            [("loss", m.loss), ("accuracy", m.accuracy), ("val_loss", m.val_loss), ("val_accuracy", m.val_accuracy)]
        {
            if let Some(v) = v.filter(|v| v.is_finite()) {
                fin.insert(k.into(), json!(v));
            }
        }
        o.insert("index".into(), json!(self.index));
        o.insert("final".into(), Value::Object(fin));
        o.insert("best_epoch".into(), self.best_epoch.map_or(Value::Null, |e| json!(e)));
        o.insert("epochs".into(), json!(self.epochs));
        o.insert("stop".into(), json!(self.stop.name()));
        let curve: Vec<Value> =
            self.curve.iter().map(|&v| if v.is_finite() { json!(v) } else { Value::Null }).collect();
        o.insert("curve".into(), Value::Array(curve));
        Value::Object(o)
    }

    /// Parses an object written by [`ConfigResult::to_json`]; `path` names the file in errors. Option order is
    /// alphabetical (the order JSON objects keep).
    pub fn from_json(v: &Value, path: &Path) -> Result<Self> {
        let bad = |what: &str| Error::parse(path, None, format!("a result {what}"));
        let o = v.as_object().ok_or_else(|| bad("is not an object"))?;
        let num = |v: Option<&Value>| v.and_then(Value::as_f64);
        let fin = o.get("final").and_then(Value::as_object).ok_or_else(|| bad("has no \"final\" object"))?;
        let metrics = FinalMetrics {
            loss: num(fin.get("loss")),
            accuracy: num(fin.get("accuracy")),
            val_loss: num(fin.get("val_loss")),
            val_accuracy: num(fin.get("val_accuracy")),
        };
        let index = o.get("index").and_then(Value::as_u64).ok_or_else(|| bad("has no \"index\""))? as usize;
        let stop = o.get("stop").and_then(Value::as_str).ok_or_else(|| bad("has no \"stop\""))?;
        let curve = match o.get("curve") {
            Some(Value::Array(a)) => a.iter().map(|v| v.as_f64().unwrap_or(f64::NAN)).collect(),
            _ => Vec::new(),
        };
        let options = o
            .iter()
            .filter(|(k, _)| !RESULT_KEYS.contains(&k.as_str()))
            .map(|(k, v)| (k.strip_prefix("--").unwrap_or(k).to_string(), v.clone()))
            .collect();
        Ok(ConfigResult {
            index,
            options,
            metrics,
            best_epoch: o.get("best_epoch").and_then(Value::as_u64).map(|e| e as usize),
            epochs: o.get("epochs").and_then(Value::as_u64).ok_or_else(|| bad("has no \"epochs\""))? as usize,
            stop: StopReason::parse(stop).map_err(|_| bad("has an unknown \"stop\""))?,
            curve,
        })
    }
}

/// Sorts best first (lowest [`ConfigResult::score`]), ties in sweep order.
pub fn sort_results(results: &mut [ConfigResult]) {
    results.sort_by(|a, b| a.score().total_cmp(&b.score()).then(a.index.cmp(&b.index)));
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The option names of all results, in first-seen order.
fn option_names(results: &[ConfigResult]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for r in results {
        for (k, _) in &r.options {
            if !names.contains(k) {
                names.push(k.clone());
            }
        }
    }
    names
}

fn cell(r: &ConfigResult, name: &str) -> String {
    r.options.iter().find(|(k, _)| k == name).map(|(_, v)| text(v)).unwrap_or_default()
}

fn metric(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.4}")).unwrap_or_else(|| "-".into())
}

/// The results as JSON (an array, in the given order).
pub fn results_json(results: &[ConfigResult]) -> String {
    let arr = Value::Array(results.iter().map(ConfigResult::to_json).collect());
    let mut s = serde_json::to_string_pretty(&arr).unwrap_or_else(|e| format!("\"results not serializable: {e}\""));
    s.push('\n');
    s
}

/// The results as CSV: the swept options, then loss, accuracy, val_loss, val_accuracy, best_epoch, epochs, stop.
pub fn results_csv(results: &[ConfigResult]) -> String {
    let names = option_names(results);
    let quote = |s: String| if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s };
    let mut out = String::new();
    let head: Vec<String> = names
        .iter()
        .cloned()
        .chain(["loss", "accuracy", "val_loss", "val_accuracy", "best_epoch", "epochs", "stop"].map(String::from))
        .collect();
    out.push_str(&head.into_iter().map(quote).collect::<Vec<_>>().join(","));
    out.push('\n');
    for r in results {
        let m = &r.metrics;
        let num = |v: Option<f64>| v.filter(|v| v.is_finite()).map(|v| v.to_string()).unwrap_or_default();
        let mut row: Vec<String> = names.iter().map(|n| cell(r, n)).collect();
        row.extend([num(m.loss), num(m.accuracy), num(m.val_loss), num(m.val_accuracy)]);
        row.push(r.best_epoch.map(|e| e.to_string()).unwrap_or_default());
        row.push(r.epochs.to_string());
        row.push(r.stop.name().to_string());
        out.push_str(&row.into_iter().map(quote).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

/// Writes the results to `path`: JSON for `.json`, CSV for `.csv`.
pub fn write_results(path: &Path, results: &[ConfigResult]) -> Result<()> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("json") => write_atomic(path, results_json(results).as_bytes()),
        Some("csv") => write_atomic(path, results_csv(results).as_bytes()),
        _ => Err(Error::config("--results", format!("{}: expected a .json or .csv file", path.display()))),
    }
}

/// Reads results written as JSON by [`write_results`].
pub fn read_results(path: &Path) -> Result<Vec<ConfigResult>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| Error::parse(path, Some(format!("line {}", e.line())), e.to_string()))?;
    let arr = v.as_array().ok_or_else(|| Error::parse(path, None, "expected a JSON array of results"))?;
    arr.iter().map(|r| ConfigResult::from_json(r, path)).collect()
}

/// The results as an aligned text table, ranked in the given order; a metric no result has gets no column.
pub fn table(results: &[ConfigResult]) -> String {
    let names = option_names(results);
    type Metric = fn(&FinalMetrics) -> Option<f64>;
    let metrics: [(&str, Metric); 4] =
        [("loss", |m| m.loss), ("acc", |m| m.accuracy), ("val_loss", |m| m.val_loss), ("val_acc", |m| m.val_accuracy)];
    let shown: Vec<(&str, Metric)> =
        metrics.into_iter().filter(|(_, f)| results.iter().any(|r| f(&r.metrics).is_some())).collect();
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut head = vec!["rank".to_string()];
    head.extend(names.iter().cloned());
    head.extend(shown.iter().map(|(n, _)| n.to_string()));
    head.extend(["best", "epochs", "stop"].map(String::from));
    rows.push(head);
    for (i, r) in results.iter().enumerate() {
        let mut row = vec![(i + 1).to_string()];
        row.extend(names.iter().map(|n| cell(r, n)));
        row.extend(shown.iter().map(|(_, f)| metric(f(&r.metrics))));
        row.push(r.best_epoch.map(|e| e.to_string()).unwrap_or_else(|| "-".into()));
        row.push(r.epochs.to_string());
        row.push(r.stop.name().to_string());
        rows.push(row);
    }
    let widths: Vec<usize> =
        (0..rows[0].len()).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for row in &rows {
        let line: Vec<String> = row.iter().zip(&widths).map(|(c, w)| format!("{c:>w$}")).collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    out
}

/// An SVG of the curves of the first `n` results (the best, once sorted), one colour each, labelled by rank.
pub fn curves_svg(results: &[ConfigResult], n: usize) -> String {
    const W: f64 = 640.0;
    const H: f64 = 400.0;
    const PAD: f64 = 48.0;
    const COLORS: [&str; 10] =
        ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
    let shown = &results[..n.min(results.len())];
    let pts = |r: &ConfigResult| -> Vec<(f64, f64)> {
        r.curve.iter().enumerate().filter(|(_, v)| v.is_finite()).map(|(i, &v)| ((i + 1) as f64, v)).collect()
    };
    let all: Vec<(f64, f64)> = shown.iter().flat_map(pts).collect();
    let x_max = all.iter().map(|p| p.0).fold(1.0, f64::max).max(2.0);
    let (y_lo, y_hi) = all.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), p| (l.min(p.1), h.max(p.1)));
    let (y_lo, y_hi) = if y_lo.is_finite() && y_hi > y_lo { (y_lo, y_hi) } else { (0.0, 1.0) };
    let sx = |x: f64| PAD + (x - 1.0) / (x_max - 1.0) * (W - 2.0 * PAD);
    let sy = |y: f64| H - PAD - (y - y_lo) / (y_hi - y_lo) * (H - 2.0 * PAD);
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="{PAD}" y="20">validation loss per epoch, best {} configurations</text>"#,
        shown.len()
    );
    let _ = writeln!(
        out,
        r#"<text x="4" y="{:.1}">{y_hi:.4}</text><text x="4" y="{:.1}">{y_lo:.4}</text>"#,
        sy(y_hi),
        sy(y_lo)
    );
    let _ = writeln!(out, r#"<text x="{:.1}" y="{:.1}">epoch {x_max}</text>"#, W - PAD - 40.0, H - 16.0);
    for (i, r) in shown.iter().enumerate() {
        let c = COLORS[i % COLORS.len()];
        let p: Vec<String> = pts(r).iter().map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y))).collect();
        let _ = writeln!(out, r#"<polyline fill="none" stroke="{c}" stroke-width="1.5" points="{}"/>"#, p.join(" "));
        let label: Vec<String> = r.options.iter().map(|(k, v)| format!("{k}={}", text(v))).collect();
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" fill="{c}">{}. {}</text>"#,
            W - PAD - 200.0,
            PAD + 14.0 * i as f64,
            i + 1,
            crate::plot::escape(&label.join(" "))
        );
    }
    out.push_str("</svg>\n");
    out
}
