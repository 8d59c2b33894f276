//! The distribution's aliases DOMAIN and www.DOMAIN with the certificate, and their removal on destroy.

use anyhow::{bail, Context as _, Result};
use aws_sdk_cloudfront::client::Waiters as _;
use aws_sdk_cloudfront::types::{
    Aliases, DefaultCacheBehavior, DistributionConfig, MinimumProtocolVersion, Origins, SslSupportMethod,
    ViewerCertificate, ViewerProtocolPolicy,
};
use std::collections::BTreeSet;

use crate::aws::{absent_if, AwsContext};
use crate::cloudfront::update_distribution_config;
use crate::ensure::{is_planned, Change, Recorder, Resource, PLANNED};
use crate::manual::ids;
use crate::step::Context;

/// How long destroy waits for a disabled distribution to deploy (CloudFront takes minutes, rarely more).
const ALIASES_RELEASED_WAIT: std::time::Duration = std::time::Duration::from_secs(40 * 60);

/// Gives the distribution back its default name and certificate (a certificate in use cannot be deleted),
/// disables it for `05-frontend`'s teardown, and waits until CloudFront has let go of the certificate.
pub(super) async fn detach_aliases(ctx: &Context<'_>, id: &str, recorder: &dyn Recorder) -> Result<()> {
    let got = ctx.aws.cloudfront().get_distribution_config().id(id).send().await;
    let got = absent_if(got, |e| e.is_no_such_distribution())
        .aws_context(|| format!("cloudfront:GetDistributionConfig {id}"))?;
    let Some(config) = got.and_then(|g| g.distribution_config) else {
        return Ok(());
    };
    if config.aliases().is_none_or(|a| a.items().is_empty()) {
        return Ok(());
    }
    update_distribution_config(ctx, id, |config| {
        config.aliases = Some(Aliases::builder().quantity(0).set_items(Some(Vec::new())).build()?);
        config.viewer_certificate = Some(ViewerCertificate::builder().cloud_front_default_certificate(true).build());
        config.enabled = false;
        Ok(())
    })
    .await?;
    ctx.aws.cloudfront().wait_until_distribution_deployed().id(id).wait(ALIASES_RELEASED_WAIT).await.with_context(
        || format!("waiting for distribution {id} to let go of its aliases: run `deployer destroy` again"),
    )?;
    recorder.report(&format!("distribution {id} aliases"), &Change::Deleted);
    Ok(())
}

/// The distribution answering for DOMAIN and www.DOMAIN with the certificate.
pub(super) struct DistributionAliases<'a> {
    pub(super) ctx: &'a Context<'a>,
    pub(super) id: &'a str,
    pub(super) aliases: Vec<String>,
    pub(super) certificate: &'a str,
}

impl DistributionAliases<'_> {
    fn apply(&self, config: &mut DistributionConfig) -> Result<()> {
        let aliases =
            Aliases::builder().quantity(self.aliases.len() as i32).set_items(Some(self.aliases.clone())).build()?;
        config.aliases = Some(aliases);
        config.viewer_certificate = Some(
            ViewerCertificate::builder()
                .acm_certificate_arn(self.certificate)
                .ssl_support_method(SslSupportMethod::SniOnly)
                .minimum_protocol_version(MinimumProtocolVersion::TlSv122021)
                .cloud_front_default_certificate(false)
                .build(),
        );
        Ok(())
    }
}

impl Resource for DistributionAliases<'_> {
    type Live = DistributionConfig;

    fn under_planned(&self) -> bool {
        is_planned(self.id)
    }

    /// A stand-in for the new distribution's configuration, so that the plan goes on to the records.
    fn planned(&self) -> Option<DistributionConfig> {
        let origins = Origins::builder().quantity(0).set_items(Some(Vec::new())).build().ok()?;
        let behavior = DefaultCacheBehavior::builder()
            .target_origin_id(PLANNED)
            .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
            .build()
            .ok()?;
        let config = DistributionConfig::builder().caller_reference(PLANNED).comment("").enabled(true);
        config.origins(origins).default_cache_behavior(behavior).build().ok()
    }

    fn label(&self) -> String {
        format!("distribution {} aliases {}", self.id, self.aliases.join(", "))
    }

    async fn find(&self, _recorded: Option<&str>) -> Result<Option<DistributionConfig>> {
        let got = self.ctx.aws.cloudfront().get_distribution_config().id(self.id).send().await;
        let got = got.aws_context(|| format!("cloudfront:GetDistributionConfig {}", self.id))?;
        Ok(got.distribution_config)
    }

    async fn create(&self) -> Result<DistributionConfig> {
        bail!("distribution {} is gone: run `deployer step {}` to make it again", self.id, ids::FRONTEND)
    }

    fn id(&self, _live: &DistributionConfig) -> String {
        self.id.to_string()
    }

    fn values(&self, live: &DistributionConfig, field: &str) -> Option<(String, String)> {
        match field {
            "aliases" => {
                let mut now: Vec<&str> =
                    live.aliases().map(|a| a.items()).unwrap_or_default().iter().map(String::as_str).collect();
                now.sort();
                let mut wanted: Vec<&str> = self.aliases.iter().map(String::as_str).collect();
                wanted.sort();
                let list = |names: Vec<&str>| if names.is_empty() { "none".to_string() } else { names.join(", ") };
                Some((list(now), list(wanted)))
            }
            "certificate" => {
                let now = live.viewer_certificate().and_then(|c| c.acm_certificate_arn()).unwrap_or("CloudFront's");
                Some((now.to_string(), self.certificate.to_string()))
            }
            _ => None,
        }
    }

    fn differences(&self, live: &DistributionConfig) -> Result<Vec<&'static str>> {
        let live_aliases: BTreeSet<&str> =
            live.aliases().map(|a| a.items()).unwrap_or_default().iter().map(String::as_str).collect();
        let wanted: BTreeSet<&str> = self.aliases.iter().map(String::as_str).collect();
        let certificate = live.viewer_certificate();
        let certificate_same = certificate.is_some_and(|c| {
            c.acm_certificate_arn() == Some(self.certificate)
                && c.ssl_support_method() == Some(&SslSupportMethod::SniOnly)
                && c.minimum_protocol_version() == Some(&MinimumProtocolVersion::TlSv122021)
        });
        let mut fields = Vec::new();
        if live_aliases != wanted {
            fields.push("aliases");
        }
        if !certificate_same {
            fields.push("certificate");
        }
        Ok(fields)
    }

    async fn update(&self, _live: DistributionConfig, _fields: &[&'static str]) -> Result<DistributionConfig> {
        let updated = update_distribution_config(self.ctx, self.id, |config| self.apply(config)).await?;
        updated.distribution_config.context("UpdateDistribution returned no configuration")
    }
}
