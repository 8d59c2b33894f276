//! The functions' execution roles, each with one inline policy (least privilege): the shared one, and one
//! per function that lists its `tables`.

use anyhow::{Context as _, Result};
use serde_json::{json, Value};

use crate::aws::{absent_if, AwsContext};
use crate::ensure::Resource;
use crate::outputs;
use crate::step::Context;

use super::secrets::{self, Secret};
use std::collections::BTreeMap;

const DYNAMODB_ACTIONS: &[&str] = &[
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
];

/// What Lambda does with the role to give functions in a VPC their network interfaces: the actions of
/// the managed policy AWSLambdaVPCAccessExecutionRole, which take no resource narrower than `*`.
fn vpc_statement() -> Value {
    json!({
        "Sid": "VpcNetworkInterfaces",
        "Effect": "Allow",
        "Action": [
            "ec2:CreateNetworkInterface",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeSubnets",
            "ec2:DeleteNetworkInterface",
            "ec2:AssignPrivateIpAddresses",
            "ec2:UnassignPrivateIpAddresses"
        ],
        "Resource": "*"
    })
}

pub(super) struct Role<'a> {
    pub ctx: &'a Context<'a>,
    pub name: String,
    /// Where its ARN is recorded.
    pub key: String,
    pub partition: &'a str,
    pub account: &'a str,
    /// The tables its functions may reach, by name after `SERVICE-`.
    pub tables: Vec<&'a str>,
    /// The secrets its functions may read (`[functions.X.secrets]`), by their ID there.
    pub secrets: BTreeMap<String, Secret>,
}

impl<'a> Role<'a> {
    /// `SERVICE-lambda-role`, of every function that does not list its `tables`: every table, every secret.
    pub fn shared(
        ctx: &'a Context<'a>,
        (partition, account): (&'a str, &'a str),
        secrets: &BTreeMap<String, Secret>,
    ) -> Role<'a> {
        let (key, tables) = (outputs::ROLE_ARN.key.to_string(), ctx.settings.table_names());
        Role { ctx, name: ctx.name("lambda-role"), key, partition, account, tables, secrets: secrets.clone() }
    }

    /// `SERVICE-FUNCTION`, of a function that lists its `tables`: those tables, and its own secrets.
    pub fn own(
        ctx: &'a Context<'a>,
        function: &'a str,
        (partition, account): (&'a str, &'a str),
        secrets: &BTreeMap<String, Secret>,
    ) -> Role<'a> {
        let ids: Vec<&String> = ctx.settings.secrets(function).into_iter().flat_map(|s| s.values()).collect();
        let own_secrets = secrets.iter().filter(|(id, _)| ids.contains(id)).map(|(id, s)| (id.clone(), s.clone()));
        Role {
            ctx,
            name: ctx.name(function),
            key: outputs::own_role_arn(function).key.into_owned(),
            partition,
            account,
            tables: ctx.settings.tables_of(function),
            secrets: own_secrets.collect(),
        }
    }
}

pub(super) struct LiveRole {
    pub arn: String,
    pub(super) trust_policy: Value,
    pub(super) access_policy: Option<Value>,
}

impl Role<'_> {
    fn policy_name(&self) -> String {
        self.ctx.name("lambda-access")
    }

    fn trust_policy() -> Value {
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole"
            }]
        })
    }

    fn access_policy(&self) -> Result<Value> {
        let (partition, account, region) = (self.partition, self.account, &self.ctx.settings.region);
        let service = &self.ctx.settings.service;
        let mut tables = Vec::new();
        // A table's ARN follows from its name (as in 01's plan), so the role needs no table made first and
        // 02 runs beside 01.
        for table in &self.tables {
            let arn = format!("arn:{partition}:dynamodb:{region}:{account}:table/{}", self.ctx.name(table));
            tables.push(json!(arn));
            tables.push(json!(format!("{arn}/index/*")));
        }
        let log_groups = format!("arn:{partition}:logs:{region}:{account}:log-group:/aws/lambda/{service}-*");
        let mut policy = json!({
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "OwnLogGroups",
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": [log_groups.clone(), format!("{log_groups}:*")]
                },
                {"Sid": "ServiceTables", "Effect": "Allow", "Action": DYNAMODB_ACTIONS, "Resource": tables},
                {
                    "Sid": "AnswerWebSocketClients",
                    "Effect": "Allow",
                    "Action": "execute-api:ManageConnections",
                    "Resource": format!("arn:{partition}:execute-api:{region}:{account}:*/*/POST/@connections/*")
                }
            ]
        });
        if let Some(statements) = policy["Statement"].as_array_mut() {
            statements.extend(self.ctx.settings.vpc.is_some().then(vpc_statement));
            statements.extend(secrets::policy_statements(&self.secrets, region));
        }
        Ok(policy)
    }
}

/// IAM returns policy documents URL-encoded.
fn decode_policy(document: &str) -> Result<Value> {
    let decoded = percent_encoding::percent_decode_str(document).decode_utf8_lossy();
    serde_json::from_str(&decoded).context("IAM returned a policy document that is not JSON")
}

impl Resource for Role<'_> {
    type Live = LiveRole;

    fn label(&self) -> String {
        format!("role {}", self.name)
    }

    fn key(&self) -> Option<String> {
        Some(self.key.clone())
    }

    /// A role's ARN follows from its name, so a plan can go on to the functions that assume it.
    fn planned(&self) -> Option<LiveRole> {
        let arn = format!("arn:{}:iam::{}:role/{}", self.partition, self.account, self.name);
        Some(LiveRole { arn, trust_policy: Value::Null, access_policy: None })
    }

    async fn find(&self, _recorded: Option<&str>) -> Result<Option<LiveRole>> {
        let iam = self.ctx.aws.iam();
        let got = absent_if(iam.get_role().role_name(&self.name).send().await, |e| e.is_no_such_entity_exception())
            .aws_context(|| format!("iam:GetRole {}", self.name))?;
        let Some(role) = got.and_then(|out| out.role().cloned()) else {
            return Ok(None);
        };
        let policy = iam.get_role_policy().role_name(&self.name).policy_name(self.policy_name()).send().await;
        let policy = absent_if(policy, |e| e.is_no_such_entity_exception())
            .aws_context(|| format!("iam:GetRolePolicy {} {}", self.name, self.policy_name()))?;
        Ok(Some(LiveRole {
            arn: role.arn().to_string(),
            trust_policy: decode_policy(role.assume_role_policy_document().unwrap_or("{}"))?,
            access_policy: policy.map(|p| decode_policy(p.policy_document())).transpose()?,
        }))
    }

    async fn create(&self) -> Result<LiveRole> {
        let created = self
            .ctx
            .aws
            .iam()
            .create_role()
            .role_name(&self.name)
            .assume_role_policy_document(Self::trust_policy().to_string())
            .description(format!("Lambda execution role of {} (managed by deployer)", self.ctx.settings.service))
            .send()
            .await
            .aws_context(|| format!("iam:CreateRole {}", self.name))?;
        let arn = created.role().map(|r| r.arn().to_string()).unwrap_or_default();
        Ok(LiveRole { arn, trust_policy: Self::trust_policy(), access_policy: None })
    }

    fn id(&self, live: &LiveRole) -> String {
        live.arn.clone()
    }

    /// A role can only go once its inline policies are deleted and its managed ones detached.
    async fn delete(&self, _live: LiveRole) -> Result<()> {
        let iam = self.ctx.aws.iam();
        let name = &self.name;
        let inline = iam.list_role_policies().role_name(name).send().await;
        for policy in inline.aws_context(|| format!("iam:ListRolePolicies {name}"))?.policy_names() {
            let deleted = iam.delete_role_policy().role_name(name).policy_name(policy).send().await;
            deleted.aws_context(|| format!("iam:DeleteRolePolicy {name} {policy}"))?;
        }
        let attached = iam.list_attached_role_policies().role_name(name).send().await;
        for policy in attached.aws_context(|| format!("iam:ListAttachedRolePolicies {name}"))?.attached_policies() {
            let arn = policy.policy_arn().unwrap_or_default();
            let detached = iam.detach_role_policy().role_name(name).policy_arn(arn).send().await;
            detached.aws_context(|| format!("iam:DetachRolePolicy {name} {arn}"))?;
        }
        iam.delete_role().role_name(name).send().await.aws_context(|| format!("iam:DeleteRole {name}"))?;
        Ok(())
    }

    fn differences(&self, live: &LiveRole) -> Result<Vec<&'static str>> {
        let mut fields = Vec::new();
        if live.trust_policy != Self::trust_policy() {
            fields.push("trust_policy");
        }
        if live.access_policy.as_ref() != Some(&self.access_policy()?) {
            fields.push("access_policy");
        }
        Ok(fields)
    }

    /// The policy documents, as JSON (digested when long).
    fn values(&self, live: &LiveRole, field: &str) -> Option<(String, String)> {
        match field {
            "trust_policy" => Some((live.trust_policy.to_string(), Self::trust_policy().to_string())),
            "access_policy" => {
                let now = live.access_policy.as_ref().map_or_else(|| "none".to_string(), Value::to_string);
                Some((now, self.access_policy().ok()?.to_string()))
            }
            _ => None,
        }
    }

    async fn update(&self, mut live: LiveRole, fields: &[&'static str]) -> Result<LiveRole> {
        let iam = self.ctx.aws.iam();
        if fields.contains(&"trust_policy") {
            iam.update_assume_role_policy()
                .role_name(&self.name)
                .policy_document(Self::trust_policy().to_string())
                .send()
                .await
                .aws_context(|| format!("iam:UpdateAssumeRolePolicy {}", self.name))?;
            live.trust_policy = Self::trust_policy();
        }
        if fields.contains(&"access_policy") {
            let policy = self.access_policy()?;
            iam.put_role_policy()
                .role_name(&self.name)
                .policy_name(self.policy_name())
                .policy_document(policy.to_string())
                .send()
                .await
                .aws_context(|| format!("iam:PutRolePolicy {} {}", self.name, self.policy_name()))?;
            live.access_policy = Some(policy);
        }
        Ok(live)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_documents_are_decoded_from_iam_url_encoding() {
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%7D";
        assert_eq!(decode_policy(encoded).unwrap(), json!({"Version": "2012-10-17"}));
        assert_eq!(decode_policy("{\"a\": 1}").unwrap(), json!({"a": 1}));
    }
}
