//! The files below a folder (the backend's sources, the installed requirements, the site's `dist/`), each
//! with its '/'-separated key relative to the folder. Links are followed, as a bundler's output or a
//! monorepo's shared code often is one; a link back to a folder above it is an error naming both,
//! rather than an endless walk.

use anyhow::{anyhow, Result};
use std::path::{Path, PathBuf};
use walkdir::WalkDir;

/// Every file below `root` whose name and every folder's name on its way pass `keep`, sorted by key.
pub fn files_below(root: &Path, keep: impl Fn(&str) -> bool) -> Result<Vec<(String, PathBuf)>> {
    let walk = WalkDir::new(root).follow_links(true).sort_by_file_name();
    let mut files = Vec::new();
    for entry in walk.into_iter().filter_entry(|e| e.depth() == 0 || keep(&e.file_name().to_string_lossy())) {
        let entry = entry.map_err(|e| walk_error(root, e))?;
        if !entry.file_type().is_file() {
            continue;
        }
        // Invariant: walkdir yields paths under the root it walks.
        let relative = entry.path().strip_prefix(root).expect("walked path lies under its root");
        let key: Vec<String> = relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
        files.push((key.join("/"), entry.into_path()));
    }
    Ok(files)
}

fn walk_error(root: &Path, error: walkdir::Error) -> anyhow::Error {
    let at = error.path().map_or_else(|| root.display().to_string(), |p| p.display().to_string());
    match error.loop_ancestor() {
        Some(ancestor) => anyhow!(
            "{at} links back to {}, which holds it: the walk of {} would never end; remove or redirect the link",
            ancestor.display(),
            root.display()
        ),
        None => anyhow!("reading {at}: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_keyed_sorted_filtered_and_linked_folders_followed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("b/__pycache__")).unwrap();
        std::fs::create_dir_all(dir.path().join("shared")).unwrap();
        std::fs::write(root.join("b/x.py"), "").unwrap();
        std::fs::write(root.join("b/__pycache__/x.pyc"), "").unwrap();
        std::fs::write(root.join("a.txt"), "").unwrap();
        std::fs::write(dir.path().join("shared/s.py"), "").unwrap();
        std::os::unix::fs::symlink(dir.path().join("shared"), root.join("c")).unwrap();
        let keys: Vec<String> =
            files_below(&root, |name| name != "__pycache__").unwrap().into_iter().map(|f| f.0).collect();
        assert_eq!(keys, ["a.txt", "b/x.py", "c/s.py"]);
    }

    #[test]
    fn a_link_to_a_folder_above_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("site/assets")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("site"), dir.path().join("site/assets/loop")).unwrap();
        let error = files_below(&dir.path().join("site"), |_| true).unwrap_err().to_string();
        assert!(error.contains("links back to") && error.contains("remove or redirect the link"), "{error}");
    }
}
