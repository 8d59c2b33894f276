//! `make bench`'s `deployer dev` table: what the local server adds to a handler's own time, the
//! WebSocket round trip, how soon a saved handler answers, and how soon the server serves. A benchmark,
//! not a test: `cargo bench --bench dev_server` (the release binary, the fixture backend plus two
//! trivial handlers, so that what is timed is the server, not the handler).

// The integration tests' harness, shared as it is; this uses a part of it.
#![allow(dead_code)]

#[path = "../it/dev.rs"]
mod dev;
#[path = "../it/support.rs"]
mod support;

use std::process::Command;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use dev::{request, Dev};
use futures::{SinkExt as _, StreamExt as _};
use support::{tools_path, Deployment};
use tokio_tungstenite::tungstenite::Message;

const REQUESTS: usize = 100;

/// A handler that does nothing: its answer's time is the server's.
const BENCH_HANDLER: &str = "def handler(event, context):\n    return {\"statusCode\": 200, \"body\": \"v1\"}\n";

/// Answers a WebSocket message through the management API with a client kept between invocations, as a
/// handler tuned for Lambda does.
const BENCH_WS_HANDLER: &str = r#"import boto3

_clients = {}


def handler(event, context):
    ctx = event["requestContext"]
    endpoint = f"https://{ctx['domainName']}/{ctx['stage']}"
    client = _clients.get(endpoint) or _clients.setdefault(endpoint, boto3.client("apigatewaymanagementapi", endpoint_url=endpoint))
    client.post_to_connection(ConnectionId=ctx["connectionId"], Data=b"pong")
    return {"statusCode": 200}
"#;

const SETTINGS: &str = r#"[functions.bench]
handler = "handlers.api.bench.handler"

[functions.bench-ws]
handler = "handlers.websocket.bench_ws.handler"

[[routes]]
path = "/bench"
methods = ["GET"]
function = "bench"

[[routes]]
path = "/conversations"
methods = ["GET", "POST"]
function = "conversation-api"

[[websocket.routes]]
route_key = "bench"
function = "bench-ws"
"#;

fn percentile(samples: &mut [f64], p: f64) -> f64 {
    samples.sort_by(|a, b| a.total_cmp(b));
    let rank = ((p / 100.0) * samples.len() as f64).ceil() as usize;
    samples[rank.clamp(1, samples.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The handler called directly in Python, as the baseline: milliseconds per call.
fn direct_call_ms(d: &Deployment) -> f64 {
    let script = "import time, handlers.api.bench as b\nn = 2000\nt = time.perf_counter()\nfor _ in range(n): b.handler({}, None)\nprint((time.perf_counter() - t) * 1000 / n)\n";
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .current_dir(d.path("backend"))
        .env("PATH", tools_path())
        .output()
        .expect("python3");
    String::from_utf8_lossy(&out.stdout).trim().parse().expect("the direct call's time")
}

fn get_ms(url: &str) -> f64 {
    let started = Instant::now();
    let answer = request("GET", url, &[], "");
    assert_eq!(answer.status, 200, "{}", answer.body);
    ms(started.elapsed())
}

/// `REQUESTS` requests at once, each on its own connection: their times.
fn burst(url: &str) -> Vec<f64> {
    let barrier = Arc::new(Barrier::new(REQUESTS));
    let threads: Vec<_> = (0..REQUESTS)
        .map(|_| {
            let (barrier, url) = (barrier.clone(), url.to_string());
            std::thread::spawn(move || {
                barrier.wait();
                get_ms(&url)
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

fn main() {
    let d = Deployment::new("bench-dev");
    std::fs::write(d.path("backend/handlers/api/bench.py"), BENCH_HANDLER).unwrap();
    std::fs::write(d.path("backend/handlers/websocket/bench_ws.py"), BENCH_WS_HANDLER).unwrap();
    std::fs::write(d.path("deployer.toml"), SETTINGS).unwrap();

    // The first start fills the caches (runtime packages); the second is the one timed.
    let mut first = Dev::start(&d, &[]);
    assert_eq!(first.interrupt(), Some(130));
    let started = Instant::now();
    let mut server = Dev::start(&d, &[]);
    let serving = started.elapsed();
    let url = format!("{}/bench", server.api());

    let direct = direct_call_ms(&d);
    for _ in 0..20 {
        get_ms(&url);
    }
    let mut sequential: Vec<f64> = (0..REQUESTS).map(|_| get_ms(&url)).collect();
    let (seq_p50, seq_p99) = (percentile(&mut sequential, 50.0), percentile(&mut sequential, 99.0));

    // The first burst starts the extra workers (Lambda's cold starts); the second is timed warm.
    burst(&url);
    let burst_started = Instant::now();
    let mut concurrent = burst(&url);
    let burst_took = burst_started.elapsed();
    let (con_p50, con_p99) = (percentile(&mut concurrent, 50.0), percentile(&mut concurrent, 99.0));

    let ws_url = server.listening["ws_url"].as_str().unwrap().to_string();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut round_trips = runtime.block_on(async {
        let host = ws_url.strip_prefix("ws://").unwrap().split('/').next().unwrap().to_string();
        let stream = tokio::net::TcpStream::connect(host).await.unwrap();
        let (mut socket, _) = tokio_tungstenite::client_async(ws_url.as_str(), stream).await.unwrap();
        let mut times = Vec::new();
        for i in 0..(REQUESTS + 10) {
            let started = Instant::now();
            socket.send(Message::text(r#"{"action": "bench"}"#)).await.unwrap();
            let answer = socket.next().await.unwrap().unwrap();
            assert_eq!(answer.to_text().unwrap(), "pong");
            if i >= 10 {
                times.push(ms(started.elapsed()));
            }
        }
        times
    });
    let ws_p50 = percentile(&mut round_trips, 50.0);

    // Saved → answering with the new code, five times.
    let handler = d.path("backend/handlers/api/bench.py");
    let mut live: Vec<f64> = (2..7)
        .map(|version| {
            let body = format!("v{version}");
            let saved = Instant::now();
            std::fs::write(&handler, BENCH_HANDLER.replace("\"v1\"", &format!("\"{body}\""))).unwrap();
            loop {
                let answer = request("GET", &url, &[], "");
                if answer.body == body {
                    break ms(saved.elapsed());
                }
                assert!(saved.elapsed() < Duration::from_secs(20), "the saved handler never answered");
            }
        })
        .collect();
    let live_p50 = percentile(&mut live, 50.0);
    let _ = server.interrupt();

    println!("deployer dev (`cargo bench --bench dev_server`, release build):");
    println!("  handler called directly in Python: {direct:.3} ms per call");
    println!(
        "  overhead, {REQUESTS} sequential requests: p50 {:.2} ms, p99 {:.2} ms (goal ≤ 5 / ≤ 20 ms)",
        seq_p50 - direct,
        seq_p99 - direct
    );
    println!(
        "  overhead, {REQUESTS} concurrent requests: p50 {:.2} ms, p99 {:.2} ms (goal ≤ 5 / ≤ 20 ms)",
        con_p50 - direct,
        con_p99 - direct
    );
    println!(
        "  the burst of {REQUESTS}: all answered in {:.0} ms ({:.0} requests/s, DEPLOYER_DEV_CONCURRENCY workers per function)",
        ms(burst_took),
        REQUESTS as f64 / burst_took.as_secs_f64()
    );
    println!(
        "  WebSocket round trip (message → handler → PostToConnection → client): p50 {ws_p50:.2} ms (goal ≤ 10 ms)"
    );
    println!("  a saved handler answers after: p50 {live_p50:.0} ms of 5 saves (goal ≤ 500 ms)");
    println!("  serving after start, caches warm: {:.2} s (goal ≤ 3 s)", serving.as_secs_f64());
}
