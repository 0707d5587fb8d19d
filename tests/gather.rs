//! gather_rows against src/reference/gather.rs: exact copies, so equality is required.

mod common;
use common::*;
use wgtrain::internal::rng::Rng;
use wgtrain::ops::gather::gather_rows;
use wgtrain::ops::step::StepBuffer;
use wgtrain::reference::gather as reference;
use wgtrain::Tensor;

fn check(src_rows: usize, cols: usize, rows: usize, offset: usize, seed: u64) {
    let src = uniform(seed, src_rows * cols, -1.0, 1.0);
    let mut rng = Rng::new(seed);
    let mut indices = rng.permutation(src_rows);
    while indices.len() < offset + rows {
        indices.extend(rng.permutation(src_rows));
    }
    let ts = upload(&src);
    let ti = Tensor::from_u32(gpu(), "indices", &indices).unwrap();
    let to = zeros(rows * cols);
    let step = StepBuffer::new(gpu()).unwrap();
    step.write(gpu(), offset as u32);
    let d = gather_rows(gpu(), &step, ti.view(), ts.view(), to.view(), rows, cols, src_rows, 0).unwrap();
    gpu().run(&[&d]).unwrap();
    let mut want = vec![0.0; rows * cols];
    reference::gather_rows(&mut want, &src, cols, &indices, offset, rows, 0);
    assert_nontrivial("gather", &want);
    assert_eq!(to.read(gpu()).unwrap(), want, "gather {src_rows}x{cols} rows={rows} offset={offset}");
}

#[test]
fn gather_rows_matches_reference() {
    check(1, 1, 1, 0, 1);
    check(37, 13, 5, 30, 2);
    check(100, 784, 128, 0, 3);
    check(1000, 3, 7, 993, 4);
}

/// The offset comes from the step uniform, so one recorded dispatch serves every batch.
#[test]
fn gather_rows_follows_the_step_offset() {
    let src: Vec<f32> = (0..10).map(|v| v as f32).collect();
    let ts = upload(&src);
    let ti = Tensor::from_u32(gpu(), "indices", &[9, 8, 7, 6, 5, 4, 3, 2, 1, 0]).unwrap();
    let to = zeros(3);
    let step = StepBuffer::new(gpu()).unwrap();
    let d = gather_rows(gpu(), &step, ti.view(), ts.view(), to.view(), 3, 1, 10, 0).unwrap();
    gpu().run(&[&d]).unwrap();
    assert_eq!(to.read(gpu()).unwrap(), vec![9.0, 8.0, 7.0]);
    step.write(gpu(), 6);
    gpu().run(&[&d]).unwrap();
    assert_eq!(to.read(gpu()).unwrap(), vec![3.0, 2.0, 1.0]);
}

/// Beyond 65,535 workgroups of 256 elements.
#[test]
fn gather_rows_beyond_65535_workgroups() {
    check(70_000, 240, 70_000, 0, 5);
}

/// A data set split into chunks: each chunk's dispatch writes only the rows whose index falls in it, and together
/// they assemble the batch.
#[test]
fn gather_rows_assembles_a_batch_from_chunks() {
    let (n, cols, rows) = (103, 7, 41);
    let src = uniform(9, n * cols, -1.0, 1.0);
    let indices = wgtrain::internal::rng::Rng::new(3).permutation(n);
    let ti = Tensor::from_u32(gpu(), "indices", &indices).unwrap();
    let to = zeros(rows * cols);
    let step = StepBuffer::new(gpu()).unwrap();
    step.write(gpu(), 50);
    let mut want = vec![0.0; rows * cols];
    let mut chunks = Vec::new();
    for start in (0..n).step_by(30) {
        let len = 30.min(n - start);
        let chunk = upload(&src[start * cols..(start + len) * cols]);
        reference::gather_rows(&mut want, &src[start * cols..(start + len) * cols], cols, &indices, 50, rows, start);
        let d = gather_rows(gpu(), &step, ti.view(), chunk.view(), to.view(), rows, cols, len, start).unwrap();
        chunks.push((chunk, d));
    }
    let dispatches: Vec<_> = chunks.iter().map(|(_, d)| d).collect();
    gpu().run(&dispatches).unwrap();
    let mut whole = vec![0.0; rows * cols];
    reference::gather_rows(&mut whole, &src, cols, &indices, 50, rows, 0);
    assert_eq!(want, whole, "the chunked twin equals the unchunked one");
    assert_eq!(to.read(gpu()).unwrap(), want);
}

/// Rows whose length is a multiple of 4 take the vec4 kernel; others the scalar one. Both are covered above
/// (cols 784 and 240 vs 1, 13 and 3); this pins which is which.
#[test]
fn vec4_gather_is_chosen_for_rows_of_whole_vec4s() {
    let t = zeros(64);
    let ti = Tensor::from_u32(gpu(), "indices", &[0, 1, 2, 3]).unwrap();
    let step = StepBuffer::new(gpu()).unwrap();
    let file =
        |cols| gather_rows(gpu(), &step, ti.view(), t.view(), t.view(), 2, cols, 4, 0).unwrap().file().to_string();
    assert_eq!(file(8), "gather_vec4.wgsl");
    assert_eq!(file(7), "gather.wgsl");
}
