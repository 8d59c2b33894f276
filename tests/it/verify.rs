//! 08-verify: the configuration check against moto, and the smoke tests against local servers.

use crate::servers::{http_backend, websocket_echo, Backend};
use crate::support::{full_inventory, inventory, sdk_config, Deployment, Outcome};

fn notices(outcome: &Outcome) -> Vec<String> {
    outcome
        .events
        .iter()
        .filter(|e| e["event"] == "notice" && e["step"] == "08-verify")
        .map(|e| e["message"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn verify_fails_naming_a_function_deleted_behind_its_back_and_run_restores_it() {
    let d = Deployment::new("verify-drift");
    let deployed = d.deploy();
    deployed.assert_ok();
    let said = notices(&deployed);
    // The run compared 01-07 with AWS already; its verify trusts that.
    assert!(
        said.iter().any(|n| n == "configuration: steps 01-07 were compared with AWS earlier in this run"),
        "{said:?}"
    );

    let lambda = aws_sdk_lambda::Client::new(&sdk_config().await);
    lambda.delete_function().function_name("verify-drift-usage-handler").send().await.unwrap();
    let verified = d.run(&["step", "08-verify"]);
    assert_eq!(verified.code, 1, "{}", verified.stderr);
    assert!(
        verified.stderr.contains("02-lambda: function verify-drift-usage-handler is missing"),
        "{}",
        verified.stderr
    );
    assert!(verified.stderr.contains("run `deployer run` to restore it"), "{}", verified.stderr);
    assert_eq!(d.state()["steps"]["02-lambda"]["status"], "failed", "the drifted step is re-run next time");

    d.deploy().assert_ok();
    assert_eq!(inventory(&d.service).await, full_inventory(&d.service));
    let verified = d.run(&["step", "08-verify"]);
    verified.assert_ok();
    let said = notices(&verified);
    assert!(said.iter().any(|n| n.starts_with("configuration: the") && n.contains("01-dynamodb")), "{said:?}");
}

#[test]
fn smoke_tests_against_moto_without_a_data_plane_are_reported_skipped_never_passed() {
    let d = Deployment::new("verify-moto");
    d.deploy_without_domain().assert_ok();
    let verified = d.run(&["step", "08-verify"]);
    verified.assert_ok();
    let said = notices(&verified);
    for kind in ["HTTP", "WebSocket"] {
        let skipped = format!("{kind} smoke test skipped: the endpoint {} serves no API data plane", d.endpoint);
        assert!(said.iter().any(|n| n.starts_with(&skipped)), "{said:?}");
    }
    assert!(!said.iter().any(|n| n.contains("passed")), "{said:?}");
}

#[test]
fn smoke_tests_pass_against_local_servers_and_fail_clearly_on_a_502_wrong_cors_answers_or_no_socket() {
    let d = Deployment::new("verify-smoke");
    d.deploy_without_domain().assert_ok();
    let echo = websocket_echo();
    let verify = |http: &str, ws: &str| d.run(&["step", "08-verify", "--verify-http-url", http, "--verify-ws-url", ws]);

    let healthy = http_backend(Backend::Healthy);
    let passed = verify(&healthy, &echo);
    passed.assert_ok();
    let said = notices(&passed);
    let distribution =
        d.state()["steps"]["05-frontend"]["outputs"]["distribution_domain"].as_str().unwrap().to_string();
    let passed_from = format!(
        "HTTP smoke test passed: GET {healthy}/conversations answered 200 with CORS headers for https://{distribution}"
    );
    assert!(
        said.iter().any(|n| n.starts_with(&passed_from)),
        "sent from the site's origin, the CloudFront URL: {said:?}"
    );
    assert!(said.iter().any(|n| n.starts_with(&format!("WebSocket smoke test passed: {echo}"))), "{said:?}");

    let failing = [
        (http_backend(Backend::BadGateway), echo.clone(), "/conversations answered HTTP 502".to_string()),
        (
            http_backend(Backend::NoCors),
            echo.clone(),
            "answered without the access-control-allow-origin header".to_string(),
        ),
        (
            http_backend(Backend::AllowsEveryOrigin),
            echo.clone(),
            "allows https://deployer-cors-probe.invalid, which is not one of the stage's origins".to_string(),
        ),
        (
            http_backend(Backend::NoCorsOnErrors),
            echo.clone(),
            "answered HTTP 403 without access-control-allow-origin, so browsers report API Gateway's own errors"
                .to_string(),
        ),
        (healthy.clone(), "ws://127.0.0.1:1/prod".to_string(), "WebSocket ws://127.0.0.1:1/prod did not open".into()),
    ];
    for (http, ws, expected) in failing {
        let failed = verify(&http, &ws);
        assert_eq!(failed.code, 1, "{}", failed.stderr);
        assert!(failed.stderr.contains("smoke test failed") && failed.stderr.contains(&expected), "{}", failed.stderr);
    }
}

/// The backend's side of CORS, run by python3: its answers allow a listed origin (the stage's list
/// first, else `CORS_ORIGINS`) and name the first listed one to any other.
#[test]
fn the_backends_answers_echo_an_allowed_origin_from_the_stages_list_and_refuse_others() {
    let script = r#"
import json, os, sys
sys.path.insert(0, sys.argv[1])
from utils.http import response
os.environ["CORS_ORIGINS"] = "https://env.example"
def origin(event):
    return response(200, {}, event)["headers"]["Access-Control-Allow-Origin"]
stage = {"stageVariables": {"corsOrigins": "https://a.example,http://localhost:5173"}}
print(json.dumps([
    origin({**stage, "headers": {"origin": "http://localhost:5173"}}),
    origin({**stage, "headers": {"Origin": "https://evil.example"}}),
    origin({"headers": {"Origin": "https://env.example"}}),
    origin(None),
]))
"#;
    let backend = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/backend");
    let ran = std::process::Command::new("python3").args(["-c", script, backend]).output().unwrap();
    assert!(ran.status.success(), "{}", String::from_utf8_lossy(&ran.stderr));
    let answered: Vec<String> = serde_json::from_slice(&ran.stdout).unwrap();
    assert_eq!(answered, ["http://localhost:5173", "https://a.example", "https://env.example", "https://env.example"]);
}
