//! `wgtrain tune`: times the matmul candidates of this adapter on the products of MLP-A, MLP-B and an optional
//! network of the user's, keeps the fastest per shape class in the tuning cache, and prints the choices.

use serde::Serialize;
use wgtrain::network::layer_matmuls;
use wgtrain::ops::matmul::MatmulShape;
use wgtrain::ops::tune;
use wgtrain::{AdapterSummary, Error, Gpu, Result};

/// One tuned product, as `--json` prints it.
#[derive(Serialize)]
struct TunedChoice {
    m: usize,
    n: usize,
    k: usize,
    layout: &'static str,
    variant: String,
    gflops: f64,
}

#[derive(Serialize)]
struct Report<'a> {
    adapter: &'a AdapterSummary,
    choices: Vec<TunedChoice>,
}

/// The products of a training step of `widths` (input, hidden…, output) on batches of `batch` rows.
fn network_shapes(gpu: &Gpu, widths: &[usize], batch: usize) -> Vec<MatmulShape> {
    let mut shapes = Vec::new();
    for (i, pair) in widths.windows(2).enumerate() {
        let [forward, weight_grad, input_grad] = layer_matmuls(gpu, batch, pair[0], pair[1]);
        shapes.extend([forward, weight_grad]);
        if i > 0 {
            shapes.push(input_grad);
        }
    }
    shapes
}

fn layout(s: &MatmulShape) -> &'static str {
    match (s.trans_a, s.trans_b) {
        (false, true) => "nt",
        (false, false) => "nn",
        (true, false) => "tn",
        (true, true) => "tt",
    }
}

/// `wgtrain tune [--layers L --batch-size B] [--json]`.
pub fn run(layers: Option<&str>, batch: Option<usize>, json: bool) -> Result<()> {
    let gpu = Gpu::new()?;
    let mut shapes = network_shapes(&gpu, &[784, 128, 64, 10], 128);
    shapes.extend(network_shapes(&gpu, &[784, 1024, 1024, 10], 1024));
    if layers.is_some() || batch.is_some() {
        let hidden = match layers {
            Some(l) => l
                .split(',')
                .map(|w| w.trim().parse::<usize>().ok().filter(|&w| w > 0))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| Error::config("--layers", format!("{l:?} is not a comma list of positive widths")))?,
            None => vec![128, 64],
        };
        let batch = batch.unwrap_or(128);
        if batch == 0 {
            return Err(Error::config("--batch-size", "must be at least 1"));
        }
        let mut widths = vec![784];
        widths.extend(hidden);
        widths.push(10);
        shapes.extend(network_shapes(&gpu, &widths, batch));
    }
    let mut seen = Vec::new();
    shapes.retain(|s| {
        let new = !seen.contains(s);
        seen.push(*s);
        new
    });
    if !json {
        outln!("adapter: {}", gpu.adapter());
        outln!("{:>6} {:>6} {:>6} {:>6}  {:<34} {:>9}", "M", "N", "K", "layout", "variant", "GFLOP/s");
    }
    let mut choices = Vec::new();
    for s in shapes {
        let (variant, gflops) = match tune::tune(&gpu, &s)? {
            Some((config, gflops)) => (config.name(), gflops),
            None => ("matmul.wgsl (scalar)".to_string(), 0.0),
        };
        if !json {
            outln!("{:>6} {:>6} {:>6} {:>6}  {variant:<34} {gflops:>9.2}", s.m, s.n, s.k, layout(&s));
        }
        choices.push(TunedChoice { m: s.m, n: s.n, k: s.k, layout: layout(&s), variant, gflops });
    }
    if json {
        let report = Report { adapter: gpu.adapter(), choices };
        outln!("{}", serde_json::to_string(&report).map_err(|e| Error::config("--json", e.to_string()))?);
    }
    Ok(())
}
