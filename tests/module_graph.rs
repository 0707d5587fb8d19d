//! The library's modules import one way: no cycle between source files, and every import points to the same or a
//! lower layer (device ← kernel/tensor ← ops ← network/train). Read from src/ as text, with no adapter needed.
//!
//! An import is any `crate::…`, `super::…` or `self::…` path in code (test modules and `*_tests.rs` files aside),
//! and a `use child::…` of a module's own child; it points at the longest prefix of the path that is a module file.
//! A parent's `pub use child::…` is a façade (the child's items shown under the parent's name), not a dependency
//! of the parent on the child, so it does not count.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Layers, lowest first: a module may import its own layer (without a cycle) and the ones below.
const LAYERS: &[&[&str]] = &[
    // Plain data and helpers that know nothing of the device: errors, files, configs, schedules, the enums the
    // shaders are generated from.
    &["error", "internal", "activation", "optim", "schedule", "history", "tensor_file", "plot", "batches", "precision"],
    // The device and the WGSL sources.
    &["gpu", "shaders", "matmul_wgsl"],
    &["kernel", "tensor", "texture"],
    // Launchers, the CPU twins, the model description, data sets.
    &["ops", "reference", "model", "data", "train_config"],
    &["network", "train", "saved", "resume", "sweep"],
    &["lib"],
];

/// Known imports against the layers, each with the reason it is still there; the test fails when one is gone, so
/// the list only shrinks.
const KNOWN: &[(&str, &str, &str)] = &[];

type Graph = BTreeMap<String, BTreeSet<String>>;

fn module_files() -> BTreeMap<String, String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("src/ is readable").flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = Vec::new();
    walk(&src, &mut paths);
    let mut files = BTreeMap::new();
    for path in paths {
        let rel = path.strip_prefix(&src).expect("under src").with_extension("");
        let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
        if parts[0] == "bin" || parts.last().is_some_and(|p| p.ends_with("_tests")) {
            continue;
        }
        if parts.last().is_some_and(|p| p == "mod") {
            parts.pop();
        }
        let name = if parts == ["lib"] { "lib".to_string() } else { parts.join("::") };
        files.insert(name, std::fs::read_to_string(&path).expect("readable"));
    }
    files
}

/// The text without `#[cfg(test)] mod … { … }` blocks and without comments.
fn code_of(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "#[cfg(test)]" {
            let mut depth = 0i32;
            let mut opened = false;
            for l in lines.by_ref() {
                depth += l.matches('{').count() as i32 - l.matches('}').count() as i32;
                opened |= l.contains('{');
                if (opened && depth <= 0) || (!opened && l.trim_end().ends_with(';')) {
                    break;
                }
            }
            continue;
        }
        let code = line.split("//").next().unwrap_or("");
        out.push_str(code);
        out.push('\n');
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Expands a use tree starting at `s` (after `root::`) into full paths: `a::{b, c::d}` gives a::b and a::c::d.
fn expand(prefix: &[String], s: &str) -> Vec<Vec<String>> {
    let s = s.trim_start();
    if let Some(rest) = s.strip_prefix('{') {
        let mut depth = 1;
        let mut end = rest.len();
        for (i, c) in rest.char_indices() {
            depth += match c {
                '{' => 1,
                '}' => -1,
                _ => 0,
            };
            if depth == 0 {
                end = i;
                break;
            }
        }
        let mut items = Vec::new();
        let (mut depth, mut start) = (0, 0);
        let inner = &rest[..end];
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    items.push(&inner[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        items.push(&inner[start..]);
        return items.into_iter().filter(|i| !i.trim().is_empty()).flat_map(|i| expand(prefix, i)).collect();
    }
    let ident: String = s.chars().take_while(|&c| is_ident(c)).collect();
    if ident.is_empty() {
        return vec![prefix.to_vec()];
    }
    let mut path = prefix.to_vec();
    path.push(ident.clone());
    match s[ident.len()..].strip_prefix("::") {
        Some(rest) => expand(&path, rest),
        None => vec![path],
    }
}

fn graph() -> (Graph, BTreeMap<String, String>) {
    let files = module_files();
    let mut edges = Graph::new();
    for (module, text) in &files {
        let code = code_of(text);
        let me: Vec<String> = if module == "lib" { Vec::new() } else { module.split("::").map(String::from).collect() };
        let parent = &me[..me.len().saturating_sub(1)];
        let mut paths = Vec::new();
        for (root, base) in [("crate::", Vec::new()), ("super::", parent.to_vec()), ("self::", me.clone())] {
            let mut at = 0;
            while let Some(i) = code[at..].find(root) {
                let start = at + i;
                at = start + root.len();
                if code[..start].chars().next_back().is_some_and(is_ident) {
                    continue;
                }
                paths.extend(expand(&base, &code[at..]));
            }
        }
        for stmt in code.split(';') {
            let stmt = stmt.trim_start();
            let body = stmt.strip_prefix("use ");
            if let Some(body) = body {
                let child: String = body.chars().take_while(|&c| is_ident(c)).collect();
                let mut full = me.clone();
                full.push(child);
                if files.contains_key(&full.join("::")) {
                    paths.extend(expand(&me, body));
                }
            }
        }
        for mut path in paths {
            while !path.is_empty() && !files.contains_key(&path.join("::")) {
                path.pop();
            }
            let target = if path.is_empty() { "lib".to_string() } else { path.join("::") };
            // An import that stops at the crate root goes through a root re-export; it counts as an import of `lib`
            // (the top layer), so library modules name the module an item lives in.
            if &target != module && module != "lib" {
                edges.entry(module.clone()).or_default().insert(target);
            }
        }
    }
    (edges, files)
}

/// The strongly connected components of more than one module (Tarjan).
fn cycles(edges: &Graph, nodes: &[String]) -> Vec<Vec<String>> {
    struct State<'a> {
        edges: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        for w in s.edges.get(v).into_iter().flatten() {
            if !s.index.contains_key(w.as_str()) {
                visit(s, w);
                let lw = s.low[w.as_str()];
                s.low.insert(v, s.low[v].min(lw));
            } else if s.stack.contains(&w.as_str()) {
                let iw = s.index[w.as_str()];
                s.low.insert(v, s.low[v].min(iw));
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                s.out.push(comp);
            }
        }
    }
    let mut s = State { edges, index: BTreeMap::new(), low: BTreeMap::new(), stack: Vec::new(), out: Vec::new() };
    for v in nodes {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.out
}

fn top(module: &str) -> &str {
    module.split("::").next().unwrap_or(module)
}

fn layer(module: &str) -> usize {
    LAYERS
        .iter()
        .position(|l| l.contains(&top(module)))
        .unwrap_or_else(|| panic!("module {module} is in no layer of tests/module_graph.rs; add it to LAYERS"))
}

#[test]
fn no_cycle_between_source_files() {
    let (edges, files) = graph();
    let nodes: Vec<String> = files.keys().cloned().collect();
    assert!(edges.values().map(BTreeSet::len).sum::<usize>() > 100, "the import scan found almost nothing");
    let found = cycles(&edges, &nodes);
    assert!(found.is_empty(), "modules importing each other in a circle: {found:#?}");
}

#[test]
fn no_cycle_between_top_level_modules() {
    let (edges, files) = graph();
    let mut tops = Graph::new();
    for (from, tos) in &edges {
        for to in tos {
            if top(from) != top(to) {
                tops.entry(top(from).to_string()).or_default().insert(top(to).to_string());
            }
        }
    }
    let nodes: BTreeSet<String> = files.keys().map(|m| top(m).to_string()).collect();
    let found = cycles(&tops, &nodes.into_iter().collect::<Vec<_>>());
    assert!(found.is_empty(), "top-level modules importing each other: {found:#?}");
}

/// Every (module, top-level module) pair where the first imports a higher layer.
fn upward(edges: &Graph) -> BTreeSet<(String, String)> {
    let mut upward = BTreeSet::new();
    for (from, tos) in edges {
        for to in tos {
            if layer(to) > layer(from) {
                upward.insert((from.clone(), top(to).to_string()));
            }
        }
    }
    upward
}

#[test]
fn imports_point_down_the_layers() {
    let (edges, _) = graph();
    let upward = upward(&edges);
    let known: BTreeSet<(String, String)> = KNOWN.iter().map(|(f, t, _)| (f.to_string(), t.to_string())).collect();
    let new: Vec<_> = upward.difference(&known).collect();
    assert!(new.is_empty(), "imports of a higher layer (LAYERS in tests/module_graph.rs): {new:#?}");
    let gone: Vec<_> = known.difference(&upward).collect();
    assert!(gone.is_empty(), "no longer imported, drop from KNOWN: {gone:#?}");
}

/// The layer check must see an upward import, including one through a crate-root re-export (`crate::Gpu`).
#[test]
fn an_upward_import_is_noticed() {
    let mut edges = Graph::new();
    edges.entry("gpu".into()).or_default().insert("network::plan".into());
    edges.entry("ops::loss".into()).or_default().insert("lib".into());
    edges.entry("network".into()).or_default().insert("ops::loss".into());
    let want: BTreeSet<(String, String)> =
        [("gpu", "network"), ("ops::loss", "lib")].iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    assert_eq!(upward(&edges), want);
}

/// The scan must see what a cycle is made of: a made-up pair of modules importing each other is one.
#[test]
fn a_cycle_is_noticed() {
    let mut edges = Graph::new();
    edges.entry("a".into()).or_default().insert("b".into());
    edges.entry("b".into()).or_default().insert("a".into());
    edges.entry("c".into()).or_default().insert("a".into());
    assert_eq!(cycles(&edges, &["a".into(), "b".into(), "c".into()]), vec![vec!["a".to_string(), "b".to_string()]]);
    let code = code_of("use crate::{gpu::Gpu, ops::{loss::Loss, step}};\n// use crate::plot;\n");
    let paths: Vec<Vec<String>> = expand(&[], &code[code.find("crate::").unwrap() + 7..]);
    assert_eq!(paths.len(), 3, "{paths:?}");
}
