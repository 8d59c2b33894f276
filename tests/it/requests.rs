//! How many requests a command makes, counted on the wire: AWS bills nothing for reads, but each one costs
//! ~100-300 ms and API Gateway allows 10 requests/s for the whole account.

use crate::proxy::{Proxy, Rules};
use crate::support::{moto, Deployment, Outcome};

#[tokio::test]
async fn a_no_op_run_makes_at_most_60_requests_20_of_them_to_api_gateway() {
    let d = Deployment::new("few-requests");
    d.deploy().assert_ok();
    let proxy = Proxy::start(&moto().url(), Rules::default());
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
