//! `doctor`: what a first run needs, checked without writing anything, one line each, and the fix for each
//! failure: the settings, python and pip or uv for the bundle's requirements, the backend's handlers, the
//! frontend's `dist/`, the credentials and account, and once a domain is deployed, the hosted zone's name
//! servers against the domain's delegation (`NS DOMAIN` asked of the resolver: what the registrar lists)
//! and the certificate's status. Exit 1 if a check fails.

use anyhow::{anyhow, Result};
use deployer_steps::concurrency_quota;
use deployer_steps::installer::Installer;
use deployer_steps::outputs::{self, Output};
use deployer_steps::{registry, Clients, Settings};
use serde_json::json;
use std::collections::BTreeSet;

use super::common::connect;
use crate::cli::{Cli, Output as Format, SettingsArgs};
use crate::dns;
use crate::layered::settings_for;
use crate::state::{self, State};

/// One check: what it looked at, and what it found or what to do.
struct Check {
    name: &'static str,
    result: Result<String, String>,
}

fn check(name: &'static str, result: Result<String, String>) -> Check {
    Check { name, result }
}

fn local_checks(settings: &Settings) -> Vec<Check> {
    let mut checks = vec![check("settings", settings.validate().map(|()| "valid".into()).map_err(|e| e.to_string()))];
    let steps = registry();
    let validated = steps.iter().try_for_each(|s| s.validate(settings));
    checks.push(check("backend and frontend", validated.map(|()| "handlers and dist/ found".into()).map_err(|e| e.0)));
    checks.push(check("python", python(settings)));
    checks
}

/// python3 with pip or uv, needed only when requirements.txt lists something.
fn python(settings: &Settings) -> Result<String, String> {
    let requirements = std::fs::read_to_string(settings.backend.join("requirements.txt")).unwrap_or_default();
    let needed = requirements.lines().any(|l| !l.split('#').next().unwrap_or_default().trim().is_empty());
    if !needed {
        return Ok("not needed: requirements.txt lists nothing".into());
    }
    let pip_runs = || {
        std::process::Command::new("python3")
            .args(["-m", "pip", "--version"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    match Installer::chosen().map_err(|e| format!("{e:#}"))? {
        Installer::Uv => Ok("uv (DEPLOYER_INSTALLER=pip would use pip instead)".into()),
        Installer::Pip if pip_runs() => Ok("python3 with pip (uv, when on PATH, installs faster)".into()),
        Installer::Pip => Err("requirements.txt lists dependencies, but neither `python3 -m pip` nor `uv` runs here: \
                               install uv, or Python 3 with pip"
            .into()),
    }
}

async fn aws_checks(cli: &Cli, settings: &Settings, state: Option<&State>) -> Vec<Check> {
    let clients = match connect(cli, settings).await {
        Ok(clients) => clients,
        Err(err) => return vec![check("credentials", Err(format!("{err:#}")))],
    };
    let mut checks = vec![match clients.identity().await {
        Ok(who) => check("credentials", Ok(format!("account {} in {}", who.account, settings.region))),
        Err(err) => check("credentials", Err(format!("{err:#}"))),
    }];
    let reserved = concurrency_quota::reserved_by(settings);
    if reserved > 0 {
        let quota = concurrency_quota::account_quota(&clients).await.map_err(|e| format!("{e:#}"));
        let fits = quota.and_then(|quota| {
            concurrency_quota::fits(reserved, quota, &settings.region)
                .map(|()| format!("quota {quota}, of which the settings reserve {reserved}"))
        });
        checks.push(check("Lambda concurrency", fits));
    }
    let recorded =
        |output: &Output| state.and_then(|s| s.outputs().get(output.step)?.get(output.key.as_ref()).cloned());
    if settings.domain.is_some() {
        let zone = zone(&clients, recorded(&outputs::ZONE_ID)).await;
        let delegation = match &zone {
            Ok(Some(servers)) => Some(delegation(settings.domain.as_deref().unwrap_or_default(), servers).await),
            _ => None,
        };
        checks.push(check("hosted zone", zone.map(|servers| describe_zone(recorded(&outputs::ZONE_ID), servers))));
        checks.extend(delegation.map(|d| check("registrar", d)));
        checks.push(check("certificate", certificate_status(&clients, recorded(&outputs::CERTIFICATE_ARN)).await));
    }
    checks
}

/// The zone's name servers, once 06 has made it.
async fn zone(clients: &Clients, zone_id: Option<String>) -> Result<Option<Vec<String>>, String> {
    let Some(id) = zone_id else { return Ok(None) };
    let got = clients.route53().get_hosted_zone().id(&id).send().await.map_err(|e| {
        format!("route53:GetHostedZone {id}: {}: run `deployer step 06-domain` to find or make it again", anyhow!(e))
    })?;
    Ok(Some(got.delegation_set().map(|d| d.name_servers().to_vec()).unwrap_or_default()))
}

fn describe_zone(zone_id: Option<String>, servers: Option<Vec<String>>) -> String {
    match (zone_id, servers) {
        (Some(id), Some(servers)) => format!("{id}, name servers {}", servers.join(", ")),
        _ => "not made yet: 06-domain makes it and shows the name servers the registrar must list".into(),
    }
}

/// The domain's name servers as DNS answers them (the registrar's delegation) against the zone's. A
/// failed lookup is reported, not failed: the machine may have no resolver that reaches the internet.
async fn delegation(domain: &str, zone_servers: &[String]) -> Result<String, String> {
    let normal = |s: &str| s.trim_end_matches('.').to_ascii_lowercase();
    let wanted: BTreeSet<String> = zone_servers.iter().map(|s| normal(s)).collect();
    let listed = match dns::resolver() {
        Ok(resolver) => dns::name_servers(domain, resolver).await,
        Err(e) => Err(e),
    };
    let fix = format!("set the name servers of {domain} at its registrar to {}", zone_servers.join(", "));
    match listed {
        Err(e) => Ok(format!("no DNS answer ({e:#}): compare `dig NS {domain}` with the zone's name servers")),
        Ok(None) => Err(format!("{domain} does not exist in DNS (NXDOMAIN): register it, then {fix}")),
        Ok(Some(listed)) => {
            let listed: BTreeSet<String> = listed.iter().map(|s| normal(s)).collect();
            if listed == wanted {
                Ok(format!("{domain} is delegated to the zone's name servers"))
            } else {
                let shown = listed.into_iter().collect::<Vec<_>>().join(", ");
                Err(format!(
                    "{domain} is delegated to {shown}, not to the zone: {fix}; DNS validation of the \
                             certificate waits for it"
                ))
            }
        }
    }
}

async fn certificate_status(clients: &Clients, arn: Option<String>) -> Result<String, String> {
    let Some(arn) = arn else {
        return Ok("not requested yet: 06-domain requests it".into());
    };
    let got = clients.acm("us-east-1").describe_certificate().certificate_arn(&arn).send().await;
    let got = got.map_err(|e| format!("acm:DescribeCertificate {arn}: {}", anyhow!(e)))?;
    let status = got.certificate().and_then(|c| c.status()).map_or("unknown", |s| s.as_str()).to_string();
    match status.as_str() {
        "ISSUED" => Ok(format!("{arn}: ISSUED")),
        "PENDING_VALIDATION" => Err(format!(
            "{arn} is PENDING_VALIDATION: ACM validates once the registrar lists the zone's name servers; then \
             `deployer resume` goes on"
        )),
        other => Err(format!("{arn} is {other}: `deployer destroy` it, then `deployer run` requests a new one")),
    }
}

pub async fn doctor(cli: &Cli, args: &SettingsArgs) -> Result<()> {
    let recorded = state::load(&cli.state)?;
    let settings = settings_for(cli, args, recorded.as_ref()).await?;
    let mut checks = local_checks(&settings);
    checks.extend(aws_checks(cli, &settings, recorded.as_ref()).await);
    for Check { name, result } in &checks {
        match (cli.output, result) {
            (Format::Json, result) => out!(
                "{}",
                json!({"check": name, "ok": result.is_ok(), "detail": result.as_ref().unwrap_or_else(|e| e)})
            ),
            (_, Ok(found)) => out!("ok    {name}: {found}"),
            (_, Err(fix)) => out!("FAIL  {name}: {fix}"),
        }
    }
    let failed = checks.iter().filter(|c| c.result.is_err()).count();
    if failed > 0 {
        return Err(anyhow!(
            "{failed} of {} checks failed: fix them as each says, then run doctor again",
            checks.len()
        ));
    }
    Ok(())
}
