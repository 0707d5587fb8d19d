use std::path::Path;

use super::*;
use crate::data::csv::TargetKind;
use crate::data::table::read_table_str;

/// A penguins-like table: text categories, gaps in a numeric and a categorical column, an id column.
const PENGUINS: &str = "\
id,island,bill_mm,sex,mass_g,species
1,Torgersen,39.1,male,3750,Adelie
2,Biscoe,46.5,female,4500,Gentoo
3,Dream,NA,,3800,Chinstrap
4,Torgersen,38.6,female,?,Adelie
5,Biscoe,47.0,male,5200,
6,Dream,49.0,male,3900,Chinstrap
";

fn table(text: &str) -> Table {
    read_table_str(text, Path::new("p.csv")).unwrap()
}

/// Raw numbers, so the tests can state encoded values exactly (the default standardises, see
/// `numbers_are_standardised_by_default`).
fn opts() -> PreprocessOptions {
    PreprocessOptions { ignore: vec!["id".into()], normalize: false, ..Default::default() }
}

#[test]
fn numbers_are_standardised_by_default() {
    let t = table("x,y\n1,a\n3,b\n");
    let p = Preprocessor::fit(&t, &PreprocessOptions::default()).unwrap();
    assert_eq!(p.transform(&t, true).unwrap().0.features, vec![-1.0, 1.0]);
}

#[test]
fn types_levels_fill_values_and_names() {
    let t = table(PENGUINS);
    let p = Preprocessor::fit(&t, &opts()).unwrap();
    assert_eq!(p.target, "species");
    assert_eq!(p.classes().unwrap(), ["Adelie", "Chinstrap", "Gentoo"]);
    assert_eq!(
        p.feature_names(),
        [
            "island=Biscoe",
            "island=Dream",
            "island=Torgersen",
            "bill_mm",
            "bill_mm (missing)",
            "sex=female",
            "sex=male",
            "sex=(missing)",
            "mass_g",
            "mass_g (missing)"
        ]
    );
    // The row with a missing species is not part of the fit: bill mean over 39.1, 46.5, 38.6, 49.0.
    let Encoding::Numeric { fill, center, scale, indicator } = p.columns[1].encoding else { panic!("numeric") };
    assert!((fill - 43.3).abs() < 1e-4 && (center, scale, indicator) == (0.0, 1.0, true), "{fill}");
    let (d, report) = p.transform(&t, true).unwrap();
    assert_eq!((d.len(), d.n_features, report.missing_target), (5, 10, 1));
    assert_eq!(d.row(2), &[0.0, 1.0, 0.0, fill as f32, 1.0, 0.0, 0.0, 1.0, 3800.0, 0.0]);
    assert_eq!(d.targets, vec![0.0, 2.0, 1.0, 0.0, 1.0]);
}

#[test]
fn column_order_unseen_levels_and_prediction_without_target() {
    let p = Preprocessor::fit(&table(PENGUINS), &opts()).unwrap();
    let (a, _) = p.transform(&table("island,bill_mm,sex,mass_g\nDream,40,male,4000\n"), false).unwrap();
    let (b, r) = p.transform(&table("mass_g,extra,sex,bill_mm,island\n4000,x,male,40,Dream\n"), false).unwrap();
    assert_eq!((a.features.clone(), a.targets.clone()), (b.features, b.targets));
    assert_eq!(r.unseen.iter().map(|u| u.1).sum::<usize>(), 0);
    let (c, r) = p.transform(&table("island,bill_mm,sex,mass_g\nAtlantis,40,male,4000\n"), false).unwrap();
    assert_eq!(&c.row(0)[..3], &[0.0, 0.0, 0.0]);
    assert_eq!(r.unseen[0], ("island".to_string(), 1));
    assert!(r.messages("x.csv")[0].contains("1 value in column \"island\" not seen"));
    let e = p.transform(&table("island,sex,mass_g\nDream,male,1\n"), false).unwrap_err().to_string();
    assert!(e.contains("p.csv:line 1: missing feature column \"bill_mm\""), "{e}");
    let e = p.transform(&table("island,bill_mm,sex,mass_g\nDream,40,male,4000\n"), true).unwrap_err().to_string();
    assert!(e.contains("no target column \"species\""), "{e}");
    let e = p.transform(&table("island,bill_mm,sex,mass_g,species\nDream,40,male,4000,Emperor\n"), true);
    assert!(e.unwrap_err().to_string().contains("label \"Emperor\" is not one of"));
}

#[test]
fn normalize_drop_and_overrides() {
    let t = table(PENGUINS);
    let o = PreprocessOptions { normalize: true, missing: MissingPolicy::Drop, ..opts() };
    let p = Preprocessor::fit(&t, &o).unwrap();
    // Rows 3 and 4 have gaps, row 5 no target: fitted on rows 1, 2 and 6; no indicators, no missing level.
    assert_eq!(p.n_features(), 3 + 1 + 2 + 1);
    let (d, r) = p.transform(&t, true).unwrap();
    assert_eq!((d.len(), r.missing_target, r.gaps_dropped), (3, 1, 2));
    let mass: Vec<f32> = (0..3).map(|i| d.row(i)[6]).collect();
    assert!(
        mass.iter().sum::<f32>().abs() < 1e-5 && (mass.iter().map(|m| m * m).sum::<f32>() / 3.0 - 1.0).abs() < 1e-5
    );
    let o = PreprocessOptions { categorical: vec!["mass_g".into()], numeric: vec!["bill_mm".into()], ..opts() };
    let p = Preprocessor::fit(&t, &o).unwrap();
    assert!(matches!(&p.columns[3].encoding, Encoding::Categorical { levels, .. } if levels.len() == 4));
    let o = PreprocessOptions { numeric: vec!["island".into()], ..opts() };
    let e = Preprocessor::fit(&t, &o).unwrap_err().to_string();
    assert!(e.contains("line 2, column \"island\": feature \"Torgersen\" is not a number"), "{e}");
}

#[test]
fn regression_target_scaled_and_mapped_back() {
    let t = table("x,price\n1,100000.5\n2,120000.5\n3,140000.5\n");
    let p = Preprocessor::fit(&t, &PreprocessOptions { normalize: true, ..Default::default() }).unwrap();
    let (d, _) = p.transform(&t, true).unwrap();
    assert!(p.classes().is_none());
    assert!((d.targets[0] + 1.2247449).abs() < 1e-5 && d.targets[1].abs() < 1e-6, "{:?}", d.targets);
    assert!((p.unscale_target(f64::from(d.targets[2])) - 140000.5).abs() < 0.05);
    // Integer prices with many distinct values are a value too, not hundreds of classes.
    let prices: String = (0..60).map(|i| format!("{i},{}\n", 100_000 + 997 * i)).collect();
    let p = Preprocessor::fit(&table(&format!("x,price\n{prices}")), &PreprocessOptions::default()).unwrap();
    assert!(p.classes().is_none());
}

#[test]
fn bad_options_and_columns_are_named() {
    let t = table(PENGUINS);
    let fit = |o: PreprocessOptions| Preprocessor::fit(&t, &o).unwrap_err().to_string();
    let e = fit(PreprocessOptions { ignore: vec!["colour".into()], ..Default::default() });
    assert!(e.contains("--ignore") && e.contains("no column \"colour\""), "{e}");
    let e = fit(PreprocessOptions { categorical: vec!["species".into()], ..opts() });
    assert!(e.contains("--categorical") && e.contains("\"species\" is the target"), "{e}");
    let e = fit(PreprocessOptions { numeric: vec!["sex".into()], categorical: vec!["sex".into()], ..opts() });
    assert!(e.contains("--categorical") && e.contains("also given to --numeric"), "{e}");
    let e = fit(PreprocessOptions { max_levels: 2, ..opts() });
    assert!(
        e.contains("column \"island\": 3 distinct values, more than --max-levels 2") && e.contains("--ignore"),
        "{e}"
    );
    let e = fit(PreprocessOptions { target: Some("nope".into()), ..opts() });
    assert!(e.contains("unknown target column \"nope\""), "{e}");
    let e = Preprocessor::fit(&table("a,y\nNA,1\n,2\n"), &PreprocessOptions::default()).unwrap_err().to_string();
    assert!(e.contains("column \"a\": every cell is missing"), "{e}");
    let e =
        Preprocessor::fit(&table("a,y\n1,inf\n"), &PreprocessOptions { kind: TargetKind::Value, ..Default::default() });
    assert!(e.unwrap_err().to_string().contains("line 2, column \"y\""));
    let e = Preprocessor::fit(&table("a,y\n-inf,1\n"), &PreprocessOptions::default()).unwrap_err().to_string();
    assert!(e.contains("line 2, column \"a\"") && e.contains("not a finite"), "{e}");
}

#[test]
fn serialises_for_the_model_file() {
    let p = Preprocessor::fit(&table(PENGUINS), &opts()).unwrap();
    let json = serde_json::to_string(&p).unwrap();
    assert_eq!(serde_json::from_str::<Preprocessor>(&json).unwrap(), p);
    assert_eq!(serde_json::to_string(&p).unwrap(), json, "stable text");
}

/// A fitted scale whose shortest decimal text the default JSON parser reads back one ulp off (found by fuzzing the
/// table pipeline): the model file must hold the preprocessor bit for bit.
#[test]
fn scales_read_back_bit_for_bit() {
    let t = table("a,b\n1,2.5\n2,3.5\n6,\n1,2.5\n2,32\n");
    let p = Preprocessor::fit(&t, &PreprocessOptions { target: Some("b".into()), ..Default::default() }).unwrap();
    let TargetEncoding::Value { scale, .. } = p.target_encoding else { panic!("a value target") };
    assert_eq!(scale, 12.636134147644043);
    let back: Preprocessor = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
    assert_eq!(back, p);
}
