//! Invoking a function as API Gateway does: its result, or the gateway's own answer when it fails (502)
//! or outlasts the integration's 29 s (504), with the reason printed for the developer.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use deployer_steps::manual::INTEGRATION_TIMEOUT_MS;
use serde_json::Value;

use crate::answer::Answer;
use crate::report::Reporter;
use crate::runtime::{FunctionRuntime, Outcome};

/// The outcome as the API sees it.
#[derive(Debug)]
pub enum Invoked {
    /// The handler's result (JSON).
    Result(Vec<u8>),
    /// API Gateway's answer for a failure; the reason is already printed.
    Failed(Answer),
}

/// Every function's runtime, by name; built once at start.
#[derive(Clone)]
pub struct Functions(pub Arc<BTreeMap<String, Arc<FunctionRuntime>>>);

impl Functions {
    pub async fn invoke(&self, name: &str, event: Vec<u8>, reporter: &Reporter) -> Invoked {
        let Some(runtime) = self.0.get(name) else {
            reporter.note("error", &format!("no function {name}: 502"));
            return Invoked::Failed(Answer::internal_server_error());
        };
        let limit = Duration::from_millis(INTEGRATION_TIMEOUT_MS as u64);
        let outcome = match tokio::time::timeout(limit, runtime.invoke(event)).await {
            Ok(outcome) => outcome,
            Err(_) => {
                reporter.note("error", &format!("{name} did not answer within API Gateway's 29 s: 504"));
                return Invoked::Failed(Answer::timed_out());
            }
        };
        let failure = match outcome {
            Outcome::Response(result) => return Invoked::Result(result),
            Outcome::Error(document) => format!("{name} raised {}: 502", summary(&document)),
            Outcome::InitError(document) => {
                format!(
                    "{name} failed to start ({}): 502; fix the handler and save, the worker restarts",
                    summary(&document)
                )
            }
            Outcome::Exited(why) => format!("{name}: {why}: 502"),
            Outcome::TimedOut(after) => format!("{name} timed out after {} s (its timeout): 502", after.as_secs()),
        };
        reporter.note("error", &failure);
        Invoked::Failed(Answer::internal_server_error())
    }

    /// Restarts the workers of `names` (those not running stay stopped).
    pub async fn restart(&self, names: &[String]) {
        let restarts = names.iter().filter_map(|name| self.0.get(name)).map(|runtime| runtime.restart());
        futures::future::join_all(restarts).await;
    }

    pub async fn stop(&self) {
        futures::future::join_all(self.0.values().map(|runtime| runtime.stop())).await;
    }
}

/// `errorType: errorMessage` of awslambdaric's error document.
fn summary(document: &[u8]) -> String {
    let parsed: Value = serde_json::from_slice(document).unwrap_or_default();
    let field = |key: &str| parsed.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
    match (field("errorType"), field("errorMessage")) {
        (kind, message) if kind.is_empty() && message.is_empty() => String::from_utf8_lossy(document).into_owned(),
        (kind, message) => format!("{kind}: {message}"),
    }
}
