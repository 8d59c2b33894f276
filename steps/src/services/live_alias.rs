//! Every function's alias `live`: what the APIs invoke and what a release moves. It points at a version
//! published only when the function's code or configuration changed (the version's description holds a
//! digest of both), so that a version is an immutable record of what was deployed. `02-lambda` ensures it
//! after each function, `04-websocket` after the variables it gives the functions that answer clients (so
//! that no version of theirs lacks the management endpoint).
//!
//! The revisions vouch for the alias (part `alias`) as they do for a permission: while the function's
//! revision follows from the one the alias was confirmed at, a look does not read it. When it does, one
//! GetFunction on the alias reads the version it invokes, under GetFunction's own quota rather than the
//! 15 requests/s that Lambda's writes share. A change made to the alias alone, by hand, moves no revision
//! of the function's: the next change of the function reads it again.
//!
//! With a canary (`--canary`, `[release] canary`), a changed function's new version is published but the
//! alias stays on its live one, and the version is recorded as `canary_version.X`: the binary gives it its
//! share once every step is done (see its `releases::canary`).
//!
//! Versions beyond the newest `[release] keep_releases` (default 10) are deleted after a publish, to stay
//! under Lambda's code storage quota (75 GB per region); the one the alias invokes is always kept.

use anyhow::{Context as _, Result};
use aws_sdk_lambda::types::FunctionConfiguration;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::cell::Cell;
use std::collections::BTreeMap;

use crate::aws::{absent_if, AwsContext};
use crate::ensure::{is_planned, Change, Recorder, Resource, PLANNED};
use crate::package::hex;
use crate::revisions::{digest, Revisions};
use crate::step::Context;

pub use crate::names::{alias_arn, LIVE_ALIAS as ALIAS};

/// The part of a function's revisions its alias is confirmed as.
const PART: &str = "alias";

/// What a version of `function` holds, as the description it is published with: a digest of the code and
/// every configuration field a version freezes. A new version is published exactly when this changes.
/// (`LastModified` would do on AWS, but moto does not move it on updates.)
pub fn version_description(function: &FunctionConfiguration) -> String {
    let sorted = |ids: &[String]| {
        let mut ids = ids.to_vec();
        ids.sort();
        ids
    };
    let environment: BTreeMap<&String, &String> =
        function.environment().and_then(|e| e.variables()).into_iter().flatten().collect();
    let vpc = function.vpc_config().map(|v| (sorted(v.subnet_ids()), sorted(v.security_group_ids())));
    let frozen = json!({
        "code": function.code_sha256(),
        "runtime": function.runtime().map(|r| r.as_str()),
        "handler": function.handler(),
        "role": function.role(),
        "memory": function.memory_size(),
        "timeout": function.timeout(),
        "architectures": function.architectures().iter().map(|a| a.as_str()).collect::<Vec<_>>(),
        "environment": environment,
        "vpc": vpc,
    });
    format!("deployer: {}", &hex(&Sha256::digest(frozen.to_string()))[..32])
}

/// The `live` alias on a version of the function as it is now.
pub struct LiveAlias<'a> {
    pub ctx: &'a Context<'a>,
    pub function_name: String,
    /// The output key its ARN is recorded under.
    pub key: String,
    /// The function as the step left it: what the version must hold.
    pub function: &'a FunctionConfiguration,
    pub revisions: &'a Revisions,
    /// Set once the alias was read (not trusted): there is something to confirm.
    pub read: Cell<bool>,
    /// Set when the version published was left for the run's canary: the alias stays where it was.
    pub canaried: Cell<bool>,
    /// The version published, if one was: older ones may be pruned.
    pub published: Cell<Option<u64>>,
    /// A plan's: the function is to change first, so a new version is to be published (the plan sees the
    /// function as it is, not as it will be).
    pub function_to_change: bool,
    /// Made if missing, its version left to the step that completes the function (04 for the functions
    /// that answer WebSocket clients).
    pub made_only: bool,
    /// The function was made by this run: it has no alias to look up (a GetAlias spared per function, at
    /// Lambda's 15 requests/s).
    pub function_made_now: bool,
}

/// What a step does of a function's alias.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AliasDuty {
    /// Keeps it on a version of the function as it is.
    Keeps,
    /// Makes it if missing; another step keeps its version.
    MakesOnly,
}

pub struct LiveVersion {
    alias_arn: String,
    description: Option<String>,
    /// The version the alias invokes, when it was read or moved (not when the revisions vouched for it).
    version: Option<String>,
    /// A version published for the run's canary, which the alias does not invoke yet.
    canary: Option<String>,
}

impl LiveVersion {
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }
}

/// The output key a function's live version is recorded under (a release names each function's).
pub fn version_key(function: &str) -> String {
    format!("live_version.{function}")
}

/// The output key of a function's version published for the run's canary (the runner takes it from
/// there, and removes it once the canary is over).
pub fn canary_key(function: &str) -> String {
    format!("{CANARY_PREFIX}{function}")
}

pub const CANARY_PREFIX: &str = "canary_version.";

/// Records the version the alias invokes, when known (a trusted alias keeps the one recorded), and the one
/// left for the canary.
pub fn record_version(recorder: &dyn Recorder, function: &str, live: &LiveVersion) -> Result<()> {
    if let Some(canary) = &live.canary {
        crate::ensure::record_if_changed(recorder, &canary_key(function), canary)?;
    }
    match live.version() {
        Some(version) => crate::ensure::record_if_changed(recorder, &version_key(function), version),
        None => Ok(()),
    }
}

impl<'a> LiveAlias<'a> {
    pub fn new(
        ctx: &'a Context<'a>,
        function_name: String,
        key: String,
        function: &'a FunctionConfiguration,
        revisions: &'a Revisions,
    ) -> Self {
        LiveAlias {
            ctx,
            function_name,
            key,
            function,
            revisions,
            read: Cell::new(false),
            canaried: Cell::new(false),
            published: Cell::new(None),
            function_to_change: false,
            made_only: false,
            function_made_now: false,
        }
    }

    /// Made if missing, never moved: another step keeps its version.
    pub fn made_only(mut self) -> Self {
        self.made_only = true;
        self
    }

    /// For a function this run's CreateFunction made.
    pub fn of_a_function_made_now(mut self, made_now: bool) -> Self {
        self.function_made_now = made_now;
        self
    }

    /// For a plan in which the function changes first.
    pub fn after_change(mut self, function_to_change: bool) -> Self {
        self.function_to_change = function_to_change;
        self
    }

    fn description(&self) -> String {
        version_description(self.function)
    }

    /// What the revisions vouch for: the version's description, or only that the alias exists.
    fn part_digest(&self) -> String {
        if self.made_only {
            digest("exists")
        } else {
            digest(&self.description())
        }
    }

    /// Once ensured: an alias read (not trusted) is confirmed at the function's revision.
    pub fn confirm(&self) {
        // An alias left on its version for the canary is not on the one its revisions would vouch for.
        if self.read.get() && !self.canaried.get() {
            self.revisions.confirmed(&self.function_name, PART, &self.part_digest(), None);
        }
    }

    async fn publish(&self) -> Result<String> {
        let lambda = self.ctx.aws.lambda();
        let published = lambda
            .publish_version()
            .function_name(&self.function_name)
            .description(self.description())
            // Lambda refuses to publish if the code changed meanwhile, rather than publish other code.
            .set_code_sha256(self.function.code_sha256().map(str::to_string))
            .send()
            .await
            .aws_context(|| format!("lambda:PublishVersion {}", self.function_name))?;
        let version = published.version().context("PublishVersion answered without a version")?;
        self.published.set(version.parse().ok());
        Ok(version.to_string())
    }

    /// After a publish: the versions beyond the newest `keep` deleted, never the one published. Versions
    /// are numbered from 1 and never reused, so up to number `keep` there is nothing to delete (a fresh
    /// deploy lists nothing). One an alias still routes to (weights while Lambda shifts provisioned
    /// instances) is refused by Lambda, and kept.
    pub async fn prune(&self, keep: usize, recorder: &dyn Recorder) -> Result<()> {
        let Some(published) = self.published.get().filter(|n| *n > keep as u64) else {
            return Ok(());
        };
        let (lambda, name) = (self.ctx.aws.lambda(), &self.function_name);
        let mut versions: Vec<u64> = Vec::new();
        let mut pages = lambda.list_versions_by_function().function_name(name).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.aws_context(|| format!("lambda:ListVersionsByFunction {name}"))?;
            versions.extend(page.versions().iter().filter_map(|v| v.version()?.parse::<u64>().ok()));
        }
        versions.sort_unstable_by(|a, b| b.cmp(a));
        for version in versions.into_iter().skip(keep).filter(|v| *v != published).map(|v| v.to_string()) {
            let deleted = lambda.delete_function().function_name(name).qualifier(&version).send().await;
            match deleted {
                Err(err) if err.as_service_error().is_some_and(|e| e.is_resource_conflict_exception()) => continue,
                deleted => absent_if(deleted, |e| e.is_resource_not_found_exception()).aws_context(|| {
                    format!("lambda:DeleteFunction {name}:{version} (a version beyond keep_releases)")
                })?,
            };
            recorder.report(&format!("version {name}:{version}"), &Change::Deleted);
        }
        Ok(())
    }
}

impl Resource for LiveAlias<'_> {
    type Live = LiveVersion;

    fn label(&self) -> String {
        format!("alias {}:{ALIAS}", self.function_name)
    }

    fn key(&self) -> Option<String> {
        Some(self.key.clone())
    }

    fn under_planned(&self) -> bool {
        self.function.function_arn().is_none_or(is_planned)
    }

    /// Its ARN follows from the function's, which a plan knows once the account is known.
    fn planned(&self) -> Option<LiveVersion> {
        let function_arn = self.function.function_arn().filter(|arn| !is_planned(arn));
        Some(LiveVersion {
            alias_arn: function_arn.map_or(PLANNED.to_string(), alias_arn),
            description: None,
            version: None,
            canary: None,
        })
    }

    async fn find(&self, _recorded: Option<&str>) -> Result<Option<LiveVersion>> {
        let description = self.description();
        if self.revisions.trusted(&self.function_name, PART, &self.part_digest()) {
            let alias_arn = alias_arn(self.function.function_arn().unwrap_or_default());
            return Ok(Some(LiveVersion { alias_arn, description: Some(description), version: None, canary: None }));
        }
        self.read.set(true);
        if self.function_made_now {
            return Ok(None);
        }
        // One GetFunction on the alias reads the version it invokes: GetFunction has a quota of its own
        // (100 requests/s), where GetAlias and GetFunctionConfiguration would take two of the 15 a second
        // the writes share. ("If you specify an alias name, the API … returns information about the
        // function version to which the alias points.")
        let got = self.ctx.aws.lambda().get_function().function_name(&self.function_name).qualifier(ALIAS).send().await;
        let got = absent_if(got, |e| e.is_resource_not_found_exception())
            .aws_context(|| format!("lambda:GetFunction {}:{ALIAS}", self.function_name))?;
        let Some(version) = got.as_ref().and_then(|g| g.configuration()) else { return Ok(None) };
        Ok(Some(LiveVersion {
            alias_arn: alias_arn(self.function.function_arn().unwrap_or_default()),
            description: version.description().map(str::to_string),
            version: version.version().map(str::to_string),
            canary: None,
        }))
    }

    async fn create(&self) -> Result<LiveVersion> {
        let version = self.publish().await?;
        let created = self
            .ctx
            .aws
            .lambda()
            .create_alias()
            .function_name(&self.function_name)
            .name(ALIAS)
            .function_version(&version)
            .description("what the APIs invoke (made by deployer)")
            .send()
            .await
            .aws_context(|| format!("lambda:CreateAlias {}:{ALIAS} → {version}", self.function_name))?;
        let alias_arn = created.alias_arn().context("CreateAlias answered without an ARN")?.to_string();
        Ok(LiveVersion { alias_arn, description: Some(self.description()), version: Some(version), canary: None })
    }

    fn id(&self, live: &LiveVersion) -> String {
        live.alias_arn.clone()
    }

    /// What the alias's version was published from (code and configuration digests).
    fn values(&self, live: &LiveVersion, _field: &str) -> Option<(String, String)> {
        let wanted =
            if self.function_to_change { "one of the function as changed".to_string() } else { self.description() };
        Some((live.description.clone().unwrap_or_else(|| "none".to_string()), wanted))
    }

    fn differences(&self, live: &LiveVersion) -> Result<Vec<&'static str>> {
        let same = live.description.as_deref() == Some(self.description().as_str());
        Ok(if self.made_only || (same && !self.function_to_change) { vec![] } else { vec!["version"] })
    }

    async fn update(&self, live: LiveVersion, _fields: &[&'static str]) -> Result<LiveVersion> {
        let version = self.publish().await?;
        // With a canary, the new version waits beside the live one: the runner gives it its share of the
        // traffic once every step is done, then moves the alias or not (see the binary's `canary`).
        if let Some(live_version) =
            live.version.clone().filter(|v| *v != version && self.ctx.settings.canary().is_some())
        {
            self.canaried.set(true);
            return Ok(LiveVersion { version: Some(live_version), canary: Some(version), ..live });
        }
        let updated = self
            .ctx
            .aws
            .lambda()
            .update_alias()
            .function_name(&self.function_name)
            .name(ALIAS)
            .function_version(&version);
        updated
            .send()
            .await
            .aws_context(|| format!("lambda:UpdateAlias {}:{ALIAS} → {version}", self.function_name))?;
        Ok(LiveVersion {
            alias_arn: live.alias_arn,
            description: Some(self.description()),
            version: Some(version),
            canary: None,
        })
    }
}

/// Whether `version` of the function still exists (a rollback's target may be gone: `keep_releases`).
pub async fn version_exists(clients: &crate::Clients, function_name: &str, version: &str) -> Result<bool> {
    let got = clients.lambda().get_function_configuration().function_name(function_name).qualifier(version).send();
    let got = absent_if(got.await, |e| e.is_resource_not_found_exception())
        .aws_context(|| format!("lambda:GetFunctionConfiguration {function_name}:{version}"))?;
    Ok(got.is_some())
}

/// The function's alias `live` on `from`, with `percent` of its traffic to `to` (a canary's stage).
pub async fn share_alias(
    clients: &crate::Clients,
    function_name: &str,
    from: &str,
    to: &str,
    percent: f64,
) -> Result<()> {
    route_alias(clients, function_name, from, Some((to, percent))).await
}

/// Moves the function's alias `live` to `version` at once (a rollback), routing all traffic there.
pub async fn move_alias(clients: &crate::Clients, function_name: &str, version: &str) -> Result<()> {
    route_alias(clients, function_name, version, None).await
}

/// The alias on `version`, with a share of the traffic to another version, or with none (an empty weights
/// map: Lambda keeps the old weights when the routing is left out).
async fn route_alias(
    clients: &crate::Clients,
    function_name: &str,
    version: &str,
    share: Option<(&str, f64)>,
) -> Result<()> {
    let weights = share.map(|(to, percent)| (to.to_string(), percent / 100.0)).into_iter().collect();
    let routing = aws_sdk_lambda::types::AliasRoutingConfiguration::builder()
        .set_additional_version_weights(Some(weights))
        .build();
    let what = share.map_or(String::new(), |(to, percent)| format!(" ({percent}% to version {to})"));
    clients
        .lambda()
        .update_alias()
        .function_name(function_name)
        .name(ALIAS)
        .function_version(version)
        .routing_config(routing)
        .send()
        .await
        .aws_context(|| format!("lambda:UpdateAlias {function_name}:{ALIAS} → {version}{what}"))?;
    Ok(())
}
