//! The API custom domains `api.DOMAIN` (REST) and `ws.DOMAIN` (WebSocket) and their mappings to the stage.

use anyhow::{Context as _, Result};

use crate::aws::{absent_if, AwsContext};
use crate::ensure::{is_planned, Resource, PLANNED};
use crate::step::Context;

/// API Gateway's regional endpoints' hosted zones, for alias records when the service does not say.
pub fn regional_api_zone(region: &str) -> Option<&'static str> {
    Some(match region {
        "us-east-1" => "Z1UJRXOUMOOFQ8",
        "us-east-2" => "ZOJJZC49E0EPZ",
        "us-west-1" => "Z2MUQ32089INYE",
        "us-west-2" => "Z2OJLYMUO9EFXC",
        "ca-central-1" => "Z19DQILCV0OWEC",
        "eu-west-1" => "ZLY8HYME6SFDD",
        "eu-west-2" => "ZJ5UAJN8Y3Z2Q",
        "eu-west-3" => "Z3KY65QIEKYHQQ",
        "eu-central-1" => "Z1U9ULNL0V5AJ3",
        "eu-north-1" => "Z3UWIKFBOOGXPP",
        "eu-south-1" => "Z3BT4WSQ9TDYZV",
        "ap-northeast-1" => "Z1YSHQZHG15GKL",
        "ap-northeast-2" => "Z20JF4UZKIW1U8",
        "ap-northeast-3" => "Z2YQB5RD63NC85",
        "ap-southeast-1" => "ZL327KTPIQFUL",
        "ap-southeast-2" => "Z2RPCDW04V8134",
        "ap-south-1" => "Z3VO1THU9YC4UR",
        "sa-east-1" => "ZCMLWB8V5SYIT",
        _ => return None,
    })
}

/// Where an API domain's alias record points.
pub(super) struct Target {
    pub(super) target: String,
    pub(super) zone: String,
}

/// `api.DOMAIN`: a REGIONAL REST custom domain.
pub(super) struct RestDomain<'a> {
    pub(super) ctx: &'a Context<'a>,
    pub(super) name: &'a str,
    pub(super) certificate: &'a str,
}

pub(super) struct LiveRestDomain {
    pub(super) target: String,
    pub(super) zone: String,
    pub(super) certificate: Option<String>,
}

impl RestDomain<'_> {
    fn zone_or_table(&self, reported: Option<&str>) -> Result<String> {
        let zone = reported.filter(|z| !z.is_empty()).or_else(|| regional_api_zone(&self.ctx.settings.region));
        zone.map(str::to_string).with_context(|| {
            format!(
                "no hosted zone is known for API Gateway in {}: this region is not supported yet",
                self.ctx.settings.region
            )
        })
    }
}

impl Resource for RestDomain<'_> {
    type Live = LiveRestDomain;

    /// Its base path mappings go with it.
    async fn delete(&self, _live: LiveRestDomain) -> Result<()> {
        let deleted = self.ctx.aws.apigateway().delete_domain_name().domain_name(self.name).send().await;
        deleted.aws_context(|| format!("apigateway:DeleteDomainName {}", self.name))?;
        Ok(())
    }

    fn planned(&self) -> Option<LiveRestDomain> {
        Some(LiveRestDomain { target: PLANNED.into(), zone: PLANNED.into(), certificate: None })
    }

    fn label(&self) -> String {
        format!("custom domain {}", self.name)
    }

    async fn find(&self, _recorded: Option<&str>) -> Result<Option<LiveRestDomain>> {
        let got = self.ctx.aws.apigateway().get_domain_name().domain_name(self.name).send().await;
        let got = absent_if(got, |e| e.is_not_found_exception())
            .aws_context(|| format!("apigateway:GetDomainName {}", self.name))?;
        got.map(|d| {
            Ok(LiveRestDomain {
                target: d.regional_domain_name().unwrap_or_default().to_string(),
                zone: self.zone_or_table(d.regional_hosted_zone_id())?,
                certificate: d.regional_certificate_arn().map(str::to_string),
            })
        })
        .transpose()
    }

    async fn create(&self) -> Result<LiveRestDomain> {
        let regional = aws_sdk_apigateway::types::EndpointConfiguration::builder()
            .types(aws_sdk_apigateway::types::EndpointType::Regional)
            .build();
        let created = self
            .ctx
            .aws
            .apigateway()
            .create_domain_name()
            .domain_name(self.name)
            .regional_certificate_arn(self.certificate)
            .endpoint_configuration(regional)
            .security_policy(aws_sdk_apigateway::types::SecurityPolicy::Tls12)
            .send()
            .await
            .aws_context(|| format!("apigateway:CreateDomainName {}", self.name))?;
        Ok(LiveRestDomain {
            target: created.regional_domain_name().unwrap_or_default().to_string(),
            zone: self.zone_or_table(created.regional_hosted_zone_id())?,
            certificate: created.regional_certificate_arn().map(str::to_string),
        })
    }

    fn id(&self, _live: &LiveRestDomain) -> String {
        self.name.to_string()
    }

    fn values(&self, live: &LiveRestDomain, _field: &str) -> Option<(String, String)> {
        Some((live.certificate.clone().unwrap_or_else(|| "none".to_string()), self.certificate.to_string()))
    }

    fn differences(&self, live: &LiveRestDomain) -> Result<Vec<&'static str>> {
        Ok(if live.certificate.as_deref() == Some(self.certificate) { vec![] } else { vec!["certificate"] })
    }

    async fn update(&self, mut live: LiveRestDomain, _fields: &[&'static str]) -> Result<LiveRestDomain> {
        let patch = aws_sdk_apigateway::types::PatchOperation::builder()
            .op(aws_sdk_apigateway::types::Op::Replace)
            .path("/regionalCertificateArn")
            .value(self.certificate)
            .build();
        self.ctx
            .aws
            .apigateway()
            .update_domain_name()
            .domain_name(self.name)
            .patch_operations(patch)
            .send()
            .await
            .aws_context(|| format!("apigateway:UpdateDomainName {} (certificate)", self.name))?;
        live.certificate = Some(self.certificate.to_string());
        Ok(live)
    }
}

/// The REST API's stage at the root of `api.DOMAIN`.
pub(super) struct BasePathMapping<'a> {
    pub(super) ctx: &'a Context<'a>,
    pub(super) domain: &'a str,
    pub(super) rest_api_id: &'a str,
    pub(super) stage: &'a str,
}

impl BasePathMapping<'_> {
    async fn root_mapping(&self) -> Result<Option<(String, String)>> {
        let got = self.ctx.aws.apigateway().get_base_path_mappings().domain_name(self.domain).send().await;
        let got = absent_if(got, |e| e.is_not_found_exception())
            .aws_context(|| format!("apigateway:GetBasePathMappings {}", self.domain))?;
        let root =
            got.iter().flat_map(|m| m.items()).find(|m| m.base_path().is_none_or(|p| p == "(none)" || p.is_empty()));
        Ok(root.map(|m| (m.rest_api_id().unwrap_or_default().to_string(), m.stage().unwrap_or_default().to_string())))
    }
}

impl Resource for BasePathMapping<'_> {
    /// (REST API ID, stage).
    type Live = (String, String);

    fn under_planned(&self) -> bool {
        is_planned(self.rest_api_id)
    }

    fn planned(&self) -> Option<(String, String)> {
        Some((PLANNED.into(), self.stage.into()))
    }

    fn label(&self) -> String {
        format!("base path mapping {} → {}/{}", self.domain, self.rest_api_id, self.stage)
    }

    /// Recorded once made, so a domain without mappings is never listed: moto fails that listing
    /// (HTTP 500) where AWS returns an empty list.
    fn key(&self) -> Option<String> {
        Some("base_path_mapping".into())
    }

    async fn find(&self, recorded: Option<&str>) -> Result<Option<(String, String)>> {
        if recorded.is_none() {
            return Ok(None);
        }
        self.root_mapping().await
    }

    /// AWS refuses a second mapping of a base path, so when an unrecorded one exists (a lost state file)
    /// the conflict leads to it.
    async fn create(&self) -> Result<(String, String)> {
        let created = self
            .ctx
            .aws
            .apigateway()
            .create_base_path_mapping()
            .domain_name(self.domain)
            .rest_api_id(self.rest_api_id)
            .stage(self.stage)
            .send()
            .await;
        match created {
            Ok(_) => Ok((self.rest_api_id.to_string(), self.stage.to_string())),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_conflict_exception()) => self
                .root_mapping()
                .await?
                .with_context(|| format!("the base path mapping of {} conflicts yet cannot be read", self.domain)),
            Err(err) => Err(err).aws_context(|| format!("apigateway:CreateBasePathMapping {}", self.domain)),
        }
    }

    fn id(&self, _live: &(String, String)) -> String {
        self.domain.to_string()
    }

    fn values(&self, live: &(String, String), _field: &str) -> Option<(String, String)> {
        Some((format!("{}/{}", live.0, live.1), format!("{}/{}", self.rest_api_id, self.stage)))
    }

    fn differences(&self, live: &(String, String)) -> Result<Vec<&'static str>> {
        Ok(if live.0 == self.rest_api_id && live.1 == self.stage { vec![] } else { vec!["target"] })
    }

    async fn update(&self, _live: (String, String), _fields: &[&'static str]) -> Result<(String, String)> {
        let patch = |path: &str, value: &str| {
            aws_sdk_apigateway::types::PatchOperation::builder()
                .op(aws_sdk_apigateway::types::Op::Replace)
                .path(path)
                .value(value)
                .build()
        };
        self.ctx
            .aws
            .apigateway()
            .update_base_path_mapping()
            .domain_name(self.domain)
            .base_path("(none)")
            .patch_operations(patch("/restapiId", self.rest_api_id))
            .patch_operations(patch("/stage", self.stage))
            .send()
            .await
            .aws_context(|| format!("apigateway:UpdateBasePathMapping {}", self.domain))?;
        Ok((self.rest_api_id.to_string(), self.stage.to_string()))
    }
}

/// `ws.DOMAIN`: a REGIONAL API Gateway v2 custom domain.
pub(super) struct WebSocketDomain<'a> {
    pub(super) ctx: &'a Context<'a>,
    pub(super) name: &'a str,
    pub(super) certificate: &'a str,
}

impl WebSocketDomain<'_> {
    fn configuration(&self) -> aws_sdk_apigatewayv2::types::DomainNameConfiguration {
        aws_sdk_apigatewayv2::types::DomainNameConfiguration::builder()
            .certificate_arn(self.certificate)
            .endpoint_type(aws_sdk_apigatewayv2::types::EndpointType::Regional)
            .security_policy(aws_sdk_apigatewayv2::types::SecurityPolicy::Tls12)
            .build()
    }

    /// The alias target, when the service reports one (moto does not).
    fn target(&self, configurations: &[aws_sdk_apigatewayv2::types::DomainNameConfiguration]) -> Option<Target> {
        let first = configurations.first()?;
        let target = first.api_gateway_domain_name().filter(|t| !t.is_empty())?;
        let zone = first
            .hosted_zone_id()
            .filter(|z| !z.is_empty())
            .or_else(|| regional_api_zone(&self.ctx.settings.region))?;
        Some(Target { target: target.to_string(), zone: zone.to_string() })
    }
}

impl Resource for WebSocketDomain<'_> {
    /// (certificate, alias target).
    type Live = (Option<String>, Option<Target>);

    /// Its API mappings go with it.
    async fn delete(&self, _live: Self::Live) -> Result<()> {
        let deleted = self.ctx.aws.apigatewayv2().delete_domain_name().domain_name(self.name).send().await;
        deleted.aws_context(|| format!("apigatewayv2:DeleteDomainName {}", self.name))?;
        Ok(())
    }

    fn planned(&self) -> Option<Self::Live> {
        Some((None, Some(Target { target: PLANNED.into(), zone: PLANNED.into() })))
    }

    fn label(&self) -> String {
        format!("custom domain {}", self.name)
    }

    async fn find(&self, _recorded: Option<&str>) -> Result<Option<Self::Live>> {
        let got = self.ctx.aws.apigatewayv2().get_domain_name().domain_name(self.name).send().await;
        let got = absent_if(got, |e| e.is_not_found_exception())
            .aws_context(|| format!("apigatewayv2:GetDomainName {}", self.name))?;
        Ok(got.map(|d| {
            let configurations = d.domain_name_configurations();
            (configurations.first().and_then(|c| c.certificate_arn()).map(str::to_string), self.target(configurations))
        }))
    }

    async fn create(&self) -> Result<Self::Live> {
        let created = self
            .ctx
            .aws
            .apigatewayv2()
            .create_domain_name()
            .domain_name(self.name)
            .domain_name_configurations(self.configuration())
            .send()
            .await
            .aws_context(|| format!("apigatewayv2:CreateDomainName {}", self.name))?;
        let configurations = created.domain_name_configurations();
        Ok((configurations.first().and_then(|c| c.certificate_arn()).map(str::to_string), self.target(configurations)))
    }

    fn id(&self, _live: &Self::Live) -> String {
        self.name.to_string()
    }

    fn differences(&self, live: &Self::Live) -> Result<Vec<&'static str>> {
        Ok(if live.0.as_deref() == Some(self.certificate) { vec![] } else { vec!["certificate"] })
    }

    fn values(&self, live: &Self::Live, _field: &str) -> Option<(String, String)> {
        Some((live.0.clone().unwrap_or_else(|| "none".to_string()), self.certificate.to_string()))
    }

    async fn update(&self, live: Self::Live, _fields: &[&'static str]) -> Result<Self::Live> {
        self.ctx
            .aws
            .apigatewayv2()
            .update_domain_name()
            .domain_name(self.name)
            .domain_name_configurations(self.configuration())
            .send()
            .await
            .aws_context(|| format!("apigatewayv2:UpdateDomainName {} (certificate)", self.name))?;
        Ok((Some(self.certificate.to_string()), live.1))
    }
}

/// The WebSocket API's stage at the root of `ws.DOMAIN`.
pub(super) struct ApiMapping<'a> {
    pub(super) ctx: &'a Context<'a>,
    pub(super) domain: &'a str,
    pub(super) api_id: &'a str,
    pub(super) stage: &'a str,
}

impl Resource for ApiMapping<'_> {
    /// (mapping ID, API ID, stage).
    type Live = (String, String, String);

    fn under_planned(&self) -> bool {
        is_planned(self.api_id)
    }

    fn planned(&self) -> Option<Self::Live> {
        Some((PLANNED.into(), PLANNED.into(), self.stage.into()))
    }

    fn label(&self) -> String {
        format!("API mapping {} → {}/{}", self.domain, self.api_id, self.stage)
    }

    async fn find(&self, _recorded: Option<&str>) -> Result<Option<Self::Live>> {
        let got = self.ctx.aws.apigatewayv2().get_api_mappings().domain_name(self.domain).send().await;
        let got = got.aws_context(|| format!("apigatewayv2:GetApiMappings {}", self.domain))?;
        let root = got.items().iter().find(|m| m.api_mapping_key().unwrap_or_default().is_empty());
        Ok(root.map(|m| {
            let text = |v: Option<&str>| v.unwrap_or_default().to_string();
            (text(m.api_mapping_id()), text(m.api_id()), text(m.stage()))
        }))
    }

    async fn create(&self) -> Result<Self::Live> {
        let created = self
            .ctx
            .aws
            .apigatewayv2()
            .create_api_mapping()
            .domain_name(self.domain)
            .api_id(self.api_id)
            .stage(self.stage)
            .send()
            .await
            .aws_context(|| format!("apigatewayv2:CreateApiMapping {}", self.domain))?;
        Ok((created.api_mapping_id().unwrap_or_default().to_string(), self.api_id.to_string(), self.stage.to_string()))
    }

    fn id(&self, live: &Self::Live) -> String {
        live.0.clone()
    }

    fn differences(&self, live: &Self::Live) -> Result<Vec<&'static str>> {
        Ok(if live.1 == self.api_id && live.2 == self.stage { vec![] } else { vec!["target"] })
    }

    fn values(&self, live: &Self::Live, _field: &str) -> Option<(String, String)> {
        Some((format!("{}/{}", live.1, live.2), format!("{}/{}", self.api_id, self.stage)))
    }

    async fn update(&self, live: Self::Live, _fields: &[&'static str]) -> Result<Self::Live> {
        self.ctx
            .aws
            .apigatewayv2()
            .update_api_mapping()
            .api_mapping_id(&live.0)
            .domain_name(self.domain)
            .api_id(self.api_id)
            .stage(self.stage)
            .send()
            .await
            .aws_context(|| format!("apigatewayv2:UpdateApiMapping {}", self.domain))?;
        Ok((live.0, self.api_id.to_string(), self.stage.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn us_east_1_regional_zone_is_known() {
        assert_eq!(regional_api_zone("us-east-1"), Some("Z1UJRXOUMOOFQ8"));
        assert_eq!(regional_api_zone("xx-nowhere-1"), None);
    }
}
