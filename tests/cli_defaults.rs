//! What the command line does without being told: tables are standardised (`--no-normalize` keeps raw numbers),
//! and a mistyped option names the one that exists.

mod support;
use support::*;
use wgtrain::data::preprocess::Encoding;
use wgtrain::saved::SavedModel;

/// The (center, scale) of each numeric column in the model file's preprocessing.
fn scaling(model: &std::path::Path) -> Vec<(f64, f64)> {
    let saved = SavedModel::load(model).expect("model file");
    let pre = saved.preprocessor.expect("a CSV model keeps its preprocessing");
    pre.columns
        .iter()
        .filter_map(|c| match c.encoding {
            Encoding::Numeric { center, scale, .. } => Some((center, scale)),
            Encoding::Categorical { .. } => None,
        })
        .collect()
}

#[test]
fn tables_are_standardised_unless_no_normalize() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "p.csv", penguins_csv(120, 3));
    let base = ["train", "--data", "p.csv", "--layers", "8", "--epochs", "1", "--quiet", "--save"];
    // The last of --normalize and --no-normalize wins, as for any repeated option.
    let cases: [(&[&str], bool); 5] = [
        (&[], true),
        (&["--normalize"], true),
        (&["--no-normalize"], false),
        (&["--normalize", "--no-normalize"], false),
        (&["--no-normalize", "--normalize"], true),
    ];
    for (flags, standardised) in cases {
        let o = wgtrain(d, &[&base[..], &["m.st"], flags].concat());
        assert!(o.status.success(), "{flags:?}: {}", stderr(&o));
        let s = scaling(&d.join("m.st"));
        assert_eq!(s.len(), 4, "four measurement columns");
        let raw = s.iter().all(|&(c, k)| c == 0.0 && k == 1.0);
        let means = s.iter().all(|&(c, k)| c > 10.0 && k > 0.1);
        assert!(if standardised { means } else { raw }, "{flags:?}: {s:?}");
    }
    write(d, "both.toml", "normalize = true\nno-normalize = true\n");
    let o = wgtrain(d, &[&base[..], &["m.st", "--config", "both.toml"]].concat());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("give either --normalize or --no-normalize, not both"), "{}", stderr(&o));
    // The command line's choice replaces the file's.
    let o = wgtrain(d, &[&base[..], &["m.st", "--config", "both.toml", "--no-normalize"]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(scaling(&d.join("m.st")).iter().all(|&(c, k)| c == 0.0 && k == 1.0));
}

#[test]
fn a_mistyped_option_suggests_the_right_one_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    for (typed, meant) in
        [("--normalise", "--normalize"), ("--no-normalise", "--no-normalize"), ("--epoch", "--epochs")]
    {
        let o = wgtrain(dir.path(), &["train", "--data", "x.csv", typed]);
        assert_eq!(o.status.code(), Some(2), "{typed}");
        let e = stderr(&o);
        assert_eq!(e.lines().count(), 1, "one line: {e}");
        assert!(e.contains(&format!("unexpected argument '{typed}'")), "{e}");
        assert!(e.contains(&format!("a similar argument exists: '{meant}'")), "{e}");
    }
    let o = wgtrain(dir.path(), &["trian"]);
    let e = stderr(&o);
    assert_eq!((o.status.code(), e.lines().count()), (Some(2), 1), "{e}");
    assert!(e.contains("a similar subcommand exists: 'train'"), "{e}");
}
