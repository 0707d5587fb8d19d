//! A corpus of malformed inputs: each must exit with status 2, print one line on stderr that names the problem,
//! never panic, and leave no output file behind.

mod support;
use std::path::Path;
use support::*;

struct Case {
    name: &'static str,
    setup: fn(&Path),
    args: &'static [&'static str],
    expect: &'static str,
}

/// Output flags every case adds unless it sets that flag itself.
const OUTPUTS: [(&str, &str); 3] = [("--save", "out.safetensors"), ("--metrics", "out.json"), ("--plot", "out.svg")];

fn good_csv(d: &Path) {
    write(d, "good.csv", clusters_csv(30, 1));
}

/// A small table with an id, a text category with a gap, a number with a gap, and a text target.
fn table_csv(d: &Path) {
    write(d, "t.csv", "id,city,size,species\n1,Oslo,3.5,a\n2,Rome,,b\n3,,4.0,a\n4,Lima,2.0,b\n5,Oslo,1.0,a\n");
}

fn mnist_dir(d: &Path, images: usize, labels: usize, magic_ok: bool) {
    use wgtrain::data::idx::{write_idx_images, write_idx_labels};
    std::fs::create_dir_all(d.join("mnist")).unwrap();
    write_idx_images(&d.join("mnist/train-images-idx3-ubyte"), images, 2, 2, &vec![7u8; images * 4]).unwrap();
    write_idx_labels(&d.join("mnist/train-labels-idx1-ubyte"), &vec![1u8; labels]).unwrap();
    if !magic_ok {
        let p = d.join("mnist/train-labels-idx1-ubyte");
        let mut b = std::fs::read(&p).unwrap();
        b[3] = 0x99;
        std::fs::write(p, b).unwrap();
    }
}

fn model(d: &Path) {
    good_csv(d);
    let o = wgtrain(
        d,
        &["train", "--data", "good.csv", "--layers", "4", "--epochs", "1", "--save", "model.safetensors", "--quiet"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

fn cases() -> Vec<Case> {
    vec![
        Case { name: "missing file", setup: |_| {}, args: &["--data", "nope.csv"], expect: "nope.csv" },
        Case {
            name: "directory without MNIST files",
            setup: |d| std::fs::create_dir_all(d.join("empty")).unwrap(),
            args: &["--data", "empty"],
            expect: "train-images-idx3-ubyte",
        },
        Case {
            name: "empty file",
            setup: |d| drop(write(d, "e.csv", "")),
            args: &["--data", "e.csv"],
            expect: "e.csv",
        },
        Case {
            name: "header only",
            setup: |d| drop(write(d, "h.csv", "a,b,label\n")),
            args: &["--data", "h.csv"],
            expect: "h.csv",
        },
        Case {
            name: "ragged row",
            setup: |d| drop(write(d, "r.csv", "a,b,label\n1,2,x\n1,x\n")),
            args: &["--data", "r.csv"],
            expect: "line 3",
        },
        Case {
            name: "text in a --numeric column",
            setup: |d| drop(write(d, "n.csv", "a,b,label\n1,2,x\n1,abc,y\n")),
            args: &["--data", "n.csv", "--numeric", "b"],
            expect: "line 3, column \"b\"",
        },
        Case {
            name: "every cell of a feature missing",
            setup: |d| drop(write(d, "nan.csv", "a,b,label\n1,NaN,x\n1,,y\n")),
            args: &["--data", "nan.csv"],
            expect: "column \"b\": every cell is missing",
        },
        Case {
            name: "infinite feature",
            setup: |d| drop(write(d, "inf.csv", "a,b,label\n1,2,x\n-inf,2,y\n")),
            args: &["--data", "inf.csv"],
            expect: "line 3",
        },
        Case {
            name: "unknown target column",
            setup: good_csv,
            args: &["--data", "good.csv", "--target", "colour"],
            expect: "colour",
        },
        Case {
            name: "duplicate column names",
            setup: |d| drop(write(d, "dup.csv", "a,a,label\n1,2,x\n")),
            args: &["--data", "dup.csv"],
            expect: "dup.csv",
        },
        Case {
            name: "invalid UTF-8",
            setup: |d| drop(write(d, "bin.csv", b"a,b,label\n1,2,\xff\xfe\n")),
            args: &["--data", "bin.csv"],
            expect: "bin.csv",
        },
        Case {
            name: "label that cannot be a value (mse)",
            setup: good_csv,
            args: &["--data", "good.csv", "--loss", "mse"],
            expect: "good.csv",
        },
        Case {
            name: "bce with three classes",
            setup: good_csv,
            args: &["--data", "good.csv", "--loss", "bce"],
            expect: "2 classes",
        },
        Case {
            name: "IDX wrong magic",
            setup: |d| mnist_dir(d, 3, 3, false),
            args: &["--data", "mnist"],
            expect: "magic",
        },
        Case {
            name: "IDX image and label counts differ",
            setup: |d| mnist_dir(d, 3, 2, true),
            args: &["--data", "mnist"],
            expect: "mnist",
        },
        Case {
            name: "IDX truncated",
            setup: |d| {
                mnist_dir(d, 3, 3, true);
                let p = d.join("mnist/train-images-idx3-ubyte");
                let b = std::fs::read(&p).unwrap();
                std::fs::write(p, &b[..b.len() - 5]).unwrap();
            },
            args: &["--data", "mnist"],
            expect: "train-images-idx3-ubyte",
        },
        Case {
            name: "init file truncated",
            setup: |d| {
                model(d);
                let b = std::fs::read(d.join("model.safetensors")).unwrap();
                std::fs::write(d.join("t.safetensors"), &b[..b.len() / 2]).unwrap();
            },
            args: &["--data", "good.csv", "--layers", "4", "--init", "t.safetensors"],
            expect: "t.safetensors",
        },
        Case {
            name: "init file not safetensors",
            setup: |d| {
                good_csv(d);
                write(d, "junk.safetensors", "hello, this is not a tensor file");
            },
            args: &["--data", "good.csv", "--init", "junk.safetensors"],
            expect: "junk.safetensors",
        },
        Case {
            name: "init shapes do not fit --layers",
            setup: model,
            args: &["--data", "good.csv", "--layers", "7", "--init", "model.safetensors"],
            expect: "layers.0.weight",
        },
        Case {
            name: "init tensor names do not fit",
            setup: model,
            args: &["--data", "good.csv", "--layers", "4,4", "--init", "model.safetensors"],
            expect: "layers.1.weight",
        },
        Case {
            name: "config unknown key",
            setup: |d| {
                good_csv(d);
                write(d, "c.toml", "epochs = 2\nlearning-rate = 0.1\n");
            },
            args: &["--data", "good.csv", "--config", "c.toml"],
            expect: "c.toml:line 2: unknown field `learning-rate`",
        },
        Case {
            name: "config lr ≤ 0",
            setup: |d| {
                good_csv(d);
                write(d, "c.toml", "lr = 0.0\n");
            },
            args: &["--data", "good.csv", "--config", "c.toml"],
            expect: "lr",
        },
        Case {
            name: "batch size 0",
            setup: good_csv,
            args: &["--data", "good.csv", "--batch-size", "0"],
            expect: "--batch-size",
        },
        Case {
            name: "epochs 0",
            setup: |d| {
                good_csv(d);
                write(d, "c.toml", "epochs = 0\n");
            },
            args: &["--data", "good.csv", "--config", "c.toml"],
            expect: "epochs",
        },
        Case {
            name: "beta outside [0, 1)",
            setup: good_csv,
            args: &["--data", "good.csv", "--beta2", "1.0"],
            expect: "beta2",
        },
        Case {
            name: "a hyperparameter of another optimizer",
            setup: good_csv,
            args: &["--data", "good.csv", "--optimizer", "adam", "--momentum", "0.9"],
            expect: "--momentum",
        },
        Case {
            name: "schedule does not parse",
            setup: good_csv,
            args: &["--data", "good.csv", "--schedule", "step:ten:0.5"],
            expect: "step:ten:0.5",
        },
        Case {
            name: "unwritable --save directory",
            setup: good_csv,
            args: &["--data", "good.csv", "--save", "no/such/dir/m.safetensors"],
            expect: "no/such/dir",
        },
        Case {
            name: "--metrics is a directory",
            setup: |d| {
                good_csv(d);
                std::fs::create_dir_all(d.join("adir")).unwrap();
            },
            args: &["--data", "good.csv", "--metrics", "adir"],
            expect: "adir",
        },
        Case {
            name: "val split out of range",
            setup: good_csv,
            args: &["--data", "good.csv", "--val-split", "1.5"],
            expect: "--val-split",
        },
        Case {
            name: "layer width 0",
            setup: good_csv,
            args: &["--data", "good.csv", "--layers", "8,0"],
            expect: "--layers",
        },
        Case {
            name: "unknown activation",
            setup: good_csv,
            args: &["--data", "good.csv", "--activation", "swish"],
            expect: "swish",
        },
        Case {
            name: "--categorical names no column",
            setup: table_csv,
            args: &["--data", "t.csv", "--categorical", "colour"],
            expect: "--categorical: no column \"colour\"",
        },
        Case {
            name: "--numeric names the target",
            setup: table_csv,
            args: &["--data", "t.csv", "--numeric", "species"],
            expect: "--numeric: \"species\" is the target column",
        },
        Case {
            name: "--ignore names no column",
            setup: table_csv,
            args: &["--data", "t.csv", "--ignore", "ID"],
            expect: "--ignore: no column \"ID\"",
        },
        Case {
            name: "--ignore list with an empty name",
            setup: table_csv,
            args: &["--data", "t.csv", "--ignore", "id,,city"],
            expect: "--ignore",
        },
        Case {
            name: "column both --categorical and --numeric",
            setup: table_csv,
            args: &["--data", "t.csv", "--categorical", "size", "--numeric", "size"],
            expect: "column \"size\" is also given to --numeric",
        },
        Case {
            name: "--missing unknown policy",
            setup: table_csv,
            args: &["--data", "t.csv", "--missing", "zero"],
            expect: "--missing",
        },
        Case {
            name: "--max-levels 0",
            setup: table_csv,
            args: &["--data", "t.csv", "--max-levels", "0"],
            expect: "--max-levels",
        },
        Case {
            name: "more levels than --max-levels",
            setup: table_csv,
            args: &["--data", "t.csv", "--max-levels", "2"],
            expect:
                "column \"city\": 3 distinct values, more than --max-levels 2; leave an id column out with --ignore",
        },
        Case {
            name: "id column with a level per row",
            setup: |d| {
                let rows: String = (0..60).map(|i| format!("u{i},{},{}\n", i % 7, i % 2)).collect();
                write(d, "ids.csv", format!("user,x,y\n{rows}"));
            },
            args: &["--data", "ids.csv"],
            expect: "--ignore \"user\"",
        },
        Case {
            name: "every feature ignored",
            setup: table_csv,
            args: &["--data", "t.csv", "--ignore", "id,city,size"],
            expect: "no feature columns are left",
        },
        Case {
            name: "--missing drop leaves no rows",
            setup: |d| drop(write(d, "g.csv", "a,b,y\n1,,x\n,2,y\n")),
            args: &["--data", "g.csv", "--missing", "drop"],
            expect: "g.csv",
        },
        Case {
            name: "--class-weight unknown",
            setup: table_csv,
            args: &["--data", "t.csv", "--class-weight", "inverse"],
            expect: "--class-weight",
        },
        Case {
            name: "--class-weight with a value target",
            setup: |d| drop(write(d, "lin.csv", linear_csv())),
            args: &["--data", "lin.csv", "--class-weight", "balanced"],
            expect: "--class-weight",
        },
        Case {
            name: "--categorical with MNIST data",
            setup: |d| mnist_dir(d, 3, 3, true),
            args: &["--data", "mnist", "--categorical", "pixel0"],
            expect: "--categorical",
        },
        Case {
            name: "epochs not a number",
            setup: good_csv,
            args: &["--data", "good.csv", "--epochs", "ten"],
            expect: "ten",
        },
    ]
}

#[test]
fn malformed_inputs_exit_2_with_one_line_and_write_nothing() {
    let all = cases();
    assert!(all.len() >= 25);
    for case in all {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        (case.setup)(d);
        let mut args: Vec<&str> = vec!["train"];
        args.extend_from_slice(case.args);
        for (flag, file) in OUTPUTS {
            if !case.args.contains(&flag) {
                args.extend([flag, file]);
            }
        }
        let o = wgtrain(d, &args);
        let err = stderr(&o);
        let lines: Vec<&str> = err.lines().filter(|l| !l.contains("XDG_RUNTIME_DIR")).collect();
        assert_eq!(o.status.code(), Some(2), "{}: exit {:?}, stderr {err}", case.name, o.status.code());
        assert!(!err.contains("panicked"), "{}: panicked: {err}", case.name);
        assert_eq!(lines.len(), 1, "{}: expected one line on stderr, got {lines:?}", case.name);
        assert!(lines[0].contains(case.expect), "{}: {:?} does not name {:?}", case.name, lines[0], case.expect);
        for out in ["out.safetensors", "out.json", "out.svg", "no/such/dir/m.safetensors"] {
            assert!(!d.join(out).exists(), "{}: {out} was written", case.name);
        }
    }
}

#[test]
fn eval_and_predict_reject_bad_models_and_data() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    model(d);
    write(d, "junk.safetensors", "not safetensors");
    write(d, "wrong.csv", "a,b,c,species\n1,2,3,x\n");
    write(d, "unknown_label.csv", "x1,x2,species\n1,2,daisy\n");
    let checks: [(&[&str], &str); 4] = [
        (&["eval", "--model", "junk.safetensors", "--data", "good.csv"], "junk.safetensors"),
        (&["eval", "--model", "model.safetensors", "--data", "wrong.csv"], "wrong.csv"),
        (&["eval", "--model", "model.safetensors", "--data", "unknown_label.csv"], "daisy"),
        (&["predict", "--model", "model.safetensors", "--data", "wrong.csv", "--out", "p.txt"], "wrong.csv"),
    ];
    for (args, expect) in checks {
        let o = wgtrain(d, args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(expect) && !err.contains("panicked"), "{args:?}: {err}");
    }
    assert!(!d.join("p.txt").exists());
}

#[test]
fn bom_and_crlf_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = clusters_csv(30, 5).replace('\n', "\r\n");
    write(d, "bom.csv", [b"\xef\xbb\xbf".as_slice(), text.as_bytes()].concat());
    let o = wgtrain(d, &["train", "--data", "bom.csv", "--epochs", "1", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// Regressions from fuzzing (fuzz/README.md): sizes in a file are untrusted.
#[test]
fn untrusted_sizes_in_files_are_rejected_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "good.csv", clusters_csv(9, 1));
    // Model metadata whose layer sizes overflow the parameter count (a panic before the fix).
    for (name, input, layers) in [
        ("mul", "18446744073709551615", "2"),
        ("pad", "1", "18446744073709551615"),
        ("add", "1", "9223372036854775807,1"),
    ] {
        let header = format!(
            r#"{{"__metadata__":{{"format":"wgtrain-mlp-1","activation":"relu","output_activation":"identity","loss":"mse","input":"{input}","layers":"{layers}"}}}}"#
        );
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend(header.as_bytes());
        let file = format!("{name}.safetensors");
        write(d, &file, bytes);
        let o = wgtrain(d, &["eval", "--model", &file, "--data", "good.csv"]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(&file) && !err.contains("panicked"), "{name}: {err}");
    }
    // A gzipped label file that inflates far beyond what its header describes is read only as far as needed.
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&[0, 0, 8, 1, 0, 0, 0, 10]).unwrap();
    gz.write_all(&vec![0u8; 64 << 20]).unwrap();
    let path = write(d, "bomb-labels.gz", gz.finish().unwrap());
    let err = wgtrain::data::idx::read_idx_labels(&path).unwrap_err().to_string();
    assert!(err.contains("unexpected bytes after the 10 bytes"), "{err}");
}

#[test]
fn tabular_eval_and_predict_reject_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    table_csv(d);
    write(d, "lin.csv", linear_csv());
    for (data, save) in [("t.csv", "c.safetensors"), ("lin.csv", "r.safetensors")] {
        let o = wgtrain(d, &["train", "--data", data, "--epochs", "1", "--save", save, "--quiet"]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    write(d, "no_size.csv", "id,city,species\n1,Oslo,a\n");
    write(d, "text_size.csv", "id,city,size\n1,Oslo,big\n");
    let checks: [(&[&str], &str); 5] = [
        (&["predict", "--model", "r.safetensors", "--data", "lin.csv", "--proba", "--out", "p.txt"], "--proba"),
        (&["eval", "--model", "c.safetensors", "--data", "no_size.csv"], "missing feature column \"size\""),
        (&["predict", "--model", "c.safetensors", "--data", "no_size.csv", "--out", "p.txt"], "\"size\""),
        (
            &["predict", "--model", "c.safetensors", "--data", "text_size.csv", "--out", "p.txt"],
            "line 2, column \"size\"",
        ),
        (&["eval", "--model", "c.safetensors", "--data", "text_size.csv"], "no target column \"species\""),
    ];
    for (args, expect) in checks {
        let o = wgtrain(d, args);
        let err = stderr(&o);
        let lines: Vec<&str> = err.lines().filter(|l| !l.contains("XDG_RUNTIME_DIR")).collect();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(lines.len() == 1 && lines[0].contains(expect) && !err.contains("panicked"), "{args:?}: {err}");
        assert!(!d.join("p.txt").exists(), "{args:?} wrote its output");
    }
}
