//! The local REST API on `http://127.0.0.1:PORT/STAGE/…`: routes as API Gateway matches them, CORS
//! preflights from the stage's origins, `[auth]` enforced, and the frontend's `dist/` on `/` with a
//! `config.js` that points at the local APIs.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use base64::Engine as _;
use deployer_steps::settings::AuthKind;
use hyper::body::Incoming;
use hyper::{Method, Request, Response};
use serde_json::Value;

use crate::answer::{self, Answer};
use crate::backend::RestRoute;
use crate::events::{self, At, HttpRequest};
use crate::http::{self, Body};
use crate::invoke::{Functions, Invoked};
use crate::report::Reporter;

pub struct RestApi {
    pub api: events::Api,
    pub routes: Vec<RestRoute>,
    pub functions: Functions,
    pub reporter: Arc<Reporter>,
    pub auth: AuthKind,
    /// The key `[auth] api_key` requires, shown at start.
    pub api_key: Option<String>,
    pub cors_origins: Vec<String>,
    pub cors_allow_headers: String,
    /// The frontend's built site, served on `/`.
    pub site: PathBuf,
    /// `config.js` as 05-frontend writes it, with the local URLs.
    pub config_js: String,
}

impl RestApi {
    pub async fn handle(self: Arc<Self>, request: Request<Incoming>, peer: SocketAddr) -> Response<Body> {
        let started = Instant::now();
        let method = request.method().to_string();
        let full_path = request.uri().path().to_string();
        let answer = self.answer(request, peer).await;
        self.reporter.request(&method, &full_path, answer.status, started.elapsed().as_secs_f64() * 1000.0);
        http::respond(answer)
    }

    async fn answer(&self, request: Request<Incoming>, peer: SocketAddr) -> Answer {
        let path = request.uri().path().to_string();
        let stage_prefix = format!("/{}", self.api.stage);
        let Some(api_path) = path.strip_prefix(&stage_prefix).filter(|rest| rest.is_empty() || rest.starts_with('/'))
        else {
            return self.site_file(&path);
        };
        let api_path = if api_path.is_empty() { "/".to_string() } else { api_path.to_string() };
        let headers = http::headers_of(&request);
        let origin = headers.iter().find(|(n, _)| n == "origin").map(|(_, v)| v.clone());
        let mut answer = self.api_answer(request, peer, &api_path, headers).await;
        if answer.status >= 400
            && !answer.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("access-control-allow-origin"))
        {
            // 03-api-gateway gives API Gateway's own 4xx and 5xx answers the CORS headers too.
            answer.headers.extend(self.allow_origin(origin.as_deref()));
        }
        answer
    }

    async fn api_answer(
        &self,
        request: Request<Incoming>,
        peer: SocketAddr,
        api_path: &str,
        headers: Vec<(String, String)>,
    ) -> Answer {
        let Some(matched) = crate::routes::match_path(&self.routes, api_path) else {
            return Answer::missing_authentication_token();
        };
        let method = request.method().clone();
        if method == Method::OPTIONS {
            let origin = headers.iter().find(|(n, _)| n == "origin").map(|(_, v)| v.as_str());
            return self.preflight(&matched.route.methods, origin);
        }
        if !matched.route.methods.iter().any(|m| m.eq_ignore_ascii_case(method.as_str())) {
            return Answer::missing_authentication_token();
        }
        let header = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
        let mut claims = None;
        match self.auth {
            AuthKind::None => {}
            AuthKind::ApiKey if header("x-api-key") == self.api_key => {}
            AuthKind::ApiKey => return Answer::forbidden(),
            AuthKind::Cognito => match header("authorization").as_deref().and_then(token_claims) {
                Some(found) => claims = Some(found),
                None => return Answer::gateway_error(401, "Unauthorized", "UnauthorizedException"),
            },
        }
        let request = HttpRequest {
            method: method.to_string(),
            path: api_path.to_string(),
            query: request.uri().query().map(String::from),
            headers,
            body: http::read_body(request.into_body()).await,
            source_ip: peer.ip().to_string(),
        };
        let request_id = uuid::Uuid::new_v4().to_string();
        let mut event = events::rest_event(&self.api, &request, &matched, At(SystemTime::now()), &request_id);
        if let Some(claims) = claims {
            event["requestContext"]["authorizer"] = serde_json::json!({ "claims": claims });
        }
        let function = &matched.route.function;
        match self.functions.invoke(function, event.to_string().into_bytes(), &self.reporter).await {
            Invoked::Result(result) => answer::from_result(&result).unwrap_or_else(|malformed| {
                self.reporter.note("error", &format!("{function} gave a malformed proxy result ({malformed}): 502"));
                Answer::internal_server_error()
            }),
            Invoked::Failed(answer) => answer,
        }
    }

    /// The OPTIONS answer 03-api-gateway's mock integration gives: the origin echoed when the stage lists it.
    fn preflight(&self, methods: &[String], origin: Option<&str>) -> Answer {
        let mut allowed: Vec<String> = methods.to_vec();
        allowed.push("OPTIONS".to_string());
        let mut headers = vec![
            ("Access-Control-Allow-Headers".to_string(), self.cors_allow_headers.clone()),
            ("Access-Control-Allow-Methods".to_string(), allowed.join(",")),
        ];
        headers.extend(self.allow_origin(origin));
        Answer { status: 200, headers, body: Vec::new() }
    }

    fn allow_origin(&self, origin: Option<&str>) -> Vec<(String, String)> {
        if self.cors_origins.iter().any(|o| o == "*") {
            return vec![("Access-Control-Allow-Origin".to_string(), "*".to_string())];
        }
        let listed = origin.filter(|o| self.cors_origins.iter().any(|allowed| allowed == o));
        let value = listed.map(str::to_string).or_else(|| self.cors_origins.first().cloned()).unwrap_or_default();
        vec![("Access-Control-Allow-Origin".to_string(), value), ("Vary".to_string(), "Origin".to_string())]
    }

    /// A file of the built site; `config.js` generated; an unknown path gets `index.html` (single-page
    /// apps), as the deployed distribution answers.
    fn site_file(&self, path: &str) -> Answer {
        if path == "/config.js" {
            return file_answer("config.js", self.config_js.clone().into_bytes());
        }
        let relative = path.trim_start_matches('/');
        let relative = if relative.is_empty() || relative.ends_with('/') {
            format!("{relative}index.html")
        } else {
            relative.to_string()
        };
        if relative.split('/').any(|part| part == "..") {
            return Answer::gateway_error(403, "Forbidden", "AccessDenied");
        }
        let candidate = self.site.join(&relative);
        match std::fs::read(&candidate).or_else(|_| std::fs::read(self.site.join("index.html"))) {
            Ok(bytes) if candidate.is_file() => file_answer(&relative, bytes),
            Ok(bytes) => file_answer("index.html", bytes),
            Err(_) => Answer::gateway_error(
                404,
                &format!(
                    "no {} in {}: build the frontend (its dist/), or give --frontend",
                    relative,
                    self.site.display()
                ),
                "NotFound",
            ),
        }
    }
}

fn file_answer(name: &str, bytes: Vec<u8>) -> Answer {
    let kind = mime_guess::from_path(name).first_or_octet_stream().to_string();
    Answer {
        status: 200,
        headers: vec![("Content-Type".into(), kind), ("Cache-Control".into(), "no-cache".into())],
        body: bytes,
    }
}

/// The claims of a JWT (`Bearer` optional), read from its payload without checking its signature:
/// `deployer dev` says so at start.
fn token_claims(authorization: &str) -> Option<Value> {
    let token = authorization.strip_prefix("Bearer ").unwrap_or(authorization);
    let payload = token.split('.').nth(1)?;
    let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice::<Value>(&decoded).ok().filter(Value::is_object)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tokens_claims_come_from_its_payload() {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"sub":"u-1","email":"a@b.c"}"#);
        let claims = token_claims(&format!("Bearer h.{payload}.sig")).unwrap();
        assert_eq!(claims["sub"], "u-1");
        assert!(token_claims("Bearer not-a-jwt").is_none());
        assert!(token_claims("a.bm90IGpzb24.c").is_none(), "a payload that is not JSON");
    }
}
