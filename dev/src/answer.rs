//! A handler's result as API Gateway turns it into an HTTP answer (REST proxy, payload 1.0), and the
//! answers API Gateway gives of its own: 403 for an unknown route, 502 for a malformed result or a failed
//! function, 504 past the integration's 29 s.

use base64::Engine as _;
use serde_json::Value;

/// An HTTP answer, before the server writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// In order; a name may repeat (multiValueHeaders).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    /// API Gateway's own JSON error: `{"message": "..."}`, with its error type header.
    pub fn gateway_error(status: u16, message: &str, error_type: &str) -> Answer {
        Answer {
            status,
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("x-amzn-ErrorType".into(), error_type.into()),
            ],
            body: serde_json::json!({ "message": message }).to_string().into_bytes(),
        }
    }

    pub fn missing_authentication_token() -> Answer {
        Answer::gateway_error(403, "Missing Authentication Token", "MissingAuthenticationTokenException")
    }

    pub fn forbidden() -> Answer {
        Answer::gateway_error(403, "Forbidden", "ForbiddenException")
    }

    pub fn internal_server_error() -> Answer {
        Answer::gateway_error(502, "Internal server error", "InternalServerErrorException")
    }

    pub fn timed_out() -> Answer {
        Answer::gateway_error(504, "Endpoint request timed out", "IntegrationTimeout")
    }
}

/// The answer for a function's result, or why API Gateway would call it malformed (then a 502).
pub fn from_result(result: &[u8]) -> Result<Answer, String> {
    let value: Value = serde_json::from_slice(result).map_err(|e| format!("the result is not JSON ({e})"))?;
    let object = value.as_object().ok_or("the result is not a JSON object")?;
    if let Some(key) = object
        .keys()
        .find(|k| !matches!(k.as_str(), "statusCode" | "headers" | "multiValueHeaders" | "body" | "isBase64Encoded"))
    {
        return Err(format!(
            "the result has key {key:?}: a proxy result has only statusCode, headers, multiValueHeaders, body and isBase64Encoded"
        ));
    }
    let status = match object.get("statusCode") {
        None | Some(Value::Null) => 200,
        Some(code) => code
            .as_u64()
            .or_else(|| code.as_str().and_then(|s| s.parse().ok()))
            .filter(|c| (100..=599).contains(c))
            .ok_or_else(|| format!("statusCode {code} is not an HTTP status"))? as u16,
    };
    let mut headers = Vec::new();
    if let Some(map) = object.get("headers").filter(|v| !v.is_null()) {
        for (name, value) in map.as_object().ok_or("headers is not an object")? {
            headers.push((name.clone(), scalar(value).ok_or_else(|| format!("header {name} is not a string"))?));
        }
    }
    if let Some(map) = object.get("multiValueHeaders").filter(|v| !v.is_null()) {
        for (name, values) in map.as_object().ok_or("multiValueHeaders is not an object")? {
            let values = values.as_array().ok_or_else(|| format!("multiValueHeaders.{name} is not a list"))?;
            // A name in both: the multi-value list wins, as on AWS.
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            for value in values {
                headers
                    .push((name.clone(), scalar(value).ok_or_else(|| format!("a value of {name} is not a string"))?));
            }
        }
    }
    let base64 = match object.get("isBase64Encoded") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => return Err(format!("isBase64Encoded is {other}, not true or false")),
    };
    let body = match object.get("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(text)) if base64 => base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|e| format!("the body is not base64 ({e}) though isBase64Encoded is true"))?,
        Some(Value::String(text)) => text.clone().into_bytes(),
        Some(other) => return Err(format!("the body is {}, not a string: json.dumps() it", kind(other))),
    };
    Ok(Answer { status, headers, body })
}

/// A header value as API Gateway takes it: strings, and numbers or booleans as their text.
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Object(_) => "an object",
        Value::Array(_) => "a list",
        Value::Number(_) => "a number",
        Value::Bool(_) => "a boolean",
        _ => "not a string",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_map_to_answers_as_api_gateway_maps_them() {
        let ok = from_result(br#"{"statusCode": 201, "headers": {"A": "1", "N": 2}, "body": "{\"id\":1}"}"#).unwrap();
        assert_eq!(ok.status, 201);
        assert_eq!(ok.headers, vec![("A".into(), "1".into()), ("N".into(), "2".into())]);
        assert_eq!(ok.body, b"{\"id\":1}");

        let multi = from_result(br#"{"statusCode": 200, "headers": {"Set-Cookie": "x"}, "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]}}"#)
            .unwrap();
        assert_eq!(multi.headers, vec![("Set-Cookie".into(), "a=1".into()), ("Set-Cookie".into(), "b=2".into())]);
        assert!(multi.body.is_empty());

        let binary = from_result(br#"{"statusCode": 200, "body": "/wAQ", "isBase64Encoded": true}"#).unwrap();
        assert_eq!(binary.body, vec![0xff, 0x00, 0x10]);
        assert_eq!(from_result(br#"{"body": "x"}"#).unwrap().status, 200);
    }

    #[test]
    fn a_malformed_result_is_refused_with_its_reason() {
        let cases: &[(&[u8], &str)] = &[
            (b"null", "not a JSON object"),
            (b"[1]", "not a JSON object"),
            (b"{\"statusCode\": 200, \"body\": {\"a\": 1}}", "not a string: json.dumps()"),
            (b"{\"statusCode\": 200, \"bogus\": 1}", "key \"bogus\""),
            (b"{\"statusCode\": 99}", "not an HTTP status"),
            (b"{\"statusCode\": 200, \"headers\": {\"A\": [1]}}", "header A"),
            (b"{\"statusCode\": 200, \"body\": \"%%\", \"isBase64Encoded\": true}", "not base64"),
            (b"not json", "not JSON"),
        ];
        for (result, reason) in cases {
            let said = from_result(result).unwrap_err();
            assert!(said.contains(reason), "{}: {said}", String::from_utf8_lossy(result));
        }
    }

    #[test]
    fn gateway_errors_are_json_messages() {
        let answer = Answer::missing_authentication_token();
        assert_eq!(answer.status, 403);
        assert_eq!(answer.body, br#"{"message":"Missing Authentication Token"}"#);
        assert_eq!(Answer::internal_server_error().status, 502);
        assert_eq!(Answer::timed_out().status, 504);
    }
}
