//! What several steps need of one AWS service, by service: API Gateway (`apigw`), Lambda, CloudFront, DynamoDB, the
//! functions' log groups and logs, and the functions' revisions that spare the steps reading them.

pub mod apigw;
pub mod cloudfront;
pub mod dynamodb;
pub mod lambda;
pub mod live_alias;
pub mod log_groups;
pub mod logs;
pub mod revisions;
