//! Route 53 records: the certificates' validation CNAMEs and the alias records of the four names.

use anyhow::Result;
use aws_sdk_route53::types::{
    AliasTarget, Change as RecordChange, ChangeAction, ChangeBatch, ResourceRecordSet, RrType,
};
use std::collections::BTreeSet;

use crate::aws::AwsContext;
use crate::ensure::{is_planned, Change, Recorder, Resource};
use crate::step::Context;

/// The hosted zone of every CloudFront distribution, for alias records.
pub const CLOUDFRONT_ZONE: &str = "Z2FDTNDATAQYW2";

/// `name.` lower-cased with one trailing dot, as Route 53 compares names.
pub(super) fn fqdn(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.').to_ascii_lowercase())
}

pub(super) fn dedupe(records: Vec<ResourceRecordSet>) -> Vec<ResourceRecordSet> {
    let mut seen = BTreeSet::new();
    records.into_iter().filter(|r| seen.insert((fqdn(r.name()), r.r#type().as_str().to_string()))).collect()
}

pub(super) fn alias_record(name: &str, kind: RrType, target: &str, zone: &str) -> Result<ResourceRecordSet> {
    let alias = AliasTarget::builder().dns_name(target).hosted_zone_id(zone).evaluate_target_health(false).build()?;
    Ok(ResourceRecordSet::builder().name(fqdn(name)).r#type(kind).alias_target(alias).build()?)
}

/// Deletes the records deployer writes: aliases of the four names and the certificates' validation CNAMEs.
pub(super) async fn delete_records(
    ctx: &Context<'_>,
    zone_id: &str,
    names: &[String],
    recorder: &dyn Recorder,
) -> Result<()> {
    let all = Records { ctx, zone_id, what: "records", wanted: Vec::new() };
    let live = all.list_zone().await?;
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

/// Route 53 records of the zone, UPSERTed in one batch where they differ.
pub(super) struct Records<'a> {
    pub(super) ctx: &'a Context<'a>,
    pub(super) zone_id: &'a str,
    pub(super) what: &'static str,
    pub(super) wanted: Vec<ResourceRecordSet>,
}

/// What makes two records the same, whatever case or trailing dots the service returns.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct RecordShape {
    pub(super) name: String,
    pub(super) kind: String,
    pub(super) ttl: Option<i64>,
    pub(super) values: Vec<String>,
    pub(super) alias: Option<(String, String)>,
}

pub(super) fn record_shape(r: &ResourceRecordSet) -> RecordShape {
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
    /// Every record set of the zone, page by page.
    async fn list_zone(&self) -> Result<Vec<ResourceRecordSet>> {
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
                return Ok(records);
            }
            (name, kind) = (page.next_record_name().map(str::to_string), page.next_record_type().cloned());
        }
    }

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
        let records = self.list_zone().await?;
        // None of the wanted records in the zone: they are to create, not an update of others.
        let named = |r: &ResourceRecordSet| {
            self.wanted.iter().any(|w| fqdn(w.name()) == fqdn(r.name()) && w.r#type() == r.r#type())
        };
        Ok(records.iter().any(named).then_some(records))
    }

    /// Every wanted record, in one change batch (a zone that vanished fails it with NoSuchHostedZone).
    async fn create(&self) -> Result<Self::Live> {
        self.update(Vec::new(), &[]).await
    }

    fn id(&self, _live: &Self::Live) -> String {
        self.zone_id.to_string()
    }

    /// The names whose records differ: what they hold now, and what is wanted.
    fn values(&self, live: &Self::Live, _field: &str) -> Option<(String, String)> {
        let differing = self.differing(live);
        let names: BTreeSet<String> = differing.iter().map(|r| fqdn(r.name())).collect();
        let shown = |records: Vec<&ResourceRecordSet>| {
            let mut lines: Vec<String> = records
                .into_iter()
                .filter(|r| names.contains(&fqdn(r.name())))
                .map(|r| {
                    let shape = record_shape(r);
                    let target =
                        shape.alias.map_or_else(|| shape.values.join(" "), |(name, _)| format!("alias {name}"));
                    format!("{} {} {target}", shape.name.trim_end_matches('.'), shape.kind)
                })
                .collect();
            lines.sort();
            if lines.is_empty() {
                "none".to_string()
            } else {
                lines.join("; ")
            }
        };
        Some((shown(live.iter().collect()), shown(differing)))
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
        // Not waited to INSYNC (up to a minute): no later step reads these names, and ACM validates from
        // the records as soon as Route 53 serves them.
        route53
            .change_resource_record_sets()
            .hosted_zone_id(self.zone_id)
            .change_batch(batch)
            .send()
            .await
            .aws_context(|| format!("route53:ChangeResourceRecordSets {} ({})", self.zone_id, self.what))?;
        Ok(self.wanted.clone())
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
}
