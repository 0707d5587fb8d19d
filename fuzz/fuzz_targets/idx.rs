//! Fuzzes the IDX readers `wgtrain::data::idx::read_idx_images` and `read_idx_labels` (plain and gzip: the
//! reader sniffs the gzip magic bytes, so raw fuzz bytes reach both paths). The readers take a path, so each
//! input is written to a per-process temporary file first.
//!
//! Property: Ok or Err, never a panic, hang or huge allocation (a header claiming billions of samples must be
//! rejected by the size checks before anything is allocated; run with `-rss_limit_mb` / `-malloc_limit_mb`).
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use wgtrain::data::idx::{read_idx_images, read_idx_labels};

fn temp_path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| std::env::temp_dir().join(format!("wgtrain-fuzz-idx-{}", std::process::id())))
}

fuzz_target!(|data: &[u8]| {
    let path = temp_path();
    std::fs::write(path, data).expect("cannot write the temporary fuzz input file");
    let debug = std::env::var_os("WGTRAIN_FUZZ_DEBUG").is_some();

    match read_idx_images(path) {
        Ok((pixels, n, per_image)) => {
            if debug {
                eprintln!("images: Ok n={n} pixels/image={per_image}");
            }
            assert!(n > 0 && per_image > 0, "Ok with an empty shape");
            assert_eq!(Some(pixels.len()), n.checked_mul(per_image), "pixel count is not n x rows x cols");
            assert!(pixels.iter().all(|p| (0.0..=1.0).contains(p)), "pixel outside [0, 1]");
        }
        Err(e) if debug => eprintln!("images: Err {e}"),
        Err(_) => {}
    }
    match read_idx_labels(path) {
        Ok(labels) => {
            if debug {
                eprintln!("labels: Ok n={}", labels.len());
            }
            assert!(!labels.is_empty(), "Ok with no labels");
        }
        Err(e) if debug => eprintln!("labels: Err {e}"),
        Err(_) => {}
    }
});
