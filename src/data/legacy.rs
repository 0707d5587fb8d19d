//! Model files written before the table preprocessor: their metadata named the feature columns, the target, the
//! classes and an optional per-feature standardisation ([`Normalizer`]). This is the [`Preprocessor`] those files
//! imply, so they are read by the one table pipeline with what they were trained on: every feature numeric, no
//! gaps (those files could not have met one), standardised with the stored mean and std.

use super::encoding::{Column, Encoding, MissingPolicy, TargetEncoding};
use super::normalize::Normalizer;
use super::preprocess::Preprocessor;
use super::table::{is_missing, Table};
use crate::error::{Error, Result};

impl Preprocessor {
    /// The preprocessing of a model file from before the table preprocessor: the `features` as numbers (each
    /// standardised by `normalizer` when the file has one), `target` as the `classes` or as raw values.
    pub fn legacy(
        features: &[String],
        target: &str,
        classes: Option<&[String]>,
        normalizer: Option<&Normalizer>,
    ) -> Result<Preprocessor> {
        if let Some(n) = normalizer {
            if n.mean.len() != features.len() || n.std.len() != features.len() {
                let why = format!("{} means and {} stds for {} features", n.mean.len(), n.std.len(), features.len());
                return Err(Error::config("normalize", why));
            }
        }
        let columns = features
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let (center, scale) = normalizer.map_or((0.0, 1.0), |n| (f64::from(n.mean[i]), f64::from(n.std[i])));
                Column {
                    name: name.clone(),
                    encoding: Encoding::Numeric { fill: center, center, scale, indicator: false },
                }
            })
            .collect();
        let target_encoding = match classes {
            Some(c) => TargetEncoding::Class { classes: c.to_vec() },
            None => TargetEncoding::Value { center: 0.0, scale: 1.0 },
        };
        Ok(Preprocessor { columns, target: target.to_string(), target_encoding, missing: MissingPolicy::Impute })
    }

    /// Refuses a gap in any of this preprocessor's feature columns of `table`, naming the first: a model from
    /// before the table preprocessor never saw one, so it has no fill value it learnt with.
    pub fn refuse_gaps(&self, table: &Table) -> Result<()> {
        for c in &self.columns {
            let Some(i) = table.column(&c.name) else { continue };
            if let Some((line, _)) = table.rows.iter().find(|(_, row)| is_missing(&row[i])) {
                let at = Some(format!("line {line}, column \"{}\"", c.name));
                let why = "a missing value; this model file predates gap handling and needs a number in every cell \
                           (retrain it to read gaps)";
                return Err(Error::parse(&table.path, at, why));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::data::table::read_table_str;

    #[test]
    fn standardises_with_the_stored_mean_and_std_and_refuses_gaps() {
        let names = ["a".to_string(), "b".to_string()];
        let classes = ["no".to_string(), "yes".to_string()];
        let n = Normalizer { mean: vec![1.0, 10.0], std: vec![2.0, 5.0] };
        let p = Preprocessor::legacy(&names, "y", Some(&classes), Some(&n)).unwrap();
        // Columns by name, in any order, as the table pipeline reads them.
        let t = read_table_str("y,b,a\nyes,20,3\nno,0,-1\n", Path::new("t.csv")).unwrap();
        p.refuse_gaps(&t).unwrap();
        let (d, _) = p.transform(&t, true).unwrap();
        assert_eq!((d.features, d.targets), (vec![1.0, 2.0, -1.0, -2.0], vec![1.0, 0.0]));
        let gap = read_table_str("a,b\n1,2\n3,NA\n", Path::new("g.csv")).unwrap();
        let e = p.refuse_gaps(&gap).unwrap_err().to_string();
        assert!(e.contains("g.csv:line 3, column \"b\": a missing value"), "{e}");
        let raw = Preprocessor::legacy(&names, "y", None, None).unwrap();
        assert_eq!(raw.transform(&t, false).unwrap().0.features, vec![3.0, 20.0, -1.0, 0.0]);
        let short = Normalizer { mean: vec![0.0], std: vec![1.0] };
        assert!(Preprocessor::legacy(&names, "y", None, Some(&short)).is_err());
    }
}
