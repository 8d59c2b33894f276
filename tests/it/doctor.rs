//! `deployer doctor`: a line per check, the fix for each failure, nothing written.

use crate::support::Deployment;

#[test]
fn doctor_checks_a_deployment_and_names_the_fix_for_what_is_missing_writing_nothing() {
    let d = Deployment::new("doctor");
    d.deploy().assert_ok();
    let state_before = std::fs::read(d.state_path()).unwrap();

    let fine = d.command(&["doctor"]).output().unwrap();
    let text = String::from_utf8_lossy(&fine.stdout);
    assert!(fine.status.success(), "{text}\n{}", String::from_utf8_lossy(&fine.stderr));
    for line in [
        "ok    settings: valid",
        "ok    backend and frontend: handlers and dist/ found",
        "ok    python: not needed: requirements.txt lists nothing",
        "ok    credentials: account 123456789012 in us-east-1",
        "ok    hosted zone: ",
        "ok    certificate: arn:aws:acm:us-east-1:",
    ] {
        assert!(text.lines().any(|l| l.starts_with(line)), "missing {line:?} in:\n{text}");
    }
    assert!(text.contains("ns-"), "the name servers the registrar must list: {text}");

    std::fs::remove_dir_all(d.path("frontend/dist")).unwrap();
    let broken = d.command(&["doctor"]).output().unwrap();
    assert_eq!(broken.status.code(), Some(1));
    let text = String::from_utf8_lossy(&broken.stdout);
    let failed: Vec<&str> = text.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert_eq!(failed.len(), 1, "{text}");
    assert!(failed[0].starts_with("FAIL  backend and frontend: ") && failed[0].contains("dist"), "{text}");
    assert!(String::from_utf8_lossy(&broken.stderr).contains("1 of 6 checks failed"));
    assert_eq!(std::fs::read(d.state_path()).unwrap(), state_before, "doctor writes nothing");
}
