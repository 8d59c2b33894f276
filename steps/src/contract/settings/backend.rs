//! The backend as deployed: the manual's functions, tables and routes, with deployer.toml's additions and
//! the ones it switches off (`enabled = false`). A file that names none of them gives the manual's shape
//! exactly, so an existing deployment re-runs unchanged.

use std::collections::BTreeMap;

use super::{IndexSettings, Settings};
use crate::manual::{self, Route, FUNCTIONS, ROUTES, TABLES, TABLE_VARIABLES, WEBSOCKET_ROUTES};

/// Memory of a function the manual does not have, unless deployer.toml gives it (the manual's usual).
pub const DEFAULT_MEMORY_MB: i32 = 512;

/// One table as deployed: the manual's keys with deployer.toml's changes, or a table of the file's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Its name after `SERVICE-`, e.g. `conversations`.
    pub name: String,
    pub partition_key: String,
    pub sort_key: Option<String>,
    pub ttl_attribute: Option<String>,
    pub indexes: Vec<IndexSettings>,
}

/// The environment variable that names table `name` to the functions: the manual's own names
/// (`CONNECTIONS_TABLE` for `websocket-connections`), else `NAME_TABLE` in capitals.
pub fn table_variable(name: &str) -> String {
    match TABLE_VARIABLES.iter().find(|(_, table)| *table == name) {
        Some((variable, _)) => variable.to_string(),
        None => format!("{}_TABLE", name.to_ascii_uppercase().replace('-', "_")),
    }
}

/// `""` in deployer.toml removes a key the manual has.
fn given_or(given: Option<&String>, manual: Option<&str>) -> Option<String> {
    match given {
        Some(value) => Some(value.clone()).filter(|v| !v.is_empty()),
        None => manual.map(String::from),
    }
}

impl Settings {
    /// Whether deployer.toml switches the function off, or never had it.
    fn function_enabled(&self, name: &str) -> bool {
        self.functions.get(name).and_then(|f| f.enabled).unwrap_or(true)
    }

    /// The functions to deploy, by name after `SERVICE-`: the manual's that are not switched off, in its
    /// order, then deployer.toml's own, by name.
    pub fn function_names(&self) -> Vec<&str> {
        let manual = FUNCTIONS.iter().map(|f| f.suffix);
        let added =
            self.functions.keys().map(String::as_str).filter(|name| !FUNCTIONS.iter().any(|f| f.suffix == *name));
        manual.chain(added).filter(|name| self.function_enabled(name)).collect()
    }

    pub fn has_function(&self, name: &str) -> bool {
        self.function_names().contains(&name)
    }

    /// The tables to deploy, by name after `SERVICE-`, as [`Settings::function_names`] orders functions.
    pub fn table_names(&self) -> Vec<&str> {
        let enabled = |name: &&str| self.tables.get(*name).and_then(|t| t.enabled).unwrap_or(true);
        let manual = TABLES.iter().map(|t| t.suffix);
        let added = self.tables.keys().map(String::as_str).filter(|name| !TABLES.iter().any(|t| t.suffix == *name));
        manual.chain(added).filter(enabled).collect()
    }

    /// Every table to deploy, resolved.
    pub fn deployed_tables(&self) -> Vec<Table> {
        self.table_names().into_iter().map(|name| self.table(name)).collect()
    }

    /// Table `name`, with the manual's keys where deployer.toml gives none.
    pub fn table(&self, name: &str) -> Table {
        let manual = TABLES.iter().find(|t| t.suffix == name);
        let given = self.tables.get(name);
        let partition_key = given.and_then(|t| t.partition_key.clone()).or(manual.map(|t| t.partition_key.to_string()));
        Table {
            name: name.to_string(),
            // Validation refuses a table of the file's own without a partition key.
            partition_key: partition_key.unwrap_or_default(),
            sort_key: given_or(given.and_then(|t| t.sort_key.as_ref()), manual.and_then(|t| t.sort_key)),
            ttl_attribute: given_or(given.and_then(|t| t.ttl_attribute.as_ref()), manual.and_then(|t| t.ttl_attribute)),
            indexes: given.map(|t| t.global_secondary_indexes.clone()).unwrap_or_default(),
        }
    }

    /// The tables function `name` may reach: deployer.toml's `tables`, else every table.
    pub fn tables_of(&self, name: &str) -> Vec<&str> {
        match self.functions.get(name).and_then(|f| f.tables.as_ref()) {
            Some(listed) => self.table_names().into_iter().filter(|t| listed.iter().any(|l| l == t)).collect(),
            None => self.table_names(),
        }
    }

    /// Whether the function has a role of its own (it lists its `tables`), rather than the shared one.
    pub fn has_own_role(&self, name: &str) -> bool {
        self.functions.get(name).is_some_and(|f| f.tables.is_some())
    }

    /// `NAME_TABLE` → table name (after `SERVICE-`), for the tables function `name` may reach.
    pub fn table_variables_of(&self, name: &str) -> BTreeMap<String, String> {
        self.tables_of(name).into_iter().map(|t| (table_variable(t), t.to_string())).collect()
    }

    /// The variables 02-lambda gives function `name` at `stage`: `SERVICE_NAME`, `STAGE`, the CORS origins
    /// (`CORS_ORIGINS`, and `CORS_ORIGIN` for backends that answer one), each reachable table's full name
    /// and each secret's `NAME_SECRET_ARN` (`secret_arn` maps deployer.toml's ID to what the function reads
    /// with GetSecretValue). One function for 02 and `deployer dev`, so a local worker sees what Lambda does.
    pub fn function_environment(
        &self,
        name: &str,
        stage: &str,
        origins: &[String],
        secret_arn: impl Fn(&str) -> Option<String>,
    ) -> BTreeMap<String, String> {
        let mut variables = BTreeMap::from([
            ("SERVICE_NAME".to_string(), self.service.clone()),
            ("STAGE".to_string(), stage.to_string()),
            ("CORS_ORIGINS".to_string(), origins.join(",")),
            ("CORS_ORIGIN".to_string(), origins.first().cloned().unwrap_or_else(|| "*".to_string())),
        ]);
        let tables = self.table_variables_of(name).into_iter();
        variables.extend(tables.map(|(variable, table)| (variable, crate::names::resource(&self.service, &table))));
        for (variable, id) in self.secrets(name).into_iter().flatten() {
            if let Some(arn) = secret_arn(id) {
                variables.insert(format!("{variable}_SECRET_ARN"), arn);
            }
        }
        variables
    }

    /// The function's handler: deployer.toml's, else the manual's.
    pub fn handler(&self, name: &str) -> &str {
        let given = self.functions.get(name).and_then(|f| f.handler.as_deref());
        // Validation refuses a function of the file's own without a handler.
        given.or_else(|| FUNCTIONS.iter().find(|f| f.suffix == name).map(|f| f.handler)).unwrap_or_default()
    }

    pub fn memory(&self, name: &str) -> i32 {
        let manual = FUNCTIONS.iter().find(|f| f.suffix == name).map_or(DEFAULT_MEMORY_MB, |f| f.memory_mb);
        self.functions.get(name).and_then(|f| f.memory).unwrap_or(manual)
    }

    pub fn timeout(&self, name: &str) -> i32 {
        self.functions.get(name).and_then(|f| f.timeout).unwrap_or(manual::FUNCTION_TIMEOUT_SECONDS)
    }

    pub fn architecture(&self, name: &str) -> &str {
        self.functions.get(name).and_then(|f| f.architecture.as_deref()).unwrap_or(&self.architecture)
    }

    /// Every architecture some function runs on, the global one first.
    pub fn architectures(&self) -> Vec<&str> {
        let mut all = vec![self.architecture.as_str()];
        for name in self.function_names() {
            let architecture = self.architecture(name);
            if !all.contains(&architecture) {
                all.push(architecture);
            }
        }
        all
    }

    pub fn reserved_concurrency(&self, name: &str) -> Option<i32> {
        self.functions.get(name).and_then(|f| f.reserved_concurrency)
    }

    pub fn provisioned_concurrency(&self, name: &str) -> Option<i32> {
        self.functions.get(name).and_then(|f| f.provisioned_concurrency)
    }

    /// The function's secrets: environment name → secret ID.
    pub fn secrets(&self, name: &str) -> Option<&BTreeMap<String, String>> {
        self.functions.get(name).map(|f| &f.secrets).filter(|s| !s.is_empty())
    }

    /// The REST routes to deploy: deployer.toml's when it has any, else the manual's whose function is
    /// deployed.
    pub fn routes(&self) -> Vec<Route<'_>> {
        if self.routes.is_empty() {
            let manual = ROUTES.iter().filter(|r| self.has_function(r.function));
            return manual.map(|r| Route { path: r.path, methods: r.methods.to_vec(), function: r.function }).collect();
        }
        let given = self.routes.iter();
        given
            .map(|r| Route {
                path: &r.path,
                methods: r.methods.iter().map(String::as_str).collect(),
                function: &r.function,
            })
            .collect()
    }

    /// The WebSocket routes, route key → function: the manual's three whose function is deployed, with
    /// deployer.toml's `[[websocket.routes]]` added (or replacing the manual's of the same key). None: no
    /// WebSocket API.
    pub fn websocket_routes(&self) -> Vec<(&str, &str)> {
        let given = &self.websocket.routes;
        let manual = WEBSOCKET_ROUTES
            .iter()
            .filter(|(key, function)| self.has_function(function) && !given.iter().any(|r| r.route_key == *key))
            .map(|(key, function)| (*key, *function));
        manual.chain(given.iter().map(|r| (r.route_key.as_str(), r.function.as_str()))).collect()
    }

    /// The functions that answer WebSocket clients (every route but `$connect` and `$disconnect`): they get
    /// the management endpoint in their environment.
    pub fn websocket_answerers(&self) -> Vec<&str> {
        let mut answerers = Vec::new();
        for (key, function) in self.websocket_routes() {
            if !matches!(key, "$connect" | "$disconnect") && !answerers.contains(&function) {
                answerers.push(function);
            }
        }
        answerers
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::test_settings;

    #[test]
    fn a_file_that_names_nothing_deploys_the_manuals_shape() {
        let settings = test_settings();
        assert_eq!(settings.function_names(), FUNCTIONS.iter().map(|f| f.suffix).collect::<Vec<_>>());
        assert_eq!(settings.table_names(), TABLES.iter().map(|t| t.suffix).collect::<Vec<_>>());
        assert_eq!(settings.routes().len(), ROUTES.len());
        assert_eq!(settings.websocket_routes().len(), WEBSOCKET_ROUTES.len());
        assert_eq!(settings.websocket_answerers(), ["websocket-message"]);
        let variables = settings.table_variables_of("conversation-api");
        let manual: BTreeMap<String, String> =
            TABLE_VARIABLES.iter().map(|(v, t)| (v.to_string(), t.to_string())).collect();
        assert_eq!(variables, manual, "the manual's variable names stay");
    }

    #[test]
    fn added_functions_and_tables_come_after_the_manuals_and_switched_off_ones_take_their_routes_along() {
        let settings: Settings = test_settings().with_toml(
            r#"
            [functions.billing-webhook]
            handler = "handlers.api.billing.handler"
            tables = ["usage", "invoices"]
            [functions.prompt-crud]
            enabled = false
            [functions.websocket-message]
            enabled = false
            [tables.invoices]
            partition_key = "invoiceId"
            sort_key = "line"
            [tables.prompts]
            enabled = false
            [[websocket.routes]]
            route_key = "sendMessage"
            function = "billing-webhook"
            "#,
        );
        let functions = settings.function_names();
        assert_eq!(functions.last(), Some(&"billing-webhook"));
        assert!(!functions.contains(&"prompt-crud") && !functions.contains(&"websocket-message"));
        assert_eq!(settings.table_names().last(), Some(&"invoices"));
        assert!(!settings.table_names().contains(&"prompts"));
        assert_eq!(settings.tables_of("billing-webhook"), ["usage", "invoices"]);
        assert_eq!(
            settings.table_variables_of("billing-webhook").keys().collect::<Vec<_>>(),
            ["INVOICES_TABLE", "USAGE_TABLE"]
        );
        assert!(settings.has_own_role("billing-webhook") && !settings.has_own_role("usage-handler"));
        assert_eq!(settings.memory("billing-webhook"), DEFAULT_MEMORY_MB);
        assert!(settings.routes().iter().all(|r| r.function != "prompt-crud"));
        let keys: Vec<&str> = settings.websocket_routes().iter().map(|(key, _)| *key).collect();
        assert_eq!(keys, ["$connect", "$disconnect", "sendMessage"], "$default went with its function");
        assert_eq!(settings.websocket_answerers(), ["billing-webhook"]);
        let invoices = settings.table("invoices");
        assert_eq!((invoices.partition_key.as_str(), invoices.sort_key.as_deref()), ("invoiceId", Some("line")));
    }

    #[test]
    fn a_table_variable_is_the_manuals_name_else_the_table_in_capitals() {
        assert_eq!(table_variable("websocket-connections"), "CONNECTIONS_TABLE");
        assert_eq!(table_variable("order-items"), "ORDER_ITEMS_TABLE");
    }
}

#[cfg(test)]
mod validation_tests {
    use crate::settings::test_settings;

    fn refused(toml: &str) -> String {
        match test_settings().with_toml(toml).validate() {
            Err(e) => e.0,
            Ok(()) => panic!("accepted:\n{toml}"),
        }
    }

    #[test]
    fn an_added_function_needs_a_handler_and_a_name_aws_takes() {
        assert!(refused("[functions.billing]\nmemory = 256\n").contains("needs its handler"));
        let handler = "handler = \"handlers.api.billing.handler\"\n";
        assert!(refused(&format!("[functions.Billing]\n{handler}")).contains("lowercase letters"));
        assert!(refused(&format!("[functions.billing--hook]\n{handler}")).contains("single hyphens"));
        let long = "a".repeat(53);
        let message = refused(&format!("[functions.{long}]\n{handler}"));
        assert!(message.contains("65 characters; AWS allows 64") && message.contains("by 1"), "{message}");
        assert!(refused(&format!("[functions.lambda-role]\n{handler}")).contains("shared role"));
    }

    #[test]
    fn an_added_table_needs_its_partition_key() {
        assert!(refused("[tables.invoices]\nsort_key = \"line\"\n").contains("needs its partition_key"));
        assert!(refused("[tables.in_voices]\npartition_key = \"id\"\n").contains("lowercase letters"));
    }

    #[test]
    fn references_must_name_what_is_deployed() {
        let message = refused("[functions.usage-handler]\ntables = [\"invoices\"]\n");
        assert!(message.contains("tables names 'invoices', which is not deployed"), "{message}");
        let off = "[functions.prompt-crud]\nenabled = false\n";
        let route = "[[routes]]\npath = \"/prompts\"\nmethods = [\"GET\"]\nfunction = \"prompt-crud\"\n";
        assert!(refused(&format!("{off}{route}")).contains("'prompt-crud', which is not deployed"));
        let ws = "[[websocket.routes]]\nroute_key = \"send\"\nfunction = \"nowhere\"\n";
        assert!(refused(ws).contains("'nowhere', which is not deployed"));
        let twice = "[[websocket.routes]]\nroute_key = \"send\"\nfunction = \"websocket-message\"\n";
        assert!(refused(&format!("{twice}{twice}")).contains("twice"));
        let table_off = "[tables.usage]\nenabled = false\n[functions.usage-handler]\ntables = [\"usage\"]\n";
        assert!(refused(table_off).contains("'usage', which is not deployed"));
    }

    #[test]
    fn switching_the_manuals_parts_off_is_valid() {
        let off = "[functions.prompt-crud]\nenabled = false\n[tables.prompts]\nenabled = false\n";
        assert_eq!(test_settings().with_toml(off).validate(), Ok(()));
    }
}

#[cfg(test)]
mod variable_tests {
    use crate::settings::test_settings;

    #[test]
    fn two_tables_may_not_reach_the_functions_by_one_variable() {
        let clash = test_settings().with_toml("[tables.connections]\npartition_key = \"id\"\n").validate();
        let message = clash.unwrap_err().0;
        assert!(message.contains("both reach the functions as CONNECTIONS_TABLE"), "{message}");
    }
}
