//! A data set on the device: uploaded once, split into chunks that each fit one storage binding, with the row
//! order the batches follow (each epoch's shuffle is an upload of indices, not of data).

use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::tensor::Tensor;

/// Part of a data set small enough for one storage binding: rows row_start..row_start + rows.
#[derive(Debug)]
pub(crate) struct Chunk {
    pub(crate) row_start: usize,
    pub(crate) rows: usize,
    pub(crate) features: Tensor,
    pub(crate) targets: Tensor,
}

/// A table of samples uploaded once: features [n, n_features], targets [n, target_cols], and the row order.
/// A table larger than the adapter's max_storage_buffer_binding_size is split into chunks of whole rows.
#[derive(Debug)]
pub struct DeviceData {
    pub(crate) id: u64,
    pub(crate) chunks: Vec<Chunk>,
    pub(crate) order: Tensor,
    pub(crate) rows: usize,
    pub(crate) n_features: usize,
    pub(crate) target_cols: usize,
}

impl DeviceData {
    /// Uploads `rows` samples; the row order starts as file order.
    pub fn upload(gpu: &Gpu, features: &[f32], n_features: usize, targets: &[f32], target_cols: usize) -> Result<Self> {
        let limit = gpu.limits().max_storage_buffer_binding_size;
        Self::upload_chunked(gpu, features, n_features, targets, target_cols, limit)
    }

    /// Like [`DeviceData::upload`], with chunks of at most `max_chunk_bytes` (tests use small chunks).
    pub fn upload_chunked(
        gpu: &Gpu,
        features: &[f32],
        n_features: usize,
        targets: &[f32],
        target_cols: usize,
        max_chunk_bytes: u64,
    ) -> Result<Self> {
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        let rows = targets.len() / target_cols.max(1);
        if rows == 0 || n_features == 0 || features.len() != rows * n_features || targets.len() != rows * target_cols {
            return Err(Error::Shape {
                op: "upload data",
                detail: format!(
                    "{} feature values and {} targets do not make rows of {n_features} features and {target_cols} targets",
                    features.len(),
                    targets.len()
                ),
            });
        }
        let row_bytes = (n_features.max(target_cols) * 4) as u64;
        let chunk_rows = (max_chunk_bytes / row_bytes) as usize;
        if chunk_rows == 0 {
            return Err(Error::Limit {
                what: format!("one sample of {n_features} features"),
                limit: "max_storage_buffer_binding_size",
                needed: row_bytes,
                max: max_chunk_bytes,
            });
        }
        let mut chunks = Vec::new();
        for row_start in (0..rows).step_by(chunk_rows) {
            let n = chunk_rows.min(rows - row_start);
            let f = &features[row_start * n_features..(row_start + n) * n_features];
            let t = &targets[row_start * target_cols..(row_start + n) * target_cols];
            chunks.push(Chunk {
                row_start,
                rows: n,
                features: Tensor::from_slice(gpu, "features", f, &[n, n_features])?,
                targets: Tensor::from_slice(gpu, "targets", t, &[n, target_cols])?,
            });
        }
        let order: Vec<u32> = (0..rows as u32).collect();
        Ok(DeviceData {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            chunks,
            order: Tensor::from_u32(gpu, "order", &order)?,
            rows,
            n_features,
            target_cols,
        })
    }

    /// Number of samples.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of storage bindings the table is split over.
    pub fn chunk_count(&self) -> usize {
        self.chunks.len()
    }

    /// Puts the rows back in file order (after a shuffled epoch), for evaluation and prediction.
    pub fn reset_order(&self, gpu: &Gpu) -> Result<()> {
        let order: Vec<u32> = (0..self.rows as u32).collect();
        self.order.write_u32(gpu, &order)
    }

    /// Sets the order in which batches take rows (a permutation of 0..rows), e.g. each epoch's shuffle.
    pub fn set_order(&self, gpu: &Gpu, order: &[u32]) -> Result<()> {
        if order.len() != self.rows || order.iter().any(|&i| i as usize >= self.rows) {
            return Err(Error::Shape { op: "set_order", detail: format!("order must hold {} row indices", self.rows) });
        }
        self.order.write_u32(gpu, order)
    }
}
