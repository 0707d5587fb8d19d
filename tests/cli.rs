//! The `wgtrain` binary end to end: train on a CSV with string labels, eval --json, predict, the --save/--init round
//! trip, the checkpoint's safetensors layout, TOML config, metrics and plot.

mod support;
use support::*;

#[test]
fn train_eval_predict_with_string_labels() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "train.csv", clusters_csv(150, 1));
    let o = wgtrain(
        d,
        &[
            "train",
            "--data",
            "train.csv",
            "--layers",
            "16",
            "--epochs",
            "15",
            "--lr",
            "0.05",
            "--val-split",
            "0.2",
            "--save",
            "m.safetensors",
            "--metrics",
            "h.json",
            "--plot",
            "p.svg",
            "--normalize",
            "--quiet",
        ],
    );
    assert!(o.status.success(), "train failed: {}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 1, "--quiet prints only the final line: {out}");
    assert!(out.starts_with("trained 15 epochs"), "{out}");

    let o = wgtrain(d, &["eval", "--model", "m.safetensors", "--data", "train.csv", "--json"]);
    assert!(o.status.success(), "eval failed: {}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).expect("one JSON object");
    let acc = v["accuracy"].as_f64().expect("accuracy");
    assert!(v["loss"].as_f64().expect("loss") < 0.3 && acc > 0.95, "{v}");

    write(d, "rows.csv", "x1,x2\n0.1,-0.2\n3.1,2.9\n-0.1,3.2\n");
    let o = wgtrain(d, &["predict", "--model", "m.safetensors", "--data", "rows.csv"]);
    assert!(o.status.success(), "predict failed: {}", stderr(&o));
    assert_eq!(stdout(&o), "setosa\nvirginica\nversicolor\n");
    let o = wgtrain(d, &["predict", "--model", "m.safetensors", "--data", "rows.csv", "--out", "pred.txt"]);
    assert!(o.status.success());
    assert_eq!(std::fs::read_to_string(d.join("pred.txt")).unwrap(), "setosa\nvirginica\nversicolor\n");

    let h: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(d.join("h.json")).unwrap()).unwrap();
    assert_eq!(h["epochs"].as_array().unwrap().len(), 15);
    assert!(h["epochs"][14]["val_accuracy"].as_f64().is_some());
    let svg = std::fs::read_to_string(d.join("p.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.matches("<polyline").count() >= 4, "{}", &svg[..200.min(svg.len())]);
}

#[test]
fn save_then_init_round_trip_gives_identical_eval() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "train.csv", clusters_csv(90, 2));
    let o = wgtrain(
        d,
        &[
            "train",
            "--data",
            "train.csv",
            "--layers",
            "8,8",
            "--activation",
            "tanh",
            "--epochs",
            "5",
            "--save",
            "a.safetensors",
            "--quiet",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // SGD with lr 1e-30 moves no weight by even one ulp, so b holds exactly the weights --init loaded from a.
    let o = wgtrain(
        d,
        &[
            "train",
            "--data",
            "train.csv",
            "--layers",
            "8,8",
            "--activation",
            "tanh",
            "--epochs",
            "1",
            "--optimizer",
            "sgd",
            "--lr",
            "1e-30",
            "--init",
            "a.safetensors",
            "--save",
            "b.safetensors",
            "--quiet",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let eval = |m: &str| stdout(&wgtrain(d, &["eval", "--model", m, "--data", "train.csv", "--json"]));
    assert_eq!(eval("a.safetensors"), eval("b.safetensors"));
    assert!(eval("a.safetensors").contains("accuracy"));
}

#[test]
fn checkpoint_is_plain_safetensors_with_torch_names() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "train.csv", clusters_csv(60, 3));
    let o = wgtrain(
        d,
        &[
            "train",
            "--data",
            "train.csv",
            "--layers",
            "5",
            "--epochs",
            "2",
            "--save",
            "m.safetensors",
            "--normalize",
            "--quiet",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let bytes = std::fs::read(d.join("m.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).expect("valid safetensors");
    let mut names = st.names();
    names.sort();
    assert_eq!(names, vec!["layers.0.bias", "layers.0.weight", "layers.1.bias", "layers.1.weight"]);
    let w0 = st.tensor("layers.0.weight").unwrap();
    assert_eq!((w0.dtype(), w0.shape()), (safetensors::Dtype::F32, &[5usize, 2][..]));
    assert_eq!(st.tensor("layers.1.weight").unwrap().shape(), &[3, 5]);
    assert_eq!(st.tensor("layers.1.bias").unwrap().shape(), &[3]);
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let meta = meta.metadata().clone().expect("metadata");
    assert_eq!(meta["layers"], "5,3");
    assert_eq!(meta["activation"], "relu");
    assert_eq!(meta["loss"], "cross-entropy");
    assert_eq!(meta["classes"], r#"["setosa","versicolor","virginica"]"#);
    // CSV preprocessing (column types, standardisation) travels as one JSON value.
    let pre: serde_json::Value = serde_json::from_str(&meta["preprocess"]).expect("preprocess JSON");
    assert_eq!(pre["columns"][1]["name"], "x2");
    assert_eq!(pre["columns"][1]["encoding"]["type"], "numeric");
    assert!(pre["columns"][1]["encoding"]["scale"].as_f64().unwrap() != 1.0, "{pre}");
    let leftovers: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind");
}

#[test]
fn config_file_supplies_options_and_the_command_line_wins() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "train.csv", clusters_csv(60, 4));
    write(d, "run.toml", "layers = \"6\"\nepochs = 7\noptimizer = \"rmsprop\"\nlr = 0.01\nschedule = \"step:10:0.5\"\nbatch-size = \"full\"\n");
    let o = wgtrain(
        d,
        &["train", "--data", "train.csv", "--config", "run.toml", "--epochs", "3", "--metrics", "h.json", "--quiet"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let h: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(d.join("h.json")).unwrap()).unwrap();
    let epochs = h["epochs"].as_array().unwrap();
    assert_eq!(epochs.len(), 3, "the command line's --epochs wins");
    assert_eq!(epochs[0]["batch_size"], 60, "batch-size = full from the file");
}

#[test]
fn regression_csv_defaults_to_mse_and_predicts_values() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "lin.csv", linear_csv());
    let o = wgtrain(
        d,
        &[
            "train",
            "--data",
            "lin.csv",
            "--layers",
            "",
            "--optimizer",
            "sgd",
            "--lr",
            "0.2",
            "--batch-size",
            "full",
            "--epochs",
            "300",
            "--save",
            "m.safetensors",
            "--quiet",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = wgtrain(d, &["eval", "--model", "m.safetensors", "--data", "lin.csv", "--json"]);
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert!(v["loss"].as_f64().unwrap() < 1e-4 && v.get("accuracy").is_none(), "{v}");
    write(d, "q.csv", "x\n0.25\n");
    let p: f32 =
        stdout(&wgtrain(d, &["predict", "--model", "m.safetensors", "--data", "q.csv"])).trim().parse().unwrap();
    assert!((p - 1.0).abs() < 1e-2, "2·0.25 + 0.5 = 1, got {p}");
}

#[test]
fn devices_lists_the_adapter_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let o = wgtrain(dir.path(), &["devices"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("wgtrain uses:"), "{}", stdout(&o));
}

/// `--init` from a file PyTorch wrote (tests/fixtures/torch_init, made by the script beside it): the weights are
/// taken over bit for bit, and a file whose shapes do not fit `--layers` is refused naming the tensor.
#[test]
fn init_from_a_pytorch_safetensors_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "train.csv", clusters_csv(30, 6));
    let torch_file =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/torch_init/torch_init.safetensors");
    let torch_file = torch_file.to_str().unwrap();
    // SGD at lr 1e-30 changes no weight by even one ulp, so the saved model holds exactly the loaded weights.
    let o = wgtrain(
        d,
        &[
            "train",
            "--data",
            "train.csv",
            "--layers",
            "16",
            "--init",
            torch_file,
            "--optimizer",
            "sgd",
            "--lr",
            "1e-30",
            "--epochs",
            "1",
            "--save",
            "m.safetensors",
            "--quiet",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let (from_torch, _) = wgtrain::tensor_file::load_tensors(std::path::Path::new(torch_file)).unwrap();
    let (saved, _) = wgtrain::tensor_file::load_tensors(&d.join("m.safetensors")).unwrap();
    let bits = |v: &[wgtrain::tensor_file::NamedTensor]| -> Vec<(String, Vec<usize>, Vec<u32>)> {
        v.iter().map(|t| (t.name.clone(), t.shape.clone(), t.data.iter().map(|x| x.to_bits()).collect())).collect()
    };
    assert_eq!(bits(&saved), bits(&from_torch));
    let o = wgtrain(d, &["train", "--data", "train.csv", "--layers", "8", "--init", torch_file, "--quiet"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("layers.0.weight") && stderr(&o).contains("[16, 2]"), "{}", stderr(&o));
}

/// An MNIST directory trains on its train files and, given as --val, validates on its t10k files.
#[test]
fn mnist_directory_trains_and_validates_on_its_test_files() {
    let dir = tempfile::tempdir().unwrap();
    let mnist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist-10k");
    let mnist = mnist.to_str().unwrap();
    let o = wgtrain(
        dir.path(),
        &["train", "--data", mnist, "--val", mnist, "--layers", "16", "--epochs", "1", "--batch-size", "100"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("8000 training samples, 2000 validation"), "{out}");
    assert!(out.contains("val accuracy"), "{out}");
}

#[test]
fn predict_into_a_closed_pipe_ends_quietly() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "train.csv", clusters_csv(60, 3));
    let args = ["train", "--data", "train.csv", "--layers", "4", "--epochs", "1", "--save", "m.safetensors", "--quiet"];
    let o = wgtrain(d, &args);
    assert!(o.status.success(), "train failed: {}", stderr(&o));
    // More predictions than a pipe buffers (64 KiB), so the writer meets the closed pipe.
    let rows: String = (0..40_000).map(|i| format!("{}.5,{}.25\n", i % 7, i % 5)).collect();
    write(d, "rows.csv", format!("x1,x2\n{rows}"));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_wgtrain"))
        .current_dir(d)
        .args(["predict", "--model", "m.safetensors", "--data", "rows.csv"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    assert!(!first.trim().is_empty(), "no first prediction");
    // The reader is dropped here: like `| head -1`.
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "exit {:?}: {}", o.status, stderr(&o));
    assert!(stderr(&o).is_empty(), "stderr: {}", stderr(&o));
}

/// `--precision f16` trains where the adapter has SHADER_F16 (lavapipe does), is a sweep axis whose values train in
/// separate groups, and without the feature (`WGTRAIN_F16=off` leaves it out of the device) is an error naming
/// the adapter, exit status 2.
#[test]
fn precision_f16_trains_sweeps_and_without_shader_f16_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "train.csv", clusters_csv(120, 4));
    let args = ["train", "--data", "train.csv", "--layers", "16", "--epochs", "3", "--precision", "f16", "--quiet"];
    let o = wgtrain(d, &args);
    assert!(o.status.success(), "f16 train failed: {}", stderr(&o));
    let sweep = ["sweep", "--data", "train.csv", "--layers", "8", "--epochs", "2", "--precision", "f32,f16"];
    let o = wgtrain(d, &sweep);
    assert!(o.status.success(), "sweep failed: {}", stderr(&o));
    assert!(stdout(&o).contains("2 configurations in 2 groups"), "{}", stdout(&o));
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_wgtrain"))
        .args(args)
        .current_dir(d)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .env("WGTRAIN_F16", "off")
        .output()
        .expect("wgtrain runs");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("precision") && err.contains("SHADER_F16") && err.contains("adapter "), "{err}");
}
