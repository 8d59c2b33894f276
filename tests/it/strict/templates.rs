//! Mapping templates: API Gateway parses them when they are put and refuses what Velocity cannot parse.

use super::{rest_json_error, Answer, Behaviour, Call, Model};

impl Model {
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
        let engine = crate::velocity::engine()?;
        let why = templates.values().filter_map(|t| t.as_str()).find_map(|t| engine.parses(t).err())?;
        // Worded as API Gateway's validation errors are ("Invalid mapping expression specified: …").
        let message =
            format!("Invalid mapping expression specified: Validation Result: warnings : [], errors : [{why}]");
        self.refuse("BadRequestException", rest_json_error(400, "BadRequestException", &message))
    }
}
