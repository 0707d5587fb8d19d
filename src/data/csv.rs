//! CSV text rules shared by the table reader ([`super::table`]) and the preprocessor: splitting a line into fields,
//! reading a number, ordering class labels, and how to read the target column.

use std::borrow::Cow;
use std::collections::BTreeSet;

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

    #[test]
    fn integer_labels_sort_numerically_text_labels_lexically() {
        assert_eq!(sorted_classes(["10", "2", "-1", "2"].into_iter()), vec!["-1", "2", "10"]);
        assert_eq!(sorted_classes(["b", "a", "10", "2"].into_iter()), vec!["10", "2", "a", "b"]);
    }

    #[test]
    fn fields_quotes_and_numbers() {
        assert_eq!(split_fields("a,,b,").unwrap(), vec!["a", "", "b", ""]);
        assert_eq!(split_fields(" 1 ,\"2\",\"say \"\"hi\"\"\"").unwrap(), vec!["1", "2", "say \"hi\""]);
        assert!(split_fields("a,\"y").unwrap_err().contains("field 2 opens a quote that is never closed"));
        assert!(split_fields("a,\"y\"z").unwrap_err().contains("text after its closing quote"));
        assert_eq!(parse_number("2.5", "feature"), Ok(2.5));
        assert!(parse_number("old", "feature").unwrap_err().contains("feature \"old\" is not a number"));
        assert!(parse_number("NaN", "feature").unwrap_err().contains("is not a finite number"));
        assert!(parse_number("-inf", "target").unwrap_err().contains("target \"-inf\" is not a finite number"));
        assert!(parse_number("1e39", "feature").unwrap_err().contains("too large for a 32-bit float"));
        assert!(parse_number("", "feature").unwrap_err().contains("empty value"));
    }
}
