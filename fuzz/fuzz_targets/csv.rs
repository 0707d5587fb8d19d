//! Fuzzes the CSV reader `wgtrain::data::csv::read_csv_str` with arbitrary UTF-8 text under several option sets.
//!
//! Property: it returns Ok or Err, never panics or hangs, and an Ok dataset is internally consistent.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use wgtrain::data::csv::{read_csv_str, CsvOptions, TargetKind};
use wgtrain::data::Dataset;

fn check(ds: &Dataset) {
    let rows = ds.targets.len();
    assert!(rows > 0, "Ok dataset with no rows");
    assert!(ds.n_features > 0, "Ok dataset with no features");
    assert_eq!(ds.features.len(), rows * ds.n_features, "features are not rows x n_features");
    assert_eq!(ds.feature_names.len(), ds.n_features, "one name per feature");
    if let Some(classes) = &ds.classes {
        for &t in &ds.targets {
            assert!(t >= 0.0 && t.fract() == 0.0 && (t as usize) < classes.len(), "class index {t} out of range");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let path = Path::new("fuzz.csv");
    let option_sets = [
        CsvOptions::default(),
        CsvOptions { target: Some("b".into()), ..CsvOptions::default() },
        CsvOptions { kind: TargetKind::Class, ..CsvOptions::default() },
        CsvOptions { classes: Some(vec!["a".into()]), ..CsvOptions::default() },
    ];
    let debug = std::env::var_os("WGTRAIN_FUZZ_DEBUG").is_some();
    for opts in &option_sets {
        let result = read_csv_str(text, path, opts);
        if debug {
            match &result {
                Ok(ds) => eprintln!("csv {opts:?}: Ok {} rows x {} features", ds.targets.len(), ds.n_features),
                Err(e) => eprintln!("csv {opts:?}: Err {e}"),
            }
        }
        if let Ok(ds) = result {
            check(&ds);
        }
    }
});
