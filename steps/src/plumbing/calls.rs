//! A log of the AWS calls a run makes, by operation: how many and how long, reads and writes apart.
//! It is an SDK interceptor attached to every client, so nothing else has to remember to count.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    AfterDeserializationInterceptorContextRef, BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Calls and total time of one operation.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub calls: u32,
    pub time: Duration,
    /// Attempts AWS answered with a throttling error (each retried by the SDK).
    pub throttled: u32,
}

/// The AWS requests of a run: operations that read, that write, and attempts that were throttled.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Requests {
    pub reads: u32,
    pub writes: u32,
    pub throttled: u32,
}

/// Whether an answer is a throttling error: HTTP 429, or a 400 naming one of the throttling codes AWS
/// services use (JSON `__type`, XML `<Code>`, or the `x-amzn-errortype` header).
pub fn is_throttling(status: u16, error_type: Option<&str>, body: &[u8]) -> bool {
    const CODES: [&str; 6] = [
        "Throttling",
        "TooManyRequests",
        "RequestLimitExceeded",
        "PriorRequestNotComplete",
        "SlowDown",
        "Rate exceeded",
    ];
    if status == 429 {
        return true;
    }
    if !(400..500).contains(&status) {
        return false;
    }
    let body = String::from_utf8_lossy(&body[..body.len().min(2048)]);
    CODES.iter().any(|code| error_type.is_some_and(|t| t.contains(code)) || body.contains(code))
}

#[derive(Debug, Clone, Default)]
pub struct CallLog {
    /// "service:Operation" → tally.
    calls: Arc<Mutex<BTreeMap<String, Tally>>>,
    /// Set by read-only commands (`plan`, the drift check): any mutating request is refused before it is
    /// sent, so a step that forgot to check [`crate::Recorder::planning`] fails instead of writing.
    read_only: Arc<AtomicBool>,
}

tokio::task_local! {
    /// Set around one piece of work by [`reading_only`]: its requests only, not those of work beside it.
    static READ_ONLY: bool;
}

/// Runs `work` with its mutating requests refused before they are sent. Scoped to `work`, so that the
/// runner can check a done step read-only while another step's head start writes beside it.
pub async fn reading_only<F: Future>(work: F) -> F::Output {
    READ_ONLY.scope(true, work).await
}

#[derive(Debug)]
struct Started(Instant);

impl Storable for Started {
    type Storer = StoreReplace<Self>;
}

/// Whether an operation only reads (by the AWS naming convention of its verb).
pub fn is_read(operation: &str) -> bool {
    let name = operation.rsplit(':').next().unwrap_or(operation);
    ["Get", "List", "Describe", "Head", "Filter", "Scan", "Query"].iter().any(|verb| name.starts_with(verb))
}

fn operation(cfg: &ConfigBag) -> String {
    cfg.load::<Metadata>().map_or_else(
        || "unknown".to_string(),
        |m| format!("{}:{}", m.service().to_ascii_lowercase().replace(' ', ""), m.name()),
    )
}

impl CallLog {
    /// While on, mutating requests fail without being sent, whoever sends them (`plan`: the whole command).
    pub fn set_read_only(&self, on: bool) {
        self.read_only.store(on, Ordering::SeqCst);
    }

    pub fn snapshot(&self) -> BTreeMap<String, Tally> {
        // A poisoned lock only means a panic elsewhere; the counts are still worth showing.
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The requests so far.
    pub fn totals(&self) -> Requests {
        self.snapshot().iter().fold(Requests::default(), |mut total, (op, t)| {
            if is_read(op) {
                total.reads += t.calls;
            } else {
                total.writes += t.calls;
            }
            total.throttled += t.throttled;
            total
        })
    }

    fn add(&self, operation: String, took: Duration) {
        let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        let tally = calls.entry(operation).or_default();
        tally.calls += 1;
        tally.time += took;
    }

    fn add_throttled(&self, operation: String) {
        let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        calls.entry(operation).or_default().throttled += 1;
    }
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "deployer-call-log"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state().store_put(Started(Instant::now()));
        Ok(())
    }

    // The operation's name is known from here on (not yet in `read_before_execution`).
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = operation(cfg);
        let scoped = READ_ONLY.try_with(|on| *on).unwrap_or(false);
        if (scoped || self.read_only.load(Ordering::SeqCst)) && !is_read(&operation) {
            return Err(format!("{operation} refused: this command only reads (a deployer bug if seen)").into());
        }
        Ok(())
    }

    // Once per attempt, with the answer's body read: a throttled attempt is counted before the retry.
    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response();
        let error_type = response.headers().get("x-amzn-errortype");
        let body = response.body().bytes().unwrap_or_default();
        if is_throttling(response.status().as_u16(), error_type, body) {
            self.add_throttled(operation(cfg));
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        _context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let took = cfg.load::<Started>().map(|s| s.0.elapsed()).unwrap_or_default();
        self.add(operation(cfg), took);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_are_told_apart_by_verb() {
        assert!(is_read("lambda:GetFunction") && is_read("s3:HeadBucket") && is_read("acm:DescribeCertificate"));
        assert!(
            !is_read("lambda:CreateFunction")
                && !is_read("s3:PutObject")
                && !is_read("route53:ChangeResourceRecordSets")
        );
        let log = CallLog::default();
        log.add("lambda:GetFunction".into(), Duration::from_millis(3));
        log.add("lambda:GetFunction".into(), Duration::from_millis(2));
        log.add("lambda:UpdateFunctionCode".into(), Duration::from_millis(7));
        log.add_throttled("lambda:GetFunction".into());
        assert_eq!(log.totals(), Requests { reads: 2, writes: 1, throttled: 1 });
        assert_eq!(
            log.snapshot()["lambda:GetFunction"],
            Tally { calls: 2, time: Duration::from_millis(5), throttled: 1 }
        );
    }

    #[test]
    fn throttling_answers_are_told_from_other_errors_in_every_protocol() {
        assert!(is_throttling(429, None, b""));
        assert!(is_throttling(400, None, br#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#));
        assert!(is_throttling(400, None, b"<ErrorResponse><Error><Code>Throttling</Code></Error></ErrorResponse>"));
        assert!(is_throttling(400, Some("TooManyRequestsException"), b""));
        assert!(is_throttling(400, None, b"<Error><Code>PriorRequestNotComplete</Code></Error>"));
        assert!(!is_throttling(400, None, br#"{"__type":"ValidationException"}"#));
        assert!(!is_throttling(500, None, b"Throttling"));
        assert!(!is_throttling(200, None, b"Throttling"));
    }
}
