//! XOR, the page's smallest data set: two classes no linear model separates.

use wgtrain::data::Dataset;
use wgtrain::internal::rng::Rng;

/// `rows` points uniform in [−1, 1]², labelled 1 where x·y > 0 (the first and third quadrants), else 0.
pub fn dataset(rows: usize, seed: u64) -> Dataset {
    let mut rng = Rng::new(seed);
    let mut features = Vec::with_capacity(2 * rows);
    let mut targets = Vec::with_capacity(rows);
    for _ in 0..rows {
        let (x, y) = (rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0));
        features.extend([x, y]);
        targets.push(if x * y > 0.0 { 1.0 } else { 0.0 });
    }
    Dataset {
        features,
        n_features: 2,
        targets,
        classes: Some(vec!["0".into(), "1".into()]),
        feature_names: vec!["x".into(), "y".into()],
        target_name: "xor".into(),
    }
}
