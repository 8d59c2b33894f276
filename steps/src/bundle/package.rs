//! The Lambda code bundle: a byte-for-byte reproducible zip of the Python backend, so that its SHA-256
//! equals Lambda's `CodeSha256` and an unchanged backend is never uploaded again.

use anyhow::{bail, Context as _, Result};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use crate::error::InputError;
use crate::installer::{wheel_platforms, Installer};
use crate::requirements::{self, Line};

/// The backend folders that go into the bundle, as the manual's `zip -r` lists them.
pub const SOURCE_DIRS: &[&str] = &["handlers", "src", "lib", "utils"];
const MB: usize = 1024 * 1024;
/// Lambda refuses a directly uploaded zip larger than this ("Lambda quotas": 50 MB zipped).
const MAX_DIRECT_UPLOAD: usize = 50 * MB;
/// Lambda refuses code larger than this unzipped ("Lambda quotas": 250 MB, layers included).
const MAX_UNZIPPED: usize = 250 * MB;

/// The bundle's files, summed as Lambda counts them once unzipped.
fn unzipped_size(entries: &BTreeMap<String, PathBuf>) -> Result<usize> {
    let mut total = 0;
    for path in entries.values() {
        let bytes = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?.len();
        total += usize::try_from(bytes).unwrap_or(usize::MAX);
    }
    Ok(total)
}

/// The whole bundle; each function's package is cut from it (see [`crate::function_code`]).
pub struct Package {
    pub zip: Vec<u8>,
    /// base64(SHA-256(zip)), the form Lambda reports as `CodeSha256`.
    pub code_sha256: String,
    /// Its files: the name in the zip, and where it is read from.
    pub entries: BTreeMap<String, PathBuf>,
}

/// Builds the bundle from `backend` for functions on `architecture`, installing `requirements.txt` (when
/// it lists anything) into a cache under `cache_dir` keyed by the file's hash, the runtime and the
/// architecture, so pip runs only when they change.
pub fn build(backend: &Path, cache_dir: &Path, runtime: &str, architecture: &str) -> Result<Package> {
    let mut entries = BTreeMap::new();
    if let Some(deps) = installed_requirements(backend, cache_dir, runtime, architecture)? {
        collect(&deps, &deps, &mut entries)?;
    }
    for dir in SOURCE_DIRS {
        let path = backend.join(dir);
        if path.is_dir() {
            collect(backend, &path, &mut entries)?;
        }
    }
    let unzipped = unzipped_size(&entries)?;
    if unzipped > MAX_UNZIPPED {
        return Err(InputError(format!(
            "the code bundle holds {} MB of files, over Lambda's 250 MB for a function's unzipped code (a quota \
             AWS does not raise): trim requirements.txt, or move large dependencies into a Lambda layer",
            unzipped / MB
        ))
        .into());
    }
    let zip = write_checked_zip(&entries)?;
    let code_sha256 = aws_smithy_types::base64::encode(Sha256::digest(&zip));
    Ok(Package { zip, code_sha256, entries })
}

/// The zip of `entries`, refused as bad input when Lambda would refuse it.
pub fn write_checked_zip(entries: &BTreeMap<String, PathBuf>) -> Result<Vec<u8>> {
    let zip = write_zip(entries)?;
    if zip.len() > MAX_DIRECT_UPLOAD {
        return Err(InputError(format!(
            "the code bundle is {} MB zipped, over Lambda's 50 MB for a direct upload (a quota AWS does not \
             raise): trim requirements.txt, or move large dependencies into a Lambda layer",
            zip.len() / MB
        ))
        .into());
    }
    Ok(zip)
}

fn is_excluded(name: &str) -> bool {
    name == "__pycache__" || name.ends_with(".pyc") || name == ".DS_Store"
}

/// Adds every file below `dir` to `entries`, keyed by its '/'-separated path relative to `root`.
fn collect(root: &Path, dir: &Path, entries: &mut BTreeMap<String, PathBuf>) -> Result<()> {
    let prefix = dir.strip_prefix(root).ok().filter(|p| !p.as_os_str().is_empty());
    let prefix = prefix.map(|p| format!("{}/", p.to_string_lossy().replace('\\', "/"))).unwrap_or_default();
    for (key, path) in crate::walk::files_below(dir, |name| !is_excluded(name))? {
        entries.insert(format!("{prefix}{key}"), path);
    }
    Ok(())
}

/// Sorted entries, fixed timestamps and permissions: the same files always give the same bytes.
fn write_zip(entries: &BTreeMap<String, PathBuf>) -> Result<Vec<u8>> {
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644);
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, path) in entries {
        let content = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        writer.start_file(name.as_str(), options).context("writing the code bundle")?;
        writer.write_all(&content).context("writing the code bundle")?;
    }
    Ok(writer.finish().context("writing the code bundle")?.into_inner())
}

/// requirements.txt read for Lambda (markers judged for its platform): nothing when there is none.
fn requirements(backend: &Path, python_version: &str, architecture: &str) -> Result<Vec<Line>> {
    let path = backend.join("requirements.txt");
    if !path.exists() {
        return Ok(Vec::new());
    }
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    Ok(requirements::for_lambda(&text, backend, python_version, architecture)?)
}

/// What the installs are made of, for the cache key: each line, and a local folder's files with it (its
/// code changes under the same line).
fn described(lines: &[Line]) -> Result<String> {
    let mut described = Vec::new();
    for line in lines {
        match line {
            Line::Platform { spec, .. } => described.push(spec.clone()),
            // A nested file's requirements change under the same `-r FILE` line.
            Line::Option(option) => {
                let file = option.strip_prefix("-r ").or_else(|| option.strip_prefix("-c ")).map(Path::new);
                let content = file.and_then(|f| std::fs::read(f).ok()).unwrap_or_default();
                let digest = if content.is_empty() { String::new() } else { hex(&Sha256::digest(&content)) };
                described.push(format!("{option} {digest}").trim_end().to_string());
            }
            Line::Built { spec, local, .. } => {
                let mut digest = Sha256::new();
                let files = match local {
                    Some(folder) => crate::walk::files_below(folder, |n| !is_excluded(n))?,
                    None => Vec::new(),
                };
                for (key, path) in files {
                    digest.update(key.as_bytes());
                    digest.update(std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?);
                }
                described.push(format!("{spec} {}", hex(&digest.finalize())));
            }
        }
    }
    Ok(described.join("\n"))
}

fn installed_requirements(
    backend: &Path,
    cache_dir: &Path,
    runtime: &str,
    architecture: &str,
) -> Result<Option<PathBuf>> {
    let python_version = runtime.trim_start_matches("python");
    let lines = requirements(backend, python_version, architecture)?;
    if lines.iter().all(|l| matches!(l, Line::Option(_))) {
        return Ok(None);
    }
    let platform = wheel_platforms(architecture, python_version).join(", ");
    let key = Sha256::digest(format!("{runtime}\n{platform}\n{}", described(&lines)?));
    let target = cache_dir.join(format!("pip-{}", &hex(&key)[..16]));
    if target.is_dir() {
        return Ok(Some(target));
    }
    let staging = cache_dir.join(format!("pip-staging-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).with_context(|| format!("creating {}", staging.display()))?;
    let installed = install(backend, &staging, &lines, python_version, architecture, &platform);
    if let Err(failed) = installed {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(failed);
    }
    // A rename publishes the cache entry whole, so a killed install never leaves a half-filled cache.
    std::fs::rename(&staging, &target).with_context(|| format!("caching pip install in {}", target.display()))?;
    Ok(Some(target))
}

/// Installs `lines` into `staging`: what the index or a wheel's URL gives, for Lambda's platform; then
/// what must be built, here; then checks each named requirement arrived with something to import.
fn install(
    backend: &Path,
    staging: &Path,
    lines: &[Line],
    python_version: &str,
    architecture: &str,
    platform: &str,
) -> Result<()> {
    let installer = Installer::chosen()?;
    let tool = installer.name();
    let for_platform: Vec<&str> = lines
        .iter()
        .filter_map(|l| match l {
            Line::Platform { spec, .. } | Line::Option(spec) => Some(spec.as_str()),
            Line::Built { .. } => None,
        })
        .collect();
    if lines.iter().any(|l| matches!(l, Line::Platform { .. })) {
        let file = staging.with_extension("requirements.txt");
        std::fs::write(&file, for_platform.join("\n") + "\n").with_context(|| format!("writing {}", file.display()))?;
        let installed = installer.install(&file, staging, python_version, architecture);
        let _ = std::fs::remove_file(&file);
        let installed = installed?;
        if !installed.status.success() {
            let said = String::from_utf8_lossy(&installed.stderr);
            if let Some(requirement) = installer.no_wheel_for(&said) {
                return Err(InputError(format!(
                    "{}/requirements.txt: {tool} finds no wheel of {requirement} for Lambda ({platform}, CPython \
                     {python_version}): pin a version that publishes one (its files on PyPI), or use another package; \
                     nothing was uploaded",
                    backend.display()
                ))
                .into());
            }
            bail!(
                "{tool} could not install {}/requirements.txt ({}): {}; fix the requirement, or check your network and \
                 {tool} configuration",
                backend.display(),
                installed.status,
                said.trim()
            );
        }
    }
    for line in lines {
        let Line::Built { spec, .. } = line else { continue };
        let before = distributions(staging);
        let built = installer.build(spec, staging, backend)?;
        if built.status.success() && distributions(staging) <= before {
            return Err(InputError(format!(
                "{}/requirements.txt: {tool} built {spec}, but no distribution arrived in the bundle; check that it \
                 is a Python project (pyproject.toml or setup.py); nothing was uploaded",
                backend.display()
            ))
            .into());
        }
        if !built.status.success() {
            return Err(InputError(format!(
                "{}/requirements.txt: {tool} could not build {spec} ({}): {}; fix the URL or path (it is built here, \
                 without its dependencies, which requirements.txt must list); nothing was uploaded",
                backend.display(),
                built.status,
                String::from_utf8_lossy(&built.stderr).trim()
            ))
            .into());
        }
    }
    let named = lines.iter().filter_map(|l| {
        let spec = match l {
            Line::Platform { spec, .. } | Line::Built { spec, .. } => spec.as_str(),
            Line::Option(_) => return None,
        };
        Some((spec, l.name()?))
    });
    let missing = crate::installed::missing(named, staging);
    if !missing.is_empty() {
        return Err(InputError(format!(
            "{}/requirements.txt lists {}, but {tool} installed nothing to import for it: the functions would fail \
             with \"Unable to import module\". Check the name (the distribution's, as on PyPI) and that it ships \
             code for Lambda; nothing was uploaded",
            backend.display(),
            missing.join(", "),
        ))
        .into());
    }
    Ok(())
}

/// How many distributions an install folder holds (its `.dist-info` folders).
fn distributions(folder: &Path) -> usize {
    let entries = std::fs::read_dir(folder).into_iter().flatten().flatten();
    entries.filter(|e| e.file_name().to_string_lossy().ends_with(".dist-info")).count()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, body) in [
            ("handlers/api/conversation.py", "def handler(e, c): return {}\n"),
            ("handlers/__pycache__/x.cpython-312.pyc", "junk"),
            ("utils/util.pyc", "junk"),
            ("lib/helpers.py", "X = 1\n"),
            ("notes.txt", "not in the bundle"),
        ] {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, body).unwrap();
        }
        dir
    }

    #[test]
    fn bundle_is_reproducible_and_leaves_out_bytecode_and_other_files() {
        let dir = backend();
        let cache = tempfile::tempdir().unwrap();
        let first = build(dir.path(), cache.path(), "python3.12", "x86_64").unwrap();
        // A later mtime must not change the bytes: set one a day later, rather than wait for the clock.
        let file = std::fs::File::options().write(true).open(dir.path().join("lib/helpers.py")).unwrap();
        let later = file.metadata().unwrap().modified().unwrap() + std::time::Duration::from_secs(86_400);
        file.set_modified(later).unwrap();
        assert_eq!(std::fs::metadata(dir.path().join("lib/helpers.py")).unwrap().modified().unwrap(), later);
        let second = build(dir.path(), cache.path(), "python3.12", "x86_64").unwrap();
        assert_eq!(first.zip, second.zip);
        assert_eq!(first.code_sha256, second.code_sha256);

        let archive = zip::ZipArchive::new(Cursor::new(first.zip)).unwrap();
        let names: Vec<&str> = archive.file_names().collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(sorted, vec!["handlers/api/conversation.py", "lib/helpers.py"]);
    }

    #[test]
    fn a_changed_file_changes_the_hash() {
        let dir = backend();
        let cache = tempfile::tempdir().unwrap();
        let before = build(dir.path(), cache.path(), "python3.12", "x86_64").unwrap();
        std::fs::write(dir.path().join("lib/helpers.py"), "X = 2\n").unwrap();
        let after = build(dir.path(), cache.path(), "python3.12", "x86_64").unwrap();
        assert_ne!(before.code_sha256, after.code_sha256);
    }

    #[test]
    fn installed_requirements_go_into_the_bundle_from_the_cache_without_pip() {
        let dir = backend();
        std::fs::write(dir.path().join("requirements.txt"), "fastlib==1.0\n").unwrap();
        let cache = tempfile::tempdir().unwrap();
        let key = Sha256::digest("python3.12\nmanylinux_2_28_x86_64, manylinux2014_x86_64\nfastlib==1.0");
        let cached = cache.path().join(format!("pip-{}", &hex(&key)[..16]));
        std::fs::create_dir_all(cached.join("fastlib")).unwrap();
        std::fs::write(cached.join("fastlib/__init__.py"), "X = 1\n").unwrap();
        let package = build(dir.path(), cache.path(), "python3.12", "x86_64").unwrap();
        let archive = zip::ZipArchive::new(Cursor::new(package.zip)).unwrap();
        assert!(archive.file_names().any(|n| n == "fastlib/__init__.py"), "the dependency at the bundle's root");
    }

    #[test]
    fn comment_only_requirements_need_no_pip() {
        let dir = backend();
        std::fs::write(dir.path().join("requirements.txt"), "# nothing yet\n\n").unwrap();
        assert!(requirements(dir.path(), "3.12", "x86_64").unwrap().is_empty());
        std::fs::write(dir.path().join("requirements.txt"), "requests==2.32.3  # http\n").unwrap();
        let spec = Line::Platform { spec: "requests==2.32.3".into(), name: Some("requests".into()) };
        assert_eq!(requirements(dir.path(), "3.12", "x86_64").unwrap(), vec![spec]);
    }
}
