//! Manual section 3, "Frontend (S3 + CloudFront)": step `05-frontend`.
//!
//! - Bucket `SERVICE-frontend` in the region (outside us-east-1 with its location constraint), with
//!   Block Public Access on. The manual made it a public website bucket; instead CloudFront reads it
//!   through an Origin Access Control (`SERVICE-frontend-oac`, SigV4) and the bucket policy grants
//!   `s3:GetObject` to that one distribution only, so the files are served over HTTPS by CloudFront and
//!   nobody can read the bucket directly.
//! - A CloudFront distribution with a stable `CallerReference` (`deployer-SERVICE-frontend`) and the
//!   comment `SERVICE frontend (deployer)`: looked up by the ID in state, then in the listing by that
//!   comment or by the bucket as its origin (a listing that shows neither is asked for each
//!   distribution's caller reference), before one is created. HTTPS redirect, compression, the managed CachingOptimized policy, `index.html` as
//!   default root object, `--price-class`. 403/404 answer `/index.html` with 200 for single-page apps
//!   (`--spa-fallback true`, the default), else the manual's `/error.html` with 404. Only these fields
//!   are owned: aliases and certificate (set by `06-domain`) are kept on update.
//! - The manual's 3.3 by machine: the real `API_BASE_URL` and `WS_URL` (from `03`/`04`, or the custom
//!   domains once `06-domain` made them: the runner then runs this step again) are written into
//!   `FRONTEND/src/config.js` when it exists, `--frontend-build` runs when given, and a generated
//!   `config.js` is uploaded to the site root, so a prebuilt `dist/` works unchanged.
//! - Sync of `FRONTEND/dist/`: an object is uploaded only when its MD5 differs from the object's ETag,
//!   objects no longer in `dist/` are deleted; `Content-Type` from the extension; `Cache-Control` no-cache
//!   for HTML and `config.js`, a year for fingerprinted assets, an hour otherwise; uploads 16 at a time.
//! - One invalidation per run that changed something, of the changed paths (`/*` past 15), with a
//!   CallerReference derived from them so a retry cannot make a second. The paths are recorded in state
//!   (`pending_invalidation`) before the upload, so a run killed after uploading still invalidates them.
//!
//! AWS calls: `s3:HeadBucket`, `CreateBucket`, `GetPublicAccessBlock`, `PutPublicAccessBlock`,
//! `GetBucketPolicy`, `PutBucketPolicy`, `ListObjectsV2`, `PutObject`, `DeleteObjects`;
//! `cloudfront:GetOriginAccessControl`, `ListOriginAccessControls`, `CreateOriginAccessControl`,
//! `GetDistribution`, `ListDistributions`, `CreateDistribution`, `GetDistributionConfig`,
//! `UpdateDistribution`, `CreateInvalidation`.
//!
//! Outputs: `bucket`, `origin_access_control_id`, `distribution_id`, `distribution_arn`,
//! `distribution_domain`, `site_url`, `pending_invalidation`.

use anyhow::{bail, Context as _, Result};
use async_trait::async_trait;
use aws_sdk_cloudfront::client::Waiters as _;
use aws_sdk_cloudfront::types::{
    CustomErrorResponse, CustomErrorResponses, DefaultCacheBehavior, DistributionConfig, InvalidationBatch, Origin,
    OriginAccessControlConfig, OriginAccessControlOriginTypes, OriginAccessControlSigningBehaviors,
    OriginAccessControlSigningProtocols, Origins, Paths, PriceClass, S3OriginConfig, ViewerProtocolPolicy,
};
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, Delete, ObjectIdentifier, PublicAccessBlockConfiguration,
};
use md5::{Digest, Md5};
use serde_json::{json, Value};
use sha2::Sha256;
use std::cell::OnceCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::aws::{absent_if, AwsContext};
use crate::ensure::{all, ensure, is_planned, remove, Change, Recorder, Resource, PLANNED};
use crate::package::hex;
use crate::s03_api_gateway::{self, record_if_changed};
use crate::s04_websocket;
use crate::settings::{InputError, Settings};
use crate::site::{self, SiteFile, CONFIG_KEY};
use crate::step::{Context, Step, Teardown};

pub const ID: &str = "05-frontend";
/// AWS's managed "CachingOptimized" cache policy.
pub const CACHING_OPTIMIZED: &str = "658327ea-f89d-4fab-a63d-7e88639e58f6";
const ORIGIN_ID: &str = "s3-site";
/// More changed paths than this are invalidated as `/*` (the first 1,000 paths a month are free).
const MAX_INVALIDATION_PATHS: usize = 15;
const DELETE_BATCH: usize = 1000;
/// A distribution takes minutes to deploy a change such as being disabled.
const DISTRIBUTION_WAIT: std::time::Duration = std::time::Duration::from_secs(40 * 60);

/// Reports nothing: a bucket's objects go with it, one line for the bucket says so.
struct Silent;

impl Recorder for Silent {
    fn recorded(&self, _key: &str) -> Option<String> {
        None
    }
    fn record(&self, _key: &str, _value: &str) -> Result<()> {
        Ok(())
    }
    fn report(&self, _resource: &str, _change: &Change) {}
    fn notice(&self, _message: &str) {}
}

pub fn distribution_comment(service: &str) -> String {
    format!("{service} frontend (deployer)")
}

#[derive(Default)]
pub struct Frontend {
    /// The files of `dist/`, scanned once per run (after the build, when one is configured).
    files: OnceCell<Vec<SiteFile>>,
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
    let custom = ctx.outputs.get(crate::s06_domain::ID);
    let custom = custom.and_then(|o| Some((o.get("api_url")?.clone(), o.get("ws_url")?.clone())));
    if let Some(custom) = custom {
        return Ok(custom);
    }
    let api = ctx.output(s03_api_gateway::ID, "invoke_url")?.to_string();
    let ws = ctx.output(s04_websocket::ID, "websocket_url")?.to_string();
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
        &[s03_api_gateway::ID, s04_websocket::ID]
    }
    fn plans_past_new(&self) -> bool {
        true
    }
    fn reads(&self) -> &'static [&'static str] {
        &[crate::s06_domain::ID]
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
        remove(&Distribution { ctx, bucket_domain, oac_id: "" }, recorder).await?;
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

        let bucket_name = ctx.name("frontend");
        ensure(&Bucket { ctx, name: bucket_name.clone() }, recorder).await?;
        record_if_changed(recorder, "bucket", &bucket_name)?;
        let oac = ensure(&AccessControl { ctx, name: ctx.name("frontend-oac") }, recorder).await?;
        let bucket_domain = format!("{bucket_name}.s3.{}.amazonaws.com", ctx.settings.region);
        let distribution = ensure(&Distribution { ctx, bucket_domain, oac_id: &oac }, recorder).await?;
        record_if_changed(recorder, "distribution_arn", &distribution.arn)?;
        record_if_changed(recorder, "distribution_domain", &distribution.domain)?;
        record_if_changed(recorder, "site_url", &format!("https://{}", distribution.domain))?;
        ensure(&BucketPolicy { ctx, bucket: &bucket_name, distribution_arn: &distribution.arn }, recorder).await?;

        let changed = sync(ctx, recorder, &bucket_name, &files).await?;
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

struct Bucket<'a> {
    ctx: &'a Context<'a>,
    name: String,
}

impl Bucket<'_> {
    fn blocked() -> PublicAccessBlockConfiguration {
        PublicAccessBlockConfiguration::builder()
            .block_public_acls(true)
            .ignore_public_acls(true)
            .block_public_policy(true)
            .restrict_public_buckets(true)
            .build()
    }
}

impl Resource for Bucket<'_> {
    /// Whether all public access is blocked.
    type Live = bool;

    fn label(&self) -> String {
        format!("bucket {}", self.name)
    }

    fn planned(&self) -> Option<bool> {
        Some(true)
    }

    /// A bucket must be empty to go.
    async fn delete(&self, _live: bool) -> Result<()> {
        let s3 = self.ctx.aws.s3();
        let keys: Vec<String> = list_keys(s3, &self.name).await?.into_keys().collect();
        delete_objects(s3, &self.name, &keys, &Silent).await?;
        s3.delete_bucket().bucket(&self.name).send().await.aws_context(|| format!("s3:DeleteBucket {}", self.name))?;
        Ok(())
    }

    async fn find(&self, _recorded: Option<&str>) -> Result<Option<bool>> {
        let s3 = self.ctx.aws.s3();
        match s3.head_bucket().bucket(&self.name).send().await {
            Ok(_) => {}
            Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found()) => return Ok(None),
            Err(err) if err.raw_response().is_some_and(|r| r.status().as_u16() == 403) => bail!(
                "bucket {} belongs to another AWS account (bucket names are global): deploy under another --service",
                self.name
            ),
            Err(err) => return Err(err).aws_context(|| format!("s3:HeadBucket {}", self.name)),
        }
        let block = s3.get_public_access_block().bucket(&self.name).send().await;
        let block = match block {
            Ok(out) => out.public_access_block_configuration().cloned(),
            Err(err) if err.code() == Some("NoSuchPublicAccessBlockConfiguration") => None,
            Err(err) => return Err(err).aws_context(|| format!("s3:GetPublicAccessBlock {}", self.name)),
        };
        Ok(Some(block.as_ref() == Some(&Self::blocked())))
    }

    async fn create(&self) -> Result<bool> {
        let region = &self.ctx.settings.region;
        // us-east-1 is the default location and refuses to be named as a constraint.
        let location = (region != "us-east-1").then(|| {
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region.as_str()))
                .build()
        });
        let created =
            self.ctx.aws.s3().create_bucket().bucket(&self.name).set_create_bucket_configuration(location).send().await;
        match created {
            Ok(_) => Ok(false),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_bucket_already_owned_by_you()) => Ok(false),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_bucket_already_exists()) => bail!(
                "bucket {} is taken by another AWS account (bucket names are global): deploy under another --service",
                self.name
            ),
            Err(err) => Err(err).aws_context(|| format!("s3:CreateBucket {}", self.name)),
        }
    }

    fn id(&self, _live: &bool) -> String {
        self.name.clone()
    }

    fn differences(&self, blocked: &bool) -> Result<Vec<&'static str>> {
        Ok(if *blocked { vec![] } else { vec!["public_access_block"] })
    }

    async fn update(&self, _live: bool, _fields: &[&'static str]) -> Result<bool> {
        self.ctx
            .aws
            .s3()
            .put_public_access_block()
            .bucket(&self.name)
            .public_access_block_configuration(Self::blocked())
            .send()
            .await
            .aws_context(|| format!("s3:PutPublicAccessBlock {}", self.name))?;
        Ok(true)
    }
}

/// The Origin Access Control CloudFront signs its requests to the bucket with.
struct AccessControl<'a> {
    ctx: &'a Context<'a>,
    name: String,
}

impl Resource for AccessControl<'_> {
    /// Its ID.
    type Live = String;

    fn label(&self) -> String {
        format!("origin access control {}", self.name)
    }

    fn key(&self) -> Option<String> {
        Some("origin_access_control_id".into())
    }

    async fn delete(&self, id: String) -> Result<()> {
        let cloudfront = self.ctx.aws.cloudfront();
        let got = cloudfront.get_origin_access_control().id(&id).send().await;
        let etag = got.aws_context(|| format!("cloudfront:GetOriginAccessControl {id}"))?.e_tag;
        let deleted = cloudfront.delete_origin_access_control().id(&id).set_if_match(etag).send().await;
        deleted.aws_context(|| format!("cloudfront:DeleteOriginAccessControl {id}"))?;
        Ok(())
    }

    /// Lets a plan go on to the distribution, which will be new too.
    fn planned(&self) -> Option<String> {
        Some(PLANNED.into())
    }

    async fn find(&self, recorded: Option<&str>) -> Result<Option<String>> {
        let cloudfront = self.ctx.aws.cloudfront();
        if let Some(id) = recorded {
            let got = absent_if(cloudfront.get_origin_access_control().id(id).send().await, |e| {
                e.is_no_such_origin_access_control()
            })
            .aws_context(|| format!("cloudfront:GetOriginAccessControl {id}"))?;
            if got.is_some() {
                return Ok(Some(id.to_string()));
            }
        }
        let pages = cloudfront.list_origin_access_controls().into_paginator().send();
        let pages = pages
            .collect::<Result<Vec<_>, _>>()
            .await
            .aws_context(|| "cloudfront:ListOriginAccessControls".to_string())?;
        let found = pages
            .iter()
            .filter_map(|p| p.origin_access_control_list())
            .flat_map(|l| l.items())
            .find(|oac| oac.name() == self.name);
        Ok(found.map(|oac| oac.id().to_string()))
    }

    async fn create(&self) -> Result<String> {
        let config = OriginAccessControlConfig::builder()
            .name(&self.name)
            .description(format!("{} site bucket (deployer)", self.ctx.settings.service))
            .signing_protocol(OriginAccessControlSigningProtocols::Sigv4)
            .signing_behavior(OriginAccessControlSigningBehaviors::Always)
            .origin_access_control_origin_type(OriginAccessControlOriginTypes::S3)
            .build()?;
        let created = self
            .ctx
            .aws
            .cloudfront()
            .create_origin_access_control()
            .origin_access_control_config(config)
            .send()
            .await
            .aws_context(|| format!("cloudfront:CreateOriginAccessControl {}", self.name))?;
        created.origin_access_control.map(|o| o.id).context("CreateOriginAccessControl returned no ID")
    }

    fn id(&self, live: &String) -> String {
        live.clone()
    }
}

struct Distribution<'a> {
    ctx: &'a Context<'a>,
    bucket_domain: String,
    oac_id: &'a str,
}

struct LiveDistribution {
    id: String,
    arn: String,
    domain: String,
    config: DistributionConfig,
}

impl Distribution<'_> {
    fn new_config(&self) -> Result<DistributionConfig> {
        let mut config = DistributionConfig::builder()
            .caller_reference(self.caller_reference())
            .comment("")
            .enabled(true)
            .origins(self.origins()?)
            .default_cache_behavior(Self::cache_behavior()?)
            .build()?;
        self.apply_owned(&mut config)?;
        Ok(config)
    }

    fn caller_reference(&self) -> String {
        format!("deployer-{}-frontend", self.ctx.settings.service)
    }

    fn origins(&self) -> Result<Origins> {
        let origin = Origin::builder()
            .id(ORIGIN_ID)
            .domain_name(&self.bucket_domain)
            .origin_access_control_id(self.oac_id)
            // With an OAC the legacy identity stays empty.
            .s3_origin_config(S3OriginConfig::builder().origin_access_identity("").build())
            .build()?;
        Ok(Origins::builder().quantity(1).items(origin).build()?)
    }

    fn cache_behavior() -> Result<DefaultCacheBehavior> {
        Ok(DefaultCacheBehavior::builder()
            .target_origin_id(ORIGIN_ID)
            .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
            .cache_policy_id(CACHING_OPTIMIZED)
            .compress(true)
            .build()?)
    }

    fn error_responses(&self) -> Result<CustomErrorResponses> {
        let (page, code) = if self.ctx.settings.spa_fallback { ("/index.html", "200") } else { ("/error.html", "404") };
        let responses = [403, 404]
            .into_iter()
            .map(|error| {
                CustomErrorResponse::builder()
                    .error_code(error)
                    .response_page_path(page)
                    .response_code(code)
                    .error_caching_min_ttl(10)
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CustomErrorResponses::builder().quantity(2).set_items(Some(responses)).build()?)
    }

    /// Sets the fields this step owns, leaving the rest (aliases, certificate…) as they are.
    fn apply_owned(&self, config: &mut DistributionConfig) -> Result<()> {
        config.comment = distribution_comment(&self.ctx.settings.service);
        config.enabled = true;
        config.origins = Some(self.origins()?);
        config.default_cache_behavior = Some(Self::cache_behavior()?);
        config.default_root_object = Some("index.html".into());
        config.price_class = Some(PriceClass::from(self.ctx.settings.price_class.as_str()));
        config.custom_error_responses = Some(self.error_responses()?);
        Ok(())
    }

    fn origin_differs(&self, origins: Option<&Origins>) -> bool {
        let items = origins.map(|o| o.items()).unwrap_or_default();
        let [origin] = items else { return true };
        // An OAC ID the service does not report cannot be compared (moto drops it); AWS always reports it.
        let oac_differs = origin.origin_access_control_id().is_some_and(|id| id != self.oac_id);
        origin.id() != ORIGIN_ID || origin.domain_name() != self.bucket_domain || oac_differs
    }

    async fn caller_reference_of(&self, id: &str) -> Result<String> {
        let config = self.ctx.aws.cloudfront().get_distribution_config().id(id).send().await;
        let config = config.aws_context(|| format!("cloudfront:GetDistributionConfig {id}"))?;
        Ok(config.distribution_config.map(|c| c.caller_reference).unwrap_or_default())
    }

    async fn read(&self, id: &str) -> Result<Option<LiveDistribution>> {
        let got = absent_if(self.ctx.aws.cloudfront().get_distribution().id(id).send().await, |e| {
            e.is_no_such_distribution()
        })
        .aws_context(|| format!("cloudfront:GetDistribution {id}"))?;
        let Some(distribution) = got.and_then(|out| out.distribution) else {
            return Ok(None);
        };
        Ok(Some(LiveDistribution {
            id: distribution.id,
            arn: distribution.arn,
            domain: distribution.domain_name,
            config: distribution.distribution_config.context("GetDistribution returned no configuration")?,
        }))
    }
}

impl Resource for Distribution<'_> {
    type Live = LiveDistribution;

    fn label(&self) -> String {
        format!("distribution {}", distribution_comment(&self.ctx.settings.service))
    }

    fn key(&self) -> Option<String> {
        Some("distribution_id".into())
    }

    /// CloudFront deletes only a disabled distribution that has finished deploying.
    async fn delete(&self, live: LiveDistribution) -> Result<()> {
        let cloudfront = self.ctx.aws.cloudfront();
        let id = &live.id;
        let got = cloudfront.get_distribution_config().id(id).send().await;
        let got = got.aws_context(|| format!("cloudfront:GetDistributionConfig {id}"))?;
        let mut etag = got.e_tag;
        let mut config = got.distribution_config.context("GetDistributionConfig returned no configuration")?;
        if config.enabled {
            config.enabled = false;
            let updated = cloudfront.update_distribution().id(id).set_if_match(etag).distribution_config(config).send();
            etag = updated.await.aws_context(|| format!("cloudfront:UpdateDistribution {id} (disable)"))?.e_tag;
        }
        cloudfront
            .wait_until_distribution_deployed()
            .id(id)
            .wait(DISTRIBUTION_WAIT)
            .await
            .with_context(|| format!("waiting for distribution {id} to be disabled: run `deployer destroy` again"))?;
        let deleted = cloudfront.delete_distribution().id(id).set_if_match(etag).send().await;
        deleted.aws_context(|| format!("cloudfront:DeleteDistribution {id}"))?;
        Ok(())
    }

    async fn find(&self, recorded: Option<&str>) -> Result<Option<LiveDistribution>> {
        if let Some(live) = match recorded {
            Some(id) => self.read(id).await?,
            None => None,
        } {
            return Ok(Some(live));
        }
        let comment = distribution_comment(&self.ctx.settings.service);
        let pages = self.ctx.aws.cloudfront().list_distributions().into_paginator().send();
        let pages =
            pages.collect::<Result<Vec<_>, _>>().await.aws_context(|| "cloudfront:ListDistributions".to_string())?;
        let mut ids: Vec<String> = Vec::new();
        for summary in pages.iter().filter_map(|p| p.distribution_list()).flat_map(|l| l.items()) {
            let origins = summary.origins().map(|o| o.items()).unwrap_or_default();
            let ours = summary.comment() == comment || origins.iter().any(|o| o.domain_name() == self.bucket_domain);
            // A summary that names neither (moto lists only IDs) is asked for its caller reference.
            let silent = summary.comment().is_empty() && origins.is_empty();
            if ours || (silent && self.caller_reference_of(summary.id()).await? == self.caller_reference()) {
                ids.push(summary.id().to_string());
            }
        }
        match ids.as_slice() {
            [] => Ok(None),
            [id] => self.read(id).await,
            _ => bail!(
                "{} CloudFront distributions carry the comment '{comment}' ({}): keep the one the site's DNS points \
                 at, delete the others, then run again",
                ids.len(),
                ids.join(", ")
            ),
        }
    }

    /// Lets a plan go on to the bucket policy, which names the distribution.
    fn planned(&self) -> Option<LiveDistribution> {
        let config = self.new_config().ok()?;
        Some(LiveDistribution { id: PLANNED.into(), arn: PLANNED.into(), domain: PLANNED.into(), config })
    }

    async fn create(&self) -> Result<LiveDistribution> {
        let config = self.new_config()?;
        let created = self.ctx.aws.cloudfront().create_distribution().distribution_config(config).send().await;
        let created = match created {
            Err(err) if err.as_service_error().is_some_and(|e| e.is_distribution_already_exists()) => bail!(
                "a distribution with caller reference {} exists but its comment was changed, so deployer cannot \
                 tell it is the service's: restore its comment to '{}', then run again",
                self.caller_reference(),
                distribution_comment(&self.ctx.settings.service)
            ),
            other => other.aws_context(|| "cloudfront:CreateDistribution".to_string())?,
        };
        let distribution = created.distribution.context("CreateDistribution returned no distribution")?;
        Ok(LiveDistribution {
            id: distribution.id,
            arn: distribution.arn,
            domain: distribution.domain_name,
            config: distribution.distribution_config.context("CreateDistribution returned no configuration")?,
        })
    }

    fn id(&self, live: &LiveDistribution) -> String {
        live.id.clone()
    }

    fn differences(&self, live: &LiveDistribution) -> Result<Vec<&'static str>> {
        let c = &live.config;
        let behavior = c.default_cache_behavior();
        let behavior_same = behavior.is_some_and(|b| {
            b.target_origin_id() == ORIGIN_ID
                && b.viewer_protocol_policy() == &ViewerProtocolPolicy::RedirectToHttps
                && b.cache_policy_id() == Some(CACHING_OPTIMIZED)
                && b.compress() == Some(true)
        });
        let wanted_errors = self.error_responses()?;
        let errors_same = c.custom_error_responses().map(|e| e.items()) == Some(wanted_errors.items());
        let checks = [
            ("origin", !self.origin_differs(c.origins())),
            ("cache_behavior", behavior_same),
            ("default_root_object", c.default_root_object() == Some("index.html")),
            ("price_class", c.price_class().map(|p| p.as_str()) == Some(self.ctx.settings.price_class.as_str())),
            ("error_responses", errors_same),
            ("enabled", c.enabled()),
        ];
        Ok(checks.into_iter().filter(|(_, same)| !same).map(|(field, _)| field).collect())
    }

    async fn update(&self, live: LiveDistribution, _fields: &[&'static str]) -> Result<LiveDistribution> {
        let distribution = update_distribution_config(self.ctx, &live.id, |config| self.apply_owned(config)).await?;
        Ok(LiveDistribution {
            id: distribution.id,
            arn: distribution.arn,
            domain: distribution.domain_name,
            config: distribution.distribution_config.context("UpdateDistribution returned no configuration")?,
        })
    }
}

/// Read-modify-write of a distribution's configuration, guarded by its ETag so that a concurrent change
/// is refused rather than overwritten.
pub(crate) async fn update_distribution_config(
    ctx: &Context<'_>,
    id: &str,
    change: impl FnOnce(&mut DistributionConfig) -> Result<()>,
) -> Result<aws_sdk_cloudfront::types::Distribution> {
    let cloudfront = ctx.aws.cloudfront();
    let current = cloudfront.get_distribution_config().id(id).send().await;
    let current = current.aws_context(|| format!("cloudfront:GetDistributionConfig {id}"))?;
    let etag = current.e_tag().map(str::to_string);
    let mut config = current.distribution_config.context("GetDistributionConfig returned no configuration")?;
    change(&mut config)?;
    let updated = cloudfront
        .update_distribution()
        .id(id)
        .set_if_match(etag)
        .distribution_config(config)
        .send()
        .await
        .aws_context(|| format!("cloudfront:UpdateDistribution {id}"))?;
    updated.distribution.context("UpdateDistribution returned no distribution")
}

/// Read access for the one distribution, through its OAC; nobody else.
struct BucketPolicy<'a> {
    ctx: &'a Context<'a>,
    bucket: &'a str,
    distribution_arn: &'a str,
}

impl BucketPolicy<'_> {
    fn wanted(&self) -> Value {
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "CloudFrontReadsTheSite",
                "Effect": "Allow",
                "Principal": {"Service": "cloudfront.amazonaws.com"},
                "Action": "s3:GetObject",
                "Resource": format!("arn:aws:s3:::{}/*", self.bucket),
                "Condition": {"StringEquals": {"AWS:SourceArn": self.distribution_arn}}
            }]
        })
    }

    async fn put(&self) -> Result<Value> {
        let policy = self.wanted();
        self.ctx
            .aws
            .s3()
            .put_bucket_policy()
            .bucket(self.bucket)
            .policy(policy.to_string())
            .send()
            .await
            .aws_context(|| format!("s3:PutBucketPolicy {}", self.bucket))?;
        Ok(policy)
    }
}

impl Resource for BucketPolicy<'_> {
    type Live = Value;

    fn label(&self) -> String {
        format!("bucket policy of {}", self.bucket)
    }

    /// A new distribution means a new bucket too (the plan looks no further).
    fn under_planned(&self) -> bool {
        is_planned(self.distribution_arn)
    }

    fn planned(&self) -> Option<Value> {
        Some(Value::Null)
    }

    async fn find(&self, _recorded: Option<&str>) -> Result<Option<Value>> {
        match self.ctx.aws.s3().get_bucket_policy().bucket(self.bucket).send().await {
            Ok(out) => {
                Ok(Some(serde_json::from_str(out.policy().unwrap_or("{}")).context("the bucket policy is not JSON")?))
            }
            Err(err) if err.code() == Some("NoSuchBucketPolicy") => Ok(None),
            Err(err) => Err(err).aws_context(|| format!("s3:GetBucketPolicy {}", self.bucket)),
        }
    }

    async fn create(&self) -> Result<Value> {
        self.put().await
    }

    fn id(&self, _live: &Value) -> String {
        self.bucket.to_string()
    }

    fn differences(&self, live: &Value) -> Result<Vec<&'static str>> {
        Ok(if *live == self.wanted() { vec![] } else { vec!["policy"] })
    }

    async fn update(&self, _live: Value, _fields: &[&'static str]) -> Result<Value> {
        self.put().await
    }
}

/// Uploads what differs, deletes what is gone; returns the changed keys.
async fn sync(
    ctx: &Context<'_>,
    recorder: &dyn Recorder,
    bucket: &str,
    files: &[SiteFile],
) -> Result<BTreeSet<String>> {
    let s3 = ctx.aws.s3();
    // A plan for a bucket still to create finds it empty.
    let live = match list_keys(s3, bucket).await {
        Err(err) if recorder.planning() && format!("{err:#}").contains("NoSuchBucket") => BTreeMap::new(),
        listed => listed?,
    };

    let uploads: Vec<&SiteFile> = files.iter().filter(|f| live.get(&f.key) != Some(&f.md5)).collect();
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
async fn delete_objects(s3: &aws_sdk_s3::Client, bucket: &str, keys: &[String], recorder: &dyn Recorder) -> Result<()> {
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

async fn list_keys(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<BTreeMap<String, String>> {
    let pages = s3.list_objects_v2().bucket(bucket).into_paginator().send();
    let pages = pages.collect::<Result<Vec<_>, _>>().await.aws_context(|| format!("s3:ListObjectsV2 {bucket}"))?;
    Ok(pages
        .iter()
        .flat_map(|p| p.contents())
        .filter_map(|o| Some((o.key()?.to_string(), o.e_tag()?.trim_matches('"').to_string())))
        .collect())
}

fn pending_invalidation(recorder: &dyn Recorder) -> BTreeSet<String> {
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

async fn invalidate(
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
    // The same set of changes gives the same reference, so CloudFront treats a retry as the same request.
    let reference = hex(&Sha256::digest(json!([distribution_id, pending]).to_string()))[..32].to_string();
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
    recorder.report(&format!("invalidation {id} of {}", paths.join(" ")), &Change::Created);
    Ok(())
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
