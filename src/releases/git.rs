//! The project's git commit, for a release's record: `git` is asked, and a project outside git (or a
//! machine without it) records none.

use std::path::Path;
use std::process::Command;

/// The commit checked out in `dir`'s repository, and whether the working tree has changes.
pub fn commit(dir: &Path) -> Option<(String, bool)> {
    let git = |args: &[&str]| {
        let output = Command::new("git").arg("-C").arg(dir).args(args).output().ok()?;
        output.status.success().then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
    };
    let commit = git(&["rev-parse", "--short=12", "HEAD"])?;
    let dirty = git(&["status", "--porcelain"]).is_some_and(|changes| !changes.is_empty());
    Some((commit, dirty))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_outside_git_has_no_commit_and_a_repository_names_its_own() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(commit(dir.path()), None);
        let git = |args: &[&str]| {
            let status = Command::new("git").arg("-C").arg(dir.path()).args(args).output().unwrap();
            assert!(status.status.success(), "{args:?}: {}", String::from_utf8_lossy(&status.stderr));
        };
        git(&["init", "-q"]);
        std::fs::write(dir.path().join("a"), "a").unwrap();
        git(&["add", "a"]);
        git(&["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "a"]);
        let (sha, dirty) = commit(dir.path()).unwrap();
        assert_eq!(sha.len(), 12);
        assert!(!dirty);
        std::fs::write(dir.path().join("a"), "b").unwrap();
        assert_eq!(commit(dir.path()), Some((sha, true)));
    }
}
