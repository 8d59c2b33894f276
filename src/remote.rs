//! Remote state: `--state s3://BUCKET/KEY` keeps the state file in S3, shared by laptops and CI.
//!
//! - A lock object `KEY.lock` is created with `If-None-Match: *`, which S3 grants to one writer only; it
//!   names its holder and since when. It is deleted (with `If-Match` on its own ETag) when the command ends;
//!   a killed process leaves it behind, and `deployer unlock LOCK_ID` removes it deliberately.
//! - Under the lock the state is downloaded to a local working copy (`.deployer/remote/BUCKET/KEY`), which the
//!   runner checkpoints as usual, and uploaded after every step with `If-Match` on the ETag it was read
//!   with: a write by anyone who bypassed the lock is refused, never overwritten (no lost update).
//! - moto 5.2 honours both conditions on PutObject (and `If-Match` on DeleteObject), which the tests use.

use anyhow::{anyhow, Context as _, Result};
use aws_sdk_s3::primitives::ByteStream;
use deployer_steps::aws::AwsContext;
use deployer_steps::package::hex;
use deployer_steps::{Clients, InputError};
use md5::Md5;
use serde::{Deserialize, Serialize};
use sha2::Digest;
use std::cell::RefCell;
use std::path::{Path, PathBuf};

/// `s3://BUCKET/KEY` → (bucket, key).
pub fn parse(state: &Path) -> Result<Option<(String, String)>, InputError> {
    let Some(rest) = state.to_str().and_then(|s| s.strip_prefix("s3://")) else {
        return Ok(None);
    };
    match rest.split_once('/') {
        Some((bucket, key)) if !bucket.is_empty() && !key.is_empty() && !key.ends_with('/') => {
            Ok(Some((bucket.to_string(), key.to_string())))
        }
        _ => Err(InputError(format!(
            "--state {} is not s3://BUCKET/KEY (e.g. s3://my-team-state/new-service.json)",
            state.display()
        ))),
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct LockInfo {
    id: String,
    holder: String,
    since: String,
}

pub struct Remote {
    clients: Clients,
    bucket: String,
    key: String,
    /// The working copy the runner checkpoints to.
    pub local: PathBuf,
    /// The ETag of the state as last read or written: the condition of the next upload.
    etag: RefCell<Option<String>>,
    /// (lock ID, the lock object's ETag) while this process holds the lock.
    held: RefCell<Option<(String, Option<String>)>>,
}

impl Remote {
    pub fn new(clients: Clients, bucket: String, key: String) -> Self {
        let local = Path::new(".deployer").join("remote").join(&bucket).join(&key);
        Remote { clients, bucket, key, local, etag: RefCell::new(None), held: RefCell::new(None) }
    }

    fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    fn lock_key(&self) -> String {
        format!("{}.lock", self.key)
    }

    /// Takes the lock, or fails at once naming who holds it.
    pub async fn lock(&self) -> Result<()> {
        let info =
            LockInfo { id: deployer_steps::names::unique_token(12), holder: holder(), since: crate::state::now() };
        let body = serde_json::to_vec(&info).context("serialising the lock")?;
        let put = self
            .clients
            .s3()
            .put_object()
            .bucket(&self.bucket)
            .key(self.lock_key())
            .if_none_match("*")
            .body(ByteStream::from(body))
            .send()
            .await;
        match put {
            Ok(out) => {
                *self.held.borrow_mut() = Some((info.id, out.e_tag));
                Ok(())
            }
            Err(err) if is_precondition_failure(err.raw_response().map(|r| r.status().as_u16())) => {
                let held = self.read_lock().await?;
                Err(InputError(format!(
                    "the remote state {} is locked by {} since {} (lock {}): wait for that run to finish; if it died, \
                     remove the lock with `deployer unlock {} --state {}`",
                    self.url(),
                    held.holder,
                    held.since,
                    held.id,
                    held.id,
                    self.url()
                ))
                .into())
            }
            Err(err) => {
                Err(err).aws_context(|| format!("s3:PutObject {}/{} (taking the lock)", self.bucket, self.lock_key()))
            }
        }
    }

    async fn read_lock(&self) -> Result<LockInfo> {
        let got = self.clients.s3().get_object().bucket(&self.bucket).key(self.lock_key()).send().await;
        let got = got.aws_context(|| format!("s3:GetObject {}/{}", self.bucket, self.lock_key()))?;
        let bytes = got.body.collect().await.context("reading the lock")?.into_bytes();
        serde_json::from_slice(&bytes).context("the lock object is not deployer's")
    }

    /// Gives the lock back; a failure only leaves a stale lock, which the next run reports.
    pub async fn release(&self) {
        let Some((_, etag)) = self.held.borrow_mut().take() else { return };
        let delete = self.clients.s3().delete_object().bucket(&self.bucket).key(self.lock_key());
        let _ = delete.set_if_match(etag).send().await;
    }

    /// `deployer unlock ID`: removes the lock if it is that one.
    pub async fn unlock(&self, id: &str) -> Result<()> {
        let held = match self.read_lock().await {
            Ok(held) => held,
            Err(_) => return Err(InputError(format!("{} is not locked", self.url())).into()),
        };
        if held.id != id {
            return Err(InputError(format!(
                "the lock of {} is {} (held by {} since {}), not {id}: nothing was removed",
                self.url(),
                held.id,
                held.holder,
                held.since
            ))
            .into());
        }
        let deleted = self.clients.s3().delete_object().bucket(&self.bucket).key(self.lock_key()).send().await;
        deleted.aws_context(|| format!("s3:DeleteObject {}/{}", self.bucket, self.lock_key()))?;
        Ok(())
    }

    /// Downloads the state into the working copy (none there: no working copy either).
    pub async fn pull(&self) -> Result<()> {
        let got = self.clients.s3().get_object().bucket(&self.bucket).key(&self.key).send().await;
        let got = match got {
            Ok(got) => Some(got),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => None,
            Err(err) => return Err(err).aws_context(|| format!("s3:GetObject {}", self.url())),
        };
        if let Some(parent) = self.local.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        let Some(got) = got else {
            *self.etag.borrow_mut() = None;
            return match std::fs::remove_file(&self.local) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(anyhow!(e).context(format!("removing {}", self.local.display())))
                }
                _ => Ok(()),
            };
        };
        *self.etag.borrow_mut() = got.e_tag.clone();
        let bytes = got.body.collect().await.with_context(|| format!("reading {}", self.url()))?.into_bytes();
        let temp = self.local.with_extension("download");
        std::fs::write(&temp, &bytes).with_context(|| format!("writing {}", temp.display()))?;
        std::fs::rename(&temp, &self.local).with_context(|| format!("replacing {}", self.local.display()))
    }

    /// Uploads the working copy if it differs from what S3 holds, on condition that S3 still holds what was
    /// read: a concurrent writer's state is never overwritten.
    pub async fn push(&self) -> Result<()> {
        let Ok(bytes) = std::fs::read(&self.local) else { return Ok(()) };
        let put =
            self.clients.s3().put_object().bucket(&self.bucket).key(&self.key).body(ByteStream::from(bytes.clone()));
        let put = match self.etag.borrow().clone() {
            // Unchanged since read (S3's ETag of a simple upload is its MD5).
            Some(etag) if etag.trim_matches('"') == hex(&Md5::digest(&bytes)) => return Ok(()),
            Some(etag) => put.if_match(etag),
            None => put.if_none_match("*"),
        };
        match put.send().await {
            Ok(out) => {
                *self.etag.borrow_mut() = out.e_tag;
                Ok(())
            }
            Err(err) if is_precondition_failure(err.raw_response().map(|r| r.status().as_u16())) => Err(anyhow!(
                "the remote state {} was changed by someone else while this run held its lock, so it was not \
                 overwritten: this run's state is in {}; compare the two, keep the right one, then run again",
                self.url(),
                self.local.display()
            )),
            Err(err) => Err(err).aws_context(|| format!("s3:PutObject {}", self.url())),
        }
    }
}

/// 412 Precondition Failed, or 409 when S3 saw two conditional writes at once.
fn is_precondition_failure(status: Option<u16>) -> bool {
    matches!(status, Some(412) | Some(409))
}

fn holder() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "someone".into());
    let host =
        std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_string()).unwrap_or_else(|_| "a host".into());
    format!("{user}@{host} (pid {})", std::process::id())
}
