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
    MOTO.get_or_init(start_moto)
}

fn start_moto() -> Moto {
    let port = free_port();
    let log = std::env::temp_dir().join(format!("deployer-tests-moto-{port}.log"));
    // moto runs in the background of a wrapper that waits on stdin, then kills moto by its PID.
    let script = format!(
        "moto_server -H 127.0.0.1 -p {port} </dev/null >'{}' 2>&1 & pid=$!; echo $pid; read _; kill $pid",
        log.display()
    );
    let mut child: Child = Command::new("bash")
        .args(["-c", &script])
        .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        .env("MOTO_ACM_VALIDATION_WAIT", "0")
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
            "moto_server (pid {pid}) did not answer on port {port} within 60 s (is `moto[server]` installed? \
             `pip install 'moto[server]'`). Its log:\n{log_text}"
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
    fn from(output: Output) -> Self {
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

    /// The `changed` count of the `run_finished` event.
    pub fn changed(&self) -> u64 {
        self.event("run_finished").and_then(|e| e["changed"].as_u64()).expect("a run_finished event")
    }
}

/// A scratch deployment: its own folder, state file, copy of the fixture backend, and service name.
pub struct Deployment {
    pub dir: tempfile::TempDir,
    pub service: String,
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
        Deployment { dir, service: service.to_string() }
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
            .args(args)
            .env("AWS_ENDPOINT_URL", moto().url())
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

    /// `deployer run` for this service with the fixture backend.
    pub fn deploy(&self) -> Outcome {
        self.run(&["run", "--service", &self.service, "--domain", &format!("{}.com", self.service)])
    }
}

pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(moto().url())
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_sdk_lambda::config::Credentials::new("test", "test", None, None, "tests"))
        .load()
        .await
}

/// Everything of one service that exists in moto, as sorted names, for exact comparisons.
#[derive(Debug, PartialEq, Eq)]
pub struct Inventory {
    pub tables: Vec<String>,
    pub functions: Vec<String>,
    pub roles: Vec<String>,
}

pub async fn inventory(service: &str) -> Inventory {
    let config = sdk_config().await;
    let prefix = format!("{service}-");
    let mut tables: Vec<String> = aws_sdk_dynamodb::Client::new(&config)
        .list_tables()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap()
        .into_iter()
        .filter(|t| t.starts_with(&prefix))
        .collect();
    let mut functions: Vec<String> = aws_sdk_lambda::Client::new(&config)
        .list_functions()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap()
        .into_iter()
        .filter_map(|f| f.function_name().map(String::from))
        .filter(|f| f.starts_with(&prefix))
        .collect();
    let mut roles: Vec<String> = aws_sdk_iam::Client::new(&config)
        .list_roles()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.role_name().to_string())
        .filter(|r| r.starts_with(&prefix))
        .collect();
    tables.sort();
    functions.sort();
    roles.sort();
    Inventory { tables, functions, roles }
}

/// The inventory a complete deployment of the fixtures has, for comparisons.
pub fn full_inventory(service: &str) -> Inventory {
    let names = |suffixes: &[&str]| {
        let mut v: Vec<String> = suffixes.iter().map(|s| format!("{service}-{s}")).collect();
        v.sort();
        v
    };
    Inventory {
        tables: names(&["conversations", "prompts", "usage", "websocket-connections"]),
        functions: names(&[
            "conversation-api",
            "prompt-crud",
            "usage-handler",
            "websocket-connect",
            "websocket-disconnect",
            "websocket-message",
        ]),
        roles: names(&["lambda-role"]),
    }
}
