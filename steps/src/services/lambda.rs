//! Lambda helpers that more than one step uses: a function's states (`Pending` after a create,
//! `InProgress` after an update, `Failed`), waited out before a change and after it, and its environment
//! variables, of which each step owns some (`02-lambda` the tables, `04-websocket` the management
//! endpoint) and leaves the others as they are.

use anyhow::{bail, Context as _, Result};
use aws_sdk_lambda::client::Waiters;
use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_lambda::types::{Environment, FunctionConfiguration, LastUpdateStatus, State};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use crate::aws::{aws_error, AwsContext};
use crate::ensure::Resource;
use crate::retry::{retry_while, Attempt, Patience};
use crate::revisions::{Revisions, Seen};
use crate::step::Context;

/// How long a function may stay Pending or InProgress.
pub const FUNCTION_WAIT: Duration = Duration::from_secs(300);
/// An update refused with 409 (another update in progress) is tried again once the function is ready, for
/// as long as a function may stay `InProgress`.
const CONFLICTS: Patience = Patience { first: Duration::ZERO, max: Duration::ZERO, limit: FUNCTION_WAIT };

async fn configuration(ctx: &Context<'_>, name: &str) -> Result<FunctionConfiguration> {
    let got = ctx.aws.lambda().get_function().function_name(name).send().await;
    let got = got.aws_context(|| format!("lambda:GetFunction {name}"))?;
    got.configuration().cloned().with_context(|| format!("lambda:GetFunction {name} returned no configuration"))
}

/// A function that ended `Failed`, or whose last update failed, is an error in AWS's words.
pub fn check_not_failed(name: &str, config: &FunctionConfiguration) -> Result<()> {
    if config.state() == Some(&State::Failed) {
        bail!(
            "function {name} is Failed: {} ({}): fix the backend (its handler and package) and run `deployer resume`",
            config.state_reason().unwrap_or("no reason given"),
            config.state_reason_code().map(|c| c.as_str()).unwrap_or("no code")
        );
    }
    if config.last_update_status() == Some(&LastUpdateStatus::Failed) {
        bail!(
            "the last update of function {name} failed: {}: fix the cause and run `deployer resume`",
            config.last_update_status_reason().unwrap_or("no reason given")
        );
    }
    Ok(())
}

/// Waits until the function is `Active` with no update in progress, the only moment Lambda accepts a
/// change; returns its configuration then. A function that ends `Failed` is an error naming the reason.
pub async fn wait_ready(ctx: &Context<'_>, name: &str) -> Result<FunctionConfiguration> {
    let lambda = ctx.aws.lambda();
    let mut config = configuration(ctx, name).await?;
    if config.state() == Some(&State::Pending) {
        let waited = lambda.wait_until_function_active_v2().function_name(name).wait(FUNCTION_WAIT).await;
        config = configuration(ctx, name).await?;
        check_not_failed(name, &config)?;
        waited.with_context(|| format!("waiting for function {name} to become Active"))?;
    }
    check_not_failed(name, &config)?;
    if config.last_update_status() == Some(&LastUpdateStatus::InProgress) {
        let waited = lambda.wait_until_function_updated_v2().function_name(name).wait(FUNCTION_WAIT).await;
        config = configuration(ctx, name).await?;
        check_not_failed(name, &config)?;
        waited.with_context(|| format!("waiting for function {name} to finish updating"))?;
    }
    Ok(config)
}

/// Sends an update of the function, waiting out a 409 ResourceConflictException (an update already in
/// progress, ours or anyone's) and trying again; then waits for this update to finish.
pub async fn update_when_ready<T, E, Fut>(
    ctx: &Context<'_>,
    name: &str,
    operation: &str,
    send: impl Fn() -> Fut,
) -> Result<FunctionConfiguration>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
{
    let attempt = || async {
        match send().await {
            Err(err) if err.as_service_error().is_some_and(|e| e.code() == Some("ResourceConflictException")) => {
                // The wait is the pause: the next try goes once the function accepts changes.
                wait_ready(ctx, name).await.map_err(Attempt::Stop)?;
                Err(Attempt::Again(err))
            }
            Err(err) => Err(Attempt::Stop(aws_error(&err, &format!("lambda:{operation} {name}")))),
            Ok(_) => Ok(()),
        }
    };
    retry_while(CONFLICTS, attempt, Attempt::again).await.map_err(|failed| match failed {
        Attempt::Again(err) => aws_error(&err, &format!("lambda:{operation} {name}")),
        Attempt::Stop(failure) => failure,
    })?;
    wait_ready(ctx, name).await
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
    pub revisions: &'a Revisions,
    pub seen: Seen,
}

/// The part of a function's revisions its environment is confirmed as.
const ENVIRONMENT: &str = "environment";

impl FunctionEnvironment<'_> {
    /// The variables wanted, as the revisions' digest.
    fn digest(&self) -> String {
        let mut pairs: Vec<String> = self.variables.iter().map(|(k, v)| format!("{k}={v}")).collect();
        pairs.sort();
        crate::revisions::digest(&pairs.join("\n"))
    }

    /// Once ensured: variables read (not trusted) are confirmed at the revision GetFunction found.
    pub fn confirm(&self) {
        if let Some(seen) = self.seen.borrow().as_ref() {
            self.revisions.confirmed(&self.function_name, ENVIRONMENT, &self.digest(), seen.as_deref());
        }
    }
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

    /// The listing's configuration when the revisions vouch for the variables, else GetFunction's.
    async fn find(&self, _recorded: Option<&str>) -> Result<Option<FunctionConfiguration>> {
        let name = &self.function_name;
        self.revisions.configuration(self.ctx, name, ENVIRONMENT, &self.digest(), &self.seen).await
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

    fn values(&self, live: &FunctionConfiguration, _field: &str) -> Option<(String, String)> {
        let now = live.environment().and_then(|e| e.variables()).cloned().unwrap_or_default();
        let mut names: Vec<&String> =
            self.variables.iter().filter(|(k, v)| now.get(*k) != Some(*v)).map(|(k, _)| k).collect();
        names.sort();
        let shown = |values: &dyn Fn(&str) -> Option<String>| crate::ensure::variables_shown(&names, values);
        Some((shown(&|n| now.get(n).cloned()), shown(&|n| self.variables.get(n).cloned())))
    }

    async fn update(&self, _live: FunctionConfiguration, _fields: &[&'static str]) -> Result<FunctionConfiguration> {
        let name = &self.function_name;
        // Merged with what is live once the function accepts changes: another step may just have updated it.
        let live = wait_ready(self.ctx, name).await?;
        let environment = merged_environment(&live, &self.variables);
        let lambda = self.ctx.aws.lambda();
        update_when_ready(self.ctx, name, "UpdateFunctionConfiguration (environment)", || {
            lambda.update_function_configuration().function_name(name).environment(environment.clone()).send()
        })
        .await
    }
}
