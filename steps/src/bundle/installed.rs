//! What pip put in the bundle, checked before anything is uploaded: each requirement of
//! `requirements.txt` must have arrived as an installed distribution with something to import (Lambda's
//! "Unable to import module" is otherwise found only at the first request).

use std::path::Path;

/// PEP 503's form of a name: lower case, each run of `-`, `_` and `.` as one `-`.
pub fn normalized(name: &str) -> String {
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

/// The requirements (as `(written, distribution name)`) that `installed` lacks or holds with nothing to
/// import, as written.
pub fn missing<'a>(wanted: impl IntoIterator<Item = (&'a str, &'a str)>, installed: &Path) -> Vec<String> {
    wanted
        .into_iter()
        .filter(|(_, name)| !provides(installed, &normalized(name)))
        .map(|(written, _)| written.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_as_pep_503_says() {
        assert_eq!(normalized("Zope.Interface"), "zope-interface");
        assert_eq!(normalized("my__pkg"), "my-pkg");
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
        let wanted = [("tiny-lib==1.0", "tiny-lib"), ("hollow", "hollow"), ("absent>=1", "absent")];
        assert_eq!(missing(wanted, dir.path()), ["hollow", "absent>=1"]);
    }
}
