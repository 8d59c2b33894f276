//! Manual section 4, "Custom domain (Route 53 + ACM)": step `06-domain`. Skipped without `--domain`.
//!
//! - Hosted zone for DOMAIN: the public zone of that name is reused (several: the step stops), else one is
//!   created with the CallerReference `deployer-DOMAIN`, so a retry cannot make a second. Its name servers
//!   are recorded and shown: the registrar must point the domain at them.
//! - ACM certificate **in us-east-1** (CloudFront takes no other) for DOMAIN, www., api. and ws., DNS
//!   validation, with an idempotency token; an ISSUED or pending certificate for exactly these names is
//!   reused. Outside us-east-1 a second certificate, in the region, covers api. and ws. for the regional API
//!   domains. The validation CNAMEs are UPSERTed into the zone, then the `certificate_validated` waiter
//!   waits up to `--cert-wait` (default 45 min); past it the step fails naming the name servers and the
//!   records, and `deployer resume` waits again.
//! - Custom domains: `api.DOMAIN` (REST, REGIONAL, TLS 1.2, base path mapping to the stage) and `ws.DOMAIN`
//!   (API Gateway v2, API mapping to the stage); the distribution gets the aliases DOMAIN and www.DOMAIN
//!   with the certificate (SNI, TLSv1.2_2021). Only these distribution fields are owned here.
//! - Route 53 alias records, UPSERTed only where they differ: DOMAIN and www.DOMAIN, A and AAAA, to the
//!   distribution (zone `Z2FDTNDATAQYW2`); api. and ws., A, to the API Gateway targets, whose hosted zone
//!   comes from the domain-name response, else from a table by region. A service that reports no target
//!   for a domain (moto, for v2) gets no record for it, and a notice says so.
//! - `05-frontend` reads this step's `api_url`/`ws_url`: the runner runs it again after this step, so one
//!   `deployer run` ends with the site calling `https://api.DOMAIN` and `wss://ws.DOMAIN`.
//!
//! AWS calls: `route53:GetHostedZone`, `ListHostedZonesByName`, `CreateHostedZone`, `ListResourceRecordSets`,
//! `ChangeResourceRecordSets`, the `resource_record_sets_changed` waiter; `acm:DescribeCertificate`,
//! `ListCertificates`, `RequestCertificate`, the `certificate_validated` waiter; `apigateway:GetDomainName`,
//! `CreateDomainName`, `UpdateDomainName`, `GetBasePathMappings`, `CreateBasePathMapping`,
//! `UpdateBasePathMapping`; `apigatewayv2:GetDomainName`, `CreateDomainName`, `UpdateDomainName`,
//! `GetApiMappings`, `CreateApiMapping`, `UpdateApiMapping`; `cloudfront:GetDistributionConfig`,
//! `UpdateDistribution`.
//!
//! Outputs: `zone_id`, `name_servers`, `certificate_arn`, `regional_certificate_arn`, `api_domain_target`,
//! `ws_domain_target`, `site_url`, `api_url`, `ws_url`.

use anyhow::{bail, Context as _, Result};
use async_trait::async_trait;
use aws_sdk_acm::client::Waiters as _;
use aws_sdk_acm::types::{CertificateStatus, ValidationMethod};
use aws_sdk_cloudfront::client::Waiters as _;
use aws_sdk_cloudfront::types::{
    Aliases, DefaultCacheBehavior, DistributionConfig, MinimumProtocolVersion, Origins, SslSupportMethod,
    ViewerCertificate, ViewerProtocolPolicy,
};
use aws_sdk_route53::client::Waiters as _;
use aws_sdk_route53::types::{
    AliasTarget, Change as RecordChange, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::time::Duration;

use crate::aws::{absent_if, AwsContext};
use crate::ensure::{ensure, is_planned, remove, Change, Recorder, Resource, PLANNED};
use crate::package::hex;
use crate::s03_api_gateway::{self, record_if_changed};
use crate::s04_websocket;
use crate::s05_frontend::{self, update_distribution_config};
use crate::settings::InputError;
use crate::step::{Context, Step, Teardown};

pub const ID: &str = "06-domain";
/// The hosted zone of every CloudFront distribution, for alias records.
pub const CLOUDFRONT_ZONE: &str = "Z2FDTNDATAQYW2";
/// ACM has no waiter for the validation records to appear after a request (seconds on AWS).
const VALIDATION_RECORD_ATTEMPTS: u32 = 10;
const RECORDS_WAIT: Duration = Duration::from_secs(300);

/// API Gateway's regional endpoints' hosted zones, for alias records when the service does not say.
pub fn regional_api_zone(region: &str) -> Option<&'static str> {
    Some(match region {
        "us-east-1" => "Z1UJRXOUMOOFQ8",
        "us-east-2" => "ZOJJZC49E0EPZ",
        "us-west-1" => "Z2MUQ32089INYE",
        "us-west-2" => "Z2OJLYMUO9EFXC",
        "ca-central-1" => "Z19DQILCV0OWEC",
        "eu-west-1" => "ZLY8HYME6SFDD",
        "eu-west-2" => "ZJ5UAJN8Y3Z2Q",
        "eu-west-3" => "Z3KY65QIEKYHQQ",
        "eu-central-1" => "Z1U9ULNL0V5AJ3",
        "eu-north-1" => "Z3UWIKFBOOGXPP",
        "eu-south-1" => "Z3BT4WSQ9TDYZV",
        "ap-northeast-1" => "Z1YSHQZHG15GKL",
        "ap-northeast-2" => "Z20JF4UZKIW1U8",
        "ap-northeast-3" => "Z2YQB5RD63NC85",
        "ap-southeast-1" => "ZL327KTPIQFUL",
        "ap-southeast-2" => "Z2RPCDW04V8134",
        "ap-south-1" => "Z3VO1THU9YC4UR",
        "sa-east-1" => "ZCMLWB8V5SYIT",
        _ => return None,
    })
}

pub struct Domain;

/// `name.` lower-cased with one trailing dot, as Route 53 compares names.
fn fqdn(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.').to_ascii_lowercase())
}

#[async_trait(?Send)]
impl Step for Domain {
    fn id(&self) -> &'static str {
        ID
    }
    fn title(&self) -> &'static str {
        "4 Custom domain (Route 53 + ACM)"
    }
    fn settings_used(&self) -> Option<&'static [&'static str]> {
        Some(&["domain", "stage", "cert_wait_seconds"])
    }
    fn requires(&self) -> &'static [&'static str] {
        &[s03_api_gateway::ID, s04_websocket::ID, s05_frontend::ID]
    }
    fn plans_past_new(&self) -> bool {
        true
    }

    async fn check_teardown(&self, ctx: &Context<'_>, teardown: &Teardown) -> Result<()> {
        let Some(domain) = ctx.settings.domain.as_deref().filter(|_| teardown.delete_zone) else {
            return Ok(());
        };
        let zone = HostedZone { ctx, domain };
        let recorded = ctx.outputs.get(ID).and_then(|o| o.get("zone_id")).map(String::as_str);
        let Some(live) = zone.find(recorded).await? else {
            return Ok(());
        };
        if !zone.made_by_deployer(&live.id).await? {
            return Err(InputError(format!(
                "the hosted zone {domain} ({}) was not created by deployer, so it is never deleted by it: drop \
                 --delete-zone (its records made by deployer are removed either way); nothing was deleted",
                live.id
            ))
            .into());
        }
        Ok(())
    }

    /// Records, custom domains, the distribution's aliases, certificates; the zone only with --delete-zone.
    async fn destroy(&self, ctx: &Context<'_>, teardown: &Teardown, recorder: &dyn Recorder) -> Result<()> {
        let Some(domain) = ctx.settings.domain.clone() else {
            return Ok(());
        };
        let names = [domain.clone(), format!("www.{domain}"), format!("api.{domain}"), format!("ws.{domain}")];
        let zone_spec = HostedZone { ctx, domain: &domain };
        let zone = zone_spec.find(recorder.recorded("zone_id").as_deref()).await?;
        if let Some(zone) = &zone {
            delete_records(ctx, &zone.id, &names, recorder).await?;
        }
        remove(&RestDomain { ctx, name: &names[2], certificate: "" }, recorder).await?;
        remove(&WebSocketDomain { ctx, name: &names[3], certificate: "" }, recorder).await?;
        if let Ok(distribution) = ctx.output(s05_frontend::ID, "distribution_id") {
            detach_aliases(ctx, distribution, recorder).await?;
        }
        let region = ctx.settings.region.as_str();
        let global = Certificate { ctx, region: "us-east-1", names: names.to_vec(), key: "certificate_arn", token: "" };
        remove(&global, recorder).await?;
        if region != "us-east-1" {
            let names = names[2..].to_vec();
            let key = "regional_certificate_arn";
            remove(&Certificate { ctx, region, names, key, token: "" }, recorder).await?;
        }
        match zone {
            Some(_) if teardown.delete_zone => remove(&zone_spec, recorder).await,
            Some(zone) => {
                recorder.notice(&format!("kept hosted zone {domain} ({}): pass --delete-zone to delete it", zone.id));
                Ok(())
            }
            None => Ok(()),
        }
    }

    async fn run(&self, ctx: &Context<'_>, recorder: &dyn Recorder) -> Result<()> {
        let Some(domain) = ctx.settings.domain.clone() else {
            recorder.notice("no --domain given: the service stays on its AWS-generated URLs");
            return Ok(());
        };
        let (www, api, ws) = (format!("www.{domain}"), format!("api.{domain}"), format!("ws.{domain}"));
        let zone = ensure(&HostedZone { ctx, domain: &domain }, recorder).await?;
        record_if_changed(recorder, "name_servers", &zone.name_servers.join(","))?;
        if is_planned(&zone.id) {
            recorder.notice(&format!(
                "the registrar of {domain} must list the new zone's name servers, known once it exists"
            ));
        } else {
            recorder.notice(&format!(
                "the registrar of {domain} must list these name servers: {}",
                zone.name_servers.join(", ")
            ));
        }

        let region = ctx.settings.region.as_str();
        let global_names = vec![domain.clone(), www.clone(), api.clone(), ws.clone()];
        let token = certificate_token(recorder)?;
        let global =
            Certificate { ctx, region: "us-east-1", names: global_names, key: "certificate_arn", token: &token };
        let regional = (region != "us-east-1").then(|| Certificate {
            ctx,
            region,
            names: vec![api.clone(), ws.clone()],
            key: "regional_certificate_arn",
            token: &token,
        });
        let mut certificates = vec![ensure(&global, recorder).await?];
        if let Some(regional) = &regional {
            certificates.push(ensure(regional, recorder).await?);
        }
        let validation: Vec<ResourceRecordSet> =
            certificates.iter().flat_map(|c| c.validation_records()).collect::<Result<_>>()?;
        ensure(&Records { ctx, zone_id: &zone.id, what: "validation records", wanted: dedupe(validation) }, recorder)
            .await?;
        for (certificate, spec) in certificates.iter().zip(std::iter::once(&global).chain(regional.as_ref())) {
            if !recorder.planning() {
                spec.wait_issued(certificate, &zone).await?;
            }
        }
        let cloudfront_cert = certificates[0].arn.clone();
        let regional_cert = certificates.last().map(|c| c.arn.clone()).unwrap_or_default();
        record_if_changed(recorder, "regional_certificate_arn", &regional_cert)?;

        let stage = &ctx.settings.stage;
        let rest_api_id = ctx.output(s03_api_gateway::ID, "rest_api_id")?;
        let ws_api_id = ctx.output(s04_websocket::ID, "websocket_api_id")?;
        let rest_domain = ensure(&RestDomain { ctx, name: &api, certificate: &regional_cert }, recorder).await?;
        let ws_domain = ensure(&WebSocketDomain { ctx, name: &ws, certificate: &regional_cert }, recorder).await?;
        let rest_mapping = BasePathMapping { ctx, domain: &api, rest_api_id, stage };
        let ws_mapping = ApiMapping { ctx, domain: &ws, api_id: ws_api_id, stage };
        let (rest_mapped, ws_mapped) = futures::join!(ensure(&rest_mapping, recorder), ensure(&ws_mapping, recorder));
        rest_mapped?;
        ws_mapped?;

        let distribution_id = ctx.output(s05_frontend::ID, "distribution_id")?;
        let aliases = vec![domain.clone(), www.clone()];
        ensure(&DistributionAliases { ctx, id: distribution_id, aliases, certificate: &cloudfront_cert }, recorder)
            .await?;

        let cloudfront_domain = ctx.output(s05_frontend::ID, "distribution_domain")?;
        let mut aliases = Vec::new();
        for name in [&domain, &www] {
            for kind in [RrType::A, RrType::Aaaa] {
                aliases.push(alias_record(name, kind, cloudfront_domain, CLOUDFRONT_ZONE)?);
            }
        }
        aliases.push(alias_record(&api, RrType::A, &rest_domain.target, &rest_domain.zone)?);
        record_if_changed(recorder, "api_domain_target", &rest_domain.target)?;
        match &ws_domain.1 {
            Some(target) => {
                aliases.push(alias_record(&ws, RrType::A, &target.target, &target.zone)?);
                record_if_changed(recorder, "ws_domain_target", &target.target)?;
            }
            None => recorder.notice(&format!(
                "API Gateway reported no target for {ws}, so its alias record was not written: run `deployer step {ID}` again later"
            )),
        }
        ensure(&Records { ctx, zone_id: &zone.id, what: "alias records", wanted: aliases }, recorder).await?;

        record_if_changed(recorder, "site_url", &format!("https://{domain}"))?;
        record_if_changed(recorder, "api_url", &format!("https://{api}"))?;
        record_if_changed(recorder, "ws_url", &format!("wss://{ws}"))?;
        Ok(())
    }
}

fn dedupe(records: Vec<ResourceRecordSet>) -> Vec<ResourceRecordSet> {
    let mut seen = BTreeSet::new();
    records.into_iter().filter(|r| seen.insert((fqdn(r.name()), r.r#type().as_str().to_string()))).collect()
}

fn alias_record(name: &str, kind: RrType, target: &str, zone: &str) -> Result<ResourceRecordSet> {
    let alias = AliasTarget::builder().dns_name(target).hosted_zone_id(zone).evaluate_target_health(false).build()?;
    Ok(ResourceRecordSet::builder().name(fqdn(name)).r#type(kind).alias_target(alias).build()?)
}

struct HostedZone<'a> {
    ctx: &'a Context<'a>,
    domain: &'a str,
}

struct LiveZone {
    id: String,
    name_servers: Vec<String>,
}

impl HostedZone<'_> {
    /// Zones deployer creates carry its caller reference.
    async fn made_by_deployer(&self, id: &str) -> Result<bool> {
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
        Some("zone_id".into())
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

    async fn create(&self) -> Result<LiveZone> {
        let created = self
            .ctx
            .aws
            .route53()
            .create_hosted_zone()
            .name(self.domain)
            .caller_reference(format!("deployer-{}", self.domain))
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

/// Deletes the records deployer writes: aliases of the four names and the certificates' validation CNAMEs.
async fn delete_records(ctx: &Context<'_>, zone_id: &str, names: &[String], recorder: &dyn Recorder) -> Result<()> {
    let all = Records { ctx, zone_id, what: "records", wanted: Vec::new() };
    let live = all.find(None).await?.unwrap_or_default();
    let ours: BTreeSet<String> = names.iter().map(|n| fqdn(n)).collect();
    let is_ours = |r: &&ResourceRecordSet| {
        let name = fqdn(r.name());
        match r.r#type() {
            RrType::A | RrType::Aaaa => ours.contains(&name),
            RrType::Cname => name.starts_with('_') && ours.iter().any(|o| name.ends_with(&format!(".{o}"))),
            _ => false,
        }
    };
    let doomed: Vec<&ResourceRecordSet> = live.iter().filter(is_ours).collect();
    if doomed.is_empty() {
        return Ok(());
    }
    let changes = doomed
        .iter()
        .map(|r| RecordChange::builder().action(ChangeAction::Delete).resource_record_set((*r).clone()).build())
        .collect::<Result<Vec<_>, _>>()?;
    let batch = ChangeBatch::builder().comment("deployer: destroy").set_changes(Some(changes)).build()?;
    let route53 = ctx.aws.route53();
    let changed = route53.change_resource_record_sets().hosted_zone_id(zone_id).change_batch(batch).send().await;
    changed.aws_context(|| format!("route53:ChangeResourceRecordSets {zone_id} (delete)"))?;
    for record in doomed {
        let name = record.name().trim_end_matches('.');
        recorder.report(&format!("record {name} {}", record.r#type().as_str()), &Change::Deleted);
    }
    Ok(())
}

/// Gives the distribution back its default name and certificate (a certificate in use cannot be deleted),
/// disables it for `05-frontend`'s teardown, and waits until CloudFront has let go of the certificate.
async fn detach_aliases(ctx: &Context<'_>, id: &str, recorder: &dyn Recorder) -> Result<()> {
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
    ctx.aws.cloudfront().wait_until_distribution_deployed().id(id).wait(RECORDS_WAIT * 8).await.with_context(|| {
        format!("waiting for distribution {id} to let go of its aliases: run `deployer destroy` again")
    })?;
    recorder.report(&format!("distribution {id} aliases"), &Change::Deleted);
    Ok(())
}

struct Certificate<'a> {
    ctx: &'a Context<'a>,
    region: &'a str,
    /// The first is the certificate's domain name, the rest its alternative names.
    names: Vec<String>,
    key: &'static str,
    /// Makes a retried request return the same certificate (see [`certificate_token`]).
    token: &'a str,
}

/// ACM's idempotency token for this deployment's certificate requests. It is recorded before the first
/// request, so a retry after a kill asks for the same certificate; it goes with the step's record on
/// `destroy`, so a later deployment does not get back the ARN of a certificate destroy deleted (ACM
/// remembers a token for an hour).
fn certificate_token(recorder: &dyn Recorder) -> Result<String> {
    if let Some(token) = recorder.recorded("certificate_token") {
        return Ok(token);
    }
    let token = crate::names::unique_token(32);
    recorder.record("certificate_token", &token)?;
    Ok(token)
}

struct LiveCertificate {
    arn: String,
    status: Option<CertificateStatus>,
    /// (name, value) of each DNS validation CNAME.
    validation: Vec<(String, String)>,
}

impl LiveCertificate {
    fn validation_records(&self) -> Vec<Result<ResourceRecordSet>> {
        self.validation
            .iter()
            .map(|(name, value)| {
                Ok(ResourceRecordSet::builder()
                    .name(fqdn(name))
                    .r#type(RrType::Cname)
                    .ttl(300)
                    .resource_records(ResourceRecord::builder().value(value).build()?)
                    .build()?)
            })
            .collect()
    }
}

impl Certificate<'_> {
    fn wanted_names(&self) -> BTreeSet<String> {
        self.names.iter().cloned().collect()
    }

    /// Describes a certificate; `None` if it is gone or not one this step can use.
    async fn describe(&self, arn: &str) -> Result<Option<LiveCertificate>> {
        let client = self.ctx.aws.acm(self.region);
        let got = absent_if(client.describe_certificate().certificate_arn(arn).send().await, |e| {
            e.is_resource_not_found_exception()
        })
        .aws_context(|| format!("acm:DescribeCertificate {arn}"))?;
        let Some(certificate) = got.and_then(|d| d.certificate) else { return Ok(None) };
        let usable =
            matches!(certificate.status(), Some(CertificateStatus::Issued | CertificateStatus::PendingValidation));
        let names: BTreeSet<String> = certificate.subject_alternative_names().iter().cloned().collect();
        if !usable || names != self.wanted_names() {
            return Ok(None);
        }
        let validation = certificate
            .domain_validation_options()
            .iter()
            .filter_map(|o| o.resource_record())
            .map(|r| (r.name().to_string(), r.value().to_string()))
            .collect();
        Ok(Some(LiveCertificate { arn: arn.to_string(), status: certificate.status().cloned(), validation }))
    }

    async fn wait_issued(&self, live: &LiveCertificate, zone: &LiveZone) -> Result<()> {
        if live.status == Some(CertificateStatus::Issued) {
            return Ok(());
        }
        let limit = Duration::from_secs(self.ctx.settings.cert_wait_seconds);
        let waited = self
            .ctx
            .aws
            .acm(self.region)
            .wait_until_certificate_validated()
            .certificate_arn(&live.arn)
            .wait(limit)
            .await;
        if waited.is_ok() {
            return Ok(());
        }
        let records: Vec<String> = live.validation.iter().map(|(n, v)| format!("{n} CNAME {v}")).collect();
        bail!(
            "certificate {} for {} is not issued after waiting {} s. ACM issues it once DNS for {} is answered by the \
             zone's name servers ({}) and the validation records are visible ({}). Point the registrar at those name \
             servers, then run `deployer resume` to wait again (--cert-wait sets how long)",
            live.arn,
            self.names.join(", "),
            limit.as_secs(),
            self.names[0],
            zone.name_servers.join(", "),
            records.join("; ")
        )
    }
}

impl Resource for Certificate<'_> {
    type Live = LiveCertificate;

    async fn delete(&self, live: LiveCertificate) -> Result<()> {
        let deleted = self.ctx.aws.acm(self.region).delete_certificate().certificate_arn(&live.arn).send().await;
        deleted.aws_context(|| {
            format!("acm:DeleteCertificate {} (in use by something other than this service?)", live.arn)
        })?;
        Ok(())
    }

    fn planned(&self) -> Option<LiveCertificate> {
        Some(LiveCertificate { arn: PLANNED.into(), status: None, validation: Vec::new() })
    }

    fn label(&self) -> String {
        format!("certificate for {} in {}", self.names.join(", "), self.region)
    }

    fn key(&self) -> Option<String> {
        Some(self.key.into())
    }

    async fn find(&self, recorded: Option<&str>) -> Result<Option<LiveCertificate>> {
        if let Some(live) = match recorded {
            Some(arn) => self.describe(arn).await?,
            None => None,
        } {
            return Ok(Some(live));
        }
        let statuses = [CertificateStatus::Issued, CertificateStatus::PendingValidation];
        let pages = self
            .ctx
            .aws
            .acm(self.region)
            .list_certificates()
            .set_certificate_statuses(Some(statuses.to_vec()))
            .into_paginator()
            .items()
            .send();
        let summaries =
            pages.collect::<Result<Vec<_>, _>>().await.aws_context(|| "acm:ListCertificates".to_string())?;
        let mut found = Vec::new();
        for summary in summaries.iter().filter(|s| s.domain_name() == Some(self.names[0].as_str())) {
            if let Some(live) = self.describe(summary.certificate_arn().unwrap_or_default()).await? {
                found.push(live);
            }
        }
        // An issued certificate beats one still pending.
        found.sort_by_key(|c| c.status != Some(CertificateStatus::Issued));
        Ok(found.into_iter().next())
    }

    async fn create(&self) -> Result<LiveCertificate> {
        // One token per certificate: the regional one has other names.
        let token = hex(&Sha256::digest(format!("{} {}", self.token, self.names.join(","))))[..32].to_string();
        let requested = self
            .ctx
            .aws
            .acm(self.region)
            .request_certificate()
            .domain_name(&self.names[0])
            .set_subject_alternative_names(Some(self.names[1..].to_vec()))
            .validation_method(ValidationMethod::Dns)
            .idempotency_token(token)
            .send()
            .await
            .aws_context(|| format!("acm:RequestCertificate {}", self.names.join(", ")))?;
        let arn = requested.certificate_arn.context("RequestCertificate returned no ARN")?;
        // The validation records appear seconds after the request; ACM offers no waiter for them.
        for attempt in 1..=VALIDATION_RECORD_ATTEMPTS {
            if let Some(live) = self.describe(&arn).await?.filter(|c| c.validation.len() == self.names.len()) {
                return Ok(live);
            }
            tokio::time::sleep(Duration::from_secs(u64::from(attempt))).await;
        }
        bail!("certificate {arn} shows no DNS validation records after a minute: run `deployer resume` to look again")
    }

    fn id(&self, live: &LiveCertificate) -> String {
        live.arn.clone()
    }
}

/// Route 53 records of the zone, UPSERTed in one batch where they differ.
struct Records<'a> {
    ctx: &'a Context<'a>,
    zone_id: &'a str,
    what: &'static str,
    wanted: Vec<ResourceRecordSet>,
}

/// What makes two records the same, whatever case or trailing dots the service returns.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct RecordShape {
    name: String,
    kind: String,
    ttl: Option<i64>,
    values: Vec<String>,
    alias: Option<(String, String)>,
}

fn record_shape(r: &ResourceRecordSet) -> RecordShape {
    let alias = r.alias_target().map(|a| (fqdn(a.dns_name()), a.hosted_zone_id().to_string()));
    RecordShape {
        name: fqdn(r.name()),
        kind: r.r#type().as_str().to_string(),
        ttl: if alias.is_some() { None } else { r.ttl() },
        values: r.resource_records().iter().map(|v| fqdn(v.value())).collect(),
        alias,
    }
}

impl Records<'_> {
    fn differing<'r>(&'r self, live: &[ResourceRecordSet]) -> Vec<&'r ResourceRecordSet> {
        let live: BTreeSet<_> = live.iter().map(record_shape).collect();
        self.wanted.iter().filter(|w| !live.contains(&record_shape(w))).collect()
    }
}

impl Resource for Records<'_> {
    type Live = Vec<ResourceRecordSet>;

    fn under_planned(&self) -> bool {
        is_planned(self.zone_id)
    }

    fn planned(&self) -> Option<Self::Live> {
        Some(self.wanted.clone())
    }

    fn label(&self) -> String {
        let names: BTreeSet<String> = self.wanted.iter().map(|r| r.name().trim_end_matches('.').to_string()).collect();
        if names.is_empty() {
            // A plan for certificates yet to request: their validation names are not known.
            return format!("{} (named once the certificates exist)", self.what);
        }
        format!("{} {}", self.what, names.into_iter().collect::<Vec<_>>().join(", "))
    }

    async fn find(&self, _recorded: Option<&str>) -> Result<Option<Self::Live>> {
        let route53 = self.ctx.aws.route53();
        let mut records = Vec::new();
        let (mut name, mut kind) = (None, None);
        loop {
            let page = route53
                .list_resource_record_sets()
                .hosted_zone_id(self.zone_id)
                .set_start_record_name(name)
                .set_start_record_type(kind)
                .send()
                .await
                .aws_context(|| format!("route53:ListResourceRecordSets {}", self.zone_id))?;
            records.extend(page.resource_record_sets().iter().cloned());
            if !page.is_truncated() {
                return Ok(Some(records));
            }
            (name, kind) = (page.next_record_name().map(str::to_string), page.next_record_type().cloned());
        }
    }

    async fn create(&self) -> Result<Self::Live> {
        bail!("hosted zone {} vanished while its records were being written: run `deployer resume`", self.zone_id)
    }

    fn id(&self, _live: &Self::Live) -> String {
        self.zone_id.to_string()
    }

    fn differences(&self, live: &Self::Live) -> Result<Vec<&'static str>> {
        Ok(if self.differing(live).is_empty() { vec![] } else { vec!["records"] })
    }

    async fn update(&self, live: Self::Live, _fields: &[&'static str]) -> Result<Self::Live> {
        let changes = self
            .differing(&live)
            .into_iter()
            .map(|r| RecordChange::builder().action(ChangeAction::Upsert).resource_record_set(r.clone()).build())
            .collect::<Result<Vec<_>, _>>()?;
        let batch =
            ChangeBatch::builder().comment(format!("deployer: {}", self.what)).set_changes(Some(changes)).build()?;
        let route53 = self.ctx.aws.route53();
        let changed = route53
            .change_resource_record_sets()
            .hosted_zone_id(self.zone_id)
            .change_batch(batch)
            .send()
            .await
            .aws_context(|| format!("route53:ChangeResourceRecordSets {} ({})", self.zone_id, self.what))?;
        if let Some(change) = changed.change_info() {
            route53
                .wait_until_resource_record_sets_changed()
                .id(change.id())
                .wait(RECORDS_WAIT)
                .await
                .with_context(|| format!("waiting for Route 53 to apply the {}", self.what))?;
        }
        Ok(self.wanted.clone())
    }
}

/// Where an API domain's alias record points.
struct Target {
    target: String,
    zone: String,
}

/// `api.DOMAIN`: a REGIONAL REST custom domain.
struct RestDomain<'a> {
    ctx: &'a Context<'a>,
    name: &'a str,
    certificate: &'a str,
}

struct LiveRestDomain {
    target: String,
    zone: String,
    certificate: Option<String>,
}

impl RestDomain<'_> {
    fn zone_or_table(&self, reported: Option<&str>) -> Result<String> {
        let zone = reported.filter(|z| !z.is_empty()).or_else(|| regional_api_zone(&self.ctx.settings.region));
        zone.map(str::to_string).with_context(|| {
            format!(
                "no hosted zone is known for API Gateway in {}: this region is not supported yet",
                self.ctx.settings.region
            )
        })
    }
}

impl Resource for RestDomain<'_> {
    type Live = LiveRestDomain;

    /// Its base path mappings go with it.
    async fn delete(&self, _live: LiveRestDomain) -> Result<()> {
        let deleted = self.ctx.aws.apigateway().delete_domain_name().domain_name(self.name).send().await;
        deleted.aws_context(|| format!("apigateway:DeleteDomainName {}", self.name))?;
        Ok(())
    }

    fn planned(&self) -> Option<LiveRestDomain> {
        Some(LiveRestDomain { target: PLANNED.into(), zone: PLANNED.into(), certificate: None })
    }

    fn label(&self) -> String {
        format!("custom domain {}", self.name)
    }

    async fn find(&self, _recorded: Option<&str>) -> Result<Option<LiveRestDomain>> {
        let got = self.ctx.aws.apigateway().get_domain_name().domain_name(self.name).send().await;
        let got = absent_if(got, |e| e.is_not_found_exception())
            .aws_context(|| format!("apigateway:GetDomainName {}", self.name))?;
        got.map(|d| {
            Ok(LiveRestDomain {
                target: d.regional_domain_name().unwrap_or_default().to_string(),
                zone: self.zone_or_table(d.regional_hosted_zone_id())?,
                certificate: d.regional_certificate_arn().map(str::to_string),
            })
        })
        .transpose()
    }

    async fn create(&self) -> Result<LiveRestDomain> {
        let regional = aws_sdk_apigateway::types::EndpointConfiguration::builder()
            .types(aws_sdk_apigateway::types::EndpointType::Regional)
            .build();
        let created = self
            .ctx
            .aws
            .apigateway()
            .create_domain_name()
            .domain_name(self.name)
            .regional_certificate_arn(self.certificate)
            .endpoint_configuration(regional)
            .security_policy(aws_sdk_apigateway::types::SecurityPolicy::Tls12)
            .send()
            .await
            .aws_context(|| format!("apigateway:CreateDomainName {}", self.name))?;
        Ok(LiveRestDomain {
            target: created.regional_domain_name().unwrap_or_default().to_string(),
            zone: self.zone_or_table(created.regional_hosted_zone_id())?,
            certificate: created.regional_certificate_arn().map(str::to_string),
        })
    }

    fn id(&self, _live: &LiveRestDomain) -> String {
        self.name.to_string()
    }

    fn differences(&self, live: &LiveRestDomain) -> Result<Vec<&'static str>> {
        Ok(if live.certificate.as_deref() == Some(self.certificate) { vec![] } else { vec!["certificate"] })
    }

    async fn update(&self, mut live: LiveRestDomain, _fields: &[&'static str]) -> Result<LiveRestDomain> {
        let patch = aws_sdk_apigateway::types::PatchOperation::builder()
            .op(aws_sdk_apigateway::types::Op::Replace)
            .path("/regionalCertificateArn")
            .value(self.certificate)
            .build();
        self.ctx
            .aws
            .apigateway()
            .update_domain_name()
            .domain_name(self.name)
            .patch_operations(patch)
            .send()
            .await
            .aws_context(|| format!("apigateway:UpdateDomainName {} (certificate)", self.name))?;
        live.certificate = Some(self.certificate.to_string());
        Ok(live)
    }
}

/// The REST API's stage at the root of `api.DOMAIN`.
struct BasePathMapping<'a> {
    ctx: &'a Context<'a>,
    domain: &'a str,
    rest_api_id: &'a str,
    stage: &'a str,
}

impl BasePathMapping<'_> {
    async fn root_mapping(&self) -> Result<Option<(String, String)>> {
        let got = self.ctx.aws.apigateway().get_base_path_mappings().domain_name(self.domain).send().await;
        let got = absent_if(got, |e| e.is_not_found_exception())
            .aws_context(|| format!("apigateway:GetBasePathMappings {}", self.domain))?;
        let root =
            got.iter().flat_map(|m| m.items()).find(|m| m.base_path().is_none_or(|p| p == "(none)" || p.is_empty()));
        Ok(root.map(|m| (m.rest_api_id().unwrap_or_default().to_string(), m.stage().unwrap_or_default().to_string())))
    }
}

impl Resource for BasePathMapping<'_> {
    /// (REST API ID, stage).
    type Live = (String, String);

    fn under_planned(&self) -> bool {
        is_planned(self.rest_api_id)
    }

    fn planned(&self) -> Option<(String, String)> {
        Some((PLANNED.into(), self.stage.into()))
    }

    fn label(&self) -> String {
        format!("base path mapping {} → {}/{}", self.domain, self.rest_api_id, self.stage)
    }

    /// Recorded once made, so a domain without mappings is never listed: moto fails that listing
    /// (HTTP 500) where AWS returns an empty list.
    fn key(&self) -> Option<String> {
        Some("base_path_mapping".into())
    }

    async fn find(&self, recorded: Option<&str>) -> Result<Option<(String, String)>> {
        if recorded.is_none() {
            return Ok(None);
        }
        self.root_mapping().await
    }

    /// AWS refuses a second mapping of a base path, so when an unrecorded one exists (a lost state file)
    /// the conflict leads to it.
    async fn create(&self) -> Result<(String, String)> {
        let created = self
            .ctx
            .aws
            .apigateway()
            .create_base_path_mapping()
            .domain_name(self.domain)
            .rest_api_id(self.rest_api_id)
            .stage(self.stage)
            .send()
            .await;
        match created {
            Ok(_) => Ok((self.rest_api_id.to_string(), self.stage.to_string())),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_conflict_exception()) => self
                .root_mapping()
                .await?
                .with_context(|| format!("the base path mapping of {} conflicts yet cannot be read", self.domain)),
            Err(err) => Err(err).aws_context(|| format!("apigateway:CreateBasePathMapping {}", self.domain)),
        }
    }

    fn id(&self, _live: &(String, String)) -> String {
        self.domain.to_string()
    }

    fn differences(&self, live: &(String, String)) -> Result<Vec<&'static str>> {
        Ok(if live.0 == self.rest_api_id && live.1 == self.stage { vec![] } else { vec!["target"] })
    }

    async fn update(&self, _live: (String, String), _fields: &[&'static str]) -> Result<(String, String)> {
        let patch = |path: &str, value: &str| {
            aws_sdk_apigateway::types::PatchOperation::builder()
                .op(aws_sdk_apigateway::types::Op::Replace)
                .path(path)
                .value(value)
                .build()
        };
        self.ctx
            .aws
            .apigateway()
            .update_base_path_mapping()
            .domain_name(self.domain)
            .base_path("(none)")
            .patch_operations(patch("/restapiId", self.rest_api_id))
            .patch_operations(patch("/stage", self.stage))
            .send()
            .await
            .aws_context(|| format!("apigateway:UpdateBasePathMapping {}", self.domain))?;
        Ok((self.rest_api_id.to_string(), self.stage.to_string()))
    }
}

/// `ws.DOMAIN`: a REGIONAL API Gateway v2 custom domain.
struct WebSocketDomain<'a> {
    ctx: &'a Context<'a>,
    name: &'a str,
    certificate: &'a str,
}

impl WebSocketDomain<'_> {
    fn configuration(&self) -> aws_sdk_apigatewayv2::types::DomainNameConfiguration {
        aws_sdk_apigatewayv2::types::DomainNameConfiguration::builder()
            .certificate_arn(self.certificate)
            .endpoint_type(aws_sdk_apigatewayv2::types::EndpointType::Regional)
            .security_policy(aws_sdk_apigatewayv2::types::SecurityPolicy::Tls12)
            .build()
    }

    /// The alias target, when the service reports one (moto does not).
    fn target(&self, configurations: &[aws_sdk_apigatewayv2::types::DomainNameConfiguration]) -> Option<Target> {
        let first = configurations.first()?;
        let target = first.api_gateway_domain_name().filter(|t| !t.is_empty())?;
        let zone = first
            .hosted_zone_id()
            .filter(|z| !z.is_empty())
            .or_else(|| regional_api_zone(&self.ctx.settings.region))?;
        Some(Target { target: target.to_string(), zone: zone.to_string() })
    }
}

impl Resource for WebSocketDomain<'_> {
    /// (certificate, alias target).
    type Live = (Option<String>, Option<Target>);

    /// Its API mappings go with it.
    async fn delete(&self, _live: Self::Live) -> Result<()> {
        let deleted = self.ctx.aws.apigatewayv2().delete_domain_name().domain_name(self.name).send().await;
        deleted.aws_context(|| format!("apigatewayv2:DeleteDomainName {}", self.name))?;
        Ok(())
    }

    fn planned(&self) -> Option<Self::Live> {
        Some((None, Some(Target { target: PLANNED.into(), zone: PLANNED.into() })))
    }

    fn label(&self) -> String {
        format!("custom domain {}", self.name)
    }

    async fn find(&self, _recorded: Option<&str>) -> Result<Option<Self::Live>> {
        let got = self.ctx.aws.apigatewayv2().get_domain_name().domain_name(self.name).send().await;
        let got = absent_if(got, |e| e.is_not_found_exception())
            .aws_context(|| format!("apigatewayv2:GetDomainName {}", self.name))?;
        Ok(got.map(|d| {
            let configurations = d.domain_name_configurations();
            (configurations.first().and_then(|c| c.certificate_arn()).map(str::to_string), self.target(configurations))
        }))
    }

    async fn create(&self) -> Result<Self::Live> {
        let created = self
            .ctx
            .aws
            .apigatewayv2()
            .create_domain_name()
            .domain_name(self.name)
            .domain_name_configurations(self.configuration())
            .send()
            .await
            .aws_context(|| format!("apigatewayv2:CreateDomainName {}", self.name))?;
        let configurations = created.domain_name_configurations();
        Ok((configurations.first().and_then(|c| c.certificate_arn()).map(str::to_string), self.target(configurations)))
    }

    fn id(&self, _live: &Self::Live) -> String {
        self.name.to_string()
    }

    fn differences(&self, live: &Self::Live) -> Result<Vec<&'static str>> {
        Ok(if live.0.as_deref() == Some(self.certificate) { vec![] } else { vec!["certificate"] })
    }

    async fn update(&self, live: Self::Live, _fields: &[&'static str]) -> Result<Self::Live> {
        self.ctx
            .aws
            .apigatewayv2()
            .update_domain_name()
            .domain_name(self.name)
            .domain_name_configurations(self.configuration())
            .send()
            .await
            .aws_context(|| format!("apigatewayv2:UpdateDomainName {} (certificate)", self.name))?;
        Ok((Some(self.certificate.to_string()), live.1))
    }
}

/// The WebSocket API's stage at the root of `ws.DOMAIN`.
struct ApiMapping<'a> {
    ctx: &'a Context<'a>,
    domain: &'a str,
    api_id: &'a str,
    stage: &'a str,
}

impl Resource for ApiMapping<'_> {
    /// (mapping ID, API ID, stage).
    type Live = (String, String, String);

    fn under_planned(&self) -> bool {
        is_planned(self.api_id)
    }

    fn planned(&self) -> Option<Self::Live> {
        Some((PLANNED.into(), PLANNED.into(), self.stage.into()))
    }

    fn label(&self) -> String {
        format!("API mapping {} → {}/{}", self.domain, self.api_id, self.stage)
    }

    async fn find(&self, _recorded: Option<&str>) -> Result<Option<Self::Live>> {
        let got = self.ctx.aws.apigatewayv2().get_api_mappings().domain_name(self.domain).send().await;
        let got = got.aws_context(|| format!("apigatewayv2:GetApiMappings {}", self.domain))?;
        let root = got.items().iter().find(|m| m.api_mapping_key().unwrap_or_default().is_empty());
        Ok(root.map(|m| {
            let text = |v: Option<&str>| v.unwrap_or_default().to_string();
            (text(m.api_mapping_id()), text(m.api_id()), text(m.stage()))
        }))
    }

    async fn create(&self) -> Result<Self::Live> {
        let created = self
            .ctx
            .aws
            .apigatewayv2()
            .create_api_mapping()
            .domain_name(self.domain)
            .api_id(self.api_id)
            .stage(self.stage)
            .send()
            .await
            .aws_context(|| format!("apigatewayv2:CreateApiMapping {}", self.domain))?;
        Ok((created.api_mapping_id().unwrap_or_default().to_string(), self.api_id.to_string(), self.stage.to_string()))
    }

    fn id(&self, live: &Self::Live) -> String {
        live.0.clone()
    }

    fn differences(&self, live: &Self::Live) -> Result<Vec<&'static str>> {
        Ok(if live.1 == self.api_id && live.2 == self.stage { vec![] } else { vec!["target"] })
    }

    async fn update(&self, live: Self::Live, _fields: &[&'static str]) -> Result<Self::Live> {
        self.ctx
            .aws
            .apigatewayv2()
            .update_api_mapping()
            .api_mapping_id(&live.0)
            .domain_name(self.domain)
            .api_id(self.api_id)
            .stage(self.stage)
            .send()
            .await
            .aws_context(|| format!("apigatewayv2:UpdateApiMapping {}", self.domain))?;
        Ok((live.0, self.api_id.to_string(), self.stage.to_string()))
    }
}

/// The distribution answering for DOMAIN and www.DOMAIN with the certificate.
struct DistributionAliases<'a> {
    ctx: &'a Context<'a>,
    id: &'a str,
    aliases: Vec<String>,
    certificate: &'a str,
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
        bail!("distribution {} is gone: run `deployer step {}` to make it again", self.id, s05_frontend::ID)
    }

    fn id(&self, _live: &DistributionConfig) -> String {
        self.id.to_string()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_without_case_or_trailing_dot() {
        assert_eq!(fqdn("Api.Example.com"), "api.example.com.");
        assert_eq!(fqdn("api.example.com."), "api.example.com.");
    }

    #[test]
    fn us_east_1_regional_zone_is_known() {
        assert_eq!(regional_api_zone("us-east-1"), Some("Z1UJRXOUMOOFQ8"));
        assert_eq!(regional_api_zone("xx-nowhere-1"), None);
    }
}
