//! The code's shape, checked: no import cycle between the files of
//! `protocol/src`, `actors/src` or `src` (docs/architecture.md: messages
//! live apart from the actors, so no file imports back). A file refers to
//! another through a `crate::a::b` path, in a `use` or inline; test modules
//! are not counted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module path (`messages::agent`) -> file, for every `.rs` under `root`.
fn modules(root: &Path) -> BTreeMap<String, PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(root, &mut files);
    files
        .into_iter()
        .map(|f| {
            let rel = f.strip_prefix(root).unwrap().with_extension("");
            let mut name = rel.to_string_lossy().replace('/', "::");
            if let Some(parent) = name.strip_suffix("::mod") {
                name = parent.to_owned();
            }
            (name, f)
        })
        .collect()
}

/// The `crate::...` paths in `text`, with `crate::a::{b, c::d}` expanded.
fn crate_paths(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(rest.len());
        let head = rest[..end].trim_end_matches(':').to_owned();
        if rest[end..].starts_with('{') && rest[..end].ends_with("::") {
            let close = rest[end..].find('}').map_or(rest.len(), |c| end + c);
            for item in rest[end + 1..close].split(',') {
                let item = item.split_whitespace().next().unwrap_or("");
                if !item.is_empty() && item != "self" {
                    out.push(format!("{head}::{item}"));
                }
            }
        }
        out.push(head);
    }
    out
}

/// Who refers to whom (a file to its own ancestors does not count: a child
/// module using its parent's items is not a cycle between files).
fn graph(root: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mods = modules(root);
    let mut g = BTreeMap::new();
    for (name, file) in &mods {
        let text = std::fs::read_to_string(file).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        let mut deps = BTreeSet::new();
        for path in crate_paths(code) {
            let parts: Vec<&str> = path.split("::").collect();
            if let Some(target) = (1..=parts.len())
                .rev()
                .map(|k| parts[..k].join("::"))
                .find(|m| mods.contains_key(m))
            {
                let ancestor = name.starts_with(&format!("{target}::"));
                if target != *name && !ancestor && target != "lib" && target != "main" {
                    deps.insert(target);
                }
            }
        }
        g.insert(name.clone(), deps);
    }
    g
}

/// A cycle in `g`, if there is one (depth-first search with colours).
fn find_cycle(g: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        n: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        marks: &mut BTreeMap<String, Mark>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        marks.insert(n.to_owned(), Mark::Open);
        stack.push(n.to_owned());
        for d in g.get(n).into_iter().flatten() {
            match marks.get(d.as_str()) {
                Some(Mark::Open) => {
                    let from = stack.iter().position(|s| s == d).unwrap();
                    let mut cycle = stack[from..].to_vec();
                    cycle.push(d.clone());
                    return Some(cycle);
                }
                Some(Mark::Done) => {}
                None => {
                    if let Some(c) = visit(d, g, marks, stack) {
                        return Some(c);
                    }
                }
            }
        }
        stack.pop();
        marks.insert(n.to_owned(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for n in g.keys() {
        if !marks.contains_key(n.as_str()) {
            if let Some(c) = visit(n, g, &mut marks, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

#[test]
fn no_import_cycle_between_files() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    for root in ["protocol/src", "actors/src", "src"] {
        let g = graph(&here.join(root));
        assert!(g.len() > 5, "{root}: too few files read ({})", g.len());
        if let Some(cycle) = find_cycle(&g) {
            panic!("{root}: import cycle {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn the_checker_sees_a_cycle_and_expands_grouped_paths() {
    assert_eq!(
        crate_paths("use crate::a::{b, c::D};\nlet x = crate::e::f();"),
        ["a::b", "a::c::D", "a", "e::f"]
    );
    let g: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec![]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
    .collect();
    assert_eq!(find_cycle(&g).unwrap(), ["a", "b", "c", "a"]);
    let mut acyclic = g.clone();
    acyclic.get_mut("c").unwrap().clear();
    assert_eq!(find_cycle(&acyclic), None);
}

/// Lines of code in a source file: not blank, not a comment, and before
/// its test module.
fn code_lines(text: &str) -> usize {
    text.split("#[cfg(test)]")
        .next()
        .unwrap_or("")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//"))
        .count()
}

#[test]
fn no_source_file_over_a_thousand_lines_of_code() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut over = Vec::new();
    for root in ["protocol/src", "actors/src", "src"] {
        for (name, file) in modules(&here.join(root)) {
            let n = code_lines(&std::fs::read_to_string(&file).unwrap());
            if n > 1000 {
                over.push(format!("{root}: {name} has {n}"));
            }
        }
    }
    assert!(over.is_empty(), "files over 1,000 lines of code: {over:?}");
    assert_eq!(
        code_lines("// a\n\nfn f() {}\n  /// doc\nlet x = 1;\n#[cfg(test)]\nmod t {}\n"),
        2
    );
}
