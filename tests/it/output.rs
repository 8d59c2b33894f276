//! What a person reads: each step's lines under its header (in a terminal too), a notice once per state,
//! `-q` without notices, the URLs at the end of a run, and an error once with one instruction that fits.

use crate::proxy::{Proxy, Rules};
use crate::support::{moto, Deployment};

fn stderr_of(d: &Deployment, args: &[&str]) -> String {
    let output = d.command(args).output().unwrap();
    let said = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{said}");
    said
}

#[test]
fn a_notice_shows_once_until_it_changes_q_hides_notices_and_a_run_ends_with_the_urls() {
    let d = Deployment::new("notes-once");
    let args = d.deploy_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let registrar = "note (06-domain): the registrar of notes-once.com must list these name servers";

    let first = stderr_of(&d, &args);
    assert!(first.contains(registrar), "{first}");
    let deployed = first.lines().position(|l| l == "Deployed:").expect("the URLs at the end");
    let urls: Vec<&str> = first.lines().skip(deployed + 1).collect();
    assert!(
        urls.iter().any(|l| l.trim_start().starts_with("site") && l.ends_with("https://notes-once.com")),
        "{urls:?}"
    );
    assert!(
        urls.iter().any(|l| l.trim_start().starts_with("API ") && l.ends_with("https://api.notes-once.com")),
        "{urls:?}"
    );
    assert!(
        urls.iter().any(|l| l.trim_start().starts_with("WebSocket ") && l.ends_with("wss://ws.notes-once.com")),
        "{urls:?}"
    );

    let second = stderr_of(&d, &args);
    assert!(!second.contains("note ("), "every notice was shown before: {second}");
    let verbose = stderr_of(&d, &[&args[..], &["-v"]].concat());
    assert!(verbose.contains(registrar), "-v shows them all: {verbose}");

    let quiet = Deployment::new("notes-quiet");
    let args = quiet.deploy_args();
    let said = stderr_of(&quiet, &[args.iter().map(String::as_str).collect::<Vec<_>>(), vec!["-q"]].concat());
    assert!(!said.contains("note (") && !said.contains("==>"), "-q: errors and the summary only: {said}");
    assert!(said.contains("finished: "), "{said}");
}

#[test]
fn in_a_terminal_each_steps_resources_are_under_its_header_and_above_its_tick() {
    let d = Deployment::new("tty-lines");
    let args = d.deploy_args().join(" ");
    // `script` gives deployer a pseudo-terminal, as a person's shell does.
    let command = format!("{} {args}", crate::support::BIN);
    let mut script = std::process::Command::new("script");
    for (key, value) in d.command(&[]).get_envs() {
        match value {
            Some(value) => script.env(key, value),
            None => script.env_remove(key),
        };
    }
    // A person's terminal, whatever the test process's own (CI's TERM=dumb or NO_COLOR turn animation off).
    script.env("TERM", "xterm-256color").env_remove("NO_COLOR");
    let ran = script.current_dir(d.path("")).args(["-qec", &command, "/dev/null"]).output().unwrap();
    let text = String::from_utf8_lossy(&ran.stdout).replace('\r', "\n");
    assert!(ran.status.success(), "{text}");
    let at = |needle: &str| text.find(needle).unwrap_or_else(|| panic!("{needle:?} not in {text}"));
    let header = at("01-dynamodb: 2.1 DynamoDB tables");
    let table = at("+ table tty-lines-conversations (created)");
    let tick = at("✔ 01-dynamodb: ");
    assert!(header < table && table < tick, "header {header}, resource {table}, tick {tick}:\n{text}");
}

#[tokio::test]
async fn a_failure_is_printed_once_with_the_instruction_that_fits_the_command() {
    let d = Deployment::new("fail-once");
    // Lambda's CreateFunction fails every time.
    let rules = Rules { always_fail: Some("POST /2015-03-31/*".into()), ..Rules::default() };
    let proxy = Proxy::start(&moto().url(), rules);
    let args = d.deploy_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let failed = d.command(&args).env("AWS_ENDPOINT_URL", &proxy.url).env("DEPLOYER_RETRY_BACKOFF_MS", "5").output();
    let said = String::from_utf8_lossy(&failed.unwrap().stderr).into_owned();
    assert_eq!(said.matches("step 02-lambda failed").count(), 1, "the error once: {said}");
    assert_eq!(said.matches("lambda:CreateFunction fail-once-conversation-api: HTTP 500").count(), 1, "{said}");
    assert_eq!(said.matches("deployer resume").count(), 1, "one instruction: {said}");
    assert!(said.contains("<== 02-lambda: FAILED (the error follows)"), "{said}");

    // A plan that fails (Lambda's reads fail every time) is not resumed: it is run again.
    let reads = Rules { always_fail: Some("GET /2015-03-31/*".into()), ..Rules::default() };
    let reads_fail = Proxy::start(&moto().url(), reads);
    let mut plan = d.command(&["plan"]);
    plan.env("AWS_ENDPOINT_URL", &reads_fail.url).env("DEPLOYER_RETRY_BACKOFF_MS", "5");
    let said = String::from_utf8_lossy(&plan.output().unwrap().stderr).into_owned();
    assert!(said.contains("Nothing was changed: fix the cause, then run `deployer plan` again."), "{said}");
    assert!(!said.contains("deployer resume"), "a plan is not resumed: {said}");
}
