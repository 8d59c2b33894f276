//! Client-side pacing matched to AWS's documented control-plane quotas, so that a deploy is not throttled
//! in the first place (a 429 costs a back-off, and a per-operation quota of one request per 30 s outlasts
//! the SDK's retries). Every request passes through one HTTP connector wrapper that reserves a slot in
//! each bucket its service and operation fall under, then waits for the latest of them; retries go through
//! it too. The service comes from the request's SigV4 credential scope, the operation from its method and
//! path (REST protocols) or its `X-Amz-Target` header (JSON protocols).
//!
//! Quotas ("Amazon API Gateway quotas", "Lambda quotas", "Route 53 quotas", "ACM quotas"): API Gateway
//! (REST and WebSocket together) 10 requests/s with a burst of 40; CreateRestApi 1 per 3 s; PutRestApi 1/s;
//! CreateDeployment 1 per 5 s; CreateDomainName, DeleteDomainName and DeleteRestApi 1 per 30 s;
//! CreateResource 5/s; GetResources 5 per 2 s; UpdateAccount and UpdateUsagePlan 1 per 20 s;
//! UpdateDomainName 1 per 30 s. Lambda 15/s, but GetFunction 100/s and GetPolicy 15/s each on their own.
//! Route 53 5/s. CloudWatch Logs CreateLogGroup, PutRetentionPolicy and DescribeLogGroups 5/s each. ACM RequestCertificate 5/s,
//! DescribeCertificate 10/s, ListCertificates 1/s.

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use deployer_steps::clock;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A quota: `requests` per `per`, of which `burst` may come at once.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Quota {
    requests: f64,
    per: Duration,
    burst: f64,
}

const fn quota(requests: f64, per_seconds: u64, burst: f64) -> Quota {
    Quota { requests, per: Duration::from_secs(per_seconds), burst }
}

/// The buckets a request counts against: (bucket name, quota).
fn buckets(service: &str, method: &str, path: &str, target: Option<&str>) -> Vec<(&'static str, Quota)> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let mut found = Vec::new();
    match service {
        "apigateway" => {
            found.push(("apigateway", quota(10.0, 1, 40.0)));
            // v2 paths start with /v2; the per-operation quotas are the same for both.
            let rest: Vec<&str> = segments.iter().copied().skip_while(|s| *s == "v2").collect();
            let operation = match (method, rest.as_slice()) {
                ("POST", ["restapis"]) => Some(("apigateway:CreateRestApi", quota(1.0, 3, 1.0))),
                ("PUT", ["restapis", _]) => Some(("apigateway:PutRestApi", quota(1.0, 1, 1.0))),
                ("DELETE", ["restapis", _]) => Some(("apigateway:DeleteRestApi", quota(1.0, 30, 1.0))),
                ("POST", ["restapis", _, "deployments"]) => Some(("apigateway:CreateDeployment", quota(1.0, 5, 1.0))),
                ("POST", ["restapis", _, "resources", _]) => Some(("apigateway:CreateResource", quota(5.0, 1, 5.0))),
                ("GET", ["restapis", _, "resources"]) => Some(("apigateway:GetResources", quota(5.0, 2, 5.0))),
                ("POST", ["domainnames"]) => Some(("apigateway:CreateDomainName", quota(1.0, 30, 1.0))),
                ("DELETE", ["domainnames", _]) => Some(("apigateway:DeleteDomainName", quota(1.0, 30, 1.0))),
                ("PATCH", ["domainnames", _]) => Some(("apigateway:UpdateDomainName", quota(1.0, 30, 1.0))),
                ("PATCH", ["account"]) => Some(("apigateway:UpdateAccount", quota(1.0, 20, 1.0))),
                ("PATCH", ["usageplans", _]) => Some(("apigateway:UpdateUsagePlan", quota(1.0, 20, 1.0))),
                _ => None,
            };
            found.extend(operation);
        }
        // GetFunction and GetPolicy have quotas of their own; the rest of the control plane shares one.
        "lambda" => found.push(match (method, segments.as_slice()) {
            ("GET", ["2015-03-31", "functions", _]) => ("lambda:GetFunction", quota(100.0, 1, 100.0)),
            ("GET", ["2015-03-31", "functions", _, "policy"]) => ("lambda:GetPolicy", quota(15.0, 1, 15.0)),
            _ => ("lambda", quota(15.0, 1, 15.0)),
        }),
        "route53" => found.push(("route53", quota(5.0, 1, 5.0))),
        // The log group writes of a hundred functions, sent at once, would meet CloudWatch Logs' quotas of
        // 5 transactions/s per account and Region for each of these operations.
        "logs" => found.extend(match target.and_then(|t| t.rsplit('.').next()) {
            Some("CreateLogGroup") => Some(("logs:CreateLogGroup", quota(5.0, 1, 5.0))),
            Some("PutRetentionPolicy") => Some(("logs:PutRetentionPolicy", quota(5.0, 1, 5.0))),
            Some("DescribeLogGroups") => Some(("logs:DescribeLogGroups", quota(5.0, 1, 5.0))),
            _ => None,
        }),
        "acm" => {
            let operation = target.and_then(|t| t.rsplit('.').next());
            found.extend(match operation {
                Some("RequestCertificate") => Some(("acm:RequestCertificate", quota(5.0, 1, 5.0))),
                Some("DescribeCertificate") => Some(("acm:DescribeCertificate", quota(10.0, 1, 10.0))),
                Some("ListCertificates") => Some(("acm:ListCertificates", quota(1.0, 1, 1.0))),
                _ => None,
            });
        }
        _ => {}
    }
    found
}

/// The signing name in `Authorization: AWS4-HMAC-SHA256 Credential=KEY/DATE/REGION/SERVICE/aws4_request`.
fn signing_service(authorization: &str) -> Option<&str> {
    let scope = authorization.split("Credential=").nth(1)?.split(',').next()?;
    scope.split('/').nth(3)
}

/// Requests are spaced this much wider than the quota allows, and one request of each burst is kept in
/// hand: requests reach AWS with some jitter, and two sent exactly one interval apart can arrive closer.
const MARGIN: f64 = 1.05;

/// Generic cell rate algorithm per bucket: the theoretical arrival time of the next request.
#[derive(Debug, Default)]
pub struct Pace {
    next: Mutex<HashMap<&'static str, Instant>>,
}

impl Pace {
    /// Reserves a slot in each bucket and returns how long to wait for the latest of them.
    fn reserve(&self, buckets: &[(&'static str, Quota)], now: Instant) -> Duration {
        // A poisoned lock only means a panic elsewhere; the reservations are still sound.
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        let mut wait = Duration::ZERO;
        for (name, quota) in buckets {
            let interval = quota.per.div_f64(quota.requests).mul_f64(MARGIN * clock::quota_scale());
            let tolerance = interval.mul_f64((quota.burst - 2.0).max(0.0));
            let arrival = next.get(name).copied().unwrap_or(now).max(now);
            let allowed_at = arrival.checked_sub(tolerance).unwrap_or(now).max(now);
            wait = wait.max(allowed_at - now);
            next.insert(name, arrival + interval);
        }
        wait
    }
}

/// The HTTP client every AWS client uses: the SDK's default one, paced.
#[derive(Debug, Clone)]
pub struct PacedClient {
    inner: SharedHttpClient,
    pace: Arc<Pace>,
}

impl PacedClient {
    pub fn new(inner: SharedHttpClient) -> Self {
        PacedClient { inner, pace: Arc::default() }
    }
}

impl HttpClient for PacedClient {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        let inner = self.inner.http_connector(settings, components);
        SharedHttpConnector::new(PacedConnector { inner, pace: self.pace.clone() })
    }
}

#[derive(Debug)]
struct PacedConnector {
    inner: SharedHttpConnector,
    pace: Arc<Pace>,
}

impl HttpConnector for PacedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let header = |name: &str| request.headers().get(name).map(str::to_string);
        let service = header("authorization").and_then(|a| signing_service(&a).map(str::to_string));
        let path = request.uri().split('?').next().unwrap_or("").splitn(4, '/').nth(3).map(|p| format!("/{p}"));
        let buckets = match service {
            Some(service) => {
                let path = path.unwrap_or_default();
                buckets(&service, request.method(), &path, header("x-amz-target").as_deref())
            }
            None => Vec::new(),
        };
        let wait = self.pace.reserve(&buckets, Instant::now());
        let inner = self.inner.clone();
        HttpConnectorFuture::new(async move {
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            inner.call(request).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signing_scope_names_the_service() {
        let auth = "AWS4-HMAC-SHA256 Credential=AKID/20261129/us-east-1/apigateway/aws4_request, SignedHeaders=host";
        assert_eq!(signing_service(auth), Some("apigateway"));
        assert_eq!(signing_service("Bearer x"), None);
    }

    #[test]
    fn requests_fall_under_their_services_and_operations_quotas() {
        let names = |b: Vec<(&'static str, Quota)>| b.into_iter().map(|(n, _)| n).collect::<Vec<_>>();
        assert_eq!(names(buckets("apigateway", "POST", "/restapis", None)), ["apigateway", "apigateway:CreateRestApi"]);
        assert_eq!(
            names(buckets("apigateway", "DELETE", "/v2/domainnames/ws.example.com", None)),
            ["apigateway", "apigateway:DeleteDomainName"]
        );
        assert_eq!(names(buckets("apigateway", "GET", "/restapis/abc/resources", None)).len(), 2);
        for (path, bucket) in [
            ("/account", "apigateway:UpdateAccount"),
            ("/usageplans/u1", "apigateway:UpdateUsagePlan"),
            ("/domainnames/api.example.com", "apigateway:UpdateDomainName"),
            ("/v2/domainnames/ws.example.com", "apigateway:UpdateDomainName"),
        ] {
            assert_eq!(names(buckets("apigateway", "PATCH", path, None)), ["apigateway", bucket], "PATCH {path}");
        }
        assert_eq!(names(buckets("apigateway", "GET", "/restapis/abc/stages/prod", None)), ["apigateway"]);
        assert_eq!(
            names(buckets("acm", "POST", "/", Some("CertificateManager.ListCertificates"))),
            ["acm:ListCertificates"]
        );
        assert!(buckets("s3", "PUT", "/bucket/key", None).is_empty());
        assert_eq!(names(buckets("lambda", "GET", "/2015-03-31/functions/f", None)), ["lambda:GetFunction"]);
        assert_eq!(names(buckets("lambda", "GET", "/2015-03-31/functions/f/policy", None)), ["lambda:GetPolicy"]);
        assert_eq!(names(buckets("lambda", "GET", "/2015-03-31/functions/", None)), ["lambda"], "ListFunctions");
        assert_eq!(names(buckets("lambda", "PUT", "/2015-03-31/functions/f/code", None)), ["lambda"]);
        assert_eq!(names(buckets("logs", "POST", "/", Some("Logs_20140328.CreateLogGroup"))), ["logs:CreateLogGroup"]);
        assert!(buckets("logs", "POST", "/", Some("Logs_20140328.FilterLogEvents")).is_empty());
    }

    #[test]
    fn a_burst_goes_at_once_then_requests_are_spaced_by_the_rate() {
        let pace = Pace::default();
        let now = Instant::now();
        let api = [("apigateway", quota(10.0, 1, 40.0))];
        let waits: Vec<Duration> = (0..42).map(|_| pace.reserve(&api, now)).collect();
        assert!(waits[..39].iter().all(|w| w.is_zero()), "the burst of 40, but one, is not held back");
        assert_eq!(waits[39], Duration::from_millis(105), "then 10/s with a 5 % margin");
        assert_eq!(waits[40], Duration::from_millis(210));
    }

    #[test]
    fn one_per_thirty_seconds_holds_the_second_request_thirty_seconds_and_a_margin() {
        let pace = Pace::default();
        let now = Instant::now();
        let delete = [("apigateway:DeleteDomainName", quota(1.0, 30, 1.0))];
        assert_eq!(pace.reserve(&delete, now), Duration::ZERO);
        assert_eq!(pace.reserve(&delete, now), Duration::from_millis(31_500), "30 s and the margin");
        assert_eq!(pace.reserve(&delete, now + Duration::from_secs(70)), Duration::ZERO, "a quiet minute refills");
    }
}
