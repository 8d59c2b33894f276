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
fn smoke_tests_pass_against_local_servers_and_fail_clearly_on_a_502_a_missing_cors_header_or_no_socket() {
    let d = Deployment::new("verify-smoke");
    d.deploy_without_domain().assert_ok();
    let echo = websocket_echo();
    let verify = |http: &str, ws: &str| d.run(&["step", "08-verify", "--verify-http-url", http, "--verify-ws-url", ws]);

    let healthy = http_backend(Backend::Healthy);
    let passed = verify(&healthy, &echo);
    passed.assert_ok();
    let said = notices(&passed);
    assert!(said.iter().any(|n| n.starts_with(&format!("HTTP smoke test passed: GET {healthy}/conversations"))));
    assert!(said.iter().any(|n| n.starts_with(&format!("WebSocket smoke test passed: {echo}"))), "{said:?}");

    let failing = [
        (http_backend(Backend::BadGateway), echo.clone(), "/conversations answered HTTP 502".to_string()),
        (
            http_backend(Backend::NoCors),
            echo.clone(),
            "answered without the access-control-allow-origin header".to_string(),
        ),
        (healthy.clone(), "ws://127.0.0.1:1/prod".to_string(), "WebSocket ws://127.0.0.1:1/prod did not open".into()),
    ];
    for (http, ws, expected) in failing {
        let failed = verify(&http, &ws);
        assert_eq!(failed.code, 1, "{}", failed.stderr);
        assert!(failed.stderr.contains("smoke test failed") && failed.stderr.contains(&expected), "{}", failed.stderr);
    }
}
