//! The Origin Access Control and the CloudFront distribution in front of the bucket.

use anyhow::{bail, Context as _, Result};
use aws_sdk_cloudfront::client::Waiters as _;
use aws_sdk_cloudfront::types::{
    CustomErrorResponse, CustomErrorResponses, DefaultCacheBehavior, DistributionConfig, Origin,
    OriginAccessControlConfig, OriginAccessControlOriginTypes, OriginAccessControlSigningBehaviors,
    OriginAccessControlSigningProtocols, Origins, PriceClass, S3OriginConfig, ViewerProtocolPolicy,
};

use crate::aws::{absent_if, AwsContext};
use crate::cloudfront::update_distribution_config;
use crate::ensure::{recorded_token, Recorder, Resource, PLANNED};
use crate::manual::distribution_comment;
use crate::outputs;
use crate::step::Context;

/// AWS's managed "CachingOptimized" cache policy.
pub const CACHING_OPTIMIZED: &str = "658327ea-f89d-4fab-a63d-7e88639e58f6";
const ORIGIN_ID: &str = "s3-site";
/// A distribution takes minutes to deploy a change such as being disabled.
const DISTRIBUTION_WAIT: std::time::Duration = std::time::Duration::from_secs(40 * 60);

/// The Origin Access Control CloudFront signs its requests to the bucket with.
pub(super) struct AccessControl<'a> {
    pub(super) ctx: &'a Context<'a>,
    pub(super) name: String,
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

pub(super) struct Distribution<'a> {
    pub(super) ctx: &'a Context<'a>,
    pub(super) bucket_domain: String,
    pub(super) oac_id: &'a str,
    /// Where a new distribution's caller reference is recorded; `None` in `destroy`, which creates nothing.
    pub(super) recorder: Option<&'a dyn Recorder>,
}

/// The state key of the caller reference of the distribution deployer created.
const REFERENCE_KEY: &str = "distribution_caller_reference";

pub(super) struct LiveDistribution {
    pub(super) id: String,
    pub(super) arn: String,
    pub(super) domain: String,
    pub(super) config: DistributionConfig,
}

impl Distribution<'_> {
    fn new_config(&self, caller_reference: &str) -> Result<DistributionConfig> {
        let mut config = DistributionConfig::builder()
            .caller_reference(caller_reference)
            .comment("")
            .enabled(true)
            .origins(self.origins()?)
            .default_cache_behavior(Self::cache_behavior()?)
            .build()?;
        self.apply_owned(&mut config)?;
        Ok(config)
    }

    /// `deployer-SERVICE-frontend-TOKEN`: CloudFront accepts a caller reference once ever, even after the
    /// distribution is deleted, so each creation has its own (recorded before the request).
    fn caller_reference(&self, token: &str) -> String {
        format!("{}-{token}", self.reference_prefix())
    }

    fn reference_prefix(&self) -> String {
        format!("deployer-{}-frontend", self.ctx.settings.service)
    }

    /// A caller reference deployer gave this service's distribution: this one's, or an older deployer's
    /// fixed `deployer-SERVICE-frontend`.
    fn is_ours(&self, reference: &str) -> bool {
        let Some(rest) = reference.strip_prefix(&self.reference_prefix()) else { return false };
        rest.is_empty()
            || rest.strip_prefix('-').is_some_and(|t| !t.is_empty() && t.chars().all(|c| c.is_ascii_hexdigit()))
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
        config.is_ipv6_enabled = Some(true);
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

    /// A listed distribution's caller reference; empty if it was deleted since the listing (by anyone).
    async fn caller_reference_of(&self, id: &str) -> Result<String> {
        let config = self.ctx.aws.cloudfront().get_distribution_config().id(id).send().await;
        let config = absent_if(config, |e| e.is_no_such_distribution())
            .aws_context(|| format!("cloudfront:GetDistributionConfig {id}"))?;
        Ok(config.and_then(|c| c.distribution_config).map(|c| c.caller_reference).unwrap_or_default())
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
        Some(outputs::DISTRIBUTION_ID.key.to_string())
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
            if ours || (silent && self.is_ours(&self.caller_reference_of(summary.id()).await?)) {
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
        let config = self.new_config(PLANNED).ok()?;
        Some(LiveDistribution { id: PLANNED.into(), arn: PLANNED.into(), domain: PLANNED.into(), config })
    }

    async fn create(&self) -> Result<LiveDistribution> {
        let recorder = self.recorder.context("a distribution is only created by `ensure`, which gives its recorder")?;
        let reference = self.caller_reference(&recorded_token(recorder, REFERENCE_KEY, 16)?);
        let config = self.new_config(&reference)?;
        let created = self.ctx.aws.cloudfront().create_distribution().distribution_config(config).send().await;
        let created = match created {
            Err(err) if err.as_service_error().is_some_and(|e| e.is_distribution_already_exists()) => bail!(
                "a distribution with caller reference {reference} exists but its comment was changed, so deployer \
                 cannot tell it is the service's: restore its comment to '{}', then run again",
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
            // 06-domain writes AAAA alias records, which answer only if the distribution serves IPv6.
            ("ipv6", c.is_ipv6_enabled() == Some(true)),
        ];
        Ok(checks.into_iter().filter(|(_, same)| !same).map(|(field, _)| field).collect())
    }

    fn values(&self, live: &LiveDistribution, field: &str) -> Option<(String, String)> {
        let c = &live.config;
        let on = |b: Option<bool>| if b == Some(true) { "on" } else { "off" }.to_string();
        Some(match field {
            "price_class" => (
                c.price_class().map_or("none".to_string(), |p| p.as_str().to_string()),
                self.ctx.settings.price_class.clone(),
            ),
            "default_root_object" => (c.default_root_object().unwrap_or("none").to_string(), "index.html".to_string()),
            "enabled" => (on(Some(c.enabled())), on(Some(true))),
            "ipv6" => (on(c.is_ipv6_enabled()), on(Some(true))),
            _ => return None,
        })
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
