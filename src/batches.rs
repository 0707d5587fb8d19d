//! How an epoch is cut into batches, in one place: the row order (a seeded permutation or file order), the batch
//! size the schedule gives this epoch, each batch's boundaries, and the position a resumed epoch restarts from.
//! The epoch engine (for one model or a group), evaluation, prediction and the CPU reference trainer all walk an
//! [`EpochBatches`].

use crate::internal::rng::Rng;

/// The row order of one epoch: a seeded permutation, or file order.
pub fn epoch_order(rng: &mut Rng, n: usize, shuffle: bool) -> Vec<u32> {
    if shuffle {
        rng.permutation(n)
    } else {
        (0..n as u32).collect()
    }
}

/// One batch: step `step` (from 0) of its epoch covers positions `offset..offset + rows` of the epoch's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Batch {
    /// The step within the epoch, from 0.
    pub step: usize,
    /// The first position in the epoch's order.
    pub offset: usize,
    /// Rows in this batch (the last one may be short).
    pub rows: usize,
}

/// The batches of one epoch over `n` rows, from the resume position on.
#[derive(Clone, Debug)]
pub struct EpochBatches {
    order: Vec<u32>,
    batch_size: usize,
    start: usize,
    next: usize,
}

impl EpochBatches {
    /// The epoch's order drawn from `rng` (see [`epoch_order`]), cut into batches of `batch_size` rows (at least
    /// 1), starting at step `start_step` (0, or where an interrupted epoch stopped).
    pub fn new(rng: &mut Rng, n: usize, shuffle: bool, batch_size: usize, start_step: usize) -> Self {
        EpochBatches {
            order: epoch_order(rng, n, shuffle),
            batch_size: batch_size.max(1),
            start: start_step,
            next: start_step,
        }
    }

    /// `n` rows in file order, in batches of `batch_size` (evaluation and prediction).
    pub fn in_file_order(n: usize, batch_size: usize) -> Self {
        EpochBatches { order: (0..n as u32).collect(), batch_size: batch_size.max(1), start: 0, next: 0 }
    }

    /// The row order.
    pub fn order(&self) -> &[u32] {
        &self.order
    }

    /// Rows per batch (the schedule's size for this epoch).
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Steps in the whole epoch.
    pub fn steps(&self) -> usize {
        self.order.len().div_ceil(self.batch_size)
    }

    /// The step the next batch is (the resume position once the current one is done).
    pub fn position(&self) -> usize {
        self.next
    }

    /// Rows covered from the start position through the batches handed out so far (a resumed epoch counts only
    /// what it trains itself).
    pub fn rows_done(&self) -> usize {
        let rows_before = |step: usize| step.saturating_mul(self.batch_size).min(self.order.len());
        rows_before(self.next) - rows_before(self.start)
    }

    /// The rows of `batch` in this epoch's order.
    pub fn indices(&self, batch: Batch) -> &[u32] {
        &self.order[batch.offset..batch.offset + batch.rows]
    }

    /// The next batch, moving the position past it; `None` once the epoch is done.
    pub fn next_batch(&mut self) -> Option<Batch> {
        // Saturating: a resume position read from a damaged checkpoint ends the epoch instead of overflowing.
        let offset = self.next.saturating_mul(self.batch_size);
        if offset >= self.order.len() {
            return None;
        }
        let batch = Batch { step: self.next, offset, rows: self.batch_size.min(self.order.len() - offset) };
        self.next += 1;
        Some(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_cover_the_order_once_with_a_short_last_one() {
        let mut e = EpochBatches::in_file_order(10, 4);
        let b: Vec<Batch> = std::iter::from_fn(|| e.next_batch()).collect();
        assert_eq!(
            b,
            [
                Batch { step: 0, offset: 0, rows: 4 },
                Batch { step: 1, offset: 4, rows: 4 },
                Batch { step: 2, offset: 8, rows: 2 }
            ]
        );
        assert_eq!(EpochBatches::in_file_order(10, 4).steps(), 3);
        assert_eq!(EpochBatches::in_file_order(0, 4).next_batch(), None);
    }

    #[test]
    fn a_resumed_epoch_has_the_same_order_and_starts_at_its_position() {
        let full = EpochBatches::new(&mut Rng::new(5), 11, true, 3, 0);
        let mut resumed = EpochBatches::new(&mut Rng::new(5), 11, true, 3, 2);
        assert_eq!(full.order(), resumed.order());
        assert_ne!(full.order(), EpochBatches::in_file_order(11, 3).order(), "shuffled");
        let first = resumed.next_batch().unwrap();
        assert_eq!((first.step, first.offset, first.rows), (2, 6, 3));
        assert_eq!(resumed.indices(first), &full.order()[6..9]);
        assert_eq!((resumed.position(), resumed.rows_done()), (3, 3));
        resumed.next_batch();
        assert_eq!((resumed.position(), resumed.rows_done()), (4, 5));
    }

    #[test]
    fn a_resume_position_past_the_epoch_yields_no_batch() {
        let mut e = EpochBatches::new(&mut Rng::new(1), 10, false, 4, usize::MAX);
        assert_eq!((e.next_batch(), e.rows_done()), (None, 0));
    }
}
