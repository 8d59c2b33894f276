//! API Gateway helpers that more than one step uses: Lambda integration URIs, execute-api hosts, the
//! "exactly one API of this name" lookup, the Lambda invoke permission for API Gateway (03, 04), and the
//! stages: a REST stage's throttling (03, 07) and an auto-deploying WebSocket stage (04, 07), each with
//! its access logs and the account's CloudWatch role they need (`access_logs`); the API key and usage
//! plan of `[auth] api_key` (03, 07).

pub mod access_logs;
mod permission;
mod stages;
pub mod usage_plan;

use anyhow::{bail, Result};

pub use permission::{ensure_invoke_permissions, InvokePermission};
pub use stages::{
    ensure_websocket_stage, put_rest_stage_on, read_rest_stage, rest_access_log_differs, rest_deployment_exists,
    AutoDeployStage, LiveStage, LiveWebSocketStage, StageThrottling,
};

/// The URI API Gateway invokes a Lambda function through.
pub fn lambda_integration_uri(region: &str, partition: &str, function_arn: &str) -> String {
    format!("arn:{partition}:apigateway:{region}:lambda:path/2015-03-31/functions/{function_arn}/invocations")
}

/// `https://API_ID.execute-api.REGION.amazonaws.com` (REST) or with `wss://` (WebSocket).
pub fn execute_api_host(api_id: &str, region: &str) -> String {
    format!("{api_id}.execute-api.{region}.amazonaws.com")
}

/// Names are not unique in API Gateway and `Create*Api` has no idempotency token: the one API of this
/// name, `None` when there is none, an error listing them when there are several.
pub fn the_one_named(kind: &str, name: &str, ids: Vec<String>) -> Result<Option<String>> {
    match ids.len() {
        0 => Ok(None),
        1 => Ok(ids.into_iter().next()),
        _ => bail!(
            "{} {kind}s are named {name} ({}): deployer will not guess which one is the service's. Delete the \
             extra ones (keeping the one your clients use), then run again",
            ids.len(),
            ids.join(", ")
        ),
    }
}
