//! ACM certificates with DNS validation: in us-east-1 for CloudFront, and in the region for the API domains.

use anyhow::{bail, Context as _, Result};
use aws_sdk_acm::types::{CertificateStatus, ValidationMethod};
use aws_sdk_route53::types::{ResourceRecord, ResourceRecordSet, RrType};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::time::Duration;

use crate::aws::{absent_if, AwsContext};
use crate::ensure::{recorded_token, Recorder, Resource, PLANNED};
use crate::package::hex;
use crate::retry::{retry_while, Attempt, Patience};
use crate::step::Context;

use super::records::fqdn;
use super::zone::LiveZone;

/// ACM has no waiter for the validation records to appear after a request (seconds on AWS): it is polled
/// with growing pauses, two minutes in all.
const VALIDATION_RECORDS: Patience =
    Patience { first: Duration::from_secs(1), max: Duration::from_secs(8), limit: Duration::from_secs(120) };
/// Between two looks at a certificate waiting to be issued.
const ISSUED_POLL: Duration = Duration::from_secs(10);
/// ACM keeps a certificate "in use" for a while after its custom domain or distribution let it go (seconds
/// to minutes): deleting it is retried for up to ten minutes, as terraform-provider-aws does.
const IN_USE: Patience =
    Patience { first: Duration::from_secs(2), max: Duration::from_secs(30), limit: Duration::from_secs(600) };

pub(super) struct Certificate<'a> {
    pub(super) ctx: &'a Context<'a>,
    pub(super) region: &'a str,
    /// The first is the certificate's domain name, the rest its alternative names.
    pub(super) names: Vec<String>,
    pub(super) key: &'static str,
    /// Makes a retried request return the same certificate (see [`certificate_token`]).
    pub(super) token: &'a str,
}

/// ACM's idempotency token for this deployment's certificate requests. It is recorded before the first
/// request, so a retry after a kill asks for the same certificate; it goes with the step's record on
/// `destroy`, so a later deployment does not get back the ARN of a certificate destroy deleted (ACM
/// remembers a token for an hour).
pub(super) fn certificate_token(recorder: &dyn Recorder) -> Result<String> {
    recorded_token(recorder, "certificate_token", 32)
}

pub(super) struct LiveCertificate {
    pub(super) arn: String,
    pub(super) status: Option<CertificateStatus>,
    /// (name, value) of each DNS validation CNAME.
    pub(super) validation: Vec<(String, String)>,
}

impl LiveCertificate {
    pub(super) fn validation_records(&self) -> Vec<Result<ResourceRecordSet>> {
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

    /// The certificate once ACM shows a validation record for each of its names: they appear seconds after
    /// the request (ACM offers no waiter for them), and a run resumed after a kill may find them missing.
    pub(super) async fn with_all_records(&self, live: LiveCertificate) -> Result<LiveCertificate> {
        let complete = |c: &LiveCertificate| c.validation.len() >= self.names.len();
        if complete(&live) {
            return Ok(live);
        }
        let look = || async {
            match self.describe(&live.arn).await {
                Ok(Some(found)) if complete(&found) => Ok(found),
                Ok(_) => Err(Attempt::Again(())),
                Err(failed) => Err(Attempt::Stop(failed)),
            }
        };
        match retry_while(VALIDATION_RECORDS, look, Attempt::again).await {
            Ok(found) => return Ok(found),
            Err(Attempt::Stop(failed)) => return Err(failed),
            Err(Attempt::Again(())) => {}
        }
        bail!(
            "certificate {} shows no DNS validation record for some of {} after two minutes: run `deployer resume` \
             to look again",
            live.arn,
            self.names.join(", ")
        )
    }

    /// Polls until the certificate is ISSUED (true), for at most `limit`. Not the SDK's
    /// `certificate_validated` waiter: it stops at the validation's SUCCESS, before `ISSUED` (which a custom
    /// domain needs), and polls every 60-120 s, which would add a minute to every first deploy. One
    /// DescribeCertificate every 10 s is far inside ACM's quota (10/s).
    async fn until_issued(&self, arn: &str, limit: Duration) -> Result<bool> {
        let started = std::time::Instant::now();
        loop {
            let status = self.describe(arn).await?.and_then(|c| c.status);
            match status {
                Some(CertificateStatus::Issued) => return Ok(true),
                Some(CertificateStatus::PendingValidation) | None => {}
                Some(other) => bail!(
                    "certificate {arn} for {} is {}: ACM will not issue it. Delete it (`deployer destroy`, or in \
                     the console) and run `deployer run` to request a new one",
                    self.names.join(", "),
                    other.as_str()
                ),
            }
            let left = crate::clock::scaled(limit).saturating_sub(started.elapsed());
            if left.is_zero() {
                return Ok(false);
            }
            // The last look comes at the limit, not up to a poll later.
            tokio::time::sleep(crate::clock::scaled(ISSUED_POLL).min(left)).await;
        }
    }

    pub(super) async fn wait_issued(&self, live: &LiveCertificate, zone: &LiveZone) -> Result<()> {
        if live.status == Some(CertificateStatus::Issued) {
            return Ok(());
        }
        let limit = Duration::from_secs(self.ctx.settings.cert_wait_seconds);
        if self.until_issued(&live.arn, limit).await? {
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

    /// ResourceInUseException is retried while ACM lets go of the certificate ([`IN_USE`]).
    async fn delete(&self, live: LiveCertificate) -> Result<()> {
        let delete = || self.ctx.aws.acm(self.region).delete_certificate().certificate_arn(&live.arn).send();
        let in_use = |err: &aws_sdk_acm::error::SdkError<_>| {
            err.as_service_error().is_some_and(
                aws_sdk_acm::operation::delete_certificate::DeleteCertificateError::is_resource_in_use_exception,
            )
        };
        retry_while(IN_USE, delete, in_use).await.aws_context(|| {
            format!(
                "acm:DeleteCertificate {} (still in use after {} minutes: by something other than this service?)",
                live.arn,
                IN_USE.limit.as_secs() / 60
            )
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
        let live =
            self.describe(&arn).await?.with_context(|| format!("certificate {arn} vanished after its request"))?;
        self.with_all_records(live).await
    }

    fn id(&self, live: &LiveCertificate) -> String {
        live.arn.clone()
    }
}
