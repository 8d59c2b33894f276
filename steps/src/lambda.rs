//! Lambda helpers that more than one step uses: waiting out an update in progress, and a function's
//! environment variables, of which each step owns some (`02-lambda` the tables, `04-websocket` the
//! management endpoint) and leaves the others as they are.

use anyhow::{Context as _, Result};
use aws_sdk_lambda::client::Waiters;
use aws_sdk_lambda::types::{Environment, FunctionConfiguration};
use std::collections::HashMap;
use std::time::Duration;

use crate::aws::{absent_if, AwsContext};
use crate::ensure::Resource;
use crate::step::Context;

/// How long a function may stay Pending or InProgress.
pub const FUNCTION_WAIT: Duration = Duration::from_secs(300);
/// Waits until the function accepts the next change (Lambda refuses one while an update is in progress).
pub async fn wait_updated(ctx: &Context<'_>, name: &str) -> Result<FunctionConfiguration> {
    let done = ctx
        .aws
        .lambda()
        .wait_until_function_updated_v2()
        .function_name(name)
        .wait(FUNCTION_WAIT)
        .await
        .with_context(|| format!("waiting for function {name} to finish updating"))?;
    let config = done.as_result().ok().and_then(|out| out.configuration().cloned());
    config.with_context(|| format!("lambda:GetFunction {name} returned no configuration"))
}

fn live_environment(live: &FunctionConfiguration) -> HashMap<String, String> {
    live.environment().and_then(|e| e.variables()).cloned().unwrap_or_default()
}

/// Whether every `wanted` variable has its value; variables owned by others are not compared.
pub fn environment_has(live: &FunctionConfiguration, wanted: &HashMap<String, String>) -> bool {
    let env = live_environment(live);
    wanted.iter().all(|(k, v)| env.get(k) == Some(v))
}

/// The live variables with `wanted` laid over them.
pub fn merged_environment(live: &FunctionConfiguration, wanted: &HashMap<String, String>) -> Environment {
    let mut variables = live_environment(live);
    variables.extend(wanted.clone());
    Environment::builder().set_variables(Some(variables)).build()
}

/// Variables another step sets on a function of this step (e.g. the WebSocket management endpoint).
pub struct FunctionEnvironment<'a> {
    pub ctx: &'a Context<'a>,
    pub function_name: String,
    pub variables: HashMap<String, String>,
}

impl Resource for FunctionEnvironment<'_> {
    type Live = FunctionConfiguration;

    fn planned(&self) -> Option<FunctionConfiguration> {
        Some(FunctionConfiguration::builder().function_name(&self.function_name).build())
    }

    fn label(&self) -> String {
        let mut names: Vec<&str> = self.variables.keys().map(String::as_str).collect();
        names.sort();
        format!("environment {} of {}", names.join(", "), self.function_name)
    }

    async fn find(&self, _recorded: Option<&str>) -> Result<Option<FunctionConfiguration>> {
        let got =
            absent_if(self.ctx.aws.lambda().get_function().function_name(&self.function_name).send().await, |e| {
                e.is_resource_not_found_exception()
            })
            .aws_context(|| format!("lambda:GetFunction {}", self.function_name))?;
        Ok(got.and_then(|out| out.configuration().cloned()))
    }

    async fn create(&self) -> Result<FunctionConfiguration> {
        anyhow::bail!(
            "function {} does not exist: run `deployer step {}` first",
            self.function_name,
            crate::manual::ids::LAMBDA
        )
    }

    fn id(&self, live: &FunctionConfiguration) -> String {
        live.function_arn().unwrap_or_default().to_string()
    }

    fn differences(&self, live: &FunctionConfiguration) -> Result<Vec<&'static str>> {
        Ok(if environment_has(live, &self.variables) { vec![] } else { vec!["environment"] })
    }

    async fn update(&self, live: FunctionConfiguration, _fields: &[&'static str]) -> Result<FunctionConfiguration> {
        self.ctx
            .aws
            .lambda()
            .update_function_configuration()
            .function_name(&self.function_name)
            .environment(merged_environment(&live, &self.variables))
            .send()
            .await
            .aws_context(|| format!("lambda:UpdateFunctionConfiguration {} (environment)", self.function_name))?;
        wait_updated(self.ctx, &self.function_name).await
    }
}
