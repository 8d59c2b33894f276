//! The site's objects: uploaded where their MD5 differs, deleted when gone from `dist/`, and one
//! invalidation per change, recorded before the upload so a kill cannot lose it.

use anyhow::Result;
use aws_sdk_cloudfront::types::{InvalidationBatch, Paths};
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier, ServerSideEncryption};
use md5::{Digest, Md5};
use serde_json::json;
use sha2::Sha256;
use std::collections::{BTreeMap, BTreeSet};

use crate::aws::AwsContext;
use crate::ensure::{all, Change, Recorder};
use crate::package::hex;
use crate::site::{self, SiteFile};
use crate::step::Context;

/// More changed paths than this are invalidated as `/*` (the first 1,000 paths a month are free).
const MAX_INVALIDATION_PATHS: usize = 15;
const DELETE_BATCH: usize = 1000;

/// What the site holds, as one digest of its keys and contents (a release names it).
pub(super) fn site_digest(files: &[SiteFile]) -> String {
    let mut lines: Vec<String> = files.iter().map(|f| format!("{} {}", f.key, f.md5)).collect();
    lines.sort();
    hex(&Sha256::digest(lines.join("\n")))[..32].to_string()
}

/// Uploads what differs, deletes what is gone; returns the changed keys.
pub(super) async fn sync(
    ctx: &Context<'_>,
    recorder: &dyn Recorder,
    bucket: &str,
    files: &[SiteFile],
) -> Result<BTreeSet<String>> {
    let s3 = ctx.aws.s3();
    // A plan for a bucket still to create finds it empty.
    let mut listed = match list_keys(s3, bucket).await {
        Err(err) if recorder.planning() && format!("{err:#}").contains("NoSuchBucket") => BTreeMap::new(),
        listed => listed?,
    };
    // deployer's own records (the releases) are not the site's, and stay.
    listed.retain(|key, _| !key.starts_with(site::PRIVATE_PREFIX));
    let live = live_digests(s3, bucket, listed).await?;

    let same = |f: &SiteFile| live.get(&f.key).is_some_and(|md5| md5.as_deref() == Some(f.md5.as_str()));
    let uploads: Vec<&SiteFile> = files.iter().filter(|f| !same(f)).collect();
    let wanted: BTreeSet<&str> = files.iter().map(|f| f.key.as_str()).collect();
    let deletes: Vec<String> = live.keys().filter(|k| !wanted.contains(k.as_str())).cloned().collect();
    let changed: BTreeSet<String> = uploads.iter().map(|f| f.key.clone()).chain(deletes.iter().cloned()).collect();
    if changed.is_empty() || recorder.planning() {
        for file in &uploads {
            let change =
                if live.contains_key(&file.key) { Change::Updated(vec!["content".into()]) } else { Change::Created };
            recorder.report(&format!("object {}", file.key), &change);
        }
        for key in &deletes {
            recorder.report(&format!("object {key}"), &Change::Deleted);
        }
        return Ok(changed);
    }
    // Recorded before anything is written, so that a run killed half-way still invalidates these paths.
    let mut pending = pending_invalidation(recorder);
    pending.extend(changed.iter().cloned());
    recorder.record("pending_invalidation", &json!(pending).to_string())?;

    all(uploads.iter().map(|file| async {
        let body = file.bytes()?;
        let md5 = aws_smithy_types::base64::encode(Md5::digest(&body));
        s3.put_object()
            .bucket(bucket)
            .key(&file.key)
            .body(ByteStream::from(body))
            .content_md5(md5)
            .metadata(MD5_METADATA, &file.md5)
            .content_type(site::content_type(&file.key))
            .cache_control(site::cache_control(&file.key))
            .send()
            .await
            .aws_context(|| format!("s3:PutObject {bucket}/{}", file.key))?;
        let change =
            if live.contains_key(&file.key) { Change::Updated(vec!["content".into()]) } else { Change::Created };
        recorder.report(&format!("object {}", file.key), &change);
        Ok(())
    }))
    .await?;

    delete_objects(s3, bucket, &deletes, recorder).await?;
    Ok(changed)
}

/// Deletes these keys, a thousand per request, reporting each.
pub(super) async fn delete_objects(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    keys: &[String],
    recorder: &dyn Recorder,
) -> Result<()> {
    for batch in keys.chunks(DELETE_BATCH) {
        let objects =
            batch.iter().map(|k| ObjectIdentifier::builder().key(k).build()).collect::<Result<Vec<_>, _>>()?;
        let delete = Delete::builder().set_objects(Some(objects)).quiet(true).build()?;
        s3.delete_objects()
            .bucket(bucket)
            .delete(delete)
            .send()
            .await
            .aws_context(|| format!("s3:DeleteObjects {bucket}"))?;
        for key in batch {
            recorder.report(&format!("object {key}"), &Change::Deleted);
        }
    }
    Ok(())
}

/// The object metadata (`x-amz-meta-md5`) holding the hex MD5 of what deployer uploaded.
const MD5_METADATA: &str = "md5";

/// The MD5 of each live object, where it can be known: S3's ETag is the MD5 of a single-part upload
/// unless the bucket encrypts with KMS by default; otherwise it is read from the metadata deployer stored at
/// upload (a HeadObject each, 16 at a time). Unknown, the object is uploaded again.
async fn live_digests(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    etags: BTreeMap<String, String>,
) -> Result<BTreeMap<String, Option<String>>> {
    let etags_are_md5 = !etags.is_empty() && !encrypts_with_kms(s3, bucket).await?;
    let is_md5 = |etag: &str| etags_are_md5 && etag.len() == 32 && etag.chars().all(|c| c.is_ascii_hexdigit());
    let (plain, opaque): (Vec<_>, Vec<_>) = etags.into_iter().partition(|(_, etag)| is_md5(etag));
    let stored = all(opaque.iter().map(|(key, _)| async move {
        let head = s3.head_object().bucket(bucket).key(key).send().await;
        let head = head.aws_context(|| format!("s3:HeadObject {bucket}/{key}"))?;
        Ok((key.clone(), head.metadata().and_then(|m| m.get(MD5_METADATA)).cloned()))
    }))
    .await?;
    Ok(plain.into_iter().map(|(key, etag)| (key, Some(etag))).chain(stored).collect())
}

/// Whether the bucket's default encryption is SSE-KMS (or cannot be read), under which ETags are not MD5s.
async fn encrypts_with_kms(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<bool> {
    let rules = match s3.get_bucket_encryption().bucket(bucket).send().await {
        Ok(out) => out.server_side_encryption_configuration().map(|c| c.rules().to_vec()).unwrap_or_default(),
        Err(err) if err.code() == Some("ServerSideEncryptionConfigurationNotFoundError") => Vec::new(),
        // Credentials without s3:GetEncryptionConfiguration cannot tell: the stored MD5s are read instead.
        Err(err) if err.code() == Some("AccessDenied") => return Ok(true),
        Err(err) => return Err(err).aws_context(|| format!("s3:GetBucketEncryption {bucket}")),
    };
    let kms = |a: &ServerSideEncryption| matches!(a, ServerSideEncryption::AwsKms | ServerSideEncryption::AwsKmsDsse);
    Ok(rules.iter().filter_map(|r| r.apply_server_side_encryption_by_default()).any(|d| kms(d.sse_algorithm())))
}

pub(super) async fn list_keys(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<BTreeMap<String, String>> {
    let pages = s3.list_objects_v2().bucket(bucket).into_paginator().send();
    let pages = pages.collect::<Result<Vec<_>, _>>().await.aws_context(|| format!("s3:ListObjectsV2 {bucket}"))?;
    Ok(pages
        .iter()
        .flat_map(|p| p.contents())
        .filter_map(|o| Some((o.key()?.to_string(), o.e_tag()?.trim_matches('"').to_string())))
        .collect())
}

pub(super) fn pending_invalidation(recorder: &dyn Recorder) -> BTreeSet<String> {
    let recorded = recorder.recorded("pending_invalidation").unwrap_or_default();
    serde_json::from_str(&recorded).unwrap_or_default()
}

/// The paths to invalidate for these changed keys: `/key`, `/` with `index.html`, or `/*` past a limit.
pub fn invalidation_paths(changed: &BTreeSet<String>) -> Vec<String> {
    let mut paths: BTreeSet<String> = changed.iter().map(|k| format!("/{k}")).collect();
    if changed.contains("index.html") {
        paths.insert("/".into());
    }
    if paths.len() > MAX_INVALIDATION_PATHS {
        return vec!["/*".into()];
    }
    paths.into_iter().collect()
}

pub(super) async fn invalidate(
    ctx: &Context<'_>,
    recorder: &dyn Recorder,
    distribution_id: &str,
    changed: BTreeSet<String>,
) -> Result<()> {
    let mut pending = pending_invalidation(recorder);
    pending.extend(changed);
    if pending.is_empty() {
        return Ok(());
    }
    let paths = invalidation_paths(&pending);
    if recorder.planning() {
        recorder.report(&format!("invalidation of {}", paths.join(" ")), &Change::Created);
        return Ok(());
    }
    let reference = invalidation_reference(recorder, distribution_id, &paths)?;
    let batch = InvalidationBatch::builder()
        .paths(Paths::builder().quantity(paths.len() as i32).set_items(Some(paths.clone())).build()?)
        .caller_reference(reference)
        .build()?;
    let created = ctx
        .aws
        .cloudfront()
        .create_invalidation()
        .distribution_id(distribution_id)
        .invalidation_batch(batch)
        .send()
        .await
        .aws_context(|| format!("cloudfront:CreateInvalidation {distribution_id}"))?;
    // The ID goes to the report, not the state: a changing output would make dependents' fingerprints churn.
    let id = created.invalidation.map(|i| i.id).unwrap_or_default();
    recorder.record("pending_invalidation", "[]")?;
    recorder.record(REFERENCE_KEY, "")?;
    recorder.report(&format!("invalidation {id} of {}", paths.join(" ")), &Change::Created);
    Ok(())
}

/// The state key of the caller reference of the invalidation under way.
const REFERENCE_KEY: &str = "invalidation_reference";

/// CloudFront answers a caller reference it has seen with the earlier invalidation and invalidates nothing
/// new, so each invalidation has its own: `TOKEN-DIGEST`, recorded before the request. A retry of the same
/// paths (after a kill or a lost answer) reuses it and gets the earlier one back; other paths get a new one.
fn invalidation_reference(recorder: &dyn Recorder, distribution_id: &str, paths: &[String]) -> Result<String> {
    let digest = hex(&Sha256::digest(json!([distribution_id, paths]).to_string()))[..16].to_string();
    let recorded = recorder.recorded(REFERENCE_KEY).filter(|r| r.ends_with(&format!("-{digest}")));
    if let Some(reference) = recorded {
        return Ok(reference);
    }
    let reference = format!("{}-{digest}", crate::names::unique_token(16));
    recorder.record(REFERENCE_KEY, &reference)?;
    Ok(reference)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalidation_covers_changed_paths_the_root_with_index_and_everything_past_the_limit() {
        let keys = |ks: &[&str]| ks.iter().map(|k| k.to_string()).collect::<BTreeSet<_>>();
        assert_eq!(invalidation_paths(&keys(&["assets/a.js"])), ["/assets/a.js"]);
        assert_eq!(invalidation_paths(&keys(&["index.html", "config.js"])), ["/", "/config.js", "/index.html"]);
        let many: Vec<String> = (0..20).map(|i| format!("f{i}.js")).collect();
        assert_eq!(invalidation_paths(&many.into_iter().collect()), ["/*"]);
    }
}
