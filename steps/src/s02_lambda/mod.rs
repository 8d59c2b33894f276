//! Manual section 2.2, "Lambda functions": step `02-lambda`.
//!
//! - Execution role `SERVICE-lambda-role`, trusted by `lambda.amazonaws.com`, with one inline policy
//!   `SERVICE-lambda-access` (least privilege instead of the manual's managed policies): CloudWatch Logs
//!   on the service's own log groups `/aws/lambda/SERVICE-*`, the listed DynamoDB actions on every table of
//!   `01-dynamodb` (and their indexes), and `execute-api:ManageConnections` for the websocket
//!   functions to answer their clients. The tables are named by their ARNs, which follow from their
//!   names, so 02 needs nothing of 01 and runs beside it. One role serves the functions, as in the manual; a function that
//!   lists its `tables` in deployer.toml gets a role of its own, `SERVICE-FUNCTION`, naming only those
//!   tables and its own secrets.
//! - The code bundle of `--backend` (see [`crate::package`]), built once per run, and cut into each
//!   function's own package: the bundle without the other functions' handler modules that no file imports
//!   (see [`crate::function_code`]), so that a handler edited uploads one function's code.
//! - The functions of the settings ([`crate::settings::Settings::function_names`]: the manual's six below,
//!   and deployer.toml's own), ensured concurrently; handler = module path in the backend + `.handler`:
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
//!   Timeout 29 s (API Gateway's integration limit). Environment: `SERVICE_NAME`, `STAGE` and the names of
//!   the tables it may reach (`CONVERSATIONS_TABLE`, `PROMPTS_TABLE`, `USAGE_TABLE`, `CONNECTIONS_TABLE`,
//!   and `NAME_TABLE` for deployer.toml's own), `CORS_ORIGINS`
//!   (the allowed origins known before `05-frontend`, comma-separated; every request carries its stage's
//!   whole list as `stageVariables.corsOrigins`, see `07-stages`) and `CORS_ORIGIN` (the first, or `*`,
//!   for backends that answer one); variables that other steps add are kept. Code is uploaded only when the function's package's SHA-256 differs from `CodeSha256`,
//!   configuration only when a field differs, each followed by the `function_updated_v2` waiter.
//! - Before anything is written (`Step::prepare`), the bundle is built: each handler's module must define
//!   its function, and each `requirements.txt` requirement must have installed something to import.
//! - The functions' log groups `/aws/lambda/NAME`, made ahead of Lambda with `log_retention_days` (30).
//! - `[functions.X] reserved_concurrency`: set, and removed when the setting goes (recorded as managed).
//! - `[vpc] subnet_ids, security_group_ids`: every function's VPC configuration, with the ENI actions in
//!   the role's policy (those of AWSLambdaVPCAccessExecutionRole); removing `[vpc]` takes them out.
//! - Every function's alias `live` ([`crate::live_alias`]), which the APIs invoke, on a version published
//!   only when the code or configuration changed; versions beyond `[release] keep_releases` (10) deleted.
//!   The functions that answer WebSocket clients get theirs from `04-websocket`, once their environment
//!   holds the management endpoint (unless a REST route or provisioned instances need it first).
//! - `[functions.X] provisioned_concurrency`: the instances on the alias; removed when the setting goes.
//! - `[functions.X.secrets] NAME = "secret"`: the secret's ARN (DescribeSecret, no value) as
//!   `NAME_SECRET_ARN`, and `secretsmanager:GetSecretValue` on exactly those ARNs in the role's policy.
//!
//! AWS calls: `iam:GetRole`, `CreateRole`, `UpdateAssumeRolePolicy`, `GetRolePolicy`, `PutRolePolicy`,
//! `iam:DeleteRole` (a role no function needs), `lambda:ListFunctions` (the functions' configurations, 50 a
//! call), `GetFunction` (only for a function whose revision moved in a way no step recorded: the only read
//! that shows a `Failed` state, see [`crate::revisions`]), `CreateFunction`, `DeleteFunction`, `UpdateFunctionConfiguration`, `UpdateFunctionCode`,
//! `GetFunctionConcurrency`, `PutFunctionConcurrency`, `DeleteFunctionConcurrency`, `PublishVersion`,
//! `GetFunction` on the alias (the version it invokes), `CreateAlias`, `UpdateAlias`,
//! `ListVersionsByFunction` and `DeleteFunction` of a version (after a publish),
//! `Get/Put/DeleteProvisionedConcurrencyConfig`, the
//! `function_active_v2` and `function_updated_v2` waiters, `sts:GetCallerIdentity` (once per run);
//! `logs:DescribeLogGroups`, `CreateLogGroup`, `PutRetentionPolicy`; `secretsmanager:DescribeSecret` (only
//! for secrets deployer.toml names) and `kms:DescribeKey` (only for a secret with a key of its own). A
//! reservation that rises is set before the provisioned instances, one that falls after them; the
//! instances wait (`GetAlias`) until the alias routes to one version.
//!
//! - Functions deployer made (recorded as `functions`) that the settings no longer have are deleted with
//!   their log groups, after the wanted ones are in place (`retired.rs`), and so are the roles of their own.
//!
//! Files: `role.rs` the roles and their policy, `function.rs` the functions, `concurrency.rs` their
//! reservations, `secrets.rs` the secrets they read; the function environment that `04-websocket` extends
//! lives in [`crate::lambda`].
//!
//! Outputs: `role_arn`, `role_arn.<name>` for a function with a role of its own, `function_arn.<name>` for
//! each function, `functions` (their names), `code_sha256` (the whole bundle's), `function_revisions` (the revisions each
//! function was confirmed healthy at),
//! `reserved_concurrency.<suffix>` and `provisioned_concurrency.<suffix>` where deployer manages one,
//! `invoke_arn.<suffix>` (the `live` alias the APIs invoke), `live_version.<suffix>` (the version it invokes),
//! `canary_version.<suffix>` (a changed function's new version, when the run has a canary).

mod concurrency;
mod function;
mod provisioned;
mod retired;
mod role;
mod secrets;

use anyhow::{Context as _, Result};
use async_trait::async_trait;
use std::cell::OnceCell;
use std::collections::BTreeMap;

use crate::ensure::{all, ensure, record_if_changed, remove, Change, Prefetched, Recorder, Resource as _};
use crate::error::InputError;
use crate::function_code::{self, FunctionCode};
use crate::live_alias::{record_version, AliasDuty, LiveAlias};
use crate::log_groups::LogGroups;
use crate::manual::{handler_file, ids};
use crate::outputs;
use crate::package::{self, Package};
use crate::revisions::Revisions;
use crate::settings::Settings;
use crate::step::{Context, Step, Teardown};
use concurrency::ReservedConcurrency;
use function::Function;
use provisioned::ProvisionedConcurrency;
use role::Role;

pub const ID: &str = ids::LAMBDA;

/// The function's reservation to ensure: when the setting is given, or was (to remove it).
fn reserved_concurrency<'a>(
    ctx: &'a Context<'a>,
    recorder: &dyn Recorder,
    function: &str,
) -> Option<ReservedConcurrency<'a>> {
    let key = format!("reserved_concurrency.{function}");
    let wanted = ctx.settings.reserved_concurrency(function);
    let managed = recorder.recorded(&key).is_some_and(|marker| !marker.is_empty());
    (wanted.is_some() || managed).then(|| ReservedConcurrency {
        ctx,
        function_name: ctx.name(function),
        key,
        wanted,
        seen: Prefetched::none(),
    })
}

/// A setting gone and what it made removed: the marker is emptied, so that later runs look no more.
fn forget_once_removed(recorder: &dyn Recorder, key: &str, wanted: Option<i32>) -> Result<()> {
    match wanted {
        None => recorder.record(key, ""),
        Some(_) => Ok(()),
    }
}

/// A function's reservation and provisioned instances. Provisioned instances may not exceed the
/// reservation, so a reservation that rises is set before them and one that falls after them.
async fn concurrency(ctx: &Context<'_>, recorder: &dyn Recorder, function: &str) -> Result<()> {
    let reservation = reserved_concurrency(ctx, recorder, function);
    let rises = match &reservation {
        Some(r) if ctx.settings.provisioned_concurrency(function).is_some() => r.rises().await?,
        _ => false,
    };
    let (before, after) = if rises { (reservation, None) } else { (None, reservation) };
    if let Some(reservation) = &before {
        reserve(reservation, recorder).await?;
    }
    provisioned_concurrency(ctx, recorder, function).await?;
    if let Some(reservation) = &after {
        reserve(reservation, recorder).await?;
    }
    Ok(())
}

async fn reserve(reservation: &ReservedConcurrency<'_>, recorder: &dyn Recorder) -> Result<()> {
    ensure(reservation, recorder).await?;
    forget_once_removed(recorder, &reservation.key, reservation.wanted)
}

/// `provisioned_concurrency`: the instances on the function's `live` alias; without the setting (but with it
/// once), the instances go. Nothing at all for a function that never had it.
async fn provisioned_concurrency(ctx: &Context<'_>, recorder: &dyn Recorder, function: &str) -> Result<()> {
    let key = format!("provisioned_concurrency.{function}");
    let wanted = ctx.settings.provisioned_concurrency(function);
    if wanted.is_none() && recorder.recorded(&key).is_none_or(|marker| marker.is_empty()) {
        return Ok(());
    }
    let function_name = ctx.name(function);
    ensure(&ProvisionedConcurrency { ctx, function_name, key: key.clone(), wanted }, recorder).await?;
    forget_once_removed(recorder, &key, wanted)
}

/// What 02 does of a function's alias. A function that answers WebSocket clients gets the management
/// endpoint from 04, which keeps its alias on a version that holds it; 02 only makes the alias when
/// something needs it before 04 (a REST route, or provisioned instances), and leaves its version to 04.
fn alias_duty(settings: &Settings, function: &str) -> Option<AliasDuty> {
    let needed_before_04 = settings.routes().iter().any(|route| route.function == function)
        || settings.provisioned_concurrency(function).is_some();
    match settings.websocket_answerers().contains(&function) {
        false => Some(AliasDuty::Keeps),
        true if needed_before_04 => Some(AliasDuty::MakesOnly),
        true => None,
    }
}

/// Each function's `live` alias on a version of it as it now is, and the versions beyond
/// `keep_releases` deleted.
async fn live_aliases(
    ctx: &Context<'_>,
    recorder: &dyn Recorder,
    revisions: &Revisions,
    functions: &[Function<'_>],
    live: &[aws_sdk_lambda::types::FunctionConfiguration],
) -> Result<()> {
    let mut aliases: Vec<(&str, LiveAlias)> = Vec::new();
    for (function, live) in functions.iter().zip(live) {
        let Some(duty) = alias_duty(ctx.settings, function.key) else { continue };
        let key = outputs::invoke_arn(function.key).key.into_owned();
        // A plan sees the function as it is: one to change gets a new version too.
        let to_change = recorder.planning() && !function.differences(live)?.is_empty();
        let alias = LiveAlias::new(ctx, function.name.clone(), key, live, revisions)
            .after_change(to_change)
            .of_a_function_made_now(function.made_now.get());
        aliases.push((function.key, if duty == AliasDuty::MakesOnly { alias.made_only() } else { alias }));
    }
    let keep = ctx.settings.keep_releases();
    all(aliases.iter().map(|(function, alias)| async move {
        let live = ensure(alias, recorder).await?;
        alias.confirm();
        record_version(recorder, function, &live)?;
        alias.prune(keep, recorder).await
    }))
    .await?;
    Ok(())
}

/// The function a handler names: `handlers.api.prompt.handler` → `handler`.
fn handler_function(handler: &str) -> &str {
    handler.rsplit_once('.').map_or(handler, |(_, function)| function)
}

/// Whether the handler's module defines its function at the top level (a text check: no Python here).
fn defines_handler(backend: &std::path::Path, handler: &str) -> bool {
    let source = std::fs::read_to_string(backend.join(handler_file(handler))).unwrap_or_default();
    let function = handler_function(handler);
    source.lines().any(|line| {
        let line = line.strip_prefix("async ").unwrap_or(line);
        line.strip_prefix("def ")
            .and_then(|rest| rest.strip_prefix(function))
            .is_some_and(|rest| rest.trim_start().starts_with('('))
            || line.strip_prefix(function).is_some_and(|rest| rest.trim_start().starts_with('='))
    })
}

/// The bundles, one per architecture in use (they differ only by the wheels of requirements.txt), and each
/// function's package cut from its architecture's.
struct Built {
    bundles: BTreeMap<String, Package>,
    codes: BTreeMap<String, FunctionCode>,
}

#[derive(Default)]
pub struct Lambda {
    /// Built once per run: the fingerprint and the upload use the same bytes.
    built: OnceCell<Built>,
}

impl Lambda {
    fn built(&self, ctx: &Context<'_>) -> Result<&Built> {
        self.built_for(ctx.settings, ctx.work_dir)
    }

    fn built_for(&self, settings: &Settings, work_dir: &std::path::Path) -> Result<&Built> {
        if let Some(built) = self.built.get() {
            return Ok(built);
        }
        let cache = work_dir.join("cache");
        let (mut bundles, mut codes) = (BTreeMap::new(), BTreeMap::new());
        let functions = settings.function_names();
        let handler_files: BTreeMap<String, String> =
            functions.iter().map(|f| (f.to_string(), handler_file(settings.handler(f)))).collect();
        let all_handlers = handler_files.values().map(String::as_str).collect();
        for architecture in settings.architectures() {
            let bundle = package::build(&settings.backend, &cache, &settings.runtime, architecture)?;
            let on_it = handler_files.iter().filter(|(f, _)| settings.architecture(f) == architecture);
            let on_it = on_it.map(|(f, h)| (f.clone(), h.clone())).collect();
            codes.extend(function_code::cut(&bundle, &on_it, &all_handlers, &cache)?);
            bundles.insert(architecture.to_string(), bundle);
        }
        Ok(self.built.get_or_init(|| Built { bundles, codes }))
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
        Some(&[
            "stage",
            "domain",
            "cors_origins",
            "dev_cors_origins",
            "runtime",
            "architecture",
            "backend",
            "functions",
            "tables",
            "log_retention_days",
            "vpc",
        ])
    }
    fn validate(&self, settings: &Settings) -> Result<(), InputError> {
        let backend = &settings.backend;
        if !backend.is_dir() {
            return Err(InputError(format!(
                "backend folder '{}' does not exist: pass --backend DIR, the Python backend with handlers/ src/ lib/ utils/",
                backend.display()
            )));
        }
        let missing: Vec<String> = settings
            .function_names()
            .into_iter()
            .map(|f| handler_file(settings.handler(f)))
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
        let undefined: Vec<String> = settings
            .function_names()
            .into_iter()
            .map(|f| settings.handler(f))
            .filter(|handler| !defines_handler(backend, handler))
            .map(|handler| format!("{handler} (no `def {}(` in {})", handler_function(handler), handler_file(handler)))
            .collect();
        if !undefined.is_empty() {
            return Err(InputError(format!(
                "the handlers {} are not defined: Lambda would answer \"Handler not found\". Fix the function's \
                 name in the module, or `handler` in deployer.toml",
                undefined.join(", ")
            )));
        }
        Ok(())
    }

    /// The bundle, with its requirements installed and checked, before anything is written.
    fn prepare(&self, settings: &Settings, work_dir: &std::path::Path) -> Result<()> {
        self.built_for(settings, work_dir).map(|_| ())
    }

    async fn input_digest(&self, ctx: &Context<'_>) -> Result<String> {
        let bundles = &self.built(ctx)?.bundles;
        let digests: Vec<String> = bundles.iter().map(|(a, p)| format!("{a}:{}", p.code_sha256)).collect();
        Ok(digests.join(","))
    }

    async fn run(&self, ctx: &Context<'_>, recorder: &dyn Recorder) -> Result<()> {
        if let Some(warning) = crate::manual::runtime_warning(&ctx.settings.runtime, &crate::clock::today()) {
            recorder.notice(&warning);
        }
        let built = self.built(ctx)?;
        let identity = ctx.aws.identity().await?;
        let secrets = secrets::described(ctx).await?;
        let account = (identity.partition.as_str(), identity.account.as_str());
        let before = retired::deployed_before(recorder);
        let names = ctx.settings.function_names();
        let shared_role = Role::shared(ctx, account, &secrets);
        let own_roles: Vec<Role> = names
            .iter()
            .filter(|f| ctx.settings.has_own_role(f))
            .map(|f| Role::own(ctx, f, account, &secrets))
            .collect();
        // The roles (IAM) beside the look at the functions (Lambda): neither needs the other.
        let roles = async {
            let own = all(own_roles
                .iter()
                .map(|role| async move { Ok((role.name.clone(), ensure(role, recorder).await?.arn)) }));
            futures::try_join!(ensure(&shared_role, recorder), own)
        };
        let (revisions, roles) =
            futures::join!(Revisions::look(ctx, recorder, names.iter().map(|f| ctx.name(f))), roles);
        let revisions = &revisions?;
        let (shared, own_arns) = roles?;
        let shared_arn = shared.arn;
        let own_arns: BTreeMap<String, String> = own_arns.into_iter().collect();
        let functions = names.iter().map(|key| {
            let architecture = ctx.settings.architecture(key);
            // Invariant: `built` holds a package for every function `settings.function_names()` names.
            let code = built.codes.get(*key).context("a package for every function")?;
            let name = ctx.name(key);
            let role_arn = own_arns.get(&name).unwrap_or(&shared_arn);
            let (seen, made_now) = Default::default();
            Ok(Function { ctx, key, name, role_arn, code, architecture, secrets: &secrets, revisions, seen, made_now })
        });
        let functions: Vec<Function> = functions.collect::<Result<_>>()?;
        let groups = LogGroups {
            ctx,
            whose: format!("the {} functions", names.len()),
            prefix: format!("/aws/lambda/{}-", ctx.settings.service),
            names: names.iter().map(|function| format!("/aws/lambda/{}", ctx.name(function))).collect(),
            retention_days: ctx.settings.log_retention_days,
        };
        let lambda_side = async {
            let live = all(functions.iter().map(|f| async move {
                let live = ensure(f, recorder).await?;
                f.confirm();
                Ok(live)
            }))
            .await?;
            live_aliases(ctx, recorder, revisions, &functions, &live).await?;
            all(names.iter().map(|function| concurrency(ctx, recorder, function))).await
        };
        // The log groups beside the functions and their aliases: neither waits for the other, and CloudWatch
        // Logs' quotas (5 writes/s) are not Lambda's. Both run to the end before a failure of either is
        // reported.
        let (lambda_side, groups) = futures::join!(lambda_side, ensure(&groups, recorder));
        lambda_side?;
        groups?;
        revisions.record(ctx, recorder).await?;
        retired::remove_retired(ctx, recorder, &before, account).await?;
        record_if_changed(recorder, &outputs::FUNCTIONS.key, &names.join("\n"))?;
        let main =
            built.bundles.get(ctx.settings.architecture.as_str()).context("a bundle for the main architecture")?;
        record_if_changed(recorder, &outputs::CODE_SHA256.key, &main.code_sha256)
    }

    /// The functions with their log groups (Lambda makes those on first invocation), then the role.
    async fn destroy(&self, ctx: &Context<'_>, _teardown: &Teardown, recorder: &dyn Recorder) -> Result<()> {
        let mut functions: Vec<String> = ctx.settings.function_names().into_iter().map(String::from).collect();
        for before in retired::deployed_before(recorder) {
            if !functions.contains(&before) {
                functions.push(before);
            }
        }
        all(functions.iter().map(|function| delete_function(ctx, ctx.name(function), recorder))).await?;
        let identity = ctx.aws.identity().await?;
        let account = (identity.partition.as_str(), identity.account.as_str());
        let secrets = BTreeMap::new();
        for function in &functions {
            let recorded = recorder.recorded(&outputs::own_role_arn(function).key).is_some_and(|arn| !arn.is_empty());
            if recorded || ctx.settings.has_own_role(function) {
                remove(&Role::own(ctx, function, account, &secrets), recorder).await?;
            }
        }
        remove(&Role::shared(ctx, account, &secrets), recorder).await
    }
}

async fn delete_function(ctx: &Context<'_>, name: String, recorder: &dyn Recorder) -> Result<()> {
    let (function, group) = retired::delete_with_log_group(ctx, &name).await?;
    if function {
        recorder.report(&format!("function {name}"), &Change::Deleted);
    }
    if group {
        recorder.report(&format!("log group /aws/lambda/{name}"), &Change::Deleted);
    }
    Ok(())
}
