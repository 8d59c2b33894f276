//! The service's settings: what `deployer run` takes on the command line and records in the state file.

//! One file per section of deployer.toml, each with its type, its checks and their tests; `backend.rs`
//! resolves the manual's functions, tables and routes with the file's, and `quotas.rs` holds them to AWS's.

mod auth;
mod backend;
mod cors;
mod durations;
mod functions;
mod quotas;
mod release;
mod routes;
mod tables;
mod vpc;
mod websocket;

pub use auth::{AuthKind, AuthSettings};
pub use backend::{table_variable, Table, DEFAULT_MEMORY_MB};
pub use cors::DEFAULT_DEV_CORS_ORIGINS;
pub use durations::{parse_duration_seconds, DURATION_PATTERN};
pub use functions::FunctionSettings;
pub use release::{parse_canary, CanaryStage, ReleaseSettings, DEFAULT_KEEP_RELEASES};
pub use routes::RouteSettings;
pub use tables::{IndexProjection, IndexSettings, TableSettings};
pub use vpc::VpcSettings;
pub use websocket::{WebSocketRouteSettings, WebSocketSettings};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

pub use crate::error::InputError;
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
    #[serde(
        default,
        alias = "cors_origin",
        deserialize_with = "cors::one_or_many",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub cors_origins: Vec<String>,
    /// Origins the dev stage allows besides: a local dev server.
    #[serde(default = "cors::default_dev_cors_origins")]
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
    /// How releases are kept (deployer.toml `[release]`).
    #[serde(default, skip_serializing_if = "ReleaseSettings::is_empty")]
    pub release: ReleaseSettings,
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
    /// `run --canary`: this run's canary instead of `[release] canary` ("off": none). Never recorded.
    #[serde(skip)]
    pub canary_flag: Option<String>,
}

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
        self.validate_release()?;
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
