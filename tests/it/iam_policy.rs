//! docs/iam-policy.json, the deploying role's permissions, against the AWS calls deployer really makes:
//! a full `run`, `08-verify` and `destroy`, their operations read from `--timings`.

use crate::support::Deployment;
use std::collections::BTreeSet;

/// The IAM action that allows an SDK operation (`service:Operation` as `--timings` names it); `None` for
/// those that need no permission.
fn iam_action(call: &str) -> Option<String> {
    let (service, operation) = call.split_once(':')?;
    let renamed = |name: &str| Some(name.to_string());
    match (service, operation) {
        ("sts", "GetCallerIdentity") => None,
        // API Gateway's IAM actions are its HTTP verbs, for REST (v1) and WebSocket (v2) APIs alike.
        ("apigateway" | "apigatewayv2", op) => {
            let verb = [("Get", "GET"), ("Create", "POST"), ("Put", "PUT"), ("Update", "PATCH"), ("Delete", "DELETE")]
                .iter()
                .find(|(prefix, _)| op.starts_with(prefix))
                .map_or("POST", |(_, verb)| verb);
            renamed(&format!("apigateway:{verb}"))
        }
        ("cloudwatchlogs", op) => renamed(&format!("logs:{op}")),
        ("s3", "HeadBucket" | "ListObjectsV2") => renamed("s3:ListBucket"),
        ("s3", "DeleteObjects") => renamed("s3:DeleteObject"),
        ("s3", "GetBucketEncryption") => renamed("s3:GetEncryptionConfiguration"),
        ("s3", "GetPublicAccessBlock") => renamed("s3:GetBucketPublicAccessBlock"),
        ("s3", "PutPublicAccessBlock") => renamed("s3:PutBucketPublicAccessBlock"),
        ("s3", "HeadObject") => renamed("s3:GetObject"),
        (service, op) => renamed(&format!("{service}:{op}")),
    }
}

fn operations(output: &std::process::Output) -> Vec<String> {
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{said}");
    said.lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.contains(':') && !w.ends_with(':') && w.chars().next().is_some_and(|c| c.is_ascii_lowercase()))
        .map(String::from)
        .collect()
}

#[test]
fn the_policy_in_docs_allows_every_call_of_a_run_a_verify_and_a_destroy() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/iam-policy.json")).unwrap();
    let policy: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(policy["Version"], "2012-10-17");
    let allowed: BTreeSet<String> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["Effect"] == "Allow")
        .flat_map(|s| match &s["Action"] {
            serde_json::Value::String(one) => vec![one.clone()],
            many => many.as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_string()).collect(),
        })
        .collect();

    let d = Deployment::new("iam-calls");
    let args = d.deploy_args();
    let mut calls = BTreeSet::new();
    for args in [
        args.iter().map(String::as_str).collect::<Vec<_>>(),
        vec!["step", "08-verify"],
        vec!["destroy", "--yes", "--delete-data", "--delete-zone"],
    ] {
        calls.extend(operations(&d.command(&args).args(["--timings", "-q"]).output().unwrap()));
    }
    assert!(calls.len() > 80, "a run and a destroy make many kinds of call: {calls:?}");
    let missing: Vec<String> = calls
        .iter()
        .filter_map(|c| iam_action(c).filter(|a| !allowed.contains(a)).map(|a| format!("{a} (for {c})")))
        .collect();
    assert!(missing.is_empty(), "docs/iam-policy.json lacks: {missing:?}");
}
