//! `deployer dev` as its users run it: the fixture backend unchanged, its handlers run by AWS's own
//! runtime client (awslambdaric), its tables in an embedded moto, a real WebSocket client, a real
//! browser. The server is started with `--port 0 --ws-port 0 --output json`; each test waits on the
//! events it prints (its first line names the ports), never on a sleep.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use futures::{SinkExt as _, StreamExt as _};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use crate::support::Deployment;

/// How long the first start may take: it installs awslambdaric and boto3 into the user's cache once.
const FIRST_START: Duration = Duration::from_secs(300);
const EVENT: Duration = Duration::from_secs(30);

/// A running `deployer dev`; dropping it sends SIGINT, then SIGKILL if it lingers.
pub struct Dev {
    child: Child,
    events: mpsc::Receiver<Value>,
    pub listening: Value,
    pub seen: Vec<Value>,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Dev {
    pub fn start(d: &Deployment, extra: &[&str]) -> Dev {
        Dev::start_with(d, extra, &[])
    }

    /// As `start`, with variables in deployer's environment.
    pub fn start_with(d: &Deployment, extra: &[&str], environment: &[(&str, &str)]) -> Dev {
        let mut args = vec!["dev", "--service", &d.service, "--port", "0", "--ws-port", "0", "--output", "json"];
        args.extend_from_slice(extra);
        let mut command = d.command(&args);
        command.envs(environment.iter().copied());
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start deployer dev");
        let (sender, events) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let event =
                    serde_json::from_str(&line).unwrap_or_else(|_| serde_json::json!({"event": "text", "line": line}));
                if sender.send(event).is_err() {
                    return;
                }
            }
        });
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let mut err_pipe = child.stderr.take().unwrap();
        let collected = stderr.clone();
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = err_pipe.read_to_string(&mut text);
            collected.lock().unwrap().push_str(&text);
        });
        let mut dev = Dev { child, events, listening: Value::Null, seen: Vec::new(), stderr };
        dev.listening = dev.wait_for_within(FIRST_START, "listening", |e| e["event"] == "listening");
        dev
    }

    /// The next event that `matches`, within `limit`; the ones before it are kept in `seen`.
    pub fn wait_for_within(&mut self, limit: Duration, what: &str, matches: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(event) if matches(&event) => {
                    self.seen.push(event.clone());
                    return event;
                }
                Ok(event) => self.seen.push(event),
                Err(_) => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    std::thread::sleep(Duration::from_millis(100)); // the stderr reader's last read
                    panic!(
                        "no {what} event within {limit:?}; seen: {:#?}\nstderr: {}",
                        self.seen,
                        self.stderr.lock().unwrap()
                    );
                }
            }
        }
    }

    /// An event that `matches`, already seen or the next one: for lines whose order against other
    /// events is not fixed (a worker's output and the server's own events come on separate pipes).
    pub fn seen_or_wait(&mut self, what: &str, matches: impl Fn(&Value) -> bool) -> Value {
        match self.seen.iter().find(|e| matches(e)) {
            Some(event) => event.clone(),
            None => self.wait_for(what, matches),
        }
    }

    pub fn wait_for(&mut self, what: &str, matches: impl Fn(&Value) -> bool) -> Value {
        self.wait_for_within(EVENT, what, matches)
    }

    pub fn api(&self) -> String {
        self.listening["api_url"].as_str().unwrap().to_string()
    }

    pub fn port(&self) -> u16 {
        self.listening["port"].as_u64().unwrap() as u16
    }

    /// The lines the workers printed so far, after waiting for nothing more.
    pub fn logs(&self) -> Vec<String> {
        self.seen
            .iter()
            .filter(|e| e["event"] == "log")
            .map(|e| e["line"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// SIGINT, as Ctrl-C; the exit code.
    pub fn interrupt(&mut self) -> Option<i32> {
        // SAFETY: kill(2) on our own child's PID.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGINT);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        if self.interrupt().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// An HTTP/1.1 answer: status, headers (names in lower case), body.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// One request on its own connection.
pub fn request(method: &str, url: &str, headers: &[(&str, &str)], body: &str) -> Answer {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap_or((rest, "/".into()));
    let mut stream = TcpStream::connect(host).unwrap();
    let mut text =
        format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    text.push_str(body);
    stream.write_all(text.as_bytes()).unwrap();
    // The head, then the body by its length: some servers (Chromium's DevTools) keep the connection open.
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line).unwrap();
    let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    let length = headers.iter().find(|(n, _)| n == "content-length").and_then(|(_, v)| v.parse::<usize>().ok());
    let mut body = Vec::new();
    match length {
        Some(length) => {
            body.resize(length, 0);
            reader.read_exact(&mut body).unwrap();
        }
        None => {
            reader.read_to_end(&mut body).unwrap();
        }
    }
    Answer { status, headers, body: String::from_utf8_lossy(&body).into_owned() }
}

async fn dynamodb(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new("t", "t", None, None, "test"))
        .load()
        .await;
    aws_sdk_dynamodb::Client::new(&config)
}

#[test]
fn the_fixture_backend_unchanged_writes_and_reads_its_local_tables_through_the_rest_api() {
    let d = Deployment::new("dev-rest");
    let mut dev = Dev::start(&d, &[]);
    let api = dev.api();
    let created = request("POST", &format!("{api}/conversations"), &[("x-user-id", "u-1")], r#"{"title": "hello"}"#);
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["conversationId"].as_str().unwrap().to_string();
    let listed = request("GET", &format!("{api}/conversations"), &[("x-user-id", "u-1")], "");
    assert_eq!(listed.status, 200, "{}", listed.body);
    let items = listed.json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1);
    assert_eq!((items[0]["conversationId"].as_str(), items[0]["title"].as_str()), (Some(id.as_str()), Some("hello")));

    // The preflight 03-api-gateway answers, from the stage's origins (the dev stage allows localhost:5173).
    let preflight = request("OPTIONS", &format!("{api}/conversations"), &[("Origin", "http://localhost:5173")], "");
    assert_eq!(preflight.status, 200);
    assert_eq!(preflight.header("access-control-allow-origin"), Some("http://localhost:5173"));
    assert!(preflight.header("access-control-allow-methods").unwrap().contains("POST"));
    // API Gateway's own answers: an unknown route, and a method the route lacks.
    let unknown = request("GET", &format!("{api}/nowhere"), &[], "");
    assert_eq!((unknown.status, unknown.json()["message"].as_str()), (403, Some("Missing Authentication Token")));
    assert_eq!(request("PATCH", &format!("{api}/conversations"), &[], "").status, 403);
    let logged = dev.wait_for("request log", |e| e["event"] == "request" && e["method"] == "PATCH");
    assert_eq!(logged["status"], 403);
}

#[test]
fn a_handler_gets_api_gateways_event_and_lambdas_context_and_a_malformed_answer_is_a_502() {
    let d = Deployment::new("dev-event");
    std::fs::write(
        d.path("backend/handlers/api/echo.py"),
        r#"import json, os

def handler(event, context):
    if event["httpMethod"] == "DELETE":
        return {"statusCode": 200, "body": {"not": "a string"}}
    seen = {
        "event": event,
        "function_name": context.function_name,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "request_id": context.aws_request_id,
        "stage": os.environ.get("STAGE"),
        "table": os.environ.get("CONVERSATIONS_TABLE"),
    }
    return {"statusCode": 200, "multiValueHeaders": {"X-Seen": ["a", "b"]}, "body": json.dumps(seen)}
"#,
    )
    .unwrap();
    std::fs::write(
        d.path("deployer.toml"),
        r#"[functions.echo]
handler = "handlers.api.echo.handler"
timeout = 10

[[routes]]
path = "/conversations"
methods = ["GET", "POST"]
function = "conversation-api"

[[routes]]
path = "/echo/{id}"
methods = ["POST", "DELETE"]
function = "echo"
"#,
    )
    .unwrap();
    let mut dev = Dev::start(&d, &[]);
    let api = dev.api();
    let answer = request("POST", &format!("{api}/echo/a%20b?x=1&x=2"), &[("X-Custom", "v")], "{\"k\": 1}");
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.headers.iter().filter(|(n, _)| n == "x-seen").count(), 2, "multiValueHeaders kept");
    let seen = answer.json();
    let event = &seen["event"];
    assert_eq!(event["resource"], "/echo/{id}");
    assert_eq!(event["path"], "/echo/a%20b");
    assert_eq!(event["pathParameters"]["id"], "a b");
    assert_eq!(event["multiValueQueryStringParameters"]["x"], serde_json::json!(["1", "2"]));
    assert_eq!(event["headers"]["x-custom"], "v");
    assert_eq!(event["body"], "{\"k\": 1}");
    assert_eq!(event["requestContext"]["stage"], "dev");
    assert_eq!(event["requestContext"]["path"], "/dev/echo/a%20b");
    assert_eq!(event["requestContext"]["identity"]["sourceIp"], "127.0.0.1");
    assert_eq!(event["stageVariables"]["environment"], "development");
    assert_eq!(seen["function_name"], "dev-event-echo");
    let remaining = seen["remaining_ms"].as_u64().unwrap();
    assert!(remaining > 5_000 && remaining <= 10_000, "the function's 10 s timeout: {remaining} ms left");
    assert_eq!(seen["stage"], "dev");
    assert_eq!(seen["table"], "dev-event-conversations");

    let malformed = request("DELETE", &format!("{api}/echo/1"), &[], "");
    assert_eq!((malformed.status, malformed.json()["message"].as_str()), (502, Some("Internal server error")));
    let why = dev.wait_for("the malformed answer's reason", |e| e["event"] == "error");
    assert!(why["message"].as_str().unwrap().contains("json.dumps()"), "{why}");
}

#[test]
fn a_saved_handler_is_live_at_once_and_one_that_fails_to_import_answers_502_while_the_server_stays_up() {
    let d = Deployment::new("dev-watch");
    let mut dev = Dev::start(&d, &[]);
    let url = format!("{}/usage", dev.api());
    assert_eq!(request("GET", &url, &[], "").status, 200);

    let handler = d.path("backend/handlers/api/usage.py");
    let original = std::fs::read_to_string(&handler).unwrap();
    std::fs::write(&handler, "import json\n\ndef handler(event, context:\n").unwrap();
    dev.wait_for("a restart", |e| e["event"] == "restarted" && e["message"].as_str().unwrap().contains("usage"));
    let broken = request("GET", &url, &[], "");
    assert_eq!(broken.status, 502, "{}", broken.body);
    dev.wait_for("the import error", |e| {
        e["event"] == "error" && e["message"].as_str().unwrap().contains("failed to start")
    });
    dev.seen_or_wait("the traceback", |e| e["event"] == "log" && e["line"].as_str().unwrap().contains("SyntaxError"));
    // The other functions are untouched.
    assert_eq!(request("GET", &format!("{}/conversations", dev.api()), &[], "").status, 200);

    let fixed = original.replace("def handler(event, context):", "def handler(event, context):\n    return {\"statusCode\": 418, \"body\": \"new code\"}\n\ndef old_handler(event, context):");
    assert_ne!(fixed, original, "the fixture's handler signature");
    std::fs::write(&handler, fixed).unwrap();
    dev.wait_for("a restart", |e| e["event"] == "restarted");
    let live = request("GET", &url, &[], "");
    assert_eq!((live.status, live.body.as_str()), (418, "new code"));
}

#[test]
fn invocations_that_wait_get_another_worker_and_one_past_its_timeout_is_a_502_and_a_recycled_worker() {
    let d = Deployment::new("dev-pool");
    std::fs::write(
        d.path("backend/handlers/api/slow.py"),
        "import os, time\n\ndef handler(event, context):\n    time.sleep(float((event.get('queryStringParameters') or {}).get('s', '0')))\n    return {'statusCode': 200, 'body': str(os.getpid())}\n",
    )
    .unwrap();
    std::fs::write(
        d.path("deployer.toml"),
        "[functions.slow]\nhandler = \"handlers.api.slow.handler\"\ntimeout = 4\n\n[[routes]]\npath = \"/slow\"\nmethods = [\"GET\"]\nfunction = \"slow\"\n",
    )
    .unwrap();
    let mut dev = Dev::start(&d, &[]);
    let url = format!("{}/slow", dev.api());
    assert_eq!(request("GET", &format!("{url}?s=0"), &[], "").status, 200, "warm");

    let started = Instant::now();
    let both: Vec<_> = (0..2)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || request("GET", &format!("{url}?s=2"), &[], ""))
        })
        .collect();
    let answers: Vec<Answer> = both.into_iter().map(|t| t.join().unwrap()).collect();
    let took = started.elapsed();
    assert!(answers.iter().all(|a| a.status == 200));
    assert_ne!(answers[0].body, answers[1].body, "two workers, as Lambda runs two instances");
    // One after the other takes 4 s; side by side 2 s and the second worker's start (Python and boto3).
    assert!(took < Duration::from_millis(3900), "side by side, not one after the other: {took:?}");

    let late = request("GET", &format!("{url}?s=6"), &[], "");
    assert_eq!((late.status, late.json()["message"].as_str()), (502, Some("Internal server error")));
    dev.wait_for("the timeout", |e| {
        e["event"] == "error" && e["message"].as_str().unwrap().contains("timed out after 4 s")
    });
    assert_eq!(request("GET", &format!("{url}?s=0"), &[], "").status, 200, "another worker serves");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_websocket_client_pings_and_gets_the_handlers_pong_through_the_local_management_api() {
    let d = Deployment::new("dev-ws");
    let mut dev = tokio::task::block_in_place(|| Dev::start(&d, &[]));
    let ws_url = dev.listening["ws_url"].as_str().unwrap().to_string();
    let tables = dynamodb(dev.listening["tables_endpoint"].as_str().unwrap()).await;
    let table = "dev-ws-websocket-connections";

    let host = ws_url.strip_prefix("ws://").unwrap().split('/').next().unwrap().to_string();
    let stream = tokio::net::TcpStream::connect(&host).await.unwrap();
    let (mut socket, _) = tokio_tungstenite::client_async(format!("{ws_url}?token=t1"), stream).await.unwrap();
    let stored = tables.scan().table_name(table).send().await.unwrap();
    assert_eq!(stored.count(), 1, "$connect stored the connection");

    socket.send(Message::text(r#"{"action": "ping"}"#)).await.unwrap();
    let answer = tokio::time::timeout(EVENT, socket.next()).await.expect("an answer in time").unwrap().unwrap();
    let answer: Value = serde_json::from_str(answer.to_text().unwrap()).unwrap();
    if answer != serde_json::json!({"action": "pong"}) {
        tokio::task::block_in_place(|| dev.wait_for("the failure", |e| e["event"] == "error"));
        panic!("{answer} instead of a pong; the worker said: {:#?}", dev.logs());
    }

    socket.close(None).await.unwrap();
    tokio::task::block_in_place(|| {
        dev.wait_for("$disconnect", |e| e["event"] == "websocket" && e["route"] == "$disconnect")
    });
    let stored = tables.scan().table_name(table).send().await.unwrap();
    assert_eq!(stored.count(), 0, "$disconnect removed the connection");
    let routes: Vec<&str> =
        dev.seen.iter().filter(|e| e["event"] == "websocket").filter_map(|e| e["route"].as_str()).collect();
    assert_eq!(routes, ["$connect", "$default", "$disconnect"]);
}

/// A handler that posts through `WEBSOCKET_MANAGEMENT_ENDPOINT`, as 04-websocket gives it, rather than the
/// event's domain: the local endpoint works the same, and the connections' table is named as 04 names it.
#[tokio::test(flavor = "multi_thread")]
async fn a_custom_route_answers_through_the_management_endpoint_in_its_environment() {
    let d = Deployment::new("dev-where");
    std::fs::write(
        d.path("backend/handlers/websocket/where.py"),
        r#"import json, os

import boto3


def handler(event, context):
    client = boto3.client("apigatewaymanagementapi", endpoint_url=os.environ["WEBSOCKET_MANAGEMENT_ENDPOINT"])
    said = {"table": os.environ.get("CONNECTIONS_TABLE"), "action": json.loads(event["body"])["action"]}
    client.post_to_connection(ConnectionId=event["requestContext"]["connectionId"], Data=json.dumps(said).encode())
    return {"statusCode": 200}
"#,
    )
    .unwrap();
    let settings =
        "[functions.where]\nhandler = \"handlers.websocket.where.handler\"\ntables = [\"conversations\"]\n\n\
                    [[websocket.routes]]\nroute_key = \"where\"\nfunction = \"where\"\n";
    std::fs::write(d.path("deployer.toml"), settings).unwrap();
    let mut dev = tokio::task::block_in_place(|| Dev::start(&d, &[]));
    let ws_url = dev.listening["ws_url"].as_str().unwrap().to_string();
    let host = ws_url.strip_prefix("ws://").unwrap().split('/').next().unwrap().to_string();
    let stream = tokio::net::TcpStream::connect(&host).await.unwrap();
    let (mut socket, _) = tokio_tungstenite::client_async(ws_url.as_str(), stream).await.unwrap();
    socket.send(Message::text(r#"{"action": "where"}"#)).await.unwrap();
    let answer = tokio::time::timeout(EVENT, socket.next()).await.expect("an answer in time").unwrap().unwrap();
    let answer: Value = serde_json::from_str(answer.to_text().unwrap()).unwrap();
    if answer.get("message").is_some() {
        tokio::task::block_in_place(|| dev.wait_for("the failure", |e| e["event"] == "error"));
        panic!("{answer}; the worker said: {:#?}", dev.logs());
    }
    // Its own tables are only conversations; the connections' table is added as 04 adds it.
    assert_eq!(answer, serde_json::json!({"table": "dev-where-websocket-connections", "action": "where"}));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connect_that_answers_non_2xx_refuses_the_connection() {
    let d = Deployment::new("dev-refuse");
    std::fs::write(
        d.path("backend/handlers/websocket/connect.py"),
        "def handler(event, context):\n    ok = (event.get('queryStringParameters') or {}).get('token') == 'good'\n    return {'statusCode': 200 if ok else 401}\n",
    )
    .unwrap();
    let dev = tokio::task::block_in_place(|| Dev::start(&d, &[]));
    let ws_url = dev.listening["ws_url"].as_str().unwrap().to_string();
    let host = ws_url.strip_prefix("ws://").unwrap().split('/').next().unwrap().to_string();
    let connect = |query: &'static str| {
        let (url, host) = (format!("{ws_url}?token={query}"), host.clone());
        async move { tokio_tungstenite::client_async(url, tokio::net::TcpStream::connect(host).await.unwrap()).await }
    };
    match connect("bad").await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 401),
        other => panic!("a refused connection, not {:?}", other.map(|_| ())),
    }
    assert!(connect("good").await.is_ok());
}

#[test]
fn ctrl_c_stops_every_process_it_started_and_exits_130() {
    let d = Deployment::new("dev-stop");
    let mut dev = Dev::start(&d, &["--frontend-dev", "echo \"api=$API_BASE_URL ws=$WS_URL\"; sleep 600"]);
    let said = dev.wait_for("the frontend's line", |e| e["event"] == "log" && e["function"] == "frontend");
    let expected = format!("api={} ws={}", dev.api(), dev.listening["ws_url"].as_str().unwrap());
    assert_eq!(said["line"].as_str(), Some(expected.as_str()), "the dev server gets the local URLs");
    assert_eq!(request("GET", &format!("{}/usage", dev.api()), &[], "").status, 200, "a worker runs");
    let children = descendants(dev.child.id());
    assert!(children.len() >= 3, "moto, a worker and the frontend's dev server: {children:?}");
    assert_eq!(dev.interrupt(), Some(130));
    let alive: Vec<u32> = children.into_iter().filter(|pid| running(*pid)).collect();
    assert!(alive.is_empty(), "left running: {alive:?}");
}

/// Whether `pid` is a process that has not exited (a zombie has, and waits for its reaper).
fn running(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next()).is_some_and(|state| state != "Z")
}

/// Every process under `pid` (from /proc's parent links).
fn descendants(pid: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|p| {
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
            let after_name = stat.rsplit_once(')')?.1;
            Some((p, after_name.split_whitespace().nth(1)?.parse().ok()?))
        })
        .collect();
    let mut found = vec![pid];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(parents.iter().filter(|(_, pp)| *pp == parent).map(|(p, _)| *p));
        i += 1;
    }
    found.remove(0);
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn chromium_shows_the_frontends_rest_and_websocket_answers() {
    let d = Deployment::new("dev-browser");
    let dev = tokio::task::block_in_place(|| Dev::start(&d, &[]));
    let page = format!("http://127.0.0.1:{}/", dev.port());
    let profile = tempfile::tempdir().unwrap();
    let mut chromium = tokio::process::Command::new("chromium")
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"])
        .args(["--disable-background-networking", "--disable-component-update", "--disable-sync"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(["--remote-debugging-port=0", &page])
        .env("NO_PROXY", "127.0.0.1,localhost")
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("chromium runs: tests/tools/install.sh installs it (apt-get install chromium)");
    let page_socket = devtools_page(&mut chromium, &page).await;
    // The page's two answers, awaited in the page itself: a promise that a MutationObserver resolves.
    let shown = evaluate(
        &page_socket,
        r#"new Promise(resolve => {
            const both = () => {
                const rest = document.getElementById("rest"), ws = document.getElementById("ws");
                if (rest && ws) { resolve([rest.textContent, ws.textContent]); return true; }
                return false;
            };
            if (!both()) new MutationObserver(both).observe(document, { subtree: true, childList: true, characterData: true });
        })"#,
    )
    .await;
    assert_eq!(shown, serde_json::json!(["0 conversations", "websocket: {\"action\": \"pong\"}"]));
}

/// The DevTools WebSocket of the tab showing `url`, once Chromium has navigated to it.
async fn devtools_page(chromium: &mut tokio::process::Child, url: &str) -> String {
    use tokio::io::AsyncBufReadExt as _;
    let mut lines = tokio::io::BufReader::new(chromium.stderr.take().unwrap()).lines();
    let browser = loop {
        let line = tokio::time::timeout(EVENT, lines.next_line())
            .await
            .expect("DevTools in time")
            .unwrap()
            .expect("Chromium's DevTools line");
        if let Some(at) = line.strip_prefix("DevTools listening on ") {
            break at.to_string();
        }
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let port = browser.strip_prefix("ws://127.0.0.1:").unwrap().split('/').next().unwrap().to_string();
    let deadline = Instant::now() + EVENT;
    loop {
        let listed =
            tokio::task::block_in_place(|| request("GET", &format!("http://127.0.0.1:{port}/json/list"), &[], ""));
        let targets: Vec<Value> = serde_json::from_str(&listed.body).unwrap();
        if let Some(target) = targets.iter().find(|t| t["type"] == "page" && t["url"] == url) {
            return target["webSocketDebuggerUrl"].as_str().unwrap().to_string();
        }
        assert!(Instant::now() < deadline, "no tab on {url}: {targets:?}");
        // Chromium lists the tab once it has committed the navigation: ask again.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `Runtime.evaluate` of `expression` (a promise, awaited) in the page; its value. An evaluation that
/// the page's navigation cut short (its context destroyed) is asked again in the new document.
async fn evaluate(page_socket: &str, expression: &str) -> Value {
    let host = page_socket.strip_prefix("ws://").unwrap().split('/').next().unwrap().to_string();
    let stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let (mut socket, _) = tokio_tungstenite::client_async(page_socket, stream).await.unwrap();
    for id in 1..=5 {
        let params = serde_json::json!({"expression": expression, "awaitPromise": true, "returnByValue": true});
        let call = serde_json::json!({"id": id, "method": "Runtime.evaluate", "params": params});
        socket.send(Message::text(call.to_string())).await.unwrap();
        let answer = loop {
            let message =
                tokio::time::timeout(EVENT, socket.next()).await.expect("the page's answers in time").unwrap().unwrap();
            let answer: Value = serde_json::from_str(message.to_text().unwrap()).unwrap();
            if answer["id"] == id {
                break answer;
            }
        };
        let value = &answer["result"]["result"]["value"];
        if !value.is_null() {
            return value.clone();
        }
        let navigated = answer["error"]["message"].as_str().is_some_and(|m| m.contains("context was destroyed"));
        assert!(navigated, "the page gave no value: {answer}");
    }
    panic!("the page kept navigating");
}

#[test]
fn the_backends_requirements_are_installed_for_this_machine_and_importable_by_the_handlers() {
    let d = Deployment::new("dev-reqs");
    std::fs::write(d.path("backend/requirements.txt"), "six==1.16.0\n").unwrap();
    std::fs::write(
        d.path("backend/handlers/api/usage.py"),
        "import six\n\ndef handler(event, context):\n    return {'statusCode': 200, 'body': six.__version__}\n",
    )
    .unwrap();
    let dev = Dev::start(&d, &[]);
    let answer = request("GET", &format!("{}/usage", dev.api()), &[], "");
    assert_eq!((answer.status, answer.body.as_str()), (200, "1.16.0"));
    let installed = std::fs::read_dir(d.path(".deployer/cache/dev-requirements")).unwrap().count();
    assert_eq!(installed, 1, "one install, in the project's cache");
}

#[test]
fn a_worker_that_dies_at_start_answers_502_at_once_not_after_api_gateways_29_s() {
    let d = Deployment::new("dev-crash");
    let python = d.path("python-whose-workers-crash");
    let script = "#!/bin/sh\ncase \"$*\" in *awslambdaric*) echo 'worker crashed at start' >&2; exit 3;; esac\nexec python3 \"$@\"\n";
    std::fs::write(&python, script).unwrap();
    std::fs::set_permissions(&python, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut dev = Dev::start_with(&d, &[], &[("DEPLOYER_PYTHON", python.to_str().unwrap())]);
    let started = Instant::now();
    let answer = request("GET", &format!("{}/usage", dev.api()), &[], "");
    assert_eq!(answer.status, 502, "{}", answer.body);
    assert!(started.elapsed() < Duration::from_secs(5), "at once: {:?}", started.elapsed());
    dev.wait_for("the reason", |e| {
        e["event"] == "error" && e["message"].as_str().unwrap().contains("exited before taking")
    });
    dev.seen_or_wait("the worker's own words", |e| {
        e["line"].as_str().is_some_and(|l| l.contains("worker crashed at start"))
    });
}

#[test]
fn an_api_key_is_required_as_the_deployed_stage_requires_it() {
    let d = Deployment::new("dev-key");
    std::fs::write(d.path("deployer.toml"), "[auth]\nkind = \"api_key\"\n").unwrap();
    let dev = Dev::start(&d, &[]);
    let key = dev.listening["api_key"].as_str().expect("the key is shown at start").to_string();
    let url = format!("{}/usage", dev.api());
    let refused = request("GET", &url, &[], "");
    assert_eq!((refused.status, refused.json()["message"].as_str()), (403, Some("Forbidden")));
    assert_eq!(request("GET", &url, &[("x-api-key", "wrong")], "").status, 403);
    assert_eq!(request("GET", &url, &[("x-api-key", &key)], "").status, 200);
    // The preflight needs no key, as 03-api-gateway leaves OPTIONS open.
    assert_eq!(request("OPTIONS", &url, &[("Origin", "http://localhost:5173")], "").status, 200);
}

#[test]
fn with_cognito_the_handler_gets_the_tokens_claims_and_the_start_says_signatures_are_not_checked() {
    let d = Deployment::new("dev-cognito");
    let pool = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_Abc123";
    std::fs::write(d.path("deployer.toml"), format!("[auth]\nkind = \"cognito\"\nuser_pool_arn = \"{pool}\"\n"))
        .unwrap();
    std::fs::write(
        d.path("backend/handlers/api/usage.py"),
        "import json\n\ndef handler(event, context):\n    return {'statusCode': 200, 'body': json.dumps(event['requestContext']['authorizer'])}\n",
    )
    .unwrap();
    let dev = Dev::start(&d, &[]);
    let notices = dev.listening["notices"].to_string();
    assert!(notices.contains("signatures are NOT checked locally"), "{notices}");
    let url = format!("{}/usage", dev.api());
    assert_eq!(request("GET", &url, &[], "").status, 401, "no token");
    // header.payload.signature, the payload {"sub": "u-1", "email": "ada@example.com"} in base64url.
    let token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiAidS0xIiwgImVtYWlsIjogImFkYUBleGFtcGxlLmNvbSJ9.c2ln";
    let answer = request("GET", &url, &[("Authorization", token)], "");
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["claims"], serde_json::json!({"sub": "u-1", "email": "ada@example.com"}));
}

/// `--tables aws`: the handlers use the deployed tables with the caller's credentials (here the tests'
/// moto stands for AWS, as for every deploy in this suite).
#[tokio::test(flavor = "multi_thread")]
async fn with_tables_aws_the_handlers_write_the_deployed_tables() {
    let d = Deployment::new("dev-aws-tables");
    d.run(&["step", "01-dynamodb", "--service", &d.service]).assert_ok();
    let mut dev = tokio::task::block_in_place(|| Dev::start(&d, &["--tables", "aws"]));
    assert!(dev.listening["tables"].as_str().unwrap().starts_with("aws"), "{}", dev.listening);
    assert!(dev.listening["tables_endpoint"].is_null(), "no local tables");
    let api = dev.api();
    let created = tokio::task::block_in_place(|| {
        request("POST", &format!("{api}/conversations"), &[("x-user-id", "u-9")], r#"{"title": "real"}"#)
    });
    assert_eq!(created.status, 201, "{}", created.body);
    let tables = dynamodb(&d.endpoint).await;
    let stored = tables.scan().table_name("dev-aws-tables-conversations").send().await.unwrap();
    assert_eq!(stored.count(), 1, "the item is in the deployed table");
    let _ = dev.interrupt();
}

#[test]
fn a_busy_port_or_a_missing_backend_exits_2_naming_the_fix_before_anything_starts() {
    let d = Deployment::new("dev-bad");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let busy = d.command(&["dev", "--service", &d.service, "--port", &port, "--ws-port", "0"]).output().unwrap();
    let said = String::from_utf8_lossy(&busy.stderr);
    assert_eq!(busy.status.code(), Some(2), "{said}");
    assert!(said.contains(&format!("port {port} is not free")) && said.contains("--port"), "{said}");

    let missing = d
        .command(&["dev", "--service", &d.service, "--backend", "nowhere", "--port", "0", "--ws-port", "0"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(missing.status.code(), Some(2), "{said}");
    assert!(said.contains("nowhere") && said.contains("--backend"), "{said}");

    std::fs::write(d.path("deployer.toml"), "[vpc]\nsubnet_ids = [\"subnet-1\"]\nsecurity_group_ids = [\"sg-1\"]\n")
        .unwrap();
    let vpc = d.command(&["dev", "--service", &d.service, "--port", "0", "--ws-port", "0"]).output().unwrap();
    let said = String::from_utf8_lossy(&vpc.stderr);
    assert_eq!(vpc.status.code(), Some(2), "{said}");
    assert!(said.contains("[vpc]"), "not emulated is an error naming the setting: {said}");

    let route = "[[routes]]\npath = \"/x\"\nmethods = [\"GET\"]\nfunction = \"nobody\"\n";
    std::fs::write(d.path("deployer.toml"), route).unwrap();
    let routed = d.command(&["dev", "--service", &d.service, "--port", "0", "--ws-port", "0"]).output().unwrap();
    let said = String::from_utf8_lossy(&routed.stderr);
    assert_eq!(routed.status.code(), Some(2), "{said}");
    assert!(said.contains("nobody"), "the route's missing function is named: {said}");

    // No moto anywhere: the error says how to install it, or to use the deployed tables.
    std::fs::remove_file(d.path("deployer.toml")).unwrap();
    let no_moto = d.path("python-without-moto");
    std::fs::write(&no_moto, "#!/bin/sh\nexit 1\n").unwrap();
    std::fs::set_permissions(&no_moto, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let missing = d
        .command(&["dev", "--service", &d.service, "--port", "0", "--ws-port", "0"])
        .env("PATH", "/usr/bin:/bin")
        .env("DEPLOYER_PYTHON", &no_moto)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(missing.status.code(), Some(2), "{said}");
    assert!(said.contains("pip install 'moto[server]'") && said.contains("--tables aws"), "{said}");
    assert!(!d.path(".deployer/state.json").exists(), "nothing written");
}
