//! The events API Gateway hands Lambda: a REST API's proxy event (payload 1.0) and a WebSocket API's
//! `CONNECT`, `MESSAGE` and `DISCONNECT` events, with the keys AWS sends (`dev/fixtures/aws-events`).

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde_json::{json, Map, Value};

use crate::routes::Matched;

/// The API as its events name it: its ID, stage, host and the stage's variables.
#[derive(Debug, Clone)]
pub struct Api {
    pub id: String,
    pub stage: String,
    /// `127.0.0.1:PORT`: what `https://{domainName}/{stage}` reaches, as on AWS.
    pub domain_name: String,
    pub stage_variables: BTreeMap<String, String>,
}

/// What the REST event is built from: an HTTP request as it arrived.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    pub method: String,
    /// The path after `/STAGE` (`/conversations/1`).
    pub path: String,
    pub query: Option<String>,
    /// In arrival order; a repeated header appears once per value.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub source_ip: String,
}

/// One moment, as API Gateway writes it twice: `06/Dec/2026:16:30:00 +0000` and epoch milliseconds.
#[derive(Debug, Clone, Copy)]
pub struct At(pub SystemTime);

impl At {
    pub fn epoch_ms(self) -> u64 {
        self.0.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or_default()
    }

    pub fn request_time(self) -> String {
        const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
        let seconds = self.epoch_ms() / 1000;
        let (year, month, day) = civil_from_days((seconds / 86_400) as i64);
        let (h, m, s) = (seconds % 86_400 / 3600, seconds % 3600 / 60, seconds % 60);
        format!("{day:02}/{}/{year}:{h:02}:{m:02}:{s:02} +0000", MONTHS[month as usize - 1])
    }
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 → (year, month 1-12, day 1-31).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// `headers` (the last value of each name, as API Gateway keeps) and `multiValueHeaders`.
fn header_maps(headers: &[(String, String)]) -> (Value, Value) {
    let mut single = Map::new();
    let mut multi: Map<String, Value> = Map::new();
    for (name, value) in headers {
        single.insert(name.clone(), json!(value));
        match multi.get_mut(name).and_then(Value::as_array_mut) {
            Some(values) => values.push(json!(value)),
            None => {
                multi.insert(name.clone(), json!([value]));
            }
        }
    }
    (Value::Object(single), Value::Object(multi))
}

/// `queryStringParameters` and its multi-value form; both `null` without a query, as on AWS.
fn query_maps(query: Option<&str>) -> (Value, Value) {
    let pairs: Vec<(String, String)> = query
        .map(|q| {
            q.split('&')
                .filter(|p| !p.is_empty())
                .map(|pair| {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    (decode_query(k), decode_query(v))
                })
                .collect()
        })
        .unwrap_or_default();
    if pairs.is_empty() {
        return (Value::Null, Value::Null);
    }
    header_maps(&pairs)
}

fn decode_query(part: &str) -> String {
    percent_encoding::percent_decode_str(&part.replace('+', " ")).decode_utf8_lossy().into_owned()
}

fn map_or_null(map: &BTreeMap<String, String>) -> Value {
    if map.is_empty() {
        Value::Null
    } else {
        json!(map)
    }
}

/// The body as API Gateway passes it: text as is, anything not UTF-8 in base64 (`isBase64Encoded`).
fn body(bytes: &[u8]) -> (Value, bool) {
    match std::str::from_utf8(bytes) {
        _ if bytes.is_empty() => (Value::Null, false),
        Ok(text) => (json!(text), false),
        Err(_) => (json!(base64::engine::general_purpose::STANDARD.encode(bytes)), true),
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().rev().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// A REST API's Lambda proxy event for `request`, which took route `matched`.
pub fn rest_event(api: &Api, request: &HttpRequest, matched: &Matched<'_>, at: At, request_id: &str) -> Value {
    let (headers, multi_headers) = header_maps(&request.headers);
    let (query, multi_query) = query_maps(request.query.as_deref());
    let (body, is_base64) = body(&request.body);
    let resource = &matched.route.path;
    json!({
        "resource": resource,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": map_or_null(&matched.parameters),
        "stageVariables": map_or_null(&api.stage_variables),
        "requestContext": {
            "accountId": LOCAL_ACCOUNT,
            "resourceId": resource_id(resource),
            "stage": api.stage,
            "domainName": api.domain_name,
            "domainPrefix": api.domain_name.split(['.', ':']).next().unwrap_or_default(),
            "extendedRequestId": request_id,
            "requestId": request_id,
            "protocol": "HTTP/1.1",
            "identity": identity(&request.source_ip, header(&request.headers, "user-agent"), header(&request.headers, "x-api-key")),
            "resourcePath": resource,
            "path": format!("/{}{}", api.stage, request.path),
            "httpMethod": request.method,
            "requestTime": at.request_time(),
            "requestTimeEpoch": at.epoch_ms(),
            "apiId": api.id,
            "authorizer": Value::Null,
        },
        "body": body,
        "isBase64Encoded": is_base64,
    })
}

/// The account the local APIs claim (moto's, so ARNs look alike across the local services).
pub const LOCAL_ACCOUNT: &str = "123456789012";

/// A stable short ID per route template, as API Gateway gives each resource one.
fn resource_id(template: &str) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(template.as_bytes());
    digest.iter().take(3).map(|b| format!("{b:02x}")).collect()
}

/// `requestContext.identity`: the caller's address and agent; the IAM and Cognito fields are `null`
/// for a caller that is neither, as on AWS.
fn identity(source_ip: &str, user_agent: Option<&str>, api_key: Option<&str>) -> Value {
    json!({
        "cognitoIdentityPoolId": null,
        "accountId": null,
        "cognitoIdentityId": null,
        "caller": null,
        "apiKey": api_key,
        "apiKeyId": api_key.map(|_| "local-key"),
        "accessKey": null,
        "sourceIp": source_ip,
        "cognitoAuthenticationType": null,
        "cognitoAuthenticationProvider": null,
        "userArn": null,
        "userAgent": user_agent,
        "user": null,
    })
}

/// One WebSocket connection as its events name it.
#[derive(Debug, Clone)]
pub struct Connection {
    pub id: String,
    pub connected_at: At,
    pub source_ip: String,
    pub user_agent: Option<String>,
}

/// What happened on a connection.
pub enum WebSocketEvent<'a> {
    Connect { headers: &'a [(String, String)], query: Option<&'a str> },
    Message { route_key: &'a str, body: &'a [u8], message_id: &'a str },
    Disconnect { status_code: u16, reason: &'a str },
}

/// A WebSocket API's event for `connection`.
pub fn websocket_event(
    api: &Api,
    connection: &Connection,
    event: WebSocketEvent<'_>,
    at: At,
    request_id: &str,
) -> Value {
    let (route_key, event_type) = match &event {
        WebSocketEvent::Connect { .. } => ("$connect", "CONNECT"),
        WebSocketEvent::Message { route_key, .. } => (*route_key, "MESSAGE"),
        WebSocketEvent::Disconnect { .. } => ("$disconnect", "DISCONNECT"),
    };
    let mut context = json!({
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": request_id,
        "requestTime": at.request_time(),
        "messageDirection": "IN",
        "stage": api.stage,
        "connectedAt": connection.connected_at.epoch_ms(),
        "requestTimeEpoch": at.epoch_ms(),
        "identity": { "userAgent": connection.user_agent, "sourceIp": connection.source_ip },
        "requestId": request_id,
        "domainName": api.domain_name,
        "connectionId": connection.id,
        "apiId": api.id,
    });
    let mut out = json!({ "requestContext": {}, "isBase64Encoded": false });
    match event {
        WebSocketEvent::Connect { headers, query } => {
            let (single, multi) = header_maps(headers);
            out["headers"] = single;
            out["multiValueHeaders"] = multi;
            let (query, multi_query) = query_maps(query);
            if !query.is_null() {
                out["queryStringParameters"] = query;
                out["multiValueQueryStringParameters"] = multi_query;
            }
        }
        WebSocketEvent::Message { body: bytes, message_id, .. } => {
            context["messageId"] = json!(message_id);
            let (text, is_base64) = body(bytes);
            out["body"] = text;
            out["isBase64Encoded"] = json!(is_base64);
        }
        WebSocketEvent::Disconnect { status_code, reason } => {
            let host = vec![("Host".to_string(), api.domain_name.clone())];
            let (single, multi) = header_maps(&host);
            out["headers"] = single;
            out["multiValueHeaders"] = multi;
            context["disconnectStatusCode"] = json!(status_code);
            context["disconnectReason"] = json!(reason);
        }
    }
    out["requestContext"] = context;
    out
}

/// The route key of a message: the value of the selection expression's field (`$request.body.action`)
/// when a route has that key, else `$default`.
pub fn route_key<'a>(selection: &str, body: &[u8], keys: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let field = selection.strip_prefix("$request.body.")?;
    let parsed: Value = serde_json::from_slice(body).ok()?;
    let value = field.split('.').try_fold(&parsed, |v, part| v.get(part))?.as_str()?;
    keys.into_iter().find(|key| *key == value && !key.starts_with('$'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::RestRoute;
    use std::time::Duration;

    fn sample(name: &str) -> Value {
        let path = format!("{}/fixtures/aws-events/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    }

    /// Keys whose values are the request's own maps: their keys are compared by presence, not content.
    const OPEN_MAPS: &[&str] = &[
        "headers",
        "multiValueHeaders",
        "queryStringParameters",
        "multiValueQueryStringParameters",
        "pathParameters",
        "stageVariables",
        "authorizer",
    ];

    /// Every key of `aws` at every depth, missing from `ours` (open maps: only the map itself).
    fn missing_keys(aws: &Value, ours: &Value, at: &str, missing: &mut Vec<String>) {
        let Some(aws) = aws.as_object() else { return };
        for (key, value) in aws {
            let path = format!("{at}.{key}");
            match ours.get(key) {
                None => missing.push(path),
                Some(_) if OPEN_MAPS.contains(&key.as_str()) => {}
                Some(mine) => missing_keys(value, mine, &path, missing),
            }
        }
    }

    fn api() -> Api {
        let variables = BTreeMap::from([("environment".to_string(), "development".to_string())]);
        Api {
            id: "local".into(),
            stage: "dev".into(),
            domain_name: "127.0.0.1:3001".into(),
            stage_variables: variables,
        }
    }

    fn at() -> At {
        At(UNIX_EPOCH + Duration::from_millis(1_589_522_469_693))
    }

    fn request(query: Option<&str>, body: &[u8]) -> HttpRequest {
        HttpRequest {
            method: "POST".into(),
            path: "/conversations/c 1".into(),
            query: query.map(String::from),
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("X-Tag".into(), "a".into()),
                ("X-Tag".into(), "b".into()),
            ],
            body: body.to_vec(),
            source_ip: "127.0.0.1".into(),
        }
    }

    #[test]
    fn the_rest_event_has_every_key_of_aws_sample_with_the_requests_values() {
        let route =
            RestRoute { path: "/conversations/{id}".into(), methods: vec!["POST".into()], function: "f".into() };
        let matched = Matched { route: &route, parameters: BTreeMap::from([("id".to_string(), "c 1".to_string())]) };
        let event = rest_event(&api(), &request(Some("a=1&a=2&q=x+y%21"), b"{\"t\":1}"), &matched, at(), "r-1");
        let mut missing = Vec::new();
        missing_keys(&sample("rest-proxy.json"), &event, "", &mut missing);
        assert_eq!(missing, Vec::<String>::new(), "keys AWS sends that the local event lacks");
        assert_eq!(event["resource"], "/conversations/{id}");
        assert_eq!(event["path"], "/conversations/c 1");
        assert_eq!(event["requestContext"]["path"], "/dev/conversations/c 1");
        assert_eq!(event["pathParameters"], json!({"id": "c 1"}));
        assert_eq!(event["queryStringParameters"], json!({"a": "2", "q": "x y!"}));
        assert_eq!(event["multiValueQueryStringParameters"], json!({"a": ["1", "2"], "q": ["x y!"]}));
        assert_eq!(event["headers"]["X-Tag"], "b");
        assert_eq!(event["multiValueHeaders"]["X-Tag"], json!(["a", "b"]));
        assert_eq!(event["requestContext"]["requestTime"], "15/May/2020:06:01:09 +0000", "as in AWS's sample");
        assert_eq!(event["requestContext"]["requestTimeEpoch"], 1_589_522_469_693u64);
        assert_eq!(event["stageVariables"]["environment"], "development");
        assert_eq!((event["body"].clone(), event["isBase64Encoded"].clone()), (json!("{\"t\":1}"), json!(false)));
    }

    #[test]
    fn a_request_without_query_or_body_gives_nulls_and_a_binary_body_goes_in_base64() {
        let route = RestRoute { path: "/usage".into(), methods: vec!["GET".into()], function: "f".into() };
        let matched = Matched { route: &route, parameters: BTreeMap::new() };
        let plain = rest_event(&api(), &request(None, b""), &matched, at(), "r");
        for key in ["queryStringParameters", "multiValueQueryStringParameters", "pathParameters", "body"] {
            assert_eq!(plain[key], Value::Null, "{key}");
        }
        let binary = rest_event(&api(), &request(None, &[0xff, 0x00, 0x10]), &matched, at(), "r");
        assert_eq!((binary["body"].clone(), binary["isBase64Encoded"].clone()), (json!("/wAQ"), json!(true)));
    }

    fn connection() -> Connection {
        Connection { id: "c-1".into(), connected_at: at(), source_ip: "127.0.0.1".into(), user_agent: Some("t".into()) }
    }

    #[test]
    fn websocket_events_have_every_key_of_aws_samples() {
        let message =
            WebSocketEvent::Message { route_key: "$default", body: b"{\"action\":\"ping\"}", message_id: "m-1" };
        let event = websocket_event(&api(), &connection(), message, at(), "r-2");
        let mut missing = Vec::new();
        missing_keys(&sample("websocket-message.json"), &event, "", &mut missing);
        let disconnect = WebSocketEvent::Disconnect { status_code: 1001, reason: "" };
        let gone = websocket_event(&api(), &connection(), disconnect, at(), "r-3");
        missing_keys(&sample("websocket-disconnect.json"), &gone, "", &mut missing);
        // $connect: the DISCONNECT sample's keys but its two disconnect fields (fixtures' README).
        let mut connect_sample = sample("websocket-disconnect.json");
        let context = connect_sample["requestContext"].as_object_mut().unwrap();
        context.remove("disconnectStatusCode");
        context.remove("disconnectReason");
        let headers = [("Sec-WebSocket-Key".to_string(), "k".to_string())];
        let connect = WebSocketEvent::Connect { headers: &headers, query: Some("token=abc") };
        let opened = websocket_event(&api(), &connection(), connect, at(), "r-4");
        missing_keys(&connect_sample, &opened, "", &mut missing);
        assert_eq!(missing, Vec::<String>::new(), "keys AWS sends that the local events lack");

        assert_eq!(event["requestContext"]["eventType"], "MESSAGE");
        assert_eq!(event["requestContext"]["messageId"], "m-1");
        assert_eq!(event["body"], "{\"action\":\"ping\"}");
        assert_eq!(opened["requestContext"]["routeKey"], "$connect");
        assert_eq!(opened["queryStringParameters"], json!({"token": "abc"}));
        assert_eq!(opened["requestContext"].get("messageId"), None, "a connect has no message");
        assert_eq!(gone["requestContext"]["disconnectStatusCode"], 1001);
        assert_eq!(gone["requestContext"]["domainName"], "127.0.0.1:3001");
    }

    #[test]
    fn a_message_takes_the_route_its_action_names_else_default() {
        let keys = ["$connect", "$disconnect", "$default", "chat", "typing"];
        let cases: &[(&[u8], Option<&str>)] = &[
            (b"{\"action\":\"chat\"}", Some("chat")),
            (b"{\"action\":\"ping\"}", None),
            (b"{\"action\":\"$connect\"}", None),
            (b"not json", None),
            (b"{\"action\":3}", None),
        ];
        for (body, expected) in cases {
            assert_eq!(route_key("$request.body.action", body, keys), *expected, "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn request_times_are_api_gateways_format() {
        assert_eq!(At(UNIX_EPOCH).request_time(), "01/Jan/1970:00:00:00 +0000");
        assert_eq!(At(UNIX_EPOCH + Duration::from_secs(1_705_751_700)).request_time(), "20/Jan/2024:11:55:00 +0000");
        assert_eq!(At(UNIX_EPOCH + Duration::from_secs(951_782_400)).request_time(), "29/Feb/2000:00:00:00 +0000");
    }
}
