//! Manual section 4, "Custom domain (Route 53 + ACM)": step `06-domain`. Skipped without `--domain`.
//!
//! - Hosted zone for DOMAIN: the public zone of that name is reused (several: the step stops), else one is
//!   created with a CallerReference unique to that creation (`deployer-DOMAIN-TOKEN`, recorded before the
//!   request), so a retry cannot make a second and a redeploy after `destroy --delete-zone` is not refused. Its name servers
//!   are recorded and shown: the registrar must point the domain at them.
//! - ACM certificate **in us-east-1** (CloudFront takes no other) for DOMAIN, www., api. and ws., DNS
//!   validation, with an idempotency token; an ISSUED or pending certificate for exactly these names is
//!   reused. Outside us-east-1 a second certificate, in the region, covers api. and ws. for the regional API
//!   domains. The validation CNAMEs are UPSERTed into the zone, then DescribeCertificate is polled every
//!   10 s until `ISSUED` (a custom domain refuses a certificate until then; the SDK's waiter stops earlier, at
//!   the validation's SUCCESS), for up to `--cert-wait` (default 45 min); past it the step fails naming the
//!   name servers and the records, and `deployer resume` waits again. A certificate found again after a kill
//!   is waited on until it shows every validation record. `destroy` retries DeleteCertificate while ACM
//!   still calls it in use.
//! - Custom domains: `api.DOMAIN` (REST, REGIONAL, TLS 1.2, base path mapping to the stage) and `ws.DOMAIN`
//!   (API Gateway v2, API mapping to the stage); the distribution gets the aliases DOMAIN and www.DOMAIN
//!   with the certificate (SNI, TLSv1.2_2021). Only these distribution fields are owned here.
//! - Head start: the zone, the certificates, their validation records and the wait for `ISSUED` need
//!   none of 01-05, so a run starts them beside 01-05 (`Step::head_start`); in its turn the step finds them.
//! - Records are not waited to `INSYNC`: no later step reads these names, and ACM validates from them
//!   as soon as Route 53 serves them (within a minute).
//! - Route 53 alias records, UPSERTed only where they differ: DOMAIN and www.DOMAIN, A and AAAA, to the
//!   distribution (zone `Z2FDTNDATAQYW2`); api. and ws., A, to the API Gateway targets, whose hosted zone
//!   comes from the domain-name response, else from a table by region. A service that reports no target
//!   for a domain (moto, for v2) gets no record for it, and a notice says so.
//! - `05-frontend` reads this step's `api_url`/`ws_url`: the runner runs it again after this step, so one
//!   `deployer run` ends with the site calling `https://api.DOMAIN` and `wss://ws.DOMAIN`.
//!
//! AWS calls: `route53:GetHostedZone`, `ListHostedZonesByName`, `CreateHostedZone`, `ListResourceRecordSets`,
//! `ChangeResourceRecordSets`; `acm:DescribeCertificate`,
//! `ListCertificates`, `RequestCertificate`, `apigateway:GetDomainName`,
//! `CreateDomainName`, `UpdateDomainName`, `GetBasePathMappings`, `CreateBasePathMapping`,
//! `UpdateBasePathMapping`; `apigatewayv2:GetDomainName`, `CreateDomainName`, `UpdateDomainName`,
//! `GetApiMappings`, `CreateApiMapping`, `UpdateApiMapping`; `cloudfront:GetDistributionConfig`,
//! `UpdateDistribution`.
//!
//! Files: `zone.rs` the hosted zone, `certificate.rs` the certificates, `custom_domains.rs` the API domains and
//! their mappings, `aliases.rs` the distribution's aliases, `records.rs` the Route 53 records.
//!
//! Outputs: `zone_id`, `name_servers`, `certificate_arn`, `regional_certificate_arn`, `api_domain_target`,
//! `ws_domain_target`, `site_url`, `api_url`, `ws_url`.

mod aliases;
mod certificate;
mod custom_domains;
mod records;
mod zone;

use anyhow::Result;
use async_trait::async_trait;
use aws_sdk_route53::types::{ResourceRecordSet, RrType};

use crate::ensure::{ensure, is_planned, record_if_changed, remove, Recorder, Resource};
use crate::error::InputError;
use crate::manual::ids;
use crate::outputs;
use crate::step::{Context, Step, Teardown};
use aliases::{detach_aliases, DistributionAliases};
use certificate::{certificate_token, Certificate};
use custom_domains::{ApiMapping, BasePathMapping, RestDomain, Target, WebSocketDomain};
use records::{alias_record, dedupe, delete_records, Records, CLOUDFRONT_ZONE};
use zone::HostedZone;

pub const ID: &str = ids::DOMAIN;

pub struct Domain;

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
        &[ids::API_GATEWAY, ids::WEBSOCKET, ids::FRONTEND]
    }
    /// The custom domains map to the stages, which 03 and 04 make before their invoke permissions.
    fn starts_on_outputs(&self) -> bool {
        true
    }
    fn plans_past_new(&self) -> bool {
        true
    }

    async fn check_teardown(&self, ctx: &Context<'_>, teardown: &Teardown) -> Result<()> {
        let Some(domain) = ctx.settings.domain.as_deref().filter(|_| teardown.delete_zone) else {
            return Ok(());
        };
        let zone = HostedZone { ctx, domain, recorder: None };
        let recorded = ctx.get_optional(&outputs::ZONE_ID);
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
        let zone_spec = HostedZone { ctx, domain: &domain, recorder: None };
        let zone = zone_spec.find(recorder.recorded(&outputs::ZONE_ID.key).as_deref()).await?;
        if let Some(zone) = &zone {
            delete_records(ctx, &zone.id, &names, recorder).await?;
        }
        remove(&RestDomain { ctx, name: &names[2], certificate: "" }, recorder).await?;
        remove(&WebSocketDomain { ctx, name: &names[3], certificate: "" }, recorder).await?;
        if let Ok(distribution) = ctx.get(&outputs::DISTRIBUTION_ID) {
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

    fn has_head_start(&self, settings: &crate::settings::Settings) -> bool {
        settings.domain.is_some()
    }

    /// The zone, the certificates, their validation records and the wait for `ISSUED`: none needs 01-05,
    /// and the validation takes minutes, so the runner starts this beside them.
    async fn head_start(&self, ctx: &Context<'_>, recorder: &dyn Recorder) -> Result<()> {
        let Some(domain) = ctx.settings.domain.as_deref() else {
            return Ok(());
        };
        let zone = ensure(&HostedZone { ctx, domain, recorder: Some(recorder) }, recorder).await?;
        ensure_certificates(ctx, recorder, &Names::of(domain), &zone).await?;
        Ok(())
    }

    async fn run(&self, ctx: &Context<'_>, recorder: &dyn Recorder) -> Result<()> {
        let Some(domain) = ctx.settings.domain.as_deref() else {
            recorder.notice("no --domain given: the service stays on its AWS-generated URLs");
            return Ok(());
        };
        let names = Names::of(domain);
        let zone = ensure_zone(ctx, recorder, &names).await?;
        let (cloudfront_cert, regional_cert) = ensure_certificates(ctx, recorder, &names, &zone).await?;
        let targets = ensure_api_domains(ctx, recorder, &names, &regional_cert).await?;
        let ws_url = if targets.no_websocket { String::new() } else { format!("wss://{}", names.ws) };
        let distribution_id = ctx.get(&outputs::DISTRIBUTION_ID)?;
        let aliases = vec![names.apex.clone(), names.www.clone()];
        ensure(&DistributionAliases { ctx, id: distribution_id, aliases, certificate: &cloudfront_cert }, recorder)
            .await?;
        ensure_alias_records(ctx, recorder, &names, &zone.id, targets).await?;

        record_if_changed(recorder, outputs::SITE_URL_KEY, &format!("https://{}", names.apex))?;
        record_if_changed(recorder, &outputs::API_URL.key, &format!("https://{}", names.api))?;
        record_if_changed(recorder, &outputs::WS_URL.key, &ws_url)?;
        Ok(())
    }
}

/// The four names the step serves.
struct Names {
    apex: String,
    www: String,
    api: String,
    ws: String,
}

impl Names {
    fn of(domain: &str) -> Names {
        Names {
            apex: domain.to_string(),
            www: format!("www.{domain}"),
            api: format!("api.{domain}"),
            ws: format!("ws.{domain}"),
        }
    }
}

/// The zone, with its name servers recorded and shown: the registrar must list them.
async fn ensure_zone(ctx: &Context<'_>, recorder: &dyn Recorder, names: &Names) -> Result<zone::LiveZone> {
    let domain = &names.apex;
    let zone = ensure(&HostedZone { ctx, domain, recorder: Some(recorder) }, recorder).await?;
    record_if_changed(recorder, "name_servers", &zone.name_servers.join(","))?;
    if is_planned(&zone.id) {
        recorder
            .notice(&format!("the registrar of {domain} must list the new zone's name servers, known once it exists"));
    } else {
        recorder.notice(&format!(
            "the registrar of {domain} must list these name servers: {}",
            zone.name_servers.join(", ")
        ));
    }
    Ok(zone)
}

/// The certificates, their validation records, and the wait for them to be issued; returns the ARNs of
/// CloudFront's certificate and of the API domains' (the same in us-east-1).
async fn ensure_certificates(
    ctx: &Context<'_>,
    recorder: &dyn Recorder,
    names: &Names,
    zone: &zone::LiveZone,
) -> Result<(String, String)> {
    let region = ctx.settings.region.as_str();
    let token = certificate_token(recorder)?;
    let global_names = vec![names.apex.clone(), names.www.clone(), names.api.clone(), names.ws.clone()];
    let global = Certificate { ctx, region: "us-east-1", names: global_names, key: "certificate_arn", token: &token };
    let regional = (region != "us-east-1").then(|| Certificate {
        ctx,
        region,
        names: vec![names.api.clone(), names.ws.clone()],
        key: "regional_certificate_arn",
        token: &token,
    });
    let mut certificates = vec![ensure(&global, recorder).await?];
    if let Some(regional) = &regional {
        certificates.push(ensure(regional, recorder).await?);
    }
    if !recorder.planning() {
        // A certificate found again after a kill may not show all its validation records yet.
        let specs = std::iter::once(&global).chain(regional.as_ref());
        let complete = futures::future::try_join_all(specs.zip(certificates).map(|(s, c)| s.with_all_records(c)));
        certificates = complete.await?;
    }
    let validation: Vec<ResourceRecordSet> =
        certificates.iter().flat_map(|c| c.validation_records()).collect::<Result<_>>()?;
    ensure(&Records { ctx, zone_id: &zone.id, what: "validation records", wanted: dedupe(validation) }, recorder)
        .await?;
    for (certificate, spec) in certificates.iter().zip(std::iter::once(&global).chain(regional.as_ref())) {
        if !recorder.planning() {
            spec.wait_issued(certificate, zone).await?;
        }
    }
    let cloudfront_cert = certificates[0].arn.clone();
    let regional_cert = certificates.last().map(|c| c.arn.clone()).unwrap_or_default();
    record_if_changed(recorder, "regional_certificate_arn", &regional_cert)?;
    Ok((cloudfront_cert, regional_cert))
}

/// Where `api.` and `ws.` point: the REST domain's target, and the WebSocket domain's when reported.
struct ApiTargets {
    rest: Target,
    websocket: Option<Target>,
    /// No WebSocket API (the settings route nothing to one): no `ws.DOMAIN` either.
    no_websocket: bool,
}

/// `api.DOMAIN` and `ws.DOMAIN` with their mappings to the main stage.
async fn ensure_api_domains(
    ctx: &Context<'_>,
    recorder: &dyn Recorder,
    names: &Names,
    certificate: &str,
) -> Result<ApiTargets> {
    let stage = &ctx.settings.stage;
    let rest_api_id = ctx.get(&outputs::REST_API_ID)?;
    let ws_api_id = ctx.get(&outputs::WEBSOCKET_API_ID)?;
    let rest = ensure(&RestDomain { ctx, name: &names.api, certificate }, recorder).await?;
    let rest_mapping = BasePathMapping { ctx, domain: &names.api, rest_api_id, stage };
    let rest_target = Target { target: rest.target, zone: rest.zone };
    if ws_api_id.is_empty() {
        ensure(&rest_mapping, recorder).await?;
        return Ok(ApiTargets { rest: rest_target, websocket: None, no_websocket: true });
    }
    let websocket = ensure(&WebSocketDomain { ctx, name: &names.ws, certificate }, recorder).await?;
    let ws_mapping = ApiMapping { ctx, domain: &names.ws, api_id: ws_api_id, stage };
    let (rest_mapped, ws_mapped) = futures::join!(ensure(&rest_mapping, recorder), ensure(&ws_mapping, recorder));
    rest_mapped?;
    ws_mapped?;
    Ok(ApiTargets { rest: rest_target, websocket: websocket.1, no_websocket: false })
}

/// A and AAAA aliases of DOMAIN and www. to the distribution, A aliases of api. and ws. to API Gateway.
async fn ensure_alias_records(
    ctx: &Context<'_>,
    recorder: &dyn Recorder,
    names: &Names,
    zone_id: &str,
    targets: ApiTargets,
) -> Result<()> {
    let cloudfront_domain = ctx.get(&outputs::DISTRIBUTION_DOMAIN)?;
    let mut aliases = Vec::new();
    for name in [&names.apex, &names.www] {
        for kind in [RrType::A, RrType::Aaaa] {
            aliases.push(alias_record(name, kind, cloudfront_domain, CLOUDFRONT_ZONE)?);
        }
    }
    aliases.push(alias_record(&names.api, RrType::A, &targets.rest.target, &targets.rest.zone)?);
    record_if_changed(recorder, "api_domain_target", &targets.rest.target)?;
    match &targets.websocket {
        None if targets.no_websocket => {}
        Some(target) => {
            aliases.push(alias_record(&names.ws, RrType::A, &target.target, &target.zone)?);
            record_if_changed(recorder, "ws_domain_target", &target.target)?;
        }
        None => recorder.notice(&format!(
            "API Gateway reported no target for {}, so its alias record was not written: run `deployer step {ID}` \
             again later",
            names.ws
        )),
    }
    ensure(&Records { ctx, zone_id, what: "alias records", wanted: aliases }, recorder).await?;
    Ok(())
}
