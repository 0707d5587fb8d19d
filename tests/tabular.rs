//! Real-looking tables end to end through the binary: text categories and gaps with no per-column flags, the
//! preprocessing carried by the model file (columns matched by name, unseen levels), classification metrics and
//! probabilities, a regression target around 10⁵, class weights, and byte-identical model files.

mod support;
use support::*;

fn train(d: &std::path::Path, args: &[&str]) {
    let mut all = vec!["train", "--quiet"];
    all.extend_from_slice(args);
    let o = wgtrain(d, &all);
    assert!(o.status.success(), "train {args:?} failed: {}", stderr(&o));
}

fn json(d: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let o = wgtrain(d, args);
    assert!(o.status.success(), "{args:?} failed: {}", stderr(&o));
    serde_json::from_str(stdout(&o).trim()).expect("one JSON object")
}

#[test]
fn penguins_with_text_and_gaps_train_eval_and_predict() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut text = penguins_csv(240, 3);
    // A row whose species is missing: dropped with a count, not an error.
    text.push_str("Dream,40.0,18.0,190,3700,male,NA\n");
    write(d, "penguins.csv", text);
    write(d, "test.csv", penguins_csv(90, 4));
    let common = ["--data", "penguins.csv", "--layers", "16", "--epochs", "40", "--lr", "0.01", "--normalize"];
    let o = wgtrain(d, &[&["train", "--quiet", "--save", "m.safetensors"], &common[..]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("penguins.csv: dropped 1 row whose target is missing"), "{}", stderr(&o));

    let v = json(d, &["eval", "--model", "m.safetensors", "--data", "test.csv", "--json"]);
    assert!(v["accuracy"].as_f64().unwrap() > 0.9, "{v}");
    assert!(v["macro_f1"].as_f64().unwrap() > 0.9, "{v}");
    assert_eq!(v["per_class"][2]["class"], "Gentoo");
    assert!(v["per_class"][0]["precision"].as_f64().is_some() && v["per_class"][0]["recall"].as_f64().is_some());
    assert_eq!(v["confusion_matrix"]["classes"], serde_json::json!(["Adelie", "Chinstrap", "Gentoo"]));
    let total: u64 = v["confusion_matrix"]["rows_actual_columns_predicted"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap().iter().map(|x| x.as_u64().unwrap()))
        .sum();
    assert_eq!(total, 90);

    // The same rows with the columns reordered, the target dropped and an extra column: the same predictions.
    let rows = "island,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,sex\n\
                Torgersen,38.0,18.5,188,3600,female\nBiscoe,48.0,14.8,220,5200,male\nDream,49.5,18.8,NA,3800,\n\
                Atlantis,38.5,18.0,190,3650,male\n";
    let shuffled = "sex,note,body_mass_g,flipper_length_mm,island,bill_depth_mm,bill_length_mm\n\
                    female,a,3600,188,Torgersen,18.5,38.0\nmale,b,5200,220,Biscoe,14.8,48.0\n,c,3800,NA,Dream,18.8,49.5\n\
                    male,d,3650,190,Atlantis,18.0,38.5\n";
    write(d, "rows.csv", rows);
    write(d, "shuffled.csv", shuffled);
    let a = wgtrain(d, &["predict", "--model", "m.safetensors", "--data", "rows.csv"]);
    let b = wgtrain(d, &["predict", "--model", "m.safetensors", "--data", "shuffled.csv"]);
    assert!(a.status.success() && b.status.success(), "{} {}", stderr(&a), stderr(&b));
    assert_eq!(stdout(&a), stdout(&b));
    assert_eq!(stdout(&a).lines().take(3).collect::<Vec<_>>(), ["Adelie", "Gentoo", "Chinstrap"]);
    // "Atlantis" was never seen: all zeros for island, counted on stderr, not an error.
    assert!(stderr(&a).contains("1 value in column \"island\" not seen in training"), "{}", stderr(&a));

    let p = wgtrain(d, &["predict", "--model", "m.safetensors", "--data", "shuffled.csv", "--proba"]);
    assert!(p.status.success(), "{}", stderr(&p));
    let out = stdout(&p);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "Adelie,Chinstrap,Gentoo");
    for line in &lines[1..] {
        let probs: Vec<f64> = line.split(',').map(|v| v.parse().unwrap()).collect();
        assert!(probs.len() == 3 && (probs.iter().sum::<f64>() - 1.0).abs() < 1e-4, "{line}");
    }
}

#[test]
fn regression_target_around_1e5_is_scaled_and_reported_in_its_units() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "houses.csv", houses_csv(400, 5));
    write(d, "test.csv", houses_csv(100, 6));
    train(
        d,
        &["--data", "houses.csv", "--layers", "16", "--epochs", "60", "--lr", "0.01", "--normalize", "--save", "m.st"],
    );
    let v = json(d, &["eval", "--model", "m.st", "--data", "test.csv", "--json"]);
    let (rmse, mae, r2, mse) = (
        v["rmse"].as_f64().unwrap(),
        v["mae"].as_f64().unwrap(),
        v["r2"].as_f64().unwrap(),
        v["mse"].as_f64().unwrap(),
    );
    // Noise has std 2,000 and prices spread over ~10⁵: a fitted model is within a few thousand.
    assert!(r2 > 0.95 && rmse < 8_000.0 && mae < rmse && (v["loss"].as_f64().unwrap() - mse).abs() < 1e-6 * mse, "{v}");
    assert!((rmse * rmse - mse).abs() < 1e-6 * mse, "{v}");
    write(d, "rows.csv", "rooms,area_m2,neighbourhood\n3,100.0,Old Town\n2,60.0,Hillside\n");
    let o = wgtrain(d, &["predict", "--model", "m.st", "--data", "rows.csv"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let preds: Vec<f64> = stdout(&o).lines().map(|l| l.parse().unwrap()).collect();
    // True means: 40,000 + 90,000 + 30,000 = 160,000 and 40,000 + 54,000 − 15,000 = 79,000.
    assert!((preds[0] - 160_000.0).abs() < 10_000.0 && (preds[1] - 79_000.0).abs() < 10_000.0, "{preds:?}");
}

#[test]
fn identical_runs_write_identical_model_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "penguins.csv", penguins_csv(120, 7));
    // Plain; class weights with a held-out split; and early stopping with a schedule and small shuffled batches.
    let variants: [&[&str]; 3] = [
        &[],
        &["--class-weight", "balanced", "--val-split", "0.2"],
        &["--val-split", "0.25", "--early-stop", "2", "--schedule", "cosine:40:0.0001", "--batch-size", "16"],
    ];
    for (i, extra) in variants.iter().enumerate() {
        let files: Vec<Vec<u8>> = (0..2)
            .map(|run| {
                let name = format!("m{i}_{run}.safetensors");
                let args = [
                    &[
                        "--data",
                        "penguins.csv",
                        "--layers",
                        "8",
                        "--epochs",
                        "3",
                        "--normalize",
                        "--seed",
                        "4",
                        "--save",
                        &name,
                    ][..],
                    extra,
                ]
                .concat();
                train(d, &args);
                std::fs::read(d.join(&name)).unwrap()
            })
            .collect();
        assert!(files[0] == files[1], "two identical runs {extra:?} wrote different model files");
    }
}

#[test]
fn class_weights_lift_a_rare_class() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // 90% "common", 10% "rare", overlapping: unweighted training favours "common"; balanced recalls more "rare".
    let mut rng = wgtrain::internal::rng::Rng::new(11);
    let mut s = String::from("x,colour,label\n");
    for i in 0..400 {
        let rare = i % 10 == 0;
        let x = if rare { 0.8 } else { 0.0 } + rng.normal();
        let colour = if rng.next_f64() < 0.5 { "red" } else { "blue" };
        s.push_str(&format!("{x:.3},{colour},{}\n", if rare { "rare" } else { "common" }));
    }
    write(d, "skewed.csv", s);
    let recall = |weighted: bool| {
        let name = if weighted { "w.st" } else { "u.st" };
        let mut args = vec!["--data", "skewed.csv", "--layers", "8", "--epochs", "20", "--lr", "0.01", "--save", name];
        if weighted {
            args.extend(["--class-weight", "balanced"]);
        }
        train(d, &args);
        let v = json(d, &["eval", "--model", name, "--data", "skewed.csv", "--json"]);
        v["per_class"][1]["recall"].as_f64().unwrap()
    };
    let (plain, balanced) = (recall(false), recall(true));
    assert!(balanced > plain + 0.2, "rare-class recall: unweighted {plain}, balanced {balanced}");
}

#[test]
fn bce_probabilities_have_one_column_per_class() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let rows: String = (0..60).map(|i| format!("{},{}\n", i % 10, if i % 10 < 5 { "no" } else { "yes" })).collect();
    write(d, "b.csv", format!("x,answer\n{rows}"));
    train(d, &["--data", "b.csv", "--loss", "bce", "--epochs", "30", "--lr", "0.05", "--normalize", "--save", "b.st"]);
    write(d, "q.csv", "x\n0\n9\n");
    let o = wgtrain(d, &["predict", "--model", "b.st", "--data", "q.csv", "--proba"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "no,yes");
    let p: Vec<Vec<f64>> = lines[1..].iter().map(|l| l.split(',').map(|v| v.parse().unwrap()).collect()).collect();
    assert!(p[0][0] > 0.5 && p[1][1] > 0.5 && (p[0][0] + p[0][1] - 1.0).abs() < 1e-6, "{out}");
    let v = json(d, &["eval", "--model", "b.st", "--data", "b.csv", "--json"]);
    assert!(v["accuracy"].as_f64().unwrap() > 0.9 && v["per_class"][1]["class"] == "yes", "{v}");
}
