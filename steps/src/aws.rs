//! One set of service clients built from one `SdkConfig`, so that every step shares the credential chain,
//! region, endpoint, retry settings and HTTP connection pool.

use anyhow::{anyhow, Context as _, Result};
use aws_config::SdkConfig;
use std::sync::OnceLock;
use tokio::sync::OnceCell;

use crate::calls::CallLog;

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
    dynamodb: OnceLock<aws_sdk_dynamodb::Client>,
    iam: OnceLock<aws_sdk_iam::Client>,
    lambda: OnceLock<aws_sdk_lambda::Client>,
    s3: OnceLock<aws_sdk_s3::Client>,
    route53: OnceLock<aws_sdk_route53::Client>,
    identity: OnceCell<Identity>,
}

/// An accessor for one service's client, built once from the shared configuration, reporting its calls.
macro_rules! client {
    ($name:ident, $sdk:ident) => {
        pub fn $name(&self) -> &$sdk::Client {
            self.$name.get_or_init(|| {
                $sdk::Client::from_conf(
                    $sdk::config::Builder::from(&self.config).interceptor(self.calls.clone()).build(),
                )
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
            dynamodb: OnceLock::new(),
            iam: OnceLock::new(),
            lambda: OnceLock::new(),
            s3: OnceLock::new(),
            route53: OnceLock::new(),
            identity: OnceCell::new(),
        }
    }

    pub fn region(&self) -> &str {
        self.config.region().map(|r| r.as_ref()).unwrap_or_default()
    }

    client!(apigateway, aws_sdk_apigateway);
    client!(apigatewayv2, aws_sdk_apigatewayv2);
    client!(cloudfront, aws_sdk_cloudfront);
    client!(dynamodb, aws_sdk_dynamodb);
    client!(iam, aws_sdk_iam);
    client!(lambda, aws_sdk_lambda);
    client!(route53, aws_sdk_route53);

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
    pub async fn identity(&self) -> Result<&Identity> {
        self.identity
            .get_or_try_init(|| async {
                let sts = aws_sdk_sts::config::Builder::from(&self.config).interceptor(self.calls.clone()).build();
                let sts = aws_sdk_sts::Client::from_conf(sts);
                let who = sts.get_caller_identity().send().await.context("sts:GetCallerIdentity")?;
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
