//! `unlock LOCK_ID`: removes a remote state's lock left by a run that died (only that lock).

use anyhow::Result;
use deployer_steps::InputError;

use crate::remote::Remote;

pub async fn unlock(remote: &Remote, lock_id: &str) -> Result<()> {
    remote.unlock(lock_id).await?;
    out!("removed lock {lock_id}");
    Ok(())
}

/// The error for `unlock` without a remote state.
pub fn not_remote() -> InputError {
    InputError("unlock is for a remote state: pass --state s3://BUCKET/KEY".into())
}
