//! The origins the REST API allows (CORS): `cors_origins`, `dev_cors_origins`.

use serde::Deserialize;

use super::{InputError, Settings};

/// The CORS origins and secrets as these settings give them.
impl Settings {
    /// The origins stage `stage` allows: the given ones, else the site's (`https://DOMAIN` and
    /// `https://www.DOMAIN` with a domain, and the CloudFront URL once `05-frontend` has made it); the dev
    /// stage adds the dev origins. `["*"]` means any origin.
    pub fn cors_origins(&self, stage: &str, distribution_domain: Option<&str>) -> Vec<String> {
        let mut origins = if self.cors_origins.is_empty() {
            let site = self.domain.iter().flat_map(|d| [format!("https://{d}"), format!("https://www.{d}")]);
            site.chain(distribution_domain.map(|d| format!("https://{d}"))).collect()
        } else {
            self.cors_origins.clone()
        };
        if stage == crate::manual::DEV_STAGE && !self.allows_any_origin() {
            origins.extend(self.dev_cors_origins.iter().filter(|o| !origins.contains(o)).cloned().collect::<Vec<_>>());
        }
        origins
    }

    /// Every secret of `[functions.X.secrets]`, by the ID deployer.toml gives (a name or an ARN).
    pub fn secret_ids(&self) -> std::collections::BTreeSet<&str> {
        let deployed = self.function_names().into_iter().filter_map(|name| self.secrets(name));
        deployed.flat_map(|secrets| secrets.values().map(String::as_str)).collect()
    }

    pub fn allows_any_origin(&self) -> bool {
        self.cors_origins.iter().any(|o| o == "*")
    }
}

pub const DEFAULT_DEV_CORS_ORIGINS: &[&str] = &["http://localhost:5173"];

pub(super) fn default_dev_cors_origins() -> Vec<String> {
    DEFAULT_DEV_CORS_ORIGINS.iter().map(|o| o.to_string()).collect()
}

/// One string or a list of them (the state files of earlier versions hold one `cors_origin`).
pub(super) fn one_or_many<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(one) => vec![one],
        OneOrMany::Many(many) => many,
    })
}

/// An origin a browser sends: `http(s)://HOST[:PORT]`, no path, in the characters a stage variable takes.
fn is_origin(text: &str) -> bool {
    let host = text.strip_prefix("https://").or_else(|| text.strip_prefix("http://"));
    host.is_some_and(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':')))
}

/// The longest stage variable value API Gateway stores; the stage's origins travel in one.
const MAX_STAGE_VARIABLE: usize = 512;

impl Settings {
    pub(super) fn validate_cors_origins(&self) -> Result<(), InputError> {
        let fix = "give each as https://HOST[:PORT] (no path), or \"*\" alone for any origin";
        for (what, origins) in [("cors_origins", &self.cors_origins), ("dev_cors_origins", &self.dev_cors_origins)] {
            let any_allowed = what == "cors_origins";
            if let Some(bad) = origins.iter().find(|o| !(is_origin(o) || any_allowed && *o == "*")) {
                return Err(InputError(format!("{what} '{bad}' is not an origin: {fix}")));
            }
        }
        if self.allows_any_origin() && self.cors_origins.len() > 1 {
            return Err(InputError(format!("cors_origins lists \"*\" with other origins: {fix}")));
        }
        // The longest list is the dev stage's, with a CloudFront domain (d + 13 characters + .cloudfront.net).
        let longest = self.cors_origins(crate::manual::DEV_STAGE, Some("d0123456789abc.cloudfront.net")).join(",");
        if longest.len() > MAX_STAGE_VARIABLE {
            return Err(InputError(format!(
                "the CORS origins take {} characters, over the {MAX_STAGE_VARIABLE} of the API stage variable that \
                 carries them: list fewer in cors_origins or dev_cors_origins",
                longest.len()
            )));
        }
        Ok(())
    }
}
