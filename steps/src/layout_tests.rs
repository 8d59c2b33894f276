//! Keeps the crate's rooms apart: no step module names another, and no two files import each other in a
//! circle (in this crate or the binary's `src/`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file below `dir`, by its path relative to `dir`.
fn sources(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut found = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let code = std::fs::read_to_string(&path).unwrap();
                found.insert(path.strip_prefix(dir).unwrap().to_path_buf(), code);
            }
        }
    }
    found
}

/// The code of a file without comments and string literals' doc text: what it really names.
fn code_lines(source: &str) -> impl Iterator<Item = &str> {
    source.lines().map(str::trim_start).filter(|l| !l.starts_with("//"))
}

/// Every identifier that follows `prefix` (e.g. `crate::`) in the file's code.
fn names_after<'a>(source: &'a str, prefix: &'a str) -> BTreeSet<&'a str> {
    code_lines(source)
        .flat_map(|line| line.match_indices(prefix).map(move |(i, _)| &line[i + prefix.len()..]))
        .map(|rest| rest.split(|c: char| !(c.is_alphanumeric() || c == '_')).next().unwrap_or(""))
        .filter(|name| !name.is_empty())
        .collect()
}

/// The step module a file belongs to (`s03_api_gateway` for `s03_api_gateway/api.rs`), if any.
fn step_module(path: &Path) -> Option<String> {
    let first = path.components().next()?.as_os_str().to_string_lossy().trim_end_matches(".rs").to_string();
    let is_step = first.len() > 3 && first.starts_with('s') && first[1..3].chars().all(|c| c.is_ascii_digit());
    is_step.then_some(first)
}

#[test]
fn no_step_module_names_another() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut offences = Vec::new();
    for (path, source) in sources(&dir) {
        let Some(own) = step_module(&path) else { continue };
        for name in names_after(&source, "crate::") {
            if step_module(Path::new(name)).is_some_and(|other| other != own) {
                offences.push(format!("{} names crate::{name}", path.display()));
            }
        }
    }
    assert!(offences.is_empty(), "steps meet through outputs, settings and the manual only:\n{}", offences.join("\n"));
}

/// The file a module path leads to: `name.rs` or `name/mod.rs` below `folder`.
fn module_file(files: &BTreeMap<PathBuf, String>, folder: &Path, name: &str) -> Option<PathBuf> {
    [folder.join(format!("{name}.rs")), folder.join(name).join("mod.rs")].into_iter().find(|p| files.contains_key(p))
}

/// File → the files it names: `crate::x` (the root when `x` is no module), `super::x`, its own `x::`.
fn import_graph(files: &BTreeMap<PathBuf, String>, root: &Path) -> BTreeMap<PathBuf, BTreeSet<PathBuf>> {
    let mut graph = BTreeMap::new();
    for (path, source) in files {
        let folder = path.parent().unwrap_or(Path::new(""));
        let is_mod_file = path.file_name().is_some_and(|n| n == "mod.rs") || path == root;
        let mut named = BTreeSet::new();
        for name in names_after(source, "crate::") {
            named.insert(module_file(files, Path::new(""), name).unwrap_or_else(|| root.to_path_buf()));
        }
        let parent_folder = if is_mod_file { folder.parent().unwrap_or(Path::new("")) } else { folder };
        for name in names_after(source, "super::") {
            let sibling = module_file(files, parent_folder, name);
            let parent = [parent_folder.join("mod.rs"), root.to_path_buf()].into_iter().find(|p| files.contains_key(p));
            named.extend(sibling.or(parent));
        }
        if is_mod_file {
            let children: BTreeSet<&str> = code_lines(source)
                .filter_map(|l| l.strip_prefix("mod ").or_else(|| l.strip_prefix("pub mod ")))
                .map(|l| l.trim_end_matches(';'))
                .collect();
            for child in children {
                if source.contains(&format!("{child}::")) {
                    named.extend(module_file(files, folder, child));
                }
            }
        }
        named.remove(path);
        graph.insert(path.clone(), named);
    }
    graph
}

/// A circle of files that name each other, if there is one.
fn find_cycle(graph: &BTreeMap<PathBuf, BTreeSet<PathBuf>>) -> Option<Vec<PathBuf>> {
    fn visit(
        node: &PathBuf,
        graph: &BTreeMap<PathBuf, BTreeSet<PathBuf>>,
        path: &mut Vec<PathBuf>,
        done: &mut BTreeSet<PathBuf>,
    ) -> Option<Vec<PathBuf>> {
        if let Some(start) = path.iter().position(|p| p == node) {
            return Some(path[start..].to_vec());
        }
        if !done.insert(node.clone()) {
            return None;
        }
        path.push(node.clone());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

fn assert_no_cycle(dir: &Path, root: &str) {
    let files = sources(dir);
    let graph = import_graph(&files, Path::new(root));
    if let Some(cycle) = find_cycle(&graph) {
        let names: Vec<String> = cycle.iter().map(|p| p.display().to_string()).collect();
        panic!("files in {} import each other in a circle: {} → back", dir.display(), names.join(" → "));
    }
}

#[test]
fn no_circle_of_imports_between_the_steps_crates_files() {
    assert_no_cycle(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), "lib.rs");
}

#[test]
fn no_circle_of_imports_between_the_binarys_files() {
    assert_no_cycle(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../src"), "main.rs");
}

#[test]
fn the_cycle_finder_finds_a_circle_and_the_rule_sees_a_step_naming_another() {
    let files: BTreeMap<PathBuf, String> = [
        ("lib.rs", "pub mod a;\npub mod b;\n"),
        ("a.rs", "use crate::b::Thing;\n"),
        ("b.rs", "// crate::a in a comment does not count\nfn f() { crate::a::g() }\n"),
    ]
    .into_iter()
    .map(|(p, s)| (PathBuf::from(p), s.to_string()))
    .collect();
    let cycle = find_cycle(&import_graph(&files, Path::new("lib.rs"))).expect("a ↔ b is a circle");
    assert_eq!(cycle.len(), 2);
    assert_eq!(step_module(Path::new("s03_api_gateway/api.rs")).as_deref(), Some("s03_api_gateway"));
    assert_eq!(step_module(Path::new("settings.rs")), None);
    assert!(names_after("use crate::s02_lambda::X;\n// crate::s05_frontend\n", "crate::").contains("s02_lambda"));
    assert!(!names_after("// crate::s05_frontend\n", "crate::").contains("s05_frontend"));
}
