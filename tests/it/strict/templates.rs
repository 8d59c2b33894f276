//! Mapping templates: API Gateway parses them when they are put and refuses what Velocity cannot parse;
//! it answers `null` for a template set to `""` (as the console and the aws CLI leave them: aws-cli#1610).

use bytes::Bytes;
use serde_json::Value;

use super::{rest_json_error, Answer, Behaviour, Call, Model};

/// Empty templates, at any depth of an answer, as `null`.
fn empty_templates_as_null(value: &mut Value) {
    match value {
        Value::Object(members) => {
            for (key, member) in members.iter_mut() {
                if key == "requestTemplates" || key == "responseTemplates" {
                    for template in member.as_object_mut().into_iter().flat_map(|t| t.values_mut()) {
                        if template.as_str() == Some("") {
                            *template = Value::Null;
                        }
                    }
                } else {
                    empty_templates_as_null(member);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(empty_templates_as_null),
        _ => {}
    }
}

impl Model {
    pub(super) fn templates_after(&self, call: &Call, body: Bytes) -> Bytes {
        if !self.config.on(Behaviour::MappingTemplates) || call.method != "GET" {
            return body;
        }
        let Ok(mut answer) = serde_json::from_slice::<Value>(&body) else { return body };
        empty_templates_as_null(&mut answer);
        Bytes::from(answer.to_string())
    }

    pub(super) fn templates_before(&self, call: &Call) -> Option<Answer> {
        if !self.config.on(Behaviour::MappingTemplates) || call.method != "PUT" {
            return None;
        }
        let field = match call.segments().as_slice() {
            ["restapis", _, "resources", _, "methods", _, "integration"] => "requestTemplates",
            ["restapis", _, "resources", _, "methods", _, "integration", "responses", _] => "responseTemplates",
            ["restapis", _, "gatewayresponses", _] => "responseTemplates",
            _ => return None,
        };
        let request = call.json();
        let templates = request[field].as_object()?;
        let engine = crate::velocity::engine_if_installed().ok()?;
        let why = templates.values().filter_map(|t| t.as_str()).find_map(|t| engine.parses(t).err())?;
        // Worded as API Gateway's validation errors are ("Invalid mapping expression specified: …").
        let message =
            format!("Invalid mapping expression specified: Validation Result: warnings : [], errors : [{why}]");
        self.refuse("BadRequestException", rest_json_error(400, "BadRequestException", &message))
    }
}
