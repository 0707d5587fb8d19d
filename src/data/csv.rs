//! CSV loading: a header row, numeric feature columns and one target column (class label or value).

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use super::Dataset;
use crate::error::{Error, Result};

/// How to interpret the target column.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TargetKind {
    /// Class when every label is an integer or any label is non-numeric, else Value.
    #[default]
    Auto,
    /// Classification: labels are class names.
    Class,
    /// Regression: labels are finite numbers.
    Value,
}

/// Options for [`read_csv`].
#[derive(Clone, Debug, PartialEq)]
pub struct CsvOptions {
    /// Target column name; None means the last column.
    pub target: Option<String>,
    /// How to interpret the target column.
    pub kind: TargetKind,
    /// A fixed class list (from a checkpoint); every label must be one of them.
    pub classes: Option<Vec<String>>,
    /// When false (prediction) a file without the target column is accepted and its targets are all 0.
    pub require_target: bool,
    /// When Some, the feature columns must be exactly these, in this order (from a checkpoint).
    pub feature_names: Option<Vec<String>>,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions { target: None, kind: TargetKind::Auto, classes: None, require_target: true, feature_names: None }
    }
}

/// Reads a CSV file into a [`Dataset`]; see [`read_csv_str`] for the format rules.
#[cfg(not(target_arch = "wasm32"))]
pub fn read_csv(path: &Path, opts: &CsvOptions) -> Result<Dataset> {
    if path.is_dir() {
        return Err(Error::parse(path, None, "is a directory, expected a CSV file"));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
        Error::parse(path, Some(format!("line {line}")), "the file is not valid UTF-8 text; re-save it as UTF-8")
    })?;
    read_csv_str(text, path, opts)
}

/// Parses CSV text (header required, optional BOM, CRLF or LF, blank lines skipped, RFC 4180 quoting);
/// `path` is used only in error messages.
pub fn read_csv_str(text: &str, path: &Path, opts: &CsvOptions) -> Result<Dataset> {
    let at = |line: usize| Some(format!("line {line}"));
    let at_col = |line: usize, col: &str| Some(format!("line {line}, column \"{col}\""));
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text
        .split('\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((hline, hraw)) = lines.next() else {
        return Err(Error::parse(path, None, "the file is empty; expected a header row naming the columns"));
    };
    let header: Vec<String> =
        split_fields(hraw).map_err(|r| Error::parse(path, at(hline), r))?.into_iter().map(Cow::into_owned).collect();
    check_header_names(&header).map_err(|r| Error::parse(path, at(hline), r))?;
    let target_col = target_column_of(&header, opts).map_err(|r| Error::parse(path, at(hline), r))?;
    let feature_cols: Vec<usize> = (0..header.len()).filter(|&c| Some(c) != target_col).collect();
    if feature_cols.is_empty() {
        let reason = format!("the only column is the target \"{}\"; at least one feature column is needed", header[0]);
        return Err(Error::parse(path, at(hline), reason));
    }
    let feature_names: Vec<String> = feature_cols.iter().map(|&c| header[c].clone()).collect();
    if let Some(expected) = &opts.feature_names {
        if *expected != feature_names {
            return Err(Error::parse(path, at(hline), feature_mismatch(expected, &feature_names)));
        }
    }

    let mut features = Vec::new();
    let mut labels: Vec<(usize, Cow<str>)> = Vec::new();
    let mut n_rows = 0usize;
    for (ln, raw) in lines {
        let mut fields = split_fields(raw).map_err(|r| Error::parse(path, at(ln), r))?;
        if fields.len() != header.len() {
            let reason = format!("has {} fields, the header has {}", fields.len(), header.len());
            return Err(Error::parse(path, at(ln), reason));
        }
        for &c in &feature_cols {
            let v = parse_number(&fields[c], "feature").map_err(|r| Error::parse(path, at_col(ln, &header[c]), r))?;
            features.push(v);
        }
        if let Some(t) = target_col {
            let label = fields.swap_remove(t);
            if label.is_empty() {
                return Err(Error::parse(path, at_col(ln, &header[t]), "the target value is empty"));
            }
            labels.push((ln, label));
        }
        n_rows += 1;
    }
    if n_rows == 0 {
        return Err(Error::parse(path, None, "the file has a header but no data rows"));
    }

    let target_name = target_col.map(|t| header[t].clone()).or_else(|| opts.target.clone()).unwrap_or_default();
    let (targets, classes) = match target_col {
        Some(_) => encode_targets(path, &labels, &target_name, opts)?,
        None => (vec![0.0; n_rows], opts.classes.clone()),
    };
    Ok(Dataset { features, n_features: feature_cols.len(), targets, classes, feature_names, target_name })
}

/// Every header name non-empty and unique.
fn check_header_names(header: &[String]) -> std::result::Result<(), String> {
    for (i, name) in header.iter().enumerate() {
        if name.is_empty() {
            return Err(format!("header column {} has an empty name; every column needs a name", i + 1));
        }
        if let Some(j) = header[..i].iter().position(|h| h == name) {
            return Err(format!("duplicate column name \"{name}\" (columns {} and {})", j + 1, i + 1));
        }
    }
    Ok(())
}

/// The target's column: the one named by `opts.target`, else the last; none when the file may lack a target and
/// it does (the named column is absent, or the columns are exactly the model's features).
fn target_column_of(header: &[String], opts: &CsvOptions) -> std::result::Result<Option<usize>, String> {
    match &opts.target {
        Some(name) => match header.iter().position(|h| h == name) {
            Some(i) => Ok(Some(i)),
            None if !opts.require_target => Ok(None),
            None => Err(format!("unknown target column \"{name}\"; the columns are: {}", name_list(header))),
        },
        None if !opts.require_target && opts.feature_names.as_deref() == Some(header) => Ok(None),
        None => Ok(Some(header.len() - 1)),
    }
}

/// Turns the raw labels into targets (class indices or values) and the class list, per `opts`.
fn encode_targets(
    path: &Path,
    labels: &[(usize, Cow<str>)],
    target_name: &str,
    opts: &CsvOptions,
) -> Result<(Vec<f32>, Option<Vec<String>>)> {
    let loc = |ln: usize| Some(format!("line {ln}, column \"{target_name}\""));
    let kind = match (opts.kind, &opts.classes) {
        (TargetKind::Value, Some(_)) => {
            return Err(Error::config("classes", "a fixed class list was given but the target kind is value"));
        }
        (_, Some(_)) | (TargetKind::Class, None) => TargetKind::Class,
        (TargetKind::Value, None) => TargetKind::Value,
        (TargetKind::Auto, None) => {
            let all_int = labels.iter().all(|(_, l)| l.parse::<i64>().is_ok());
            let any_text = labels.iter().any(|(_, l)| l.parse::<f64>().is_err());
            if all_int || any_text {
                TargetKind::Class
            } else {
                TargetKind::Value
            }
        }
    };
    if kind == TargetKind::Value {
        let mut targets = Vec::with_capacity(labels.len());
        for (ln, l) in labels {
            targets.push(parse_number(l, "target").map_err(|r| Error::parse(path, loc(*ln), r))?);
        }
        return Ok((targets, None));
    }
    let classes = match &opts.classes {
        Some(c) => c.clone(),
        None => sorted_classes(labels.iter().map(|(_, l)| l.as_ref())),
    };
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, c) in classes.iter().enumerate() {
        index.entry(c.as_str()).or_insert(i);
    }
    let mut targets = Vec::with_capacity(labels.len());
    for (ln, l) in labels {
        let Some(&i) = index.get(l.as_ref()) else {
            let reason = format!("label \"{l}\" is not one of the model's classes: {}", name_list(&classes));
            return Err(Error::parse(path, loc(*ln), reason));
        };
        // Exact: class counts are far below 2^24.
        targets.push(i as f32);
    }
    Ok((targets, Some(classes)))
}

/// Sorted distinct labels: numerically when all are integers (so "2" precedes "10"), else lexicographically.
pub(crate) fn sorted_classes<'a>(labels: impl Iterator<Item = &'a str>) -> Vec<String> {
    let distinct: BTreeSet<&str> = labels.collect();
    let ints: Option<Vec<(i64, &str)>> = distinct.iter().map(|l| l.parse::<i64>().ok().map(|v| (v, *l))).collect();
    match ints {
        Some(mut ints) => {
            ints.sort_unstable();
            ints.into_iter().map(|(_, l)| l.to_string()).collect()
        }
        None => distinct.into_iter().map(str::to_string).collect(),
    }
}

/// Parses one finite f32, with a reason naming `what` ("feature" or "target") on failure.
pub(crate) fn parse_number(s: &str, what: &str) -> std::result::Result<f32, String> {
    if s.is_empty() {
        return Err(format!("empty value; every {what} must be a number"));
    }
    match s.parse::<f32>() {
        Ok(v) if v.is_finite() => Ok(v),
        // f32 parsing saturates to infinity, so re-parse as f64 to tell overflow apart from a literal "inf".
        Ok(_) if s.parse::<f64>().is_ok_and(f64::is_finite) => {
            Err(format!("{what} \"{s}\" is too large for a 32-bit float"))
        }
        Ok(_) => Err(format!("{what} \"{s}\" is not a finite number (NaN and infinity are not allowed)")),
        Err(_) => Err(format!("{what} \"{s}\" is not a number")),
    }
}

/// Explains how the file's feature columns differ from the expected ones.
fn feature_mismatch(expected: &[String], found: &[String]) -> String {
    let missing: Vec<String> = expected.iter().filter(|e| !found.contains(e)).cloned().collect();
    let extra: Vec<String> = found.iter().filter(|f| !expected.contains(f)).cloned().collect();
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!("missing feature column(s) {}", name_list(&missing)));
    }
    if !extra.is_empty() {
        parts.push(format!("unexpected column(s) {}", name_list(&extra)));
    }
    if parts.is_empty() {
        parts.push("the feature columns are in a different order".to_string());
    }
    format!("{}; the model expects the feature columns {}", parts.join(", "), name_list(expected))
}

/// Quoted, comma-separated names, shortened so huge headers do not flood the message.
pub(crate) fn name_list(names: &[String]) -> String {
    const SHOWN: usize = 20;
    let shown = names.iter().take(SHOWN).map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ");
    match names.len().checked_sub(SHOWN) {
        Some(more) if more > 0 => format!("{shown}, ... ({more} more)"),
        _ => shown,
    }
}

/// Splits one line into trimmed fields; a quoted field keeps its inner text verbatim, with "" meaning ".
pub(crate) fn split_fields(line: &str) -> std::result::Result<Vec<Cow<'_, str>>, String> {
    let mut fields = Vec::new();
    let mut rest = line;
    loop {
        let t = rest.trim_start();
        let Some(q) = t.strip_prefix('"') else {
            match t.find(',') {
                Some(k) => {
                    fields.push(Cow::Borrowed(t[..k].trim_end()));
                    rest = &t[k + 1..];
                    continue;
                }
                None => {
                    fields.push(Cow::Borrowed(t.trim_end()));
                    return Ok(fields);
                }
            }
        };
        // Allocate only when a doubled quote forces the value to differ from the source text.
        let mut owned: Option<String> = None;
        let mut i = 0;
        let end = loop {
            let Some(k) = q[i..].find('"') else {
                return Err(format!(
                    "field {} opens a quote that is never closed (quoted fields cannot span lines)",
                    fields.len() + 1
                ));
            };
            let pos = i + k;
            if q[pos + 1..].starts_with('"') {
                owned.get_or_insert_with(String::new).push_str(&q[i..=pos]);
                i = pos + 2;
            } else {
                break pos;
            }
        };
        fields.push(match owned {
            Some(mut s) => {
                s.push_str(&q[i..end]);
                Cow::Owned(s)
            }
            None => Cow::Borrowed(&q[..end]),
        });
        let after = q[end + 1..].trim_start();
        if after.is_empty() {
            return Ok(fields);
        }
        match after.strip_prefix(',') {
            Some(r) => rest = r,
            None => return Err(format!("field {} has text after its closing quote", fields.len())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, opts: &CsvOptions) -> Result<Dataset> {
        read_csv_str(text, Path::new("t.csv"), opts)
    }

    fn err(text: &str, opts: &CsvOptions) -> String {
        read(text, opts).unwrap_err().to_string()
    }

    #[test]
    fn string_labels() {
        let d = read("a,b,species\n1,2,setosa\n3,4.5,virginica\n5,6,setosa\n", &CsvOptions::default()).unwrap();
        assert_eq!(d.n_features, 2);
        assert_eq!(d.features, vec![1.0, 2.0, 3.0, 4.5, 5.0, 6.0]);
        assert_eq!(d.classes, Some(vec!["setosa".to_string(), "virginica".to_string()]));
        assert_eq!(d.targets, vec![0.0, 1.0, 0.0]);
        assert_eq!(d.feature_names, vec!["a", "b"]);
        assert_eq!(d.target_name, "species");
    }

    #[test]
    fn integer_labels_sort_numerically() {
        let d = read("x,y\n1,10\n2,2\n3,-1\n4,2\n", &CsvOptions::default()).unwrap();
        assert_eq!(d.classes, Some(vec!["-1".to_string(), "2".to_string(), "10".to_string()]));
        assert_eq!(d.targets, vec![2.0, 1.0, 0.0, 1.0]);
    }

    #[test]
    fn regression_target_and_named_target() {
        let d = read("y,x\n1.5,1\n2,2\n", &CsvOptions { target: Some("y".into()), ..Default::default() }).unwrap();
        assert_eq!((d.classes, d.targets, d.features), (None, vec![1.5, 2.0], vec![1.0, 2.0]));
        let opts = CsvOptions { kind: TargetKind::Value, ..Default::default() };
        assert_eq!(read("x,y\n1,3\n2,4\n", &opts).unwrap().targets, vec![3.0, 4.0]);
        let opts = CsvOptions { kind: TargetKind::Class, ..Default::default() };
        assert_eq!(read("x,y\n1,3\n2,3\n", &opts).unwrap().classes, Some(vec!["3".to_string()]));
    }

    #[test]
    fn bom_crlf_blank_lines_and_quotes() {
        let text = "\u{feff}\"a\", \"b,c\" ,label\r\n\r\n 1 ,\"2\",\"say \"\"hi\"\"\"\r\n3,4,x\r\n\r\n";
        let d = read(text, &CsvOptions::default()).unwrap();
        assert_eq!(d.feature_names, vec!["a", "b,c"]);
        assert_eq!(d.features, vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(d.classes, Some(vec!["say \"hi\"".to_string(), "x".to_string()]));
        assert_eq!(split_fields("a,,b,").unwrap(), vec!["a", "", "b", ""]);
    }

    #[test]
    fn fixed_classes_and_features_for_prediction() {
        let classes = Some(vec!["b".to_string(), "a".to_string()]);
        let names = Some(vec!["x".to_string(), "z".to_string()]);
        let opts = CsvOptions { classes: classes.clone(), feature_names: names.clone(), ..Default::default() };
        assert_eq!(read("x,z,y\n1,2,a\n", &opts).unwrap().targets, vec![1.0]);
        let e = err("x,z,y\n1,2,a\n3,4,c\n", &opts);
        assert!(e.contains("t.csv:line 3, column \"y\"") && e.contains("\"c\" is not one of"), "{e}");
        let e = err("z,x,y\n1,2,a\n", &opts);
        assert!(e.contains("line 1") && e.contains("different order"), "{e}");
        assert!(err("x,w,y\n1,2,a\n", &opts).contains("missing feature column(s) \"z\", unexpected column(s) \"w\""));
        let predict = CsvOptions { require_target: false, ..opts };
        let d = read("x,z\n1,2\n", &predict).unwrap();
        assert_eq!((d.targets, d.classes, d.n_features), (vec![0.0], classes, 2));
        let predict = CsvOptions { target: Some("y".into()), feature_names: None, ..predict };
        assert_eq!(read("x,z\n1,2\n", &predict).unwrap().target_name, "y");
    }

    #[test]
    fn malformed_files() {
        let o = CsvOptions::default();
        assert!(err("", &o).contains("t.csv: the file is empty"));
        assert!(err("\n \r\n", &o).contains("the file is empty"));
        assert!(err("a,b\n\n", &o).contains("header but no data rows"));
        assert!(err("a,b,a\n1,2,3\n", &o).contains("line 1: duplicate column name \"a\" (columns 1 and 3)"));
        assert!(err("a,,b\n1,2,3\n", &o).contains("line 1: header column 2 has an empty name"));
        assert!(err("a,b,c,d\n1,2,3,4\n\n1,2,3\n", &o).contains("t.csv:line 4: has 3 fields, the header has 4"));
        assert!(err("age,y\n1,a\nold,b\n", &o).contains("line 3, column \"age\": feature \"old\" is not a number"));
        assert!(err("age,y\nNaN,a\n", &o).contains("line 2, column \"age\": feature \"NaN\" is not a finite"));
        assert!(err("age,y\n-inf,a\n", &o).contains("not a finite number"));
        assert!(err("age,y\n1e39,a\n", &o).contains("too large for a 32-bit float"));
        assert!(err("age,y\n,a\n", &o).contains("line 2, column \"age\": empty value"));
        assert!(err("a,y\n1,\n", &o).contains("line 2, column \"y\": the target value is empty"));
        assert!(err("a,\"y\n1,2\n", &o).contains("line 1: field 2 opens a quote that is never closed"));
        assert!(err("a,\"y\"z\n1,2\n", &o).contains("text after its closing quote"));
        assert!(err("y\n1\n", &o).contains("at least one feature column"));
        let t = CsvOptions { target: Some("label".into()), ..Default::default() };
        assert!(err("a,b\n1,2\n", &t).contains("unknown target column \"label\"; the columns are: \"a\", \"b\""));
        let v = CsvOptions { kind: TargetKind::Value, ..Default::default() };
        assert!(err("a,y\n1,2\n2,cat\n", &v).contains("line 3, column \"y\": target \"cat\" is not a number"));
        assert!(err("a,y\n1,2.5\n2,inf\n", &o).contains("line 3, column \"y\": target \"inf\" is not a finite"));
        let bad = CsvOptions { kind: TargetKind::Value, classes: Some(vec![]), ..Default::default() };
        assert!(matches!(read("a,y\n1,2\n", &bad), Err(Error::Config { .. })));
    }

    #[test]
    fn file_errors() {
        let dir = std::env::temp_dir().join(format!("wgtrain_csv_test_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let e = read_csv(&dir, &CsvOptions::default()).unwrap_err().to_string();
        assert!(e.contains("is a directory, expected a CSV file"), "{e}");
        let missing = dir.join("missing.csv");
        assert!(matches!(read_csv(&missing, &CsvOptions::default()), Err(Error::Io { .. })));
        let bad = dir.join("bad.csv");
        std::fs::write(&bad, b"a,y\n1,x\n2,\xff\n").unwrap();
        let e = read_csv(&bad, &CsvOptions::default()).unwrap_err().to_string();
        assert!(e.contains("bad.csv:line 3: the file is not valid UTF-8"), "{e}");
        let good = dir.join("good.csv");
        std::fs::write(&good, "a,y\n1,x\n").unwrap();
        assert_eq!(read_csv(&good, &CsvOptions::default()).unwrap().len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
