//! What a data set's target implies for training, the same in every front end: the loss when none is asked for,
//! how a requested loss reads the target column, the network's output width, and whether the targets suit the loss.

use std::path::Path;

use super::csv::TargetKind;
use super::Dataset;
use crate::error::{Error, Result};
use crate::ops::loss::Loss;

impl TargetKind {
    /// How to read the target column for a requested loss: class labels for cross-entropy and bce, numbers for
    /// mse, and [`TargetKind::Auto`] when no loss was asked for (the data then decides, see [`Dataset::default_loss`]).
    pub fn for_loss(loss: Option<Loss>) -> TargetKind {
        match loss {
            Some(Loss::CrossEntropy | Loss::Bce) => TargetKind::Class,
            Some(Loss::Mse) => TargetKind::Value,
            None => TargetKind::Auto,
        }
    }
}

impl Dataset {
    /// The loss for this target when none is asked for: cross-entropy for class labels, mse for values.
    pub fn default_loss(&self) -> Loss {
        if self.classes.is_some() {
            Loss::CrossEntropy
        } else {
            Loss::Mse
        }
    }

    /// The network's output width for `loss`: one logit per class for cross-entropy, else one output.
    pub fn output_width(&self, loss: Loss) -> usize {
        match loss {
            Loss::CrossEntropy => self.n_classes().unwrap_or(1),
            Loss::Bce | Loss::Mse => 1,
        }
    }

    /// Checks the targets as `loss` reads them (class indices for cross-entropy, two classes or 0/1 values for bce,
    /// any value for mse); `source` names the data in the message, the error's field is `loss`.
    pub fn check_targets(&self, loss: Loss, source: &Path) -> Result<()> {
        let what = source.display();
        match (loss, self.n_classes()) {
            (Loss::CrossEntropy, None) => Err(Error::config(
                "loss",
                format!("cross-entropy needs class labels, but the target of {what} is numeric"),
            )),
            (Loss::Bce, Some(c)) if c != 2 => {
                Err(Error::config("loss", format!("bce needs exactly 2 classes, {what} has {c}")))
            }
            (Loss::Bce, None) if self.targets.iter().any(|&t| t != 0.0 && t != 1.0) => {
                Err(Error::config("loss", format!("bce needs targets 0 or 1 in {what}")))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(classes: Option<Vec<&str>>, targets: Vec<f32>) -> Dataset {
        Dataset {
            features: vec![0.0; targets.len()],
            n_features: 1,
            targets,
            classes: classes.map(|c| c.into_iter().map(String::from).collect()),
            feature_names: vec!["x".into()],
            target_name: "y".into(),
        }
    }

    #[test]
    fn loss_and_width_follow_the_target() {
        let three = data(Some(vec!["a", "b", "c"]), vec![0.0, 2.0]);
        assert_eq!((three.default_loss(), three.output_width(Loss::CrossEntropy)), (Loss::CrossEntropy, 3));
        let values = data(None, vec![0.5, 3.0]);
        assert_eq!((values.default_loss(), values.output_width(Loss::Mse)), (Loss::Mse, 1));
        assert_eq!(data(Some(vec!["n", "y"]), vec![1.0]).output_width(Loss::Bce), 1);
        assert_eq!(TargetKind::for_loss(Some(Loss::Bce)), TargetKind::Class);
        assert_eq!(TargetKind::for_loss(Some(Loss::Mse)), TargetKind::Value);
        assert_eq!(TargetKind::for_loss(None), TargetKind::Auto);
    }

    #[test]
    fn targets_that_do_not_suit_the_loss_are_refused() {
        let p = Path::new("t.csv");
        let e = data(None, vec![0.5]).check_targets(Loss::CrossEntropy, p).unwrap_err().to_string();
        assert!(e.contains("cross-entropy needs class labels, but the target of t.csv is numeric"), "{e}");
        let e = data(Some(vec!["a", "b", "c"]), vec![0.0]).check_targets(Loss::Bce, p).unwrap_err().to_string();
        assert!(e.contains("bce needs exactly 2 classes, t.csv has 3"), "{e}");
        assert!(data(None, vec![0.0, 2.0]).check_targets(Loss::Bce, p).is_err());
        assert!(data(None, vec![0.0, 1.0]).check_targets(Loss::Bce, p).is_ok());
        assert!(data(None, vec![7.0]).check_targets(Loss::Mse, p).is_ok());
    }
}
