//! deployer.toml `[[routes]]`: the REST routes, instead of the manual's.

use serde::{Deserialize, Serialize};

use super::{InputError, Settings};
use crate::manual::ROUTE_METHODS;

/// One REST route: a path, its methods and the function (by suffix) behind them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteSettings {
    /// The path, e.g. `/conversations/{id}`.
    #[schemars(regex(pattern = r"^/"))]
    pub path: String,
    /// Its HTTP methods (OPTIONS is added for CORS).
    #[schemars(length(min = 1))]
    pub methods: Vec<String>,
    /// The function behind it, by suffix (e.g. `conversation-api`).
    pub function: String,
}

impl Settings {
    pub(super) fn validate_routes(&self) -> Result<(), InputError> {
        let functions = self.function_names();
        for route in &self.routes {
            let segment_ok = |s: &str| {
                !s.is_empty()
                    && (s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                        || (s.starts_with('{') && s.ends_with('}') && s.len() > 2))
            };
            let path_ok = route.path.strip_prefix('/').is_some_and(|p| p.split('/').all(segment_ok));
            if !path_ok {
                return Err(InputError(format!(
                    "route path '{}' is not a REST path: give it as /name or /name/{{id}}",
                    route.path
                )));
            }
            if route.methods.is_empty() || !route.methods.iter().all(|m| ROUTE_METHODS.contains(&m.as_str())) {
                return Err(InputError(format!(
                    "route {} has methods {:?}: use some of {} (OPTIONS is added for CORS)",
                    route.path,
                    route.methods,
                    ROUTE_METHODS.join(", ")
                )));
            }
            if !functions.contains(&route.function.as_str()) {
                return Err(InputError(format!(
                    "route {} names function '{}', which is not deployed: use one of {} (or declare it under \
                     [functions.{}])",
                    route.path,
                    route.function,
                    functions.join(", "),
                    route.function
                )));
            }
        }
        Ok(())
    }
}
