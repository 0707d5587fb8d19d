//! Model files written before the table preprocessor (features, target, classes and a normaliser in the metadata;
//! `tests/fixtures/legacy`) still load and predict what they predicted then, now through the one table pipeline.
//! The expected outputs were written by the `wgtrain predict` / `eval` of that time for the same files.

mod support;
use std::path::{Path, PathBuf};

use support::*;

/// Largest difference allowed between a probability, value or metric now and then: the same f32 network on the
/// same inputs, but the inputs are standardised in f64 now ((x − mean) / std rounded once) where they were in f32
/// (rounded twice), which can move an input by one ulp and an output by a few ulps; 1e-5 (relative, or absolute
/// below 1) is far above that and far below the printed 6 decimals' meaning.
const TOLERANCE: f64 = 1e-5;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/legacy")
}

fn run(args: &[&str]) -> String {
    let o = wgtrain(&fixtures(), args);
    assert!(o.status.success(), "wgtrain {args:?} failed: {}", stderr(&o));
    stdout(&o)
}

fn expected(name: &str) -> String {
    std::fs::read_to_string(fixtures().join(name)).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= TOLERANCE * b.abs().max(1.0)
}

/// Same lines, same text cells, numeric cells within [`TOLERANCE`].
fn assert_same_table(label: &str, got: &str, want: &str) {
    let (g, w): (Vec<&str>, Vec<&str>) = (got.lines().collect(), want.lines().collect());
    assert_eq!(g.len(), w.len(), "{label}: line count");
    for (i, (gl, wl)) in g.iter().zip(&w).enumerate() {
        for (gc, wc) in gl.split(',').zip(wl.split(',')) {
            match (gc.parse::<f64>(), wc.parse::<f64>()) {
                (Ok(a), Ok(b)) => assert!(close(a, b), "{label} line {}: {gc} vs {wc}", i + 1),
                _ => assert_eq!(gc, wc, "{label} line {}", i + 1),
            }
        }
    }
}

/// Same JSON structure, numbers within [`TOLERANCE`].
fn assert_same_json(label: &str, got: &serde_json::Value, want: &serde_json::Value) {
    use serde_json::Value::*;
    match (got, want) {
        (Number(a), Number(b)) => {
            assert!(close(a.as_f64().unwrap(), b.as_f64().unwrap()), "{label}: {a} vs {b}")
        }
        (Array(a), Array(b)) => {
            assert_eq!(a.len(), b.len(), "{label}");
            a.iter().zip(b).for_each(|(x, y)| assert_same_json(label, x, y));
        }
        (Object(a), Object(b)) => {
            assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>(), "{label}");
            a.iter().for_each(|(k, x)| assert_same_json(&format!("{label}.{k}"), x, &b[k]));
        }
        _ => assert_eq!(got, want, "{label}"),
    }
}

#[test]
fn a_classifier_with_a_normaliser_predicts_as_before() {
    let m = "classes_model.safetensors";
    let got = run(&["predict", "--model", m, "--data", "classes.csv", "--proba"]);
    assert_same_table("proba", &got, &expected("classes_proba.csv"));
    assert_eq!(run(&["predict", "--model", m, "--data", "classes.csv"]), expected("classes_predict.csv"));
    let got: serde_json::Value =
        serde_json::from_str(&run(&["eval", "--model", m, "--data", "classes.csv", "--json"])).unwrap();
    assert_same_json("eval", &got, &serde_json::from_str(&expected("classes_eval.json")).unwrap());
}

#[test]
fn a_regressor_without_a_normaliser_predicts_as_before() {
    let m = "values_model.safetensors";
    let got = run(&["predict", "--model", m, "--data", "values.csv"]);
    assert_same_table("predict", &got, &expected("values_predict.csv"));
    let got: serde_json::Value =
        serde_json::from_str(&run(&["eval", "--model", m, "--data", "values.csv", "--json"])).unwrap();
    assert_same_json("eval", &got, &serde_json::from_str(&expected("values_eval.json")).unwrap());
}

#[test]
fn columns_in_another_order_are_found_by_name_and_a_gap_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = fixtures().join("classes_model.safetensors");
    let model = model.to_str().unwrap();
    // The first two rows of classes.csv, columns reordered and the target left out.
    write(d, "rows.csv", "depth,width,length\n-0.702,518.8,49.90\n-0.114,504.3,44.64\n");
    let o = wgtrain(d, &["predict", "--model", model, "--data", "rows.csv"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let want = expected("classes_predict.csv");
    assert_eq!(stdout(&o).lines().collect::<Vec<_>>(), want.lines().take(2).collect::<Vec<_>>());
    write(d, "gap.csv", "length,width,depth\n49.90,,-0.702\n");
    let o = wgtrain(d, &["predict", "--model", model, "--data", "gap.csv"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("gap.csv:line 2, column \"width\": a missing value") && e.lines().count() == 1, "{e}");
}

#[test]
fn an_old_model_file_must_name_one_column_per_input() {
    let path = fixtures().join("values_model.safetensors");
    let mut saved = wgtrain::saved::SavedModel::load(&path).unwrap();
    assert_eq!(saved.feature_names, ["a", "b"]);
    saved.feature_names.pop();
    let bytes = saved.to_bytes(Path::new("short.safetensors")).unwrap();
    let e = wgtrain::saved::SavedModel::from_bytes(Path::new("short.safetensors"), &bytes).unwrap_err().to_string();
    assert!(
        e.contains("short.safetensors") && e.contains("feature_names") && e.contains("1 names for 2 inputs"),
        "{e}"
    );
}
