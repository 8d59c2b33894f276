//! `deployer.toml`: the settings `run` takes, kept in the repository (the manual's section 1). The command
//! line overrides the file; the file overrides what the state file recorded; the manual's values fill the
//! rest. An unknown key is an error that names it and its line.

use deployer_steps::manual::{FUNCTIONS, ROUTES, TABLES, WEBSOCKET_ROUTES};
use deployer_steps::settings::{
    AuthSettings, FunctionSettings, ReleaseSettings, RouteSettings, TableSettings, VpcSettings, WebSocketSettings,
    ARCHITECTURES, LOG_RETENTION_DAYS, PRICE_CLASSES,
};
use deployer_steps::{names, InputError};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::cli::SettingsArgs;

pub const DEFAULT_PATH: &str = "deployer.toml";
/// The schema `init` writes beside deployer.toml, named by the file's `#:schema` line.
pub const SCHEMA_FILE: &str = "deployer.schema.json";

// Its JSON Schema (`deployer schema`) is derived from this type, so editors check the same keys the
// parser takes; deployer checks the values further when it runs.
/// The settings of `deployer run`; flags on the command line override them.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "deployer.toml")]
pub struct ConfigFile {
    /// The prefix of every resource name: lowercase letters, digits and hyphens, starting with a letter.
    // Its pattern and longest length are set by `schema()` from the checks' own definitions.
    service: Option<String>,
    /// Served at https://DOMAIN, api.DOMAIN and ws.DOMAIN; none: AWS-generated URLs.
    domain: Option<String>,
    /// The API stage (letters, digits, '-' or '_'); default "prod".
    #[schemars(regex(pattern = r"^[A-Za-z0-9_-]{1,128}$"))]
    stage: Option<String>,
    /// The AWS region; default AWS_REGION or the profile's region, else us-east-1.
    region: Option<String>,
    /// The backend folder (handlers/ src/ lib/ utils/ and requirements.txt), relative to this file.
    backend: Option<PathBuf>,
    /// The frontend folder (the built site in dist/), relative to this file.
    frontend: Option<PathBuf>,
    /// The functions' Python runtime; default "python3.12".
    runtime: Option<String>,
    /// The functions' processor; "arm64" (Graviton) costs about 20 % less. Default "x86_64".
    architecture: Option<String>,
    /// A command run in the frontend folder before dist/ is uploaded, e.g. "npm run build".
    frontend_build: Option<String>,
    /// CloudFront's price class; default "PriceClass_100".
    price_class: Option<String>,
    /// Whether 403/404 answer index.html (a single-page app); false: error.html. Default true.
    spa_fallback: Option<bool>,
    /// How long logs are kept, in days (one of CloudWatch Logs' values); default 30.
    log_retention_days: Option<i32>,
    /// How long 06-domain waits for the certificate: seconds, or with units, e.g. "45m", "90s", "1h30m".
    #[schemars(pattern(deployer_steps::settings::DURATION_PATTERN))]
    cert_wait: Option<String>,
    /// Every AWS request goes here (e.g. a local moto), instead of AWS.
    endpoint_url: Option<String>,
    /// The origins the REST API allows (CORS); default https://DOMAIN, https://www.DOMAIN and the
    /// CloudFront URL; ["*"] for any.
    cors_origins: Option<Vec<String>>,
    /// One origin the REST API allows, as earlier versions wrote it; `cors_origins` takes a list.
    cors_origin: Option<String>,
    /// Origins the dev stage allows besides; default ["http://localhost:5173"].
    dev_cors_origins: Option<Vec<String>>,
    /// The API stages' throttling.
    #[serde(default)]
    throttling: Throttling,
    // Not `#[serde(flatten)]` into a `Structure`: flatten would turn off `deny_unknown_fields`.
    /// Per-function changes to the manual, by function name (e.g. `[functions.websocket-message]`), and
    /// functions of this file's own (a handler each).
    #[serde(default)]
    functions: BTreeMap<String, FunctionSettings>,
    /// The REST routes, instead of the manual's.
    #[serde(default)]
    routes: Vec<RouteSettings>,
    /// Per-table changes to the manual's key schema, by table (e.g. `[tables.usage]`), and tables of this
    /// file's own (a partition key each).
    #[serde(default)]
    tables: BTreeMap<String, TableSettings>,
    /// WebSocket route keys besides the manual's `$connect`, `$disconnect` and `$default`.
    #[serde(default)]
    websocket: WebSocketSettings,
    /// The VPC every function runs in; none by default.
    vpc: Option<VpcSettings>,
    /// Who may call the REST API: `kind = "none"` (default), `"api_key"` or `"cognito"`.
    auth: Option<AuthSettings>,
    /// How releases are kept and made: `keep_releases`, the newest versions of each function (default 10);
    /// `canary`, the share and window the changed functions' new versions are watched with first.
    release: Option<ReleaseSettings>,
}

impl ConfigFile {
    pub fn structure(&self) -> Structure {
        Structure {
            functions: self.functions.clone(),
            routes: self.routes.clone(),
            tables: self.tables.clone(),
            websocket: self.websocket.clone(),
            vpc: self.vpc.clone(),
            auth: self.auth.clone(),
            release: self.release.clone(),
        }
    }
}

/// What only the file can say (no flag does): per-function, route and table settings.
#[derive(Debug, Default, Clone)]
pub struct Structure {
    pub functions: BTreeMap<String, FunctionSettings>,
    pub routes: Vec<RouteSettings>,
    pub tables: BTreeMap<String, TableSettings>,
    pub websocket: WebSocketSettings,
    pub vpc: Option<VpcSettings>,
    pub auth: Option<AuthSettings>,
    pub release: Option<ReleaseSettings>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Throttling {
    /// Steady requests per second; default 100.
    rate: Option<u32>,
    /// Burst of requests; default 200.
    burst: Option<u32>,
}

/// The JSON Schema of deployer.toml, for editors (taplo, Even Better TOML). The closed lists of values
/// come from the same constants the settings are checked against.
pub fn schema() -> serde_json::Value {
    let mut schema = schemars::schema_for!(ConfigFile).to_value();
    let closed_lists = [
        ("/properties/architecture", json!(ARCHITECTURES)),
        ("/$defs/FunctionSettings/properties/architecture", json!(ARCHITECTURES)),
        ("/properties/price_class", json!(PRICE_CLASSES)),
        ("/properties/log_retention_days", json!(LOG_RETENTION_DAYS)),
    ];
    let runtimes: Vec<&str> = deployer_steps::manual::RUNTIMES.iter().map(|r| r.id).collect();
    let name_rules = [
        ("/properties/service", "pattern", json!(names::NAME_PATTERN)),
        ("/properties/service", "maxLength", json!(names::MAX_SERVICE_LEN)),
        ("/properties/functions", "propertyNames", json!({ "pattern": names::NAME_PATTERN })),
        ("/properties/tables", "propertyNames", json!({ "pattern": names::NAME_PATTERN })),
    ];
    let rules = closed_lists
        .into_iter()
        .chain([("/properties/runtime", json!(runtimes))])
        .map(|(pointer, values)| (pointer, "enum", values))
        .chain(name_rules);
    for (pointer, keyword, value) in rules {
        if let Some(property) = schema.pointer_mut(pointer).and_then(serde_json::Value::as_object_mut) {
            property.insert(keyword.to_string(), value);
        }
    }
    schema
}

/// The file at `path`; `None` when the default file is absent (a named one must exist).
pub fn load(path: &Path, named: bool) -> Result<Option<ConfigFile>, InputError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !named => return Ok(None),
        Err(e) => {
            return Err(InputError(format!(
                "cannot read the config file {}: {e} (`deployer init --service NAME` writes one)",
                path.display()
            )))
        }
    };
    let mut file: ConfigFile = toml::from_str(&text).map_err(|e| {
        InputError(format!(
            "{} is not a valid deployer config: {}: fix or remove that key (`deployer init` shows every key)",
            path.display(),
            e.to_string().trim_end()
        ))
    })?;
    // Folders in the file are relative to the file, wherever deployer runs from.
    let dir = path.parent().unwrap_or(Path::new(""));
    for folder in [&mut file.backend, &mut file.frontend].into_iter().flatten() {
        if folder.is_relative() {
            *folder = dir.join(&*folder);
        }
    }
    Ok(Some(file))
}

/// The command line's settings, with the file's where the command line gives none.
pub fn overlay(cli: &SettingsArgs, file: &ConfigFile) -> SettingsArgs {
    SettingsArgs {
        service: cli.service.clone().or_else(|| file.service.clone()),
        domain: cli.domain.clone().or_else(|| file.domain.clone()),
        stage: cli.stage.clone().or_else(|| file.stage.clone()),
        region: cli.region.clone().or_else(|| file.region.clone()),
        backend: cli.backend.clone().or_else(|| file.backend.clone()),
        frontend: cli.frontend.clone().or_else(|| file.frontend.clone()),
        runtime: cli.runtime.clone().or_else(|| file.runtime.clone()),
        architecture: cli.architecture.clone().or_else(|| file.architecture.clone()),
        throttle_rate: cli.throttle_rate.or(file.throttling.rate),
        throttle_burst: cli.throttle_burst.or(file.throttling.burst),
        frontend_build: cli.frontend_build.clone().or_else(|| file.frontend_build.clone()),
        price_class: cli.price_class.clone().or_else(|| file.price_class.clone()),
        spa_fallback: cli.spa_fallback.or(file.spa_fallback),
        log_retention_days: cli.log_retention_days.or(file.log_retention_days),
        cert_wait: cli.cert_wait.clone().or_else(|| file.cert_wait.clone()),
        endpoint_url: cli.endpoint_url.clone().or_else(|| file.endpoint_url.clone()),
        cors_origins: given_or(&cli.cors_origins, || {
            file.cors_origins.clone().or_else(|| file.cors_origin.clone().map(|o| vec![o])).unwrap_or_default()
        }),
        dev_cors_origins: given_or(&cli.dev_cors_origins, || file.dev_cors_origins.clone().unwrap_or_default()),
        verify_http_url: cli.verify_http_url.clone(),
        verify_ws_url: cli.verify_ws_url.clone(),
        delete_data: cli.delete_data,
        canary: cli.canary.clone(),
    }
}

/// A list given on the command line (or in the file), else `otherwise`: a list flag is "not given" when empty.
pub fn given_or(given: &[String], otherwise: impl FnOnce() -> Vec<String>) -> Vec<String> {
    if given.is_empty() {
        otherwise()
    } else {
        given.to_vec()
    }
}

/// The manual's functions, tables and routes, written out as deployer.toml declares them: what a file
/// without them deploys, so that the whole backend reads in one file.
fn manual_backend() -> String {
    let mut text = String::from(
        "# The backend: the manual's functions, tables and routes. Add your own beside them (any name: a\n\
         # function needs a handler, a table a partition_key), or switch one of these off with enabled = false.\n",
    );
    for function in FUNCTIONS {
        let memory = format!("memory = {}", function.memory_mb);
        text += &format!("\n[functions.{}]\nhandler = \"{}\"\n{memory:<29}# MB\n", function.suffix, function.handler);
    }
    for table in TABLES {
        text += &format!("\n[tables.{}]\npartition_key = \"{}\"\n", table.suffix, table.partition_key);
        text += &table.sort_key.map(|key| format!("sort_key = \"{key}\"\n")).unwrap_or_default();
        text += &table.ttl_attribute.map(|ttl| format!("ttl_attribute = \"{ttl}\"\n")).unwrap_or_default();
    }
    text += "\n# The REST routes (OPTIONS is added to each for CORS):\n";
    for route in ROUTES {
        let methods: Vec<String> = route.methods.iter().map(|m| format!("\"{m}\"")).collect();
        text += &format!(
            "[[routes]]\npath = \"{}\"\nmethods = [{}]\nfunction = \"{}\"\n",
            route.path,
            methods.join(", "),
            route.function
        );
    }
    text += "\n# The WebSocket routes, chosen by the messages' \"action\" ($request.body.action):\n";
    for (key, function) in WEBSOCKET_ROUTES {
        text += &format!("[[websocket.routes]]\nroute_key = \"{key}\"\nfunction = \"{function}\"\n");
    }
    text
}

/// The commented file `deployer init` writes: the manual's values, every key shown.
pub fn template(service: &str, domain: Option<&str>) -> String {
    let domain = domain.map_or_else(|| "# domain = \"example.com\"".to_string(), |d| format!("domain = \"{d}\""));
    let backend = manual_backend();
    format!(
        r#"#:schema ./{SCHEMA_FILE}
# deployer.toml: the settings of `deployer run` (the manual's section 1). Flags on the command line
# override these; deployer records what it used in its state file (.deployer/state.json).

service = "{service}"          # the prefix of every resource name
{domain}   # served at https://DOMAIN, api.DOMAIN, ws.DOMAIN; none: AWS-generated URLs
stage = "prod"
# region = "us-east-1"       # default: AWS_REGION or the profile's region, else us-east-1
backend = "backend"          # handlers/ src/ lib/ utils/ and requirements.txt
frontend = "frontend"        # the built site in dist/
runtime = "python3.12"
architecture = "x86_64"      # or "arm64" (Graviton, about 20 % cheaper); per function too
# frontend_build = "npm run build"   # run in the frontend folder before dist/ is uploaded
price_class = "PriceClass_100"
spa_fallback = true          # 403/404 answer index.html (false: error.html)
log_retention_days = 30      # how long the functions' logs are kept (CloudWatch's values: 1, 7, 30, 365, ...)
cert_wait = "45m"            # how long 06-domain waits for the certificate
# cors_origins = ["https://app.example.com"]   # the origins the REST API allows; default https://DOMAIN,
#                                             # https://www.DOMAIN and the CloudFront URL; ["*"]: any
# dev_cors_origins = ["http://localhost:5173"]  # what the dev stage allows besides (a local dev server)
# endpoint_url = "http://127.0.0.1:5000"   # every AWS request goes here (e.g. a local moto)

[throttling]                 # per API stage
rate = 100                   # steady requests per second
burst = 200

{backend}
# A function of your own, with every key it may have (a handler is needed, the rest is optional), its
# REST route and a WebSocket route:
# [functions.usage-report]
# handler = "handlers.api.usage.handler"
# memory = 256               # MB; default 512
# timeout = 29               # seconds; API Gateway gives up after 29
# architecture = "arm64"
# reserved_concurrency = 10  # executions kept for it, and its ceiling (0 stops it); default: none
# provisioned_concurrency = 2   # instances kept warm (no cold starts, billed hourly); the APIs then call its `live` alias
# tables = ["usage"]         # the tables it may reach (NAME_TABLE variables, a role naming only those); default: all
# [functions.usage-report.secrets]   # Secrets Manager secrets it may read, by variable name:
# OPENAI_API_KEY = "{service}/openai"     # it gets OPENAI_API_KEY_SECRET_ARN (the ARN, never the value)
# [[routes]]
# path = "/usage/report"
# methods = ["GET"]
# function = "usage-report"
# [[websocket.routes]]
# route_key = "sendMessage"  # messages whose "action" is "sendMessage"
# function = "usage-report"
#
# A table of your own (a partition_key is needed). "" removes one of the manual's sort keys or TTLs; a key
# schema cannot change on an existing table. Switch any of the manual's functions or tables off with
# `enabled = false` in its section: a function goes with its routes, a table stays, with its data, until
# `deployer run --delete-data`.
# [tables.invoices]
# partition_key = "invoiceId"
# sort_key = "line"
# ttl_attribute = "expiresAt"
# [[tables.invoices.global_secondary_indexes]]   # one per query pattern; added or removed one at a time
# name = "by-line"
# partition_key = "line"
# sort_key = "invoiceId"
# projection = "ALL"         # or "KEYS_ONLY", or the attributes to include: ["total"]

# The VPC all functions run in, to reach private resources; they then need a NAT gateway or VPC
# endpoints for the internet and DynamoDB. Default: none.
# [vpc]
# subnet_ids = ["subnet-0abc12345def67890", "subnet-0def67890abc12345"]
# security_group_ids = ["sg-0abc12345def67890"]

# Who may call the REST API (CORS preflights stay open). Default: anyone, as in the manual.
# [auth]
# kind = "api_key"           # callers send x-api-key; `deployer outputs` shows the key
# rate_limit = 50            # the key's usage plan: requests/s (default: the stage's), burst, quota
# burst_limit = 100
# quota_limit = 100000
# quota_period = "MONTH"     # DAY, WEEK or MONTH
# (or kind = "cognito" with user_pool_arn = "arn:aws:cognito-idp:REGION:ACCOUNT:userpool/ID")

# Every function is invoked through its alias `live`, on a version published when it changes.
# [release]
# keep_releases = 10         # the newest versions kept of each function (the live one always is)
# canary = "10%:5m"          # changed functions' new versions take 10% for 5 minutes, watched on CloudWatch,
#                            # then all of it, or none (rolled back by itself); stages: "10%:5m,50%:5m"
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The schema's name pattern, run by a real regex engine, and deployer's own checks agree on every sample.
    #[test]
    fn the_schemas_name_rules_and_the_checks_accept_the_same_names() {
        let validator = jsonschema::validator_for(&schema()).expect("a valid schema");
        let long = "a".repeat(names::MAX_SERVICE_LEN);
        let too_long = "a".repeat(names::MAX_SERVICE_LEN + 1);
        for name in ["new-service", "a1", "billing-webhook", "", "-svc", "svc-", "a--b", "1abc", "Upper", "a_b", &long]
        {
            let service = validator.is_valid(&json!({ "service": name }));
            assert_eq!(service, names::validate_service(name).is_ok(), "service {name:?}");
            let function = validator.is_valid(&json!({ "functions": { name: { "handler": "m.f" } } }));
            let checked = names::validate_added("s", "functions", name, 255).is_ok();
            assert_eq!(function, checked, "function {name:?}");
        }
        assert!(!validator.is_valid(&json!({ "service": too_long })));
        assert!(!validator.is_valid(&json!({ "runtime": "python3.8" })), "only the runtimes Lambda offers");
    }
}
