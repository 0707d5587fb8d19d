//! Shared by the training examples: the epoch count and error reporting.

use std::error::Error;

/// The epoch count: `--epochs N` on the command line, else `WGTRAIN_EPOCHS` (CI shortens runs with it), else
/// `default`.
pub fn epochs(default: usize) -> Result<usize, Box<dyn Error>> {
    let mut epochs = std::env::var("WGTRAIN_EPOCHS").ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--epochs" => epochs = args.next().ok_or("--epochs needs a number")?.parse()?,
            other => return Err(format!("unknown argument {other:?}; expected --epochs N").into()),
        }
    }
    Ok(epochs)
}

/// Prints the error of a failed run and exits with status 1.
pub fn exit_on_error(result: Result<(), Box<dyn Error>>) {
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
