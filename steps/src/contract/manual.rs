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

// ---- 2.2 Lambda's Python runtimes ----

/// A Python runtime Lambda offers, with the dates AWS projects for its end, in the "Supported runtimes"
/// table of the Lambda Developer Guide's "Lambda runtimes" page (AWS can move them): deprecated (no more
/// security patches), then no function can be created with it, then none updated.
pub struct RuntimeSpec {
    pub id: &'static str,
    pub deprecated: &'static str,
    pub blocks_create: &'static str,
    pub blocks_update: &'static str,
}

/// Newest first; a runtime missing here (python3.8 and older) can no longer be deployed at all.
pub const RUNTIMES: &[RuntimeSpec] = &[
    RuntimeSpec {
        id: "python3.14",
        deprecated: "2029-06-30",
        blocks_create: "2029-07-31",
        blocks_update: "2029-08-31",
    },
    RuntimeSpec {
        id: "python3.13",
        deprecated: "2029-06-30",
        blocks_create: "2029-07-31",
        blocks_update: "2029-08-31",
    },
    RuntimeSpec {
        id: "python3.12",
        deprecated: "2028-10-31",
        blocks_create: "2028-11-30",
        blocks_update: "2029-01-10",
    },
    RuntimeSpec {
        id: "python3.11",
        deprecated: "2026-06-30",
        blocks_create: "2026-07-31",
        blocks_update: "2026-08-31",
    },
    RuntimeSpec {
        id: "python3.10",
        deprecated: "2026-06-30",
        blocks_create: "2026-07-31",
        blocks_update: "2026-08-31",
    },
    RuntimeSpec { id: "python3.9", deprecated: "2025-12-15", blocks_create: "2026-06-01", blocks_update: "2026-07-01" },
];

/// What to tell a user of `runtime` on `today` (YYYY-MM-DD), once it is deprecated; `None` before.
pub fn runtime_warning(runtime: &str, today: &str) -> Option<String> {
    let spec = RUNTIMES.iter().find(|r| r.id == runtime)?;
    let newest = RUNTIMES[0].id;
    // "blocks creating … since DATE" once it has passed, "will block creating … on DATE" before.
    let when = |date: &str, what: &str| {
        if today >= date {
            format!("blocks {what} since {date}")
        } else {
            format!("will block {what} on {date}")
        }
    };
    (today >= spec.deprecated).then(|| {
        format!(
            "{runtime} is deprecated since {} (no more security patches); Lambda {} and {}, by AWS's published \
             dates: move to {newest} (runtime in deployer.toml, or --runtime)",
            spec.deprecated,
            when(spec.blocks_create, "creating functions with it"),
            when(spec.blocks_update, "updating them"),
        )
    })
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

/// The variable that gives the functions answering WebSocket clients their stage's management endpoint
/// (`https://ID.execute-api.REGION.amazonaws.com/STAGE`), for PostToConnection.
pub const MANAGEMENT_ENDPOINT_VARIABLE: &str = "WEBSOCKET_MANAGEMENT_ENDPOINT";

/// The table of open connections, which those functions are also given (when the backend has it).
pub const WEBSOCKET_CONNECTIONS: &str = "websocket-connections";

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

#[cfg(test)]
mod runtime_tests {
    use super::*;

    #[test]
    fn a_runtime_is_warned_of_from_its_deprecation_and_each_date_reads_as_past_or_coming() {
        assert_eq!(runtime_warning("python3.12", "2028-10-30"), None);
        let soon = runtime_warning("python3.12", "2028-11-01").unwrap();
        assert!(soon.contains("will block creating functions with it on 2028-11-30"), "{soon}");
        let late = runtime_warning("python3.11", "2026-12-06").unwrap();
        assert!(
            late.contains("blocks updating them since 2026-08-31") && late.contains("move to python3.14"),
            "{late}"
        );
        assert_eq!(runtime_warning("python3.99", "2030-01-01"), None, "not a runtime: refused by the settings");
    }

    #[test]
    fn the_runtimes_dates_are_in_order_and_newest_first() {
        for r in RUNTIMES {
            assert!(r.deprecated < r.blocks_create && r.blocks_create < r.blocks_update, "{}", r.id);
        }
        let minors: Vec<u32> = RUNTIMES.iter().map(|r| r.id.trim_start_matches("python3.").parse().unwrap()).collect();
        assert!(minors.windows(2).all(|w| w[0] > w[1]), "{minors:?}");
    }
}
