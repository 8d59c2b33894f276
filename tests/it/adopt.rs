//! A service first deployed by hand, with the manual's own aws CLI commands (`tests/manual/deploy.sh`, the
//! state every user migrates from), then taken over by deployer under the same names.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::proxy::{Proxy, Rules};
use crate::strict_scenarios::through;
use crate::support::{full_inventory, inventory, moto, Deployment, REGION};

/// Fails the test, naming how to get it, where the aws CLI is missing (`make test` installs it).
fn require_aws_cli() {
    let mut aws = Command::new("aws");
    aws.arg("--version").env("PATH", crate::support::tools_path());
    let found = aws.stdout(Stdio::null()).stderr(Stdio::null()).status();
    assert!(
        found.is_ok_and(|s| s.success()),
        "this test runs the manual's aws CLI commands, and there is no `aws` on PATH: {}",
        crate::support::GET_TOOLS
    );
}

/// Runs the manual's commands against moto for `d`'s service and `SERVICE.com`.
fn deploy_by_hand(d: &Deployment) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/manual/deploy.sh");
    let log = std::fs::File::create(d.path("manual.log")).unwrap();
    let status = Command::new("bash")
        .env("PATH", crate::support::tools_path())
        .arg(script)
        .args([&moto().url(), &d.service, &format!("{}.com", d.service)])
        .arg(d.path("backend"))
        .arg(d.path("frontend/dist"))
        .env("WORK_DIR", d.path("manual-work"))
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", REGION)
        .env_remove("AWS_REGION")
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", d.path("no-aws-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", d.path("no-aws-credentials"))
        .env("NO_PROXY", "127.0.0.1,localhost")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .status()
        .unwrap();
    let said = std::fs::read_to_string(d.path("manual.log")).unwrap_or_default();
    assert!(status.success(), "the manual's commands failed:\n{said}");
}

#[tokio::test]
async fn a_service_deployed_with_the_manuals_aws_cli_commands_is_adopted_whole_and_the_next_run_writes_nothing() {
    require_aws_cli();
    let d = Deployment::new("manual-made");
    deploy_by_hand(&d);
    // moto has no UpdateStage for WebSocket stages, which adopting the manual's stage needs.
    let proxy = Proxy::start(&moto().url(), Rules { play_websocket_update_stage: true, ..Rules::default() });
    let args = d.deploy_args();
    let adopted = through(&d, &proxy, &args.iter().map(String::as_str).collect::<Vec<_>>());
    adopted.assert_ok();
    assert_eq!(inventory(&d.service).await, adopted_inventory(&d.service));
    let again = through(&d, &proxy, &["run"]);
    again.assert_ok();
    assert_eq!(again.requests().1, 0, "the next run writes nothing: {:?}", again.changes());
}

/// One of everything, as deployer alone leaves it, plus what the manual made that deployer does not manage
/// and so leaves in place: its own deployment (deployer's adds the CORS answers and gateway responses), its
/// narrower invoke permissions, the POST method it puts on every path, and the `ws.` record it points at
/// the target moto does not report.
fn adopted_inventory(service: &str) -> crate::support::Inventory {
    let mut expected = full_inventory(service);
    expected.rest_deployments = 2;
    expected.rest_methods.push("POST /usage AWS_PROXY".to_string());
    for (function, statement) in [
        ("conversation-api", "apigateway-rest-conversations"),
        ("prompt-crud", "apigateway-rest-prompts"),
        ("usage-handler", "apigateway-rest-usage"),
        ("websocket-connect", "apigateway-ws-connect"),
        ("websocket-disconnect", "apigateway-ws-disconnect"),
        ("websocket-message", "apigateway-ws-default"),
    ] {
        expected.permissions.push(format!("{service}-{function}: {statement}"));
    }
    expected.records.push(format!("ws.{service}.com A"));
    for list in [&mut expected.rest_methods, &mut expected.permissions, &mut expected.records] {
        list.sort();
    }
    expected
}
