//! Helpers for tests that run the `wgtrain` binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the built `wgtrain` with `args` in `dir`.
pub fn wgtrain(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wgtrain"))
        .args(args)
        .current_dir(dir)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .expect("wgtrain runs")
}

/// stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A CSV of three well-separated 2-D clusters with string labels, `n` rows, seeded.
pub fn clusters_csv(n: usize, seed: u64) -> String {
    let mut rng = wgtrain::rng::Rng::new(seed);
    let names = ["setosa", "virginica", "versicolor"];
    let centres = [(0.0, 0.0), (3.0, 3.0), (0.0, 3.0)];
    let mut s = String::from("x1,x2,species\n");
    for i in 0..n {
        let c = i % 3;
        let (a, b) = (centres[c].0 + 0.5 * rng.normal(), centres[c].1 + 0.5 * rng.normal());
        s.push_str(&format!("{a:.4},{b:.4},{}\n", names[c]));
    }
    s
}

/// Writes `text` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, text: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write test file");
    p
}

/// A CSV of y = 2x + 0.5 at 64 points in [−1, 1).
pub fn linear_csv() -> String {
    let mut s = String::from("x,y\n");
    for i in 0..64 {
        let x = i as f32 / 32.0 - 1.0;
        s.push_str(&format!("{x},{}\n", 2.0 * x + 0.5));
    }
    s
}
