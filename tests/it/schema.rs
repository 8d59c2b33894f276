//! `deployer schema`: the JSON Schema editors read, checked against the examples users copy from.

use crate::support::Deployment;
use serde_json::Value;

fn schema(d: &Deployment) -> jsonschema::Validator {
    let printed = d.command(&["schema"]).output().unwrap();
    assert!(printed.status.success(), "{}", String::from_utf8_lossy(&printed.stderr));
    let schema: Value = serde_json::from_slice(&printed.stdout).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

fn as_json(toml_text: &str) -> Value {
    toml::from_str(toml_text).unwrap_or_else(|e| panic!("not TOML: {e}\n{toml_text}"))
}

fn assert_valid(validator: &jsonschema::Validator, what: &str, toml_text: &str) {
    let errors: Vec<String> = validator.iter_errors(&as_json(toml_text)).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{what} breaks the schema: {errors:?}\n{toml_text}");
}

/// init's file with every commented-out setting (`# key = value`, `# [table]`) switched on.
fn uncommented(template: &str) -> String {
    let is_setting = |line: &str| {
        line.starts_with('[')
            || line.split_once(" = ").is_some_and(|(k, _)| k.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
    };
    template
        .lines()
        .map(|line| match line.strip_prefix("# ") {
            Some(setting) if is_setting(setting) => setting,
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn readme_toml_blocks() -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/guide.md")).unwrap();
    readme.split("```toml\n").skip(1).map(|block| block.split("```").next().unwrap().to_string()).collect()
}

#[tokio::test]
async fn the_readmes_examples_and_inits_file_with_every_setting_switched_on_fit_the_schema() {
    let d = Deployment::new("schema-ok");
    let validator = schema(&d);
    let examples = readme_toml_blocks();
    assert!(!examples.is_empty(), "the README shows deployer.toml");
    for (i, example) in examples.iter().enumerate() {
        assert_valid(&validator, &format!("README example {}", i + 1), example);
    }

    d.run(&["init", "--service", "schema-ok"]).assert_ok();
    let written = std::fs::read_to_string(d.path("deployer.toml")).unwrap();
    assert!(written.starts_with("#:schema ./deployer.schema.json\n"), "taplo reads the first line: {written}");
    let beside: Value =
        serde_json::from_str(&std::fs::read_to_string(d.path("deployer.schema.json")).unwrap()).unwrap();
    assert_eq!(beside["title"], "deployer.toml", "init writes the schema the file names");
    assert_valid(&validator, "init's file", &written);
    let every_setting = uncommented(&written);
    assert!(every_setting.contains("\n[[tables.invoices.global_secondary_indexes]]"), "{every_setting}");
    assert_valid(&validator, "init's file with every setting on", &every_setting);
    // The same file is one deployer itself accepts (the flag beats the file's endpoint_url), once the
    // secret it names exists.
    let secrets = aws_sdk_secretsmanager::Client::new(&crate::support::sdk_config().await);
    secrets.create_secret().name("schema-ok/openai").secret_string("x").send().await.unwrap();
    std::fs::write(d.path("deployer.toml"), &every_setting).unwrap();
    // Through the test proxy, which answers the provisioned-concurrency API moto lacks.
    let proxy = crate::proxy::Proxy::start(&d.endpoint, crate::proxy::Rules::default());
    d.run(&["plan", "--endpoint-url", &proxy.url]).assert_ok();
}

#[test]
fn the_schema_refuses_unknown_keys_and_values_outside_their_lists() {
    let d = Deployment::new("schema-no");
    let validator = schema(&d);
    for (bad, why) in [
        ("servce = \"x\"", "a misspelt key"),
        ("architecture = \"arm\"", "an architecture Lambda has not"),
        ("log_retention_days = 10", "a retention CloudWatch does not offer"),
        ("[functions.usage-handler]\nmemory = 64", "memory under Lambda's minimum"),
        ("[functions.usage-handler]\nmemroy = 256", "a misspelt function key"),
        ("[[tables.usage.global_secondary_indexes]]\nname = \"by-date\"", "an index without its partition key"),
        (
            "[[tables.usage.global_secondary_indexes]]\nname = \"d\"\npartition_key = \"date\"\nprojection = \"SOME\"",
            "a short name and an unknown projection",
        ),
    ] {
        assert!(!validator.is_valid(&as_json(bad)), "the schema lets through {why}: {bad}");
    }
}

/// The schema's duration pattern, run by a real regex engine, and the parser agree on every sample.
#[test]
fn the_schemas_duration_pattern_and_the_parser_accept_the_same_durations() {
    let pattern = serde_json::json!({"type": "string", "pattern": deployer_steps::settings::DURATION_PATTERN});
    let validator = jsonschema::validator_for(&pattern).unwrap();
    for text in ["90", "90s", "45m", "1h30m", "2d", "1w", "3h2m1s", "", "1x", "h", "1h 30m", "-5s", "1.5h", "1H", "m5"]
    {
        let by_schema = validator.is_valid(&serde_json::json!(text));
        let by_parser = deployer_steps::settings::parse_duration_seconds(text).is_ok();
        assert_eq!(by_schema, by_parser, "{text:?}: schema {by_schema}, parser {by_parser}");
    }
}
