//! The backend `deployer dev` serves, read once from the settings: functions, REST and WebSocket routes,
//! tables. Everything the server needs is here, owned and `Send`, so the server never sees the steps'
//! types.

use std::collections::BTreeMap;
use std::path::PathBuf;

use deployer_steps::manual::{handler_file, CORS_ALLOW_HEADERS, WEBSOCKET_CONNECTIONS, WEBSOCKET_ROUTE_SELECTION};
use deployer_steps::settings::{table_variable, AuthKind, Table};
use deployer_steps::{InputError, Settings};

/// One function as Lambda would run it.
#[derive(Debug, Clone)]
pub struct Function {
    /// The suffix (`conversation-api`): what logs and errors name.
    pub name: String,
    /// The deployed name (`SERVICE-conversation-api`), which the context's ARN and log group carry.
    pub full_name: String,
    /// `handlers.api.conversation.handler`.
    pub handler: String,
    /// The handler's file under the backend, relative (`handlers/api/conversation.py`).
    pub handler_file: String,
    pub memory_mb: i32,
    pub timeout_s: i32,
    /// The variables 02-lambda gives it (tables, stage, origins, secrets).
    pub environment: BTreeMap<String, String>,
}

/// A REST route: a path template (`/conversations/{id}`) and the methods a function answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestRoute {
    pub path: String,
    pub methods: Vec<String>,
    pub function: String,
}

#[derive(Debug, Clone)]
pub struct Backend {
    pub service: String,
    pub region: String,
    pub stage: String,
    pub folder: PathBuf,
    pub frontend: PathBuf,
    pub functions: BTreeMap<String, Function>,
    pub routes: Vec<RestRoute>,
    /// Route key → function; `$connect`, `$disconnect`, `$default` and deployer.toml's own keys.
    pub websocket_routes: BTreeMap<String, String>,
    /// The functions behind WebSocket routes other than `$connect` and `$disconnect`, which 04 gives the
    /// management endpoint.
    pub websocket_answerers: Vec<String>,
    /// `$request.body.action`: the JSON field of a message that names its route.
    pub route_selection: String,
    pub tables: Vec<Table>,
    pub auth: AuthKind,
    /// The origins the stage allows (CORS), as 07-stages gives them.
    pub cors_origins: Vec<String>,
    pub cors_allow_headers: String,
    /// Stage variables as 07-stages sets them (`environment`, `corsOrigins`).
    pub stage_variables: BTreeMap<String, String>,
}

impl Backend {
    /// The backend of `settings` at `stage`; refuses what `deployer dev` cannot emulate, naming the setting.
    pub fn of(settings: &Settings, stage: &str) -> Result<Backend, InputError> {
        if let Some(vpc) = &settings.vpc {
            return Err(InputError(format!(
                "[vpc] puts the functions in subnets {:?}, which a laptop cannot reach: remove [vpc] from the \
                 file `deployer dev` reads (e.g. --config deployer.dev.toml), or test in the deployed dev stage",
                vpc.subnet_ids
            )));
        }
        if !settings.backend.is_dir() {
            return Err(InputError(format!(
                "the backend folder {} does not exist: give --backend (the folder with handlers/)",
                settings.backend.display()
            )));
        }
        let mut origins = settings.cors_origins(stage, None);
        let functions = settings.function_names().into_iter().map(|name| {
            let environment = settings.function_environment(name, stage, &origins, |id| Some(id.to_string()));
            let function = Function {
                name: name.to_string(),
                full_name: deployer_steps::names::resource(&settings.service, name),
                handler: settings.handler(name).to_string(),
                handler_file: handler_file(settings.handler(name)),
                memory_mb: settings.memory(name),
                timeout_s: settings.timeout(name),
                environment,
            };
            (name.to_string(), function)
        });
        let mut functions: BTreeMap<String, Function> = functions.collect();
        // As 04-websocket gives them: the functions answering WebSocket clients also reach the connections'
        // table (their management endpoint is added once the port is bound).
        let connections = settings.table_names().contains(&WEBSOCKET_CONNECTIONS);
        for name in settings.websocket_answerers().into_iter().filter(|_| connections) {
            if let Some(function) = functions.get_mut(name) {
                let table = deployer_steps::names::resource(&settings.service, WEBSOCKET_CONNECTIONS);
                function.environment.insert(table_variable(WEBSOCKET_CONNECTIONS), table);
            }
        }
        for function in functions.values() {
            if !settings.backend.join(&function.handler_file).is_file() {
                return Err(InputError(format!(
                    "function {} has handler {}, but {} is not in {}: fix its handler in deployer.toml, or add the file",
                    function.name,
                    function.handler,
                    function.handler_file,
                    settings.backend.display()
                )));
            }
        }
        let routes = settings.routes().into_iter().map(|r| RestRoute {
            path: r.path.to_string(),
            methods: r.methods.iter().map(|m| m.to_string()).collect(),
            function: r.function.to_string(),
        });
        let websocket_routes =
            settings.websocket_routes().into_iter().map(|(key, f)| (key.to_string(), f.to_string())).collect();
        let websocket_answerers = settings.websocket_answerers().into_iter().map(String::from).collect();
        let stage_variables = deployer_steps::manual::stage_variables(stage).into_iter().collect();
        if origins.is_empty() {
            origins.push("*".to_string());
        }
        let backend = Backend {
            service: settings.service.clone(),
            region: settings.region.clone(),
            stage: stage.to_string(),
            folder: settings.backend.clone(),
            frontend: settings.frontend.clone(),
            functions,
            routes: routes.collect(),
            websocket_routes,
            websocket_answerers,
            route_selection: WEBSOCKET_ROUTE_SELECTION.to_string(),
            tables: settings.deployed_tables(),
            auth: settings.auth.kind,
            cors_origins: origins,
            cors_allow_headers: CORS_ALLOW_HEADERS.to_string(),
            stage_variables,
        };
        backend.check_routes()?;
        Ok(backend)
    }

    /// Every route names a function the backend has (settings validation checks the same for a deploy;
    /// this guards a hand-built backend too).
    fn check_routes(&self) -> Result<(), InputError> {
        let rest = self.routes.iter().map(|r| (format!("route {}", r.path), &r.function));
        let websocket = self.websocket_routes.iter().map(|(key, f)| (format!("WebSocket route {key}"), f));
        for (what, function) in rest.chain(websocket) {
            if !self.functions.contains_key(function) {
                return Err(InputError(format!(
                    "{what} names function {function}, which the backend does not have: add [functions.{function}] \
                     with its handler to deployer.toml, or point the route at one of {}",
                    self.functions.keys().cloned().collect::<Vec<_>>().join(", ")
                )));
            }
        }
        Ok(())
    }
}
