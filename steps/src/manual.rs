//! The deployment manual as data, in one place: the step IDs, the tables and their keys, the functions and
//! their handlers, the REST and WebSocket route tables, the stages and their variables, API Gateway's
//! timeouts. Steps and the settings read it; it reads nothing of theirs, so it sits at the bottom of the
//! crate. What the user's settings change of it (deployer.toml's routes, handlers, CORS origin) is resolved
//! by [`crate::settings::Settings`].

use std::collections::HashMap;

/// The steps' IDs: the state file's checkpoint keys. Never rename one.
pub mod ids {
    pub const DYNAMODB: &str = "01-dynamodb";
    pub const LAMBDA: &str = "02-lambda";
    pub const API_GATEWAY: &str = "03-api-gateway";
    pub const WEBSOCKET: &str = "04-websocket";
    pub const FRONTEND: &str = "05-frontend";
    pub const DOMAIN: &str = "06-domain";
    pub const STAGES: &str = "07-stages";
    pub const VERIFY: &str = "08-verify";
}

// ---- 2.1 DynamoDB tables ----

/// One table of the manual: its name suffix, key schema and TTL attribute.
pub struct TableSpec {
    pub suffix: &'static str,
    pub partition_key: &'static str,
    pub sort_key: Option<&'static str>,
    pub ttl_attribute: Option<&'static str>,
}

pub const TABLES: &[TableSpec] = &[
    TableSpec {
        suffix: "conversations",
        partition_key: "userId",
        sort_key: Some("conversationId"),
        ttl_attribute: None,
    },
    TableSpec { suffix: "prompts", partition_key: "promptId", sort_key: None, ttl_attribute: None },
    TableSpec { suffix: "usage", partition_key: "userId", sort_key: Some("date"), ttl_attribute: None },
    TableSpec {
        suffix: "websocket-connections",
        partition_key: "connectionId",
        sort_key: None,
        ttl_attribute: Some("ttl"),
    },
];

/// The environment variable naming each table for the functions.
pub const TABLE_VARIABLES: &[(&str, &str)] = &[
    ("CONVERSATIONS_TABLE", "conversations"),
    ("PROMPTS_TABLE", "prompts"),
    ("USAGE_TABLE", "usage"),
    ("CONNECTIONS_TABLE", "websocket-connections"),
];

// ---- 2.2 Lambda functions ----

/// One function of the manual: its name suffix, handler and memory.
pub struct FunctionSpec {
    pub suffix: &'static str,
    pub handler: &'static str,
    pub memory_mb: i32,
}

pub const FUNCTIONS: &[FunctionSpec] = &[
    FunctionSpec { suffix: "conversation-api", handler: "handlers.api.conversation.handler", memory_mb: 512 },
    FunctionSpec { suffix: "prompt-crud", handler: "handlers.api.prompt.handler", memory_mb: 512 },
    FunctionSpec { suffix: "usage-handler", handler: "handlers.api.usage.handler", memory_mb: 512 },
    FunctionSpec { suffix: "websocket-connect", handler: "handlers.websocket.connect.handler", memory_mb: 512 },
    FunctionSpec { suffix: "websocket-disconnect", handler: "handlers.websocket.disconnect.handler", memory_mb: 512 },
    FunctionSpec { suffix: "websocket-message", handler: "handlers.websocket.message.handler", memory_mb: 1024 },
];

/// API Gateway gives up on an integration after 29 s, so a longer Lambda timeout only hides errors.
pub const FUNCTION_TIMEOUT_SECONDS: i32 = 29;

/// The backend file a handler string points at: `handlers.api.conversation.handler` →
/// `handlers/api/conversation.py`.
pub fn handler_file(handler: &str) -> String {
    let module = handler.rsplit_once('.').map_or(handler, |(module, _)| module);
    format!("{}.py", module.replace('.', "/"))
}

// ---- 2.3 REST API ----

/// One path of the REST API and the function behind its methods, as the manual has it.
pub struct RouteSpec {
    pub path: &'static str,
    pub methods: &'static [&'static str],
    pub function: &'static str,
}

pub const ROUTES: &[RouteSpec] = &[
    RouteSpec { path: "/conversations", methods: &["GET", "POST"], function: "conversation-api" },
    RouteSpec { path: "/conversations/{id}", methods: &["GET", "PUT", "DELETE"], function: "conversation-api" },
    RouteSpec { path: "/prompts", methods: &["GET", "POST"], function: "prompt-crud" },
    RouteSpec { path: "/prompts/{id}", methods: &["GET", "PUT", "DELETE"], function: "prompt-crud" },
    RouteSpec { path: "/usage", methods: &["GET"], function: "usage-handler" },
];

/// The HTTP methods a route may list (OPTIONS is added for CORS).
pub const ROUTE_METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"];

/// A route as deployed: the manual's, or deployer.toml's `[[routes]]`.
pub struct Route<'a> {
    pub path: &'a str,
    pub methods: Vec<&'a str>,
    /// The function's suffix, e.g. `conversation-api`.
    pub function: &'a str,
}

/// API Gateway ends every integration after at most 29 s.
pub const INTEGRATION_TIMEOUT_MS: i32 = 29_000;
pub const CORS_ALLOW_HEADERS: &str = "Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token";

// ---- 2.4 WebSocket API ----

pub const WEBSOCKET_ROUTE_SELECTION: &str = "$request.body.action";

/// Route key → the function suffix behind it.
pub const WEBSOCKET_ROUTES: &[(&str, &str)] =
    &[("$connect", "websocket-connect"), ("$disconnect", "websocket-disconnect"), ("$default", "websocket-message")];

// ---- 3 Frontend ----

/// The comment that marks the service's CloudFront distribution.
pub fn distribution_comment(service: &str) -> String {
    format!("{service} frontend (deployer)")
}

// ---- 5 Stages ----

/// The second stage the manual adds next to the main one.
pub const DEV_STAGE: &str = "dev";

/// The stage variables every stage carries (manual 5.2).
pub fn stage_variables(stage: &str) -> HashMap<String, String> {
    let environment = if stage == DEV_STAGE { "development" } else { "production" };
    HashMap::from([("environment".to_string(), environment.to_string())])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handler_strings_map_to_backend_files() {
        assert_eq!(handler_file("handlers.api.conversation.handler"), "handlers/api/conversation.py");
        assert_eq!(handler_file("handlers.websocket.message.handler"), "handlers/websocket/message.py");
    }

    #[test]
    fn every_route_and_table_variable_names_a_known_function_or_table() {
        let functions: Vec<&str> = FUNCTIONS.iter().map(|f| f.suffix).collect();
        assert!(ROUTES.iter().all(|r| functions.contains(&r.function)));
        assert!(WEBSOCKET_ROUTES.iter().all(|(_, f)| functions.contains(f)));
        let tables: Vec<&str> = TABLES.iter().map(|t| t.suffix).collect();
        assert!(TABLE_VARIABLES.iter().all(|(_, t)| tables.contains(t)));
    }

    #[test]
    fn dev_is_development_and_every_other_stage_production() {
        assert_eq!(stage_variables("dev")["environment"], "development");
        assert_eq!(stage_variables("prod")["environment"], "production");
    }
}
