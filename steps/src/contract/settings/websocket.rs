//! deployer.toml `[websocket]`: route keys besides the manual's `$connect`, `$disconnect` and `$default`,
//! chosen by the route selection expression (`$request.body.action`).

use serde::{Deserialize, Serialize};

use super::{InputError, Settings};

/// deployer.toml `[websocket]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebSocketSettings {
    /// Route keys and the function behind each; one of `$connect`, `$disconnect` or `$default` replaces
    /// the manual's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<WebSocketRouteSettings>,
}

impl WebSocketSettings {
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }
}

/// One WebSocket route: messages whose `action` is `route_key` go to `function`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebSocketRouteSettings {
    /// The `action` of the messages it takes, e.g. `sendMessage`; or `$connect`, `$disconnect`, `$default`.
    #[schemars(regex(pattern = r"^(\$connect|\$disconnect|\$default|[A-Za-z0-9_.:-]{1,128})$"))]
    pub route_key: String,
    /// The function behind it, by name (e.g. `websocket-message`).
    pub function: String,
}

const SPECIAL_KEYS: &[&str] = &["$connect", "$disconnect", "$default"];

/// A route key API Gateway takes and the selection expression can reach: one of the three special keys,
/// or up to 128 characters without `$` and spaces.
fn is_route_key(key: &str) -> bool {
    SPECIAL_KEYS.contains(&key)
        || (1..=128).contains(&key.len())
            && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-'))
}

impl Settings {
    pub(super) fn validate_websocket(&self) -> Result<(), InputError> {
        let mut seen = Vec::new();
        for route in &self.websocket.routes {
            let key = route.route_key.as_str();
            if !is_route_key(key) {
                return Err(InputError(format!(
                    "[[websocket.routes]] route_key '{key}' is not one API Gateway can select by \
                     $request.body.action: use letters, digits, '_', '.', ':' or '-' (up to 128), or one of {}",
                    SPECIAL_KEYS.join(", ")
                )));
            }
            if seen.contains(&key) {
                return Err(InputError(format!(
                    "[[websocket.routes]] names route_key '{key}' twice: one function per route key"
                )));
            }
            seen.push(key);
            if !self.has_function(&route.function) {
                return Err(InputError(format!(
                    "[[websocket.routes]] {key} names function '{}', which is not deployed: use one of {} (or \
                     declare it under [functions.{}])",
                    route.function,
                    self.function_names().join(", "),
                    route.function
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_keys_are_the_special_three_or_plain_actions() {
        for key in ["$connect", "$default", "sendMessage", "chat.send", "a:b-c_d"] {
            assert!(is_route_key(key), "{key}");
        }
        for key in ["", "$other", "send message", "é", &"x".repeat(129)] {
            assert!(!is_route_key(key), "{key}");
        }
    }
}
