//! Fuzzes the safetensors readers `wgtrain::tensor_file::load_tensors` and `wgtrain::saved::SavedModel::load`.
//! Both take a path, so each input is written to a per-process temporary file first.
//!
//! Property: Ok or Err, never a panic, hang or huge allocation; Ok results are internally consistent.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use wgtrain::tensor_file::load_tensors;
use wgtrain::saved::SavedModel;

fn temp_path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| std::env::temp_dir().join(format!("wgtrain-fuzz-safetensors-{}", std::process::id())))
}

fuzz_target!(|data: &[u8]| {
    let path = temp_path();
    std::fs::write(path, data).expect("cannot write the temporary fuzz input file");
    let debug = std::env::var_os("WGTRAIN_FUZZ_DEBUG").is_some();

    match load_tensors(path) {
        Ok((tensors, metadata)) => {
            if debug {
                eprintln!("load_tensors: Ok {} tensors, {} metadata keys", tensors.len(), metadata.len());
            }
            for t in &tensors {
                let numel = t.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
                assert_eq!(numel, Some(t.data.len()), "tensor {} has shape {:?} but {} values", t.name, t.shape, t.data.len());
            }
            assert!(tensors.windows(2).all(|w| w[0].name < w[1].name), "tensors not sorted by unique name");
        }
        Err(e) if debug => eprintln!("load_tensors: Err {e}"),
        Err(_) => {}
    }
    match SavedModel::load(path) {
        Ok(model) => {
            if debug {
                eprintln!("SavedModel::load: Ok {:?} loss {:?}", model.model, model.loss);
            }
            assert_eq!(model.params.len(), model.model.layout().len, "params do not match the layout");
            if let Some(n) = &model.normalizer {
                assert_eq!((n.mean.len(), n.std.len()), (model.model.input, model.model.input));
            }
        }
        Err(e) if debug => eprintln!("SavedModel::load: Err {e}"),
        Err(_) => {}
    }
});
