//! How many requests a command makes, counted on the wire: AWS bills nothing for reads, but each one costs
//! ~100-300 ms and API Gateway allows 10 requests/s for the whole account.

use crate::proxy::{Proxy, Rules};
use crate::support::{counting_moto, Deployment, Outcome};

#[tokio::test]
async fn a_no_op_run_makes_at_most_60_requests_20_of_them_to_api_gateway() {
    let d = Deployment::on(counting_moto(), "few-requests");
    d.deploy().assert_ok();
    let proxy = Proxy::start(&counting_moto().url(), Rules::default());
    let args = d.deploy_args();
    let mut command = d.command(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let run = Outcome::from(command.args(["--output", "json"]).env("AWS_ENDPOINT_URL", &proxy.url).output().unwrap());
    run.assert_ok();
    assert_eq!(run.changed(), 0);
    let (total, by_service) = proxy.seen(|s| (s.forwarded, s.by_service.clone()));
    eprintln!("READS {:#?}", proxy.seen(|s| s.reads.clone()));
    assert!(total <= 60, "{total} requests: {by_service:?}");
    assert!(by_service.get("apigateway").copied().unwrap_or(0) <= 20, "{by_service:?}");
    assert_eq!(proxy.seen(|s| s.write_count()), 0);

    // `deployer step 08-verify` alone still reads every resource back.
    let verify = d.command(&["step", "08-verify"]).env("AWS_ENDPOINT_URL", &proxy.url).output().unwrap();
    assert!(verify.status.success());
    let verify_requests = proxy.seen(|s| s.forwarded) - total;
    assert!(verify_requests > 40, "the full configuration check of 01-07: {verify_requests} requests");
}

#[tokio::test]
async fn neither_a_fresh_deploy_nor_a_no_op_reads_an_invoke_permission_yet_a_function_changed_by_hand_is_read() {
    let d = Deployment::on(counting_moto(), "revisions");
    let run = || {
        let args = d.deploy_args();
        let mut command = d.command(&args.iter().map(String::as_str).collect::<Vec<_>>());
        Outcome::from(command.args(["--output", "json", "--timings"]).output().unwrap())
    };
    let fresh = run();
    fresh.assert_ok();
    // Every function was just made by 02, so none has a policy to read before its permission is added.
    assert_eq!(fresh.calls_of("lambda:GetPolicy"), 0, "{}", fresh.stderr);
    let noop = run();
    noop.assert_ok();
    assert_eq!(noop.changed(), 0);
    assert_eq!(noop.calls_of("lambda:GetPolicy"), 0, "{}", noop.stderr);

    // A function changed by hand has a revision no step recorded: its part is read again, the
    // statement on its alias with it. (A statement removed from the alias alone moves no revision of the
    // function's on AWS; moto keeps the alias's statements on the function, so it cannot show that case.)
    let lambda = aws_sdk_lambda::Client::new(&crate::support::sdk_config_of(counting_moto()).await);
    let function = format!("{}-usage-handler", d.service);
    let by_hand = lambda.update_function_configuration().function_name(&function).timeout(20);
    by_hand.send().await.unwrap();
    let repaired = run();
    repaired.assert_ok();
    let changed: Vec<_> = repaired.changes().into_iter().filter(|(_, change, _)| change != "unchanged").collect();
    assert!(changed.iter().any(|(what, change, _)| what.contains(&function) && change == "updated"), "{changed:?}");
    let live = lambda.get_function_configuration().function_name(&function).qualifier("live").send().await.unwrap();
    assert_eq!(live.timeout(), Some(29), "the function put back, and a version of it published");
    let policy = lambda.get_policy().function_name(&function).qualifier("live").send().await.unwrap();
    assert!(policy.policy().unwrap().contains("deployer-rest-api"));
    assert!(repaired.calls_of("lambda:GetPolicy") >= 1, "{}", repaired.stderr);

    let settled = run();
    assert_eq!(settled.changed(), 0);
    assert_eq!(settled.calls_of("lambda:GetPolicy"), 0, "{}", settled.stderr);
}
