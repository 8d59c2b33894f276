//! Gateway Responses `DEFAULT_4XX` and `DEFAULT_5XX` with the CORS headers: an answer API Gateway makes
//! itself (403 for an unknown path or a missing key, 429 when throttled, 502/504 when the function fails)
//! otherwise carries no `Access-Control-Allow-Origin`, and the browser shows a CORS error instead of the
//! status (the manual's "CORS error" trouble case). They allow any origin: such an answer holds nothing
//! private, and its status is what the page needs to show.

use anyhow::Result;
use serde_json::json;
use std::collections::HashMap;

use crate::aws::AwsContext;
use crate::ensure::{is_planned, Resource};
use crate::manual::CORS_ALLOW_HEADERS;
use crate::step::Context;

pub(super) const KINDS: [&str; 2] = ["DEFAULT_4XX", "DEFAULT_5XX"];

fn wanted_parameters() -> HashMap<String, String> {
    HashMap::from([
        ("gatewayresponse.header.Access-Control-Allow-Origin".to_string(), "'*'".to_string()),
        ("gatewayresponse.header.Access-Control-Allow-Headers".to_string(), format!("'{CORS_ALLOW_HEADERS}'")),
    ])
}

/// What the deployment's digest covers of them (a change takes a new deployment to go live).
pub(super) fn described() -> Vec<serde_json::Value> {
    let mut parameters: Vec<_> = wanted_parameters().into_iter().collect();
    parameters.sort();
    KINDS.iter().map(|kind| json!([kind, parameters])).collect()
}

/// The API's gateway responses, read in one request for both kinds: type → response parameters. AWS
/// lists every type, set or default; moto lists only those put.
pub(super) async fn list(ctx: &Context<'_>, api_id: &str) -> Result<HashMap<String, HashMap<String, String>>> {
    if is_planned(api_id) {
        return Ok(HashMap::new());
    }
    let got = ctx
        .aws
        .apigateway()
        .get_gateway_responses()
        .rest_api_id(api_id)
        .limit(500)
        .send()
        .await
        .aws_context(|| format!("apigateway:GetGatewayResponses {api_id}"))?;
    Ok(got
        .items()
        .iter()
        .filter_map(|r| {
            Some((r.response_type()?.as_str().to_string(), r.response_parameters().cloned().unwrap_or_default()))
        })
        .collect())
}

pub(super) struct GatewayResponse<'a> {
    pub(super) ctx: &'a Context<'a>,
    pub(super) api_id: &'a str,
    pub(super) kind: &'static str,
    /// From [`list`], taken once for both kinds.
    pub(super) listed: Option<HashMap<String, String>>,
}

impl GatewayResponse<'_> {
    /// Puts the response whole, with `parameters` as its headers.
    async fn put(&self, parameters: HashMap<String, String>) -> Result<HashMap<String, String>> {
        let put = self
            .ctx
            .aws
            .apigateway()
            .put_gateway_response()
            .rest_api_id(self.api_id)
            .response_type(self.kind.into())
            .set_response_parameters(Some(parameters))
            .send()
            .await
            .aws_context(|| format!("apigateway:PutGatewayResponse {}", self.kind))?;
        Ok(put.response_parameters().cloned().unwrap_or_default())
    }
}

impl Resource for GatewayResponse<'_> {
    type Live = HashMap<String, String>;

    fn label(&self) -> String {
        format!("gateway response {}", self.kind)
    }

    fn under_planned(&self) -> bool {
        is_planned(self.api_id)
    }

    fn planned(&self) -> Option<Self::Live> {
        Some(HashMap::new())
    }

    async fn find(&self, _recorded: Option<&str>) -> Result<Option<Self::Live>> {
        Ok(self.listed.clone())
    }

    async fn create(&self) -> Result<Self::Live> {
        self.put(wanted_parameters()).await
    }

    fn id(&self, _live: &Self::Live) -> String {
        self.kind.to_string()
    }

    /// The CORS headers it carries, and those wanted.
    fn values(&self, live: &Self::Live, _field: &str) -> Option<(String, String)> {
        let wanted = wanted_parameters();
        let mut names: Vec<&String> = wanted.keys().filter(|h| live.get(*h) != wanted.get(*h)).collect();
        names.sort();
        let shown = |values: &Self::Live| crate::ensure::variables_shown(&names, |n| values.get(n).cloned());
        Some((shown(live), shown(&wanted)))
    }

    fn differences(&self, live: &Self::Live) -> Result<Vec<&'static str>> {
        let wanted = wanted_parameters();
        let carries = wanted.iter().all(|(header, value)| live.get(header) == Some(value));
        Ok(if carries { Vec::new() } else { vec!["cors_headers"] })
    }

    /// A put replaces the response whole, so headers a user added by hand are put back with it.
    async fn update(&self, live: Self::Live, _fields: &[&'static str]) -> Result<Self::Live> {
        let mut parameters = live;
        parameters.extend(wanted_parameters());
        self.put(parameters).await
    }
}
