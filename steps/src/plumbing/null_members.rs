//! API Gateway answers `null` for a map value that the console or the aws CLI set to `""`
//! (`"responseTemplates": {"application/json": null}`, aws/aws-cli#1610), and the Rust SDK refuses a null
//! inside a map ("dense map cannot contain null values", awslabs/aws-sdk-rust#1443): a REST API that the
//! manual's own commands made could not be read at all. API Gateway's clients get their answers through
//! this connector, which drops every null member of a JSON object before the SDK parses the answer. To
//! the SDK a null member of a structure means what an absent one does, and a null in a map is unreadable,
//! so nothing readable changes.

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;
use serde_json::Value;

/// `inner`, with the null members of its JSON answers dropped.
pub fn without_null_members(inner: SharedHttpClient) -> SharedHttpClient {
    SharedHttpClient::new(WithoutNulls { inner })
}

#[derive(Debug)]
struct WithoutNulls {
    inner: SharedHttpClient,
}

impl HttpClient for WithoutNulls {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(WithoutNullsConnector { inner: self.inner.http_connector(settings, components) })
    }
}

#[derive(Debug)]
struct WithoutNullsConnector {
    inner: SharedHttpConnector,
}

impl HttpConnector for WithoutNullsConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let inner = self.inner.clone();
        HttpConnectorFuture::new(async move {
            let mut response = inner.call(request).await?;
            // API Gateway's answers are small JSON documents, read whole by the SDK anyway.
            let body = ByteStream::new(response.take_body()).collect().await;
            let body = drop_null_members(body.map_err(|e| ConnectorError::io(e.into()))?.to_vec());
            if response.headers().contains_key("content-length") {
                response.headers_mut().insert("content-length", body.len().to_string());
            }
            *response.body_mut() = SdkBody::from(body);
            Ok(response)
        })
    }
}

/// The JSON document `body` without null object members, or `body` itself when it has none or is not JSON.
pub fn drop_null_members(body: Vec<u8>) -> Vec<u8> {
    if !body.windows(4).any(|w| w == b"null") {
        return body;
    }
    let Ok(mut document) = serde_json::from_slice::<Value>(&body) else { return body };
    if !remove_nulls(&mut document) {
        return body;
    }
    serde_json::to_vec(&document).unwrap_or(body)
}

/// Removes null members at every depth; whether any was there.
fn remove_nulls(value: &mut Value) -> bool {
    match value {
        Value::Object(members) => {
            let before = members.len();
            members.retain(|_, v| !v.is_null());
            let mut removed = members.len() != before;
            for member in members.values_mut() {
                removed |= remove_nulls(member);
            }
            removed
        }
        Value::Array(items) => items.iter_mut().fold(false, |removed, item| remove_nulls(item) | removed),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn null_members_go_at_every_depth_and_everything_else_stays() {
        let console = json!({"item": [{"id": "a1", "resourceMethods": {"OPTIONS": {"methodIntegration": {
            "integrationResponses": {"200": {"responseTemplates": {"application/json": null, "text/plain": "x"}}},
            "requestParameters": null}}}}], "position": null, "list": [null, 1]});
        let cleaned: Value = serde_json::from_slice(&drop_null_members(console.to_string().into_bytes())).unwrap();
        let expected = json!({"item": [{"id": "a1", "resourceMethods": {"OPTIONS": {"methodIntegration": {
            "integrationResponses": {"200": {"responseTemplates": {"text/plain": "x"}}}}}}}], "list": [null, 1]});
        assert_eq!(cleaned, expected);
    }

    #[test]
    fn an_answer_without_nulls_or_not_json_is_passed_on_byte_for_byte() {
        let spaced = b"{ \"id\" : \"nullable\" }".to_vec();
        assert_eq!(drop_null_members(spaced.clone()), spaced);
        let text = b"not json, null".to_vec();
        assert_eq!(drop_null_members(text.clone()), text);
    }
}
