//! A CSV file read as text cells: the header and every row's fields, unparsed, for the [`Preprocessor`]
//! (crate::data::preprocess) to type, encode and impute column by column.

use std::path::{Path, PathBuf};

use super::csv::split_fields;
use crate::error::{Error, Result};

/// The cells of a CSV file, addressed by row and column, with each row's line number for error messages.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// The file the table came from (for error messages).
    pub path: PathBuf,
    /// Column names, unique and non-empty.
    pub header: Vec<String>,
    /// Data rows: (line number from 1, one trimmed field per header column).
    pub rows: Vec<(usize, Vec<String>)>,
}

/// Cells that count as missing: empty, `NA`, `N/A`, `NaN`, `null` and `?` (any letter case).
pub fn is_missing(cell: &str) -> bool {
    cell.is_empty() || ["na", "n/a", "nan", "null", "?"].iter().any(|m| cell.eq_ignore_ascii_case(m))
}

impl Table {
    /// Number of data rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are no data rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Checks what [`read_table`] guarantees, for a table built by hand: a header, and rows as wide as it.
    pub fn check(&self) -> Result<()> {
        if self.header.is_empty() {
            return Err(Error::parse(&self.path, None, "the table has no columns"));
        }
        for (line, row) in &self.rows {
            if row.len() != self.header.len() {
                let reason = format!("has {} fields, the header has {}", row.len(), self.header.len());
                return Err(Error::parse(&self.path, Some(format!("line {line}")), reason));
            }
        }
        Ok(())
    }

    /// The index of the column called `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    /// A table with the given rows, in the given order (panics on an index `>= len()`, like slice indexing).
    pub fn subset(&self, indices: &[usize]) -> Table {
        Table {
            path: self.path.clone(),
            header: self.header.clone(),
            rows: indices.iter().map(|&i| self.rows[i].clone()).collect(),
        }
    }

    /// The rows for which `keep` holds.
    pub fn filter(&self, mut keep: impl FnMut(&[String]) -> bool) -> Table {
        let rows = self.rows.iter().filter(|(_, r)| keep(r)).cloned().collect();
        Table { path: self.path.clone(), header: self.header.clone(), rows }
    }
}

/// Reads a CSV file as a [`Table`]; see [`read_table_str`] for the format rules.
#[cfg(not(target_arch = "wasm32"))]
pub fn read_table(path: &Path) -> Result<Table> {
    if path.is_dir() {
        return Err(Error::parse(path, None, "is a directory, expected a CSV file"));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    read_table_bytes(&bytes, path)
}

/// Parses the bytes of a CSV file (UTF-8 required) as [`read_table`] does; `path` only names the file in errors
/// (a file dropped on the web page).
pub fn read_table_bytes(bytes: &[u8], path: &Path) -> Result<Table> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
        Error::parse(path, Some(format!("line {line}")), "the file is not valid UTF-8 text; re-save it as UTF-8")
    })?;
    read_table_str(text, path)
}

/// Parses CSV text (header required, optional BOM, CRLF or LF, blank lines skipped, RFC 4180 quoting within a
/// line, every row as wide as the header), keeping the cells as text.
pub fn read_table_str(text: &str, path: &Path) -> Result<Table> {
    let at = |line: usize| Some(format!("line {line}"));
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
        split_fields(hraw).map_err(|r| Error::parse(path, at(hline), r))?.into_iter().map(|c| c.into_owned()).collect();
    for (i, name) in header.iter().enumerate() {
        if name.is_empty() {
            let reason = format!("header column {} has an empty name; every column needs a name", i + 1);
            return Err(Error::parse(path, at(hline), reason));
        }
        if let Some(j) = header[..i].iter().position(|h| h == name) {
            let reason = format!("duplicate column name \"{name}\" (columns {} and {})", j + 1, i + 1);
            return Err(Error::parse(path, at(hline), reason));
        }
    }
    let mut rows = Vec::new();
    for (ln, raw) in lines {
        let fields = split_fields(raw).map_err(|r| Error::parse(path, at(ln), r))?;
        if fields.len() != header.len() {
            let reason = format!("has {} fields, the header has {}", fields.len(), header.len());
            return Err(Error::parse(path, at(ln), reason));
        }
        rows.push((ln, fields.into_iter().map(|c| c.into_owned()).collect()));
    }
    if rows.is_empty() {
        return Err(Error::parse(path, None, "the file has a header but no data rows"));
    }
    Ok(Table { path: path.to_path_buf(), header, rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_missing_markers_and_subsets() {
        let t = read_table_str("\u{feff}a, \"b,c\"\r\n1,x\n\n,NA\n", Path::new("t.csv")).unwrap();
        assert_eq!(t.header, vec!["a", "b,c"]);
        assert_eq!(t.rows, vec![(2, vec!["1".to_string(), "x".into()]), (4, vec![String::new(), "NA".into()])]);
        assert_eq!((t.len(), t.column("b,c"), t.column("z")), (2, Some(1), None));
        assert_eq!(t.subset(&[1]).rows[0].0, 4);
        assert_eq!(t.filter(|r| !is_missing(&r[0])).len(), 1);
        for m in ["", "NA", "n/a", "NaN", "null", "NULL", "?"] {
            assert!(is_missing(m), "{m}");
        }
        for v in ["0", "none", "-", "nan1"] {
            assert!(!is_missing(v), "{v}");
        }
    }

    #[test]
    fn malformed_tables() {
        let err = |s: &str| read_table_str(s, Path::new("t.csv")).unwrap_err().to_string();
        assert!(err("").contains("t.csv: the file is empty"));
        assert!(err("a,b\n").contains("header but no data rows"));
        assert!(err("a,a\n1,2\n").contains("line 1: duplicate column name \"a\""));
        assert!(err("a,\n1,2\n").contains("header column 2 has an empty name"));
        assert!(err("a,b\n1,2\n1\n").contains("t.csv:line 3: has 1 fields, the header has 2"));
        let mut t = read_table_str("a,b\n1,2\n", Path::new("t.csv")).unwrap();
        assert!(t.check().is_ok());
        t.rows[0].1.pop();
        assert!(t.check().unwrap_err().to_string().contains("t.csv:line 2: has 1 fields"));
        t.header.clear();
        assert!(t.check().unwrap_err().to_string().contains("no columns"));
    }
}
