//! What several steps need of one AWS service, by service: API Gateway (`apigw`), Lambda, CloudFront, DynamoDB, the
//! functions' log groups and logs, the functions' revisions that spare the steps reading them, and the
//! CloudWatch figures a release's canary watches (read by the binary, not by a step).

pub mod apigw;
pub mod canary_metrics;
pub mod cloudfront;
pub mod dynamodb;
pub mod lambda;
pub mod live_alias;
pub mod log_groups;
pub mod logs;
pub mod metrics;
pub mod revisions;
