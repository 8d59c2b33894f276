//! Methods: `AWS_PROXY` integrations to the functions, and the CORS preflight (MOCK) on every path.

use anyhow::{Context as _, Result};
use aws_sdk_apigateway::types::{Integration, IntegrationType, MethodResponse};
use std::collections::HashMap;

use crate::apigw::lambda_integration_uri;
use crate::aws::{absent_if, AwsContext};
use crate::ensure::{is_planned, Resource};
use crate::manual::{Route, CORS_ALLOW_HEADERS, INTEGRATION_TIMEOUT_MS};
use crate::step::Context;

/// Every route's methods, each an `AWS_PROXY` integration to its function, plus the route's preflight.
pub(super) fn wanted_methods<'a>(
    ctx: &'a Context<'a>,
    api_id: &'a str,
    routes: &'a [Route<'a>],
    resource_ids: &'a HashMap<String, String>,
    listed: &HashMap<(String, String), aws_sdk_apigateway::types::Method>,
    access: &Access,
    partition: &str,
) -> Result<Vec<Method<'a>>> {
    let existing = |path: &str, verb: &str| listed.get(&(path.to_string(), verb.to_string())).map(LiveMethod::of);
    let mut methods = Vec::new();
    for route in routes {
        let resource_id = &resource_ids[route.path];
        for (verb, kind) in route_methods(ctx, route, access, partition)? {
            let existing = existing(route.path, verb);
            let listed = Default::default();
            methods.push(Method { ctx, api_id, resource_id, path: route.path, verb, kind, existing, listed });
        }
    }
    Ok(methods)
}

/// One route's methods, by verb: an `AWS_PROXY` integration to its function for each of its verbs, and
/// its preflight. The one definition of a method, for the calls that put one and for the document that
/// puts many (`document.rs`).
pub(super) fn route_methods<'r>(
    ctx: &Context<'_>,
    route: &Route<'r>,
    access: &Access,
    partition: &str,
) -> Result<Vec<(&'r str, MethodKind)>> {
    let (target, _) = ctx.invoke_target(route.function)?;
    let uri = lambda_integration_uri(&ctx.settings.region, partition, &target);
    let mut methods: Vec<(&'r str, MethodKind)> = route
        .methods
        .iter()
        .map(|verb| (*verb, MethodKind::Proxy { uri: uri.clone(), auth: access.auth.clone() }))
        .collect();
    let allow_methods = route.methods.iter().copied().chain(["OPTIONS"]).collect::<Vec<_>>().join(",");
    methods.push(("OPTIONS", MethodKind::Cors { any_origin: access.any_origin, allow_methods }));
    Ok(methods)
}

/// Who may call the methods, and from which origins.
pub(super) struct Access {
    /// `cors_origins = ["*"]`.
    pub(super) any_origin: bool,
    pub(super) auth: MethodAuth,
}

/// Who may call a method: `[auth]`. CORS preflights are always open (browsers send no credentials).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct MethodAuth {
    pub(super) authorization_type: &'static str,
    pub(super) authorizer_id: Option<String>,
    pub(super) api_key_required: bool,
}

impl MethodAuth {
    pub(super) fn open() -> MethodAuth {
        MethodAuth { authorization_type: "NONE", authorizer_id: None, api_key_required: false }
    }
}

pub(super) enum MethodKind {
    /// `AWS_PROXY` to a Lambda function.
    Proxy { uri: String, auth: MethodAuth },
    /// The CORS preflight: MOCK integration answering 200 with the CORS headers. Unless any origin is
    /// allowed, the request's `Origin` is echoed when it is in the stage's list.
    Cors { any_origin: bool, allow_methods: String },
}

pub(super) struct Method<'a> {
    pub(super) ctx: &'a Context<'a>,
    pub(super) api_id: &'a str,
    pub(super) resource_id: &'a str,
    pub(super) path: &'a str,
    pub(super) verb: &'a str,
    pub(super) kind: MethodKind,
    /// From the listing taken at the start of the step; a later look (after a failed create or an
    /// update) asks for the method itself.
    pub(super) existing: Option<LiveMethod>,
    pub(super) listed: std::cell::Cell<bool>,
}

#[derive(Clone)]
pub(super) struct LiveMethod {
    pub(super) authorization: Option<String>,
    pub(super) authorizer_id: Option<String>,
    pub(super) api_key_required: bool,
    pub(super) integration: Option<Integration>,
    pub(super) responses: HashMap<String, MethodResponse>,
}

impl LiveMethod {
    fn of(m: &aws_sdk_apigateway::types::Method) -> LiveMethod {
        LiveMethod {
            authorization: m.authorization_type().map(str::to_string),
            authorizer_id: m.authorizer_id().map(str::to_string),
            api_key_required: m.api_key_required().unwrap_or(false),
            integration: m.method_integration().cloned(),
            responses: m.method_responses().cloned().unwrap_or_default(),
        }
    }
}

pub(super) const ORIGIN_HEADER: &str = "method.response.header.Access-Control-Allow-Origin";
pub(super) const HEADERS_HEADER: &str = "method.response.header.Access-Control-Allow-Headers";
pub(super) const METHODS_HEADER: &str = "method.response.header.Access-Control-Allow-Methods";
pub(super) const VARY_HEADER: &str = "method.response.header.Vary";

/// The preflight's answer to an origin not in the list: the stage's first origin, which the browser
/// then refuses to match (API Gateway can map a header from a stage variable, not from a test).
const LISTED_ORIGIN: &str = "stageVariables.corsOrigin";

/// The preflight's integration response template: echo the request's `Origin` when the stage's
/// `corsOrigins` (comma-separated, set by `07-stages`) lists it. Browsers send `Origin`, HTTP/2 clients
/// `origin`; the commas keep `https://a.com` from matching inside `https://a.com.evil.net`. Velocity 1.7
/// calls no method on a string literal, so the padded list is a variable first.
pub(super) const ECHO_ORIGIN_TEMPLATE: &str = r#"#set($origin = $input.params("Origin"))
#if("$!origin" == "")#set($origin = $input.params("origin"))#end
#set($allowed = ",$!stageVariables.corsOrigins,")
#if("$!origin" != "" && $allowed.contains(",$origin,"))
#set($context.responseOverride.header.Access-Control-Allow-Origin = $origin)
#end
"#;

impl Method<'_> {
    /// Integration response header values (static values are quoted).
    pub(super) fn cors_values(any_origin: bool, allow_methods: &str) -> HashMap<String, String> {
        let mut values = HashMap::from([
            (HEADERS_HEADER.to_string(), format!("'{CORS_ALLOW_HEADERS}'")),
            (METHODS_HEADER.to_string(), format!("'{allow_methods}'")),
        ]);
        if any_origin {
            values.insert(ORIGIN_HEADER.to_string(), "'*'".to_string());
        } else {
            values.insert(ORIGIN_HEADER.to_string(), LISTED_ORIGIN.to_string());
            // The answer depends on the Origin: caches must keep one per origin.
            values.insert(VARY_HEADER.to_string(), "'Origin'".to_string());
        }
        values
    }

    /// The integration response's body template: the echo, unless any origin is allowed.
    pub(super) fn cors_template(any_origin: bool) -> Option<&'static str> {
        (!any_origin).then_some(ECHO_ORIGIN_TEMPLATE)
    }

    pub(super) fn cors_declared() -> HashMap<String, bool> {
        [ORIGIN_HEADER, HEADERS_HEADER, METHODS_HEADER, VARY_HEADER]
            .into_iter()
            .map(|h| (h.to_string(), false))
            .collect()
    }

    fn integration_matches(&self, integration: Option<&Integration>) -> bool {
        let Some(i) = integration else { return false };
        match &self.kind {
            MethodKind::Proxy { uri, .. } => {
                i.r#type() == Some(&IntegrationType::AwsProxy)
                    && i.http_method() == Some("POST")
                    && i.uri() == Some(uri.as_str())
                    && i.timeout_in_millis() == INTEGRATION_TIMEOUT_MS
            }
            MethodKind::Cors { .. } => i.r#type() == Some(&IntegrationType::Mock),
        }
    }

    /// The method put again whole, with its new authorization: DeleteMethod, PutMethod, its integration
    /// and responses. UpdateMethod would patch it in place, but the emulator the tests run on has none; the
    /// stage serves its last deployment meanwhile, so callers see the change only with the next one. A
    /// kill in between leaves the method missing, which the next run puts back.
    async fn put_again(&self) -> Result<LiveMethod> {
        let deleted = self
            .ctx
            .aws
            .apigateway()
            .delete_method()
            .rest_api_id(self.api_id)
            .resource_id(self.resource_id)
            .http_method(self.verb)
            .send()
            .await;
        absent_if(deleted, |e| e.is_not_found_exception())
            .aws_context(|| format!("apigateway:DeleteMethod {}", self.label_detail()))?;
        self.create().await?;
        self.put_integration().await?;
        if let MethodKind::Cors { any_origin, allow_methods } = &self.kind {
            self.put_method_response(false).await?;
            self.put_integration_response(*any_origin, allow_methods).await?;
        }
        self.find(None).await?.context("the method vanished while it was being put again")
    }

    /// The preflight's is open whatever `[auth]` says.
    fn auth(&self) -> MethodAuth {
        match &self.kind {
            MethodKind::Proxy { auth, .. } => auth.clone(),
            MethodKind::Cors { .. } => MethodAuth::open(),
        }
    }

    fn label_detail(&self) -> String {
        format!("{} {}", self.verb, self.path)
    }

    async fn put_integration(&self) -> Result<()> {
        let request = self
            .ctx
            .aws
            .apigateway()
            .put_integration()
            .rest_api_id(self.api_id)
            .resource_id(self.resource_id)
            .http_method(self.verb);
        let request = match &self.kind {
            MethodKind::Proxy { uri, .. } => request
                .r#type(IntegrationType::AwsProxy)
                .integration_http_method("POST")
                .uri(uri)
                .timeout_in_millis(INTEGRATION_TIMEOUT_MS),
            MethodKind::Cors { .. } => {
                request.r#type(IntegrationType::Mock).request_templates("application/json", r#"{"statusCode": 200}"#)
            }
        };
        request.send().await.aws_context(|| format!("apigateway:PutIntegration {}", self.label_detail()))?;
        Ok(())
    }

    async fn put_method_response(&self, exists: bool) -> Result<()> {
        let client = self.ctx.aws.apigateway();
        if exists {
            // A method response cannot be put over an existing one.
            client
                .delete_method_response()
                .rest_api_id(self.api_id)
                .resource_id(self.resource_id)
                .http_method(self.verb)
                .status_code("200")
                .send()
                .await
                .aws_context(|| format!("apigateway:DeleteMethodResponse {}", self.label_detail()))?;
        }
        client
            .put_method_response()
            .rest_api_id(self.api_id)
            .resource_id(self.resource_id)
            .http_method(self.verb)
            .status_code("200")
            .set_response_parameters(Some(Self::cors_declared()))
            .response_models("application/json", "Empty")
            .send()
            .await
            .aws_context(|| format!("apigateway:PutMethodResponse {}", self.label_detail()))?;
        Ok(())
    }

    async fn put_integration_response(&self, any_origin: bool, allow_methods: &str) -> Result<()> {
        let templates =
            Self::cors_template(any_origin).map(|t| HashMap::from([("application/json".to_string(), t.to_string())]));
        self.ctx
            .aws
            .apigateway()
            .put_integration_response()
            .rest_api_id(self.api_id)
            .resource_id(self.resource_id)
            .http_method(self.verb)
            .status_code("200")
            .set_response_parameters(Some(Self::cors_values(any_origin, allow_methods)))
            // Never an empty template: moto stores one as null, which then breaks the SDK's parsing of
            // every GetResources/GetMethod of the API.
            .set_response_templates(templates)
            .send()
            .await
            .aws_context(|| format!("apigateway:PutIntegrationResponse {}", self.label_detail()))?;
        Ok(())
    }
}

impl Resource for Method<'_> {
    type Live = LiveMethod;

    fn under_planned(&self) -> bool {
        is_planned(self.api_id) || is_planned(self.resource_id)
    }

    fn planned(&self) -> Option<LiveMethod> {
        Some(LiveMethod {
            authorization: None,
            authorizer_id: None,
            api_key_required: false,
            integration: None,
            responses: HashMap::new(),
        })
    }

    fn label(&self) -> String {
        format!("method {}", self.label_detail())
    }

    async fn find(&self, _recorded: Option<&str>) -> Result<Option<LiveMethod>> {
        if !self.listed.replace(true) {
            return Ok(self.existing.clone());
        }
        let got = self
            .ctx
            .aws
            .apigateway()
            .get_method()
            .rest_api_id(self.api_id)
            .resource_id(self.resource_id)
            .http_method(self.verb)
            .send()
            .await;
        let got = absent_if(got, |e| e.is_not_found_exception())
            .aws_context(|| format!("apigateway:GetMethod {}", self.label_detail()))?;
        Ok(got.map(|m| LiveMethod {
            authorization: m.authorization_type().map(str::to_string),
            authorizer_id: m.authorizer_id().map(str::to_string),
            api_key_required: m.api_key_required().unwrap_or(false),
            integration: m.method_integration().cloned(),
            responses: m.method_responses().cloned().unwrap_or_default(),
        }))
    }

    async fn create(&self) -> Result<LiveMethod> {
        let auth = self.auth();
        let put = self
            .ctx
            .aws
            .apigateway()
            .put_method()
            .rest_api_id(self.api_id)
            .resource_id(self.resource_id)
            .http_method(self.verb)
            .authorization_type(auth.authorization_type)
            .set_authorizer_id(auth.authorizer_id.clone())
            .api_key_required(auth.api_key_required)
            .send()
            .await
            .aws_context(|| format!("apigateway:PutMethod {}", self.label_detail()))?;
        Ok(LiveMethod {
            authorization: put.authorization_type().map(str::to_string),
            authorizer_id: put.authorizer_id().map(str::to_string),
            api_key_required: put.api_key_required().unwrap_or(false),
            integration: None,
            responses: HashMap::new(),
        })
    }

    fn id(&self, _live: &LiveMethod) -> String {
        self.label_detail()
    }

    /// Authorization as `TYPE[, authorizer ID][, API key]`; the integration as `TYPE URI (timeout)`.
    fn values(&self, live: &LiveMethod, field: &str) -> Option<(String, String)> {
        let auth_shown = |kind: &str, authorizer: Option<&str>, key: bool| {
            let mut parts = vec![kind.to_string()];
            parts.extend(authorizer.map(|id| format!("authorizer {id}")));
            if key {
                parts.push("API key".to_string());
            }
            parts.join(", ")
        };
        let integration_shown = |i: &Integration| {
            let kind = i.r#type().map_or("none", |t| t.as_str());
            format!("{kind} {} ({} ms)", i.uri().unwrap_or_default(), i.timeout_in_millis())
        };
        match (field, &self.kind) {
            ("authorization", _) => {
                let auth = self.auth();
                let now = live.authorization.as_deref().unwrap_or("none");
                Some((
                    auth_shown(now, live.authorizer_id.as_deref(), live.api_key_required),
                    auth_shown(auth.authorization_type, auth.authorizer_id.as_deref(), auth.api_key_required),
                ))
            }
            ("integration", MethodKind::Proxy { uri, .. }) => Some((
                live.integration.as_ref().map_or_else(|| "none".to_string(), integration_shown),
                format!("AWS_PROXY {uri} ({INTEGRATION_TIMEOUT_MS} ms)"),
            )),
            _ => None,
        }
    }

    fn differences(&self, live: &LiveMethod) -> Result<Vec<&'static str>> {
        let mut fields = Vec::new();
        let auth = self.auth();
        let authorizer_matches = auth.authorizer_id.is_none() || live.authorizer_id == auth.authorizer_id;
        if live.authorization.as_deref() != Some(auth.authorization_type)
            || !authorizer_matches
            || live.api_key_required != auth.api_key_required
        {
            fields.push("authorization");
        }
        if !self.integration_matches(live.integration.as_ref()) {
            fields.push("integration");
        }
        if let MethodKind::Cors { any_origin, allow_methods } = &self.kind {
            let declared = live.responses.get("200").and_then(|r| r.response_parameters());
            if declared != Some(&Self::cors_declared()) {
                fields.push("method_response");
            }
            let answer = live.integration.as_ref().and_then(|i| i.integration_responses()).and_then(|r| r.get("200"));
            let answered = answer.and_then(|r| r.response_parameters());
            let template = answer.and_then(|r| r.response_templates()).and_then(|t| t.get("application/json"));
            let template = template.map(String::as_str).filter(|t| !t.is_empty());
            if answered != Some(&Self::cors_values(*any_origin, allow_methods))
                || template != Self::cors_template(*any_origin)
            {
                fields.push("integration_response");
            }
        }
        Ok(fields)
    }

    async fn update(&self, live: LiveMethod, fields: &[&'static str]) -> Result<LiveMethod> {
        if fields.contains(&"authorization") {
            return self.put_again().await;
        }
        if fields.contains(&"integration") {
            self.put_integration().await?;
        }
        if let MethodKind::Cors { any_origin, allow_methods } = &self.kind {
            if fields.contains(&"method_response") {
                self.put_method_response(live.responses.contains_key("200")).await?;
            }
            // A replaced integration loses its responses, so they are put again with it.
            if fields.contains(&"integration_response") || fields.contains(&"integration") {
                self.put_integration_response(*any_origin, allow_methods).await?;
            }
        }
        // What is live now is what the step wants; read it back only if a caller ever needs more.
        self.find(None).await?.context("the method vanished while it was being updated")
    }
}
