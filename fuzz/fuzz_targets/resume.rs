//! Fuzzes the checkpoint reader `wgtrain::resume::Checkpoint::from_bytes` (what `--resume` and a front end
//! resuming from an uploaded file call) on arbitrary bytes.
//!
//! Property: Ok or Err, never a panic, hang or huge allocation; an Ok checkpoint is consistent: its model's
//! parameters fit the layout, and its position serialises back to JSON.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use wgtrain::resume::Checkpoint;

fuzz_target!(|data: &[u8]| {
    let debug = std::env::var_os("WGTRAIN_FUZZ_DEBUG").is_some();
    match Checkpoint::from_bytes(Path::new("checkpoint.safetensors"), data) {
        Ok(ck) => {
            if debug {
                eprintln!("Ok: {:?}, epoch {}", ck.model.model, ck.progress.epochs_done);
            }
            assert_eq!(ck.model.params.len(), ck.model.model.layout().len, "params do not match the layout");
            serde_json::to_string(&ck.progress).expect("the position serialises");
        }
        Err(e) if debug => eprintln!("Err: {e}"),
        Err(_) => {}
    }
});
