//! A log of the AWS calls a run makes, by operation: how many and how long, reads and writes apart.
//! It is an SDK interceptor attached to every client, so nothing else has to remember to count.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Calls and total time of one operation.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub calls: u32,
    pub time: Duration,
}

#[derive(Debug, Clone, Default)]
pub struct CallLog {
    /// "service:Operation" → tally.
    calls: Arc<Mutex<BTreeMap<String, Tally>>>,
    /// Set by read-only commands (`plan`, the drift check): any mutating request is refused before it is
    /// sent, so a step that forgot to check [`crate::Recorder::planning`] fails instead of writing.
    read_only: Arc<AtomicBool>,
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
    /// While on, mutating requests fail without being sent.
    pub fn set_read_only(&self, on: bool) {
        self.read_only.store(on, Ordering::SeqCst);
    }

    pub fn snapshot(&self) -> BTreeMap<String, Tally> {
        // A poisoned lock only means a panic elsewhere; the counts are still worth showing.
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// (reads, writes) so far.
    pub fn totals(&self) -> (u32, u32) {
        self.snapshot()
            .iter()
            .fold((0, 0), |(r, w), (op, t)| if is_read(op) { (r + t.calls, w) } else { (r, w + t.calls) })
    }

    fn add(&self, operation: String, took: Duration) {
        let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        let tally = calls.entry(operation).or_default();
        tally.calls += 1;
        tally.time += took;
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
        if self.read_only.load(Ordering::SeqCst) && !is_read(&operation) {
            return Err(format!("{operation} refused: this command only reads (a deployer bug if seen)").into());
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
        assert_eq!(log.totals(), (2, 1));
        assert_eq!(log.snapshot()["lambda:GetFunction"], Tally { calls: 2, time: Duration::from_millis(5) });
    }
}
