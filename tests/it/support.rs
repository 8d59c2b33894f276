//! Test harness: one moto_server per test process on a free loopback port, a scratch folder per test, and
//! the real `deployer` binary run against them.

use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

pub const REGION: &str = "us-east-1";
pub const BIN: &str = env!("CARGO_BIN_EXE_deployer");

pub struct Moto {
    pub port: u16,
    /// The wrapper stops moto (by PID) when this pipe closes, i.e. when the test process exits however it exits.
    _lifeline: Mutex<ChildStdin>,
    /// Kept so the wrapper is a child of this process until the end (the OS reaps it at exit).
    _wrapper: Mutex<Child>,
}

impl Moto {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free loopback port");
    listener.local_addr().expect("local address").port()
}

fn answers(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = "GET /moto-api/data.json HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    let mut head = [0u8; 12];
    stream.write_all(request.as_bytes()).is_ok() && stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.")
}

pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(|| start_moto("0"))
}

/// A second moto whose certificates stay PENDING_VALIDATION for this many seconds after their request.
pub const SLOW_ACM_SECONDS: u64 = 6;

pub fn slow_acm_moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(|| start_moto(&SLOW_ACM_SECONDS.to_string()))
}

/// A moto of its own, as a new account is: no region has API Gateway's CloudWatch role, and IAM has no
/// role that another test made.
pub fn new_account_moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(|| start_moto("0"))
}

/// A moto of its own for the tests that count a run's requests: an account that holds one service's
/// functions, as most do, and not the thousand other tests leave in the shared one (ListFunctions pages
/// through every function of an account).
pub fn counting_moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(|| start_moto("0"))
}

/// PATH with the tools `make test` installs (`TARGET/tools/venv/bin`, beside this test binary's build
/// folder) first, so that a plain `cargo test` finds them once they are installed.
pub fn tools_path() -> std::ffi::OsString {
    static PATH: OnceLock<std::ffi::OsString> = OnceLock::new();
    PATH.get_or_init(|| {
        let inherited = std::env::var_os("PATH").unwrap_or_default();
        // The test binary is TARGET/debug/deps/it-HASH.
        let exe = std::env::current_exe().unwrap_or_default();
        let venv = exe.ancestors().nth(3).map(|target| target.join("tools/venv/bin")).filter(|bin| bin.is_dir());
        let dirs = venv.into_iter().chain(std::env::split_paths(&inherited));
        std::env::join_paths(dirs).unwrap_or(inherited)
    })
    .clone()
}

/// How to get a tool the tests run: `make test` installs them.
pub const GET_TOOLS: &str = "run `make test` (or `make tools` once, then `cargo test`): it installs moto, the aws \
                             CLI and uv into a venv under target/tools, which the tests put first on PATH";

/// A moto for one test alone, stopped when dropped: an account no other test touches meanwhile.
pub fn private_moto() -> Moto {
    start_moto("0")
}

fn start_moto(acm_validation_wait: &str) -> Moto {
    let on_path = std::env::split_paths(&tools_path()).any(|dir| dir.join("moto_server").is_file());
    assert!(on_path, "the tests deploy to moto_server, and it is not on PATH: {GET_TOOLS}");
    let port = free_port();
    let log = std::env::temp_dir().join(format!("deployer-tests-moto-{port}.log"));
    // moto_server with AWS's behaviour where moto departs from it (see the script); the venv's python3.
    let server = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/moto_server.py");
    // moto runs in the background of a wrapper that waits on stdin, then kills moto by its PID.
    let script = format!(
        "python3 '{}' -H 127.0.0.1 -p {port} </dev/null >'{}' 2>&1 & pid=$!; echo $pid; read _; kill $pid",
        server.display(),
        log.display()
    );
    let mut child: Child = Command::new("bash")
        .args(["-c", &script])
        .env("PATH", tools_path())
        .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        .env("MOTO_ACM_VALIDATION_WAIT", acm_validation_wait)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start bash to run moto_server");
    let mut pid_line = String::new();
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut byte = [0u8; 1];
    while stdout.read(&mut byte).unwrap_or(0) == 1 && byte[0] != b'\n' {
        pid_line.push(byte[0] as char);
    }
    let pid: u32 = pid_line.trim().parse().expect("moto wrapper printed its PID");
    let started = Instant::now();
    while !answers(port) {
        let log_text = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "moto_server (pid {pid}) did not answer on port {port} within 60 s. Its log:\n{log_text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let lifeline = child.stdin.take().expect("piped stdin");
    Moto { port, _lifeline: Mutex::new(lifeline), _wrapper: Mutex::new(child) }
}

/// What one `deployer` invocation did.
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub events: Vec<Value>,
}

impl Outcome {
    pub fn from(output: Output) -> Self {
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let events = stdout.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
        Outcome {
            code: output.status.code().unwrap_or(-1),
            stdout,
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            events,
        }
    }

    #[track_caller]
    pub fn assert_ok(&self) -> &Self {
        assert_eq!(self.code, 0, "deployer failed:\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }

    /// The `resource` events, as (resource, action, fields).
    pub fn changes(&self) -> Vec<(String, String, Vec<String>)> {
        self.events
            .iter()
            .filter(|e| e["event"] == "resource")
            .map(|e| {
                let fields = e["fields"].as_array().into_iter().flatten().filter_map(|f| f.as_str().map(String::from));
                (
                    e["resource"].as_str().unwrap_or_default().to_string(),
                    e["action"].as_str().unwrap_or_default().to_string(),
                    fields.collect(),
                )
            })
            .collect()
    }

    pub fn event(&self, name: &str) -> Option<&Value> {
        self.events.iter().find(|e| e["event"] == name)
    }

    /// (reads, writes): the AWS requests the run reported making.
    pub fn requests(&self) -> (u64, u64) {
        let finished = self.event("run_finished").expect("a run_finished event");
        (finished["reads"].as_u64().unwrap(), finished["writes"].as_u64().unwrap())
    }

    /// How many calls of `operation` (`lambda:GetPolicy`) the `--timings` table on stderr counts.
    pub fn calls_of(&self, operation: &str) -> u32 {
        let row = self.stderr.lines().find(|line| line.split_whitespace().next() == Some(operation));
        row.and_then(|line| line.split_whitespace().nth(1)).and_then(|n| n.parse().ok()).unwrap_or(0)
    }

    /// The `changed` count of the `run_finished` event.
    pub fn changed(&self) -> u64 {
        self.event("run_finished").and_then(|e| e["changed"].as_u64()).expect("a run_finished event")
    }
}

/// A recorded output of a step.
pub fn output(d: &Deployment, step: &str, key: &str) -> String {
    d.state()["steps"][step]["outputs"][key].as_str().unwrap_or_else(|| panic!("{step} output {key}")).to_string()
}

/// The lines of `before` that `after` lost (`-`) and those it gained (`+`), for a failure's message.
pub fn lines_changed(before: &str, after: &str) -> String {
    let lost = before.lines().filter(|l| !after.lines().any(|a| a == *l)).map(|l| format!("- {l}"));
    let gained = after.lines().filter(|l| !before.lines().any(|b| b == *l)).map(|l| format!("+ {l}"));
    lost.chain(gained).take(60).collect::<Vec<_>>().join("\n")
}

/// A scratch deployment: its own folder, state file, copy of the fixture backend, and service name.
pub struct Deployment {
    pub dir: tempfile::TempDir,
    pub service: String,
    pub endpoint: String,
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

impl Deployment {
    /// `service` must be unique among the tests of this process: they share one moto.
    pub fn new(service: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&fixtures().join("backend"), &dir.path().join("backend"));
        copy_dir(&fixtures().join("frontend"), &dir.path().join("frontend"));
        Deployment { dir, service: service.to_string(), endpoint: moto().url() }
    }

    /// A deployment against another moto than this process's main one.
    pub fn on(moto: &Moto, service: &str) -> Self {
        Deployment { endpoint: moto.url(), ..Deployment::new(service) }
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    pub fn state_path(&self) -> PathBuf {
        self.path(".deployer/state.json")
    }

    pub fn state(&self) -> Value {
        serde_json::from_str(&std::fs::read_to_string(self.state_path()).unwrap()).unwrap()
    }

    pub fn write_state(&self, state: &Value) {
        std::fs::write(self.state_path(), serde_json::to_vec_pretty(state).unwrap()).unwrap();
    }

    /// `deployer ARGS` in the deployment's folder, against this process's moto.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.current_dir(self.dir.path())
            .env("PATH", tools_path())
            .args(args)
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", REGION)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", self.path("no-aws-config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", self.path("no-aws-credentials"))
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env_remove("AWS_PROFILE")
            .stdin(Stdio::null());
        cmd
    }

    /// `deployer ARGS --output json`.
    pub fn run(&self, args: &[&str]) -> Outcome {
        Outcome::from(self.command(args).args(["--output", "json"]).output().expect("run deployer"))
    }

    /// The arguments of a full `deployer run` of this service with the fixture backend.
    pub fn deploy_args(&self) -> Vec<String> {
        ["run", "--service", &self.service, "--domain", &format!("{}.com", self.service)].map(String::from).to_vec()
    }

    /// A full `deployer run --output json` in the background, its stdout and stderr piped.
    pub fn spawn_deploy_json(&self) -> std::process::Child {
        let args = self.deploy_args();
        self.command(&args.iter().map(String::as_str).collect::<Vec<_>>())
            .args(["--output", "json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start deployer")
    }

    /// A full run without `--domain`: the service stays on its AWS-generated URLs.
    pub fn deploy_without_domain(&self) -> Outcome {
        self.run(&["run", "--service", &self.service])
    }

    pub fn deploy(&self) -> Outcome {
        let args = self.deploy_args();
        self.run(&args.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// The `resource` events of one step, as (resource, action, fields).
    pub fn step_changes(outcome: &Outcome, step: &str) -> Vec<(String, String, Vec<String>)> {
        let of_step = |e: &&Value| e["event"] == "resource" && e["step"] == step;
        let events: Vec<&Value> = outcome.events.iter().filter(of_step).collect();
        events
            .into_iter()
            .map(|e| {
                let fields = e["fields"].as_array().into_iter().flatten().filter_map(|f| f.as_str().map(String::from));
                (
                    e["resource"].as_str().unwrap_or_default().into(),
                    e["action"].as_str().unwrap_or_default().into(),
                    fields.collect(),
                )
            })
            .collect()
    }
}

pub async fn s3() -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk_config().await).force_path_style(true).build())
}

pub async fn sdk_config() -> aws_config::SdkConfig {
    sdk_config_of(moto()).await
}

/// The SDK's configuration for another moto than the shared one.
pub async fn sdk_config_of(moto: &Moto) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(moto.url())
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_sdk_lambda::config::Credentials::new("test", "test", None, None, "tests"))
        .load()
        .await
}

/// Everything of one service that exists in moto, as sorted names, for exact comparisons. Lists keep
/// duplicates: moto accepts many that AWS refuses, so counting them is how a test sees them.
#[derive(Debug, PartialEq, Eq)]
pub struct Inventory {
    pub tables: Vec<String>,
    pub functions: Vec<String>,
    pub roles: Vec<String>,
    pub rest_apis: Vec<String>,
    /// "PATH" for every resource and "VERB PATH integration-type" for every method of the service's REST APIs.
    pub rest_methods: Vec<String>,
    pub rest_deployments: usize,
    pub websocket_apis: Vec<String>,
    /// "ROUTE-KEY -> function" for every route of the service's WebSocket APIs.
    pub routes: Vec<String>,
    pub websocket_integrations: usize,
    pub websocket_stages: Vec<String>,
    /// "function: statement" for every statement in the functions' resource policies.
    pub permissions: Vec<String>,
    /// The keys in the service's site bucket (empty when there is no bucket).
    pub site_objects: Vec<String>,
    /// Distributions whose comment names the service.
    pub distributions: usize,
    /// Hosted zones named `SERVICE.com`.
    pub zones: usize,
    /// Certificates whose domain is `SERVICE.com`.
    pub certificates: usize,
    /// "NAME TYPE" of every record in the service's zones but SOA and NS.
    pub records: Vec<String>,
    /// The mappings of the custom domains under `SERVICE.com`: "DOMAIN -> REST|WebSocket STAGE".
    pub custom_domains: Vec<String>,
}

async fn collect<T, E: std::fmt::Debug>(
    stream: aws_smithy_async::future::pagination_stream::PaginationStream<Result<T, E>>,
) -> Vec<T> {
    stream.collect::<Result<Vec<_>, _>>().await.unwrap()
}

pub async fn inventory(service: &str) -> Inventory {
    let config = sdk_config().await;
    let prefix = format!("{service}-");
    let ours = |name: &str| name.starts_with(&prefix);

    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let mut tables: Vec<String> =
        collect(dynamodb.list_tables().into_paginator().items().send()).await.into_iter().filter(|t| ours(t)).collect();
    let lambda = aws_sdk_lambda::Client::new(&config);
    let mut functions: Vec<String> = collect(lambda.list_functions().into_paginator().items().send())
        .await
        .into_iter()
        .filter_map(|f| f.function_name)
        .filter(|f| ours(f))
        .collect();
    let iam = aws_sdk_iam::Client::new(&config);
    let mut roles: Vec<String> = collect(iam.list_roles().into_paginator().items().send())
        .await
        .into_iter()
        .map(|r| r.role_name)
        .filter(|r| ours(r))
        .collect();

    let apigateway = aws_sdk_apigateway::Client::new(&config);
    let rest: Vec<_> = collect(apigateway.get_rest_apis().limit(500).into_paginator().items().send())
        .await
        .into_iter()
        .filter(|a| a.name().is_some_and(ours))
        .collect();
    let mut rest_methods = Vec::new();
    let mut rest_deployments = 0;
    for api in &rest {
        let id = api.id().unwrap();
        let resources =
            collect(apigateway.get_resources().rest_api_id(id).limit(500).into_paginator().items().send()).await;
        for resource in resources {
            let path = resource.path().unwrap_or_default().to_string();
            for verb in resource.resource_methods().map(|m| m.keys().cloned().collect::<Vec<_>>()).unwrap_or_default() {
                let method =
                    apigateway.get_method().rest_api_id(id).resource_id(resource.id().unwrap()).http_method(&verb);
                let method = method.send().await.unwrap();
                let kind = method.method_integration().and_then(|i| i.r#type()).map(|t| t.as_str().to_string());
                rest_methods.push(format!("{verb} {path} {}", kind.unwrap_or_default()));
            }
            rest_methods.push(path);
        }
        rest_deployments += apigateway.get_deployments().rest_api_id(id).send().await.unwrap().items().len();
    }

    let v2 = aws_sdk_apigatewayv2::Client::new(&config);
    let ws: Vec<_> =
        v2.get_apis().send().await.unwrap().items().iter().filter(|a| a.name().is_some_and(ours)).cloned().collect();
    let mut routes = Vec::new();
    let mut websocket_integrations = 0;
    let mut websocket_stages = Vec::new();
    for api in &ws {
        let id = api.api_id().unwrap();
        let integrations = v2.get_integrations().api_id(id).send().await.unwrap().items().to_vec();
        websocket_integrations += integrations.len();
        for route in v2.get_routes().api_id(id).send().await.unwrap().items() {
            let target = route.target().unwrap_or_default().trim_start_matches("integrations/");
            let integration = integrations.iter().find(|i| i.integration_id() == Some(target));
            let uri = integration.and_then(|i| i.integration_uri()).unwrap_or_default();
            let function = uri.split(":function:").nth(1).unwrap_or_default().trim_end_matches("/invocations");
            routes.push(format!("{} -> {function}", route.route_key().unwrap_or_default()));
        }
        for stage in v2.get_stages().api_id(id).send().await.unwrap().items() {
            websocket_stages.push(stage.stage_name().unwrap_or_default().to_string());
        }
    }

    let mut permissions = Vec::new();
    for function in &functions {
        let Ok(policy) = lambda.get_policy().function_name(function).send().await else { continue };
        let policy: Value = serde_json::from_str(policy.policy().unwrap_or("{}")).unwrap();
        for statement in policy["Statement"].as_array().into_iter().flatten() {
            permissions.push(format!("{function}: {}", statement["Sid"].as_str().unwrap_or_default()));
        }
    }

    let s3 = s3().await;
    let bucket = format!("{service}-frontend");
    let mut site_objects = Vec::new();
    if s3.head_bucket().bucket(&bucket).send().await.is_ok() {
        let listed = collect(s3.list_objects_v2().bucket(&bucket).into_paginator().send()).await;
        // deployer's release record lives beside the site, not in it (see `tests/it/releases.rs`).
        let keys = listed.iter().flat_map(|p| p.contents()).filter_map(|o| o.key().map(String::from));
        site_objects = keys.filter(|key| !key.starts_with(".deployer/")).collect();
    }
    let cloudfront = aws_sdk_cloudfront::Client::new(&config);
    let listed = cloudfront.list_distributions().send().await.unwrap();
    let comment = format!("{service} frontend (deployer)");
    let mut distributions = 0;
    for summary in listed.distribution_list().map(|l| l.items().to_vec()).unwrap_or_default() {
        // Another test's destroy may delete a distribution between the listing and this read.
        let Ok(config) = cloudfront.get_distribution_config().id(summary.id()).send().await else { continue };
        distributions += usize::from(config.distribution_config().is_some_and(|c| c.comment() == comment));
    }
    site_objects.sort();

    let domain = format!("{service}.com");
    let route53 = aws_sdk_route53::Client::new(&config);
    // By name: a whole suite makes more zones than one page of ListHostedZones holds.
    let zones: Vec<String> = route53
        .list_hosted_zones_by_name()
        .dns_name(&domain)
        .send()
        .await
        .unwrap()
        .hosted_zones()
        .iter()
        .filter(|z| z.name().trim_end_matches('.') == domain)
        .map(|z| z.id().to_string())
        .collect();
    let mut records = Vec::new();
    for zone in &zones {
        let listed = route53.list_resource_record_sets().hosted_zone_id(zone).send().await.unwrap();
        for record in listed.resource_record_sets() {
            if !matches!(record.r#type().as_str(), "SOA" | "NS") {
                // ACM's validation names carry a token: keep only which name they validate.
                let name = record.name().trim_end_matches('.');
                let name = if name.starts_with('_') {
                    format!("_validation.{}", name.split_once('.').unwrap().1)
                } else {
                    name.to_string()
                };
                records.push(format!("{name} {}", record.r#type().as_str()));
            }
        }
    }
    records.sort();
    let acm = aws_sdk_acm::Client::new(&config);
    let listed = acm.list_certificates().send().await.unwrap();
    let certificates =
        listed.certificate_summary_list().iter().filter(|c| c.domain_name() == Some(domain.as_str())).count();
    let mut custom_domains = Vec::new();
    for name in [format!("api.{domain}"), format!("ws.{domain}")] {
        if let Ok(mappings) = apigateway.get_base_path_mappings().domain_name(&name).send().await {
            for m in mappings.items() {
                custom_domains.push(format!("{name} -> REST {}", m.stage().unwrap_or_default()));
            }
        }
        if let Ok(mappings) = v2.get_api_mappings().domain_name(&name).send().await {
            for m in mappings.items() {
                custom_domains.push(format!("{name} -> WebSocket {}", m.stage().unwrap_or_default()));
            }
        }
    }
    custom_domains.sort();

    for list in [
        &mut tables,
        &mut functions,
        &mut roles,
        &mut rest_methods,
        &mut routes,
        &mut websocket_stages,
        &mut permissions,
    ] {
        list.sort();
    }
    let mut rest_apis: Vec<String> = rest.iter().filter_map(|a| a.name().map(String::from)).collect();
    let mut websocket_apis: Vec<String> = ws.iter().filter_map(|a| a.name().map(String::from)).collect();
    rest_apis.sort();
    websocket_apis.sort();
    Inventory {
        tables,
        functions,
        roles,
        rest_apis,
        rest_methods,
        rest_deployments,
        websocket_apis,
        routes,
        websocket_integrations,
        websocket_stages,
        permissions,
        site_objects,
        distributions,
        zones: zones.len(),
        certificates,
        records,
        custom_domains,
    }
}

fn sorted(items: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = items.into_iter().collect();
    v.sort();
    v
}

/// What a deployment without `--domain` has: no zone, certificate, record or custom domain.
pub fn inventory_without_domain(service: &str) -> Inventory {
    Inventory { zones: 0, certificates: 0, records: vec![], custom_domains: vec![], ..full_inventory(service) }
}

/// The inventory a complete deployment of the fixtures has: one of everything.
pub fn full_inventory(service: &str) -> Inventory {
    let name = |suffix: &str| format!("{service}-{suffix}");
    let tables = ["conversations", "prompts", "usage", "websocket-connections"];
    let functions = [
        "conversation-api",
        "prompt-crud",
        "usage-handler",
        "websocket-connect",
        "websocket-disconnect",
        "websocket-message",
    ];
    let routes = [
        ("/conversations", &["GET", "POST"][..]),
        ("/conversations/{id}", &["GET", "PUT", "DELETE"][..]),
        ("/prompts", &["GET", "POST"][..]),
        ("/prompts/{id}", &["GET", "PUT", "DELETE"][..]),
        ("/usage", &["GET"][..]),
    ];
    let mut rest_methods = vec!["/".to_string()];
    for (path, verbs) in routes {
        rest_methods.push(path.to_string());
        rest_methods.extend(verbs.iter().map(|v| format!("{v} {path} AWS_PROXY")));
        rest_methods.push(format!("OPTIONS {path} MOCK"));
    }
    let mut permissions: Vec<String> = ["conversation-api", "prompt-crud", "usage-handler"]
        .iter()
        .map(|f| format!("{}: deployer-rest-api", name(f)))
        .collect();
    permissions.extend(
        ["websocket-connect", "websocket-disconnect", "websocket-message"]
            .iter()
            .map(|f| format!("{}: deployer-websocket-api", name(f))),
    );
    Inventory {
        tables: sorted(tables.iter().map(|t| name(t))),
        functions: sorted(functions.iter().map(|f| name(f))),
        roles: vec![name("lambda-role")],
        rest_apis: vec![name("rest-api")],
        rest_methods: sorted(rest_methods),
        rest_deployments: 1,
        websocket_apis: vec![name("websocket-api")],
        routes: sorted([
            format!("$connect -> {}:live", name("websocket-connect")),
            format!("$default -> {}:live", name("websocket-message")),
            format!("$disconnect -> {}:live", name("websocket-disconnect")),
        ]),
        websocket_integrations: 3,
        websocket_stages: vec!["dev".into(), "prod".into()],
        permissions: sorted(permissions),
        site_objects: sorted(
            ["assets/app.3f9a1c.css", "assets/app.8b2e4d.js", "config.js", "error.html", "index.html"]
                .map(String::from),
        ),
        distributions: 1,
        zones: 1,
        certificates: 1,
        records: sorted(
            [
                "_validation.{d} CNAME",
                "_validation.www.{d} CNAME",
                "_validation.api.{d} CNAME",
                "_validation.ws.{d} CNAME",
                "{d} A",
                "{d} AAAA",
                "www.{d} A",
                "www.{d} AAAA",
                // ws.{d} has no alias record against moto, which reports no target for v2 domains.
                "api.{d} A",
            ]
            .map(|r| r.replace("{d}", &format!("{service}.com"))),
        ),
        custom_domains: vec![format!("api.{service}.com -> REST prod"), format!("ws.{service}.com -> WebSocket prod")],
    }
}

/// What moto holds of a service that was never deployed, or was destroyed.
pub fn empty_inventory() -> Inventory {
    Inventory {
        tables: vec![],
        functions: vec![],
        roles: vec![],
        rest_apis: vec![],
        rest_methods: vec![],
        rest_deployments: 0,
        websocket_apis: vec![],
        routes: vec![],
        websocket_integrations: 0,
        websocket_stages: vec![],
        permissions: vec![],
        site_objects: vec![],
        distributions: 0,
        zones: 0,
        certificates: 0,
        records: vec![],
        custom_domains: vec![],
    }
}

/// Fails the test, naming how to get it, where uv does not run (`make test` installs it, in tests/tools).
pub fn require_uv() {
    let runs = Command::new("uv").arg("--version").env("PATH", tools_path()).output().is_ok_and(|o| o.status.success());
    assert!(runs, "this test installs with uv, and `uv` does not run: {GET_TOOLS}");
}
