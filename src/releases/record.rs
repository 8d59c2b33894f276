//! The releases' record in AWS: one JSON object, `.deployer/releases.json`, in the site's bucket. CloudFront
//! may not read that prefix (05's bucket policy) and the site's sync leaves it alone. It is read before a
//! release is numbered (another machine's releases count) and written after each release and rollback.

use anyhow::{Context as _, Result};
use aws_sdk_s3::primitives::ByteStream;
use deployer_steps::aws::AwsContext;
use deployer_steps::site::RELEASES_KEY;
use deployer_steps::{Clients, Settings};

use super::Releases;

/// The site's bucket, where the record lives (05 names it so).
pub fn bucket(settings: &Settings) -> String {
    format!("{}-frontend", settings.service)
}

/// The record, or `None` when there is none yet (no release, or no bucket yet).
pub async fn read(clients: &Clients, bucket: &str) -> Result<Option<Releases>> {
    let got = clients.s3().get_object().bucket(bucket).key(RELEASES_KEY).send().await;
    let got = match got {
        Ok(got) => got,
        Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => return Ok(None),
        Err(err) if err.raw_response().is_some_and(|r| r.status().as_u16() == 404) => return Ok(None),
        Err(err) => return Err(err).aws_context(|| format!("s3:GetObject s3://{bucket}/{RELEASES_KEY}")),
    };
    let bytes = got.body.collect().await.with_context(|| format!("reading s3://{bucket}/{RELEASES_KEY}"))?;
    let releases = serde_json::from_slice(&bytes.into_bytes())
        .with_context(|| format!("s3://{bucket}/{RELEASES_KEY} is not deployer's releases record"))?;
    Ok(Some(releases))
}

pub async fn write(clients: &Clients, bucket: &str, releases: &Releases) -> Result<()> {
    let body = serde_json::to_vec_pretty(releases).context("serialising the releases")?;
    let put = clients.s3().put_object().bucket(bucket).key(RELEASES_KEY).content_type("application/json");
    put.body(ByteStream::from(body))
        .send()
        .await
        .aws_context(|| format!("s3:PutObject s3://{bucket}/{RELEASES_KEY}"))?;
    Ok(())
}
