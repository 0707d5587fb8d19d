//! column_sum, sum_squares_partial, clip_scale and stats_accumulate against src/reference/reduce.rs.

mod common;
use common::*;
use wgtrain::gpu::KernelFamily;
use wgtrain::ops::reduce::{
    clip_scale, column_sum, column_sum_models, partial_count, stats_accumulate, stats_accumulate_models,
    sum_squares_partial,
};
use wgtrain::ops::Models;
use wgtrain::reference::reduce as reference;
use wgtrain::{Gpu, Tensor};

/// Column sums run in the twin's order (tight); the tree reductions add in a different order than the twin's f64
/// sum, so they carry about log2(256)+chunk/256 roundings of relative size 6e-8: 1e-5 relative is ample and a
/// dropped element (≥ 1/4096 of a chunk) still fails.
const ATOL: f32 = 1e-5;
const RTOL: f32 = 1e-5;

#[test]
fn column_sum_matches_reference() {
    for gpu in devices() {
        // (128, 64), (3, 300) and (1024, 1028) take the texture kernel on the texture device; the last spans
        // several texture rows.
        for (rows, cols) in [(1, 1), (1, 7), (37, 61), (128, 64), (3, 300), (1024, 1028)] {
            let x = uniform((rows * cols) as u64, rows * cols, -1.0, 1.0);
            let tx = Tensor::from_slice(gpu, "x", &x, &[x.len()]).unwrap();
            let to = Tensor::zeros(gpu, "out", &[cols]).unwrap();
            let d = column_sum(gpu, tx.view(), to.view(), rows, cols).unwrap();
            let textures = gpu.kernel_family() == KernelFamily::Texture && cols % 4 == 0;
            assert_eq!(d.reads_textures(), textures, "{rows}x{cols}");
            gpu.run(&[&d]).unwrap();
            let want = reference::column_sum(&x, cols);
            assert_nontrivial("column_sum", &want);
            let label = format!("{} {rows}x{cols}", d.name());
            assert_close(&label, &to.read(gpu).unwrap(), &want, ATOL, RTOL);
        }
    }
}

/// The texture entry point by name (the texture device takes it where cols % 4 = 0), on one and several texture rows.
#[test]
fn column_sum_texture_matches_reference() {
    let gpu = device(KernelFamily::Texture);
    for (rows, cols) in [(1, 4), (129, 12), (1024, 1028)] {
        let x = uniform(7 + rows as u64, rows * cols, -1.0, 1.0);
        let tx = Tensor::from_slice(gpu, "x", &x, &[x.len()]).unwrap();
        let to = Tensor::zeros(gpu, "out", &[cols]).unwrap();
        let d = column_sum(gpu, tx.view(), to.view(), rows, cols).unwrap();
        assert_eq!(d.name(), "column_sum_texture");
        gpu.run(&[&d]).unwrap();
        let want = reference::column_sum(&x, cols);
        assert_close(&format!("column_sum_texture {rows}x{cols}"), &to.read(gpu).unwrap(), &want, ATOL, RTOL);
    }
}

/// Both forms of the cross-invocation reductions: subgroup operations (where the adapter has them; Vulkan lavapipe
/// does, so CI runs them) and the workgroup-memory tree.
fn reduction_devices() -> [&'static Gpu; 2] {
    let adapter = gpu().adapter();
    if adapter.name.contains("llvmpipe") && adapter.backend == "Vulkan" {
        assert!(gpu().has_subgroups(), "lavapipe offers SUBGROUP: the subgroup reductions must run here");
    }
    [gpu(), device_without_subgroups()]
}

#[test]
fn global_norm_and_clip_scale_match_reference() {
    for gpu in reduction_devices() {
        let entry = if gpu.has_subgroups() { "sum_squares_partial_subgroup" } else { "sum_squares_partial" };
        for n in [1, 255, 4096, 4097, 100_003] {
            let x = uniform(n as u64, n, -1.0, 1.0);
            let parts = partial_count(n);
            let zeros = |n: usize| Tensor::zeros(gpu, "test", &[n]).unwrap();
            let (tx, tp, ts) = (Tensor::from_slice(gpu, "x", &x, &[n]).unwrap(), zeros(parts), zeros(2));
            for max_norm in [0.5f32, 1e6] {
                let a = sum_squares_partial(gpu, tx.view(), tp.view(), n).unwrap();
                assert_eq!(a.name(), entry);
                let b = clip_scale(gpu, tp.view(), ts.view(), parts, max_norm).unwrap();
                gpu.run(&[&a, &b]).unwrap();
                let want_p = reference::sum_squares_partial(&x);
                assert_close(&format!("{entry} n={n}"), &tp.read(gpu).unwrap(), &want_p, ATOL, RTOL);
                let want = reference::clip_scale(&want_p, max_norm);
                assert_close(&format!("clip n={n} max={max_norm}"), &ts.read(gpu).unwrap(), &want, ATOL, RTOL);
            }
        }
    }
}

#[test]
fn stats_accumulate_adds_across_batches() {
    for gpu in reduction_devices() {
        let entry = if gpu.has_subgroups() { "stats_accumulate_subgroup" } else { "stats_accumulate" };
        for rows in [1, 300, 1024] {
            let row_stats = uniform(rows as u64, 2 * rows, 0.0, 2.0);
            let tr = Tensor::from_slice(gpu, "rows", &row_stats, &[2 * rows]).unwrap();
            let ts = Tensor::zeros(gpu, "stats", &[3]).unwrap();
            let d = stats_accumulate(gpu, tr.view(), ts.view(), rows).unwrap();
            assert_eq!(d.name(), entry);
            gpu.run(&[&d, &d]).unwrap();
            let mut want = [0.0f32; 3];
            reference::stats_accumulate(&mut want, &row_stats, rows);
            reference::stats_accumulate(&mut want, &row_stats, rows);
            assert_close(&format!("{entry} rows={rows}"), &ts.read(gpu).unwrap(), &want, 1e-3, RTOL);
            assert_eq!(want[2], 2.0 * rows as f32);
        }
    }
}

/// Floats between models in a batched test launch: one model's extent rounded up to four, plus four, so an offset
/// error reads or writes the gap.
fn gap(len: usize) -> usize {
    len.next_multiple_of(4) + 4
}

fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

/// The model-batched column sums (`column_sum` and `column_sum_texture`, workgroup z = model) for 1 and 3 models on
/// ragged shapes: against the twin (the tolerance above) and bit for bit against one single-model launch per
/// model (the same kernel summing in the same order).
#[test]
fn column_sum_models_match_reference_and_single_launches() {
    for gpu in devices() {
        for (rows, cols) in [(1, 1), (37, 61), (128, 64), (3, 12)] {
            for count in [1, 3] {
                let models = Models { count, input: gap(rows * cols), output: gap(cols) };
                let x = uniform((rows * cols + count) as u64, models.span(models.input, rows * cols), -1.0, 1.0);
                let tx = Tensor::from_slice(gpu, "x", &x, &[x.len()]).unwrap();
                let to = Tensor::zeros(gpu, "out", &[models.span(models.output, cols)]).unwrap();
                let d = column_sum_models(gpu, tx.view(), to.view(), rows, cols, &models).unwrap();
                let texture = gpu.kernel_family() == KernelFamily::Texture && cols % 4 == 0;
                assert_eq!(d.name(), if texture { "column_sum_texture" } else { "column_sum" });
                gpu.run(&[&d]).unwrap();
                let got = to.read(gpu).unwrap();
                let label = format!("{} ×{count} {rows}x{cols}", d.name());
                assert_close(&label, &got, &reference::column_sum_models(&x, rows, cols, &models), ATOL, RTOL);
                for m in 0..count {
                    let xm = &x[m * models.input..m * models.input + rows * cols];
                    let t1 = Tensor::from_slice(gpu, "x", xm, &[xm.len()]).unwrap();
                    let o1 = Tensor::zeros(gpu, "out", &[cols]).unwrap();
                    gpu.run(&[&column_sum(gpu, t1.view(), o1.view(), rows, cols).unwrap()]).unwrap();
                    let at = m * models.output;
                    assert!(same_bits(&got[at..at + cols], &o1.read(gpu).unwrap()), "{label}: model {m}");
                }
            }
        }
    }
}

/// The model-batched statistics (`stats_accumulate` and `stats_accumulate_subgroup`) for 1 and 3 models, twice.
#[test]
fn stats_accumulate_models_match_reference() {
    for gpu in reduction_devices() {
        let entry = if gpu.has_subgroups() { "stats_accumulate_subgroup" } else { "stats_accumulate" };
        for rows in [1, 37, 300] {
            for count in [1, 3] {
                let models = Models { count, input: gap(2 * rows), output: 64 };
                let row_stats = uniform(rows as u64 + 9, models.span(models.input, 2 * rows), 0.0, 2.0);
                let tr = Tensor::from_slice(gpu, "rows", &row_stats, &[row_stats.len()]).unwrap();
                let ts = Tensor::zeros(gpu, "stats", &[models.span(64, 3)]).unwrap();
                let d = stats_accumulate_models(gpu, tr.view(), ts.view(), rows, &models).unwrap();
                assert_eq!(d.name(), entry);
                gpu.run(&[&d, &d]).unwrap();
                let mut want = vec![0.0f32; models.span(64, 3)];
                reference::stats_accumulate_models(&mut want, &row_stats, rows, &models);
                reference::stats_accumulate_models(&mut want, &row_stats, rows, &models);
                assert_close(&format!("{entry} ×{count} rows={rows}"), &ts.read(gpu).unwrap(), &want, 1e-3, RTOL);
            }
        }
    }
}
