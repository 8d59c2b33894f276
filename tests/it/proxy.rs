//! A fault-injecting HTTP proxy between deployer and moto, on loopback. It forwards every request, names
//! its AWS operation, counts reads and writes apart, and by rule answers errors, fails one operation
//! every time, or stalls every request after the k-th so that a test can kill deployer right there. In
//! strict mode (`Rules::strict`) it also behaves as real AWS does where moto does not (see `strict.rs`).

use bytes::Bytes;
use http_body_util::{BodyExt, Either, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::strict::{Call, Model, Strict};

#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// Answer this share of requests (0.0 to 1.0) with a throttling or 5xx error, chosen by `seed`.
    pub fault_rate: f64,
    pub seed: u64,
    /// Fail every request of the operation whose name contains this, with HTTP 500.
    pub always_fail: Option<String>,
    /// Forward this many requests, then hold every later one unanswered.
    pub stall_after: Option<u32>,
    /// Hold every request whose path ends with this (`/policy`: Lambda's AddPermission and GetPolicy)
    /// until [`Proxy::release`].
    pub hold_paths_ending: Option<&'static str>,
    /// Forward this many requests, then answer every later one with its status, headers and the first
    /// half of its body, and send nothing more: an endpoint that freezes mid-answer.
    pub freeze_mid_answer_after: Option<u32>,
    /// For the first request of each of these operations (exact names): forward it, then answer 500, as
    /// when the service did the work but the answer was lost.
    pub lose_answer_once: Vec<String>,
    /// Real AWS's quotas, in-between states and one-shot tokens, modelled in front of moto.
    pub strict: Option<Strict>,
    /// Answer HeadBucket with 403, as S3 does for a bucket of another account or without permission.
    pub forbid_head_bucket: bool,
    /// Buckets encrypt with SSE-KMS by default: GetBucketEncryption says so, and ListObjectsV2's ETags are
    /// no longer the objects' MD5s (as with KMS on S3).
    pub kms_bucket: bool,
    /// GetBucketEncryption answers 403 AccessDenied, as for credentials without s3:GetEncryptionConfiguration.
    pub deny_bucket_encryption: bool,
    /// Every answer is held this long first, as AWS's round trips take (the benchmark's simulated AWS).
    pub latency: Option<Latency>,
    /// Keep the bodies of the requests whose path ends with this (what moto drops, e.g. an update's field).
    pub keep_bodies_of: Option<&'static str>,
    /// The account's Lambda concurrency quota GetAccountSettings answers (moto has no such call; the proxy
    /// answers it): 1,000, AWS's default, unless set.
    pub lambda_concurrency_quota: Option<i32>,
    /// Play API Gateway v2's UpdateStage, which moto answers with HTTP 500: the stage is read, deleted and
    /// created again with the update applied (see `update_websocket_stage`).
    pub play_websocket_update_stage: bool,
}

/// Per-request latency: log-normal around a median, writes slower than reads.
#[derive(Debug, Clone, Copy)]
pub struct Latency {
    pub read: Duration,
    pub write: Duration,
    /// The log-normal's sigma: 0.5 puts the 99th percentile at about 3.2 times the median.
    pub sigma: f64,
}

impl Latency {
    /// AWS's control planes seen from a client in the same region: reads ~120 ms, writes ~250 ms median.
    pub const AWS: Latency =
        Latency { read: Duration::from_millis(120), write: Duration::from_millis(250), sigma: 0.5 };

    /// One request's latency from two uniform draws (Box-Muller), capped at ten times the median.
    fn sample(&self, read: bool, first: f64, second: f64) -> Duration {
        let normal = (-2.0 * first.max(1e-12).ln()).sqrt() * (std::f64::consts::TAU * second).cos();
        let median = if read { self.read } else { self.write };
        median.mul_f64((self.sigma * normal).exp().min(10.0))
    }
}

#[derive(Debug, Default)]
pub struct Seen {
    /// Operation → times forwarded.
    pub reads: BTreeMap<String, u32>,
    pub writes: BTreeMap<String, u32>,
    pub forwarded: u32,
    /// Every operation forwarded, in order.
    pub order: Vec<String>,
    /// (path, body) of the requests `Rules::keep_bodies_of` names.
    pub bodies: Vec<(String, String)>,
    /// Signing service (`apigateway`, `lambda`, …) → requests forwarded.
    pub by_service: BTreeMap<String, u32>,
    pub faults: u32,
    pub stalled: bool,
    /// Set by [`Proxy::release`]: held requests go on, and no more are held.
    pub released: bool,
    pub answers_lost: Vec<String>,
    /// Lambda's provisioned concurrency, which moto does not serve: answered here, function → instances.
    pub provisioned: BTreeMap<String, i32>,
    /// Reserved concurrency set through the proxy (moto's), function → executions: provisioned instances
    /// above it are refused, as Lambda refuses them.
    pub reserved: BTreeMap<String, i32>,
    /// Authorizer → the user pools UpdateAuthorizer gave it, which moto cannot patch: the proxy keeps them
    /// and shows them in moto's answers.
    pub authorizer_pools: BTreeMap<String, Vec<String>>,
    /// When a function's alias with provisioned instances last moved to another version: Lambda shifts its
    /// traffic gradually, and the alias carries routing weights for `ALIAS_SHIFT`.
    pub alias_moved: BTreeMap<String, std::time::Instant>,
}

/// How long an alias with provisioned instances routes to two versions after it moved (minutes on AWS).
pub const ALIAS_SHIFT: Duration = Duration::from_millis(1500);

impl Seen {
    fn shifting(&self, function: &str) -> bool {
        self.alias_moved.get(function).is_some_and(|t| t.elapsed() < ALIAS_SHIFT)
    }
}

impl Seen {
    pub fn write_count(&self) -> u32 {
        self.writes.values().sum()
    }
}

pub struct Proxy {
    pub url: String,
    pub seen: Arc<Mutex<Seen>>,
    /// The strict model, when the rules ask for one: what it refused and what CloudFront invalidated.
    pub model: Option<Arc<Model>>,
}

/// A small deterministic generator (SplitMix64), so a seed reproduces the same faults.
fn next_random(state: &mut u64) -> f64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
}

/// Verbs of the operations that only read (FilterLogEvents, Scan and Query read too).
const READ_VERBS: [&str; 7] = ["Get", "List", "Describe", "Head", "Filter", "Scan", "Query"];

/// The AWS operation of a request: the JSON protocols' target, the query protocol's `Action`, or the
/// method and path of the REST protocols (IDs and names blanked).
fn operation(request: &hyper::http::request::Parts, body: &Bytes) -> (String, bool) {
    if let Some(target) = request.headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        let name = target.rsplit('.').next().unwrap_or(target).to_string();
        let read = READ_VERBS.iter().any(|v| name.starts_with(v));
        return (name, read);
    }
    let text = String::from_utf8_lossy(body);
    if let Some(action) = text.split('&').find_map(|p| p.strip_prefix("Action=")) {
        let read = READ_VERBS.iter().any(|v| action.starts_with(v));
        return (action.to_string(), read);
    }
    let path: Vec<&str> = request.uri.path().split('/').filter(|s| !s.is_empty()).take(3).collect();
    let shape: Vec<&str> = path.iter().enumerate().map(|(i, p)| if i == 0 { *p } else { "*" }).collect();
    let method = request.method.as_str();
    (format!("{method} /{}", shape.join("/")), matches!(method, "GET" | "HEAD"))
}

/// Lambda's provisioned concurrency API (`/2019-09-30/functions/NAME/provisioned-concurrency`), which
/// moto has not: a PUT is READY at once, as AWS's is minutes later.
fn provisioned_concurrency(
    seen: &Mutex<Seen>,
    parts: &hyper::http::request::Parts,
    body: &Bytes,
) -> Response<Full<Bytes>> {
    let function = parts.uri.path().split('/').nth(3).unwrap_or_default().to_string();
    let mut seen = seen.lock().unwrap();
    let answer = |status: StatusCode, body: String| {
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = status;
        response
    };
    let config = |n: i32| {
        format!(
            r#"{{"RequestedProvisionedConcurrentExecutions":{n},"AllocatedProvisionedConcurrentExecutions":{n},"AvailableProvisionedConcurrentExecutions":{n},"Status":"READY","LastModified":"2026-11-30T00:00:00+0000"}}"#
        )
    };
    match parts.method {
        hyper::Method::PUT => {
            let asked: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
            let n = asked["ProvisionedConcurrentExecutions"].as_i64().unwrap_or_default() as i32;
            let refusal = if seen.shifting(&function) {
                Some("Alias with weights can not be used with Provisioned Concurrency")
            } else if seen.reserved.get(&function).is_some_and(|reserved| n > *reserved) {
                Some("Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution for function")
            } else {
                None
            };
            if let Some(message) = refusal {
                let body = serde_json::json!({"Type": "User", "message": message}).to_string();
                let mut response = answer(StatusCode::BAD_REQUEST, body);
                let kind = "InvalidParameterValueException".parse().expect("a valid header value");
                response.headers_mut().insert("x-amzn-errortype", kind);
                return response;
            }
            seen.provisioned.insert(function, n);
            *seen.writes.entry("PutProvisionedConcurrencyConfig".into()).or_default() += 1;
            answer(StatusCode::ACCEPTED, config(n))
        }
        hyper::Method::DELETE => {
            seen.provisioned.remove(&function);
            *seen.writes.entry("DeleteProvisionedConcurrencyConfig".into()).or_default() += 1;
            answer(StatusCode::NO_CONTENT, String::new())
        }
        _ => match seen.provisioned.get(&function) {
            Some(n) => answer(StatusCode::OK, config(*n)),
            None => {
                let mut response = answer(
                    StatusCode::NOT_FOUND,
                    r#"{"Type":"User","message":"No Provisioned Concurrency Config found for this function"}"#.into(),
                );
                let kind = "ProvisionedConcurrencyConfigNotFoundException".parse().expect("a valid header value");
                response.headers_mut().insert("x-amzn-errortype", kind);
                response
            }
        },
    }
}

/// An error answer the SDK must retry: a throttling error in the JSON protocols' own words, else a
/// 503 or 500 (an XML protocol's parser would not understand a JSON throttling body).
fn fault(kind: f64, json_protocol: bool) -> Response<Full<Bytes>> {
    let (status, body, error_type) = if json_protocol && kind < 0.5 {
        (
            StatusCode::BAD_REQUEST,
            r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
            "ThrottlingException",
        )
    } else if kind < 0.75 {
        (StatusCode::SERVICE_UNAVAILABLE, "", "ServiceUnavailable")
    } else {
        (StatusCode::INTERNAL_SERVER_ERROR, "", "InternalFailure")
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert("x-amzn-errortype", error_type.parse().expect("a valid header value"));
    response
}

impl Proxy {
    pub fn start(upstream: &str, rules: Rules) -> Proxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let address: SocketAddr = listener.local_addr().expect("proxy address");
        listener.set_nonblocking(true).expect("non-blocking listener");
        let seen = Arc::new(Mutex::new(Seen::default()));
        let model = rules.strict.clone().map(|strict| Arc::new(Model::new(strict)));
        let state = (seen.clone(), Arc::new(Mutex::new(rules.seed)), rules, upstream.to_string(), model.clone());
        // Its own thread and runtime: tests block on deployer processes while the proxy serves them.
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("proxy runtime");
            runtime.block_on(serve(listener, state));
        });
        Proxy { url: format!("http://{address}"), seen, model }
    }

    /// What the strict model refused, by error code (empty without strict mode).
    pub fn refusals(&self) -> BTreeMap<String, u32> {
        self.model.as_ref().map(|m| m.observed.lock().unwrap().refusals.clone()).unwrap_or_default()
    }

    /// The invalidations CloudFront really made, as (distribution, paths) (strict mode).
    pub fn invalidations(&self) -> Vec<(String, Vec<String>)> {
        self.model.as_ref().map(|m| m.observed.lock().unwrap().invalidations.clone()).unwrap_or_default()
    }

    pub fn seen<T>(&self, read: impl FnOnce(&Seen) -> T) -> T {
        read(&self.seen.lock().unwrap())
    }

    /// `deployer ARGS` through this proxy, returned once the proxy holds its request (stall rule), so that
    /// the test can kill it right there or release it. Its stderr is piped, its stdout dropped.
    pub fn spawn_until_stalled(&self, d: &crate::support::Deployment, args: &[&str]) -> std::process::Child {
        let mut child = d
            .command(args)
            .env("AWS_ENDPOINT_URL", &self.url)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        assert!(self.wait_for_stall(&mut child), "deployer {args:?} ended before the proxy held a request");
        child
    }

    /// Lets the held requests go on.
    pub fn release(&self) {
        self.seen.lock().unwrap().released = true;
    }

    /// Waits until the proxy holds a request (stall rule) or `child` exits; true if it stalled.
    pub fn wait_for_stall(&self, child: &mut std::process::Child) -> bool {
        loop {
            if self.seen(|s| s.stalled) {
                return true;
            }
            if child.try_wait().unwrap().is_some() {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// A listing's ETags as SSE-KMS makes them: not the MD5 of the content (here, the MD5's digits reversed).
fn kms_etags(body: &Bytes) -> Bytes {
    let text = String::from_utf8_lossy(body);
    let mut out = String::new();
    let mut rest: &str = &text;
    while let Some(start) = rest.find("<ETag>") {
        let Some(end) = rest[start..].find("</ETag>").map(|e| e + start) else { break };
        let etag = &rest[start + 6..end];
        out.push_str(&rest[..start + 6]);
        out.push_str(&etag.replace("&quot;", "\"").trim_matches('"').chars().rev().collect::<String>());
        rest = &rest[end..];
    }
    out.push_str(rest);
    Bytes::from(out)
}

type State = (Arc<Mutex<Seen>>, Arc<Mutex<u64>>, Rules, String, Option<Arc<Model>>);

async fn serve(listener: std::net::TcpListener, state: State) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let state = Arc::new(state);
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let (client, state) = (client.clone(), state.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let (client, state) = (client.clone(), state.clone());
                async move {
                    let freeze = {
                        let seen = state.0.lock().unwrap();
                        state.2.freeze_mid_answer_after.is_some_and(|k| seen.forwarded >= k)
                    };
                    let answer = handle(request, client, state).await?;
                    Ok::<_, hyper::Error>(if freeze {
                        frozen_mid_answer(answer).await.map(Either::Right)
                    } else {
                        answer.map(Either::Left)
                    })
                }
            });
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

/// A body that sends its first part, then never another byte.
struct Frozen {
    first: Option<Bytes>,
}

impl hyper::body::Body for Frozen {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        match self.first.take() {
            Some(data) => std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(data)))),
            // Never woken: the connection stays open and silent until the client gives up on it.
            None => std::task::Poll::Pending,
        }
    }
}

/// `answer` with its full length announced and half its body sent.
async fn frozen_mid_answer(answer: Response<Full<Bytes>>) -> Response<Frozen> {
    let (mut parts, body) = answer.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    parts.headers.insert(hyper::header::CONTENT_LENGTH, body.len().max(2).into());
    let half = body.slice(..body.len() / 2);
    Response::from_parts(parts, Frozen { first: Some(half) })
}

async fn handle(
    request: Request<Incoming>,
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    state: Arc<State>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let (seen, random, rules, upstream, model) = &*state;
    let (parts, body) = request.into_parts();
    let body = body.collect().await?.to_bytes();
    let (name, read) = operation(&parts, &body);
    let json_protocol = parts.headers.contains_key("x-amz-target");
    let header = |h: &str| parts.headers.get(h).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let authorization = header("authorization");
    let service = authorization.split("Credential=").nth(1).and_then(|c| c.split('/').nth(3)).unwrap_or_default();
    let target = header("x-amz-target");
    let text = String::from_utf8_lossy(&body).into_owned();
    let call = Call {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        service,
        target: target.rsplit('.').next().filter(|t| !t.is_empty()),
        action: text.split('&').find_map(|p| p.strip_prefix("Action=")),
        body: &body,
    };
    if rules.forbid_head_bucket && parts.method == hyper::Method::HEAD && service == "s3" {
        let mut response = Response::new(Full::new(Bytes::new()));
        *response.status_mut() = StatusCode::FORBIDDEN;
        return Ok(response);
    }

    let held = rules.hold_paths_ending.is_some_and(|end| parts.uri.path().ends_with(end));
    let stall = {
        let mut seen = seen.lock().unwrap();
        let stall = !seen.released && (held || rules.stall_after.is_some_and(|k| seen.forwarded >= k));
        seen.stalled |= stall;
        stall
    };
    // Held until the test kills deployer (which closes the connection) or releases the proxy.
    while stall && !seen.lock().unwrap().released {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    if let Some(latency) = rules.latency {
        let (first, second) = {
            let mut random = random.lock().unwrap();
            (next_random(&mut random), next_random(&mut random))
        };
        tokio::time::sleep(latency.sample(read, first, second)).await;
    }
    if rules.always_fail.as_deref().is_some_and(|op| name.contains(op)) {
        seen.lock().unwrap().faults += 1;
        let mut response = Response::new(Full::new(Bytes::from(r#"{"message":"injected persistent failure"}"#)));
        *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        return Ok(response);
    }
    if rules.fault_rate > 0.0 {
        let (roll, kind) = {
            let mut random = random.lock().unwrap();
            (next_random(&mut random), next_random(&mut random))
        };
        if roll < rules.fault_rate {
            seen.lock().unwrap().faults += 1;
            return Ok(fault(kind, json_protocol));
        }
    }

    let query = parts.uri.query().unwrap_or_default();
    if parts.uri.path().ends_with("/account-settings") && service == "lambda" {
        return Ok(account_settings(seen, rules.lambda_concurrency_quota.unwrap_or(1000)));
    }
    if parts.uri.path().ends_with("/provisioned-concurrency") {
        return Ok(provisioned_concurrency(seen, &parts, &body));
    }
    if rules.kms_bucket && service == "s3" && parts.method == hyper::Method::GET && query.contains("encryption") {
        let body = "<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>\
                    aws:kms</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>";
        return Ok(Response::new(Full::new(Bytes::from(body))));
    }
    if rules.deny_bucket_encryption
        && service == "s3"
        && parts.method == hyper::Method::GET
        && query.contains("encryption")
    {
        let body = "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>";
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = StatusCode::FORBIDDEN;
        return Ok(response);
    }
    let kms_listing = rules.kms_bucket && service == "s3" && query.contains("list-type=2");
    let segments: Vec<&str> = parts.uri.path().split('/').filter(|s| !s.is_empty()).collect();
    if rules.play_websocket_update_stage
        && parts.method == hyper::Method::PATCH
        && matches!(segments.as_slice(), ["v2", "apis", _, "stages", _])
    {
        return Ok(update_websocket_stage(&client, upstream, &parts, &body).await);
    }
    if let Some(answer) = model.as_ref().and_then(|m| m.before(&call)) {
        seen.lock().unwrap().faults += 1;
        return Ok(answer);
    }

    let uri = format!("{upstream}{}", parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"));
    let mut forward = Request::builder().method(parts.method.clone()).uri(uri);
    for (header, value) in &parts.headers {
        if header != "content-length" {
            forward = forward.header(header, value);
        }
    }
    let sent = match authorizer_id(&parts) {
        Some(id) if parts.method == hyper::Method::PATCH => {
            let mut seen = seen.lock().unwrap();
            let pools = seen.authorizer_pools.get(&id).cloned();
            let (kept, pools) = take_pool_operations(&body, pools);
            if let Some(pools) = pools {
                seen.authorizer_pools.insert(id, pools);
            }
            forward = forward.header("content-length", kept.len());
            kept
        }
        _ => body.clone(),
    };
    let call_body = sent.clone();
    let forward = forward.body(Full::new(sent)).expect("a forwardable request");
    let answer = match client.request(forward).await {
        Ok(answer) => answer,
        Err(error) => {
            let mut response = Response::new(Full::new(Bytes::from(format!("upstream: {error}"))));
            *response.status_mut() = StatusCode::BAD_GATEWAY;
            return Ok(response);
        }
    };
    {
        let mut seen = seen.lock().unwrap();
        seen.forwarded += 1;
        seen.order.push(name.clone());
        if rules.keep_bodies_of.is_some_and(|end| parts.uri.path().ends_with(end)) {
            seen.bodies.push((parts.uri.path().to_string(), String::from_utf8_lossy(&body).into_owned()));
        }
        *seen.by_service.entry(service.to_string()).or_default() += 1;
        let tally = if read { &mut seen.reads } else { &mut seen.writes };
        *tally.entry(name.clone()).or_default() += 1;
    }
    let (answer_parts, body) = answer.into_parts();
    let body = body.collect().await?.to_bytes();
    let body = match authorizer_id(&parts) {
        Some(id) if parts.method == hyper::Method::GET && answer_parts.status.is_success() => {
            show_pools(&seen.lock().unwrap().authorizer_pools, Some(&id), body)
        }
        None if parts.method == hyper::Method::GET && parts.uri.path().ends_with("/authorizers") => {
            show_pools(&seen.lock().unwrap().authorizer_pools, None, body)
        }
        _ => body,
    };
    let body = if service == "lambda" && answer_parts.status.is_success() {
        lambda_concurrency(&mut seen.lock().unwrap(), &parts, &call_body, body)
    } else {
        body
    };
    let body = match model {
        Some(model) => model.after(&call, answer_parts.status.as_u16(), body),
        None => body,
    };
    let body = if kms_listing { kms_etags(&body) } else { body };
    let lose = {
        let mut seen = seen.lock().unwrap();
        let lose = rules.lose_answer_once.contains(&name) && !seen.answers_lost.contains(&name);
        if lose {
            seen.answers_lost.push(name);
        }
        lose
    };
    if lose {
        let mut response = Response::new(Full::new(Bytes::from_static(b"")));
        *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        return Ok(response);
    }
    let mut answer_parts = answer_parts;
    answer_parts.headers.remove("content-length");
    Ok(Response::from_parts(answer_parts, Full::new(body)))
}

/// API Gateway v2's UpdateStage, which moto lacks (HTTP 500): GetStage, DeleteStage, then CreateStage with
/// the stage's fields and the update's merged in, all sent to moto with the request's own headers.
async fn update_websocket_stage(
    client: &Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    upstream: &str,
    parts: &hyper::http::request::Parts,
    update: &Bytes,
) -> Response<Full<Bytes>> {
    let path = parts.uri.path();
    let send = |method: hyper::Method, path: &str, body: Bytes| {
        let mut request = Request::builder().method(method).uri(format!("{upstream}{path}"));
        for (header, value) in &parts.headers {
            if header != "content-length" {
                request = request.header(header, value);
            }
        }
        client.request(request.body(Full::new(body)).expect("a request to moto"))
    };
    let read = |answer: Result<Response<Incoming>, _>| async move {
        let answer: Response<Incoming> = answer.expect("moto answers");
        let status = answer.status();
        (status, answer.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default())
    };
    let (status, stage) = read(send(hyper::Method::GET, path, Bytes::new()).await).await;
    if !status.is_success() {
        let mut response = Response::new(Full::new(stage));
        *response.status_mut() = status;
        return response;
    }
    let mut stage: serde_json::Value = serde_json::from_slice(&stage).unwrap_or_default();
    let update: serde_json::Value = serde_json::from_slice(update).unwrap_or_default();
    for (field, value) in update.as_object().into_iter().flatten() {
        stage[field] = value.clone();
    }
    let _ = read(send(hyper::Method::DELETE, path, Bytes::new()).await).await;
    let stages = path.rsplit_once('/').map(|(stages, _)| stages).unwrap_or(path);
    let (status, created) = read(send(hyper::Method::POST, stages, Bytes::from(stage.to_string())).await).await;
    let mut response = Response::new(Full::new(created));
    *response.status_mut() = if status.is_success() { StatusCode::OK } else { status };
    response
}

/// What the proxy's provisioned-concurrency play needs of moto's Lambda answers: reservations set or
/// removed, aliases with provisioned instances moved (their answers carry routing weights meanwhile).
fn lambda_concurrency(seen: &mut Seen, parts: &hyper::http::request::Parts, request: &Bytes, answer: Bytes) -> Bytes {
    let segments: Vec<&str> = parts.uri.path().split('/').filter(|s| !s.is_empty()).collect();
    let asked: serde_json::Value = serde_json::from_slice(request).unwrap_or_default();
    match (parts.method.as_str(), segments.as_slice()) {
        ("PUT", [_, "functions", name, "concurrency"]) => {
            let n = asked["ReservedConcurrentExecutions"].as_i64().unwrap_or_default() as i32;
            seen.reserved.insert(name.to_string(), n);
        }
        ("DELETE", [_, "functions", name, "concurrency"]) => {
            seen.reserved.remove(*name);
        }
        ("PUT", [_, "functions", name, "aliases", _]) if seen.provisioned.contains_key(*name) => {
            seen.alias_moved.insert(name.to_string(), std::time::Instant::now());
        }
        ("GET", [_, "functions", name, "aliases", _]) if seen.shifting(name) => {
            let mut alias: serde_json::Value = serde_json::from_slice(&answer).unwrap_or_default();
            alias["RoutingConfig"] = serde_json::json!({"AdditionalVersionWeights": {"1": 0.5}});
            return Bytes::from(alias.to_string());
        }
        _ => {}
    }
    answer
}

/// Lambda's GetAccountSettings, which moto has not: the quota, less what the proxy saw reserved.
fn account_settings(seen: &Mutex<Seen>, quota: i32) -> Response<Full<Bytes>> {
    let mut seen = seen.lock().unwrap();
    *seen.reads.entry("GetAccountSettings".into()).or_default() += 1;
    let reserved: i32 = seen.reserved.values().sum();
    let body = serde_json::json!({
        "AccountLimit": {"ConcurrentExecutions": quota, "UnreservedConcurrentExecutions": quota - reserved,
                         "CodeSizeUnzipped": 262144000, "CodeSizeZipped": 52428800, "TotalCodeSize": 80530636800_i64},
        "AccountUsage": {"FunctionCount": 0, "TotalCodeSize": 0}
    });
    Response::new(Full::new(Bytes::from(body.to_string())))
}

/// `/restapis/API/authorizers/ID`'s ID.
fn authorizer_id(parts: &hyper::http::request::Parts) -> Option<String> {
    match parts.uri.path().split('/').filter(|s| !s.is_empty()).collect::<Vec<_>>().as_slice() {
        ["restapis", _, "authorizers", id] => Some(id.to_string()),
        _ => None,
    }
}

/// UpdateAuthorizer's `/providerARNs` operations, which moto refuses (HTTP 500): taken out of the request
/// and applied to `pools` (the authorizer's, when the proxy has seen them).
fn take_pool_operations(body: &Bytes, pools: Option<Vec<String>>) -> (Bytes, Option<Vec<String>>) {
    let mut request: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let Some(operations) = request["patchOperations"].as_array().cloned() else { return (body.clone(), pools) };
    let (on_pools, others): (Vec<_>, Vec<_>) =
        operations.into_iter().partition(|o| o["path"].as_str().is_some_and(|p| p.starts_with("/providerARNs")));
    if on_pools.is_empty() {
        return (body.clone(), pools);
    }
    let mut pools = pools.unwrap_or_default();
    for operation in on_pools {
        let value = operation["value"].as_str().unwrap_or_default().to_string();
        match operation["op"].as_str() {
            Some("add") => pools.push(value),
            Some("remove") => pools.retain(|p| *p != value),
            _ => {}
        }
    }
    request["patchOperations"] = serde_json::Value::Array(others);
    (Bytes::from(request.to_string()), Some(pools))
}

/// moto's authorizer answers (one, or a listing) with the pools the proxy keeps for them.
fn show_pools(kept: &BTreeMap<String, Vec<String>>, one: Option<&str>, body: Bytes) -> Bytes {
    if kept.is_empty() {
        return body;
    }
    let mut answer: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let mut replace = |authorizer: &mut serde_json::Value| {
        let id = authorizer["id"].as_str().unwrap_or_default().to_string();
        if let Some(pools) = kept.get(&id).filter(|_| one.is_none_or(|o| o == id)) {
            authorizer["providerARNs"] = serde_json::json!(pools);
        }
    };
    match answer["item"].as_array_mut() {
        Some(items) => items.iter_mut().for_each(&mut replace),
        None => replace(&mut answer),
    }
    Bytes::from(answer.to_string())
}
