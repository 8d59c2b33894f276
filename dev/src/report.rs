//! What `deployer dev` tells its user: one line per event, text for people or JSON lines for programs
//! (`--output json`, whose first line is `{"event":"listening",…}` with the ports bound).

use std::io::Write as _;

use serde_json::{json, Value};

pub struct Reporter {
    json: bool,
}

impl Reporter {
    pub fn new(json: bool) -> Reporter {
        Reporter { json }
    }

    fn emit(&self, event: Value, text: String) {
        let line = if self.json { event.to_string() } else { text };
        // A closed stdout (the user piped into `head`) must not stop the server.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }

    /// A line a worker printed, under its function's name.
    pub fn log(&self, function: &str, line: &str) {
        self.emit(json!({"event": "log", "function": function, "line": line}), format!("[{function}] {line}"));
    }

    /// Something worth a line of its own (a worker restarted, a route answered 502 and why).
    pub fn note(&self, what: &str, message: &str) {
        self.emit(json!({"event": what, "message": message}), format!("  {message}"));
    }

    /// A request answered: method, path, status and time, as an access log.
    pub fn request(&self, method: &str, path: &str, status: u16, millis: f64) {
        self.emit(
            json!({"event": "request", "method": method, "path": path, "status": status, "ms": millis}),
            format!("{method} {path} → {status} ({millis:.1} ms)"),
        );
    }

    /// A WebSocket route's function ran for a connection (`ok`: it returned; else it failed).
    pub fn websocket(&self, route: &str, connection: &str, ok: bool, millis: f64) {
        let outcome = if ok { "ok" } else { "failed" };
        self.emit(
            json!({"event": "websocket", "route": route, "connection": connection, "ok": ok, "ms": millis}),
            format!("WS {route} {connection} → {outcome} ({millis:.1} ms)"),
        );
    }

    /// The first line: where everything listens.
    pub fn listening(&self, listening: &Listening) {
        let event = json!({
            "event": "listening",
            "port": listening.port,
            "ws_port": listening.ws_port,
            "api_url": listening.api_url,
            "ws_url": listening.ws_url,
            "frontend_url": listening.frontend_url,
            "tables": listening.tables,
            "tables_endpoint": listening.tables_endpoint,
            "api_key": listening.api_key,
            "notices": listening.notices,
        });
        let mut text = format!(
            "deployer dev: serving\n  REST API   {}\n  WebSocket  {}\n  frontend   {}\n  tables     {}",
            listening.api_url, listening.ws_url, listening.frontend_url, listening.tables
        );
        if let Some(key) = &listening.api_key {
            text.push_str(&format!("\n  API key    {key} (send it as x-api-key)"));
        }
        for notice in &listening.notices {
            text.push_str(&format!("\n  note: {notice}"));
        }
        text.push_str("\n  Ctrl-C stops everything.");
        self.emit(event, text);
    }
}

/// Where `deployer dev` serves what.
#[derive(Debug, Clone)]
pub struct Listening {
    pub port: u16,
    pub ws_port: u16,
    pub api_url: String,
    pub ws_url: String,
    pub frontend_url: String,
    /// `local (moto at http://127.0.0.1:PORT)` or `aws (REGION)`.
    pub tables: String,
    pub tables_endpoint: Option<String>,
    pub api_key: Option<String>,
    pub notices: Vec<String>,
}
