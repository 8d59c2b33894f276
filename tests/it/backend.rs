//! Any backend: functions, tables, REST routes and WebSocket routes added to and removed from the manual's
//! with deployer.toml alone, each read back from AWS independently of deployer's own output.

use crate::strict_scenarios::{strict_proxy, through};
use crate::support::{inventory, sdk_config, Deployment, Outcome};
use serde_json::Value;

/// A function, a table, a REST route and a WebSocket route of the file's own.
const ADDED: &str = r#"
[functions.billing-webhook]
handler = "handlers.api.billing.handler"
memory = 256
tables = ["usage", "invoices"]

[tables.invoices]
partition_key = "invoiceId"

[[routes]]
path = "/billing/{id}"
methods = ["GET", "POST"]
function = "billing-webhook"

[[websocket.routes]]
route_key = "sendMessage"
function = "billing-webhook"
"#;

const BILLING_HANDLER: &str = "import os\n\n\ndef handler(event, context):\n    return {\"statusCode\": 200, \"body\": os.environ[\"INVOICES_TABLE\"]}\n";

/// A deployment whose deployer.toml is `init`'s (the manual's shape, written out).
pub fn initialised(service: &str) -> Deployment {
    let d = Deployment::new(service);
    d.run(&["init", "--service", service]).assert_ok();
    std::fs::write(d.path("backend/handlers/api/billing.py"), BILLING_HANDLER).unwrap();
    d
}

pub fn write_config(d: &Deployment, extra: &str) {
    let base = std::fs::read_to_string(d.path("deployer.base.toml")).unwrap_or_else(|_| {
        let base = std::fs::read_to_string(d.path("deployer.toml")).unwrap();
        std::fs::write(d.path("deployer.base.toml"), &base).unwrap();
        base
    });
    std::fs::write(d.path("deployer.toml"), format!("{base}\n{extra}")).unwrap();
}

fn notices(outcome: &Outcome) -> Vec<String> {
    let notices = outcome.events.iter().filter(|e| e["event"] == "notice");
    notices.filter_map(|e| e["message"].as_str().map(String::from)).collect()
}

fn deleted(outcome: &Outcome) -> Vec<String> {
    let changes = outcome.changes().into_iter();
    changes.filter(|(_, action, _)| action == "deleted").map(|(resource, _, _)| resource).collect()
}

/// The role's inline policy, as IAM holds it.
async fn role_policy(role: &str, policy: &str) -> Value {
    let iam = aws_sdk_iam::Client::new(&sdk_config().await);
    let got = iam.get_role_policy().role_name(role).policy_name(policy).send().await.unwrap();
    let decoded = percent_encoding::percent_decode_str(got.policy_document()).decode_utf8_lossy().into_owned();
    serde_json::from_str(&decoded).unwrap()
}

fn table_resources(policy: &Value) -> Vec<String> {
    let statements = policy["Statement"].as_array().unwrap();
    let tables = statements.iter().find(|s| s["Sid"] == "ServiceTables").expect("a table statement");
    let mut resources: Vec<String> =
        tables["Resource"].as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_string()).collect();
    resources.sort();
    resources
}

#[tokio::test]
async fn a_function_table_route_and_websocket_route_are_added_then_removed_with_deployer_toml_alone() {
    let d = initialised("any-add");
    d.run(&["run"]).assert_ok();
    let manual = inventory("any-add").await;

    write_config(&d, ADDED);
    let added = d.run(&["run"]);
    added.assert_ok();
    let config = sdk_config().await;
    let lambda = aws_sdk_lambda::Client::new(&config);
    let function = lambda.get_function_configuration().function_name("any-add-billing-webhook").send().await.unwrap();
    assert_eq!(function.memory_size(), Some(256));
    assert_eq!(function.handler(), Some("handlers.api.billing.handler"));
    assert!(function.role().unwrap().ends_with(":role/any-add-billing-webhook"), "a role of its own: {function:?}");
    let variables = function.environment().unwrap().variables().unwrap();
    assert_eq!(variables.get("INVOICES_TABLE").map(String::as_str), Some("any-add-invoices"));
    assert_eq!(variables.get("USAGE_TABLE").map(String::as_str), Some("any-add-usage"));
    assert!(!variables.contains_key("CONVERSATIONS_TABLE"), "only the tables it may reach: {variables:?}");
    assert!(variables.contains_key("WEBSOCKET_MANAGEMENT_ENDPOINT"), "it answers a WebSocket route");

    let policy = role_policy("any-add-billing-webhook", "any-add-lambda-access").await;
    let account_tables = "arn:aws:dynamodb:us-east-1:123456789012:table";
    assert_eq!(
        table_resources(&policy),
        [
            format!("{account_tables}/any-add-invoices"),
            format!("{account_tables}/any-add-invoices/index/*"),
            format!("{account_tables}/any-add-usage"),
            format!("{account_tables}/any-add-usage/index/*"),
        ]
    );
    let shared = role_policy("any-add-lambda-role", "any-add-lambda-access").await;
    assert!(table_resources(&shared).contains(&format!("{account_tables}/any-add-invoices")), "every table");

    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let table = dynamodb.describe_table().table_name("any-add-invoices").send().await.unwrap();
    let keys: Vec<&str> = table.table().unwrap().key_schema().iter().map(|k| k.attribute_name()).collect();
    assert_eq!(keys, ["invoiceId"]);

    let now = inventory("any-add").await;
    for method in ["GET /billing/{id} AWS_PROXY", "POST /billing/{id} AWS_PROXY", "OPTIONS /billing/{id} MOCK"] {
        assert!(now.rest_methods.contains(&method.to_string()), "{method} in {:?}", now.rest_methods);
    }
    assert!(now.routes.contains(&"sendMessage -> any-add-billing-webhook:live".to_string()), "{:?}", now.routes);
    assert_eq!(now.websocket_integrations, manual.websocket_integrations + 1);
    assert!(now.permissions.iter().any(|p| p.starts_with("any-add-billing-webhook: ")), "{:?}", now.permissions);

    let again = d.run(&["run"]);
    again.assert_ok();
    assert_eq!(again.requests().1, 0, "a re-run writes nothing: {:?}", again.changes());
    assert_eq!(inventory("any-add").await, now, "and duplicates nothing");

    write_config(&d, "");
    let plan = d.run(&["plan"]);
    plan.assert_ok();
    let to_delete = deleted(&plan);
    for resource in [
        "function any-add-billing-webhook (no longer in deployer.toml)",
        "role any-add-billing-webhook",
        "route sendMessage (no setting names it)",
        "resource /billing and what is under it (no route names it)",
        "integration any-add-billing-webhook:live (no route targets it)",
    ] {
        assert!(to_delete.iter().any(|r| r == resource), "plan shows {resource} first: {to_delete:?}");
    }
    let removed = d.run(&["run"]);
    removed.assert_ok();
    assert!(
        notices(&removed).iter().any(|n| n.contains("table any-add-invoices") && n.contains("--delete-data")),
        "the table is kept, and the notice says how to delete it: {:?}",
        notices(&removed)
    );
    let mut after = inventory("any-add").await;
    assert!(after.tables.contains(&"any-add-invoices".to_string()), "data is never deleted unless asked");
    after.tables.retain(|t| t != "any-add-invoices");
    // The REST API has more deployments now; everything else is as the manual's shape left it.
    after.rest_deployments = manual.rest_deployments;
    assert_eq!(after, manual);

    let delete_data = d.run(&["run", "--delete-data"]);
    delete_data.assert_ok();
    assert!(deleted(&delete_data).contains(&"table any-add-invoices".to_string()), "{:?}", delete_data.changes());
    assert!(!inventory("any-add").await.tables.contains(&"any-add-invoices".to_string()));
}

#[tokio::test]
async fn a_backend_without_websocket_functions_has_no_websocket_api_and_switching_them_off_deletes_it() {
    let d = Deployment::new("any-nows");
    std::fs::write(d.path("deployer.toml"), "service = \"any-nows\"\n").unwrap();
    d.run(&["run"]).assert_ok();
    assert_eq!(inventory("any-nows").await.websocket_apis.len(), 1);

    let off: String = ["websocket-connect", "websocket-disconnect", "websocket-message"]
        .iter()
        .map(|f| format!("[functions.{f}]\nenabled = false\n"))
        .collect();
    std::fs::write(d.path("deployer.toml"), format!("service = \"any-nows\"\n{off}")).unwrap();
    let run = d.run(&["run"]);
    run.assert_ok();
    assert!(deleted(&run).iter().any(|r| r == "WebSocket API any-nows-websocket-api"), "{:?}", run.changes());
    let now = inventory("any-nows").await;
    assert_eq!(now.websocket_apis, Vec::<String>::new());
    assert!(!now.functions.iter().any(|f| f.contains("websocket")), "{:?}", now.functions);
    assert!(now.tables.contains(&"any-nows-websocket-connections".to_string()), "tables stay");
    let outputs = d.run(&["outputs"]);
    assert!(!outputs.stdout.contains("WEBSOCKET_URL"), "{}", outputs.stdout);

    let again = d.run(&["run"]);
    again.assert_ok();
    assert_eq!(again.requests().1, 0, "{:?}", again.changes());
    let said = notices(&run).into_iter().chain(notices(&again)).collect::<Vec<_>>();
    assert!(said.iter().any(|n| n.contains("04-websocket has nothing to do")), "{said:?}");
}

#[tokio::test]
async fn init_writes_the_manuals_shape_out_and_a_deployment_made_without_a_file_reruns_with_it_writing_nothing() {
    let d = Deployment::new("any-same");
    d.deploy_without_domain().assert_ok();
    d.run(&["init", "--service", "any-same"]).assert_ok();
    let with_file = d.run(&["run"]);
    with_file.assert_ok();
    assert_eq!(with_file.requests().1, 0, "the written-out manual is the manual: {:?}", with_file.changes());
}

/// Replaces `from` in deployer.toml, which must hold it.
fn edit(d: &Deployment, from: &str, to: &str) {
    let text = std::fs::read_to_string(d.path("deployer.toml")).unwrap();
    assert!(text.contains(from), "deployer.toml holds {from}");
    std::fs::write(d.path("deployer.toml"), text.replacen(from, to, 1)).unwrap();
}

#[tokio::test]
async fn strict_adding_narrowing_and_removing_work_under_real_aws_behaviour_with_no_write_on_a_rerun() {
    let d = initialised("strict-any");
    let proxy = strict_proxy();
    through(&d, &proxy, &["run"]).assert_ok();
    let manual = inventory("strict-any").await;

    write_config(&d, ADDED);
    // An existing function moved onto a role of its own, which IAM has not propagated yet.
    let usage = "[functions.usage-handler]\nhandler = \"handlers.api.usage.handler\"\n";
    edit(&d, usage, &format!("{usage}tables = [\"usage\"]\n"));
    let added = through(&d, &proxy, &["run"]);
    added.assert_ok();
    let lambda = aws_sdk_lambda::Client::new(&sdk_config().await);
    for (function, role) in [("billing-webhook", "billing-webhook"), ("usage-handler", "usage-handler")] {
        let got = lambda.get_function_configuration().function_name(format!("strict-any-{function}")).send().await;
        let got = got.unwrap();
        assert!(got.role().unwrap().ends_with(&format!(":role/strict-any-{role}")), "{got:?}");
    }
    let policy = role_policy("strict-any-usage-handler", "strict-any-lambda-access").await;
    assert_eq!(table_resources(&policy).len(), 2, "usage and its indexes only: {policy}");
    let now = inventory("strict-any").await;
    assert!(now.routes.contains(&"sendMessage -> strict-any-billing-webhook:live".to_string()), "{:?}", now.routes);

    let again = through(&d, &proxy, &["run"]);
    again.assert_ok();
    assert_eq!(again.requests().1, 0, "{:?}", again.changes());

    edit(&d, &format!("{usage}tables = [\"usage\"]\n"), usage);
    write_config(&d, "");
    through(&d, &proxy, &["run", "--delete-data"]).assert_ok();
    let mut after = inventory("strict-any").await;
    after.rest_deployments = manual.rest_deployments;
    assert_eq!(after, manual, "back to the manual's shape, the added table deleted as asked");
}

#[tokio::test]
async fn a_renamed_function_is_planned_as_a_delete_and_a_create_and_destroy_removes_what_the_state_names() {
    let d = initialised("any-rename");
    write_config(&d, ADDED);
    d.run(&["run"]).assert_ok();

    let renamed = ADDED.replace("billing-webhook", "billing-hook");
    write_config(&d, &renamed);
    let plan = d.run(&["plan"]);
    plan.assert_ok();
    let changes = plan.changes();
    let action = |resource: &str| changes.iter().find(|(r, _, _)| r == resource).map(|(_, a, _)| a.clone());
    assert_eq!(action("function any-rename-billing-hook").as_deref(), Some("created"), "{changes:?}");
    let old = "function any-rename-billing-webhook (no longer in deployer.toml)";
    assert_eq!(action(old).as_deref(), Some("deleted"), "{changes:?}");

    // The file loses the function before any run: destroy still removes it, as the state file names it.
    write_config(&d, "");
    d.run(&["destroy", "--yes", "--delete-data"]).assert_ok();
    let left = inventory("any-rename").await;
    assert_eq!((left.functions.len(), left.roles.len(), left.tables.len()), (0, 0, 0), "{left:?}");
}

#[tokio::test]
async fn a_websocket_integration_a_hand_made_route_targets_is_kept_when_its_own_route_goes() {
    let d = initialised("any-byhand");
    write_config(&d, ADDED);
    d.run(&["run"]).assert_ok();
    let v2 = aws_sdk_apigatewayv2::Client::new(&sdk_config().await);
    let api_id = crate::support::output(&d, "04-websocket", "websocket_api_id");
    let integrations = v2.get_integrations().api_id(&api_id).send().await.unwrap();
    let billing = integrations
        .items()
        .iter()
        .find(|i| i.integration_uri().is_some_and(|u| u.contains("any-byhand-billing-webhook")))
        .and_then(|i| i.integration_id())
        .unwrap()
        .to_string();
    let by_hand = v2.create_route().api_id(&api_id).route_key("byHand").target(format!("integrations/{billing}"));
    by_hand.send().await.unwrap();

    // billing-webhook stays, only its WebSocket route leaves the file.
    write_config(
        &d,
        &ADDED.replace("[[websocket.routes]]\nroute_key = \"sendMessage\"\nfunction = \"billing-webhook\"\n", ""),
    );
    let run = d.run(&["run"]);
    run.assert_ok();
    let routes = inventory("any-byhand").await.routes;
    assert!(!routes.iter().any(|r| r.starts_with("sendMessage ")), "{routes:?}");
    assert!(
        routes.contains(&"byHand -> any-byhand-billing-webhook:live".to_string()),
        "kept, with its target: {routes:?}"
    );
    assert!(deleted(&run).iter().all(|r| !r.starts_with("integration ")), "{:?}", run.changes());
}
