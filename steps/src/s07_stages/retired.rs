//! A main stage the settings no longer name (`--stage` changed): deployer made it, so it deletes it from the
//! REST and the WebSocket API, once the custom domains (06) and the usage plan point at the new one.

use anyhow::{bail, Result};

use crate::apigw::read_rest_stage;
use crate::aws::{absent_if, AwsContext};
use crate::ensure::Resource;
use crate::step::Context;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Api {
    Rest,
    WebSocket,
}

pub(super) struct RetiredStage<'a> {
    pub(super) ctx: &'a Context<'a>,
    pub(super) api: Api,
    pub(super) api_id: &'a str,
    pub(super) stage: &'a str,
}

impl Resource for RetiredStage<'_> {
    type Live = ();

    fn label(&self) -> String {
        let api = if self.api == Api::Rest { "REST" } else { "WebSocket" };
        format!("{api} stage {} (no longer the settings' stage)", self.stage)
    }

    async fn find(&self, _recorded: Option<&str>) -> Result<Option<()>> {
        let (ctx, api_id, stage) = (self.ctx, self.api_id, self.stage);
        Ok(match self.api {
            Api::Rest => read_rest_stage(ctx, api_id, stage).await?.map(|_| ()),
            Api::WebSocket => {
                let got = ctx.aws.apigatewayv2().get_stage().api_id(api_id).stage_name(stage).send().await;
                let got = absent_if(got, |e| e.is_not_found_exception());
                got.aws_context(|| format!("apigatewayv2:GetStage {api_id} {stage}"))?.map(|_| ())
            }
        })
    }

    async fn create(&self) -> Result<()> {
        bail!("{} is only ever deleted", self.label())
    }

    fn id(&self, _live: &()) -> String {
        self.stage.to_string()
    }

    async fn delete(&self, _live: ()) -> Result<()> {
        let (ctx, api_id, stage) = (self.ctx, self.api_id, self.stage);
        match self.api {
            Api::Rest => {
                let deleted = ctx.aws.apigateway().delete_stage().rest_api_id(api_id).stage_name(stage).send().await;
                deleted.aws_context(|| format!("apigateway:DeleteStage {api_id} {stage}"))?;
            }
            Api::WebSocket => {
                let deleted = ctx.aws.apigatewayv2().delete_stage().api_id(api_id).stage_name(stage).send().await;
                deleted.aws_context(|| format!("apigatewayv2:DeleteStage {api_id} {stage}"))?;
            }
        }
        Ok(())
    }
}
