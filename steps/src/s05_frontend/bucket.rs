//! The private site bucket (Block Public Access on) and the policy that lets one distribution read it.

use anyhow::{bail, Context as _, Result};
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration, PublicAccessBlockConfiguration};
use serde_json::{json, Value};

use crate::aws::AwsContext;
use crate::ensure::{is_planned, Change, Recorder, Resource};
use crate::step::Context;

use super::sync::{delete_objects, list_keys};

/// Reports nothing: a bucket's objects go with it, one line for the bucket says so.
struct Silent;

impl Recorder for Silent {
    fn recorded(&self, _key: &str) -> Option<String> {
        None
    }
    fn record(&self, _key: &str, _value: &str) -> Result<()> {
        Ok(())
    }
    fn report(&self, _resource: &str, _change: &Change) {}
    fn notice(&self, _message: &str) {}
}

pub(super) struct Bucket<'a> {
    pub(super) ctx: &'a Context<'a>,
    pub(super) name: String,
}

impl Bucket<'_> {
    fn blocked() -> PublicAccessBlockConfiguration {
        PublicAccessBlockConfiguration::builder()
            .block_public_acls(true)
            .ignore_public_acls(true)
            .block_public_policy(true)
            .restrict_public_buckets(true)
            .build()
    }
}

impl Resource for Bucket<'_> {
    /// Whether all public access is blocked.
    type Live = bool;

    fn label(&self) -> String {
        format!("bucket {}", self.name)
    }

    fn planned(&self) -> Option<bool> {
        Some(true)
    }

    /// A bucket must be empty to go.
    async fn delete(&self, _live: bool) -> Result<()> {
        let s3 = self.ctx.aws.s3();
        let keys: Vec<String> = list_keys(s3, &self.name).await?.into_keys().collect();
        delete_objects(s3, &self.name, &keys, &Silent).await?;
        s3.delete_bucket().bucket(&self.name).send().await.aws_context(|| format!("s3:DeleteBucket {}", self.name))?;
        Ok(())
    }

    async fn find(&self, _recorded: Option<&str>) -> Result<Option<bool>> {
        let s3 = self.ctx.aws.s3();
        match s3.head_bucket().bucket(&self.name).send().await {
            Ok(_) => {}
            Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found()) => return Ok(None),
            Err(err) if err.raw_response().is_some_and(|r| r.status().as_u16() == 403) => bail!(
                "bucket {} exists but these credentials may not read it (HTTP 403). Either it belongs to another AWS \
                 account (bucket names are global: deploy under another --service), or it is this account's and the \
                 credentials lack s3:ListBucket on it (grant it, e.g. with the policy deployer's README lists)",
                self.name
            ),
            Err(err) => return Err(err).aws_context(|| format!("s3:HeadBucket {}", self.name)),
        }
        let block = s3.get_public_access_block().bucket(&self.name).send().await;
        let block = match block {
            Ok(out) => out.public_access_block_configuration().cloned(),
            Err(err) if err.code() == Some("NoSuchPublicAccessBlockConfiguration") => None,
            Err(err) => return Err(err).aws_context(|| format!("s3:GetPublicAccessBlock {}", self.name)),
        };
        Ok(Some(block.as_ref() == Some(&Self::blocked())))
    }

    async fn create(&self) -> Result<bool> {
        let region = &self.ctx.settings.region;
        // us-east-1 is the default location and refuses to be named as a constraint.
        let location = (region != "us-east-1").then(|| {
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region.as_str()))
                .build()
        });
        let created =
            self.ctx.aws.s3().create_bucket().bucket(&self.name).set_create_bucket_configuration(location).send().await;
        match created {
            Ok(_) => Ok(false),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_bucket_already_owned_by_you()) => Ok(false),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_bucket_already_exists()) => bail!(
                "bucket {} is taken by another AWS account (bucket names are global): deploy under another --service",
                self.name
            ),
            Err(err) => Err(err).aws_context(|| format!("s3:CreateBucket {}", self.name)),
        }
    }

    fn id(&self, _live: &bool) -> String {
        self.name.clone()
    }

    fn values(&self, blocked: &bool, _field: &str) -> Option<(String, String)> {
        let shown = |on: bool| if on { "all public access blocked" } else { "not all blocked" }.to_string();
        Some((shown(*blocked), shown(true)))
    }

    fn differences(&self, blocked: &bool) -> Result<Vec<&'static str>> {
        Ok(if *blocked { vec![] } else { vec!["public_access_block"] })
    }

    async fn update(&self, _live: bool, _fields: &[&'static str]) -> Result<bool> {
        self.ctx
            .aws
            .s3()
            .put_public_access_block()
            .bucket(&self.name)
            .public_access_block_configuration(Self::blocked())
            .send()
            .await
            .aws_context(|| format!("s3:PutPublicAccessBlock {}", self.name))?;
        Ok(true)
    }
}

/// Read access for the one distribution, through its OAC; nobody else.
pub(super) struct BucketPolicy<'a> {
    pub(super) ctx: &'a Context<'a>,
    pub(super) bucket: &'a str,
    pub(super) distribution_arn: &'a str,
    /// The caller's partition (`aws`, `aws-cn`, `aws-us-gov`): bucket ARNs name it.
    pub(super) partition: &'a str,
}

/// The policy letting the one distribution read the bucket's objects, except deployer's own records (the
/// releases, under [`crate::site::PRIVATE_PREFIX`]), which are not the site's. `NotResource` rather than a
/// `Deny`: moto applies a `Deny` to every caller, whatever its principal.
fn site_read_policy(partition: &str, bucket: &str, distribution_arn: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "CloudFrontReadsTheSite",
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": "s3:GetObject",
            "NotResource": format!("arn:{partition}:s3:::{bucket}/{}*", crate::site::PRIVATE_PREFIX),
            "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}}
        }]
    })
}

impl BucketPolicy<'_> {
    fn wanted(&self) -> Value {
        site_read_policy(self.partition, self.bucket, self.distribution_arn)
    }

    async fn put(&self) -> Result<Value> {
        let policy = self.wanted();
        self.ctx
            .aws
            .s3()
            .put_bucket_policy()
            .bucket(self.bucket)
            .policy(policy.to_string())
            .send()
            .await
            .aws_context(|| format!("s3:PutBucketPolicy {}", self.bucket))?;
        Ok(policy)
    }
}

impl Resource for BucketPolicy<'_> {
    type Live = Value;

    fn label(&self) -> String {
        format!("bucket policy of {}", self.bucket)
    }

    /// A new distribution means a new bucket too (the plan looks no further).
    fn under_planned(&self) -> bool {
        is_planned(self.distribution_arn)
    }

    fn planned(&self) -> Option<Value> {
        Some(Value::Null)
    }

    async fn find(&self, _recorded: Option<&str>) -> Result<Option<Value>> {
        match self.ctx.aws.s3().get_bucket_policy().bucket(self.bucket).send().await {
            Ok(out) => {
                Ok(Some(serde_json::from_str(out.policy().unwrap_or("{}")).context("the bucket policy is not JSON")?))
            }
            Err(err) if err.code() == Some("NoSuchBucketPolicy") => Ok(None),
            Err(err) => Err(err).aws_context(|| format!("s3:GetBucketPolicy {}", self.bucket)),
        }
    }

    async fn create(&self) -> Result<Value> {
        self.put().await
    }

    fn id(&self, _live: &Value) -> String {
        self.bucket.to_string()
    }

    fn differences(&self, live: &Value) -> Result<Vec<&'static str>> {
        Ok(if *live == self.wanted() { vec![] } else { vec!["policy"] })
    }

    fn values(&self, live: &Value, _field: &str) -> Option<(String, String)> {
        Some((live.to_string(), self.wanted().to_string()))
    }

    async fn update(&self, _live: Value, _fields: &[&'static str]) -> Result<Value> {
        self.put().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_site_policy_names_the_callers_partition_and_keeps_deployers_records_out() {
        let policy = site_read_policy("aws-cn", "svc-frontend", "arn:aws-cn:cloudfront::1:distribution/E1");
        assert_eq!(policy["Statement"][0]["NotResource"], "arn:aws-cn:s3:::svc-frontend/.deployer/*");
        assert_eq!(site_read_policy("aws", "b", "d")["Statement"][0]["NotResource"], "arn:aws:s3:::b/.deployer/*");
    }
}
