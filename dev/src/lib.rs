//! `deployer dev`: the backend on a laptop, the same handler code unchanged, no Docker.
//!
//! One entry, [`serve`], and one file per concern:
//! - [`backend`]: what is served, read once from the settings;
//! - [`rest`], [`routes`], [`events`], [`answer`]: the REST API as API Gateway's proxy integration;
//! - [`websocket`]: the WebSocket API and its management API (`@connections`), over [`tls`] too;
//! - [`runtime`], [`workers`], [`python`], [`invoke`]: a Lambda Runtime API per function, driving one
//!   warm `awslambdaric` worker each;
//! - [`tables`]: an embedded DynamoDB (moto) with the settings' tables;
//! - [`watch`]: saved files restart the workers they affect;
//! - [`frontend`]: the user's own dev server beside it;
//! - [`report`]: what the user sees (`--output json` for programs).
//!
//! The server lives in the `Send` + `Arc` world; it names no step module (a layout test checks).

pub mod answer;
pub mod backend;
pub mod events;
pub mod frontend;
pub mod http;
pub mod invoke;
pub mod python;
pub mod report;
pub mod rest;
pub mod routes;
pub mod runtime;
pub mod tables;
pub mod tls;
pub mod watch;
pub mod websocket;
mod workers;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use deployer_steps::manual::MANAGEMENT_ENDPOINT_VARIABLE;
use deployer_steps::settings::AuthKind;
use deployer_steps::InputError;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use backend::Backend;
use invoke::Functions;
use report::{Listening, Reporter};
use runtime::FunctionRuntime;
use watch::Affected;
use workers::WorkerSpec;

/// Where the handlers' tables are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TablesAt {
    /// An embedded DynamoDB (moto), the settings' tables created empty.
    Local,
    /// The deployed tables, with the user's credentials.
    Aws,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub port: u16,
    pub ws_port: u16,
    pub tables: TablesAt,
    /// The user's dev server (`npm run dev`), run in the frontend folder with the URLs in its environment.
    pub frontend_dev: Option<String>,
    pub json: bool,
    /// The project's cache (next to the state file): the requirements installed for this machine.
    pub cache: PathBuf,
}

/// How long stopping may take before what is left is killed.
const GRACE: Duration = Duration::from_secs(3);

/// Serves `backend` until `shutdown` completes, then stops everything it started.
pub async fn serve(backend: Backend, options: Options, shutdown: impl Future<Output = ()>) -> Result<()> {
    let python = python::interpreter();
    let moto = match options.tables {
        TablesAt::Local => Some(tables::moto_python(&python)?),
        TablesAt::Aws => None,
    };
    let rest_listener = bind(options.port, "--port").await?;
    let ws_listener = bind(options.ws_port, "--ws-port").await?;
    let (port, ws_port) = (rest_listener.local_addr()?.port(), ws_listener.local_addr()?.port());

    let reporter = Arc::new(Reporter::new(options.json));
    // Absolute: the workers run in the backend folder, and find their packages through this.
    std::fs::create_dir_all(&options.cache).with_context(|| format!("creating {}", options.cache.display()))?;
    let cache = options.cache.canonicalize().with_context(|| format!("finding {}", options.cache.display()))?;
    let version = python::version(&python)?;
    let mut python_path = Vec::new();
    python_path.extend(python::requirements(&python, &version, &backend.folder, &cache)?);
    python_path.push(python::runtime_packages(&python, &version)?);

    let local_tables = match &moto {
        Some(moto) => Some(start_tables(moto, &backend).await?),
        None => None,
    };
    let tls = tls::make(&cache.join("dev-tls"))?;

    let mut environment = BTreeMap::from([
        ("AWS_CA_BUNDLE".to_string(), tls.ca_bundle.to_string_lossy().into_owned()),
        ("NO_PROXY".to_string(), "127.0.0.1,localhost".to_string()),
        ("no_proxy".to_string(), "127.0.0.1,localhost".to_string()),
    ]);
    if let Some(local) = &local_tables {
        environment.insert("AWS_ENDPOINT_URL_DYNAMODB".to_string(), local.endpoint.clone());
        // moto takes any credentials; the caller's may be absent.
        for (name, value) in [("AWS_ACCESS_KEY_ID", "local"), ("AWS_SECRET_ACCESS_KEY", "local")] {
            if std::env::var_os(name).is_none() {
                environment.insert(name.to_string(), value.to_string());
            }
        }
    }
    let spec = WorkerSpec {
        python: python.clone(),
        backend: backend.folder.canonicalize().unwrap_or_else(|_| backend.folder.clone()),
        python_path,
        region: backend.region.clone(),
        environment,
        reporter: reporter.clone(),
    };

    let stop = CancellationToken::new();
    let tasks = TaskTracker::new();
    let mut runtimes = BTreeMap::new();
    let management_endpoint = format!("https://127.0.0.1:{ws_port}/{}", backend.stage);
    for function in backend.functions.values() {
        let mut function = function.clone();
        if backend.websocket_answerers.contains(&function.name) {
            function.environment.insert(MANAGEMENT_ENDPOINT_VARIABLE.to_string(), management_endpoint.clone());
        }
        let name = function.name.clone();
        runtimes.insert(name, FunctionRuntime::new(function, spec.clone(), stop.clone(), &tasks));
    }
    let functions = Functions(Arc::new(runtimes));

    let host = "127.0.0.1";
    let api_url = format!("http://{host}:{port}/{}", backend.stage);
    let ws_url = format!("ws://{host}:{ws_port}/{}", backend.stage);
    let mut origins = backend.cors_origins.clone();
    if !origins.iter().any(|o| o == "*") {
        origins.extend([format!("http://{host}:{port}"), format!("http://localhost:{port}")]);
    }
    let mut stage_variables = backend.stage_variables.clone();
    if !origins.iter().any(|o| o == "*") {
        stage_variables.insert("corsOrigins".to_string(), origins.join(","));
        stage_variables.insert("corsOrigin".to_string(), origins[0].clone());
    }
    let api = |domain_name: String, id: &str| events::Api {
        id: id.to_string(),
        stage: backend.stage.clone(),
        domain_name,
        stage_variables: stage_variables.clone(),
    };
    let api_key = (backend.auth == AuthKind::ApiKey).then(|| format!("local-{}", uuid::Uuid::new_v4().simple()));
    let rest = Arc::new(rest::RestApi {
        api: api(format!("{host}:{port}"), "localrest"),
        routes: backend.routes.clone(),
        functions: functions.clone(),
        reporter: reporter.clone(),
        auth: backend.auth,
        api_key: api_key.clone(),
        cors_origins: origins,
        cors_allow_headers: backend.cors_allow_headers.clone(),
        site: backend.frontend.join("dist"),
        config_js: deployer_steps::site::config_js(&api_url, &ws_url),
    });
    http::serve(rest_listener, None, move |request, peer| rest.clone().handle(request, peer), stop.clone(), &tasks);
    let websocket = Arc::new(websocket::WebSocketApi::new(
        api(format!("{host}:{ws_port}"), "localws"),
        backend.websocket_routes.clone(),
        backend.route_selection.clone(),
        functions.clone(),
        reporter.clone(),
        tasks.clone(),
    ));
    let management_tls = Some(tls.acceptor.clone());
    http::serve(
        ws_listener,
        management_tls,
        move |request, peer| websocket.clone().handle(request, peer),
        stop.clone(),
        &tasks,
    );

    let changes = watch::watch(&backend.folder, stop.clone()).context("watching the backend folder for saved files")?;
    tasks.spawn(restart_on_change(
        changes,
        functions.clone(),
        backend.functions.values().cloned().collect(),
        reporter.clone(),
    ));

    let frontend_dev = match &options.frontend_dev {
        Some(command) => {
            Some(frontend::DevServer::start(command, &backend.frontend, &api_url, &ws_url, reporter.clone())?)
        }
        None => None,
    };

    let mut notices = Vec::new();
    if backend.auth == AuthKind::Cognito {
        notices.push(
            "[auth] cognito: the claims come from the token's payload; signatures are NOT checked locally".to_string(),
        );
    }
    if options.tables == TablesAt::Aws {
        notices.push(format!(
            "--tables aws: the handlers use the deployed tables in {} with your credentials; writes are real",
            backend.region
        ));
    }
    let tables_description = match &local_tables {
        Some(local) => format!("local (moto at {}, {} tables)", local.endpoint, backend.tables.len()),
        None => format!("aws ({}, deployed tables)", backend.region),
    };
    reporter.listening(&Listening {
        port,
        ws_port,
        api_url,
        ws_url,
        frontend_url: format!("http://{host}:{port}/"),
        tables: tables_description,
        tables_endpoint: local_tables.as_ref().map(|t| t.endpoint.clone()),
        api_key,
        notices,
    });

    shutdown.await;
    // The workers first: a worker whose Runtime API went away first would print a traceback.
    let stopping = async {
        functions.stop().await;
        stop.cancel();
        tasks.close();
        if let Some(server) = frontend_dev {
            server.stop().await;
        }
        if let Some(local) = local_tables {
            local.stop().await;
        }
        tasks.wait().await;
    };
    // Whatever outlasts the grace is killed on drop (`kill_on_drop`), the workers' lifelines cut.
    let _ = tokio::time::timeout(GRACE, stopping).await;
    Ok(())
}

async fn bind(port: u16, flag: &str) -> Result<TcpListener> {
    TcpListener::bind(("127.0.0.1", port)).await.map_err(|e| {
        InputError(format!(
            "port {port} is not free on 127.0.0.1 ({e}): give another with {flag} (0 for any free port)"
        ))
        .into()
    })
}

async fn start_tables(moto: &std::path::Path, backend: &Backend) -> Result<tables::LocalTables> {
    let local = tables::LocalTables::start(moto).await?;
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(backend.region.clone()))
        .endpoint_url(&local.endpoint)
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new("local", "local", None, None, "deployer-dev"))
        .load()
        .await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    tables::create_tables(&client, &backend.service, &backend.tables).await?;
    Ok(local)
}

async fn restart_on_change(
    mut changes: tokio::sync::mpsc::UnboundedReceiver<Vec<PathBuf>>,
    functions: Functions,
    all: Vec<backend::Function>,
    reporter: Arc<Reporter>,
) {
    while let Some(batch) = changes.recv().await {
        let mut names = std::collections::BTreeSet::new();
        for path in &batch {
            match watch::affected(path, &all) {
                Affected::Nothing => {}
                Affected::Some(some) => names.extend(some),
                Affected::Every => names.extend(all.iter().map(|f| f.name.clone())),
                Affected::Requirements => {
                    reporter.note("notice", "requirements.txt changed: stop and start `deployer dev` to install it");
                    names.extend(all.iter().map(|f| f.name.clone()));
                }
            }
        }
        if names.is_empty() {
            continue;
        }
        let names: Vec<String> = names.into_iter().collect();
        let started = std::time::Instant::now();
        functions.restart(&names).await;
        let shown: Vec<String> = batch.iter().map(|p| p.display().to_string()).collect();
        reporter.note(
            "restarted",
            &format!(
                "{} changed: restarted {} ({:.0} ms)",
                shown.join(", "),
                names.join(", "),
                started.elapsed().as_secs_f64() * 1000.0
            ),
        );
    }
}
