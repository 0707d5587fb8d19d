//! Fuzzes the table pipeline as the CLI and the web page use it: `read_table_bytes` on a training file, the usable
//! rows, `Preprocessor::fit`, `transform` of the training table and of a second file (columns in any order, text
//! cells, gaps, unseen levels), with and without the target; the fitted preprocessor saved in a model file and
//! read back; and the preprocessing an old model file implies (`Preprocessor::legacy`) on the second file.
//!
//! Input: byte 0 picks the options (target, standardising, gap policy, a forced categorical or numeric column,
//! the level limit); the rest is the training file, then optionally a 0xFF byte and the second file.
//!
//! Property: Ok or Err, never a panic or hang; every Ok result is consistent (rows × width features, all finite,
//! class targets in range, one name per input), and a fitted preprocessor always survives the model file's checks.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use wgtrain::data::preprocess::{usable_rows, MissingPolicy, PreprocessOptions, Preprocessor};
use wgtrain::data::table::read_table_bytes;
use wgtrain::data::Dataset;
use wgtrain::model::MlpConfig;
use wgtrain::saved::SavedModel;
use wgtrain::{Activation, Loss};

fn options(b: u8) -> PreprocessOptions {
    let mut o = PreprocessOptions::default();
    if b & 1 != 0 {
        o.target = Some("b".into());
    }
    o.normalize = b & 2 == 0;
    if b & 4 != 0 {
        o.missing = MissingPolicy::Drop;
    }
    match (b >> 3) & 3 {
        1 => o.categorical = vec!["a".into()],
        2 => o.numeric = vec!["a".into()],
        3 => o.ignore = vec!["a".into()],
        _ => {}
    }
    if b & 32 != 0 {
        o.max_levels = 2;
    }
    o
}

fn check(pre: &Preprocessor, data: &Dataset, with_target: bool) {
    let width = pre.n_features();
    assert_eq!(data.n_features, width, "width is the preprocessor's");
    assert_eq!(data.features.len(), data.targets.len() * width, "features are not rows x width");
    assert_eq!(data.feature_names.len(), width, "one name per input");
    assert!(data.features.iter().all(|v| v.is_finite()), "a non-finite input");
    assert!(data.targets.iter().all(|v| v.is_finite()), "a non-finite target");
    if let (Some(classes), true) = (&data.classes, with_target) {
        for &t in &data.targets {
            assert!(t >= 0.0 && t.fract() == 0.0 && (t as usize) < classes.len(), "class index {t} out of range");
        }
    }
}

/// The fitted preprocessor in a model file of a network that fits it, read back unchanged.
fn round_trip(pre: &Preprocessor, data: &Dataset) {
    let (loss, outputs) = match &data.classes {
        Some(c) => (Loss::CrossEntropy, c.len()),
        None => (Loss::Mse, 1),
    };
    let model = MlpConfig::new(pre.n_features(), &[], outputs, Activation::Relu);
    let saved = SavedModel {
        params: vec![0.0; model.layout().len],
        model,
        loss,
        classes: data.classes.clone(),
        feature_names: data.feature_names.clone(),
        target_name: data.target_name.clone(),
        normalizer: None,
        preprocessor: Some(pre.clone()),
    };
    let path = Path::new("model.safetensors");
    let bytes = saved.to_bytes(path).expect("a fitted preprocessor encodes");
    let back = SavedModel::from_bytes(path, &bytes).expect("a fitted preprocessor passes the model file's checks");
    assert_eq!(back.preprocessor.as_ref(), Some(pre), "the preprocessor changed in the model file");
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else { return };
    let (train_bytes, other_bytes) = match rest.iter().position(|&b| b == 0xFF) {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let opts = options(flags);
    let debug = std::env::var_os("WGTRAIN_FUZZ_DEBUG").is_some();
    let Ok(table) = read_table_bytes(train_bytes, Path::new("train.csv")) else { return };
    if let Ok((usable, _, _)) = usable_rows(&table, &opts) {
        assert!(usable.len() <= table.len(), "more usable rows than rows");
    }
    let pre = match Preprocessor::fit(&table, &opts) {
        Ok(p) => p,
        Err(e) => {
            if debug {
                eprintln!("fit {opts:?}: Err {e}");
            }
            return;
        }
    };
    match pre.transform(&table, true) {
        Ok((train, _)) => {
            check(&pre, &train, true);
            round_trip(&pre, &train);
        }
        Err(e) if debug => eprintln!("transform train: Err {e}"),
        Err(_) => {}
    }
    let Some(other) = other_bytes.and_then(|b| read_table_bytes(b, Path::new("other.csv")).ok()) else { return };
    for with_target in [true, false] {
        match pre.transform(&other, with_target) {
            Ok((d, report)) => {
                check(&pre, &d, with_target);
                assert_eq!(report.unseen.len(), pre.columns.len(), "one unseen count per column");
            }
            Err(e) if debug => eprintln!("transform other ({with_target}): Err {e}"),
            Err(_) => {}
        }
    }
    let names: Vec<String> = pre.columns.iter().map(|c| c.name.clone()).collect();
    if let Ok(legacy) = Preprocessor::legacy(&names, &pre.target, pre.classes(), None) {
        if legacy.refuse_gaps(&other).is_ok() {
            if let Ok((d, _)) = legacy.transform(&other, false) {
                check(&legacy, &d, false);
            }
        }
    }
});
