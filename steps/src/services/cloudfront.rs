//! CloudFront helpers that more than one step uses: the read-modify-write of a distribution's
//! configuration (05 owns its origin and behaviour, 06 its aliases and certificate).

use anyhow::{Context as _, Result};
use aws_sdk_cloudfront::types::DistributionConfig;

use crate::aws::AwsContext;
use crate::step::Context;

/// Read-modify-write of a distribution's configuration, guarded by its ETag so that a concurrent change
/// is refused rather than overwritten.
pub async fn update_distribution_config(
    ctx: &Context<'_>,
    id: &str,
    change: impl FnOnce(&mut DistributionConfig) -> Result<()>,
) -> Result<aws_sdk_cloudfront::types::Distribution> {
    let cloudfront = ctx.aws.cloudfront();
    let current = cloudfront.get_distribution_config().id(id).send().await;
    let current = current.aws_context(|| format!("cloudfront:GetDistributionConfig {id}"))?;
    let etag = current.e_tag().map(str::to_string);
    let mut config = current.distribution_config.context("GetDistributionConfig returned no configuration")?;
    change(&mut config)?;
    let updated = cloudfront
        .update_distribution()
        .id(id)
        .set_if_match(etag)
        .distribution_config(config)
        .send()
        .await
        .aws_context(|| format!("cloudfront:UpdateDistribution {id}"))?;
    updated.distribution.context("UpdateDistribution returned no distribution")
}
