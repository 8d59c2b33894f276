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

/// The code of a file without comment lines: what it really names.
fn code_lines(source: &str) -> impl Iterator<Item = &str> {
    source.lines().map(str::trim_start).filter(|l| !l.starts_with("//"))
}

/// Every module name that follows `prefix` (e.g. `crate::`) in the file's code, grouped lists included:
/// `crate::a::X` and `crate::{a::X, b::{Y, Z}}` both name `a` (and the second `b`), over any lines.
fn names_after(source: &str, prefix: &str) -> BTreeSet<String> {
    let code: String = code_lines(source).collect::<Vec<_>>().join("\n");
    let mut names = BTreeSet::new();
    for (i, _) in code.match_indices(prefix) {
        let rest = &code[i + prefix.len()..];
        match rest.strip_prefix('{') {
            Some(group) => names.extend(first_names_in_group(group)),
            None => names.extend(first_identifier(rest)),
        }
    }
    names
}

fn first_identifier(text: &str) -> Option<String> {
    let name = text.trim_start().split(|c: char| !(c.is_alphanumeric() || c == '_')).next().unwrap_or("");
    (!name.is_empty()).then(|| name.to_string())
}

/// The first identifier of each item of a `{…}` list, up to its closing brace.
fn first_names_in_group(group: &str) -> Vec<String> {
    let (mut depth, mut item_start, mut names) = (0, 0, Vec::new());
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                names.extend(first_identifier(&group[item_start..i]));
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                names.extend(first_identifier(&group[item_start..i]));
                item_start = i + 1;
            }
            _ => {}
        }
    }
    names
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
            if step_module(Path::new(&name)).is_some_and(|other| other != own) {
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

/// The folder a file's child modules live in: the root's and `x/mod.rs`'s own folder, `x.rs`'s `x/`.
fn children_folder(path: &Path, root: &Path) -> PathBuf {
    let folder = path.parent().unwrap_or(Path::new(""));
    if path == root || path.file_name().is_some_and(|n| n == "mod.rs") {
        folder.to_path_buf()
    } else {
        folder.join(path.file_stem().unwrap_or_default())
    }
}

/// The file of the module that declares `path`'s module: `a.rs` or `a/mod.rs` for `a/b.rs`, the root at
/// the top.
fn parent_module(files: &BTreeMap<PathBuf, String>, path: &Path, root: &Path) -> Option<PathBuf> {
    let module_folder =
        if path.file_name().is_some_and(|n| n == "mod.rs") { path.parent()?.parent()? } else { path.parent()? };
    if module_folder.as_os_str().is_empty() {
        return files.contains_key(root).then(|| root.to_path_buf());
    }
    let name = module_folder.file_name()?.to_string_lossy().into_owned();
    module_file(files, module_folder.parent().unwrap_or(Path::new("")), &name)
}

/// The root's re-exports of its parts' modules, `pub use part::{a, b};`: module → the part's folder.
fn reexports(root_source: &str) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    for line in code_lines(root_source) {
        let Some((part, list)) = line.strip_prefix("pub use ").and_then(|rest| rest.split_once("::{")) else {
            continue;
        };
        for name in list.trim_end_matches("};").split(',').map(str::trim).filter(|n| !n.is_empty()) {
            found.insert(name.to_string(), part.to_string());
        }
    }
    found
}

/// File → the files it names: `crate::x` (the root when `x` is no module), `super::x` (the sibling, else
/// the parent module), and its own children `x::` (declared with `mod x;`, in `x.rs`'s folder `x/` too);
/// not its own enclosing modules.
fn import_graph(files: &BTreeMap<PathBuf, String>, root: &Path) -> BTreeMap<PathBuf, BTreeSet<PathBuf>> {
    let mut graph = BTreeMap::new();
    let reexported = reexports(files.get(root).map_or("", String::as_str));
    for (path, source) in files {
        let mut named = BTreeSet::new();
        for name in names_after(source, "crate::") {
            let file = module_file(files, Path::new(""), &name).or_else(|| {
                let folder = reexported.get(&name)?;
                module_file(files, Path::new(folder), &name)
            });
            named.insert(file.unwrap_or_else(|| root.to_path_buf()));
        }
        let parent = parent_module(files, path, root);
        let parent_folder = parent.as_deref().map(|p| children_folder(p, root)).unwrap_or_default();
        for name in names_after(source, "super::") {
            named.extend(module_file(files, &parent_folder, &name).or_else(|| parent.clone()));
        }
        let own_folder = children_folder(path, root);
        let children: BTreeSet<&str> = code_lines(source)
            .filter_map(|l| l.strip_prefix("mod ").or_else(|| l.strip_prefix("pub mod ")))
            .map(|l| l.trim_end_matches(';'))
            .collect();
        for child in children {
            if source.contains(&format!("{child}::")) {
                named.extend(module_file(files, &own_folder, child));
            }
        }
        named.remove(path);
        // A file naming its own enclosing modules (`super::Runner` in `runner/look.rs`) is one module split
        // across files, as an impl split by concern is; a circle must pass through another module.
        let mut ancestor = parent_module(files, path, root);
        while let Some(file) = ancestor {
            named.remove(&file);
            ancestor = if file == root { None } else { parent_module(files, &file, root) };
        }
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

/// `deployer dev` serves what the settings declare; it never reaches into a step (`deployer_steps::sNN_*`).
#[test]
fn the_dev_server_names_no_step_module() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dev/src");
    let mut offences = Vec::new();
    for (path, source) in sources(&dir) {
        for name in names_after(&source, "deployer_steps::") {
            if step_module(Path::new(&name)).is_some() {
                offences.push(format!("dev/src/{} names deployer_steps::{name}", path.display()));
            }
        }
    }
    assert!(offences.is_empty(), "dev serves the settings and the manual, not the steps:\n{}", offences.join("\n"));
}

#[test]
fn no_circle_of_imports_between_the_dev_crates_files() {
    assert_no_cycle(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../dev/src"), "lib.rs");
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
    // Grouped lists over several lines, and a `runner.rs` whose children live in `runner/`.
    let files: BTreeMap<PathBuf, String> = [
        ("main.rs", "mod runner;\nmod state;\n"),
        ("state.rs", "use crate::{\n    cli::Cli,\n    runner::{look, Runner},\n};\n"),
        ("runner.rs", "mod look;\npub fn f() { look::g() }\n"),
        ("runner/look.rs", "use super::super::state;\nuse crate::{state::State};\n"),
    ]
    .into_iter()
    .map(|(p, s)| (PathBuf::from(p), s.to_string()))
    .collect();
    let graph = import_graph(&files, Path::new("main.rs"));
    assert!(graph[Path::new("runner.rs")].contains(Path::new("runner/look.rs")), "{graph:?}");
    assert!(graph[Path::new("state.rs")].contains(Path::new("runner.rs")), "a grouped list counts: {graph:?}");
    assert!(graph[Path::new("runner/look.rs")].contains(Path::new("state.rs")), "{graph:?}");
    let cycle = find_cycle(&graph).expect("state → runner → look → state is a circle");
    assert_eq!(cycle.len(), 3, "{cycle:?}");
    // A module re-exported from a part's folder is named at the root, and resolves to its file.
    let files: BTreeMap<PathBuf, String> = [
        ("lib.rs", "pub mod contract;\npub use contract::{outputs, step};\n"),
        ("contract/mod.rs", "pub mod outputs;\npub mod step;\n"),
        ("contract/outputs.rs", "use crate::step::Context;\n"),
        ("contract/step.rs", "use crate::outputs::Output;\n"),
    ]
    .into_iter()
    .map(|(p, s)| (PathBuf::from(p), s.to_string()))
    .collect();
    let graph = import_graph(&files, Path::new("lib.rs"));
    assert!(graph[Path::new("contract/step.rs")].contains(Path::new("contract/outputs.rs")), "{graph:?}");
    assert_eq!(find_cycle(&graph).map(|c| c.len()), Some(2), "outputs ↔ step through the root's re-exports");
    assert_eq!(step_module(Path::new("s03_api_gateway/api.rs")).as_deref(), Some("s03_api_gateway"));
    assert_eq!(step_module(Path::new("settings.rs")), None);
    assert!(names_after("use crate::s02_lambda::X;\n// crate::s05_frontend\n", "crate::").contains("s02_lambda"));
    assert!(!names_after("// crate::s05_frontend\n", "crate::").contains("s05_frontend"));
}
