//! deployer.toml `[auth]`: who may call the REST API.

use serde::{Deserialize, Serialize};

use super::{InputError, Settings};

/// How the REST API's methods (not their CORS preflights) authenticate callers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthKind {
    /// Anyone may call (the manual's).
    #[default]
    None,
    /// Callers send an API key (`x-api-key`), within a usage plan's throttle and quota.
    ApiKey,
    /// Callers send a Cognito user pool's ID token (`Authorization`).
    Cognito,
}

/// deployer.toml `[auth]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    #[serde(default)]
    pub kind: AuthKind,
    /// `cognito`: the ARN of an existing user pool, `arn:aws:cognito-idp:REGION:ACCOUNT:userpool/POOL_ID`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_pool_arn: Option<String>,
    /// `api_key`: the usage plan's requests per second for each key; default the stage's throttle rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub rate_limit: Option<u32>,
    /// `api_key`: the usage plan's burst; default the stage's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 5000))]
    pub burst_limit: Option<u32>,
    /// `api_key`: requests each key may make per `quota_period`; none by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub quota_limit: Option<u32>,
    /// `DAY` (default), `WEEK` or `MONTH`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["DAY", "WEEK", "MONTH"]))]
    pub quota_period: Option<String>,
}

impl AuthSettings {
    pub fn is_none(&self) -> bool {
        *self == AuthSettings::default()
    }
}

impl Settings {
    pub(super) fn validate_auth(&self) -> Result<(), InputError> {
        let auth = &self.auth;
        let pool = auth.user_pool_arn.as_deref();
        match (auth.kind, pool) {
            (AuthKind::Cognito, None) => return Err(InputError(
                "[auth] kind = \"cognito\" needs user_pool_arn = \"arn:aws:cognito-idp:REGION:ACCOUNT:userpool/ID\" \
                     (`aws cognito-idp list-user-pools --max-results 10` lists them)"
                    .into(),
            )),
            (AuthKind::Cognito, Some(arn)) => {
                let parts: Vec<&str> = arn.splitn(6, ':').collect();
                let is_pool = parts.len() == 6
                    && parts[0] == "arn"
                    && parts[2] == "cognito-idp"
                    && parts[5]
                        .strip_prefix("userpool/")
                        .is_some_and(|id| id.starts_with(parts[3]) && id.contains('_'));
                if !is_pool {
                    return Err(InputError(format!(
                        "[auth] user_pool_arn '{arn}' is not a Cognito user pool's ARN: give \
                         arn:aws:cognito-idp:REGION:ACCOUNT:userpool/REGION_ID"
                    )));
                }
            }
            (_, Some(_)) => {
                return Err(InputError(
                    "[auth] user_pool_arn is only for kind = \"cognito\": remove it, or set the kind".into(),
                ))
            }
            _ => {}
        }
        let plan_keys = auth.rate_limit.is_some()
            || auth.burst_limit.is_some()
            || auth.quota_limit.is_some()
            || auth.quota_period.is_some();
        if plan_keys && auth.kind != AuthKind::ApiKey {
            return Err(InputError(
                "[auth] rate_limit, burst_limit and quota_* set the API key's usage plan: use them with kind = \"api_key\""
                    .into(),
            ));
        }
        if let Some(period) = auth.quota_period.as_deref().filter(|p| !["DAY", "WEEK", "MONTH"].contains(p)) {
            return Err(InputError(format!(
                "[auth] quota_period '{period}' is not one API Gateway has: use DAY, WEEK or MONTH"
            )));
        }
        if auth.rate_limit == Some(0)
            || auth.burst_limit.is_some_and(|b| b == 0 || b > 5000)
            || auth.quota_limit == Some(0)
        {
            return Err(InputError(
                "[auth] rate_limit, burst_limit and quota_limit must be above 0, the burst at most 5000".into(),
            ));
        }
        Ok(())
    }
}
