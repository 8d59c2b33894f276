//! AWS's documented quotas that a deployer.toml can exceed, checked before anything is written: AWS would
//! otherwise refuse midway, with part of the backend deployed. Each message names the quota and whether
//! AWS raises it. (Code size is checked once the bundle is built, and the account's concurrency with
//! GetAccountSettings before the first step; the stages are the main one and `dev`, under API Gateway's 10.)

use std::collections::BTreeSet;

use super::{InputError, Settings};

/// API Gateway quotas ("Amazon API Gateway quotas"): resources per REST API, routes and integrations per
/// WebSocket API. All three can be raised through Service Quotas.
pub const REST_RESOURCES_MOST: usize = 300;
pub const WEBSOCKET_ROUTES_MOST: usize = 300;
pub const WEBSOCKET_INTEGRATIONS_MOST: usize = 300;
/// Lambda: the environment variables' keys and values together ("Lambda quotas"); not raised.
pub const ENVIRONMENT_BYTES_MOST: usize = 4 * 1024;
/// IAM: a role's inline policies together, whitespace aside ("IAM and AWS STS quotas"); not raised.
pub const ROLE_POLICY_CHARACTERS_MOST: usize = 10_240;

/// The longest an AWS-generated ID or region makes a value that is only known at deploy time.
const LONGEST_SECRET_ARN: usize = "arn:aws-us-gov:secretsmanager:ap-southeast-3:123456789012:secret:-AbCdEf".len();
const LONGEST_MANAGEMENT_ENDPOINT: usize = "https://0123456789.execute-api.ap-southeast-3.amazonaws.com/".len();
const LONGEST_TABLE_ARN_PREFIX: usize = "\"arn:aws-us-gov:dynamodb:ap-southeast-3:123456789012:table/\",".len();
/// The role policy without its tables and secrets (logs, WebSocket answers, VPC actions), measured.
const POLICY_WITHOUT_TABLES: usize = 1_100;
const CLOUDFRONT_DOMAIN: &str = "d0123456789abc.cloudfront.net";

impl Settings {
    pub(super) fn validate_quotas(&self) -> Result<(), InputError> {
        self.check_rest_resources()?;
        self.check_websocket()?;
        for function in self.function_names() {
            self.check_environment(function)?;
        }
        self.check_role_policies()
    }

    /// Every path and each of its parents is one resource, the root `/` included.
    pub fn rest_resource_count(&self) -> usize {
        let mut paths = BTreeSet::from(["/".to_string()]);
        for route in self.routes() {
            let mut path = String::new();
            for segment in route.path.trim_start_matches('/').split('/') {
                path = format!("{path}/{segment}");
                paths.insert(path.clone());
            }
        }
        paths.len()
    }

    fn check_rest_resources(&self) -> Result<(), InputError> {
        let count = self.rest_resource_count();
        if count > REST_RESOURCES_MOST {
            return Err(InputError(format!(
                "the routes make {count} REST API resources (each path and its parents, / included), over API \
                 Gateway's quota of {REST_RESOURCES_MOST} per API: share path prefixes, or ask AWS to raise \
                 \"Resources per API\" (Service Quotas, Amazon API Gateway) first"
            )));
        }
        Ok(())
    }

    fn check_websocket(&self) -> Result<(), InputError> {
        let routes = self.websocket_routes();
        let integrations: BTreeSet<&str> = routes.iter().map(|(_, function)| *function).collect();
        for (what, count, most) in [
            ("routes", routes.len(), WEBSOCKET_ROUTES_MOST),
            ("integrations (one per function)", integrations.len(), WEBSOCKET_INTEGRATIONS_MOST),
        ] {
            if count > most {
                return Err(InputError(format!(
                    "the WebSocket API would have {count} {what}, over API Gateway's quota of {most} per API: \
                     ask AWS to raise it (Service Quotas, Amazon API Gateway) first, or route fewer"
                )));
            }
        }
        Ok(())
    }

    /// The most the function's environment can take once deployed: what 02-lambda sets, the secrets'
    /// ARNs and 04-websocket's endpoint at their longest.
    pub fn environment_bytes(&self, function: &str) -> usize {
        let origins = self.cors_origins(&self.stage, Some(CLOUDFRONT_DOMAIN)).join(",");
        let first_origin = self.cors_origins(&self.stage, Some(CLOUDFRONT_DOMAIN)).first().map_or(1, String::len);
        let mut bytes = "SERVICE_NAME".len() + self.service.len() + "STAGE".len() + self.stage.len();
        bytes += "CORS_ORIGINS".len() + origins.len() + "CORS_ORIGIN".len() + first_origin;
        for (variable, table) in self.table_variables_of(function) {
            bytes += variable.len() + self.service.len() + 1 + table.len();
        }
        for (name, id) in self.secrets(function).into_iter().flatten() {
            let secret_name = id.rsplit(':').next().unwrap_or(id);
            bytes += name.len() + "_SECRET_ARN".len() + LONGEST_SECRET_ARN + secret_name.len();
        }
        if self.websocket_answerers().contains(&function) {
            bytes += "WEBSOCKET_MANAGEMENT_ENDPOINT".len() + LONGEST_MANAGEMENT_ENDPOINT + self.stage.len();
            bytes += "CONNECTIONS_TABLE".len() + self.service.len() + "-websocket-connections".len();
        }
        bytes
    }

    fn check_environment(&self, function: &str) -> Result<(), InputError> {
        let bytes = self.environment_bytes(function);
        if bytes > ENVIRONMENT_BYTES_MOST {
            return Err(InputError(format!(
                "[functions.{function}] would carry up to {bytes} bytes of environment variables (its tables, \
                 secrets and CORS origins), over Lambda's 4 KB, which AWS does not raise: list fewer `tables` \
                 for it, or fewer secrets or origins"
            )));
        }
        Ok(())
    }

    /// A role's policy lists each table it reaches twice (the table and its indexes), and its secrets.
    pub fn role_policy_characters(&self, tables: &[&str], secrets: usize) -> usize {
        let per_table = |t: &str| 2 * (LONGEST_TABLE_ARN_PREFIX + self.service.len() + 1 + t.len()) + "/index/*".len();
        POLICY_WITHOUT_TABLES + tables.iter().map(|t| per_table(t)).sum::<usize>() + secrets * (LONGEST_SECRET_ARN + 64)
    }

    fn check_role_policies(&self) -> Result<(), InputError> {
        let functions = self.function_names();
        let shared_secrets = self.secret_ids().len();
        // The shared role is only there for the functions that do not list their `tables`.
        let sharing = functions.iter().any(|f| !self.has_own_role(f));
        let shared = sharing.then(|| ("the functions' shared role", self.table_names(), shared_secrets));
        let own = functions
            .iter()
            .filter(|f| self.has_own_role(f))
            .map(|f| (*f, self.tables_of(f), self.secrets(f).map_or(0, |s| s.len())));
        for (whose, tables, secrets) in shared.into_iter().chain(own) {
            let characters = self.role_policy_characters(&tables, secrets);
            if characters > ROLE_POLICY_CHARACTERS_MOST {
                return Err(InputError(format!(
                    "the policy of {whose} would take about {characters} characters for its {} tables, over IAM's \
                     {ROLE_POLICY_CHARACTERS_MOST} for a role's inline policies, which AWS does not raise: give \
                     functions the `tables` they reach (each then has a role of its own)",
                    tables.len()
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::settings::test_settings;

    fn routes(families: usize) -> String {
        (0..families)
            .map(|i| {
                format!("[[routes]]\npath = \"/r{i}/{{id}}/items\"\nmethods = [\"GET\"]\nfunction = \"prompt-crud\"\n")
            })
            .collect()
    }

    #[test]
    fn rest_resources_count_every_parent_and_the_root() {
        assert_eq!(test_settings().rest_resource_count(), 1 + 4 + 1, "/, 4 manual paths, /usage's only");
        assert_eq!(test_settings().with_toml(&routes(99)).rest_resource_count(), 1 + 99 * 3);
    }

    #[test]
    fn routes_past_300_resources_are_refused_naming_the_quota() {
        assert!(test_settings().with_toml(&routes(99)).validate().is_ok());
        let refused = test_settings().with_toml(&routes(100)).validate().unwrap_err().0;
        assert!(refused.contains("301 REST API resources") && refused.contains("Resources per API"), "{refused}");
    }

    #[test]
    fn websocket_routes_past_300_are_refused() {
        let actions = |count: usize| -> String {
            (0..count)
                .map(|i| format!("[[websocket.routes]]\nroute_key = \"a{i}\"\nfunction = \"websocket-message\"\n"))
                .collect()
        };
        assert_eq!(test_settings().with_toml(&actions(297)).validate(), Ok(()), "the manual's 3 + 297");
        let refused = test_settings().with_toml(&actions(298)).validate().unwrap_err().0;
        assert!(refused.contains("301 routes") && refused.contains("quota of 300"), "{refused}");
    }

    #[test]
    fn an_environment_past_4_kb_is_refused_before_anything_is_written() {
        let tables: String =
            (0..60).map(|i| format!("[tables.table-with-a-long-name-{i:02}]\npartition_key = \"id\"\n")).collect();
        let settings = test_settings().with_toml(&tables);
        assert!(settings.environment_bytes("usage-handler") > 4096);
        let refused = settings.validate().unwrap_err().0;
        assert!(refused.contains("4 KB") && refused.contains("`tables`"), "{refused}");
    }

    #[test]
    fn a_shared_policy_past_iams_limit_is_refused_and_own_tables_lift_it() {
        let tables: String = (0..60).map(|i| format!("[tables.t{i:02}]\npartition_key = \"id\"\n")).collect();
        let settings = test_settings().with_toml(&tables);
        let refused = settings.validate().unwrap_err().0;
        assert!(refused.contains("shared role") && refused.contains("10240"), "{refused}");
        let narrowed: String = crate::manual::FUNCTIONS
            .iter()
            .map(|f| format!("[functions.{}]\ntables = [\"usage\"]\n", f.suffix))
            .collect();
        // Each function then reaches one table, and no function is left on the shared role.
        assert_eq!(test_settings().with_toml(&format!("{tables}{narrowed}")).validate(), Ok(()));
    }
}
