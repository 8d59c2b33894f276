//! The REST API itself: found by recorded ID, then by name, never created twice.

use anyhow::{Context as _, Result};
use aws_sdk_apigateway::types::{EndpointConfiguration, EndpointType, Op, PatchOperation};
use aws_smithy_types::retry::RetryConfig;

use crate::apigw::the_one_named;
use crate::aws::{absent_if, AwsContext};
use crate::ensure::{Resource, PLANNED};
use crate::outputs;
use crate::step::Context;

pub(super) struct RestApi<'a> {
    pub(super) ctx: &'a Context<'a>,
    pub(super) name: String,
}

pub(super) struct LiveApi {
    pub(super) id: String,
    pub(super) root_resource_id: Option<String>,
    pub(super) regional: bool,
}

pub(super) fn is_regional(config: Option<&EndpointConfiguration>) -> bool {
    config.is_some_and(|c| c.types() == [EndpointType::Regional])
}

impl Resource for RestApi<'_> {
    type Live = LiveApi;

    fn planned(&self) -> Option<LiveApi> {
        Some(LiveApi { id: PLANNED.into(), root_resource_id: Some(PLANNED.into()), regional: true })
    }

    fn label(&self) -> String {
        format!("REST API {}", self.name)
    }

    async fn delete(&self, live: LiveApi) -> Result<()> {
        let deleted = self.ctx.aws.apigateway().delete_rest_api().rest_api_id(&live.id).send().await;
        deleted.aws_context(|| format!("apigateway:DeleteRestApi {}", live.id))?;
        Ok(())
    }

    fn key(&self) -> Option<String> {
        Some(outputs::REST_API_ID.key.to_string())
    }

    async fn find(&self, recorded: Option<&str>) -> Result<Option<LiveApi>> {
        let client = self.ctx.aws.apigateway();
        if let Some(id) = recorded {
            let got = absent_if(client.get_rest_api().rest_api_id(id).send().await, |e| e.is_not_found_exception())
                .aws_context(|| format!("apigateway:GetRestApi {id}"))?;
            if let Some(api) = got.filter(|a| a.name() == Some(self.name.as_str())) {
                return Ok(Some(LiveApi {
                    id: id.to_string(),
                    root_resource_id: api.root_resource_id().map(str::to_string),
                    regional: is_regional(api.endpoint_configuration()),
                }));
            }
        }
        let pages = client.get_rest_apis().limit(500).into_paginator().items().send();
        let apis = pages.collect::<Result<Vec<_>, _>>().await.aws_context(|| "apigateway:GetRestApis".to_string())?;
        let named: Vec<_> = apis.into_iter().filter(|a| a.name() == Some(self.name.as_str())).collect();
        let ids = named.iter().filter_map(|a| a.id().map(str::to_string)).collect();
        let Some(id) = the_one_named("REST API", &self.name, ids)? else {
            return Ok(None);
        };
        let api = named.iter().find(|a| a.id() == Some(id.as_str()));
        Ok(Some(LiveApi {
            root_resource_id: api.and_then(|a| a.root_resource_id()).map(str::to_string),
            regional: is_regional(api.and_then(|a| a.endpoint_configuration())),
            id,
        }))
    }

    async fn create(&self) -> Result<LiveApi> {
        let created = self
            .ctx
            .aws
            .apigateway()
            .create_rest_api()
            .name(&self.name)
            .description(format!("REST API of {} (managed by deployer)", self.ctx.settings.service))
            .endpoint_configuration(EndpointConfiguration::builder().types(EndpointType::Regional).build())
            // No idempotency token: a retry after a lost answer would make a second API. `ensure` looks first.
            .customize()
            .config_override(aws_sdk_apigateway::Config::builder().retry_config(RetryConfig::disabled()))
            .send()
            .await
            .aws_context(|| format!("apigateway:CreateRestApi {}", self.name))?;
        Ok(LiveApi {
            id: created.id().context("CreateRestApi returned no ID")?.to_string(),
            root_resource_id: created.root_resource_id().map(str::to_string),
            regional: is_regional(created.endpoint_configuration()),
        })
    }

    fn id(&self, live: &LiveApi) -> String {
        live.id.clone()
    }

    fn values(&self, live: &LiveApi, _field: &str) -> Option<(String, String)> {
        Some((if live.regional { "REGIONAL" } else { "not REGIONAL" }.to_string(), "REGIONAL".to_string()))
    }

    fn differences(&self, live: &LiveApi) -> Result<Vec<&'static str>> {
        Ok(if live.regional { vec![] } else { vec!["endpoint_type"] })
    }

    async fn update(&self, mut live: LiveApi, _fields: &[&'static str]) -> Result<LiveApi> {
        let client = self.ctx.aws.apigateway();
        let api = client
            .get_rest_api()
            .rest_api_id(&live.id)
            .send()
            .await
            .aws_context(|| format!("apigateway:GetRestApi {}", live.id))?;
        let current =
            api.endpoint_configuration().and_then(|c| c.types().first()).map_or("EDGE", |t| t.as_str()).to_string();
        let patch = PatchOperation::builder()
            .op(Op::Replace)
            .path(format!("/endpointConfiguration/types/{current}"))
            .value("REGIONAL")
            .build();
        client
            .update_rest_api()
            .rest_api_id(&live.id)
            .patch_operations(patch)
            .send()
            .await
            .aws_context(|| format!("apigateway:UpdateRestApi {} (endpoint type)", live.id))?;
        live.regional = true;
        Ok(live)
    }
}
