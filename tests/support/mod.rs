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
    let mut rng = wgtrain::internal::rng::Rng::new(seed);
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

/// A penguins-like table of `n` rows (seeded): text columns island and sex, four measurements, the species last;
/// about 4% of feature cells are gaps written as "", NA or ?, and the species depends on measurements and island.
pub fn penguins_csv(n: usize, seed: u64) -> String {
    let mut rng = wgtrain::internal::rng::Rng::new(seed);
    // species, islands, bill length, bill depth, flipper, mass (means)
    let species = [
        ("Adelie", ["Torgersen", "Biscoe", "Dream"], 38.8, 18.3, 190.0, 3700.0),
        ("Chinstrap", ["Dream", "Dream", "Dream"], 48.8, 18.4, 196.0, 3730.0),
        ("Gentoo", ["Biscoe", "Biscoe", "Biscoe"], 47.5, 15.0, 217.0, 5070.0),
    ];
    let gaps = ["", "NA", "?"];
    let mut s = String::from("island,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,sex,species\n");
    for i in 0..n {
        let (name, islands, bl, bd, fl, bm) = species[i % 3];
        let male = rng.next_f64() < 0.5;
        let k = if male { 1.05 } else { 0.95 };
        let island = islands[(rng.next_u64() % 3) as usize].to_string();
        let cells = [
            island,
            format!("{:.1}", bl * k + 2.5 * rng.normal()),
            format!("{:.1}", bd * k + 1.0 * rng.normal()),
            format!("{:.0}", fl * k + 6.0 * rng.normal()),
            format!("{:.0}", bm * k + 300.0 * rng.normal()),
            (if male { "male" } else { "female" }).to_string(),
        ];
        let row: Vec<String> = cells
            .into_iter()
            .map(|c| if rng.next_f64() < 0.04 { gaps[(rng.next_u64() % 3) as usize].to_string() } else { c })
            .collect();
        s.push_str(&format!("{},{name}\n", row.join(",")));
    }
    s
}

/// A house-price table of `n` rows (seeded): a text neighbourhood, area, rooms, a gap now and then, and a price
/// around 10⁵ that is linear in them plus noise.
pub fn houses_csv(n: usize, seed: u64) -> String {
    let mut rng = wgtrain::internal::rng::Rng::new(seed);
    let hoods = [("Old Town", 30_000.0), ("Harbour", 10_000.0), ("Hillside", -15_000.0)];
    let mut s = String::from("neighbourhood,area_m2,rooms,price\n");
    for _ in 0..n {
        let (hood, premium) = hoods[(rng.next_u64() % 3) as usize];
        let area = 40.0 + 110.0 * rng.next_f64();
        let rooms = 1 + (area / 30.0) as u32;
        let price = 40_000.0 + 900.0 * area + premium + 2_000.0 * rng.normal();
        let area = if rng.next_f64() < 0.03 { "NA".to_string() } else { format!("{area:.1}") };
        s.push_str(&format!("{hood},{area},{rooms},{price:.0}\n"));
    }
    s
}
