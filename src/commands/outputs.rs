//! `deployer outputs`: what a deployment gives its users, read from the state file (and the API key's
//! value, which is never in it, from API Gateway).

use anyhow::Result;
use deployer_steps::aws::AwsContext;
use deployer_steps::manual::ids;
use deployer_steps::outputs::{self as keys, Output as Key, SITE_URL_KEY};
use deployer_steps::settings::table_variable;
use deployer_steps::settings::AuthKind;
use deployer_steps::InputError;
use std::borrow::Cow;

use super::common::connect;
use crate::cli::{Cli, Output, OutputsFormat};
use crate::state::{self, State};

/// (name, value) pairs, in the order people read them; only those recorded so far.
pub fn collect(state: &State) -> Vec<(Cow<'static, str>, String)> {
    let get = |step: &str, key: &str| state.steps.get(step).and_then(|s| s.outputs.get(key)).cloned();
    let typed = |key: &Key| get(key.step, &key.key);
    let s = &state.settings;
    let service = &s.service;
    let table =
        |suffix: &str| Some(format!("{service}-{suffix}")).filter(|_| typed(&keys::table_arn(suffix)).is_some());
    let candidates = vec![
        ("SERVICE_NAME", Some(service.clone())),
        ("AWS_REGION", Some(s.region.clone())),
        ("STAGE", Some(s.stage.clone())),
        ("SITE_URL", get(ids::DOMAIN, SITE_URL_KEY).or_else(|| get(ids::FRONTEND, SITE_URL_KEY))),
        ("API_BASE_URL", typed(&keys::API_URL).or_else(|| typed(&keys::INVOKE_URL))),
        ("WS_URL", typed(&keys::WS_URL).or_else(|| typed(&keys::WEBSOCKET_URL))),
        ("API_INVOKE_URL", typed(&keys::INVOKE_URL)),
        ("WEBSOCKET_URL", typed(&keys::WEBSOCKET_URL)),
        ("DEV_API_URL", get(ids::STAGES, "dev_invoke_url")),
        ("DEV_WS_URL", get(ids::STAGES, "dev_websocket_url")),
        ("REST_API_ID", typed(&keys::REST_API_ID)),
        ("WEBSOCKET_API_ID", typed(&keys::WEBSOCKET_API_ID)),
    ];
    let tables = s.table_names().into_iter().map(|name| (table_variable(name), name));
    let mut candidates: Vec<(Cow<'static, str>, Option<String>)> =
        candidates.into_iter().map(|(name, value)| (Cow::Borrowed(name), value)).collect();
    candidates.extend(tables.map(|(variable, name)| (Cow::Owned(variable), table(name))));
    let more = [
        ("LAMBDA_PREFIX", typed(&keys::ROLE_ARN).map(|_| format!("{service}-"))),
        ("LAMBDA_ROLE_ARN", typed(&keys::ROLE_ARN)),
        ("S3_BUCKET", typed(&keys::BUCKET)),
        ("CLOUDFRONT_DISTRIBUTION_ID", typed(&keys::DISTRIBUTION_ID)),
        ("CLOUDFRONT_DOMAIN", typed(&keys::DISTRIBUTION_DOMAIN)),
        ("HOSTED_ZONE_ID", typed(&keys::ZONE_ID)),
        ("NAME_SERVERS", get(ids::DOMAIN, "name_servers")),
        ("CERTIFICATE_ARN", get(ids::DOMAIN, "certificate_arn")),
    ];
    candidates.extend(more.into_iter().map(|(name, value)| (Cow::Borrowed(name), value)));
    candidates.into_iter().filter_map(|(name, value)| value.filter(|v| !v.is_empty()).map(|v| (name, v))).collect()
}

/// Where users reach the deployment, for the end of a run: (label, URL), each URL once.
pub fn urls(state: &State) -> Vec<(&'static str, String)> {
    let values = collect(state);
    let get = |name: &str| values.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone());
    let candidates = [
        ("site", get("SITE_URL")),
        ("API", get("API_BASE_URL")),
        ("WebSocket", get("WS_URL")),
        ("API (execute-api)", get("API_INVOKE_URL")),
        ("WebSocket (execute-api)", get("WEBSOCKET_URL")),
        ("CloudFront", get("CLOUDFRONT_DOMAIN").map(|domain| format!("https://{domain}"))),
    ];
    let mut urls: Vec<(&'static str, String)> = Vec::new();
    for (label, url) in candidates {
        if let Some(url) = url.filter(|u| !urls.iter().any(|(_, seen)| seen == u)) {
            urls.push((label, url));
        }
    }
    urls
}

/// The API key's value, asked of API Gateway when `[auth] kind = "api_key"` made one: it is never in the
/// state file.
async fn api_key(cli: &Cli, state: &State) -> Result<Option<(&'static str, String)>> {
    let recorded = state.steps.get(ids::STAGES).and_then(|s| s.outputs.get("api_key_id"));
    let Some(id) = recorded.filter(|id| !id.is_empty() && state.settings.auth.kind == AuthKind::ApiKey) else {
        return Ok(None);
    };
    let clients = connect(cli, &state.settings).await?;
    let got = clients.apigateway().get_api_key().api_key(id).include_value(true).send().await;
    let got = got.aws_context(|| format!("apigateway:GetApiKey {id} (its value, for API_KEY)"))?;
    Ok(got.value().map(|v| ("API_KEY", v.to_string())))
}

pub async fn show(cli: &Cli, format: OutputsFormat) -> Result<()> {
    let (state_path, output) = (cli.state.as_path(), cli.output);
    let Some(state) = state::load(state_path)? else {
        return Err(InputError(format!(
            "there is no state file at {}: nothing is deployed from here yet; start with `deployer init --service NAME` (it writes deployer.toml), then `deployer run`",
            state_path.display()
        ))
        .into());
    };
    let mut values = collect(&state);
    values.extend(api_key(cli, &state).await?.map(|(name, key)| (Cow::Borrowed(name), key)));
    match (output, format) {
        (Output::Json, _) => {
            let map: serde_json::Map<String, serde_json::Value> =
                values.into_iter().map(|(k, v)| (k.to_string(), serde_json::Value::String(v))).collect();
            out!("{}", serde_json::Value::Object(map));
        }
        (Output::Text | Output::Markdown, OutputsFormat::Env) => {
            out!("# Written by `deployer outputs --format env` from {}", state_path.display());
            for (name, value) in values {
                out!("{name}={}", shell_quote(&value));
            }
        }
        (Output::Text | Output::Markdown, OutputsFormat::Text) => {
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
