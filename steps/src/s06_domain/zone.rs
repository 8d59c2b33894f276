//! The public hosted zone of the domain: reused when one exists, created with a caller reference otherwise.

use anyhow::{bail, Context as _, Result};

use crate::aws::{absent_if, AwsContext};
use crate::ensure::{recorded_token, Recorder, Resource, PLANNED};
use crate::outputs;
use crate::step::Context;

use super::records::fqdn;

pub(super) struct HostedZone<'a> {
    pub(super) ctx: &'a Context<'a>,
    pub(super) domain: &'a str,
    /// Where a new zone's caller reference is recorded; `None` where no zone is ever created (checks, destroy).
    pub(super) recorder: Option<&'a dyn Recorder>,
}

/// The state key of the caller reference of the zone deployer created.
const REFERENCE_KEY: &str = "zone_caller_reference";

pub(super) struct LiveZone {
    pub(super) id: String,
    pub(super) name_servers: Vec<String>,
}

impl HostedZone<'_> {
    /// Zones deployer creates carry its caller reference.
    pub(super) async fn made_by_deployer(&self, id: &str) -> Result<bool> {
        let got = self.ctx.aws.route53().get_hosted_zone().id(id).send().await;
        let got = got.aws_context(|| format!("route53:GetHostedZone {id}"))?;
        Ok(got.hosted_zone().is_some_and(|z| z.caller_reference().starts_with("deployer-")))
    }

    async fn read(&self, id: &str) -> Result<Option<LiveZone>> {
        let got =
            absent_if(self.ctx.aws.route53().get_hosted_zone().id(id).send().await, |e| e.is_no_such_hosted_zone())
                .aws_context(|| format!("route53:GetHostedZone {id}"))?;
        Ok(got.filter(|z| z.hosted_zone().is_some_and(|h| fqdn(h.name()) == fqdn(self.domain))).map(|z| LiveZone {
            id: id.trim_start_matches("/hostedzone/").to_string(),
            name_servers: z.delegation_set().map(|d| d.name_servers().to_vec()).unwrap_or_default(),
        }))
    }
}

impl Resource for HostedZone<'_> {
    type Live = LiveZone;

    fn planned(&self) -> Option<LiveZone> {
        Some(LiveZone { id: PLANNED.into(), name_servers: Vec::new() })
    }

    fn label(&self) -> String {
        format!("hosted zone {}", self.domain)
    }

    fn key(&self) -> Option<String> {
        Some(outputs::ZONE_ID.key.to_string())
    }

    async fn find(&self, recorded: Option<&str>) -> Result<Option<LiveZone>> {
        if let Some(live) = match recorded {
            Some(id) => self.read(id).await?,
            None => None,
        } {
            return Ok(Some(live));
        }
        let listed = self.ctx.aws.route53().list_hosted_zones_by_name().dns_name(self.domain).send().await;
        let listed = listed.aws_context(|| format!("route53:ListHostedZonesByName {}", self.domain))?;
        let public = |z: &&aws_sdk_route53::types::HostedZone| !z.config().is_some_and(|c| c.private_zone());
        let ids: Vec<String> = listed
            .hosted_zones()
            .iter()
            .filter(|z| fqdn(z.name()) == fqdn(self.domain))
            .filter(public)
            .map(|z| z.id().to_string())
            .collect();
        match ids.as_slice() {
            [] => Ok(None),
            [id] => self.read(id).await,
            _ => bail!(
                "{} public hosted zones are named {} ({}): keep the one the registrar points at, delete the others, then run again",
                ids.len(),
                self.domain,
                ids.join(", ")
            ),
        }
    }

    /// Route 53 accepts a caller reference once ever, even after the zone is deleted: it is unique per
    /// creation (`deployer-DOMAIN-TOKEN`), recorded before the request so that a retry reuses it.
    async fn create(&self) -> Result<LiveZone> {
        let recorder = self.recorder.context("a zone is only created by `ensure`, which gives its recorder")?;
        let token = recorded_token(recorder, REFERENCE_KEY, 16)?;
        // CallerReference takes at most 128 characters.
        let domain: String = self.domain.chars().take(100).collect();
        let created = self
            .ctx
            .aws
            .route53()
            .create_hosted_zone()
            .name(self.domain)
            .caller_reference(format!("deployer-{domain}-{token}"))
            .send()
            .await
            .aws_context(|| format!("route53:CreateHostedZone {}", self.domain))?;
        let id = created.hosted_zone().map(|z| z.id().trim_start_matches("/hostedzone/").to_string());
        Ok(LiveZone {
            id: id.context("CreateHostedZone returned no zone")?,
            name_servers: created.delegation_set().map(|d| d.name_servers().to_vec()).unwrap_or_default(),
        })
    }

    fn id(&self, live: &LiveZone) -> String {
        live.id.clone()
    }

    async fn delete(&self, live: LiveZone) -> Result<()> {
        let deleted = self.ctx.aws.route53().delete_hosted_zone().id(&live.id).send().await;
        deleted.aws_context(|| format!("route53:DeleteHostedZone {} (only SOA and NS may be left in it)", live.id))?;
        Ok(())
    }
}
