//! `--state s3://BUCKET/KEY`: one lock for two machines, a stale lock removed deliberately, no lost update.

use crate::proxy::{Proxy, Rules};
use crate::support::{full_inventory, inventory, moto, sdk_config, Deployment};

async fn state_bucket(name: &str) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::from(&sdk_config().await).force_path_style(true).build();
    let s3 = aws_sdk_s3::Client::from_conf(config);
    s3.create_bucket().bucket(name).send().await.unwrap();
    s3
}

async fn read_object(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Option<Vec<u8>> {
    let got = s3.get_object().bucket(bucket).key(key).send().await.ok()?;
    Some(got.body.collect().await.unwrap().into_bytes().to_vec())
}

/// A deploy through a proxy that holds every request after the k-th, so that it stops while holding the lock.
fn stalled_deploy(d: &Deployment, proxy: &Proxy, state: &str) -> std::process::Child {
    let mut args = d.deploy_args();
    args.extend(["--state".to_string(), state.to_string()]);
    proxy.spawn_until_stalled(d, &args.iter().map(String::as_str).collect::<Vec<_>>())
}

#[tokio::test]
async fn a_second_run_on_a_locked_remote_state_is_refused_naming_the_holder_and_unlock_frees_a_dead_ones_lock() {
    let d = Deployment::new("remote-lock");
    let s3 = state_bucket("remote-lock-state").await;
    let state = "s3://remote-lock-state/team/remote-lock.json";
    let proxy = Proxy::start(&moto().url(), Rules { stall_after: Some(60), ..Rules::default() });
    let mut first = stalled_deploy(&d, &proxy, state);

    let second = d.run(&["resume", "--state", state]);
    assert_eq!(second.code, 2, "{}", second.stderr);
    assert!(second.stderr.contains(&format!("the remote state {state} is locked by ")), "{}", second.stderr);
    let lock_id = second.stderr.split("(lock ").nth(1).and_then(|rest| rest.split(')').next()).unwrap().to_string();
    assert!(second.stderr.contains(&format!("deployer unlock {lock_id} --state {state}")), "{}", second.stderr);

    let _ = first.kill(); // dies holding the lock
    let _ = first.wait();
    assert_eq!(d.run(&["resume", "--state", state]).code, 2, "a dead run's lock stays until removed");
    let wrong = d.run(&["unlock", "not-the-lock", "--state", state]);
    assert_eq!(wrong.code, 2, "{}", wrong.stderr);
    assert!(wrong.stderr.contains(&format!("is {lock_id}")), "{}", wrong.stderr);
    d.run(&["unlock", &lock_id, "--state", state]).assert_ok();

    d.run(&["resume", "--state", state]).assert_ok();
    assert_eq!(inventory(&d.service).await, full_inventory(&d.service));
    let kept: serde_json::Value =
        serde_json::from_slice(&read_object(&s3, "remote-lock-state", "team/remote-lock.json").await.unwrap()).unwrap();
    assert!(kept["steps"].as_object().unwrap().values().all(|s| s["status"] == "done"), "{kept}");
    assert_eq!(
        read_object(&s3, "remote-lock-state", "team/remote-lock.json.lock").await,
        None,
        "the lock is given back"
    );
    assert!(!d.state_path().exists(), "no local state file beside the remote one");
}

#[tokio::test]
async fn a_remote_state_changed_behind_the_lock_is_not_overwritten() {
    let d = Deployment::new("remote-race");
    let s3 = state_bucket("remote-race-state").await;
    let state = "s3://remote-race-state/remote-race.json";
    let proxy = Proxy::start(&moto().url(), Rules { stall_after: Some(60), ..Rules::default() });
    let run = stalled_deploy(&d, &proxy, state);

    // Someone writes the state without taking the lock while the run is under way.
    let intruder = br#"{"written": "by someone who ignored the lock"}"#.to_vec();
    s3.put_object()
        .bucket("remote-race-state")
        .key("remote-race.json")
        .body(intruder.clone().into())
        .send()
        .await
        .unwrap();
    proxy.release();
    let output = run.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("was changed by someone else while this run held its lock"), "{stderr}");
    assert_eq!(read_object(&s3, "remote-race-state", "remote-race.json").await, Some(intruder), "not overwritten");
    assert_eq!(read_object(&s3, "remote-race-state", "remote-race.json.lock").await, None, "the lock is given back");
}
