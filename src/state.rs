//! The local state file: a checkpoint of settings, step statuses and recorded IDs. AWS stays the source
//! of truth; this file only lets a run skip finished work and find resources that have no unique name.
//!
//! Writes are atomic (temp file in the same folder, fsync, rename, fsync of the folder) and happen only
//! while holding an exclusive lock on `STATE.lock`, which the OS releases if the process dies.

use anyhow::{Context as _, Result};
use deployer_steps::{InputError, Outputs, Settings, Teardown};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::releases::Releases;

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    pub schema_version: u32,
    pub settings: Settings,
    #[serde(default)]
    pub steps: BTreeMap<String, StepRecord>,
    /// Set while a `destroy` is under way, so that `resume` after a kill continues the destroy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destroying: Option<Teardown>,
    /// Digests of the notices shown: a notice given on every run is shown once, until its words change
    /// (`-v` shows them all).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub notices_shown: BTreeSet<String>,
    /// The numbered releases, and the live one (also recorded in AWS: see `releases`).
    #[serde(default, skip_serializing_if = "Releases::is_empty")]
    pub releases: Releases,
    /// A canary under way: recorded before its first weight, so that `resume` continues it after a kill.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<crate::releases::canary::Canary>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Started,
    Done,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepRecord {
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default)]
    pub outputs: BTreeMap<String, String>,
}

impl State {
    pub fn new(settings: Settings) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            settings,
            steps: BTreeMap::new(),
            destroying: None,
            notices_shown: BTreeSet::new(),
            releases: Releases::default(),
            canary: None,
        }
    }

    pub fn status(&self, step: &str) -> Option<Status> {
        self.steps.get(step).map(|s| s.status)
    }

    pub fn outputs(&self) -> Outputs {
        self.steps.iter().map(|(id, s)| (id.clone(), s.outputs.clone())).collect()
    }
}

/// Reads the state file; `None` when there is none yet. A corrupt file or one of another schema version
/// is an error that says what to do, never silently replaced.
pub fn load(path: &Path) -> Result<Option<State>, InputError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(InputError(format!("cannot read state file {}: {e}", path.display()))),
    };
    let corrupt = |why: String| {
        InputError(format!(
            "state file {} is corrupt ({why}): restore the previous version with `cp {} {}`, or move the file aside \
             and run again (deployer finds existing resources by name)",
            path.display(),
            backup_path(path).display(),
            path.display()
        ))
    };
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| corrupt(e.to_string()))?;
    let version = value.get("schema_version").and_then(|v| v.as_u64());
    match version {
        Some(v) if v == u64::from(SCHEMA_VERSION) => {}
        Some(v) => {
            return Err(InputError(format!(
                "state file {} has schema version {v}, but this deployer reads version {SCHEMA_VERSION}: \
                 use the deployer release that wrote it, or a newer one",
                path.display()
            )))
        }
        None => return Err(corrupt("no schema_version".into())),
    }
    serde_json::from_value(value).map(Some).map_err(|e| corrupt(e.to_string()))
}

/// The previous version of the state file, kept beside it.
pub fn backup_path(state: &Path) -> PathBuf {
    let mut name = state.as_os_str().to_os_string();
    name.push(".bak");
    PathBuf::from(name)
}

/// Writes `state` to `path` atomically: readers see the old file or the new one, never a torn one. The
/// old one becomes `STATE.bak` (a hard link, so nothing is copied), for a file damaged by hand or by disk.
pub fn save(path: &Path, state: &State) -> Result<()> {
    let dir = parent_dir(path);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let mut json = serde_json::to_vec_pretty(state).context("serialising the state")?;
    json.push(b'\n');
    let mut file = File::create(&temp).with_context(|| format!("creating {}", temp.display()))?;
    file.write_all(&json).with_context(|| format!("writing {}", temp.display()))?;
    file.sync_all().with_context(|| format!("flushing {}", temp.display()))?;
    // Tests stop the process here, between the write and the rename, to show the file survives it.
    if std::env::var_os("DEPLOYER_FAILPOINT").is_some_and(|f| f == "state-before-rename") {
        std::process::abort();
    }
    if path.exists() {
        let link = dir.join(format!(".{name}.bak-{}", std::process::id()));
        let _ = std::fs::remove_file(&link);
        std::fs::hard_link(path, &link)
            .and_then(|_| std::fs::rename(&link, backup_path(path)))
            .with_context(|| format!("keeping the previous state as {}", backup_path(path).display()))?;
    }
    std::fs::rename(&temp, path).with_context(|| format!("replacing {}", path.display()))?;
    // The rename is durable only once the folder's entry is on disk too.
    File::open(&dir).and_then(|d| d.sync_all()).with_context(|| format!("flushing folder {}", dir.display()))?;
    Ok(())
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

pub fn lock_path(state: &Path) -> PathBuf {
    let mut name = state.as_os_str().to_os_string();
    name.push(".lock");
    PathBuf::from(name)
}

/// An exclusive lock on the state file, held for the whole run.
pub struct StateLock {
    _file: File,
}

/// Takes the lock or fails at once, naming the process that holds it.
pub fn lock(state: &Path) -> Result<StateLock, InputError> {
    let dir = parent_dir(state);
    std::fs::create_dir_all(&dir)
        .map_err(|e| InputError(format!("cannot create the state folder {}: {e}", dir.display())))?;
    let path = lock_path(state);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| InputError(format!("cannot open lock file {}: {e}", path.display())))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            return Err(InputError(format!(
                "another deployer is already working on {} ({}): wait for it to finish; the lock is released \
                 when that process exits",
                state.display(),
                holder.trim()
            )));
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(InputError(format!("cannot lock {}: {e}", path.display())));
        }
    }
    remove_stale_temp_files(state);
    // Who holds the lock, for the message above; best effort, the lock itself is what matters.
    let _ = file.set_len(0).and_then(|_| write!(file, "pid {}", std::process::id()));
    Ok(StateLock { _file: file })
}

/// Temp files a process killed mid-write left behind; only the lock holder may remove them.
fn remove_stale_temp_files(state: &Path) {
    let name = state.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let Ok(entries) = std::fs::read_dir(parent_dir(state)) else { return };
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        if file.starts_with(&format!(".{name}.tmp-")) || file.starts_with(&format!(".{name}.bak-")) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// This moment as an ISO 8601 timestamp, for the records' `started_at`/`finished_at` and the lock.
pub fn now() -> String {
    aws_smithy_types::DateTime::from(std::time::SystemTime::now())
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn settings() -> Settings {
        Settings {
            service: "svc".into(),
            domain: None,
            stage: "prod".into(),
            region: "us-east-1".into(),
            backend: "backend".into(),
            frontend: "frontend".into(),
            runtime: "python3.12".into(),
            architecture: "x86_64".into(),
            throttle_rate: 100,
            throttle_burst: 200,
            frontend_build: None,
            price_class: "PriceClass_100".into(),
            spa_fallback: true,
            log_retention_days: 30,
            cert_wait_seconds: 2700,
            endpoint_url: None,
            cors_origins: Vec::new(),
            dev_cors_origins: vec!["http://localhost:5173".into()],
            functions: Default::default(),
            routes: Default::default(),
            tables: Default::default(),
            websocket: Default::default(),
            vpc: None,
            auth: Default::default(),
            release: Default::default(),
            verify_http_url: None,
            verify_ws_url: None,
            delete_data: false,
            canary_flag: None,
        }
    }

    #[test]
    fn save_then_load_round_trips_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let mut state = State::new(settings());
        state.steps.insert(
            "01-dynamodb".into(),
            StepRecord {
                status: Status::Started,
                fingerprint: None,
                started_at: Some("t".into()),
                finished_at: None,
                error: None,
                outputs: BTreeMap::from([("k".into(), "v".into())]),
            },
        );
        save(&path, &state).unwrap();
        assert_eq!(load(&path).unwrap(), Some(state));
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("state.json")]);

        let mut newer = load(&path).unwrap().unwrap();
        newer.settings.stage = "dev".into();
        save(&path, &newer).unwrap();
        assert_eq!(load(&path).unwrap(), Some(newer));
        let previous: State = serde_json::from_slice(&std::fs::read(backup_path(&path)).unwrap()).unwrap();
        assert_eq!(previous.settings.stage, "prod", "the previous version is kept as the backup");
    }

    #[test]
    fn corrupt_and_future_files_are_refused_with_a_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::write(&path, "{ not json").unwrap();
        assert!(load(&path).unwrap_err().0.contains("is corrupt"));
        std::fs::write(&path, r#"{"schema_version": 99, "settings": {}}"#).unwrap();
        assert!(load(&path).unwrap_err().0.contains("schema version 99"));
        assert_eq!(load(&dir.path().join("absent.json")).unwrap(), None);
    }

    #[test]
    fn a_second_lock_is_refused_while_the_first_is_held() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let first = lock(&path).unwrap();
        let err = lock(&path).err().unwrap();
        assert!(err.0.contains("another deployer"), "{err}");
        drop(first);
        assert!(lock(&path).is_ok());
    }
}
