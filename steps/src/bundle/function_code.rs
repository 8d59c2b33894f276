//! Each function's own package, cut from the bundle: the bundle without the handler modules of the other
//! functions that no file imports. A handler edited then changes one function's code and costs one
//! upload, not one per function at Lambda's 15 requests/s; a shared file edited changes every package.
//!
//! What a file imports is read from its import statements (`import a.b`, `from a import (b, c)`, relative
//! ones): a handler module whose name any other file's imports mention stays in every package. A backend
//! that imports modules by computed names (`importlib`, `__import__`, `runpy`) cannot be read so, and each
//! function gets the whole bundle, as one package for all.
//!
//! A package's SHA-256 (Lambda's `CodeSha256`) is kept in the cache by what it is made of (each file's
//! name and content digest), so that a run zips only the packages whose files changed.

use anyhow::{Context as _, Result};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::package::{hex, write_checked_zip, Package, SOURCE_DIRS};

/// A function's package: its files, zipped when uploaded.
pub struct FunctionCode {
    entries: BTreeMap<String, PathBuf>,
    /// base64(SHA-256(zip)), the form Lambda reports as `CodeSha256`.
    pub code_sha256: String,
}

impl FunctionCode {
    /// The zip, byte for byte the one whose SHA-256 is `code_sha256`.
    pub fn zip(&self) -> Result<Vec<u8>> {
        write_checked_zip(&self.entries)
    }
}

/// The words of a Python file's import statements, and whether it imports by computed names.
fn imports(source: &str) -> (BTreeSet<String>, bool) {
    let dynamic = ["importlib", "__import__", "import_module", "runpy"].iter().any(|word| source.contains(word));
    let mut words = BTreeSet::new();
    let (mut in_parentheses, mut continued) = (false, false);
    for line in source.lines().map(str::trim) {
        let statement = line.starts_with("import ") || line.starts_with("from ");
        if !(statement || in_parentheses || continued) {
            continue;
        }
        let split = line.split(|c: char| !(c.is_alphanumeric() || c == '_'));
        words.extend(split.filter(|w| !w.is_empty()).map(String::from));
        if statement && line.contains('(') {
            in_parentheses = true;
        }
        if in_parentheses && line.contains(')') {
            in_parentheses = false;
        }
        continued = line.ends_with('\\');
    }
    (words, dynamic)
}

/// A module's name as an import names it last: `handlers/generated/f42.py` → `f42`.
fn module_name(file: &str) -> &str {
    let stem = file.rsplit('/').next().unwrap_or(file);
    stem.strip_suffix(".py").unwrap_or(stem)
}

/// The handler files no other source file imports: left out of the packages of the functions they do not
/// serve. None when a source file imports by computed names.
fn unimported_handlers(
    entries: &BTreeMap<String, PathBuf>,
    handler_files: &BTreeSet<&str>,
) -> Result<BTreeSet<String>> {
    let sources = entries.iter().filter(|(name, _)| {
        name.ends_with(".py") && SOURCE_DIRS.iter().any(|dir| name.starts_with(&format!("{dir}/")))
    });
    let mut imported_by: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, path) in sources {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let (words, dynamic) = imports(&text);
        if dynamic {
            return Ok(BTreeSet::new());
        }
        for word in words {
            imported_by.entry(word).or_default().insert(name.clone());
        }
    }
    let imported_elsewhere = |file: &str| {
        imported_by.get(module_name(file)).is_some_and(|importers| importers.iter().any(|importer| importer != file))
    };
    Ok(handler_files.iter().filter(|file| !imported_elsewhere(file)).map(|file| file.to_string()).collect())
}

/// What a package is made of: each file's name and content digest, in order.
fn made_of(entries: &BTreeMap<String, PathBuf>, digests: &mut BTreeMap<PathBuf, String>) -> Result<String> {
    let mut made_of = Sha256::new();
    for (name, path) in entries {
        if !digests.contains_key(path) {
            let content = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            digests.insert(path.clone(), hex(&Sha256::digest(&content)));
        }
        made_of.update(format!("{name}\0{}\n", digests[path]));
    }
    Ok(hex(&made_of.finalize()))
}

/// The package's `CodeSha256`, from the cache when the same files were zipped before.
fn code_sha256(entries: &BTreeMap<String, PathBuf>, made_of: &str, cache_dir: &Path) -> Result<String> {
    let cached = cache_dir.join("code-sha256").join(made_of);
    if let Ok(sha) = std::fs::read_to_string(&cached) {
        return Ok(sha);
    }
    let sha = aws_smithy_types::base64::encode(Sha256::digest(write_checked_zip(entries)?));
    // A cache entry written whole or not at all: a kill mid-write leaves no wrong digest behind.
    let folder = cached.parent().context("the cache entry's folder")?;
    std::fs::create_dir_all(folder).with_context(|| format!("creating {}", folder.display()))?;
    let staging = folder.join(format!("{made_of}.{}", std::process::id()));
    std::fs::write(&staging, &sha).with_context(|| format!("writing {}", staging.display()))?;
    std::fs::rename(&staging, &cached).with_context(|| format!("writing {}", cached.display()))?;
    Ok(sha)
}

/// The packages of the functions in `handler_files` (each one's handler module file, such as
/// `handlers/api/usage.py`), from `bundle`, by function. `all_handlers` are every function's, whatever
/// its architecture: a function's package leaves out the same files on either.
pub fn cut(
    bundle: &Package,
    handler_files: &BTreeMap<String, String>,
    all_handlers: &BTreeSet<&str>,
    cache_dir: &Path,
) -> Result<BTreeMap<String, FunctionCode>> {
    let left_out = unimported_handlers(&bundle.entries, all_handlers)?;
    let mut digests = BTreeMap::new();
    let mut shas: BTreeMap<String, String> = BTreeMap::new();
    let mut codes = BTreeMap::new();
    for (function, own) in handler_files {
        let entries: BTreeMap<String, PathBuf> = bundle
            .entries
            .iter()
            .filter(|(name, _)| *name == own || !left_out.contains(*name))
            .map(|(name, path)| (name.clone(), path.clone()))
            .collect();
        let made_of = made_of(&entries, &mut digests)?;
        let code_sha256 = match shas.get(&made_of) {
            Some(sha) => sha.clone(),
            None => code_sha256(&entries, &made_of, cache_dir)?,
        };
        shas.insert(made_of, code_sha256.clone());
        codes.insert(function.clone(), FunctionCode { entries, code_sha256 });
    }
    Ok(codes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn backend(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, body) in files {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, body).unwrap();
        }
        dir
    }

    fn codes(dir: &Path, cache: &Path) -> BTreeMap<String, FunctionCode> {
        let bundle = crate::package::build(dir, cache, "python3.12", "x86_64").unwrap();
        let handlers = [("a", "handlers/a.py"), ("b", "handlers/b.py"), ("c", "handlers/c.py")];
        let handlers: BTreeMap<String, String> = handlers.iter().map(|(f, h)| (f.to_string(), h.to_string())).collect();
        let all: BTreeSet<&str> = handlers.values().map(String::as_str).collect();
        cut(&bundle, &handlers, &all, cache).unwrap()
    }

    fn names(code: &FunctionCode) -> Vec<String> {
        let zip = zip::ZipArchive::new(Cursor::new(code.zip().unwrap())).unwrap();
        zip.file_names().map(String::from).collect::<BTreeSet<_>>().into_iter().collect()
    }

    const HANDLERS: [(&str, &str); 5] = [
        ("handlers/a.py", "from utils.http import ok\n\ndef handler(e, c): return ok()\n"),
        ("handlers/b.py", "from handlers import (\n    c,\n)\n\ndef handler(e, c): return 1\n"),
        ("handlers/c.py", "def handler(e, c): return 2\n"),
        ("handlers/__init__.py", ""),
        ("utils/http.py", "def ok(): return {}\n"),
    ];

    #[test]
    fn each_function_gets_its_handler_the_shared_files_and_the_handlers_others_import() {
        let (dir, cache) = (backend(&HANDLERS), tempfile::tempdir().unwrap());
        let codes = codes(dir.path(), cache.path());
        // c is imported by b (a parenthesised import over lines): every package keeps it.
        assert_eq!(names(&codes["a"]), ["handlers/__init__.py", "handlers/a.py", "handlers/c.py", "utils/http.py"]);
        assert_eq!(names(&codes["b"]), ["handlers/__init__.py", "handlers/b.py", "handlers/c.py", "utils/http.py"]);
        assert_eq!(names(&codes["c"]), ["handlers/__init__.py", "handlers/c.py", "utils/http.py"]);
        let sha = |code: &FunctionCode| aws_smithy_types::base64::encode(Sha256::digest(code.zip().unwrap()));
        assert!(codes.values().all(|code| sha(code) == code.code_sha256), "the digest is the zip's");
    }

    #[test]
    fn a_handler_edited_changes_its_functions_code_and_a_shared_file_every_ones() {
        let (dir, cache) = (backend(&HANDLERS), tempfile::tempdir().unwrap());
        let before = codes(dir.path(), cache.path());
        std::fs::write(dir.path().join("handlers/a.py"), "def handler(e, c): return 3\n").unwrap();
        let after = codes(dir.path(), cache.path());
        let changed: Vec<&String> = before.keys().filter(|f| before[*f].code_sha256 != after[*f].code_sha256).collect();
        assert_eq!(changed, ["a"]);
        std::fs::write(dir.path().join("utils/http.py"), "def ok(): return {'changed': 1}\n").unwrap();
        let shared = codes(dir.path(), cache.path());
        assert!(after.keys().all(|f| after[f].code_sha256 != shared[f].code_sha256));
    }

    #[test]
    fn a_backend_that_imports_by_computed_names_gives_every_function_the_whole_bundle() {
        let mut files = HANDLERS.to_vec();
        files.push(("lib/plugins.py", "import importlib\n\ndef load(n): return importlib.import_module(n)\n"));
        let (dir, cache) = (backend(&files), tempfile::tempdir().unwrap());
        let codes = codes(dir.path(), cache.path());
        let whole = names(&codes["a"]);
        assert_eq!(whole.len(), 6);
        assert!(codes.values().all(|code| names(code) == whole));
    }

    #[test]
    fn import_statements_are_read_over_lines_and_relative_forms() {
        let (words, dynamic) =
            imports("import os\nfrom . import (\n  alpha,\n  beta)\nx = gamma\nfrom .delta import e \\\n  , f\n");
        for word in ["os", "alpha", "beta", "delta", "e", "f"] {
            assert!(words.contains(word), "{word}");
        }
        assert!(!words.contains("gamma") && !dynamic);
    }
}
