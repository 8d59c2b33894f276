//! The Python the workers run: the interpreter (`DEPLOYER_PYTHON`, else `python3`), Lambda's runtime
//! packages (AWS's runtime interface client `awslambdaric`, and boto3, which Lambda's Python runtime
//! has) installed once into a user cache, and the backend's `requirements.txt` installed for this
//! machine into the project's cache. Each install goes to a temporary folder renamed into place, so two
//! `deployer dev` starting at once never see half an install.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context as _, Result};
use sha2::{Digest as _, Sha256};

/// What Lambda's Python runtime brings besides the standard library, pinned where it matters.
pub const RUNTIME_PACKAGES: &[&str] = &["awslambdaric==4.2.2", "boto3"];

pub fn interpreter() -> PathBuf {
    std::env::var_os("DEPLOYER_PYTHON").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("python3"))
}

/// `3.11.7 (main, …)`: part of each cache key, as compiled packages are per interpreter.
pub fn version(python: &Path) -> Result<String> {
    let output = Command::new(python)
        .args(["-c", "import sys; print(sys.version)"])
        .output()
        .with_context(|| format!("running {}: install Python 3, or set DEPLOYER_PYTHON", python.display()))?;
    if !output.status.success() {
        bail!("{} does not run: install Python 3, or set DEPLOYER_PYTHON", python.display());
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// The user's cache: `$XDG_CACHE_HOME/deployer`, else `~/.cache/deployer`.
fn user_cache() -> PathBuf {
    match std::env::var_os("XDG_CACHE_HOME") {
        Some(dir) => PathBuf::from(dir).join("deployer"),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache").join("deployer"),
    }
}

/// Lambda's runtime packages for `python`, installed on first use.
pub fn runtime_packages(python: &Path, version: &str) -> Result<PathBuf> {
    let key = digest(&[version, &RUNTIME_PACKAGES.join(" ")]);
    let folder = user_cache().join("dev-runtime").join(key);
    let packages: Vec<String> = RUNTIME_PACKAGES.iter().map(|p| p.to_string()).collect();
    install_once(python, &folder, &packages, "Lambda's runtime client (awslambdaric) and boto3")?;
    Ok(folder)
}

/// The backend's requirements for this machine, or `None` when it lists none.
pub fn requirements(python: &Path, version: &str, backend: &Path, cache: &Path) -> Result<Option<PathBuf>> {
    let file = backend.join("requirements.txt");
    let Ok(text) = std::fs::read_to_string(&file) else { return Ok(None) };
    if !text.lines().map(|l| l.split('#').next().unwrap_or_default().trim()).any(|l| !l.is_empty()) {
        return Ok(None);
    }
    let folder = cache.join("dev-requirements").join(digest(&[version, &text]));
    let arguments = vec!["-r".to_string(), file.to_string_lossy().into_owned()];
    install_once(python, &folder, &arguments, "the backend's requirements.txt")?;
    Ok(Some(folder))
}

fn install_once(python: &Path, folder: &Path, arguments: &[String], what: &str) -> Result<()> {
    if folder.join(COMPLETE).is_file() {
        return Ok(());
    }
    let parent = folder.parent().context("a cache folder has a parent")?;
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let staging = parent.join(format!(".installing-{}", uuid::Uuid::new_v4()));
    eprintln!("deployer dev: installing {what} into {} (once)", folder.display());
    let output = Command::new(python)
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target"])
        .arg(&staging)
        .args(arguments)
        .output()
        .with_context(|| format!("running {} -m pip", python.display()))?;
    if !output.status.success() {
        let _ = std::fs::remove_dir_all(&staging);
        bail!(
            "installing {what} failed: {}\nCheck the network and pip (`{} -m pip --version`), then start `deployer dev` again",
            String::from_utf8_lossy(&output.stderr).trim(),
            python.display()
        );
    }
    std::fs::write(staging.join(COMPLETE), "").context("marking the install complete")?;
    // Another `deployer dev` may have finished first: its install is as good as this one.
    if std::fs::rename(&staging, folder).is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    Ok(())
}

const COMPLETE: &str = ".complete";

fn digest(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hasher.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect()
}
