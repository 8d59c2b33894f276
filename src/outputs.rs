//! `deployer outputs`: what a deployment gives its users, read from the state file.

use anyhow::Result;
use deployer_steps::InputError;
use std::path::Path;

use crate::cli::{Output, OutputsFormat};
use crate::state::{self, State};

/// (name, value) pairs, in the order people read them; only those recorded so far.
pub fn collect(state: &State) -> Vec<(&'static str, String)> {
    let get = |step: &str, key: &str| state.steps.get(step).and_then(|s| s.outputs.get(key)).cloned();
    let s = &state.settings;
    let service = &s.service;
    let table = |suffix: &str| {
        Some(format!("{service}-{suffix}")).filter(|_| get("01-dynamodb", &format!("table_arn.{suffix}")).is_some())
    };
    let candidates = [
        ("SERVICE_NAME", Some(service.clone())),
        ("AWS_REGION", Some(s.region.clone())),
        ("STAGE", Some(s.stage.clone())),
        ("SITE_URL", get("06-domain", "site_url").or_else(|| get("05-frontend", "site_url"))),
        ("API_BASE_URL", get("06-domain", "api_url").or_else(|| get("03-api-gateway", "invoke_url"))),
        ("WS_URL", get("06-domain", "ws_url").or_else(|| get("04-websocket", "websocket_url"))),
        ("API_INVOKE_URL", get("03-api-gateway", "invoke_url")),
        ("WEBSOCKET_URL", get("04-websocket", "websocket_url")),
        ("DEV_API_URL", get("07-stages", "dev_invoke_url")),
        ("DEV_WS_URL", get("07-stages", "dev_websocket_url")),
        ("REST_API_ID", get("03-api-gateway", "rest_api_id")),
        ("WEBSOCKET_API_ID", get("04-websocket", "websocket_api_id")),
        ("CONVERSATIONS_TABLE", table("conversations")),
        ("PROMPTS_TABLE", table("prompts")),
        ("USAGE_TABLE", table("usage")),
        ("CONNECTIONS_TABLE", table("websocket-connections")),
        ("LAMBDA_PREFIX", get("02-lambda", "role_arn").map(|_| format!("{service}-"))),
        ("LAMBDA_ROLE_ARN", get("02-lambda", "role_arn")),
        ("S3_BUCKET", get("05-frontend", "bucket")),
        ("CLOUDFRONT_DISTRIBUTION_ID", get("05-frontend", "distribution_id")),
        ("CLOUDFRONT_DOMAIN", get("05-frontend", "distribution_domain")),
        ("HOSTED_ZONE_ID", get("06-domain", "zone_id")),
        ("NAME_SERVERS", get("06-domain", "name_servers")),
        ("CERTIFICATE_ARN", get("06-domain", "certificate_arn")),
    ];
    candidates.into_iter().filter_map(|(name, value)| value.map(|v| (name, v))).collect()
}

pub fn show(state_path: &Path, output: Output, format: OutputsFormat) -> Result<()> {
    let Some(state) = state::load(state_path)? else {
        return Err(InputError(format!(
            "there is no state file at {}: deploy first with `deployer run --service NAME --domain DOMAIN`",
            state_path.display()
        ))
        .into());
    };
    let values = collect(&state);
    match (output, format) {
        (Output::Json, _) => {
            let map: serde_json::Map<String, serde_json::Value> =
                values.into_iter().map(|(k, v)| (k.to_string(), serde_json::Value::String(v))).collect();
            out!("{}", serde_json::Value::Object(map));
        }
        (Output::Text, OutputsFormat::Env) => {
            out!("# Written by `deployer outputs --format env` from {}", state_path.display());
            for (name, value) in values {
                out!("{name}={}", shell_quote(&value));
            }
        }
        (Output::Text, OutputsFormat::Text) => {
            let width = values.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
            for (name, value) in values {
                out!("{name:<width$}  {value}");
            }
        }
    }
    Ok(())
}

/// Quotes a value for `KEY=value` lines that shells and dotenv loaders both read.
fn shell_quote(value: &str) -> String {
    if value.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:/@,+=".contains(c)) {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_values_are_quoted_only_when_needed() {
        assert_eq!(shell_quote("https://api.example.com"), "https://api.example.com");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
