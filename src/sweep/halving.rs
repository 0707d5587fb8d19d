//! Successive halving (Jamieson & Talwalkar 2016, the inner loop of Li et al.'s Hyperband): every configuration
//! trains a small budget of epochs, the best 1/η of them go on to η times that budget, and so on up to the full
//! budget. With n configurations, minimum budget r and maximum E:
//!
//! - the rungs are r, r·η, r·η², … epochs, each capped at E, ending with the first one that reaches E;
//! - at each rung but the last, the n_i configurations that entered it are ranked by their score (validation loss,
//!   else training loss; a diverged one ranks last, ties in sweep order) and the best ⌊n_i / η⌋ (at least one) go on;
//!   the rest stop there, `halved`;
//! - a configuration that stopped on its own within a rung (early stopping, divergence) is ranked with the others
//!   but trains no further, whatever its rank.
//!
//! With 27 configurations, η = 3, r = 1 and E = 9: 27 train 1 epoch, 9 go on to 3, 3 go on to 9.

use crate::error::{Error, Result};

/// The halving schedule: η and the first rung.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Halving {
    /// The reduction factor η ≥ 2: 1/η of a rung goes on, with η times the epochs.
    pub eta: usize,
    /// The epochs of the first rung, r ≥ 1.
    pub min_epochs: usize,
}

impl Halving {
    /// A schedule for `configs` configurations trained up to `max_epochs`, checked as the command line names it:
    /// η ≥ 2, at least η configurations, 1 ≤ r ≤ `max_epochs`.
    pub fn new(eta: usize, min_epochs: usize, max_epochs: usize, configs: usize) -> Result<Halving> {
        if eta < 2 {
            return Err(Error::config("--halving", format!("{eta}: η must be at least 2")));
        }
        if configs < eta {
            let why = format!("{eta} needs at least {eta} configurations to halve, and there are {configs}");
            return Err(Error::config("--halving", why));
        }
        if min_epochs == 0 || min_epochs > max_epochs {
            let why = format!("{min_epochs}: the first rung must be between 1 and --epochs ({max_epochs})");
            return Err(Error::config("--min-epochs", why));
        }
        Ok(Halving { eta, min_epochs })
    }

    /// The rungs' epochs: r, r·η, r·η², … capped at `max_epochs`, ending with `max_epochs`.
    pub fn rungs(&self, max_epochs: usize) -> Vec<usize> {
        let mut rungs = Vec::new();
        let mut r = self.min_epochs.max(1);
        loop {
            let rung = r.min(max_epochs);
            rungs.push(rung);
            if rung >= max_epochs {
                return rungs;
            }
            r = r.saturating_mul(self.eta.max(2));
        }
    }

    /// How many of the `entered` configurations of a rung go on: ⌊entered / η⌋, at least one.
    pub fn keep(&self, entered: usize) -> usize {
        (entered / self.eta.max(2)).max(1).min(entered)
    }

    /// The positions (into `scores`) of the configurations that go on, best first: the [`keep`](Halving::keep)
    /// lowest scores, ties to the lower position. A NaN score ranks last.
    pub fn survivors(&self, scores: &[f64]) -> Vec<usize> {
        let mut order: Vec<usize> = (0..scores.len()).collect();
        let key = |i: usize| if scores[i].is_nan() { f64::INFINITY } else { scores[i] };
        order.sort_by(|&a, &b| key(a).total_cmp(&key(b)).then(a.cmp(&b)));
        order.truncate(self.keep(scores.len()));
        order
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rungs_multiply_by_eta_and_end_at_the_budget() {
        let h = Halving { eta: 3, min_epochs: 1 };
        assert_eq!(h.rungs(9), [1, 3, 9]);
        assert_eq!(h.rungs(10), [1, 3, 9, 10]);
        assert_eq!(h.rungs(8), [1, 3, 8]);
        assert_eq!(h.rungs(1), [1]);
        assert_eq!(Halving { eta: 2, min_epochs: 3 }.rungs(20), [3, 6, 12, 20]);
        assert_eq!(Halving { eta: 4, min_epochs: 5 }.rungs(5), [5]);
    }

    #[test]
    fn keep_is_the_floor_of_one_eta_th_but_at_least_one() {
        let h = Halving { eta: 3, min_epochs: 1 };
        assert_eq!([27, 9, 3, 1, 10, 5, 2].map(|n| h.keep(n)), [9, 3, 1, 1, 3, 1, 1]);
        assert_eq!(h.keep(0), 0);
    }

    #[test]
    fn survivors_are_the_lowest_scores_with_ties_in_order() {
        let h = Halving { eta: 2, min_epochs: 1 };
        let scores = [0.5, f64::INFINITY, 0.1, f64::NAN, 0.5, 0.3];
        assert_eq!(h.survivors(&scores), [2, 5, 0]);
        let h = Halving { eta: 3, min_epochs: 1 };
        assert_eq!(h.survivors(&[f64::INFINITY, f64::NAN, 2.0]), [2]);
    }

    #[test]
    fn bad_schedules_are_refused_naming_the_option() {
        let field = |r: Result<Halving>| match r {
            Err(Error::Config { field, .. }) => field,
            other => panic!("expected a config error, got {other:?}"),
        };
        assert_eq!(field(Halving::new(1, 1, 9, 27)), "--halving");
        assert_eq!(field(Halving::new(3, 1, 9, 2)), "--halving");
        assert_eq!(field(Halving::new(3, 0, 9, 27)), "--min-epochs");
        assert_eq!(field(Halving::new(3, 10, 9, 27)), "--min-epochs");
        assert_eq!(Halving::new(3, 9, 9, 3).unwrap(), Halving { eta: 3, min_epochs: 9 });
    }
}
