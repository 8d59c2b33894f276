//! The outputs steps exchange, each named once: the step that records it and its key in that step's
//! outputs. A step records its own under `Output::key` and reads another's with
//! [`crate::Context::get`], so no key is spelled twice and no step imports another.

use std::borrow::Cow;

use crate::manual::ids;

/// One recorded output: the step that records it, and its key there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub step: &'static str,
    pub key: Cow<'static, str>,
}

impl Output {
    const fn of(step: &'static str, key: &'static str) -> Output {
        Output { step, key: Cow::Borrowed(key) }
    }
}

/// `table_arn.SUFFIX` of `01-dynamodb`.
pub fn table_arn(suffix: &str) -> Output {
    Output { step: ids::DYNAMODB, key: Cow::Owned(format!("table_arn.{suffix}")) }
}

pub const ROLE_ARN: Output = Output::of(ids::LAMBDA, "role_arn");
pub const CODE_SHA256: Output = Output::of(ids::LAMBDA, "code_sha256");

/// Outputs recorded for people (`deployer status`) or for the step itself, read by no later step: they do
/// not count in the fingerprints of the steps after, so new code does not make 03 and 04 look again.
pub fn read_by_no_other_step(key: &str) -> bool {
    key == CODE_SHA256.key
        || key == REST_METHODS.key
        || key == FUNCTIONS.key
        || key == TABLES.key
        || key == WEBSOCKET_ROUTES.key
        || key.starts_with("role_arn.")
        || key.starts_with("reserved_concurrency.")
        || key.starts_with("provisioned_concurrency.")
        // The binary's releases read these, not the steps (03 and 04 invoke `function_arn.X`'s alias).
        || key == SITE_DIGEST.key
        || key.starts_with("live_version.")
        || key.starts_with("canary_version.")
        || key.starts_with("invoke_arn.")
}

/// Outputs that only the steps writing to functions read: the functions' revisions, which tell 04 that
/// 02 changed an answering function it keeps a version of. 03 and 04 record theirs after their outputs
/// are complete, so they count in no fingerprint of a step that starts on outputs (05, 06, 07).
pub fn read_by_function_writers_only(key: &str) -> bool {
    key == crate::revisions::KEY
}

/// The tables `01-dynamodb` made and keeps, by name after `SERVICE-`, one per line: a table that left
/// deployer.toml stays listed (and kept) until `run --delete-data` deletes it.
pub const TABLES: Output = Output::of(ids::DYNAMODB, "tables");

/// The functions `02-lambda` made, by name after `SERVICE-`, one per line: what it deletes once
/// deployer.toml no longer has them.
pub const FUNCTIONS: Output = Output::of(ids::LAMBDA, "functions");

/// `role_arn.NAME` of `02-lambda`: the role of a function that lists its `tables`; empty once it went.
pub fn own_role_arn(function: &str) -> Output {
    Output { step: ids::LAMBDA, key: Cow::Owned(format!("role_arn.{function}")) }
}

/// The WebSocket route keys `04-websocket` made, one per line: what it deletes once no setting names them.
pub const WEBSOCKET_ROUTES: Output = Output::of(ids::WEBSOCKET, "websocket_routes");

/// The REST methods `03-api-gateway` made, "VERB PATH" per line: what it may delete once no route names it.
pub const REST_METHODS: Output = Output::of(ids::API_GATEWAY, "methods");

/// `function_arn.SUFFIX` of `02-lambda`.
pub fn function_arn(suffix: &str) -> Output {
    Output { step: ids::LAMBDA, key: Cow::Owned(format!("function_arn.{suffix}")) }
}

/// `invoke_arn.SUFFIX` of `02-lambda`: the function's `live` alias's ARN (04 records those of the functions
/// that answer WebSocket clients under the same key, the first time).
pub fn invoke_arn(suffix: &str) -> Output {
    Output { step: ids::LAMBDA, key: Cow::Owned(format!("invoke_arn.{suffix}")) }
}

pub const SITE_DIGEST: Output = Output::of(ids::FRONTEND, "site_digest");
pub const REST_API_ID: Output = Output::of(ids::API_GATEWAY, "rest_api_id");
pub const ROOT_RESOURCE_ID: Output = Output::of(ids::API_GATEWAY, "root_resource_id");
pub const DEPLOYMENT_ID: Output = Output::of(ids::API_GATEWAY, "deployment_id");
pub const INVOKE_URL: Output = Output::of(ids::API_GATEWAY, "invoke_url");

pub const WEBSOCKET_API_ID: Output = Output::of(ids::WEBSOCKET, "websocket_api_id");
pub const WEBSOCKET_URL: Output = Output::of(ids::WEBSOCKET, "websocket_url");
pub const MANAGEMENT_ENDPOINT: Output = Output::of(ids::WEBSOCKET, "management_endpoint");

pub const BUCKET: Output = Output::of(ids::FRONTEND, "bucket");
pub const DISTRIBUTION_ID: Output = Output::of(ids::FRONTEND, "distribution_id");
pub const DISTRIBUTION_ARN: Output = Output::of(ids::FRONTEND, "distribution_arn");
pub const DISTRIBUTION_DOMAIN: Output = Output::of(ids::FRONTEND, "distribution_domain");

/// The main stage's allowed origins, comma-separated (`*` for any), read by `08-verify`.
pub const CORS_ORIGINS: Output = Output::of(ids::STAGES, "cors_origins");

pub const ZONE_ID: Output = Output::of(ids::DOMAIN, "zone_id");
/// The us-east-1 certificate (CloudFront's), read by `deployer doctor`.
pub const CERTIFICATE_ARN: Output = Output::of(ids::DOMAIN, "certificate_arn");
pub const API_URL: Output = Output::of(ids::DOMAIN, "api_url");
pub const WS_URL: Output = Output::of(ids::DOMAIN, "ws_url");

/// Both steps that serve a stage record it under this key.
pub const STAGE_KEY: &str = "stage";
/// Each step that writes a site URL (05, then 06 with the domain) records it under this key.
pub const SITE_URL_KEY: &str = "site_url";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_the_names_older_state_files_have() {
        assert_eq!(function_arn("prompt-crud").key, "function_arn.prompt-crud");
        assert_eq!(table_arn("usage").key, "table_arn.usage");
        assert_eq!((REST_API_ID.step, REST_API_ID.key.as_ref()), ("03-api-gateway", "rest_api_id"));
    }
}
