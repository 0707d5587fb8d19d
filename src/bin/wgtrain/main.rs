//! The `wgtrain` command line: parses arguments and calls the library. Exit status 2 for bad input (one line on
//! stderr, nothing written), 1 for device or training failures, 130 when interrupted.

/// `println!` for the command's output: a reader that has gone (`wgtrain predict … | head`) ends the process quietly
/// with status 0, as it ends `cat`, instead of a panic.
macro_rules! outln {
    ($($arg:tt)*) => { $crate::write_stdout(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `print!` for the command's output, as [`outln`].
macro_rules! out {
    ($($arg:tt)*) => { $crate::write_stdout(format_args!($($arg)*)) };
}

mod commands;
mod optimizer_options;
mod options;
mod report;
mod resume;
mod sweep;
mod sweep_args;
mod sweep_resume;
mod tabular;
mod train_command;
mod tune;

use std::io::Write as _;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use wgtrain::Error;

/// Train small MLPs on any GPU through WebGPU.
#[derive(Parser, Debug)]
#[command(name = "wgtrain", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train a model on a CSV file or an MNIST directory.
    Train(Box<options::TrainOptions>),
    /// Loss and metrics of a saved model on a data set (accuracy, per-class F1 and confusion, or rmse, mae and r²).
    Eval {
        /// The model file written by `train --save`.
        #[arg(long)]
        model: PathBuf,
        /// The data (CSV or MNIST directory; for MNIST the t10k test files when present).
        #[arg(long)]
        data: PathBuf,
        /// Print one JSON object: loss, accuracy, per_class, macro_f1, confusion_matrix (classification) or loss, mse,
        /// rmse, mae, r2 (regression).
        #[arg(long)]
        json: bool,
    },
    /// One prediction per row: the class as written in the training file, or the value.
    Predict {
        /// The model file written by `train --save`.
        #[arg(long)]
        model: PathBuf,
        /// The rows to predict (CSV; the target column may be absent).
        #[arg(long)]
        data: PathBuf,
        /// Write predictions here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Write one probability column per class, headed by the class names, instead of the predicted class.
        #[arg(long)]
        proba: bool,
    },
    /// Train many configurations: any train option given as a comma list is a sweep axis (see `sweep --help`).
    #[command(disable_help_flag = true)]
    Sweep {
        /// Train options (any as a list) and sweep options.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
        args: Vec<String>,
    },
    /// The GPU adapters wgpu sees, and the one wgtrain would use.
    Devices,
    /// Time this adapter's matmul candidates on the MLP-A and MLP-B products (and --layers/--batch-size), keep
    /// the fastest in the tuning cache, and print the choices.
    Tune {
        /// Hidden layer widths of one more network to tune, e.g. 256,128 (784 inputs, 10 outputs).
        #[arg(long)]
        layers: Option<String>,
        /// Batch size of that network (default 128).
        #[arg(long)]
        batch_size: Option<usize>,
        /// Print one JSON object: {"adapter": {...}, "choices": [{"m", "n", "k", "layout", "variant", "gflops"}]}.
        #[arg(long)]
        json: bool,
    },
}

fn exit_code(e: &Error) -> i32 {
    match e {
        Error::Config { .. } | Error::Parse { .. } | Error::Io { .. } | Error::Shape { .. } | Error::BadEnv { .. } => 2,
        Error::Interrupted { .. } => 130,
        _ => 1,
    }
}

fn main() {
    // `RUST_LOG` as usual (e.g. `RUST_LOG=wgpu_hal=info`); by default warnings and errors, wgpu's included, reach stderr.
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) if e.use_stderr() => {
            // One line, like every other bad-input message, with clap's suggestion; `--help` shows the rest.
            eprintln!("wgtrain: {} (see --help)", options::clap_error_line(&e));
            std::process::exit(2);
        }
        Err(e) => {
            let _ = e.print();
            std::process::exit(0);
        }
    };
    let result = match cli.command {
        Command::Train(opts) => commands::train(*opts),
        Command::Eval { model, data, json } => report::eval(&model, &data, json),
        Command::Predict { model, data, out, proba } => report::predict(&model, &data, out.as_deref(), proba),
        Command::Sweep { args } => sweep::run(&args),
        Command::Devices => commands::devices(),
        Command::Tune { layers, batch_size, json } => tune::run(layers.as_deref(), batch_size, json),
    };
    if let Err(e) = result {
        eprintln!("wgtrain: error: {e}");
        std::process::exit(exit_code(&e));
    }
}

/// Writes to stdout; a closed pipe exits 0, any other failure to write exits 1 with one line.
fn write_stdout(text: std::fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(text) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("wgtrain: error: writing to stdout: {e}");
        std::process::exit(1);
    }
}
