//! deployer.toml `[functions.NAME]`: changes to the manual's functions, functions of the file's own, and
//! the secrets they read.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::{InputError, Settings};
use crate::manual::FUNCTIONS;
use crate::names;

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

/// The function whose environment another step completes (the WebSocket management endpoint).
const PROVISIONED_NOT_YET: &str = "websocket-message";

impl Settings {
    pub(super) fn validate_functions(&self) -> Result<(), InputError> {
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

    pub(super) fn validate_secrets(&self) -> Result<(), InputError> {
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
}
