//! Strict mode of the test proxy: what real AWS does that moto does not, modelled in front of moto, per
//! behaviour, on one time scale (every duration below is multiplied by `Strict::scale`, so a test waits
//! seconds for what takes AWS minutes). Each behaviour names the AWS documentation page (or the reports)
//! its figures come from; the README's "Real AWS and the emulator" lists them. The proxy asks
//! [`Model::before`] whether to answer a request itself (a refusal AWS would give), and [`Model::after`] how
//! to rewrite moto's answer (an in-between state AWS would show).

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

mod cloudfront;
mod compute;
mod dns;
mod templates;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Behaviour {
    /// "Amazon API Gateway quotas": 10 requests/s, burst 40, for REST and WebSocket together; CreateRestApi
    /// 1 per 3 s; PutRestApi 1/s; CreateDeployment 1 per 5 s; CreateDomainName, DeleteDomainName, UpdateDomainName (v1 and
    /// v2), DeleteRestApi 1 per 30 s; UpdateAccount, UpdateUsagePlan 1 per 20 s; CreateResource 5/s;
    /// GetResources 5 per 2 s. 429 TooManyRequestsException.
    ApiGatewayQuotas,
    /// "Lambda quotas": 15 control-plane requests/s, GetFunction 100/s and GetPolicy 15/s on their own.
    /// 429 TooManyRequestsException.
    LambdaQuotas,
    /// "Lambda function states": `State: Pending` ~3 s after CreateFunction, `LastUpdateStatus: InProgress`
    /// ~2 s after an update; another update meanwhile is 409 ResourceConflictException; a function can end
    /// `State: Failed` (those named in `Strict::failing_functions`). A function's `RevisionId` changes once
    /// more when it settles (Active after Pending, Successful after InProgress), as aws-sdk#377 reports of
    /// UpdateFunctionConfiguration: a revision read during a change is not the one the change ends at.
    LambdaStates,
    /// IAM eventual consistency: a new role is not assumable by Lambda for ~10 s (CreateFunction, or an
    /// UpdateFunctionConfiguration moving a function onto it, answers
    /// InvalidParameterValueException, as reported in pulumi-aws and terraform-provider-aws threads), nor by
    /// API Gateway (UpdateAccount answers BadRequestException "API Gateway could not successfully write to
    /// CloudWatch Logs using the ARN specified", which terraform-provider-aws retries).
    IamPropagation,
    /// DynamoDB: `TableStatus: CREATING` ~10 s; after UpdateTimeToLive `ENABLING` up to an hour, and another
    /// UpdateTimeToLive on the table within the hour is a ValidationException ("UpdateTimeToLive" API
    /// reference); a new attribute while another is enabled is refused.
    DynamoDb,
    /// "Route 53 quotas" (5 requests/s, 400 Throttling); "ChangeResourceRecordSets": `PENDING` ~40 s before
    /// `INSYNC`; "CreateHostedZone": a CallerReference used before, even of a deleted zone, is
    /// HostedZoneAlreadyExists.
    Route53,
    /// "ACM quotas" (RequestCertificate 5/s, DescribeCertificate 10/s, ListCertificates 1/s); validation
    /// records appear ~3 s after the request; `PENDING_VALIDATION` until every validation CNAME exists plus
    /// ~5 min, then the validation is SUCCESS ~30 s before `Status: ISSUED`; a custom domain refuses a
    /// certificate not yet issued; DeleteCertificate within ~5 min of the certificate's domain or
    /// distribution letting go is ResourceInUseException (aws-cdk#36265).
    Acm,
    /// "CloudFront": `InProgress` ~4 min before `Deployed` after a create or update; IPv6 off unless asked
    /// for ("DistributionConfig": `IsIPV6Enabled` defaults to false, moto's to true); a CallerReference sent
    /// before is DistributionAlreadyExists; an invalidation's CallerReference sent before returns the
    /// earlier invalidation and invalidates nothing new ("InvalidationBatch"); a distribution is deleted
    /// only once disabled and deployed.
    CloudFront,
    /// API Gateway v2 custom domains report their target (`apiGatewayDomainName`, `hostedZoneId`), as AWS
    /// does and moto does not.
    ApiGatewayV2Targets,
    /// API Gateway parses a mapping template when it is put (PutIntegration, PutIntegrationResponse,
    /// PutGatewayResponse) and refuses one that Velocity cannot parse with BadRequestException; moto
    /// stores any text. Checked by Apache Velocity 1.7 where it is installed (`velocity.rs`). A template
    /// set to `""` is answered as `null` (aws-cli#1610), which the Rust SDK cannot read in a map.
    MappingTemplates,
}

pub const EVERY_BEHAVIOUR: [Behaviour; 10] = [
    Behaviour::ApiGatewayQuotas,
    Behaviour::LambdaQuotas,
    Behaviour::LambdaStates,
    Behaviour::IamPropagation,
    Behaviour::DynamoDb,
    Behaviour::Route53,
    Behaviour::Acm,
    Behaviour::CloudFront,
    Behaviour::ApiGatewayV2Targets,
    Behaviour::MappingTemplates,
];

/// Seconds until a new role can be assumed by Lambda (reported: median ~3 s, p95 ~15 s).
pub const ROLE_PROPAGATION: f64 = 10.0;
/// Its median as reported, for the benchmark.
pub const TYPICAL_ROLE_PROPAGATION: f64 = 3.0;
/// Seconds a certificate stays "in use" after its custom domain or distribution let it go (reported: seconds to
/// minutes; terraform-provider-aws retries for ten).
pub const IN_USE_AFTER_RELEASE: f64 = 300.0;
/// Seconds from every validation CNAME existing to ACM's validation SUCCESS (typically 5-15 min, after the
/// CNAMEs exist: the shortest).
pub const ACM_VALIDATION: f64 = 300.0;
/// Seconds between two CreateDomainName (REST and v2 counted together here, as the pacing does).
pub const CREATE_DOMAIN_NAME_EVERY: f64 = 30.0;
/// Seconds between ACM's validation SUCCESS and `Status: ISSUED` (no published figure: an estimate).
pub const ISSUED_AFTER_VALIDATION: f64 = 30.0;

#[derive(Debug, Clone)]
pub struct Strict {
    pub behaviours: BTreeSet<Behaviour>,
    /// Every duration of the model is multiplied by this (1.0: real time).
    pub scale: f64,
    /// Functions that end `State: Failed` after their create.
    pub failing_functions: Vec<String>,
    /// Seconds between ACM's validation SUCCESS and `Status: ISSUED`.
    pub issued_after_validation: f64,
    /// Seconds until a new certificate's validation records show.
    pub records_after_request: f64,
    /// Seconds a new function stays `Pending`.
    pub pending: f64,
    /// Seconds until a new role can be assumed by Lambda.
    pub role_propagation: f64,
    /// The quotas' intervals are multiplied by this (`scale` unless set apart: the benchmark enforces the
    /// quotas at their real rates while it shrinks the in-between states).
    pub quota_scale: f64,
}

impl Strict {
    pub fn all(scale: f64) -> Strict {
        Strict::only(&EVERY_BEHAVIOUR, scale)
    }

    pub fn only(behaviours: &[Behaviour], scale: f64) -> Strict {
        Strict {
            behaviours: behaviours.iter().copied().collect(),
            scale,
            failing_functions: Vec::new(),
            issued_after_validation: ISSUED_AFTER_VALIDATION,
            records_after_request: 3.0,
            pending: 3.0,
            role_propagation: ROLE_PROPAGATION,
            quota_scale: scale,
        }
    }

    /// The benchmark's simulated AWS: every behaviour at its typical duration (IAM ~3 s rather than the
    /// tests' pessimistic 10 s), the in-between states shrunk by `scale`, the quotas at their real rates.
    pub fn typical(scale: f64) -> Strict {
        Strict { role_propagation: TYPICAL_ROLE_PROPAGATION, quota_scale: 1.0, ..Strict::all(scale) }
    }

    fn on(&self, behaviour: Behaviour) -> bool {
        self.behaviours.contains(&behaviour)
    }

    fn after(&self, seconds: f64) -> Instant {
        Instant::now() + Duration::from_secs_f64(seconds * self.scale)
    }
}

/// What a request is, as the model needs it.
pub struct Call<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// The SigV4 signing name of the service.
    pub service: &'a str,
    /// The JSON protocols' `X-Amz-Target` operation (`DescribeTable`).
    pub target: Option<&'a str>,
    /// The query protocol's `Action`.
    pub action: Option<&'a str>,
    pub body: &'a [u8],
}

impl Call<'_> {
    fn segments(&self) -> Vec<&str> {
        self.path.split('/').filter(|s| !s.is_empty()).collect()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(self.body).unwrap_or(Value::Null)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(self.body).into_owned()
    }
}

#[derive(Debug, Default)]
struct Function {
    pending_until: Option<Instant>,
    updating_until: Option<Instant>,
    failed: bool,
}

#[derive(Debug)]
struct Ttl {
    attribute: String,
    enabled: bool,
    settled_at: Instant,
    updated_at: Instant,
}

#[derive(Debug, Default)]
struct Certificate {
    records_at: Option<Instant>,
    /// When every validation CNAME exists, plus ACM's delay.
    valid_at: Option<Instant>,
}

/// What the model remembers across requests.
#[derive(Debug, Default)]
struct World {
    buckets: HashMap<&'static str, Instant>,
    functions: HashMap<String, Function>,
    roles: HashMap<String, Instant>,
    /// When the last inline policy put on a role reaches Lambda (ENI actions for `[vpc]`, say).
    policies_usable_at: Option<Instant>,
    tables: HashMap<String, Instant>,
    ttls: HashMap<String, Ttl>,
    changes: HashMap<String, Instant>,
    zone_references: BTreeSet<String>,
    distribution_references: BTreeSet<String>,
    distributions: HashMap<String, Instant>,
    /// Distributions last created or updated without `IsIPV6Enabled` true: AWS's default is false (moto's true).
    ipv6_off: BTreeSet<String>,
    /// (distribution, caller reference) → the answer CloudFront gave.
    invalidation_answers: HashMap<(String, String), Bytes>,
    certificates: HashMap<String, Certificate>,
    cnames: BTreeSet<String>,
    released_at: Option<Instant>,
}

/// What the test can read back from the model.
#[derive(Debug, Default, Clone)]
pub struct Observed {
    /// Answers the model gave instead of moto, by error code.
    pub refusals: BTreeMap<String, u32>,
    /// Every invalidation CloudFront really made: (distribution, paths).
    pub invalidations: Vec<(String, Vec<String>)>,
}

pub struct Model {
    pub config: Strict,
    world: Mutex<World>,
    pub observed: Mutex<Observed>,
}

type Answer = Response<Full<Bytes>>;

/// AWS's error answers, by protocol.
fn rest_json_error(status: u16, code: &str, message: &str) -> Answer {
    let body = json!({"message": message, "Message": message, "Type": "User"}).to_string();
    let mut answer = Response::new(Full::new(Bytes::from(body)));
    *answer.status_mut() = StatusCode::from_u16(status).expect("a valid status");
    answer.headers_mut().insert("x-amzn-errortype", code.parse().expect("a header value"));
    answer.headers_mut().insert("content-type", "application/json".parse().expect("a header value"));
    answer
}

fn json_protocol_error(code: &str, message: &str) -> Answer {
    let body = json!({"__type": code, "message": message}).to_string();
    let mut answer = Response::new(Full::new(Bytes::from(body)));
    *answer.status_mut() = StatusCode::BAD_REQUEST;
    answer.headers_mut().insert("content-type", "application/x-amz-json-1.1".parse().expect("a header value"));
    answer
}

fn xml_error(status: u16, code: &str, message: &str) -> Answer {
    let body = format!(
        "<?xml version=\"1.0\"?><ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>\
         <Message>{message}</Message></Error><RequestId>strict</RequestId></ErrorResponse>"
    );
    let mut answer = Response::new(Full::new(Bytes::from(body)));
    *answer.status_mut() = StatusCode::from_u16(status).expect("a valid status");
    answer.headers_mut().insert("content-type", "text/xml".parse().expect("a header value"));
    answer
}

/// The text of the first `<tag>…</tag>` in `xml`.
fn xml_value(xml: &str, tag: &str) -> Option<String> {
    let start = xml.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(xml[start..end].to_string())
}

/// Every `<tag>…</tag>` block of `xml`.
fn xml_blocks<'x>(xml: &'x str, tag: &str) -> Vec<&'x str> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut blocks = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let Some(end) = rest[start..].find(&close) else { break };
        blocks.push(&rest[start + open.len()..start + end]);
        rest = &rest[start + end + close.len()..];
    }
    blocks
}

fn fqdn(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.').to_ascii_lowercase())
}

impl Model {
    pub fn new(config: Strict) -> Model {
        Model { config, world: Mutex::new(World::default()), observed: Mutex::default() }
    }

    fn refuse(&self, code: &str, answer: Answer) -> Option<Answer> {
        *self.observed.lock().unwrap().refusals.entry(code.to_string()).or_default() += 1;
        Some(answer)
    }

    /// Takes a slot in the bucket, or says the quota is exceeded (generic cell rate algorithm).
    fn over_quota(&self, world: &mut World, bucket: &'static str, requests: f64, per_seconds: f64, burst: f64) -> bool {
        let now = Instant::now();
        let interval = Duration::from_secs_f64(per_seconds / requests * self.config.quota_scale);
        let tolerance = interval.mul_f64(burst - 1.0);
        let arrival = world.buckets.get(bucket).copied().unwrap_or(now).max(now);
        if arrival.checked_sub(tolerance).is_some_and(|allowed| allowed > now) {
            return true;
        }
        world.buckets.insert(bucket, arrival + interval);
        false
    }

    /// A refusal AWS would give this request, instead of forwarding it.
    pub fn before(&self, call: &Call) -> Option<Answer> {
        let mut world = self.world.lock().unwrap();
        let world = &mut *world;
        if let Some(answer) = self.quota(world, call) {
            return Some(answer);
        }
        match call.service {
            "lambda" => self.lambda_before(world, call),
            "dynamodb" => self.dynamodb_before(world, call),
            "route53" => self.route53_before(world, call),
            "acm" => self.acm_before(world, call),
            "cloudfront" => self.cloudfront_before(world, call),
            "apigateway" => self
                .templates_before(call)
                .or_else(|| self.account_before(world, call))
                .or_else(|| self.apigateway_before(world, call)),
            _ => None,
        }
    }

    fn quota(&self, world: &mut World, call: &Call) -> Option<Answer> {
        let c = &self.config;
        let segments = call.segments();
        let rest: Vec<&str> = segments.iter().copied().skip_while(|s| *s == "v2").collect();
        let method = call.method;
        if call.service == "apigateway" && c.on(Behaviour::ApiGatewayQuotas) {
            let per_operation = match (method, rest.as_slice()) {
                ("POST", ["restapis"]) => Some(("CreateRestApi", 1.0, 3.0, 1.0)),
                ("PUT", ["restapis", _]) => Some(("PutRestApi", 1.0, 1.0, 1.0)),
                ("DELETE", ["restapis", _]) => Some(("DeleteRestApi", 1.0, 30.0, 1.0)),
                ("POST", ["restapis", _, "deployments"]) => Some(("CreateDeployment", 1.0, 5.0, 1.0)),
                ("POST", ["restapis", _, "resources", _]) => Some(("CreateResource", 5.0, 1.0, 5.0)),
                ("GET", ["restapis", _, "resources"]) => Some(("GetResources", 5.0, 2.0, 5.0)),
                ("POST", ["domainnames"]) => Some(("CreateDomainName", 1.0, CREATE_DOMAIN_NAME_EVERY, 1.0)),
                ("DELETE", ["domainnames", _]) => Some(("DeleteDomainName", 1.0, 30.0, 1.0)),
                ("PATCH", ["domainnames", _]) => Some(("UpdateDomainName", 1.0, 30.0, 1.0)),
                ("PATCH", ["account"]) => Some(("UpdateAccount", 1.0, 20.0, 1.0)),
                ("PATCH", ["usageplans", _]) => Some(("UpdateUsagePlan", 1.0, 20.0, 1.0)),
                _ => None,
            };
            let over = match per_operation {
                Some((name, requests, per, burst)) => self.over_quota(world, name, requests, per, burst),
                None => false,
            } || self.over_quota(world, "apigateway", 10.0, 1.0, 40.0);
            if over {
                return self.refuse(
                    "TooManyRequestsException",
                    rest_json_error(429, "TooManyRequestsException", "Too Many Requests"),
                );
            }
        }
        if call.service == "lambda" && c.on(Behaviour::LambdaQuotas) {
            // "Lambda quotas": GetFunction 100 requests/s and GetPolicy 15, each its own; the rest of the
            // control plane (invocations aside) 15 requests/s together.
            let (bucket, rate) = match (method, rest.as_slice()) {
                ("GET", ["2015-03-31", "functions", _]) => ("lambda:GetFunction", 100.0),
                ("GET", ["2015-03-31", "functions", _, "policy"]) => ("lambda:GetPolicy", 15.0),
                _ => ("lambda", 15.0),
            };
            if self.over_quota(world, bucket, rate, 1.0, rate) {
                return self.refuse(
                    "TooManyRequestsException",
                    rest_json_error(429, "TooManyRequestsException", "Rate exceeded"),
                );
            }
        }
        if call.service == "route53" && c.on(Behaviour::Route53) && self.over_quota(world, "route53", 5.0, 1.0, 5.0) {
            return self.refuse("Throttling", xml_error(400, "Throttling", "Rate exceeded"));
        }
        if call.service == "acm" && c.on(Behaviour::Acm) {
            let over = match call.target {
                Some("RequestCertificate") => self.over_quota(world, "acm:Request", 5.0, 1.0, 5.0),
                Some("DescribeCertificate") => self.over_quota(world, "acm:Describe", 10.0, 1.0, 10.0),
                Some("ListCertificates") => self.over_quota(world, "acm:List", 1.0, 1.0, 1.0),
                _ => false,
            };
            if over {
                return self.refuse("ThrottlingException", json_protocol_error("ThrottlingException", "Rate exceeded"));
            }
        }
        None
    }

    /// moto's answer as AWS would give it at this moment; records what later answers depend on.
    pub fn after(&self, call: &Call, status: u16, body: Bytes) -> Bytes {
        if !(200..300).contains(&status) {
            return body;
        }
        let mut world = self.world.lock().unwrap();
        let world = &mut *world;
        match call.service {
            "iam" => self.iam_after(world, call, &body),
            "lambda" => return self.lambda_after(world, call, body),
            "dynamodb" => return self.dynamodb_after(world, call, body),
            "route53" => return self.route53_after(world, call, body),
            "acm" => return self.acm_after(world, call, body),
            "cloudfront" => return self.cloudfront_after(world, call, body),
            "apigateway" => return self.apigateway_after(world, call, self.templates_after(call, body)),
            _ => {}
        }
        body
    }
}
