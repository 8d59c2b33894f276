//! The service's settings: what `deployer run` takes on the command line and records in the state file.

mod backend;
mod quotas;
mod websocket;

pub use backend::{table_variable, Table, DEFAULT_MEMORY_MB};
pub use websocket::{WebSocketRouteSettings, WebSocketSettings};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

pub use crate::error::InputError;
use crate::manual::{FUNCTIONS, ROUTE_METHODS, TABLES};
use crate::names;

pub const DEFAULT_STAGE: &str = "prod";
pub const DEFAULT_REGION: &str = "us-east-1";
pub const DEFAULT_RUNTIME: &str = "python3.12";
/// Lambda's processors, by the names the API takes.
pub const ARCHITECTURES: &[&str] = &["x86_64", "arm64"];
pub const DEFAULT_ARCHITECTURE: &str = "x86_64";

fn default_architecture() -> String {
    DEFAULT_ARCHITECTURE.to_string()
}
/// The manual's stage throttling: steady requests per second and burst, per API stage.
pub const DEFAULT_THROTTLE_RATE: u32 = 100;
pub const DEFAULT_THROTTLE_BURST: u32 = 200;

/// CloudFront's cheapest edge set (North America and Europe), as the manual uses.
pub const DEFAULT_PRICE_CLASS: &str = "PriceClass_100";
pub const PRICE_CLASSES: &[&str] = &["PriceClass_100", "PriceClass_200", "PriceClass_All"];

fn default_price_class() -> String {
    DEFAULT_PRICE_CLASS.to_string()
}

/// A month of logs, then they expire: Lambda's own log groups keep everything, and cost grows with it.
pub const DEFAULT_LOG_RETENTION_DAYS: i32 = 30;
/// The values CloudWatch Logs accepts ("PutRetentionPolicy").
pub const LOG_RETENTION_DAYS: &[i32] =
    &[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

fn default_log_retention_days() -> i32 {
    DEFAULT_LOG_RETENTION_DAYS
}

/// How long to wait for the certificate by default: DNS validation takes minutes once the registrar
/// points at the zone, so the limit is generous.
pub const DEFAULT_CERT_WAIT_SECONDS: u64 = 45 * 60;

fn default_cert_wait() -> u64 {
    DEFAULT_CERT_WAIT_SECONDS
}

/// A duration as the flags and deployer.toml take it: plain seconds ("90"), or numbers with units run
/// together ("90s", "45m", "1h30m", "2d", "1w"). The schema's pattern and [`parse_duration_seconds`] are
/// both this definition (a test holds them to it).
pub const DURATION_PATTERN: &str = r"^([0-9]+|([0-9]+(s|m|h|d|w))+)$";
const DURATION_UNITS: [char; 5] = ['s', 'm', 'h', 'd', 'w'];
/// Ten years: past this a duration is a typo, and a start time that far back would not exist.
const LONGEST_DURATION: u64 = 10 * 365 * 24 * 3600;

/// Whether `text` is of [`DURATION_PATTERN`]'s form.
fn duration_form(text: &str) -> bool {
    if text.chars().all(|c| c.is_ascii_digit()) {
        return !text.is_empty();
    }
    let mut digits = 0;
    for c in text.chars() {
        match c {
            '0'..='9' => digits += 1,
            unit if DURATION_UNITS.contains(&unit) && digits > 0 => digits = 0,
            _ => return false,
        }
    }
    digits == 0
}

/// [`DURATION_PATTERN`]'s durations in seconds, read by `humantime`; at most ten years.
pub fn parse_duration_seconds(text: &str) -> Result<u64, InputError> {
    let text = text.trim();
    let refused = |why: &str| {
        InputError(format!(
            "'{text}' is not a duration{why}: give it as seconds (90) or with units, e.g. 90s, 45m, 1h30m, 2d"
        ))
    };
    if !duration_form(text) {
        return Err(refused(""));
    }
    let seconds = if text.chars().all(|c| c.is_ascii_digit()) {
        text.parse::<u64>().map_err(|_| refused(" deployer can count"))?
    } else {
        humantime::parse_duration(text).map_err(|e| refused(&format!(" ({e})")))?.as_secs()
    };
    if seconds > LONGEST_DURATION {
        return Err(refused(" of ten years or less"));
    }
    Ok(seconds)
}

fn default_true() -> bool {
    true
}

fn default_throttle_rate() -> u32 {
    DEFAULT_THROTTLE_RATE
}

fn default_throttle_burst() -> u32 {
    DEFAULT_THROTTLE_BURST
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub service: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    pub stage: String,
    pub region: String,
    pub backend: PathBuf,
    pub frontend: PathBuf,
    pub runtime: String,
    /// The functions' processor: `x86_64` (the manual's) or `arm64` (Graviton, about 20 % cheaper).
    #[serde(default = "default_architecture")]
    pub architecture: String,
    #[serde(default = "default_throttle_rate")]
    pub throttle_rate: u32,
    #[serde(default = "default_throttle_burst")]
    pub throttle_burst: u32,
    /// A command run in the frontend folder before its `dist/` is uploaded (e.g. `npm run build`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frontend_build: Option<String>,
    #[serde(default = "default_price_class")]
    pub price_class: String,
    /// Answer 403/404 with index.html (single-page apps) rather than error.html.
    #[serde(default = "default_true")]
    pub spa_fallback: bool,
    /// Days the functions' log groups keep their events (Lambda's own log groups never expire).
    #[serde(default = "default_log_retention_days")]
    pub log_retention_days: i32,
    /// How long `06-domain` waits for the certificate to be issued.
    #[serde(default = "default_cert_wait")]
    pub cert_wait_seconds: u64,
    /// Only set when given with `--endpoint-url`, so that `resume` talks to the same endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<String>,
    /// The origins the REST API allows (CORS), instead of the site's (`https://DOMAIN`,
    /// `https://www.DOMAIN`, the CloudFront URL); `["*"]` for any. Older state files name one `cors_origin`.
    #[serde(default, alias = "cors_origin", deserialize_with = "one_or_many", skip_serializing_if = "Vec::is_empty")]
    pub cors_origins: Vec<String>,
    /// Origins the dev stage allows besides: a local dev server.
    #[serde(default = "default_dev_cors_origins")]
    pub dev_cors_origins: Vec<String>,
    /// The REST routes, instead of the manual's (deployer.toml `[[routes]]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteSettings>,
    /// Per-table changes to the manual's key schema and TTL, and tables of the file's own (deployer.toml
    /// `[tables.NAME]`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tables: BTreeMap<String, TableSettings>,
    /// Per-function changes to the manual's memory, timeout and handler, and functions of the file's own
    /// (deployer.toml `[functions.NAME]`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub functions: BTreeMap<String, FunctionSettings>,
    /// WebSocket route keys besides the manual's (deployer.toml `[[websocket.routes]]`).
    #[serde(default, skip_serializing_if = "WebSocketSettings::is_empty")]
    pub websocket: WebSocketSettings,
    /// The VPC every function runs in (deployer.toml `[vpc]`); none by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc: Option<VpcSettings>,
    /// Who may call the REST API (deployer.toml `[auth]`); anyone by default, as in the manual.
    #[serde(default, skip_serializing_if = "AuthSettings::is_none")]
    pub auth: AuthSettings,
    /// `08-verify`'s HTTP smoke test goes here instead of the deployed API (a server of the user's, tests).
    /// Neither recorded nor part of the steps' fingerprints: it changes what is checked, not what is deployed.
    #[serde(skip)]
    pub verify_http_url: Option<String>,
    /// Likewise for the WebSocket smoke test.
    #[serde(skip)]
    pub verify_ws_url: Option<String>,
    /// `run --delete-data`: delete the tables deployer.toml no longer has, data and all (`destroy` takes
    /// it from its teardown). Never recorded: each run must ask again.
    #[serde(skip)]
    pub delete_data: bool,
}

/// One REST route: a path, its methods and the function (by suffix) behind them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteSettings {
    /// The path, e.g. `/conversations/{id}`.
    #[schemars(regex(pattern = r"^/"))]
    pub path: String,
    /// Its HTTP methods (OPTIONS is added for CORS).
    #[schemars(length(min = 1))]
    pub methods: Vec<String>,
    /// The function behind it, by suffix (e.g. `conversation-api`).
    pub function: String,
}

/// One table's departures from the manual's key schema (`""` removes the sort key or the TTL), or a table
/// of deployer.toml's own (a `partition_key` then is needed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TableSettings {
    /// `false` leaves the table out of what is deployed; a table deployed already keeps its data until
    /// `deployer run --delete-data`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The partition key (a string attribute), instead of the manual's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_key: Option<String>,
    /// The sort key, instead of the manual's; `""` for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_key: Option<String>,
    /// The TTL attribute, instead of the manual's; `""` for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_attribute: Option<String>,
    /// Global secondary indexes, by query pattern (string keys); none by default.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub global_secondary_indexes: Vec<IndexSettings>,
}

/// One global secondary index: `{ name, partition_key, sort_key, projection }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IndexSettings {
    /// The index's name (3 to 255 of `A-Za-z0-9_.-`).
    #[schemars(regex(pattern = r"^[A-Za-z0-9_.-]{3,255}$"))]
    pub name: String,
    /// Its partition key (a string attribute).
    pub partition_key: String,
    /// Its sort key (a string attribute), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_key: Option<String>,
    /// `"ALL"` (default), `"KEYS_ONLY"`, or the attributes to include beside the keys.
    #[serde(default)]
    pub projection: IndexProjection,
}

/// `"ALL"` (the default), `"KEYS_ONLY"`, or the attributes to include beside the keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum IndexProjection {
    #[schemars(extend("enum" = ["ALL", "KEYS_ONLY"]))]
    Kind(String),
    Include(Vec<String>),
}

impl Default for IndexProjection {
    fn default() -> Self {
        IndexProjection::Kind("ALL".to_string())
    }
}

/// How the REST API's methods (not their CORS preflights) authenticate callers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthKind {
    /// Anyone may call (the manual's).
    #[default]
    None,
    /// Callers send an API key (`x-api-key`), within a usage plan's throttle and quota.
    ApiKey,
    /// Callers send a Cognito user pool's ID token (`Authorization`).
    Cognito,
}

/// deployer.toml `[auth]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    #[serde(default)]
    pub kind: AuthKind,
    /// `cognito`: the ARN of an existing user pool, `arn:aws:cognito-idp:REGION:ACCOUNT:userpool/POOL_ID`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_pool_arn: Option<String>,
    /// `api_key`: the usage plan's requests per second for each key; default the stage's throttle rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub rate_limit: Option<u32>,
    /// `api_key`: the usage plan's burst; default the stage's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 5000))]
    pub burst_limit: Option<u32>,
    /// `api_key`: requests each key may make per `quota_period`; none by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub quota_limit: Option<u32>,
    /// `DAY` (default), `WEEK` or `MONTH`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["DAY", "WEEK", "MONTH"]))]
    pub quota_period: Option<String>,
}

impl AuthSettings {
    pub fn is_none(&self) -> bool {
        *self == AuthSettings::default()
    }
}

/// The subnets and security groups of the functions' network interfaces, for reaching private resources
/// (a database, a cache). Without a NAT gateway or VPC endpoints, functions in a VPC reach neither the
/// internet nor DynamoDB.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VpcSettings {
    /// Private subnets, ideally in two or more availability zones (at most 16), e.g. `subnet-0abc12345def67890`.
    #[schemars(length(min = 1, max = 16))]
    pub subnet_ids: Vec<String>,
    /// Security groups of the functions' interfaces (at most 5), e.g. `sg-0abc12345def67890`.
    #[schemars(length(min = 1, max = 5))]
    pub security_group_ids: Vec<String>,
}

/// One function's departures from the manual (what is not given stays as the manual has it), or a
/// function of deployer.toml's own (a `handler` then is needed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FunctionSettings {
    /// `false` leaves the function out (and its routes); `run` deletes it if it was deployed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The tables it may reach (`NAME_TABLE` variables, and a role naming only those); default: every table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tables: Option<Vec<String>>,
    /// Memory in MB (128 to 10240).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 128, max = 10240))]
    pub memory: Option<i32>,
    /// Timeout in seconds (1 to 900; API Gateway gives up after 29).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 900))]
    pub timeout: Option<i32>,
    /// `module.path.function`, e.g. `handlers.api.conversation.handler`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handler: Option<String>,
    /// `x86_64` or `arm64`, instead of the global `architecture`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    /// Concurrent executions kept for the function, and its ceiling (0 stops it); none by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub reserved_concurrency: Option<i32>,
    /// Instances kept initialised (no cold starts; billed by the hour): the APIs then invoke the alias
    /// `live` on a published version. None by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub provisioned_concurrency: Option<i32>,
    /// Secrets Manager secrets the function may read, by environment name: `NAME = "secret name or ARN"`
    /// gives it `NAME_SECRET_ARN`; the value is never read by deployer.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, String>,
}

/// The CORS origins and secrets as these settings give them.
impl Settings {
    /// The origins stage `stage` allows: the given ones, else the site's (`https://DOMAIN` and
    /// `https://www.DOMAIN` with a domain, and the CloudFront URL once `05-frontend` has made it); the dev
    /// stage adds the dev origins. `["*"]` means any origin.
    pub fn cors_origins(&self, stage: &str, distribution_domain: Option<&str>) -> Vec<String> {
        let mut origins = if self.cors_origins.is_empty() {
            let site = self.domain.iter().flat_map(|d| [format!("https://{d}"), format!("https://www.{d}")]);
            site.chain(distribution_domain.map(|d| format!("https://{d}"))).collect()
        } else {
            self.cors_origins.clone()
        };
        if stage == crate::manual::DEV_STAGE && !self.allows_any_origin() {
            origins.extend(self.dev_cors_origins.iter().filter(|o| !origins.contains(o)).cloned().collect::<Vec<_>>());
        }
        origins
    }

    /// Every secret of `[functions.X.secrets]`, by the ID deployer.toml gives (a name or an ARN).
    pub fn secret_ids(&self) -> std::collections::BTreeSet<&str> {
        let deployed = self.function_names().into_iter().filter_map(|name| self.secrets(name));
        deployed.flat_map(|secrets| secrets.values().map(String::as_str)).collect()
    }

    pub fn allows_any_origin(&self) -> bool {
        self.cors_origins.iter().any(|o| o == "*")
    }
}

/// The function whose environment another step completes (the WebSocket management endpoint).
const PROVISIONED_NOT_YET: &str = "websocket-message";

pub const DEFAULT_DEV_CORS_ORIGINS: &[&str] = &["http://localhost:5173"];

fn default_dev_cors_origins() -> Vec<String> {
    DEFAULT_DEV_CORS_ORIGINS.iter().map(|o| o.to_string()).collect()
}

/// One string or a list of them (the state files of earlier versions hold one `cors_origin`).
fn one_or_many<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(one) => vec![one],
        OneOrMany::Many(many) => many,
    })
}

/// An origin a browser sends: `http(s)://HOST[:PORT]`, no path, in the characters a stage variable takes.
fn is_origin(text: &str) -> bool {
    let host = text.strip_prefix("https://").or_else(|| text.strip_prefix("http://"));
    host.is_some_and(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':')))
}

/// The longest stage variable value API Gateway stores; the stage's origins travel in one.
const MAX_STAGE_VARIABLE: usize = 512;

impl Settings {
    /// Checks what can be checked without AWS; each message names the fix.
    pub fn validate(&self) -> Result<(), InputError> {
        let named = std::iter::once(("architecture".to_string(), Some(&self.architecture))).chain(
            self.functions
                .iter()
                .map(|(name, f)| (format!("[functions.{name}] architecture"), f.architecture.as_ref())),
        );
        for (what, architecture) in named {
            if let Some(architecture) = architecture.filter(|a| !ARCHITECTURES.contains(&a.as_str())) {
                return Err(InputError(format!(
                    "{what} '{architecture}' is not one Lambda runs on: use x86_64 or arm64 (Graviton)"
                )));
            }
        }
        names::validate_service(&self.service)?;
        self.validate_functions()?;
        self.validate_vpc()?;
        self.validate_secrets()?;
        self.validate_auth()?;
        self.validate_tables()?;
        self.validate_routes()?;
        self.validate_websocket()?;
        self.validate_quotas()?;
        if let Some(domain) = &self.domain {
            names::validate_domain(domain)?;
        }
        names::validate_stage(&self.stage)?;
        self.validate_cors_origins()?;
        validate_region(&self.region)?;
        validate_runtime(&self.runtime)?;
        if self.throttle_rate == 0 || self.throttle_burst == 0 || self.throttle_burst > 5000 {
            return Err(InputError(format!(
                "throttling {} requests/s with burst {} is not usable: give --throttle-rate and --throttle-burst \
                 above 0, the burst at most 5000 (API Gateway's account limit)",
                self.throttle_rate, self.throttle_burst
            )));
        }
        if !LOG_RETENTION_DAYS.contains(&self.log_retention_days) {
            let days: Vec<String> = LOG_RETENTION_DAYS.iter().map(i32::to_string).collect();
            return Err(InputError(format!(
                "log retention of {} days is not one CloudWatch Logs offers: use one of {}",
                self.log_retention_days,
                days.join(", ")
            )));
        }
        if !PRICE_CLASSES.contains(&self.price_class.as_str()) {
            return Err(InputError(format!(
                "price class '{}' is not a CloudFront price class: use one of {}",
                self.price_class,
                PRICE_CLASSES.join(", ")
            )));
        }
        if let Some(url) = &self.endpoint_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(InputError(format!(
                    "--endpoint-url '{url}' is not a URL: give it as http://HOST:PORT or https://HOST"
                )));
            }
        }
        Ok(())
    }
}

impl Settings {
    fn validate_cors_origins(&self) -> Result<(), InputError> {
        let fix = "give each as https://HOST[:PORT] (no path), or \"*\" alone for any origin";
        for (what, origins) in [("cors_origins", &self.cors_origins), ("dev_cors_origins", &self.dev_cors_origins)] {
            let any_allowed = what == "cors_origins";
            if let Some(bad) = origins.iter().find(|o| !(is_origin(o) || any_allowed && *o == "*")) {
                return Err(InputError(format!("{what} '{bad}' is not an origin: {fix}")));
            }
        }
        if self.allows_any_origin() && self.cors_origins.len() > 1 {
            return Err(InputError(format!("cors_origins lists \"*\" with other origins: {fix}")));
        }
        // The longest list is the dev stage's, with a CloudFront domain (d + 13 characters + .cloudfront.net).
        let longest = self.cors_origins(crate::manual::DEV_STAGE, Some("d0123456789abc.cloudfront.net")).join(",");
        if longest.len() > MAX_STAGE_VARIABLE {
            return Err(InputError(format!(
                "the CORS origins take {} characters, over the {MAX_STAGE_VARIABLE} of the API stage variable that \
                 carries them: list fewer in cors_origins or dev_cors_origins",
                longest.len()
            )));
        }
        Ok(())
    }

    fn validate_routes(&self) -> Result<(), InputError> {
        let functions = self.function_names();
        for route in &self.routes {
            let segment_ok = |s: &str| {
                !s.is_empty()
                    && (s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                        || (s.starts_with('{') && s.ends_with('}') && s.len() > 2))
            };
            let path_ok = route.path.strip_prefix('/').is_some_and(|p| p.split('/').all(segment_ok));
            if !path_ok {
                return Err(InputError(format!(
                    "route path '{}' is not a REST path: give it as /name or /name/{{id}}",
                    route.path
                )));
            }
            if route.methods.is_empty() || !route.methods.iter().all(|m| ROUTE_METHODS.contains(&m.as_str())) {
                return Err(InputError(format!(
                    "route {} has methods {:?}: use some of {} (OPTIONS is added for CORS)",
                    route.path,
                    route.methods,
                    ROUTE_METHODS.join(", ")
                )));
            }
            if !functions.contains(&route.function.as_str()) {
                return Err(InputError(format!(
                    "route {} names function '{}', which is not deployed: use one of {} (or declare it under \
                     [functions.{}])",
                    route.path,
                    route.function,
                    functions.join(", "),
                    route.function
                )));
            }
        }
        Ok(())
    }

    fn validate_tables(&self) -> Result<(), InputError> {
        let mut variables = BTreeMap::new();
        for name in self.table_names() {
            if let Some(other) = variables.insert(table_variable(name), name) {
                return Err(InputError(format!(
                    "[tables.{other}] and [tables.{name}] would both reach the functions as {}: rename one",
                    table_variable(name)
                )));
            }
        }
        for (name, table) in &self.tables {
            let added = !TABLES.iter().any(|t| t.suffix == name);
            if added {
                names::validate_added(&self.service, "tables", name, names::TABLE_NAME_MOST)?;
                if table.partition_key.is_none() {
                    return Err(InputError(format!(
                        "[tables.{name}] is not one of the manual's tables, so it needs its partition_key, e.g. \
                         partition_key = \"id\""
                    )));
                }
            }
            if table.partition_key.as_deref() == Some("") {
                return Err(InputError(format!("[tables.{name}] partition_key cannot be empty")));
            }
            validate_indexes(name, &table.global_secondary_indexes)?;
        }
        Ok(())
    }

    fn validate_auth(&self) -> Result<(), InputError> {
        let auth = &self.auth;
        let pool = auth.user_pool_arn.as_deref();
        match (auth.kind, pool) {
            (AuthKind::Cognito, None) => return Err(InputError(
                "[auth] kind = \"cognito\" needs user_pool_arn = \"arn:aws:cognito-idp:REGION:ACCOUNT:userpool/ID\" \
                     (`aws cognito-idp list-user-pools --max-results 10` lists them)"
                    .into(),
            )),
            (AuthKind::Cognito, Some(arn)) => {
                let parts: Vec<&str> = arn.splitn(6, ':').collect();
                let is_pool = parts.len() == 6
                    && parts[0] == "arn"
                    && parts[2] == "cognito-idp"
                    && parts[5]
                        .strip_prefix("userpool/")
                        .is_some_and(|id| id.starts_with(parts[3]) && id.contains('_'));
                if !is_pool {
                    return Err(InputError(format!(
                        "[auth] user_pool_arn '{arn}' is not a Cognito user pool's ARN: give \
                         arn:aws:cognito-idp:REGION:ACCOUNT:userpool/REGION_ID"
                    )));
                }
            }
            (_, Some(_)) => {
                return Err(InputError(
                    "[auth] user_pool_arn is only for kind = \"cognito\": remove it, or set the kind".into(),
                ))
            }
            _ => {}
        }
        let plan_keys = auth.rate_limit.is_some()
            || auth.burst_limit.is_some()
            || auth.quota_limit.is_some()
            || auth.quota_period.is_some();
        if plan_keys && auth.kind != AuthKind::ApiKey {
            return Err(InputError(
                "[auth] rate_limit, burst_limit and quota_* set the API key's usage plan: use them with kind = \"api_key\""
                    .into(),
            ));
        }
        if let Some(period) = auth.quota_period.as_deref().filter(|p| !["DAY", "WEEK", "MONTH"].contains(p)) {
            return Err(InputError(format!(
                "[auth] quota_period '{period}' is not one API Gateway has: use DAY, WEEK or MONTH"
            )));
        }
        if auth.rate_limit == Some(0)
            || auth.burst_limit.is_some_and(|b| b == 0 || b > 5000)
            || auth.quota_limit == Some(0)
        {
            return Err(InputError(
                "[auth] rate_limit, burst_limit and quota_limit must be above 0, the burst at most 5000".into(),
            ));
        }
        Ok(())
    }

    fn validate_secrets(&self) -> Result<(), InputError> {
        for (function, settings) in &self.functions {
            for (name, secret) in &settings.secrets {
                let is_variable = name.chars().next().is_some_and(|c| c.is_ascii_uppercase() || c == '_')
                    && name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
                if !is_variable {
                    return Err(InputError(format!(
                        "[functions.{function}.secrets] {name}: name it as an environment variable (A-Z, 0-9, _), \
                         e.g. OPENAI_API_KEY; the function gets NAME_SECRET_ARN"
                    )));
                }
                let is_name = (1..=512).contains(&secret.len())
                    && secret.chars().all(|c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c));
                let is_arn =
                    secret.starts_with("arn:") && secret.contains(":secretsmanager:") && secret.contains(":secret:");
                if !is_name && !is_arn {
                    return Err(InputError(format!(
                        "[functions.{function}.secrets] {name} = '{secret}' is neither a secret's name (letters, digits \
                         and /_+=.@-) nor its ARN: `aws secretsmanager list-secrets` shows both"
                    )));
                }
            }
        }
        Ok(())
    }

    fn validate_vpc(&self) -> Result<(), InputError> {
        let Some(vpc) = &self.vpc else { return Ok(()) };
        for (key, ids, prefix, most) in
            [("subnet_ids", &vpc.subnet_ids, "subnet-", 16), ("security_group_ids", &vpc.security_group_ids, "sg-", 5)]
        {
            if ids.is_empty() || ids.len() > most {
                return Err(InputError(format!(
                    "[vpc] {key} lists {}: give 1 to {most} (Lambda's limit), or remove [vpc] to run outside a VPC",
                    ids.len()
                )));
            }
            let is_id = |id: &str| {
                id.strip_prefix(prefix).is_some_and(|hex| {
                    matches!(hex.len(), 8 | 17) && hex.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
                })
            };
            if let Some(bad) = ids.iter().find(|id| !is_id(id)) {
                return Err(InputError(format!(
                    "[vpc] {key} has '{bad}', which is not an EC2 ID: give IDs such as {prefix}0abc12345def67890 \
                     (`aws ec2 describe-{}` lists them)",
                    if prefix == "sg-" { "security-groups" } else { "subnets" }
                )));
            }
        }
        Ok(())
    }

    fn validate_functions(&self) -> Result<(), InputError> {
        let tables = self.table_names();
        for (name, function) in &self.functions {
            if !FUNCTIONS.iter().any(|f| f.suffix == name) {
                names::validate_added(&self.service, "functions", name, names::FUNCTION_NAME_MOST)?;
                if function.handler.is_none() {
                    return Err(InputError(format!(
                        "[functions.{name}] is not one of the manual's functions, so it needs its handler, e.g. \
                         handler = \"handlers.api.{}.handler\"",
                        name.replace('-', "_")
                    )));
                }
            }
            if let Some(unknown) = function.tables.iter().flatten().find(|t| !tables.contains(&t.as_str())) {
                return Err(InputError(format!(
                    "[functions.{name}] tables names '{unknown}', which is not deployed: use some of {} (or declare \
                     it under [tables.{unknown}])",
                    tables.join(", ")
                )));
            }
            if function.memory.is_some_and(|m| !(128..=10240).contains(&m)) {
                return Err(InputError(format!("[functions.{name}] memory must be 128 to 10240 (MB)")));
            }
            if function.reserved_concurrency.is_some_and(|n| n < 0) {
                return Err(InputError(format!(
                    "[functions.{name}] reserved_concurrency must be 0 or more (0 stops the function; leave it out \
                     for no reservation)"
                )));
            }
            if let Some(provisioned) = function.provisioned_concurrency {
                if provisioned < 1 {
                    return Err(InputError(format!(
                        "[functions.{name}] provisioned_concurrency must be 1 or more: leave it out for none"
                    )));
                }
                if function.reserved_concurrency.is_some_and(|reserved| provisioned > reserved) {
                    return Err(InputError(format!(
                        "[functions.{name}] provisioned_concurrency {provisioned} is above its reserved_concurrency: \
                         Lambda provisions only within the reservation; raise reserved_concurrency or lower it"
                    )));
                }
                if name == PROVISIONED_NOT_YET {
                    return Err(InputError(format!(
                        "[functions.{name}] provisioned_concurrency is not supported for this function yet: \
                         04-websocket completes its environment after 02-lambda publishes versions, so a version \
                         would miss it; use reserved_concurrency"
                    )));
                }
            }
            if function.timeout.is_some_and(|t| !(1..=900).contains(&t)) {
                return Err(InputError(format!("[functions.{name}] timeout must be 1 to 900 (seconds)")));
            }
            let handler_ok = function.handler.as_deref().is_none_or(|h| {
                h.split('.').count() >= 2
                    && h.split('.').all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            });
            if !handler_ok {
                return Err(InputError(format!(
                    "[functions.{name}] handler must read module.path.function, e.g. handlers.api.conversation.handler"
                )));
            }
        }
        Ok(())
    }
}

/// What DynamoDB would refuse of a table's indexes ("Service, account, and table quotas": 20 per table;
/// names of 3 to 255 letters, digits, `_`, `-`, `.`).
fn validate_indexes(table: &str, indexes: &[IndexSettings]) -> Result<(), InputError> {
    if indexes.len() > 20 {
        return Err(InputError(format!("[tables.{table}] has {} indexes: DynamoDB allows 20", indexes.len())));
    }
    let mut names = std::collections::BTreeSet::new();
    for index in indexes {
        let name = &index.name;
        let well_formed = (3..=255).contains(&name.len())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !well_formed {
            return Err(InputError(format!(
                "[tables.{table}] index name '{name}' must be 3 to 255 letters, digits, '_', '-' or '.'"
            )));
        }
        if !names.insert(name) {
            return Err(InputError(format!("[tables.{table}] names the index '{name}' twice")));
        }
        if index.partition_key.is_empty() || index.sort_key.as_deref() == Some("") {
            return Err(InputError(format!(
                "[tables.{table}] index '{name}' needs a partition_key (and no empty sort_key)"
            )));
        }
        match &index.projection {
            IndexProjection::Kind(kind) if kind != "ALL" && kind != "KEYS_ONLY" => {
                return Err(InputError(format!(
                    "[tables.{table}] index '{name}' projection must be \"ALL\", \"KEYS_ONLY\" or a list of attributes"
                )));
            }
            IndexProjection::Include(attributes) if attributes.is_empty() || attributes.len() > 100 => {
                return Err(InputError(format!(
                    "[tables.{table}] index '{name}' projection lists 1 to 100 attributes (or say \"ALL\")"
                )));
            }
            _ => {}
        }
    }
    Ok(())
}

fn validate_region(region: &str) -> Result<(), InputError> {
    let well_formed = region.split('-').count() >= 3
        && region.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !well_formed {
        return Err(InputError(format!(
            "region '{region}' is not an AWS region name: use one such as us-east-1 or eu-west-2 (--region or AWS_REGION)"
        )));
    }
    crate::regions::validate(region)
}

/// A runtime of the manual's table (Lambda refuses any other at CreateFunction, mid-deploy).
fn validate_runtime(runtime: &str) -> Result<(), InputError> {
    if crate::manual::RUNTIMES.iter().any(|r| r.id == runtime) {
        return Ok(());
    }
    let known: Vec<&str> = crate::manual::RUNTIMES.iter().map(|r| r.id).collect();
    Err(InputError(format!(
        "runtime '{runtime}' is not a Python runtime Lambda offers: use one of {} (default {DEFAULT_RUNTIME})",
        known.join(", ")
    )))
}

/// The manual's settings for service `new-service`, as `run` resolves them with no flags and no file.
#[cfg(test)]
pub(crate) fn test_settings() -> Settings {
    let minimal = serde_json::json!({
        "service": "new-service", "stage": DEFAULT_STAGE, "region": DEFAULT_REGION, "backend": "backend",
        "frontend": "frontend", "runtime": DEFAULT_RUNTIME,
    });
    // Invariant: the fields without defaults are all given.
    serde_json::from_value(minimal).expect("minimal settings")
}

#[cfg(test)]
impl Settings {
    /// These settings with deployer.toml's `[functions]`, `[tables]`, `[[routes]]` and `[websocket]`.
    pub(crate) fn with_toml(mut self, text: &str) -> Settings {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Sections {
            #[serde(default)]
            functions: BTreeMap<String, FunctionSettings>,
            #[serde(default)]
            tables: BTreeMap<String, TableSettings>,
            #[serde(default)]
            routes: Vec<RouteSettings>,
            #[serde(default)]
            websocket: WebSocketSettings,
        }
        let sections: Sections = toml::from_str(text).expect("test TOML");
        (self.functions, self.tables, self.routes, self.websocket) =
            (sections.functions, sections.tables, sections.routes, sections.websocket);
        self
    }
}

#[cfg(test)]
mod duration_tests {
    use super::*;

    #[test]
    fn durations_take_plain_seconds_and_units_run_together_without_overflow() {
        for (text, seconds) in
            [("90", 90), ("90s", 90), ("45m", 2700), ("1h30m", 5400), ("2d", 172_800), ("1w", 604_800)]
        {
            assert_eq!(parse_duration_seconds(text), Ok(seconds), "{text}");
        }
        for bad in ["", "1x", "h", "1h 30m", "-5s", "1.5h", "99999999999999999999", "999999999999d", "11000d"] {
            assert!(parse_duration_seconds(bad).is_err(), "{bad} refused");
        }
    }
}
