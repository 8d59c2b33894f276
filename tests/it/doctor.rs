//! `deployer doctor`: a line per check, the fix for each failure, nothing written.

use crate::servers::dns_answering;
use crate::support::{sdk_config, Deployment};

/// The hosted zone's name servers, as Route 53 gives them.
async fn zone_name_servers(d: &Deployment) -> Vec<String> {
    let zone_id = d.state()["steps"]["06-domain"]["outputs"]["zone_id"].as_str().unwrap().to_string();
    let route53 = aws_sdk_route53::Client::new(&sdk_config().await);
    let zone = route53.get_hosted_zone().id(zone_id).send().await.unwrap();
    zone.delegation_set().unwrap().name_servers().to_vec()
}

#[tokio::test]
async fn doctor_checks_a_deployment_and_names_the_fix_for_what_is_missing_writing_nothing() {
    let d = Deployment::new("doctor");
    d.deploy().assert_ok();
    let state_before = std::fs::read(d.state_path()).unwrap();
    let zone_servers = zone_name_servers(&d).await;
    let delegated: Vec<&str> = zone_servers.iter().map(|s| s.as_str()).collect();
    let registrar = dns_answering(&delegated);

    let fine = d.command(&["doctor"]).env("DEPLOYER_DNS_RESOLVER", &registrar).output().unwrap();
    let text = String::from_utf8_lossy(&fine.stdout);
    assert!(fine.status.success(), "{text}\n{}", String::from_utf8_lossy(&fine.stderr));
    for line in [
        "ok    settings: valid",
        "ok    backend and frontend: handlers and dist/ found",
        "ok    python: not needed: requirements.txt lists nothing",
        "ok    credentials: account 123456789012 in us-east-1",
        "ok    hosted zone: ",
        "ok    registrar: doctor.com is delegated to the zone's name servers",
        "ok    certificate: arn:aws:acm:us-east-1:",
    ] {
        assert!(text.lines().any(|l| l.starts_with(line)), "missing {line:?} in:\n{text}");
    }
    assert!(text.contains("ns-"), "the name servers the registrar must list: {text}");

    std::fs::remove_dir_all(d.path("frontend/dist")).unwrap();
    let broken = d.command(&["doctor"]).env("DEPLOYER_DNS_RESOLVER", &registrar).output().unwrap();
    assert_eq!(broken.status.code(), Some(1));
    let text = String::from_utf8_lossy(&broken.stdout);
    let failed: Vec<&str> = text.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert_eq!(failed.len(), 1, "{text}");
    assert!(failed[0].starts_with("FAIL  backend and frontend: ") && failed[0].contains("dist"), "{text}");
    assert!(String::from_utf8_lossy(&broken.stderr).contains("1 of 7 checks failed"));
    assert_eq!(std::fs::read(d.state_path()).unwrap(), state_before, "doctor writes nothing");
}

#[tokio::test]
async fn doctor_names_the_zones_name_servers_when_the_registrar_lists_others() {
    let d = Deployment::new("doctor-ns");
    d.deploy().assert_ok();
    let parked = dns_answering(&["ns1.parking.example.net", "ns2.parking.example.net"]);
    let checked = d.command(&["doctor"]).env("DEPLOYER_DNS_RESOLVER", &parked).output().unwrap();
    assert_eq!(checked.status.code(), Some(1));
    let text = String::from_utf8_lossy(&checked.stdout);
    let line = text.lines().find(|l| l.starts_with("FAIL  registrar: ")).unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains("delegated to ns1.parking.example.net, ns2.parking.example.net, not to the zone"), "{line}");
    for server in zone_name_servers(&d).await {
        assert!(line.contains(&server), "the fix lists {server}: {line}");
    }

    // No resolver answering is no failure: the machine may not reach DNS; doctor says to compare by hand.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let nobody = silent.local_addr().unwrap().to_string();
    let checked = d.command(&["doctor"]).env("DEPLOYER_DNS_RESOLVER", &nobody).output().unwrap();
    let text = String::from_utf8_lossy(&checked.stdout);
    assert!(text.lines().any(|l| l.starts_with("ok    registrar: no DNS answer")), "{text}");
}

/// The installer chosen with DEPLOYER_INSTALLER must run here, or doctor fails its check naming the fix,
/// as `run` refuses it before anything is created.
#[test]
fn doctor_fails_the_python_check_when_the_chosen_installer_does_not_run() {
    let d = Deployment::new("doctor-uv");
    std::fs::write(d.path("backend/requirements.txt"), "fastlib==1.0\n").unwrap();
    let no_tools = d.path("no-tools");
    std::fs::create_dir_all(&no_tools).unwrap();
    let args = ["doctor", "--service", &d.service];
    let checked = d.command(&args).env("DEPLOYER_INSTALLER", "uv").env("PATH", &no_tools).output().unwrap();
    let text = String::from_utf8_lossy(&checked.stdout);
    assert!(!checked.status.success(), "{text}");
    let line = text.lines().find(|l| l.contains("python:")).unwrap_or_default();
    assert!(
        line.starts_with("FAIL") && line.contains("DEPLOYER_INSTALLER=uv, but `uv --version` does not run"),
        "{text}"
    );

    let mut run = d.command(&["run", "--service", &d.service]);
    let refused = run.env("DEPLOYER_INSTALLER", "uv").env("PATH", &no_tools).output().unwrap();
    assert_eq!(refused.status.code(), Some(2), "{}", String::from_utf8_lossy(&refused.stderr));
    assert!(!d.state_path().exists(), "nothing written");
}
