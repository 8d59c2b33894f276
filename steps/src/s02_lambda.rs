//! Manual section 2.2, "Lambda functions": step `02-lambda`.
//!
//! - Execution role `SERVICE-lambda-role`, trusted by `lambda.amazonaws.com`, with one inline policy
//!   `SERVICE-lambda-access` (least privilege instead of the manual's managed policies): CloudWatch Logs
//!   on the service's own log groups `/aws/lambda/SERVICE-*`, the listed DynamoDB actions on the four
//!   tables of `01-dynamodb` (and their indexes), and `execute-api:ManageConnections` for the websocket
//!   functions to answer their clients. One role serves the six functions, as in the manual.
//! - The code bundle of `--backend` (see [`crate::package`]), built once per run.
//! - Six functions, ensured concurrently; handler = module path in the backend + `.handler`:
//!
//! | function                     | handler                              | memory  |
//! |------------------------------|--------------------------------------|---------|
//! | `SERVICE-conversation-api`   | `handlers.api.conversation.handler`  | 512 MB  |
//! | `SERVICE-prompt-crud`        | `handlers.api.prompt.handler`        | 512 MB  |
//! | `SERVICE-usage-handler`      | `handlers.api.usage.handler`         | 512 MB  |
//! | `SERVICE-websocket-connect`  | `handlers.websocket.connect.handler` | 512 MB  |
//! | `SERVICE-websocket-disconnect` | `handlers.websocket.disconnect.handler` | 512 MB |
//! | `SERVICE-websocket-message`  | `handlers.websocket.message.handler` | 1024 MB |
//!
//!   Timeout 29 s (API Gateway's integration limit). Environment: `SERVICE_NAME`, `STAGE` and the table
//!   names (`CONVERSATIONS_TABLE`, `PROMPTS_TABLE`, `USAGE_TABLE`, `CONNECTIONS_TABLE`), and `CORS_ORIGIN`
//!   (the site's origin, see `03-api-gateway`, for the CORS header of the API's answers); variables that other
//!   steps add are kept. Code is uploaded only when the bundle's SHA-256 differs from `CodeSha256`,
//!   configuration only when a field differs, each followed by the `function_updated_v2` waiter.
//!
//! AWS calls: `iam:GetRole`, `CreateRole`, `UpdateAssumeRolePolicy`, `GetRolePolicy`, `PutRolePolicy`,
//! `lambda:GetFunction`, `CreateFunction`, `UpdateFunctionConfiguration`, `UpdateFunctionCode`, the
//! `function_active_v2` and `function_updated_v2` waiters, `sts:GetCallerIdentity` (once per run).
//!
//! Outputs: `role_arn`, `function_arn.<suffix>` for each function, `code_sha256`.

use anyhow::{Context as _, Result};
use async_trait::async_trait;
use aws_sdk_lambda::client::Waiters;
use aws_sdk_lambda::error::SdkError;
use aws_sdk_lambda::operation::create_function::CreateFunctionError;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Environment, FunctionCode, FunctionConfiguration, Runtime};
use serde_json::{json, Value};
use std::cell::OnceCell;
use std::collections::HashMap;
use std::time::Duration;

use crate::aws::{absent_if, AwsContext};
use crate::ensure::{all, ensure, remove, Change, Recorder, Resource};
use crate::package::{self, Package};
use crate::s01_dynamodb::{self, table_arn_key, TABLES};
use crate::s03_api_gateway::cors_origin;
use crate::settings::{InputError, Settings};
use crate::step::{Context, Step, Teardown};

pub const ID: &str = "02-lambda";

pub struct FunctionSpec {
    pub suffix: &'static str,
    pub handler: &'static str,
    pub memory_mb: i32,
}

pub const FUNCTIONS: &[FunctionSpec] = &[
    FunctionSpec { suffix: "conversation-api", handler: "handlers.api.conversation.handler", memory_mb: 512 },
    FunctionSpec { suffix: "prompt-crud", handler: "handlers.api.prompt.handler", memory_mb: 512 },
    FunctionSpec { suffix: "usage-handler", handler: "handlers.api.usage.handler", memory_mb: 512 },
    FunctionSpec { suffix: "websocket-connect", handler: "handlers.websocket.connect.handler", memory_mb: 512 },
    FunctionSpec { suffix: "websocket-disconnect", handler: "handlers.websocket.disconnect.handler", memory_mb: 512 },
    FunctionSpec { suffix: "websocket-message", handler: "handlers.websocket.message.handler", memory_mb: 1024 },
];

/// API Gateway gives up on an integration after 29 s, so a longer Lambda timeout only hides errors.
pub const TIMEOUT_SECONDS: i32 = 29;

impl FunctionSpec {
    fn custom<'s>(&self, settings: &'s Settings) -> Option<&'s crate::settings::FunctionSettings> {
        settings.functions.get(self.suffix)
    }
    /// The handler: deployer.toml's, else the manual's.
    pub fn handler<'s>(&'s self, settings: &'s Settings) -> &'s str {
        self.custom(settings).and_then(|f| f.handler.as_deref()).unwrap_or(self.handler)
    }
    pub fn memory(&self, settings: &Settings) -> i32 {
        self.custom(settings).and_then(|f| f.memory).unwrap_or(self.memory_mb)
    }
    pub fn timeout(&self, settings: &Settings) -> i32 {
        self.custom(settings).and_then(|f| f.timeout).unwrap_or(TIMEOUT_SECONDS)
    }
}
const FUNCTION_WAIT: Duration = Duration::from_secs(300);
/// A new role takes a few seconds before Lambda may assume it; CreateFunction says so and is retried.
const ROLE_PROPAGATION_ATTEMPTS: u32 = 8;

const DYNAMODB_ACTIONS: &[&str] = &[
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
];

pub fn function_arn_key(suffix: &str) -> String {
    format!("function_arn.{suffix}")
}

/// The backend file a handler string points at: `handlers.api.conversation.handler` →
/// `handlers/api/conversation.py`.
pub fn handler_file(handler: &str) -> String {
    let module = handler.rsplit_once('.').map_or(handler, |(module, _)| module);
    format!("{}.py", module.replace('.', "/"))
}

#[derive(Default)]
pub struct Lambda {
    /// Built once per run: the fingerprint and the upload use the same bytes.
    package: OnceCell<Package>,
}

impl Lambda {
    fn package(&self, ctx: &Context<'_>) -> Result<&Package> {
        if let Some(package) = self.package.get() {
            return Ok(package);
        }
        let built = package::build(&ctx.settings.backend, &ctx.work_dir.join("cache"), &ctx.settings.runtime)?;
        Ok(self.package.get_or_init(|| built))
    }
}

#[async_trait(?Send)]
impl Step for Lambda {
    fn id(&self) -> &'static str {
        ID
    }
    fn title(&self) -> &'static str {
        "2.2 Lambda functions"
    }
    fn settings_used(&self) -> Option<&'static [&'static str]> {
        Some(&["stage", "domain", "cors_origin", "runtime", "backend", "functions"])
    }
    fn requires(&self) -> &'static [&'static str] {
        &[s01_dynamodb::ID]
    }

    fn validate(&self, settings: &Settings) -> Result<(), InputError> {
        let backend = &settings.backend;
        if !backend.is_dir() {
            return Err(InputError(format!(
                "backend folder '{}' does not exist: pass --backend DIR, the Python backend with handlers/ src/ lib/ utils/",
                backend.display()
            )));
        }
        let missing: Vec<String> = FUNCTIONS
            .iter()
            .map(|f| handler_file(f.handler(settings)))
            .filter(|file| !backend.join(file).is_file())
            .collect();
        if !missing.is_empty() {
            return Err(InputError(format!(
                "backend folder '{}' lacks the handler files {}: each function's handler must exist there \
                 (is --backend pointing at the right folder?)",
                backend.display(),
                missing.join(", ")
            )));
        }
        Ok(())
    }

    async fn input_digest(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(self.package(ctx)?.code_sha256.clone())
    }

    async fn run(&self, ctx: &Context<'_>, recorder: &dyn Recorder) -> Result<()> {
        let package = self.package(ctx)?;
        let identity = ctx.aws.identity().await?;
        let role =
            Role { ctx, name: ctx.name("lambda-role"), partition: &identity.partition, account: &identity.account };
        let role_arn = ensure(&role, recorder).await?.arn;
        let functions = FUNCTIONS.iter().map(|spec| Function {
            ctx,
            spec,
            name: ctx.name(spec.suffix),
            role_arn: &role_arn,
            package,
        });
        all(functions.map(|f| async move { ensure(&f, recorder).await })).await?;
        if recorder.recorded("code_sha256").as_deref() != Some(package.code_sha256.as_str()) {
            recorder.record("code_sha256", &package.code_sha256)?;
        }
        Ok(())
    }

    /// The functions with their log groups (Lambda makes those on first invocation), then the role.
    async fn destroy(&self, ctx: &Context<'_>, _teardown: &Teardown, recorder: &dyn Recorder) -> Result<()> {
        all(FUNCTIONS.iter().map(|spec| delete_function(ctx, ctx.name(spec.suffix), recorder))).await?;
        let identity = ctx.aws.identity().await?;
        let role =
            Role { ctx, name: ctx.name("lambda-role"), partition: &identity.partition, account: &identity.account };
        remove(&role, recorder).await
    }
}

async fn delete_function(ctx: &Context<'_>, name: String, recorder: &dyn Recorder) -> Result<()> {
    let deleted = absent_if(ctx.aws.lambda().delete_function().function_name(&name).send().await, |e| {
        e.is_resource_not_found_exception()
    })
    .aws_context(|| format!("lambda:DeleteFunction {name}"))?;
    if deleted.is_some() {
        recorder.report(&format!("function {name}"), &Change::Deleted);
    }
    let group = format!("/aws/lambda/{name}");
    let deleted = absent_if(ctx.aws.logs().delete_log_group().log_group_name(&group).send().await, |e| {
        e.is_resource_not_found_exception()
    })
    .aws_context(|| format!("logs:DeleteLogGroup {group}"))?;
    if deleted.is_some() {
        recorder.report(&format!("log group {group}"), &Change::Deleted);
    }
    Ok(())
}

struct Role<'a> {
    ctx: &'a Context<'a>,
    name: String,
    partition: &'a str,
    account: &'a str,
}

struct LiveRole {
    arn: String,
    trust_policy: Value,
    access_policy: Option<Value>,
}

impl Role<'_> {
    fn policy_name(&self) -> String {
        self.ctx.name("lambda-access")
    }

    fn trust_policy() -> Value {
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole"
            }]
        })
    }

    fn access_policy(&self) -> Result<Value> {
        let (partition, account, region) = (self.partition, self.account, &self.ctx.settings.region);
        let service = &self.ctx.settings.service;
        let mut tables = Vec::new();
        for table in TABLES {
            let arn = self.ctx.output(s01_dynamodb::ID, &table_arn_key(table.suffix))?;
            tables.push(json!(arn));
            tables.push(json!(format!("{arn}/index/*")));
        }
        let log_groups = format!("arn:{partition}:logs:{region}:{account}:log-group:/aws/lambda/{service}-*");
        Ok(json!({
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "OwnLogGroups",
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": [log_groups.clone(), format!("{log_groups}:*")]
                },
                {"Sid": "ServiceTables", "Effect": "Allow", "Action": DYNAMODB_ACTIONS, "Resource": tables},
                {
                    "Sid": "AnswerWebSocketClients",
                    "Effect": "Allow",
                    "Action": "execute-api:ManageConnections",
                    "Resource": format!("arn:{partition}:execute-api:{region}:{account}:*/*/POST/@connections/*")
                }
            ]
        }))
    }
}

/// IAM returns policy documents URL-encoded.
fn decode_policy(document: &str) -> Result<Value> {
    let decoded = percent_encoding::percent_decode_str(document).decode_utf8_lossy();
    serde_json::from_str(&decoded).context("IAM returned a policy document that is not JSON")
}

impl Resource for Role<'_> {
    type Live = LiveRole;

    fn label(&self) -> String {
        format!("role {}", self.name)
    }

    fn key(&self) -> Option<String> {
        Some("role_arn".into())
    }

    /// A role's ARN follows from its name, so a plan can go on to the functions that assume it.
    fn planned(&self) -> Option<LiveRole> {
        let arn = format!("arn:{}:iam::{}:role/{}", self.partition, self.account, self.name);
        Some(LiveRole { arn, trust_policy: Value::Null, access_policy: None })
    }

    async fn find(&self, _recorded: Option<&str>) -> Result<Option<LiveRole>> {
        let iam = self.ctx.aws.iam();
        let got = absent_if(iam.get_role().role_name(&self.name).send().await, |e| e.is_no_such_entity_exception())
            .aws_context(|| format!("iam:GetRole {}", self.name))?;
        let Some(role) = got.and_then(|out| out.role().cloned()) else {
            return Ok(None);
        };
        let policy = iam.get_role_policy().role_name(&self.name).policy_name(self.policy_name()).send().await;
        let policy = absent_if(policy, |e| e.is_no_such_entity_exception())
            .aws_context(|| format!("iam:GetRolePolicy {} {}", self.name, self.policy_name()))?;
        Ok(Some(LiveRole {
            arn: role.arn().to_string(),
            trust_policy: decode_policy(role.assume_role_policy_document().unwrap_or("{}"))?,
            access_policy: policy.map(|p| decode_policy(p.policy_document())).transpose()?,
        }))
    }

    async fn create(&self) -> Result<LiveRole> {
        let created = self
            .ctx
            .aws
            .iam()
            .create_role()
            .role_name(&self.name)
            .assume_role_policy_document(Self::trust_policy().to_string())
            .description(format!("Lambda execution role of {} (managed by deployer)", self.ctx.settings.service))
            .send()
            .await
            .aws_context(|| format!("iam:CreateRole {}", self.name))?;
        let arn = created.role().map(|r| r.arn().to_string()).unwrap_or_default();
        Ok(LiveRole { arn, trust_policy: Self::trust_policy(), access_policy: None })
    }

    fn id(&self, live: &LiveRole) -> String {
        live.arn.clone()
    }

    /// A role can only go once its inline policies are deleted and its managed ones detached.
    async fn delete(&self, _live: LiveRole) -> Result<()> {
        let iam = self.ctx.aws.iam();
        let name = &self.name;
        let inline = iam.list_role_policies().role_name(name).send().await;
        for policy in inline.aws_context(|| format!("iam:ListRolePolicies {name}"))?.policy_names() {
            let deleted = iam.delete_role_policy().role_name(name).policy_name(policy).send().await;
            deleted.aws_context(|| format!("iam:DeleteRolePolicy {name} {policy}"))?;
        }
        let attached = iam.list_attached_role_policies().role_name(name).send().await;
        for policy in attached.aws_context(|| format!("iam:ListAttachedRolePolicies {name}"))?.attached_policies() {
            let arn = policy.policy_arn().unwrap_or_default();
            let detached = iam.detach_role_policy().role_name(name).policy_arn(arn).send().await;
            detached.aws_context(|| format!("iam:DetachRolePolicy {name} {arn}"))?;
        }
        iam.delete_role().role_name(name).send().await.aws_context(|| format!("iam:DeleteRole {name}"))?;
        Ok(())
    }

    fn differences(&self, live: &LiveRole) -> Result<Vec<&'static str>> {
        let mut fields = Vec::new();
        if live.trust_policy != Self::trust_policy() {
            fields.push("trust_policy");
        }
        if live.access_policy.as_ref() != Some(&self.access_policy()?) {
            fields.push("access_policy");
        }
        Ok(fields)
    }

    async fn update(&self, mut live: LiveRole, fields: &[&'static str]) -> Result<LiveRole> {
        let iam = self.ctx.aws.iam();
        if fields.contains(&"trust_policy") {
            iam.update_assume_role_policy()
                .role_name(&self.name)
                .policy_document(Self::trust_policy().to_string())
                .send()
                .await
                .aws_context(|| format!("iam:UpdateAssumeRolePolicy {}", self.name))?;
            live.trust_policy = Self::trust_policy();
        }
        if fields.contains(&"access_policy") {
            let policy = self.access_policy()?;
            iam.put_role_policy()
                .role_name(&self.name)
                .policy_name(self.policy_name())
                .policy_document(policy.to_string())
                .send()
                .await
                .aws_context(|| format!("iam:PutRolePolicy {} {}", self.name, self.policy_name()))?;
            live.access_policy = Some(policy);
        }
        Ok(live)
    }
}

struct Function<'a> {
    ctx: &'a Context<'a>,
    spec: &'static FunctionSpec,
    name: String,
    role_arn: &'a str,
    package: &'a Package,
}

/// Configuration fields the step owns, in the order they are compared.
const CONFIG_FIELDS: &[&str] = &["runtime", "handler", "role", "timeout", "memory", "environment"];

impl Function<'_> {
    fn client(&self) -> &aws_sdk_lambda::Client {
        self.ctx.aws.lambda()
    }

    /// The variables this step owns; others (added by later steps) are left as they are.
    fn owned_environment(&self) -> HashMap<String, String> {
        let s = self.ctx.settings;
        let table = |suffix: &str| self.ctx.name(suffix);
        HashMap::from([
            ("SERVICE_NAME".to_string(), s.service.clone()),
            ("STAGE".to_string(), s.stage.clone()),
            ("CONVERSATIONS_TABLE".to_string(), table("conversations")),
            ("PROMPTS_TABLE".to_string(), table("prompts")),
            ("USAGE_TABLE".to_string(), table("usage")),
            ("CONNECTIONS_TABLE".to_string(), table("websocket-connections")),
            ("CORS_ORIGIN".to_string(), cors_origin(s)),
        ])
    }

    fn config_differences(&self, live: &FunctionConfiguration) -> Vec<&'static str> {
        let runtime = Runtime::from(self.ctx.settings.runtime.as_str());
        let env_matches = environment_has(live, &self.owned_environment());
        let same = [
            live.runtime() == Some(&runtime),
            live.handler() == Some(self.spec.handler(self.ctx.settings)),
            live.role() == Some(self.role_arn),
            live.timeout() == Some(self.spec.timeout(self.ctx.settings)),
            live.memory_size() == Some(self.spec.memory(self.ctx.settings)),
            env_matches,
        ];
        CONFIG_FIELDS.iter().zip(same).filter(|(_, same)| !same).map(|(field, _)| *field).collect()
    }

    async fn create_once(&self) -> Result<FunctionConfiguration, SdkError<CreateFunctionError>> {
        let environment = Environment::builder().set_variables(Some(self.owned_environment())).build();
        let code = FunctionCode::builder().zip_file(Blob::new(self.package.zip.clone())).build();
        let created = self
            .client()
            .create_function()
            .function_name(&self.name)
            .runtime(Runtime::from(self.ctx.settings.runtime.as_str()))
            .role(self.role_arn)
            .handler(self.spec.handler(self.ctx.settings))
            .timeout(self.spec.timeout(self.ctx.settings))
            .memory_size(self.spec.memory(self.ctx.settings))
            .environment(environment)
            .code(code)
            .description(format!("{} (managed by deployer)", self.spec.handler(self.ctx.settings)))
            .send()
            .await?;
        Ok(FunctionConfiguration::builder().set_function_arn(created.function_arn().map(str::to_string)).build())
    }
}

/// Waits until the function accepts the next change (Lambda refuses one while an update is in progress).
async fn wait_updated(ctx: &Context<'_>, name: &str) -> Result<FunctionConfiguration> {
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
fn environment_has(live: &FunctionConfiguration, wanted: &HashMap<String, String>) -> bool {
    let env = live_environment(live);
    wanted.iter().all(|(k, v)| env.get(k) == Some(v))
}

/// The live variables with `wanted` laid over them.
fn merged_environment(live: &FunctionConfiguration, wanted: &HashMap<String, String>) -> Environment {
    let mut variables = live_environment(live);
    variables.extend(wanted.clone());
    Environment::builder().set_variables(Some(variables)).build()
}

fn role_not_assumable_yet(err: &SdkError<CreateFunctionError>) -> bool {
    err.as_service_error().is_some_and(|e| {
        e.is_invalid_parameter_value_exception() && e.meta().message().is_some_and(|m| m.contains("assume"))
    })
}

impl Resource for Function<'_> {
    type Live = FunctionConfiguration;

    fn label(&self) -> String {
        format!("function {}", self.name)
    }

    fn key(&self) -> Option<String> {
        Some(function_arn_key(self.spec.suffix))
    }

    async fn find(&self, _recorded: Option<&str>) -> Result<Option<FunctionConfiguration>> {
        let got = absent_if(self.client().get_function().function_name(&self.name).send().await, |e| {
            e.is_resource_not_found_exception()
        })
        .aws_context(|| format!("lambda:GetFunction {}", self.name))?;
        Ok(got.and_then(|out| out.configuration().cloned()))
    }

    async fn create(&self) -> Result<FunctionConfiguration> {
        let mut delay = Duration::from_secs(1);
        let mut attempt = 1;
        let created = loop {
            match self.create_once().await {
                Err(err) if attempt < ROLE_PROPAGATION_ATTEMPTS && role_not_assumable_yet(&err) => {
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(8));
                    attempt += 1;
                }
                other => break other.aws_context(|| format!("lambda:CreateFunction {}", self.name))?,
            }
        };
        let done = self
            .client()
            .wait_until_function_active_v2()
            .function_name(&self.name)
            .wait(FUNCTION_WAIT)
            .await
            .with_context(|| format!("waiting for function {} to become Active", self.name))?;
        let config = done.as_result().ok().and_then(|out| out.configuration().cloned());
        Ok(config.unwrap_or(created))
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

    fn differences(&self, live: &FunctionConfiguration) -> Result<Vec<&'static str>> {
        let mut fields = self.config_differences(live);
        if live.code_sha256() != Some(self.package.code_sha256.as_str()) {
            fields.push("code");
        }
        Ok(fields)
    }

    async fn update(&self, mut live: FunctionConfiguration, fields: &[&'static str]) -> Result<FunctionConfiguration> {
        if fields.iter().any(|f| CONFIG_FIELDS.contains(f)) {
            self.client()
                .update_function_configuration()
                .function_name(&self.name)
                .runtime(Runtime::from(self.ctx.settings.runtime.as_str()))
                .role(self.role_arn)
                .handler(self.spec.handler(self.ctx.settings))
                .timeout(self.spec.timeout(self.ctx.settings))
                .memory_size(self.spec.memory(self.ctx.settings))
                .environment(merged_environment(&live, &self.owned_environment()))
                .send()
                .await
                .aws_context(|| format!("lambda:UpdateFunctionConfiguration {}", self.name))?;
            live = wait_updated(self.ctx, &self.name).await?;
        }
        if fields.contains(&"code") {
            self.client()
                .update_function_code()
                .function_name(&self.name)
                .zip_file(Blob::new(self.package.zip.clone()))
                .send()
                .await
                .aws_context(|| format!("lambda:UpdateFunctionCode {}", self.name))?;
            live = wait_updated(self.ctx, &self.name).await?;
        }
        Ok(live)
    }
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
        anyhow::bail!("function {} does not exist: run `deployer step {ID}` first", self.function_name)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handler_strings_map_to_backend_files() {
        assert_eq!(handler_file("handlers.api.conversation.handler"), "handlers/api/conversation.py");
        assert_eq!(handler_file("handlers.websocket.message.handler"), "handlers/websocket/message.py");
    }

    #[test]
    fn policy_documents_are_decoded_from_iam_url_encoding() {
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%7D";
        assert_eq!(decode_policy(encoded).unwrap(), json!({"Version": "2012-10-17"}));
        assert_eq!(decode_policy("{\"a\": 1}").unwrap(), json!({"a": 1}));
    }
}
