use super::*;

fn opts(lr: &str) -> Vec<(String, String)> {
    vec![("data".into(), "a.csv".into()), ("lr".into(), lr.into()), ("quietly".into(), String::new())]
}

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

fn committed(dir: &Path) -> SweepCheckpoint {
    let mut c = SweepCheckpoint::open(dir, &opts("0.1"), false).unwrap();
    assert!(!c.resumed());
    c.put("group-0", b"zero".to_vec()).unwrap();
    c.put("group-1", b"one".to_vec()).unwrap();
    c.commit(serde_json::json!({"epoch": 1})).unwrap();
    c
}

#[test]
fn a_commit_reads_back_and_only_changed_data_is_rewritten() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ck");
    let mut c = committed(&dir);
    assert_eq!(files(&dir), ["group-0.1.bin", "group-1.1.bin", "manifest.json"]);
    c.put("group-1", b"one, later".to_vec()).unwrap();
    c.put("best", b"b".to_vec()).unwrap();
    c.commit(serde_json::json!({"epoch": 2})).unwrap();
    // The unchanged group keeps its file; the replaced one's old file is gone.
    assert_eq!(files(&dir), ["best.2.bin", "group-0.1.bin", "group-1.2.bin", "manifest.json"]);
    c.remove("group-0");
    c.commit(serde_json::json!({"epoch": 3})).unwrap();
    assert_eq!(files(&dir), ["best.2.bin", "group-1.2.bin", "manifest.json"]);

    let r = SweepCheckpoint::open(&dir, &opts("0.1"), true).unwrap();
    assert!(r.resumed());
    assert_eq!(r.state(), &serde_json::json!({"epoch": 3}));
    assert_eq!(r.data("group-1"), Some(&b"one, later"[..]));
    assert_eq!(r.data("group-0"), None);
    assert_eq!(r.data_path("best"), dir.join("best.2.bin"));
}

#[test]
fn a_missing_or_empty_directory_starts_fresh_even_with_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let c = SweepCheckpoint::open(&tmp.path().join("new"), &opts("0.1"), true).unwrap();
    assert!(!c.resumed() && c.state().is_null());
    assert!(!tmp.path().join("new").exists(), "nothing is written before the first commit");
    let empty = tmp.path().join("empty");
    fs::create_dir(&empty).unwrap();
    let c = SweepCheckpoint::open(&empty, &opts("0.1"), true).unwrap();
    assert!(!c.resumed());
}

#[test]
fn a_kill_between_data_and_manifest_leaves_the_old_state() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    committed(dir);
    // What a kill leaves mid-commit: a new data file and a temporary of the manifest, not yet renamed.
    fs::write(dir.join("group-0.2.bin"), b"half").unwrap();
    fs::write(dir.join(".manifest.json.tmp-99-0"), b"{").unwrap();
    fs::write(dir.join(".group-1.2.bin.tmp-99-1"), b"").unwrap();
    let mut r = SweepCheckpoint::open(dir, &opts("0.1"), true).unwrap();
    assert_eq!((r.data("group-0"), r.state()), (Some(&b"zero"[..]), &serde_json::json!({"epoch": 1})));
    r.commit(serde_json::json!({"epoch": 2})).unwrap();
    assert_eq!(files(dir), ["group-0.1.bin", "group-1.1.bin", "manifest.json"], "leftovers are cleared");
    // Leftovers of a first commit that never finished are a fresh start.
    let first = tmp.path().join("first");
    fs::create_dir(&first).unwrap();
    fs::write(first.join("group-0.1.bin"), b"x").unwrap();
    assert!(!SweepCheckpoint::open(&first, &opts("0.1"), true).unwrap().resumed());
}

#[test]
fn other_options_foreign_files_and_damage_are_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    committed(dir);
    let err = SweepCheckpoint::open(dir, &opts("0.2"), true).unwrap_err().to_string();
    assert!(err.contains("--lr differs") && err.contains("\"0.1\"") && err.contains("\"0.2\""), "{err}");
    let mut fewer = opts("0.1");
    fewer.pop();
    let err = SweepCheckpoint::open(dir, &fewer, true).unwrap_err().to_string();
    assert!(err.contains("--quietly differs") && err.contains("now absent"), "{err}");
    let err = SweepCheckpoint::open(dir, &opts("0.1"), false).unwrap_err().to_string();
    assert!(err.contains("add --resume"), "{err}");

    fs::write(dir.join("group-1.1.bin"), b"onE").unwrap();
    let err = SweepCheckpoint::open(dir, &opts("0.1"), true).unwrap_err().to_string();
    assert!(err.contains("group-1.1.bin") && err.contains("damaged"), "{err}");
    fs::write(dir.join("group-1.1.bin"), b"one").unwrap();
    fs::remove_file(dir.join("group-0.1.bin")).unwrap();
    let err = SweepCheckpoint::open(dir, &opts("0.1"), true).unwrap_err().to_string();
    assert!(err.contains("group-0.1.bin"), "{err}");

    fs::write(dir.join("notes.txt"), b"mine").unwrap();
    let err = SweepCheckpoint::open(dir, &opts("0.1"), true).unwrap_err().to_string();
    assert!(err.contains("notes.txt") && err.contains("not part of a sweep checkpoint"), "{err}");
    fs::remove_file(dir.join("notes.txt")).unwrap();

    let manifest = dir.join(MANIFEST);
    fs::write(&manifest, br#"{"magic": "something else"}"#).unwrap();
    let err = SweepCheckpoint::open(dir, &opts("0.1"), true).unwrap_err().to_string();
    assert!(err.contains("manifest.json") && err.contains("not a wgtrain sweep checkpoint"), "{err}");
    fs::write(&manifest, br#"{"magic": "wgtrain sweep checkpoint", "version": 7}"#).unwrap();
    let err = SweepCheckpoint::open(dir, &opts("0.1"), true).unwrap_err().to_string();
    assert!(err.contains("manifest.json") && err.contains("version 7"), "{err}");
    fs::write(&manifest, b"{\"magic\": ").unwrap();
    let err = SweepCheckpoint::open(dir, &opts("0.1"), true).unwrap_err().to_string();
    assert!(err.contains("manifest.json:1:"), "{err}");
}

#[test]
fn keys_are_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let mut c = SweepCheckpoint::open(tmp.path(), &opts("0.1"), false).unwrap();
    assert!(c.put("../x", Vec::new()).is_err());
    assert!(c.put("Group", Vec::new()).is_err());
}
