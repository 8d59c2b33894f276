//! Manual section 3, "Frontend (S3 + CloudFront)": step `05-frontend`.
//!
//! - Bucket `SERVICE-frontend` in the region (outside us-east-1 with its location constraint), with
//!   Block Public Access on. The manual made it a public website bucket; instead CloudFront reads it
//!   through an Origin Access Control (`SERVICE-frontend-oac`, SigV4) and the bucket policy grants
//!   `s3:GetObject` to that one distribution only, so the files are served over HTTPS by CloudFront and
//!   nobody can read the bucket directly.
//! - A CloudFront distribution with a `CallerReference` unique to its creation (`deployer-SERVICE-frontend-TOKEN`,
//!   recorded before the request: CloudFront refuses one it has seen, even of a deleted distribution) and the
//!   comment `SERVICE frontend (deployer)`: looked up by the ID in state, then in the listing by that
//!   comment or by the bucket as its origin (a listing that shows neither is asked for each
//!   distribution's caller reference), before one is created. HTTPS redirect, compression, IPv6 (`06-domain` writes AAAA records), the managed CachingOptimized policy, `index.html` as
//!   default root object, `--price-class`. 403/404 answer `/index.html` with 200 for single-page apps
//!   (`--spa-fallback true`, the default), else the manual's `/error.html` with 404. Only these fields
//!   are owned: aliases and certificate (set by `06-domain`) are kept on update.
//! - The manual's 3.3 by machine: the real `API_BASE_URL` and `WS_URL` (from `03`/`04`, or the custom
//!   domains once `06-domain` made them: the runner then runs this step again) are written into
//!   `FRONTEND/src/config.js` when it exists, `--frontend-build` runs when given, and a generated
//!   `config.js` is uploaded to the site root, so a prebuilt `dist/` works unchanged.
//! - Sync of `FRONTEND/dist/`: an object is uploaded only when its MD5 differs from the object's ETag (or,
//!   under SSE-KMS default encryption, where ETags are not MD5s, from the MD5 kept in its metadata),
//!   objects no longer in `dist/` are deleted; `Content-Type` from the extension; `Cache-Control` no-cache
//!   for HTML and `config.js`, a year for fingerprinted assets, an hour otherwise; uploads 16 at a time.
//! - One invalidation per run that changed something, of the changed paths (`/*` past 15), with a
//!   CallerReference unique to that invalidation (recorded before the request with a digest of its paths, so a
//!   retry of the same paths gets the earlier invalidation back and a later change, even back to earlier
//!   content, is invalidated anew). The paths are recorded in state
//!   (`pending_invalidation`) before the upload, so a run killed after uploading still invalidates them.
//!
//! AWS calls: `s3:HeadBucket`, `CreateBucket`, `GetPublicAccessBlock`, `PutPublicAccessBlock`,
//! `GetBucketPolicy`, `PutBucketPolicy`, `ListObjectsV2`, `PutObject`, `DeleteObjects`;
//! `cloudfront:GetOriginAccessControl`, `ListOriginAccessControls`, `CreateOriginAccessControl`,
//! `GetDistribution`, `ListDistributions`, `CreateDistribution`, `GetDistributionConfig`,
//! `UpdateDistribution`, `CreateInvalidation`.
//!
//! Files: `bucket.rs` the bucket and its policy, `distribution.rs` the OAC and the distribution, `sync.rs`
//! the upload and the invalidation; the read-modify-write of a distribution's configuration, which
//! `06-domain` uses too, is [`crate::cloudfront::update_distribution_config`].
//!
//! Outputs: `bucket`, `origin_access_control_id`, `distribution_id`, `distribution_arn`,
//! `distribution_domain`, `site_url`, `pending_invalidation`, `site_digest` (of the objects' keys and
//! contents, which a release names). The bucket's `.deployer/` prefix holds deployer's release records:
//! CloudFront may not read it, and the sync leaves it alone.

mod bucket;
mod distribution;
mod sync;

use anyhow::{bail, Context as _, Result};
use async_trait::async_trait;
use sha2::{Digest, Sha256};
use std::cell::OnceCell;
use std::path::Path;

use crate::ensure::{ensure, record_if_changed, remove, Change, Recorder};
use crate::error::InputError;
use crate::manual::ids;
use crate::outputs;
use crate::package::hex;
use crate::settings::Settings;
use crate::site::{self, SiteFile, CONFIG_KEY};
use crate::step::{Context, Step, Teardown};
use bucket::{Bucket, BucketPolicy};
use distribution::{AccessControl, Distribution};
use sync::{invalidate, sync};

pub use sync::invalidation_paths;

pub const ID: &str = ids::FRONTEND;

#[derive(Default)]
pub struct Frontend {
    /// The files of `dist/`, scanned once per run (after the build, when one is configured).
    pub(super) files: OnceCell<Vec<SiteFile>>,
}

impl Frontend {
    fn dist(settings: &Settings) -> std::path::PathBuf {
        settings.frontend.join("dist")
    }

    fn files(&self, settings: &Settings) -> Result<&Vec<SiteFile>> {
        if let Some(files) = self.files.get() {
            return Ok(files);
        }
        let scanned = site::scan(&Self::dist(settings))?;
        Ok(self.files.get_or_init(|| scanned))
    }
}

/// The endpoints the site should call: the custom domains once `06-domain` made them, else the APIs' own.
fn endpoints(ctx: &Context<'_>) -> Result<(String, String)> {
    let custom = ctx.get_optional(&outputs::API_URL).zip(ctx.get_optional(&outputs::WS_URL));
    if let Some((api, ws)) = custom {
        return Ok((api.to_string(), ws.to_string()));
    }
    let api = ctx.get(&outputs::INVOKE_URL)?.to_string();
    let ws = ctx.get(&outputs::WEBSOCKET_URL)?.to_string();
    Ok((api, ws))
}

#[async_trait(?Send)]
impl Step for Frontend {
    fn id(&self) -> &'static str {
        ID
    }
    fn title(&self) -> &'static str {
        "3 Frontend (S3 + CloudFront)"
    }
    fn settings_used(&self) -> Option<&'static [&'static str]> {
        Some(&["domain", "frontend", "frontend_build", "price_class", "spa_fallback"])
    }
    fn requires(&self) -> &'static [&'static str] {
        &[ids::API_GATEWAY, ids::WEBSOCKET]
    }
    /// The endpoints it writes into the site are recorded before 03 and 04 add their invoke permissions.
    fn starts_on_outputs(&self) -> bool {
        true
    }
    fn plans_past_new(&self) -> bool {
        true
    }
    fn reads(&self) -> &'static [&'static str] {
        &[ids::DOMAIN]
    }

    fn validate(&self, settings: &Settings) -> Result<(), InputError> {
        let frontend = &settings.frontend;
        let dist = Self::dist(settings);
        let fix = "pass --frontend DIR, the folder whose dist/ holds the built site (index.html and its assets)";
        if !frontend.is_dir() {
            return Err(InputError(format!("frontend folder '{}' does not exist: {fix}", frontend.display())));
        }
        if settings.frontend_build.is_some() {
            return Ok(()); // dist/ is made by the build
        }
        if !dist.is_dir() {
            return Err(InputError(format!(
                "'{}' does not exist: build the frontend first (or give --frontend-build \"npm run build\"), or {fix}",
                dist.display()
            )));
        }
        if std::fs::read_dir(&dist).map(|mut d| d.next().is_none()).unwrap_or(true) {
            return Err(InputError(format!("'{}' is empty: build the frontend first, or {fix}", dist.display())));
        }
        if !dist.join("index.html").is_file() {
            return Err(InputError(format!(
                "'{}' has no index.html, the page CloudFront serves at the root: {fix}",
                dist.display()
            )));
        }
        Ok(())
    }

    /// The site's content and its endpoints; with a build command, the sources the build reads too.
    async fn input_digest(&self, ctx: &Context<'_>) -> Result<String> {
        let mut digest = Sha256::new();
        if ctx.settings.frontend_build.is_some() {
            for file in site::scan(&ctx.settings.frontend)? {
                if !file.key.starts_with("dist/") && !file.key.starts_with("node_modules/") {
                    digest.update(format!("{} {}\n", file.key, file.md5));
                }
            }
        } else {
            for file in self.files(ctx.settings)? {
                digest.update(format!("{} {}\n", file.key, file.md5));
            }
        }
        Ok(hex(&digest.finalize()))
    }

    /// The distribution first (it reads the bucket through the OAC), then the OAC, then the bucket.
    async fn destroy(&self, ctx: &Context<'_>, _teardown: &Teardown, recorder: &dyn Recorder) -> Result<()> {
        let bucket = ctx.name("frontend");
        let bucket_domain = format!("{bucket}.s3.{}.amazonaws.com", ctx.settings.region);
        remove(&Distribution { ctx, bucket_domain, oac_id: "", recorder: None }, recorder).await?;
        remove(&AccessControl { ctx, name: ctx.name("frontend-oac") }, recorder).await?;
        remove(&Bucket { ctx, name: bucket }, recorder).await
    }

    async fn run(&self, ctx: &Context<'_>, recorder: &dyn Recorder) -> Result<()> {
        let (api_url, ws_url) = endpoints(ctx)?;
        write_source_config(ctx, recorder, &api_url, &ws_url)?;
        match &ctx.settings.frontend_build {
            Some(command) if recorder.planning() => {
                recorder.notice(&format!("the plan compares dist/ as it is now: `{command}` runs on `deployer run`"))
            }
            Some(command) => build_frontend(&ctx.settings.frontend, command).await?,
            None => {}
        }
        let mut files = if ctx.settings.frontend_build.is_some() {
            site::scan(&Self::dist(ctx.settings))?
        } else {
            self.files(ctx.settings)?.clone()
        };
        if !files.iter().any(|f| f.key == "index.html") {
            bail!(
                "the frontend build left no index.html in {}: check the build's output folder",
                Self::dist(ctx.settings).display()
            );
        }
        files.retain(|f| f.key != CONFIG_KEY);
        files.push(SiteFile::generated(CONFIG_KEY, site::config_js(&api_url, &ws_url).into_bytes()));

        // What does not wait for each other goes together (each round trip costs ~150 ms on AWS): the
        // bucket, the access control and the account; then the distribution and the objects; then the
        // policy that needs both, and the invalidation. Each group runs to its end before an error counts.
        let bucket_name = ctx.name("frontend");
        let (bucket, access) =
            (Bucket { ctx, name: bucket_name.clone() }, AccessControl { ctx, name: ctx.name("frontend-oac") });
        let (bucket, oac, identity) =
            futures::join!(ensure(&bucket, recorder), ensure(&access, recorder), ctx.aws.identity());
        let (_, oac, identity) = (bucket?, oac?, identity?);
        record_if_changed(recorder, &outputs::BUCKET.key, &bucket_name)?;
        let bucket_domain = format!("{bucket_name}.s3.{}.amazonaws.com", ctx.settings.region);
        let site = Distribution { ctx, bucket_domain, oac_id: &oac, recorder: Some(recorder) };
        let (distribution, changed) =
            futures::join!(ensure(&site, recorder), sync(ctx, recorder, &bucket_name, &files));
        let (distribution, changed) = (distribution?, changed?);
        record_if_changed(recorder, &outputs::DISTRIBUTION_ARN.key, &distribution.arn)?;
        record_if_changed(recorder, &outputs::DISTRIBUTION_DOMAIN.key, &distribution.domain)?;
        record_if_changed(recorder, outputs::SITE_URL_KEY, &format!("https://{}", distribution.domain))?;
        record_if_changed(recorder, &outputs::SITE_DIGEST.key, &sync::site_digest(&files))?;
        let partition = &identity.partition;
        let policy = BucketPolicy { ctx, bucket: &bucket_name, distribution_arn: &distribution.arn, partition };
        ensure(&policy, recorder).await?;
        invalidate(ctx, recorder, &distribution.id, changed).await
    }
}

/// Writes the endpoints into `FRONTEND/src/config.js` when the frontend has one.
fn write_source_config(ctx: &Context<'_>, recorder: &dyn Recorder, api_url: &str, ws_url: &str) -> Result<()> {
    let path = ctx.settings.frontend.join("src").join("config.js");
    if !path.is_file() {
        return Ok(());
    }
    let source = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let rewritten = site::rewrite_config_source(&source, api_url, ws_url);
    let change = if rewritten == source {
        Change::Unchanged
    } else if recorder.planning() {
        Change::Updated(vec!["API_BASE_URL".into(), "WS_URL".into()])
    } else {
        std::fs::write(&path, rewritten).with_context(|| format!("writing {}", path.display()))?;
        Change::Updated(vec!["API_BASE_URL".into(), "WS_URL".into()])
    };
    recorder.report(&format!("file {}", path.display()), &change);
    Ok(())
}

async fn build_frontend(frontend: &Path, command: &str) -> Result<()> {
    let status = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(frontend)
        .stdout(std::process::Stdio::null())
        .status()
        .await
        .with_context(|| format!("starting the frontend build `{command}`"))?;
    if !status.success() {
        bail!(
            "the frontend build `{command}` failed ({status}) in {}: fix the build, then `deployer resume`",
            frontend.display()
        );
    }
    Ok(())
}
