//! `[auth] kind = "cognito"`: a Cognito user-pool authorizer `SERVICE-cognito` for an existing pool,
//! reading the ID token from `Authorization`. Its ID is recorded the moment it is made; when the setting
//! goes, it is deleted after the methods stop using it.

use anyhow::{Context as _, Result};
use aws_sdk_apigateway::types::{AuthorizerType, Op, PatchOperation};

use crate::aws::{absent_if, AwsContext};
use crate::ensure::{is_planned, Resource, PLANNED};
use crate::step::Context;

pub(super) const KEY: &str = "authorizer_id";
const IDENTITY_SOURCE: &str = "method.request.header.Authorization";

/// What a deployment serves of the authorizer for `pool_arn`.
pub(super) fn described(pool_arn: &str) -> serde_json::Value {
    serde_json::json!(["COGNITO_USER_POOLS", pool_arn, IDENTITY_SOURCE])
}

pub(super) struct CognitoAuthorizer<'a> {
    pub(super) ctx: &'a Context<'a>,
    pub(super) api_id: &'a str,
    /// `None` when only removing it.
    pub(super) pool_arn: Option<&'a str>,
}

pub(super) struct LiveAuthorizer {
    pub(super) id: String,
    pools: Vec<String>,
    identity_source: Option<String>,
}

impl CognitoAuthorizer<'_> {
    fn name(&self) -> String {
        self.ctx.name("cognito")
    }
}

impl Resource for CognitoAuthorizer<'_> {
    type Live = LiveAuthorizer;

    fn label(&self) -> String {
        format!("Cognito authorizer {}", self.name())
    }

    fn key(&self) -> Option<String> {
        Some(KEY.to_string())
    }

    fn under_planned(&self) -> bool {
        is_planned(self.api_id)
    }

    fn planned(&self) -> Option<LiveAuthorizer> {
        Some(LiveAuthorizer { id: PLANNED.to_string(), pools: Vec::new(), identity_source: None })
    }

    /// By the recorded ID (an empty one: removed), else by name among the API's authorizers.
    async fn find(&self, recorded: Option<&str>) -> Result<Option<LiveAuthorizer>> {
        let client = self.ctx.aws.apigateway();
        let live = |a: &aws_sdk_apigateway::types::Authorizer| LiveAuthorizer {
            id: a.id().unwrap_or_default().to_string(),
            pools: a.provider_arns().to_vec(),
            identity_source: a.identity_source().map(str::to_string),
        };
        if let Some(id) = recorded.filter(|id| !id.is_empty()) {
            let got = client.get_authorizer().rest_api_id(self.api_id).authorizer_id(id).send().await;
            let got = absent_if(got, |e| e.is_not_found_exception())
                .aws_context(|| format!("apigateway:GetAuthorizer {} {id}", self.api_id))?;
            if let Some(got) = got {
                return Ok(Some(LiveAuthorizer {
                    id: id.to_string(),
                    pools: got.provider_arns().to_vec(),
                    identity_source: got.identity_source().map(str::to_string),
                }));
            }
        }
        let listed = client.get_authorizers().rest_api_id(self.api_id).limit(500).send().await;
        let listed = listed.aws_context(|| format!("apigateway:GetAuthorizers {}", self.api_id))?;
        Ok(listed.items().iter().find(|a| a.name() == Some(self.name().as_str())).map(live))
    }

    async fn create(&self) -> Result<LiveAuthorizer> {
        let pool = self.pool_arn.context("a Cognito authorizer needs the user pool's ARN")?;
        let created = self
            .ctx
            .aws
            .apigateway()
            .create_authorizer()
            .rest_api_id(self.api_id)
            .name(self.name())
            .r#type(AuthorizerType::CognitoUserPools)
            .provider_arns(pool)
            .identity_source(IDENTITY_SOURCE)
            .send()
            .await
            .aws_context(|| format!("apigateway:CreateAuthorizer {}", self.name()))?;
        let id = created.id().context("CreateAuthorizer answered without an ID")?.to_string();
        Ok(LiveAuthorizer { id, pools: vec![pool.to_string()], identity_source: Some(IDENTITY_SOURCE.to_string()) })
    }

    fn id(&self, live: &LiveAuthorizer) -> String {
        live.id.clone()
    }

    fn values(&self, live: &LiveAuthorizer, field: &str) -> Option<(String, String)> {
        Some(match field {
            "user_pool" => (live.pools.join(", "), self.pool_arn?.to_string()),
            "identity_source" => {
                (live.identity_source.clone().unwrap_or_else(|| "none".to_string()), IDENTITY_SOURCE.to_string())
            }
            _ => return None,
        })
    }

    fn differences(&self, live: &LiveAuthorizer) -> Result<Vec<&'static str>> {
        let mut fields = Vec::new();
        if self.pool_arn.is_some_and(|pool| live.pools != [pool]) {
            fields.push("user_pool");
        }
        if live.identity_source.as_deref() != Some(IDENTITY_SOURCE) {
            fields.push("identity_source");
        }
        Ok(fields)
    }

    async fn update(&self, live: LiveAuthorizer, _fields: &[&'static str]) -> Result<LiveAuthorizer> {
        let pool = self.pool_arn.context("a Cognito authorizer needs the user pool's ARN")?;
        let operation =
            |op: Op, path: &str, value: &str| PatchOperation::builder().op(op).path(path).value(value).build();
        let mut operations: Vec<PatchOperation> =
            live.pools.iter().filter(|p| *p != pool).map(|p| operation(Op::Remove, "/providerARNs", p)).collect();
        if !live.pools.iter().any(|p| p == pool) {
            operations.push(operation(Op::Add, "/providerARNs", pool));
        }
        operations.push(operation(Op::Replace, "/identitySource", IDENTITY_SOURCE));
        self.ctx
            .aws
            .apigateway()
            .update_authorizer()
            .rest_api_id(self.api_id)
            .authorizer_id(&live.id)
            .set_patch_operations(Some(operations))
            .send()
            .await
            .aws_context(|| format!("apigateway:UpdateAuthorizer {}", self.name()))?;
        Ok(LiveAuthorizer {
            id: live.id,
            pools: vec![pool.to_string()],
            identity_source: Some(IDENTITY_SOURCE.to_string()),
        })
    }

    async fn delete(&self, live: LiveAuthorizer) -> Result<()> {
        let deleted =
            self.ctx.aws.apigateway().delete_authorizer().rest_api_id(self.api_id).authorizer_id(&live.id).send().await;
        absent_if(deleted, |e| e.is_not_found_exception())
            .aws_context(|| format!("apigateway:DeleteAuthorizer {}", live.id))?;
        Ok(())
    }
}
