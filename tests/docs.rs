//! The guide stays true to the program: every relative link in README.md and docs/ reaches an existing file (and
//! heading), every `wgtrain` command line in a shell block uses only options its subcommand has, and every
//! `cargo run --example NAME` names an example that exists. Reads the files as text; no adapter is needed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// README.md and every page in docs/, by path relative to the root, with their text.
fn pages() -> BTreeMap<PathBuf, String> {
    let mut paths = vec![PathBuf::from("README.md")];
    let docs = std::fs::read_dir(root().join("docs")).expect("docs/ exists");
    paths.extend(
        docs.flatten()
            .map(|e| Path::new("docs").join(e.file_name()))
            .filter(|p| p.extension().is_some_and(|e| e == "md")),
    );
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(root().join(&p)).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, text)
        })
        .collect()
}

/// The anchor GitHub gives a heading: lower case, spaces to hyphens, punctuation other than `-` and `_` dropped.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// Lines outside fenced code blocks.
fn prose(text: &str) -> Vec<&str> {
    let mut fenced = false;
    text.lines()
        .filter(|l| {
            if l.trim_start().starts_with("```") {
                fenced = !fenced;
                return false;
            }
            !fenced
        })
        .collect()
}

fn anchors(text: &str) -> BTreeSet<String> {
    prose(text).iter().filter_map(|l| l.strip_prefix('#')).map(|h| anchor(h.trim_start_matches('#'))).collect()
}

/// The targets of inline links `[text](target)` in prose.
fn links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in prose(text) {
        let mut rest = line;
        while let Some(i) = rest.find("](") {
            let after = &rest[i + 2..];
            let Some(end) = after.find(')') else { break };
            out.push(after[..end].to_string());
            rest = &after[end..];
        }
    }
    out
}

#[test]
fn relative_links_reach_files_and_headings() {
    let pages = pages();
    let mut broken = Vec::new();
    for (page, text) in &pages {
        for link in links(text) {
            if link.contains("://") || link.starts_with("mailto:") {
                continue;
            }
            let (path, fragment) = link.split_once('#').unwrap_or((&link, ""));
            let target = if path.is_empty() {
                page.clone()
            } else {
                normalize(&page.parent().unwrap_or(Path::new("")).join(path))
            };
            if target.starts_with("..") || !root().join(&target).exists() {
                broken.push(format!("{}: {link} (no such file in the repository)", page.display()));
                continue;
            }
            if !fragment.is_empty() {
                let text = pages
                    .get(&target)
                    .cloned()
                    .unwrap_or_else(|| std::fs::read_to_string(root().join(&target)).unwrap_or_default());
                if !anchors(&text).contains(fragment) {
                    broken.push(format!("{}: {link} (no such heading)", page.display()));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

/// `a/b/../c` → `a/c`; a path that climbs out of the root keeps its leading `..`.
fn normalize(path: &Path) -> PathBuf {
    let mut out: Vec<&std::ffi::OsStr> = Vec::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir if out.last().is_some_and(|p| *p != "..") => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out.iter().collect()
}

/// The logical lines of every ```sh block (continuations joined, a leading `$ ` prompt and a trailing comment cut).
fn shell_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut in_sh, mut pending) = (false, String::new());
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") {
            in_sh = !in_sh && trimmed == "```sh";
            continue;
        }
        if !in_sh {
            continue;
        }
        let code = match line.find(" # ").or_else(|| line.find("  #")) {
            Some(i) => &line[..i],
            None => line,
        };
        let code = code.trim_end();
        match code.strip_suffix('\\') {
            Some(head) => pending.push_str(head),
            None => {
                pending.push_str(code);
                let full = pending.trim().trim_start_matches("$ ").to_string();
                out.push(full);
                pending.clear();
            }
        }
    }
    out
}

fn help(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_wgtrain")).args(args).output().expect("wgtrain runs");
    assert!(out.status.success(), "wgtrain {args:?} failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether `help` lists `option` as a whole word (`--seed` is not matched by `--seeds`).
fn lists(help: &str, option: &str) -> bool {
    help.match_indices(option).any(|(i, _)| {
        let next = help[i + option.len()..].chars().next();
        !next.is_some_and(|c| c.is_alphanumeric() || c == '-' || c == '_')
    })
}

#[test]
fn documented_command_lines_use_real_options() {
    let mut helps: BTreeMap<String, String> = BTreeMap::new();
    let mut wrong = Vec::new();
    let mut checked = 0;
    for (page, text) in pages() {
        for line in shell_lines(&text) {
            let words: Vec<&str> = line.split_whitespace().collect();
            if words.first() != Some(&"wgtrain") || words.len() < 2 {
                continue;
            }
            let sub = words[1];
            let help = helps
                .entry(sub.to_string())
                .or_insert_with(|| {
                    let own = help(&[sub, "--help"]);
                    // A sweep takes every train option as well as its own.
                    if sub == "sweep" {
                        own + &help(&["train", "--help"])
                    } else {
                        own
                    }
                })
                .clone();
            for word in &words[2..] {
                let option = word.split('=').next().unwrap_or(word);
                if option.starts_with("--") && option.len() > 2 && !lists(&help, option) {
                    wrong.push(format!("{}: `{option}` is not an option of `wgtrain {sub}`: {line}", page.display()));
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} wgtrain command lines found in README.md and docs/");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn documented_examples_exist() {
    let mut missing = Vec::new();
    let mut checked = 0;
    for (page, text) in pages() {
        for line in shell_lines(&text) {
            let words: Vec<&str> = line.split_whitespace().collect();
            if let Some(i) = words.iter().position(|w| *w == "--example") {
                let name = words.get(i + 1).copied().unwrap_or("");
                checked += 1;
                if !root().join("examples").join(format!("{name}.rs")).exists() {
                    missing.push(format!("{}: no example `{name}`: {line}", page.display()));
                }
            }
        }
    }
    assert!(checked >= 5, "only {checked} example commands found");
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}
