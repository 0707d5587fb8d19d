//! gather_rows against src/reference/gather.rs: exact copies, so equality is required.

mod common;
use common::*;
use wgtrain::ops::gather::gather_rows;
use wgtrain::ops::step::{StepBuffer, StepScalars};
use wgtrain::reference::gather as reference;
use wgtrain::rng::Rng;
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
    let step = StepBuffer::new(gpu(), &StepScalars { batch_offset: offset as u32, ..Default::default() }).unwrap();
    let d = gather_rows(gpu(), &step, ti.view(), ts.view(), to.view(), rows, cols, src_rows).unwrap();
    gpu().run(&[&d]).unwrap();
    let want = reference::gather_rows(&src, cols, &indices, offset, rows);
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
    let step = StepBuffer::new(gpu(), &StepScalars::default()).unwrap();
    let d = gather_rows(gpu(), &step, ti.view(), ts.view(), to.view(), 3, 1, 10).unwrap();
    gpu().run(&[&d]).unwrap();
    assert_eq!(to.read(gpu()).unwrap(), vec![9.0, 8.0, 7.0]);
    step.write(gpu(), &StepScalars { batch_offset: 6, ..Default::default() });
    gpu().run(&[&d]).unwrap();
    assert_eq!(to.read(gpu()).unwrap(), vec![3.0, 2.0, 1.0]);
}

/// Beyond 65,535 workgroups of 256 elements.
#[test]
fn gather_rows_beyond_65535_workgroups() {
    check(70_000, 240, 70_000, 0, 5);
}
