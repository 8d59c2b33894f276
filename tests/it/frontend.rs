//! Step 05-frontend: a private bucket behind CloudFront, the real endpoints in config.js, a sync that
//! uploads only what changed, and one invalidation per change.

use crate::proxy::{Proxy, Rules};
use crate::support::{inventory, inventory_without_domain, moto, output, s3, sdk_config, Deployment};
use serde_json::json;

fn uploads(outcome: &crate::support::Outcome) -> Vec<String> {
    let mut keys: Vec<String> = outcome
        .changes()
        .into_iter()
        .filter(|(r, a, _)| r.starts_with("object ") && (a == "created" || a == "updated"))
        .map(|(r, _, _)| r.trim_start_matches("object ").to_string())
        .collect();
    keys.sort();
    keys
}

async fn invalidations(distribution_id: &str) -> Vec<Vec<String>> {
    let cloudfront = aws_sdk_cloudfront::Client::new(&sdk_config().await);
    let listed = cloudfront.list_invalidations().distribution_id(distribution_id).send().await.unwrap();
    let mut found = Vec::new();
    for summary in listed.invalidation_list().map(|l| l.items().to_vec()).unwrap_or_default() {
        let got = cloudfront.get_invalidation().distribution_id(distribution_id).id(summary.id()).send().await.unwrap();
        let batch = got.invalidation.unwrap().invalidation_batch.unwrap();
        let mut paths = batch.paths.unwrap().items.unwrap_or_default();
        paths.sort();
        found.push(paths);
    }
    found
}

#[tokio::test]
async fn fresh_run_serves_every_file_from_a_private_bucket_through_one_distribution() {
    let d = Deployment::new("site-fresh");
    let run = d.deploy_without_domain();
    run.assert_ok();
    assert_eq!(inventory(&d.service).await, inventory_without_domain(&d.service));
    let bucket = format!("{}-frontend", d.service);
    let s3 = s3().await;

    for (key, content_type, cache) in [
        ("index.html", "text/html; charset=utf-8", "no-cache"),
        ("error.html", "text/html; charset=utf-8", "no-cache"),
        ("config.js", "text/javascript; charset=utf-8", "no-cache"),
        ("assets/app.8b2e4d.js", "text/javascript; charset=utf-8", "public, max-age=31536000, immutable"),
        ("assets/app.3f9a1c.css", "text/css; charset=utf-8", "public, max-age=31536000, immutable"),
    ] {
        let head = s3.head_object().bucket(&bucket).key(key).send().await.unwrap();
        assert_eq!((head.content_type(), head.cache_control()), (Some(content_type), Some(cache)), "{key}");
    }
    let index = s3.get_object().bucket(&bucket).key("index.html").send().await.unwrap();
    let index = index.body.collect().await.unwrap().into_bytes();
    assert_eq!(index.as_ref(), std::fs::read(d.path("frontend/dist/index.html")).unwrap());

    let config = s3.get_object().bucket(&bucket).key("config.js").send().await.unwrap();
    let config = String::from_utf8(config.body.collect().await.unwrap().into_bytes().to_vec()).unwrap();
    assert!(config.contains(&format!("API_BASE_URL: \"{}\"", output(&d, "03-api-gateway", "invoke_url"))), "{config}");
    assert!(config.contains(&format!("WS_URL: \"{}\"", output(&d, "04-websocket", "websocket_url"))), "{config}");

    let block = s3.get_public_access_block().bucket(&bucket).send().await.unwrap();
    let block = block.public_access_block_configuration().unwrap();
    assert_eq!(
        (
            block.block_public_acls(),
            block.ignore_public_acls(),
            block.block_public_policy(),
            block.restrict_public_buckets()
        ),
        (Some(true), Some(true), Some(true), Some(true))
    );
    let policy = s3.get_bucket_policy().bucket(&bucket).send().await.unwrap();
    let policy: serde_json::Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    let statements = policy["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 1, "nobody but the distribution reads the bucket");
    assert_eq!(statements[0]["Principal"], json!({"Service": "cloudfront.amazonaws.com"}));
    assert_eq!(
        statements[0]["Condition"]["StringEquals"]["AWS:SourceArn"],
        output(&d, "05-frontend", "distribution_arn")
    );

    let cloudfront = aws_sdk_cloudfront::Client::new(&sdk_config().await);
    let id = output(&d, "05-frontend", "distribution_id");
    let config = cloudfront.get_distribution_config().id(&id).send().await.unwrap().distribution_config.unwrap();
    let origin = &config.origins().unwrap().items()[0];
    assert_eq!(origin.domain_name(), format!("{bucket}.s3.us-east-1.amazonaws.com"));
    assert_eq!(config.default_root_object(), Some("index.html"));
    let behavior = config.default_cache_behavior().unwrap();
    assert_eq!(behavior.viewer_protocol_policy().as_str(), "redirect-to-https");
    assert_eq!(behavior.compress(), Some(true));
    assert_eq!(config.price_class().map(|p| p.as_str()), Some("PriceClass_100"));
    let errors = config.custom_error_responses().unwrap().items();
    assert!(errors.iter().all(|e| e.response_page_path() == Some("/index.html") && e.response_code() == Some("200")));
    assert_eq!(
        output(&d, "05-frontend", "site_url"),
        format!("https://{}", output(&d, "05-frontend", "distribution_domain"))
    );
}

#[tokio::test]
async fn a_re_run_uploads_nothing_and_creates_no_invalidation_or_distribution() {
    let d = Deployment::new("site-rerun");
    d.deploy_without_domain().assert_ok();
    let id = output(&d, "05-frontend", "distribution_id");
    let before = invalidations(&id).await.len();

    assert_eq!(d.deploy_without_domain().assert_ok().changed(), 0);
    let again = d.run(&["step", "05-frontend"]);
    again.assert_ok();
    assert_eq!(again.changed(), 0, "{:?}", again.changes());
    assert_eq!(again.requests().1, 0, "no upload, invalidation or other write");
    assert!(uploads(&again).is_empty());
    assert_eq!(invalidations(&id).await.len(), before);
    assert_eq!(inventory(&d.service).await, inventory_without_domain(&d.service));
}

#[tokio::test]
async fn one_changed_file_is_one_upload_and_one_path_invalidated_and_a_deleted_file_is_removed() {
    let d = Deployment::new("site-change");
    d.deploy_without_domain().assert_ok();
    let id = output(&d, "05-frontend", "distribution_id");
    let before = invalidations(&id).await;

    std::fs::write(d.path("frontend/dist/assets/app.3f9a1c.css"), "body { margin: 0; }\n").unwrap();
    let changed = d.deploy_without_domain();
    changed.assert_ok();
    assert_eq!(uploads(&changed), ["assets/app.3f9a1c.css"]);
    let after = invalidations(&id).await;
    assert_eq!(after.len(), before.len() + 1);
    assert!(after.contains(&vec!["/assets/app.3f9a1c.css".to_string()]), "{after:?}");

    std::fs::remove_file(d.path("frontend/dist/error.html")).unwrap();
    let removed = d.deploy_without_domain();
    removed.assert_ok();
    let deleted: Vec<_> = removed.changes().into_iter().filter(|(_, a, _)| a == "deleted").map(|(r, _, _)| r).collect();
    assert_eq!(deleted, ["object error.html"]);
    assert!(!inventory(&d.service).await.site_objects.contains(&"error.html".to_string()));
    assert!(invalidations(&id).await.contains(&vec!["/error.html".to_string()]));
}

#[tokio::test]
async fn two_thousand_files_with_ten_changed_make_ten_uploads() {
    let d = Deployment::new("site-many");
    let dist = d.path("frontend/dist/pages");
    std::fs::create_dir_all(&dist).unwrap();
    for i in 0..2000 {
        std::fs::write(dist.join(format!("page-{i:04}.html")), format!("<p>page {i}</p>\n")).unwrap();
    }
    let first = d.deploy_without_domain();
    first.assert_ok();
    assert_eq!(uploads(&first).len(), 2005, "2,000 pages, 4 fixture files and config.js");

    for i in (0..2000).step_by(200) {
        std::fs::write(dist.join(format!("page-{i:04}.html")), format!("<p>page {i}, edited</p>\n")).unwrap();
    }
    let second = d.deploy_without_domain();
    second.assert_ok();
    let uploaded = uploads(&second);
    assert_eq!(uploaded.len(), 10, "{uploaded:?}");
    assert!(uploaded.iter().all(|k| k.starts_with("pages/page-")));
    let id = output(&d, "05-frontend", "distribution_id");
    let mut ten: Vec<String> = uploaded.iter().map(|k| format!("/{k}")).collect();
    ten.sort();
    let made = invalidations(&id).await;
    assert!(made.contains(&vec!["/*".to_string()]), "the first deploy changed 2,005 paths: {made:?}");
    assert!(made.contains(&ten), "ten changes, within the limit of 15, are invalidated path by path: {made:?}");
}

#[tokio::test]
async fn paths_uploaded_before_a_kill_are_still_invalidated_on_resume() {
    let d = Deployment::new("site-pending");
    d.deploy_without_domain().assert_ok();
    let id = output(&d, "05-frontend", "distribution_id");
    // A kill right after the upload of a changed file, before its invalidation: the object is already new,
    // the step is left started with the path pending.
    let changed = "body { color: red; }\n";
    std::fs::write(d.path("frontend/dist/assets/app.3f9a1c.css"), changed).unwrap();
    let s3 = s3().await;
    let bucket = format!("{}-frontend", d.service);
    let body = aws_sdk_s3::primitives::ByteStream::from(changed.as_bytes().to_vec());
    s3.put_object().bucket(&bucket).key("assets/app.3f9a1c.css").body(body).send().await.unwrap();
    let mut state = d.state();
    state["steps"]["05-frontend"]["status"] = json!("started");
    state["steps"]["05-frontend"]["outputs"]["pending_invalidation"] =
        json!(json!(["assets/app.3f9a1c.css"]).to_string());
    d.write_state(&state);

    let resumed = d.run(&["resume"]);
    resumed.assert_ok();
    assert!(uploads(&resumed).is_empty(), "the object was already up to date");
    assert!(invalidations(&id).await.contains(&vec!["/assets/app.3f9a1c.css".to_string()]));
    assert_eq!(output(&d, "05-frontend", "pending_invalidation"), "[]");
}

#[tokio::test]
async fn the_source_config_gets_the_real_endpoints_and_the_build_command_makes_dist() {
    let d = Deployment::new("site-build");
    let frontend = d.path("frontend");
    std::fs::remove_dir_all(frontend.join("dist")).unwrap();
    std::fs::create_dir_all(frontend.join("src")).unwrap();
    std::fs::write(
        frontend.join("src/config.js"),
        "export default {\n  API_BASE_URL: \"http://localhost:3000\",\n  WS_URL: \"ws://localhost:3001\",\n};\n",
    )
    .unwrap();
    std::fs::write(frontend.join("src/index.html"), "<h1>built</h1>\n").unwrap();
    let build = "mkdir -p dist && cp src/index.html src/config.js dist/";
    d.run(&["run", "--service", &d.service, "--frontend-build", build]).assert_ok();

    let source = std::fs::read_to_string(frontend.join("src/config.js")).unwrap();
    assert!(source.contains(&format!("API_BASE_URL: \"{}\"", output(&d, "03-api-gateway", "invoke_url"))), "{source}");
    assert!(source.contains(&format!("WS_URL: \"{}\"", output(&d, "04-websocket", "websocket_url"))), "{source}");
    let objects = inventory(&d.service).await.site_objects;
    assert_eq!(objects, ["config.js", "index.html"], "the build's output, with the generated config.js at the root");
    let config =
        s3().await.get_object().bucket(format!("{}-frontend", d.service)).key("config.js").send().await.unwrap();
    let config = String::from_utf8(config.body.collect().await.unwrap().into_bytes().to_vec()).unwrap();
    assert!(config.starts_with("window.APP_CONFIG"), "the generated config.js wins over the built one: {config}");
}

#[tokio::test]
async fn a_lost_state_file_finds_the_distribution_again_instead_of_making_a_second() {
    let d = Deployment::new("site-lost");
    d.deploy_without_domain().assert_ok();
    let id = output(&d, "05-frontend", "distribution_id");
    std::fs::remove_file(d.state_path()).unwrap();

    let again = d.deploy_without_domain();
    again.assert_ok();
    let distribution: Vec<_> = again
        .changes()
        .into_iter()
        .filter(|(r, _, _)| r.starts_with("distribution ") && r.ends_with("(deployer)"))
        .map(|(_, a, _)| a)
        .collect();
    assert_eq!(distribution, ["unchanged"]);
    assert_eq!(output(&d, "05-frontend", "distribution_id"), id);
    assert_eq!(inventory(&d.service).await.distributions, 1);
    assert!(uploads(&again).is_empty(), "the objects were already there");
}

#[tokio::test]
async fn a_bucket_head_refused_with_403_names_both_causes_and_the_fix_of_each() {
    let d = Deployment::new("site-forbidden");
    d.deploy_without_domain().assert_ok();
    let proxy = Proxy::start(&moto().url(), Rules { forbid_head_bucket: true, ..Rules::default() });
    let refused = d.command(&["step", "05-frontend"]).env("AWS_ENDPOINT_URL", &proxy.url).output().unwrap();
    let refused = crate::support::Outcome::from(refused);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    for cause in ["belongs to another AWS account", "lack s3:ListBucket", "another --service"] {
        assert!(refused.stderr.contains(cause), "{cause}: {}", refused.stderr);
    }
}

#[tokio::test]
async fn under_sse_kms_where_etags_are_not_md5s_an_unchanged_site_is_not_uploaded_again() {
    let d = Deployment::new("site-kms");
    d.deploy_without_domain().assert_ok();
    let proxy = Proxy::start(&moto().url(), Rules { kms_bucket: true, ..Rules::default() });
    let synced = d.command(&["step", "05-frontend"]).env("AWS_ENDPOINT_URL", &proxy.url).output().unwrap();
    crate::support::Outcome::from(synced).assert_ok();
    let (reads, writes) = proxy.seen(|s| (s.reads.clone(), s.writes.clone()));
    let puts: u32 = writes.iter().filter(|(op, _)| op.starts_with("PUT /site-kms-frontend/")).map(|(_, n)| n).sum();
    assert_eq!(puts, 0, "nothing uploaded again: {writes:?}");
    let heads: u32 = reads.iter().filter(|(op, _)| op.starts_with("HEAD /site-kms-frontend/")).map(|(_, n)| n).sum();
    assert!(heads >= 5, "each object's stored MD5 was read instead: {reads:?}");
}

#[tokio::test]
async fn credentials_that_cannot_read_the_buckets_encryption_still_sync_without_uploading_again() {
    let d = Deployment::new("site-no-encryption-read");
    d.deploy_without_domain().assert_ok();
    let proxy = Proxy::start(&moto().url(), Rules { deny_bucket_encryption: true, ..Rules::default() });
    let synced = d.command(&["step", "05-frontend"]).env("AWS_ENDPOINT_URL", &proxy.url).output().unwrap();
    crate::support::Outcome::from(synced).assert_ok();
    let writes = proxy.seen(|s| s.writes.clone());
    let puts: u32 =
        writes.iter().filter(|(op, _)| op.starts_with("PUT /site-no-encryption-read-frontend/")).map(|(_, n)| n).sum();
    assert_eq!(puts, 0, "the stored MD5s are compared instead: {writes:?}");
}
