//! The Secrets Manager secrets of `[functions.X.secrets]`: their ARNs, read with DescribeSecret (which
//! never returns a value), for the role's policy and the functions' `NAME_SECRET_ARN` variables. The
//! functions read the values themselves at run time; no value passes through deployer.

use anyhow::{bail, Context as _, Result};
use futures::future::try_join_all;
use serde_json::{json, Value};
use std::collections::BTreeMap;

use crate::aws::{absent_if, AwsContext};
use crate::step::Context;

#[derive(Clone)]
pub(super) struct Secret {
    pub arn: String,
    /// The KMS key that encrypts it, when not Secrets Manager's own (`aws/secretsmanager`).
    pub kms_key: Option<String>,
}

/// Every secret deployer.toml names, by the ID it gives (a name or an ARN).
pub(super) async fn described(ctx: &Context<'_>) -> Result<BTreeMap<String, Secret>> {
    let ids = ctx.settings.secret_ids();
    let found =
        try_join_all(ids.into_iter().map(|id| async move { Ok::<_, anyhow::Error>((id, describe(ctx, id).await?)) }))
            .await?;
    Ok(found.into_iter().map(|(id, secret)| (id.to_string(), secret)).collect())
}

async fn describe(ctx: &Context<'_>, id: &str) -> Result<Secret> {
    let got = ctx.aws.secretsmanager().describe_secret().secret_id(id).send().await;
    let got = absent_if(got, |e| e.is_resource_not_found_exception())
        .aws_context(|| format!("secretsmanager:DescribeSecret {id}"))?;
    let Some(got) = got else {
        bail!(
            "deployer.toml names the secret '{id}', which does not exist in {}: create it (`aws secretsmanager \
             create-secret --name {id} --secret-string …`) or fix the name, then `deployer resume`",
            ctx.settings.region
        )
    };
    let Some(arn) = got.arn() else { bail!("secretsmanager:DescribeSecret {id} answered without an ARN") };
    let kms_key = match got.kms_key_id() {
        Some(key) => Some(key_arn(ctx, key).await?),
        None => None,
    };
    Ok(Secret { arn: arn.to_string(), kms_key })
}

/// The ARN of the key a secret names by ID, ARN, alias or alias ARN: a policy's `Resource` must name the
/// key itself, as an alias there grants nothing (KMS: "aliases in a policy's Resource do not name the key").
async fn key_arn(ctx: &Context<'_>, key: &str) -> Result<String> {
    let described = ctx.aws.kms().describe_key().key_id(key).send().await;
    let described =
        described.aws_context(|| format!("kms:DescribeKey {key} (the key of a secret in deployer.toml)"))?;
    let metadata = described.key_metadata().with_context(|| format!("kms:DescribeKey {key} answered no key"))?;
    metadata.arn().map(str::to_string).with_context(|| format!("kms:DescribeKey {key} answered no ARN"))
}

/// The role's statements for them: read exactly these secrets, and decrypt with their own KMS keys, only
/// through Secrets Manager.
pub(super) fn policy_statements(secrets: &BTreeMap<String, Secret>, region: &str) -> Vec<Value> {
    if secrets.is_empty() {
        return Vec::new();
    }
    let arns: Vec<&str> = secrets.values().map(|s| s.arn.as_str()).collect();
    let mut statements = vec![
        json!({"Sid": "ReadOwnSecrets", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": arns}),
    ];
    let mut keys: Vec<String> = secrets.values().filter_map(|s| s.kms_key.clone()).collect();
    keys.sort();
    keys.dedup();
    if !keys.is_empty() {
        statements.push(json!({
            "Sid": "DecryptOwnSecrets",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": keys,
            "Condition": {"StringEquals": {"kms:ViaService": format!("secretsmanager.{region}.amazonaws.com")}}
        }));
    }
    statements
}
