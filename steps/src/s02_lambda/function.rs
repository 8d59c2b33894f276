//! The six functions: created with the bundle, configuration and code updated only where they differ.

use anyhow::Result;
use aws_sdk_lambda::error::ProvideErrorMetadata;
use aws_sdk_lambda::error::SdkError;
use aws_sdk_lambda::operation::create_function::CreateFunctionError;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Architecture, Environment, FunctionConfiguration, Runtime, VpcConfig};
use std::collections::{BTreeMap, HashMap};

use crate::aws::AwsContext;
use crate::ensure::AfterCreate;
use crate::ensure::{variables_shown, Resource};
use crate::lambda::{check_not_failed, environment_has, merged_environment, update_when_ready, wait_ready};

use crate::function_code::FunctionCode;
use crate::outputs;
use crate::retry::{retry_while, Patience};
use crate::revisions::{Revisions, Seen};
use crate::step::Context;

use super::secrets::Secret;

pub(super) struct Function<'a> {
    pub ctx: &'a Context<'a>,
    /// Its name after `SERVICE-`, e.g. `conversation-api`.
    pub key: &'a str,
    pub name: String,
    pub role_arn: &'a str,
    /// Its own package (see [`crate::function_code`]).
    pub code: &'a FunctionCode,
    /// `x86_64` or `arm64`.
    pub architecture: &'a str,
    /// Every secret of deployer.toml, by its ID there.
    pub secrets: &'a BTreeMap<String, Secret>,
    pub revisions: &'a Revisions,
    /// The revision a read found it at (`None` once trusted from the listing: nothing to confirm).
    pub seen: Seen,
    /// Set when this run's CreateFunction made it: it has no alias yet, which need not be looked up.
    pub made_now: std::cell::Cell<bool>,
}

/// The part of a function 02 confirms: its state (Active, last update Successful), which only GetFunction
/// shows; the configuration itself is compared with the listing either way.
const PART: &str = crate::revisions::FUNCTION_PART;
const NO_DIGEST: &str = "-";

/// Configuration fields the step owns, in the order they are compared.
const CONFIG_FIELDS: &[&str] = &["runtime", "handler", "role", "timeout", "memory", "environment", "vpc"];

impl Function<'_> {
    fn client(&self) -> &aws_sdk_lambda::Client {
        self.ctx.aws.lambda()
    }

    /// Once ensured: a function read (not trusted) is confirmed at the revision the read found.
    pub fn confirm(&self) {
        if let Some(seen) = self.seen.borrow().as_ref() {
            self.revisions.confirmed(&self.name, PART, NO_DIGEST, seen.as_deref());
        }
    }

    /// The variables this step owns; others (added by later steps) are left as they are. The origins are
    /// the main stage's as far as they are known before 05 (each request also carries its stage's whole
    /// list in `stageVariables.corsOrigins`); a secret is named by its ARN, never its value.
    fn owned_environment(&self) -> HashMap<String, String> {
        let s = self.ctx.settings;
        let origins = s.cors_origins(&s.stage, None);
        let secret_arn = |id: &str| self.secrets.get(id).map(|secret| secret.arn.clone());
        s.function_environment(self.key, &s.stage, &origins, secret_arn).into_iter().collect()
    }

    fn config_differences(&self, live: &FunctionConfiguration) -> Vec<&'static str> {
        let runtime = Runtime::from(self.ctx.settings.runtime.as_str());
        let env_matches =
            environment_has(live, &self.owned_environment()) && self.stale_secret_variables(live).is_empty();
        let same = [
            live.runtime() == Some(&runtime),
            live.handler() == Some(self.ctx.settings.handler(self.key)),
            live.role() == Some(self.role_arn),
            live.timeout() == Some(self.ctx.settings.timeout(self.key)),
            live.memory_size() == Some(self.ctx.settings.memory(self.key)),
            env_matches,
            self.vpc_matches(live),
        ];
        CONFIG_FIELDS.iter().zip(same).filter(|(_, same)| !same).map(|(field, _)| *field).collect()
    }

    /// `NAME_SECRET_ARN` variables of secrets no longer in deployer.toml: this step's to remove.
    fn stale_secret_variables(&self, live: &FunctionConfiguration) -> Vec<String> {
        let owned = self.owned_environment();
        let variables = live.environment().and_then(|e| e.variables());
        let live_names = variables.into_iter().flat_map(|v| v.keys());
        live_names.filter(|name| name.ends_with("_SECRET_ARN") && !owned.contains_key(*name)).cloned().collect()
    }

    /// The wanted VPC configuration; empty lists take a function out of its VPC.
    fn vpc_config(&self) -> VpcConfig {
        let vpc = self.ctx.settings.vpc.clone().unwrap_or_default();
        VpcConfig::builder()
            .set_subnet_ids(Some(vpc.subnet_ids))
            .set_security_group_ids(Some(vpc.security_group_ids))
            .build()
    }

    /// Same subnets and security groups, in any order; no VPC and an empty one are the same.
    fn vpc_matches(&self, live: &FunctionConfiguration) -> bool {
        let sorted = |ids: &[String]| {
            let mut ids = ids.to_vec();
            ids.sort();
            ids
        };
        let wanted = self.ctx.settings.vpc.clone().unwrap_or_default();
        let live = live.vpc_config();
        sorted(live.map_or(&[], |v| v.subnet_ids())) == sorted(&wanted.subnet_ids)
            && sorted(live.map_or(&[], |v| v.security_group_ids())) == sorted(&wanted.security_group_ids)
    }

    async fn create_once(&self, zip: &[u8]) -> Result<FunctionConfiguration, SdkError<CreateFunctionError>> {
        let environment = Environment::builder().set_variables(Some(self.owned_environment())).build();
        let code = aws_sdk_lambda::types::FunctionCode::builder().zip_file(Blob::new(zip)).build();
        let created = self
            .client()
            .create_function()
            .function_name(&self.name)
            .runtime(Runtime::from(self.ctx.settings.runtime.as_str()))
            .role(self.role_arn)
            .handler(self.ctx.settings.handler(self.key))
            .timeout(self.ctx.settings.timeout(self.key))
            .memory_size(self.ctx.settings.memory(self.key))
            .environment(environment)
            .code(code)
            .architectures(Architecture::from(self.architecture))
            .set_vpc_config(self.ctx.settings.vpc.is_some().then(|| self.vpc_config()))
            .description(format!("{} (managed by deployer)", self.ctx.settings.handler(self.key)))
            .send()
            .await?;
        Ok(FunctionConfiguration::builder().set_function_arn(created.function_arn().map(str::to_string)).build())
    }
}

/// IAM is eventually consistent: a new role, or its new ENI permissions (`[vpc]`), reach Lambda seconds
/// later, and CreateFunction or UpdateFunctionConfiguration says so ("cannot be assumed", "does not have
/// permissions to call CreateNetworkInterface on EC2").
fn role_not_usable_yet<E: ProvideErrorMetadata>(err: &SdkError<E>) -> bool {
    err.as_service_error().is_some_and(|e| {
        e.code() == Some("InvalidParameterValueException")
            && e.message().is_some_and(|m| m.contains("assume") || m.contains("CreateNetworkInterface"))
    })
}

impl Resource for Function<'_> {
    type Live = FunctionConfiguration;

    fn label(&self) -> String {
        format!("function {}", self.name)
    }

    fn key(&self) -> Option<String> {
        Some(outputs::function_arn(self.key).key.into_owned())
    }

    /// The listing's configuration when the revisions vouch for its state, else GetFunction's.
    async fn find(&self, _recorded: Option<&str>) -> Result<Option<FunctionConfiguration>> {
        self.revisions.configuration(self.ctx, &self.name, PART, NO_DIGEST, &self.seen).await
    }

    async fn create(&self) -> Result<FunctionConfiguration> {
        let zip = self.code.zip()?;
        let created = retry_while(Patience::IAM_PROPAGATION, || self.create_once(&zip), role_not_usable_yet)
            .await
            .aws_context(|| format!("lambda:CreateFunction {}", self.name))?;
        self.made_now.set(true);
        // The function exists from here on: a failure to become Active is its failure, not a lost answer.
        let ready = wait_ready(self.ctx, &self.name).await.map_err(AfterCreate)?;
        Ok(if ready.function_arn().is_some() { ready } else { created })
    }

    fn id(&self, live: &FunctionConfiguration) -> String {
        live.function_arn().unwrap_or_default().to_string()
    }

    /// A function's ARN follows from its name, so a plan can go on to the APIs that invoke it.
    fn planned(&self) -> Option<FunctionConfiguration> {
        let who = self.ctx.aws.known_identity()?;
        let region = &self.ctx.settings.region;
        let arn = format!("arn:{}:lambda:{region}:{}:function:{}", who.partition, who.account, self.name);
        Some(FunctionConfiguration::builder().function_name(&self.name).function_arn(arn).build())
    }

    /// A `Failed` function fails the step, naming AWS's reason, even when nothing else differs.
    fn differences(&self, live: &FunctionConfiguration) -> Result<Vec<&'static str>> {
        check_not_failed(&self.name, live)?;
        let mut fields = self.config_differences(live);
        if live.code_sha256() != Some(self.code.code_sha256.as_str()) {
            fields.push("code");
        }
        // Lambda reports `x86_64` for a function made before architectures existed.
        let live_architecture = live.architectures().first().map_or("x86_64", |a| a.as_str());
        if live_architecture != self.architecture {
            fields.push("architecture");
        }
        Ok(fields)
    }

    fn values(&self, live: &FunctionConfiguration, field: &str) -> Option<(String, String)> {
        let settings = self.ctx.settings;
        let text = |v: Option<String>| v.unwrap_or_else(|| "(none)".to_string());
        Some(match field {
            "memory" => {
                (text(live.memory_size().map(|m| format!("{m} MB"))), format!("{} MB", settings.memory(self.key)))
            }
            "timeout" => (text(live.timeout().map(|t| format!("{t} s"))), format!("{} s", settings.timeout(self.key))),
            "runtime" => (text(live.runtime().map(|r| r.as_str().to_string())), settings.runtime.clone()),
            "handler" => (text(live.handler().map(String::from)), settings.handler(self.key).to_string()),
            "role" => (text(live.role().map(String::from)), self.role_arn.to_string()),
            "architecture" => (
                live.architectures().first().map_or("x86_64", |a| a.as_str()).to_string(),
                self.architecture.to_string(),
            ),
            "code" => (text(live.code_sha256().map(String::from)), self.code.code_sha256.clone()),
            // The variables that differ, as NAME=value on each side (the others are left as they are).
            "environment" => {
                let live_variables = live.environment().and_then(|e| e.variables()).cloned().unwrap_or_default();
                let wanted = self.owned_environment();
                let stale = self.stale_secret_variables(live);
                let mut names: Vec<&String> =
                    wanted.iter().filter(|(k, v)| live_variables.get(*k) != Some(*v)).map(|(k, _)| k).collect();
                names.extend(stale.iter());
                names.sort();
                (
                    variables_shown(&names, |n| live_variables.get(n).cloned()),
                    variables_shown(&names, |n| wanted.get(n).cloned()),
                )
            }
            _ => return None,
        })
    }

    /// Waits out `Pending` or `InProgress` first (a run resumed after a kill may find the function so), then
    /// updates the configuration and the code, each waited for.
    async fn update(&self, listed: FunctionConfiguration, fields: &[&'static str]) -> Result<FunctionConfiguration> {
        let mut live = wait_ready(self.ctx, &self.name).await?;
        // Trusted from the listing: the move from there is this update's, unless it had moved already.
        let unmoved = live.revision_id().filter(|now| Some(*now) == listed.revision_id());
        self.seen.borrow_mut().get_or_insert_with(|| unmoved.map(String::from));
        let (name, settings, lambda) = (&self.name, self.ctx.settings, self.client());
        if fields.iter().any(|f| CONFIG_FIELDS.contains(f)) {
            let mut variables =
                merged_environment(&live, &self.owned_environment()).variables().cloned().unwrap_or_default();
            for stale in self.stale_secret_variables(&live) {
                variables.remove(&stale);
            }
            let environment = Environment::builder().set_variables(Some(variables)).build();
            let update = || {
                lambda
                    .update_function_configuration()
                    .function_name(name)
                    .runtime(Runtime::from(settings.runtime.as_str()))
                    .role(self.role_arn)
                    .handler(settings.handler(self.key))
                    .timeout(settings.timeout(self.key))
                    .memory_size(settings.memory(self.key))
                    .environment(environment.clone())
                    .vpc_config(self.vpc_config())
                    .send()
            };
            // A new `[vpc]` needs the role's new ENI permissions, which IAM propagates meanwhile.
            live = update_when_ready(self.ctx, name, "UpdateFunctionConfiguration", || {
                retry_while(Patience::IAM_PROPAGATION, update, role_not_usable_yet)
            })
            .await?;
        }
        // The architecture changes with the code (UpdateFunctionCode), the bundle built for it.
        if fields.contains(&"code") || fields.contains(&"architecture") {
            let zip = Blob::new(self.code.zip()?);
            let architecture = Architecture::from(self.architecture);
            live = update_when_ready(self.ctx, name, "UpdateFunctionCode", || {
                let update = lambda.update_function_code().function_name(name).zip_file(zip.clone());
                update.architectures(architecture.clone()).send()
            })
            .await?;
        }
        Ok(live)
    }
}
