//! Manual section 6, "Verification": step `08-verify`.
//!
//! - Configuration check: every earlier step that this run has not compared with AWS already (all of them
//!   for `deployer step 08-verify`; none after a `run` that checked 01-07) is run in check-only mode
//!   ([`Recorder::planning`]): each
//!   resource recorded in the state file is read back and compared with what the step wants. Anything missing
//!   or different fails the step with a [`Drift`], which names it; the runner marks the drifted steps so that
//!   the next `deployer run` restores them. Mutating requests are refused at the client meanwhile.
//! - HTTP smoke test: `GET /conversations` (the first GET route without a parameter) on the main stage's
//!   invoke URL (and on `https://api.DOMAIN` once that name resolves), sent from the stage's first allowed
//!   origin, must answer below 500 allowing that origin; so must an `OPTIONS` preflight, while one from an
//!   origin not listed must not be allowed; and a path no route has, which API Gateway answers itself
//!   with a 4XX, must carry `Access-Control-Allow-Origin` (its gateway responses). With `[auth]`, the
//!   requests carry the API key (asked of API Gateway), and one without credentials must be refused:
//!   403 without the key, 401 without a Cognito token.
//! - WebSocket smoke test: connect to the stage's URL, send `{"action":"ping"}`, close cleanly.
//! - `--verify-http-url` / `--verify-ws-url` point the smoke tests at other servers. Against a custom endpoint
//!   (`--endpoint-url`, e.g. moto), which serves no API data plane, they are reported as skipped, never passed.
//! - Logs and metrics: for each function, the last log line (its newest stream's last event: two small
//!   requests whatever the volume of logs) and the invocations and errors of the last five minutes, as
//!   notices. A missing or empty log group means no invocations yet.
//!
//! Function logs are read through [`crate::logs`], which `deployer logs` uses too.
//!
//! AWS calls: the earlier steps' reads; `logs:DescribeLogStreams`, `GetLogEvents`; `cloudwatch:GetMetricData`.
//!
//! Outputs: none: what it found is said in notices (a count recorded would change the state file on every run).

use anyhow::{anyhow, bail, Context as _, Result};
use async_trait::async_trait;
use aws_sdk_cloudwatch::types::MetricDataQuery;
use futures::{SinkExt, StreamExt};
use http_body_util::Empty;
use hyper::body::Bytes;
use hyper::header::HeaderMap;
use hyper::{Method, Request};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::TokioExecutor;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio_tungstenite::tungstenite::Message;

use crate::aws::{AwsContext, Clients};
use crate::ensure::{Change, NotYetCreated, Recorder};
use crate::logs::last_log_event;
use crate::manual::ids;
use crate::metrics::{dimension, sum_query, sums};
use crate::outputs;
use crate::retry::{retry_while, Attempt, Patience};
use crate::settings::AuthKind;
use crate::step::{Context, Step};

pub const ID: &str = ids::VERIFY;

/// How long one smoke request may take.
const SMOKE_TIMEOUT: Duration = Duration::from_secs(10);
/// The window of the metrics shown.
const METRICS_WINDOW: Duration = Duration::from_secs(300);

pub struct Verify {
    /// The steps whose resources the configuration check reads back (01-07), given by the registry so
    /// that this step names none of them.
    pub checked_steps: fn() -> Vec<Box<dyn Step>>,
}

#[async_trait(?Send)]
impl Step for Verify {
    fn id(&self) -> &'static str {
        ID
    }
    fn title(&self) -> &'static str {
        "6 Verification"
    }
    fn requires(&self) -> &'static [&'static str] {
        &[ids::DYNAMODB, ids::LAMBDA, ids::API_GATEWAY, ids::WEBSOCKET, ids::FRONTEND, ids::STAGES]
    }
    fn reads(&self) -> &'static [&'static str] {
        &[ids::DOMAIN]
    }
    fn read_only(&self) -> bool {
        true
    }

    /// The smoke tests' targets: another target is another verification.
    async fn input_digest(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(format!("{:?} {:?}", ctx.settings.verify_http_url, ctx.settings.verify_ws_url))
    }

    async fn run(&self, ctx: &Context<'_>, recorder: &dyn Recorder) -> Result<()> {
        if recorder.planning() {
            return Ok(()); // It only reads: nothing to plan.
        }
        // Steps this run already compared with AWS are trusted; the others (all of them for `deployer step
        // 08-verify` or after a `resume` that skipped them) are read back.
        let (trusted, unchecked): (Vec<_>, Vec<_>) =
            (self.checked_steps)().into_iter().partition(|s| ctx.compared.contains(s.id()));
        if unchecked.is_empty() {
            recorder.notice("configuration: steps 01-07 were compared with AWS earlier in this run");
        } else {
            let checked = check_configuration(ctx, &unchecked).await?;
            let ids: Vec<&str> = unchecked.iter().map(|s| s.id()).collect();
            let trusted = if trusted.is_empty() { String::new() } else { " (the others were compared earlier)".into() };
            recorder.notice(&format!(
                "configuration: the {checked} resources of {} match what they want{trusted}",
                ids.join(", ")
            ));
        }

        let (http, ws) = futures::join!(smoke_http(ctx, recorder), smoke_websocket(ctx, recorder));
        let failures: Vec<String> = [http, ws].into_iter().filter_map(|r| r.err()).map(|e| format!("{e:#}")).collect();

        // Logs and metrics inform; credentials without CloudWatch read access must not fail the deploy.
        match activity(ctx).await {
            Ok(lines) => lines.iter().for_each(|line| recorder.notice(line)),
            Err(err) => recorder.notice(&format!("logs and metrics not read: {err:#}")),
        }
        if !failures.is_empty() {
            bail!("smoke test failed: {}", failures.join("; "));
        }
        Ok(())
    }
}

/// What the configuration check found different from what the steps want, by step.
#[derive(Debug)]
pub struct Drift {
    pub steps: BTreeMap<String, Vec<String>>,
}

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let found: Vec<String> =
            self.steps.iter().flat_map(|(step, what)| what.iter().map(move |w| format!("{step}: {w}"))).collect();
        write!(f, "AWS no longer matches the deployment ({}): run `deployer run` to restore it", found.join("; "))
    }
}

impl std::error::Error for Drift {}

/// Records nothing and writes nothing: collects what differs.
struct CheckRecorder<'a> {
    recorded: Option<&'a BTreeMap<String, String>>,
    values: RefCell<BTreeMap<String, String>>,
    differences: RefCell<Vec<String>>,
    checked: RefCell<usize>,
}

impl Recorder for CheckRecorder<'_> {
    fn recorded(&self, key: &str) -> Option<String> {
        let kept = self.values.borrow().get(key).cloned();
        kept.or_else(|| self.recorded.and_then(|r| r.get(key).cloned()))
    }
    fn record(&self, key: &str, value: &str) -> Result<()> {
        self.values.borrow_mut().insert(key.to_string(), value.to_string());
        Ok(())
    }
    fn report(&self, resource: &str, change: &Change) {
        *self.checked.borrow_mut() += 1;
        let difference = match change {
            Change::Unchanged => return,
            Change::Created => format!("{resource} is missing"),
            Change::Updated(fields) => format!("{resource} differs ({})", crate::ensure::fields_line(fields)),
            Change::Deleted => format!("{resource} should not be there"),
        };
        self.differences.borrow_mut().push(difference);
    }
    fn notice(&self, _message: &str) {}
    fn planning(&self) -> bool {
        true
    }
}

/// Runs steps 01-07 in check-only mode; returns how many resources were read back, or the [`Drift`].
async fn check_configuration(ctx: &Context<'_>, steps: &[Box<dyn Step>]) -> Result<usize> {
    let checked = crate::calls::reading_only(check_each_step(ctx, steps)).await;
    let (checked, drift) = checked?;
    if drift.is_empty() {
        Ok(checked)
    } else {
        Err(Drift { steps: drift }.into())
    }
}

async fn check_each_step(ctx: &Context<'_>, steps: &[Box<dyn Step>]) -> Result<(usize, BTreeMap<String, Vec<String>>)> {
    let mut checked = 0;
    let mut drift = BTreeMap::new();
    for step in steps.iter().filter(|s| s.id() != ID) {
        let recorder = CheckRecorder {
            recorded: ctx.outputs.get(step.id()),
            values: RefCell::new(BTreeMap::new()),
            differences: RefCell::new(Vec::new()),
            checked: RefCell::new(0),
        };
        // A missing resource ends that step's check (what is built on it cannot be looked up); it is
        // reported as missing already.
        match step.run(ctx, &recorder).await {
            Err(err) if !err.is::<NotYetCreated>() => return Err(anyhow!("checking step {}: {err:#}", step.id())),
            _ => {}
        }
        checked += *recorder.checked.borrow();
        let differences = recorder.differences.into_inner();
        if !differences.is_empty() {
            drift.insert(step.id().to_string(), differences);
        }
    }
    Ok((checked, drift))
}

/// Where a smoke test goes, or why it does not run.
fn smoke_target(ctx: &Context<'_>, given: &Option<String>, deployed: Result<&str>) -> Result<Option<String>> {
    if let Some(url) = given {
        return Ok(Some(url.trim_end_matches('/').to_string()));
    }
    if ctx.aws.custom_endpoint().is_some() {
        return Ok(None);
    }
    Ok(Some(deployed?.to_string()))
}

fn skipped_reason(ctx: &Context<'_>, what: &str, option: &str) -> String {
    format!(
        "{what} smoke test skipped: the endpoint {} serves no API data plane; pass {option} to test a server of yours",
        ctx.aws.custom_endpoint().unwrap_or_default()
    )
}

async fn smoke_http(ctx: &Context<'_>, recorder: &dyn Recorder) -> Result<()> {
    let deployed = ctx.get(&outputs::INVOKE_URL);
    let Some(base) = smoke_target(ctx, &ctx.settings.verify_http_url, deployed)? else {
        recorder.notice(&skipped_reason(ctx, "HTTP", "--verify-http-url"));
        return Ok(());
    };
    let routes = ctx.settings.routes();
    let probe = routes.iter().find(|r| r.methods.contains(&"GET") && !r.path.contains('{'));
    let Some(path) = probe.map(|r| r.path) else {
        recorder.notice("HTTP smoke test skipped: no GET route without a path parameter to call");
        return Ok(());
    };
    let origins = ctx.get_optional(&outputs::CORS_ORIGINS).unwrap_or("*");
    let allowed = origins.split(',').next().unwrap_or("*");
    let client = http_client()?;
    let key = api_key(ctx).await?;
    let mut bases = vec![base];
    if let Some(domain) = &ctx.settings.domain {
        let custom = format!("api.{domain}");
        let resolved = tokio::net::lookup_host(format!("{custom}:443")).await.map(|_| ());
        match resolved {
            Ok(()) if ctx.settings.verify_http_url.is_none() => bases.push(format!("https://{custom}")),
            Ok(()) => {}
            Err(_) => recorder.notice(&format!("https://{custom} is not tested: the name does not resolve yet")),
        }
    }
    for base in bases {
        let url = format!("{base}{path}");
        let probe = CorsProbe { client: &client, url: &url, key: key.as_deref() };
        let (status, headers) = match key.as_deref() {
            Some(key) => keyed_request(&client, &url, allowed, key).await?,
            None => request(&client, Method::GET, &url, allowed, None).await?,
        };
        if status >= 500 {
            bail!("GET {url} answered HTTP {status}: see `deployer logs conversation-api`");
        }
        probe.refuses_strangers(ctx.settings.auth.kind).await?;
        allows(&headers, allowed, "GET", &url)?;
        probe.preflight_allows(allowed).await?;
        if allowed != "*" {
            probe.preflight_refuses(REFUSED_ORIGIN).await?;
        }
        probe.error_answer_carries_cors(&format!("{base}{UNKNOWN_PATH}")).await?;
        recorder.notice(&format!(
            "HTTP smoke test passed: GET {url} answered {status} with CORS headers for {allowed}; the preflight \
             refuses other origins; API Gateway's own errors carry CORS headers"
        ));
    }
    Ok(())
}

/// A usage plan's new key is refused for a few seconds after it joins the plan: a 403 to the keyed
/// request is retried this long.
const KEY_ACCEPTED: Patience =
    Patience { first: Duration::from_secs(2), max: Duration::from_secs(10), limit: Duration::from_secs(60) };

/// The request with the API key proves the key works: a 2xx or 3xx, or the function's own 404 (API
/// Gateway answers 403 itself for an unknown path or a refused key).
async fn keyed_request(
    client: &HttpClient<Https, Empty<Bytes>>,
    url: &str,
    origin: &str,
    key: &str,
) -> Result<(u16, HeaderMap)> {
    let attempt = || async {
        match request(client, Method::GET, url, origin, Some(key)).await {
            Ok((403, _)) => Err(Attempt::Again(())),
            Ok(answer) => Ok(answer),
            Err(failed) => Err(Attempt::Stop(failed)),
        }
    };
    let (status, headers) = match retry_while(KEY_ACCEPTED, attempt, Attempt::again).await {
        Ok(answer) => answer,
        Err(Attempt::Stop(failed)) => return Err(failed),
        Err(Attempt::Again(())) => bail!(
            "GET {url} with the API key answered HTTP 403 for {} s: the key is in no usage plan of this stage; run \
             `deployer step 07-stages`",
            KEY_ACCEPTED.limit.as_secs()
        ),
    };
    if (400..500).contains(&status) && status != 404 {
        bail!("GET {url} with the API key answered HTTP {status}: see `deployer logs conversation-api`");
    }
    Ok((status, headers))
}

/// An origin no deployment lists (`.invalid` is reserved): the preflight must not allow it.
pub const REFUSED_ORIGIN: &str = "https://deployer-cors-probe.invalid";
/// A path no route has: API Gateway answers it itself, with a 4XX (403 "Missing Authentication Token").
const UNKNOWN_PATH: &str = "/deployer-smoke-test-no-such-route";

struct CorsProbe<'a> {
    client: &'a HttpClient<Https, Empty<Bytes>>,
    url: &'a str,
    /// The API key, with `[auth] kind = "api_key"`.
    key: Option<&'a str>,
}

/// The API key's value, asked of API Gateway (it is never recorded), with `[auth] kind = "api_key"`.
async fn api_key(ctx: &Context<'_>) -> Result<Option<String>> {
    let recorded = ctx.outputs.get(ids::STAGES).and_then(|o| o.get("api_key_id")).filter(|id| !id.is_empty());
    let Some(id) = recorded.filter(|_| ctx.settings.auth.kind == AuthKind::ApiKey) else { return Ok(None) };
    let got = ctx.aws.apigateway().get_api_key().api_key(id).include_value(true).send().await;
    Ok(got.aws_context(|| format!("apigateway:GetApiKey {id}"))?.value().map(str::to_string))
}

impl CorsProbe<'_> {
    /// With `[auth]`, a request without credentials is refused: 403 without the API key, 401 without a
    /// Cognito token.
    async fn refuses_strangers(&self, kind: AuthKind) -> Result<()> {
        let (wanted, missing) = match kind {
            AuthKind::None => return Ok(()),
            AuthKind::ApiKey => (403, "x-api-key"),
            AuthKind::Cognito => (401, "an Authorization token"),
        };
        let (status, _) = request(self.client, Method::GET, self.url, REFUSED_ORIGIN, None).await?;
        if status != wanted {
            bail!(
                "GET {} without {missing} answered HTTP {status}, not {wanted}: the methods are not protected; run \
                 `deployer step 03-api-gateway` (and 07-stages for the API key's usage plan)",
                self.url
            );
        }
        Ok(())
    }

    async fn preflight_allows(&self, origin: &str) -> Result<()> {
        let (status, headers) = request(self.client, Method::OPTIONS, self.url, origin, None).await?;
        if status >= 400 {
            bail!(
                "the CORS preflight OPTIONS {} answered HTTP {status}: check the OPTIONS methods of 03-api-gateway",
                self.url
            );
        }
        allows(&headers, origin, "OPTIONS", self.url)?;
        if !headers.contains_key("access-control-allow-methods") {
            bail!(
                "OPTIONS {} answered without access-control-allow-methods: run `deployer step 03-api-gateway`",
                self.url
            );
        }
        Ok(())
    }

    async fn preflight_refuses(&self, origin: &str) -> Result<()> {
        let (_, headers) = request(self.client, Method::OPTIONS, self.url, origin, None).await?;
        let answered = headers.get("access-control-allow-origin").and_then(|v| v.to_str().ok());
        if matches!(answered, Some(o) if o == origin || o == "*") {
            bail!(
                "the CORS preflight OPTIONS {} allows {origin}, which is not one of the stage's origins: check the \
                 stage variable corsOrigins (`deployer step 07-stages`) and the OPTIONS methods of 03-api-gateway",
                self.url
            );
        }
        Ok(())
    }

    async fn error_answer_carries_cors(&self, url: &str) -> Result<()> {
        let (status, headers) = request(self.client, Method::GET, url, REFUSED_ORIGIN, self.key).await?;
        if (400..500).contains(&status) && !headers.contains_key("access-control-allow-origin") {
            bail!(
                "GET {url} answered HTTP {status} without access-control-allow-origin, so browsers report API \
                 Gateway's own errors as CORS errors: run `deployer step 03-api-gateway` (its gateway responses)"
            );
        }
        Ok(())
    }
}

/// The answer allows `origin`: it names it, or `*`.
fn allows(headers: &HeaderMap, origin: &str, method: &str, url: &str) -> Result<()> {
    let answered = headers.get("access-control-allow-origin").and_then(|v| v.to_str().ok());
    match answered {
        Some(o) if o == origin || o == "*" => Ok(()),
        Some(other) => bail!(
            "{method} {url} answered access-control-allow-origin {other} to origin {origin}: check the stage \
             variable corsOrigins (`deployer step 07-stages`) and the backend's CORS headers"
        ),
        None => bail!(
            "{method} {url} answered without the access-control-allow-origin header: check the CORS settings of \
             03-api-gateway"
        ),
    }
}

type Https = hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>;

/// One TLS setup (the system's roots, the SDK's crypto provider) for the HTTP and WebSocket smoke tests.
fn tls_config() -> Result<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("setting up TLS for the smoke tests")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

fn http_client() -> Result<HttpClient<Https, Empty<Bytes>>> {
    let config = Arc::unwrap_or_clone(tls_config()?);
    let https =
        hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(config).https_or_http().enable_http1().build();
    Ok(HttpClient::builder(TokioExecutor::new()).build(https))
}

async fn request(
    client: &HttpClient<Https, Empty<Bytes>>,
    method: Method,
    url: &str,
    origin: &str,
    api_key: Option<&str>,
) -> Result<(u16, HeaderMap)> {
    let mut builder = Request::builder().method(method.clone()).uri(url).header("origin", origin);
    if let Some(key) = api_key {
        builder = builder.header("x-api-key", key);
    }
    if method == Method::OPTIONS {
        builder = builder.header("access-control-request-method", "GET");
    }
    let request = builder.body(Empty::new()).with_context(|| format!("{url} is not a URL"))?;
    let answer = tokio::time::timeout(SMOKE_TIMEOUT, client.request(request))
        .await
        .map_err(|_| anyhow!("{method} {url} did not answer within {} s", SMOKE_TIMEOUT.as_secs()))?
        .map_err(|e| anyhow!("{method} {url} failed: {e}"))?;
    Ok((answer.status().as_u16(), answer.headers().clone()))
}

async fn smoke_websocket(ctx: &Context<'_>, recorder: &dyn Recorder) -> Result<()> {
    let deployed = ctx.get(&outputs::WEBSOCKET_URL);
    if deployed.as_ref().is_ok_and(|url| url.is_empty()) && ctx.settings.verify_ws_url.is_none() {
        recorder.notice("WebSocket smoke test skipped: the settings route nothing to a WebSocket API");
        return Ok(());
    }
    let Some(url) = smoke_target(ctx, &ctx.settings.verify_ws_url, deployed)? else {
        recorder.notice(&skipped_reason(ctx, "WebSocket", "--verify-ws-url"));
        return Ok(());
    };
    tokio::time::timeout(SMOKE_TIMEOUT, ping(&url))
        .await
        .map_err(|_| anyhow!("WebSocket {url} did not finish ping and close within {} s", SMOKE_TIMEOUT.as_secs()))??;
    recorder.notice(&format!("WebSocket smoke test passed: {url} opened, took a ping and closed cleanly"));
    Ok(())
}

/// Connects, sends the backend's ping, closes, and reads until the server's close frame.
async fn ping(url: &str) -> Result<()> {
    let connector = tokio_tungstenite::Connector::Rustls(tls_config()?);
    let (mut socket, _) = tokio_tungstenite::connect_async_tls_with_config(url, None, false, Some(connector))
        .await
        .map_err(|e| anyhow!("WebSocket {url} did not open: {e}: see `deployer logs websocket-connect`"))?;
    socket
        .send(Message::text(r#"{"action":"ping"}"#))
        .await
        .map_err(|e| anyhow!("WebSocket {url}: sending the ping failed: {e}"))?;
    socket.close(None).await.map_err(|e| anyhow!("WebSocket {url}: closing failed: {e}"))?;
    while let Some(frame) = socket.next().await {
        match frame {
            Ok(Message::Close(_)) | Err(tokio_tungstenite::tungstenite::Error::ConnectionClosed) => return Ok(()),
            Ok(_) => continue,
            Err(e) => bail!("WebSocket {url} did not close cleanly: {e}: see `deployer logs websocket-message`"),
        }
    }
    Ok(())
}

/// The most functions whose last log line a verify reads (one or two requests each): a big backend shows
/// its busiest, and counts the rest, so that a look costs the same at 100 functions as at ten.
const DETAILED_FUNCTIONS: usize = 10;

/// One line per function: the last minutes' invocations and errors (GetMetricData, all functions at once),
/// and its last log line, for the busiest [`DETAILED_FUNCTIONS`].
async fn activity(ctx: &Context<'_>) -> Result<Vec<String>> {
    let names: Vec<String> = ctx.settings.function_names().into_iter().map(|function| ctx.name(function)).collect();
    let metrics = invocations(ctx.aws, &names).await?;
    // Busiest first; a stable sort keeps the settings' order among equals.
    let mut order: Vec<usize> = (0..names.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(metrics[i].0 + metrics[i].1));
    order.truncate(DETAILED_FUNCTIONS);
    let logs = futures::future::join_all(order.iter().map(|&i| last_log_event(ctx.aws, &names[i]))).await;
    let mut lines = Vec::new();
    let mut quiet = 0;
    for (&i, logs) in order.iter().zip(logs) {
        let (name, (invoked, errors)) = (&names[i], metrics[i]);
        // No log group, or (made by 02-lambda) one with nothing in it.
        if logs.as_ref().is_ok_and(|l| l.as_ref().is_none_or(Option::is_none)) && invoked == 0 {
            quiet += 1;
            continue;
        }
        let last = match logs? {
            None => "no log group".to_string(),
            Some(Some(event)) => format!("last log line: {}", event.message.trim_end()),
            Some(None) => "no log line yet".to_string(),
        };
        lines.push(format!("{name}: {invoked} invocations, {errors} errors in the last 5 minutes; {last}"));
    }
    if quiet > 0 {
        lines.push(format!("{quiet} of {} functions have no invocations yet (nothing logged)", order.len()));
    }
    let rest = names.len() - order.len();
    if rest > 0 {
        let invoked: u64 = metrics.iter().map(|(invoked, _)| invoked).sum();
        lines.push(format!(
            "{rest} more functions not shown ({invoked} invocations in all in the last 5 minutes): `deployer logs \
             NAME` shows one"
        ));
    }
    Ok(lines)
}

/// GetMetricData takes at most 500 queries, two per function here.
const FUNCTIONS_PER_METRICS_REQUEST: usize = 250;

async fn invocations(aws: &Clients, functions: &[String]) -> Result<Vec<(u64, u64)>> {
    let mut counts = Vec::with_capacity(functions.len());
    for batch in functions.chunks(FUNCTIONS_PER_METRICS_REQUEST) {
        counts.extend(invocations_of(aws, batch).await?);
    }
    Ok(counts)
}

async fn invocations_of(aws: &Clients, functions: &[String]) -> Result<Vec<(u64, u64)>> {
    let end = SystemTime::now();
    let start = end - METRICS_WINDOW;
    let query = |id: String, function: &str, metric: &str| {
        sum_query(id, "AWS/Lambda", metric, vec![dimension("FunctionName", function)], METRICS_WINDOW)
    };
    let queries: Vec<MetricDataQuery> = functions
        .iter()
        .enumerate()
        .flat_map(|(i, f)| [query(format!("invoked{i}"), f, "Invocations"), query(format!("errors{i}"), f, "Errors")])
        .collect();
    let got = sums(aws, queries, (start, end), "Invocations and Errors of the functions").await?;
    // Sums of counts are whole numbers.
    let sum = |id: String| got.get(&id).copied().unwrap_or_default() as u64;
    Ok((0..functions.len()).map(|i| (sum(format!("invoked{i}")), sum(format!("errors{i}")))).collect())
}
