//! Functions that left deployer.toml (removed, renamed or `enabled = false`), and the roles of their own:
//! deleted once the wanted functions are in place, and listed by `plan` as to delete. Deployer knows what
//! it made by the functions it recorded (`functions`), so a function made by hand is never deleted.

use anyhow::{bail, Result};

use super::role::Role;
use super::secrets::Secret;
use crate::aws::{absent_if, AwsContext};
use crate::ensure::{remove, Recorder, Resource};
use crate::manual::FUNCTIONS;
use crate::outputs;
use crate::step::Context;
use std::collections::BTreeMap;

/// The functions deployed before this run: as recorded, or (by state files older than that record) the
/// manual's with a recorded ARN.
pub(super) fn deployed_before(recorder: &dyn Recorder) -> Vec<String> {
    match recorder.recorded(&outputs::FUNCTIONS.key) {
        Some(list) => list.lines().filter(|l| !l.is_empty()).map(String::from).collect(),
        None => FUNCTIONS
            .iter()
            .map(|f| f.suffix.to_string())
            .filter(|f| recorder.recorded(&outputs::function_arn(f).key).is_some_and(|arn| !arn.is_empty()))
            .collect(),
    }
}

/// A function no setting names any more, with its log group.
struct RetiredFunction<'a> {
    ctx: &'a Context<'a>,
    name: String,
}

impl Resource for RetiredFunction<'_> {
    type Live = ();

    fn label(&self) -> String {
        format!("function {} (no longer in deployer.toml)", self.name)
    }

    async fn find(&self, _recorded: Option<&str>) -> Result<Option<()>> {
        let got = self.ctx.aws.lambda().get_function().function_name(&self.name).send().await;
        let got = absent_if(got, |e| e.is_resource_not_found_exception())
            .aws_context(|| format!("lambda:GetFunction {}", self.name))?;
        Ok(got.map(|_| ()))
    }

    async fn create(&self) -> Result<()> {
        bail!("{} is only ever deleted", self.label())
    }

    fn id(&self, _live: &()) -> String {
        self.name.clone()
    }

    async fn delete(&self, _live: ()) -> Result<()> {
        delete_with_log_group(self.ctx, &self.name).await.map(|_| ())
    }
}

/// Deletes function `name` and its log group (Lambda makes one on first invocation, and keeps it):
/// whether each was there.
pub(super) async fn delete_with_log_group(ctx: &Context<'_>, name: &str) -> Result<(bool, bool)> {
    let deleted = ctx.aws.lambda().delete_function().function_name(name).send().await;
    let function = absent_if(deleted, |e| e.is_resource_not_found_exception())
        .aws_context(|| format!("lambda:DeleteFunction {name}"))?;
    let group = format!("/aws/lambda/{name}");
    let deleted = ctx.aws.logs().delete_log_group().log_group_name(&group).send().await;
    let group = absent_if(deleted, |e| e.is_resource_not_found_exception())
        .aws_context(|| format!("logs:DeleteLogGroup {group}"))?;
    Ok((function.is_some(), group.is_some()))
}

/// Deletes what deployer made for functions no setting names, and the own roles no function needs.
pub(super) async fn remove_retired(
    ctx: &Context<'_>,
    recorder: &dyn Recorder,
    before: &[String],
    account: (&str, &str),
) -> Result<()> {
    let wanted = ctx.settings.function_names();
    for function in before.iter().filter(|f| !wanted.contains(&f.as_str())) {
        remove(&RetiredFunction { ctx, name: ctx.name(function) }, recorder).await?;
        if !recorder.planning() {
            recorder.record(&outputs::function_arn(function).key, "")?;
        }
    }
    let no_secrets = BTreeMap::<String, Secret>::new();
    for function in before.iter().filter(|f| !ctx.settings.has_own_role(f) || !wanted.contains(&f.as_str())) {
        let key = outputs::own_role_arn(function).key.into_owned();
        if recorder.recorded(&key).is_some_and(|arn| !arn.is_empty()) {
            remove(&Role::own(ctx, function, account, &no_secrets), recorder).await?;
            if !recorder.planning() {
                recorder.record(&key, "")?;
            }
        }
    }
    Ok(())
}
