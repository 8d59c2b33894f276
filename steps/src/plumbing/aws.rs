//! One set of service clients built from one `SdkConfig`, so that every step shares the credential chain,
//! region, endpoint, retry settings and HTTP connection pool.

use anyhow::{anyhow, Result};
use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use std::sync::OnceLock;
use tokio::sync::OnceCell;

use crate::calls::CallLog;
use crate::error::NoAnswer;
use crate::null_members::without_null_members;

/// Who the credentials belong to: ARNs need the account and partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub account: String,
    pub partition: String,
    pub arn: String,
}

pub struct Clients {
    config: SdkConfig,
    /// Every client reports its calls here.
    pub calls: CallLog,
    apigateway: OnceLock<aws_sdk_apigateway::Client>,
    apigatewayv2: OnceLock<aws_sdk_apigatewayv2::Client>,
    cloudfront: OnceLock<aws_sdk_cloudfront::Client>,
    cloudwatch: OnceLock<aws_sdk_cloudwatch::Client>,
    logs: OnceLock<aws_sdk_cloudwatchlogs::Client>,
    dynamodb: OnceLock<aws_sdk_dynamodb::Client>,
    iam: OnceLock<aws_sdk_iam::Client>,
    kms: OnceLock<aws_sdk_kms::Client>,
    lambda: OnceLock<aws_sdk_lambda::Client>,
    s3: OnceLock<aws_sdk_s3::Client>,
    route53: OnceLock<aws_sdk_route53::Client>,
    secretsmanager: OnceLock<aws_sdk_secretsmanager::Client>,
    identity: OnceCell<Identity>,
    /// The revisions this command's steps left functions at (see [`crate::revisions::ThisRun`]).
    pub this_run: crate::revisions::ThisRun,
    /// Set once this command has seen (or made) API Gateway's CloudWatch Logs role for the account: the
    /// steps that give stages access logs (03, 04, 07) then look for it once, one at a time.
    pub logging_role_set: OnceCell<()>,
}

/// An accessor for one service's client, built once from the shared configuration, reporting its calls;
/// `$http` wraps the shared HTTP client for this service's answers alone.
macro_rules! client {
    ($name:ident, $sdk:ident $(, $http:path)?) => {
        pub fn $name(&self) -> &$sdk::Client {
            self.$name.get_or_init(|| {
                #[allow(unused_mut)]
                let mut builder = $sdk::config::Builder::from(&self.config).interceptor(self.calls.clone());
                $(builder.set_http_client(self.config.http_client().map($http));)?
                $sdk::Client::from_conf(builder.build())
            })
        }
    };
}

impl Clients {
    pub fn new(config: SdkConfig) -> Self {
        Self {
            config,
            calls: CallLog::default(),
            apigateway: OnceLock::new(),
            apigatewayv2: OnceLock::new(),
            cloudfront: OnceLock::new(),
            cloudwatch: OnceLock::new(),
            logs: OnceLock::new(),
            dynamodb: OnceLock::new(),
            iam: OnceLock::new(),
            kms: OnceLock::new(),
            lambda: OnceLock::new(),
            s3: OnceLock::new(),
            route53: OnceLock::new(),
            secretsmanager: OnceLock::new(),
            identity: OnceCell::new(),
            this_run: Default::default(),
            logging_role_set: OnceCell::new(),
        }
    }

    /// The endpoint every request goes to when it is not AWS's own (`--endpoint-url`, `AWS_ENDPOINT_URL`).
    pub fn custom_endpoint(&self) -> Option<&str> {
        self.config.endpoint_url()
    }

    pub fn region(&self) -> &str {
        self.config.region().map(|r| r.as_ref()).unwrap_or_default()
    }

    // API Gateway answers null map values for what the console or the aws CLI made: see `null_members`.
    client!(apigateway, aws_sdk_apigateway, without_null_members);
    client!(apigatewayv2, aws_sdk_apigatewayv2, without_null_members);
    client!(cloudfront, aws_sdk_cloudfront);
    client!(cloudwatch, aws_sdk_cloudwatch);
    client!(logs, aws_sdk_cloudwatchlogs);
    client!(dynamodb, aws_sdk_dynamodb);
    client!(iam, aws_sdk_iam);
    client!(kms, aws_sdk_kms);
    client!(lambda, aws_sdk_lambda);
    client!(route53, aws_sdk_route53);
    client!(secretsmanager, aws_sdk_secretsmanager);

    /// Path-style addressing when an endpoint is set: emulators and S3-compatible stores on a custom
    /// host do not serve bucket subdomains.
    pub fn s3(&self) -> &aws_sdk_s3::Client {
        self.s3.get_or_init(|| {
            let path_style = self.config.endpoint_url().is_some();
            let config = aws_sdk_s3::config::Builder::from(&self.config).force_path_style(path_style);
            aws_sdk_s3::Client::from_conf(config.interceptor(self.calls.clone()).build())
        })
    }

    /// ACM in a given region: CloudFront takes certificates from us-east-1 only, whatever `--region` is.
    /// Built from the same configuration, so it shares credentials, endpoint and connection pool.
    pub fn acm(&self, region: &str) -> aws_sdk_acm::Client {
        let config =
            aws_sdk_acm::config::Builder::from(&self.config).region(aws_config::Region::new(region.to_string()));
        aws_sdk_acm::Client::from_conf(config.interceptor(self.calls.clone()).build())
    }

    /// The caller's identity, asked of STS once per run. It doubles as the pre-flight check that the
    /// endpoint answers and the credentials are accepted.
    /// The identity once [`Clients::identity`] has fetched it (the runner does before any step).
    pub fn known_identity(&self) -> Option<&Identity> {
        self.identity.get()
    }

    pub async fn identity(&self) -> Result<&Identity> {
        self.identity
            .get_or_try_init(|| async {
                let sts = aws_sdk_sts::config::Builder::from(&self.config).interceptor(self.calls.clone()).build();
                let sts = aws_sdk_sts::Client::from_conf(sts);
                let who = sts.get_caller_identity().send().await.aws_context(|| "sts:GetCallerIdentity".to_string())?;
                let arn = who.arn().unwrap_or_default().to_string();
                let partition = arn.split(':').nth(1).unwrap_or("aws").to_string();
                let account =
                    who.account().ok_or_else(|| anyhow!("sts:GetCallerIdentity returned no account"))?.to_string();
                Ok(Identity { account, partition, arn })
            })
            .await
    }
}

/// Turns a "not found" service error into `Ok(None)`, so that a lookup reads as `Option`.
pub fn absent_if<T, E, R>(
    result: Result<T, aws_sdk_dynamodb::error::SdkError<E, R>>,
    is_missing: impl Fn(&E) -> bool,
) -> Result<Option<T>, aws_sdk_dynamodb::error::SdkError<E, R>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(err) if err.as_service_error().is_some_and(&is_missing) => Ok(None),
        Err(err) => Err(err),
    }
}

/// Context for a failed AWS call, in words a person can act on: `lambda:CreateFunction NAME: HTTP 500
/// InternalFailure: message`, instead of the SDK's nested "service error: unhandled error: …".
pub trait AwsContext<T> {
    fn aws_context(self, call: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E> AwsContext<T> for Result<T, SdkError<E, HttpResponse>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    fn aws_context(self, call: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|err| aws_error(&err, &call()))
    }
}

/// A failed AWS call as [`AwsContext`] words it.
pub fn aws_error<E>(err: &SdkError<E, HttpResponse>, call: &str) -> anyhow::Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    if let Some(detail) = unanswered(err) {
        return anyhow::Error::new(NoAnswer { call: call.to_string(), detail });
    }
    anyhow!("{call}: {}", describe(err))
}

/// What timed out, when the call failed for want of an answer: the HTTP read timeout (nothing back
/// after the request was sent), a stalled answer (the SDK's stalled-stream protection), or the
/// operation timeout (every attempt together).
fn unanswered<E: std::error::Error + 'static>(err: &SdkError<E, HttpResponse>) -> Option<String> {
    match err {
        SdkError::TimeoutError(_) => Some("the operation timeout passed".to_string()),
        SdkError::DispatchFailure(failure) if failure.is_timeout() => Some(causes(err)),
        SdkError::ResponseError(_) | SdkError::DispatchFailure(_) if causes(err).contains("minimum throughput") => {
            Some(format!("the answer stalled: {}", causes(err)))
        }
        _ => None,
    }
}

fn describe<E: ProvideErrorMetadata + std::error::Error + 'static>(err: &SdkError<E, HttpResponse>) -> String {
    match err {
        SdkError::ServiceError(_) if err.raw_response().is_some_and(|r| r.status().is_success()) => {
            let status = err.raw_response().map(|r| r.status().as_u16()).unwrap_or_default();
            format!("AWS answered HTTP {status}, but the SDK could not read the answer: {}", causes(err))
        }
        SdkError::ResponseError(_) => format!("the SDK could not read AWS's answer: {}", causes(err)),
        SdkError::ServiceError(_) => {
            let status = err.raw_response().map(|r| r.status().as_u16()).unwrap_or_default();
            let service = err.as_service_error();
            let said: Vec<&str> =
                [service.and_then(|e| e.code()), service.and_then(|e| e.message())].into_iter().flatten().collect();
            let said = if said.is_empty() { body_excerpt(err.raw_response()) } else { said.join(": ") };
            format!("HTTP {status} {said}")
        }
        SdkError::DispatchFailure(_) => format!("could not reach AWS: {}", causes(err)),
        _ => DisplayErrorContext(err).to_string(),
    }
}

/// The start of an error answer the SDK could not read a code or message from, on one line.
fn body_excerpt(response: Option<&HttpResponse>) -> String {
    let body = response.and_then(|r| r.body().bytes()).map(String::from_utf8_lossy).unwrap_or_default();
    let text: String = body.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(200).collect();
    if text.is_empty() {
        "no error details".to_string()
    } else {
        text
    }
}

/// An error's chain of causes as one line, each message once.
fn causes(err: &(dyn std::error::Error + 'static)) -> String {
    let mut messages: Vec<String> = Vec::new();
    let mut current = Some(err);
    while let Some(error) = current {
        let message = error.to_string();
        if !messages.iter().any(|m| m.contains(&message)) {
            messages.push(message);
        }
        current = error.source();
    }
    messages.join(": ")
}
