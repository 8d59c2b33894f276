//! What pip put in the bundle, checked before anything is uploaded: each requirement of
//! `requirements.txt` must have arrived as an installed distribution with something to import (Lambda's
//! "Unable to import module" is otherwise found only at the first request).

use std::path::Path;

/// The distribution a requirement line names (PEP 508: the name before any extra, version, marker or
/// URL); `None` for pip options (`-r`, `--index-url`).
pub fn requirement_name(line: &str) -> Option<String> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('-') {
        return None;
    }
    let end = line.find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))).unwrap_or(line.len());
    let name = &line[..end];
    (!name.is_empty()).then(|| normalized(name))
}

/// PEP 503's form of a name: lower case, each run of `-`, `_` and `.` as one `-`.
fn normalized(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// Whether a `RECORD` path is something Python imports from the bundle's root.
fn importable(path: &str) -> bool {
    let first = path.split('/').next().unwrap_or_default();
    let in_metadata = first.ends_with(".dist-info") || first.ends_with(".data") || first == "..";
    !in_metadata && [".py", ".so", ".pyd", ".pth"].iter().any(|ext| path.ends_with(ext))
}

/// Whether `installed` (a `pip install --target` folder) holds the distribution `name` with something
/// to import.
fn provides(installed: &Path, name: &str) -> bool {
    let Ok(entries) = std::fs::read_dir(installed) else { return false };
    entries.flatten().any(|entry| {
        let folder = entry.file_name().to_string_lossy().into_owned();
        let Some((distribution, _version)) = folder.strip_suffix(".dist-info").and_then(|f| f.rsplit_once('-')) else {
            return false;
        };
        normalized(distribution) == name
            && std::fs::read_to_string(entry.path().join("RECORD"))
                .is_ok_and(|record| record.lines().any(|l| importable(l.split(',').next().unwrap_or_default())))
    })
}

/// The requirements (as written) that `installed` lacks or holds with nothing to import.
pub fn missing(requirements: &[String], installed: &Path) -> Vec<String> {
    requirements
        .iter()
        .filter(|line| requirement_name(line).is_some_and(|name| !provides(installed, &name)))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_requirement_is_named_as_pep_503_compares_names() {
        assert_eq!(requirement_name("PyYAML==6.0.1").as_deref(), Some("pyyaml"));
        assert_eq!(requirement_name("zope.interface[test]>=5 ; python_version>'3'").as_deref(), Some("zope-interface"));
        assert_eq!(requirement_name("my_pkg @ https://example.invalid/x.whl").as_deref(), Some("my-pkg"));
        assert_eq!(requirement_name("--index-url https://example.invalid"), None);
    }

    fn distribution(dir: &Path, folder: &str, record: &str) {
        std::fs::create_dir_all(dir.join(folder)).unwrap();
        std::fs::write(dir.join(folder).join("RECORD"), record).unwrap();
    }

    #[test]
    fn a_requirement_installed_without_anything_to_import_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        distribution(
            dir.path(),
            "Tiny_Lib-1.0.dist-info",
            "tiny_lib/__init__.py,sha256=x,1\nTiny_Lib-1.0.dist-info/RECORD,,\n",
        );
        distribution(dir.path(), "hollow-2.0.dist-info", "hollow-2.0.dist-info/METADATA,sha256=x,1\n");
        let wanted = ["tiny-lib==1.0", "hollow", "absent>=1"].map(String::from);
        assert_eq!(missing(&wanted, dir.path()), ["hollow", "absent>=1"]);
    }
}
