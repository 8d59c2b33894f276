//! The local WebSocket API: `ws://127.0.0.1:PORT/STAGE` runs `$connect` before it accepts (a non-2xx
//! answer refuses the connection, as on AWS), routes each message by the selection expression, and runs
//! `$disconnect` when the socket closes. The same port serves the management API
//! (`POST`/`GET`/`DELETE /STAGE/@connections/{id}`), in plain HTTP and over TLS, where handlers'
//! `PostToConnection` reaches it unchanged.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use base64::Engine as _;
use futures::{SinkExt as _, StreamExt as _};
use hyper::body::Incoming;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{frame::coding::CloseCode, CloseFrame, Role};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use tokio_util::task::TaskTracker;

use crate::answer::{self, Answer};
use crate::events::{self, At, Connection, WebSocketEvent};
use crate::http::{self, Body};
use crate::invoke::{Functions, Invoked};
use crate::report::Reporter;

pub struct WebSocketApi {
    pub api: events::Api,
    pub routes: BTreeMap<String, String>,
    pub route_selection: String,
    pub functions: Functions,
    pub reporter: Arc<Reporter>,
    pub tasks: TaskTracker,
    connections: Mutex<HashMap<String, Open>>,
}

/// An open connection: who it is, and the way to its socket.
struct Open {
    connection: Connection,
    last_active: At,
    outbox: mpsc::UnboundedSender<Outgoing>,
}

enum Outgoing {
    Frame(Message),
    Close,
}

impl WebSocketApi {
    pub fn new(
        api: events::Api,
        routes: BTreeMap<String, String>,
        route_selection: String,
        functions: Functions,
        reporter: Arc<Reporter>,
        tasks: TaskTracker,
    ) -> WebSocketApi {
        WebSocketApi {
            api,
            routes,
            route_selection,
            functions,
            reporter,
            tasks,
            connections: Mutex::new(HashMap::new()),
        }
    }

    pub async fn handle(self: Arc<Self>, request: Request<Incoming>, peer: SocketAddr) -> Response<Body> {
        let path = request.uri().path().to_string();
        let stage_prefix = format!("/{}", self.api.stage);
        let within_stage = path.strip_prefix(&stage_prefix).filter(|rest| rest.is_empty() || rest.starts_with('/'));
        // boto3 with endpoint https://HOST/STAGE calls /STAGE/@connections/ID; clients without the stage too.
        let management = within_stage
            .unwrap_or(&path)
            .strip_prefix("/@connections/")
            .map(|id| percent_encoding::percent_decode_str(id).decode_utf8_lossy().into_owned());
        if let Some(id) = management {
            let method = request.method().clone();
            let body = http::read_body(request.into_body()).await;
            return http::respond(self.manage(&method, &id, body));
        }
        if within_stage.is_some_and(|rest| rest.is_empty() || rest == "/") && is_upgrade(&request) {
            return self.open(request, peer).await;
        }
        http::respond(Answer::gateway_error(
            403,
            &format!("Forbidden: the WebSocket API is ws://{}/{}", self.api.domain_name, self.api.stage),
            "ForbiddenException",
        ))
    }

    /// `$connect`, then the upgrade; the socket's own task reads and writes until it closes.
    async fn open(self: Arc<Self>, request: Request<Incoming>, peer: SocketAddr) -> Response<Body> {
        let Some(key) = request.headers().get("sec-websocket-key").map(|k| derive_accept_key(k.as_bytes())) else {
            return http::respond(Answer::gateway_error(400, "no Sec-WebSocket-Key", "BadRequestException"));
        };
        let headers = http::headers_of(&request);
        let connection = Connection {
            id: connection_id(),
            connected_at: At(SystemTime::now()),
            source_ip: peer.ip().to_string(),
            user_agent: headers.iter().find(|(n, _)| n == "user-agent").map(|(_, v)| v.clone()),
        };
        if let Some(function) = self.routes.get("$connect") {
            let query = request.uri().query();
            let event = WebSocketEvent::Connect { headers: &headers, query };
            let answered = self.run(function, &connection, event).await;
            if let Some(refusal) = refusal(&answered) {
                self.reporter.note(
                    "refused",
                    &format!("$connect ({function}) refused connection {}: {}", connection.id, refusal.0),
                );
                return http::respond(refusal.1);
            }
        }
        let (outbox, inbox) = mpsc::unbounded_channel();
        let open = Open { connection: connection.clone(), last_active: connection.connected_at, outbox };
        if let Ok(mut connections) = self.connections.lock() {
            connections.insert(connection.id.clone(), open);
        }
        let api = self.clone();
        self.tasks.spawn(async move {
            match hyper::upgrade::on(request).await {
                Ok(upgraded) => {
                    let socket = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
                    api.converse(socket, connection, inbox).await;
                }
                Err(_) => {
                    api.forget(&connection.id);
                }
            }
        });
        let response = Response::builder()
            .status(101)
            .header("Connection", "Upgrade")
            .header("Upgrade", "websocket")
            .header("Sec-WebSocket-Accept", key)
            .body(Body::default());
        response.unwrap_or_else(|_| http::respond(Answer::internal_server_error()))
    }

    /// Messages in (each its own invocation, so a handler may post back while others run), frames out,
    /// then `$disconnect`.
    async fn converse(
        self: Arc<Self>,
        socket: WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>,
        connection: Connection,
        mut inbox: mpsc::UnboundedReceiver<Outgoing>,
    ) {
        let (mut sink, mut stream) = socket.split();
        let (mut status, mut reason) = (1005u16, String::new());
        loop {
            tokio::select! {
                incoming = stream.next() => match incoming {
                    Some(Ok(Message::Text(text))) => self.clone().received(&connection, text.as_bytes().to_vec()),
                    Some(Ok(Message::Binary(bytes))) => self.clone().received(&connection, bytes.to_vec()),
                    Some(Ok(Message::Close(frame))) => {
                        if let Some(frame) = frame {
                            (status, reason) = (u16::from(frame.code), frame.reason.to_string());
                        }
                        break;
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => { status = 1006; break; }
                },
                outgoing = inbox.recv() => match outgoing {
                    Some(Outgoing::Frame(message)) => { let _ = sink.send(message).await; }
                    Some(Outgoing::Close) | None => {
                        let frame = CloseFrame { code: CloseCode::Normal, reason: "".into() };
                        let _ = sink.send(Message::Close(Some(frame))).await;
                        status = 1000;
                        break;
                    }
                },
            }
        }
        self.forget(&connection.id);
        if let Some(function) = self.routes.get("$disconnect") {
            let event = WebSocketEvent::Disconnect { status_code: status, reason: &reason };
            self.run(function, &connection, event).await;
        }
    }

    fn received(self: Arc<Self>, connection: &Connection, body: Vec<u8>) {
        if let Ok(mut connections) = self.connections.lock() {
            if let Some(open) = connections.get_mut(&connection.id) {
                open.last_active = At(SystemTime::now());
            }
        }
        let connection = connection.clone();
        let api = self.clone();
        self.tasks.spawn(async move {
            let keys = api.routes.keys().map(String::as_str);
            let route = events::route_key(&api.route_selection, &body, keys)
                .or(api.routes.contains_key("$default").then_some("$default"));
            let request_id = connection_id();
            let Some(route) = route.map(str::to_string) else {
                api.post(&connection.id, gateway_message("Forbidden", &connection.id, &request_id));
                return;
            };
            let function = api.routes[&route].clone();
            let message_id = connection_id();
            let event = WebSocketEvent::Message { route_key: &route, body: &body, message_id: &message_id };
            if let Invoked::Failed(_) = api.run(&function, &connection, event).await {
                api.post(&connection.id, gateway_message("Internal server error", &connection.id, &request_id));
            }
        });
    }

    async fn run(&self, function: &str, connection: &Connection, event: WebSocketEvent<'_>) -> Invoked {
        let started = std::time::Instant::now();
        let request_id = uuid::Uuid::new_v4().to_string();
        let event = events::websocket_event(&self.api, connection, event, At(SystemTime::now()), &request_id);
        let route = event["requestContext"]["routeKey"].as_str().unwrap_or_default().to_string();
        let invoked = self.functions.invoke(function, event.to_string().into_bytes(), &self.reporter).await;
        let ok = matches!(invoked, Invoked::Result(_));
        self.reporter.websocket(&route, &connection.id, ok, started.elapsed().as_secs_f64() * 1000.0);
        invoked
    }

    fn post(&self, id: &str, text: String) -> bool {
        let connections = self.connections.lock();
        connections
            .ok()
            .and_then(|c| c.get(id).map(|open| open.outbox.send(Outgoing::Frame(Message::text(text))).is_ok()))
            .unwrap_or(false)
    }

    fn forget(&self, id: &str) {
        if let Ok(mut connections) = self.connections.lock() {
            connections.remove(id);
        }
    }

    /// The management API: post to, describe, or close a connection; an unknown one is gone (410).
    fn manage(&self, method: &Method, id: &str, body: Vec<u8>) -> Answer {
        let connections = match self.connections.lock() {
            Ok(connections) => connections,
            Err(_) => return Answer::internal_server_error(),
        };
        let Some(open) = connections.get(id) else {
            return Answer::gateway_error(410, &format!("connection {id} is gone"), "GoneException");
        };
        match *method {
            Method::POST => {
                let frame = match String::from_utf8(body) {
                    Ok(text) => Message::text(text),
                    Err(bytes) => Message::binary(bytes.into_bytes()),
                };
                let _ = open.outbox.send(Outgoing::Frame(frame));
                Answer { status: 200, headers: vec![], body: vec![] }
            }
            Method::GET => {
                let described = json!({
                    "ConnectedAt": iso8601(open.connection.connected_at),
                    "LastActiveAt": iso8601(open.last_active),
                    "Identity": { "SourceIp": open.connection.source_ip, "UserAgent": open.connection.user_agent },
                });
                Answer {
                    status: 200,
                    headers: vec![("Content-Type".into(), "application/json".into())],
                    body: described.to_string().into_bytes(),
                }
            }
            Method::DELETE => {
                let _ = open.outbox.send(Outgoing::Close);
                Answer { status: 204, headers: vec![], body: vec![] }
            }
            _ => Answer::gateway_error(405, "the management API takes POST, GET and DELETE", "BadRequestException"),
        }
    }
}

/// Why `$connect`'s outcome refuses the connection, and the answer the client gets; `None` accepts it.
fn refusal(answered: &Invoked) -> Option<(String, Answer)> {
    match answered {
        Invoked::Result(result) => match answer::from_result(result) {
            Ok(answer) if (200..300).contains(&answer.status) => None,
            Ok(answer) => Some((format!("it answered {}", answer.status), answer)),
            Err(malformed) => Some((malformed, Answer::internal_server_error())),
        },
        Invoked::Failed(answer) => Some(("the function failed".to_string(), answer.clone())),
    }
}

fn is_upgrade<B>(request: &Request<B>) -> bool {
    let has = |name: &str, value: &str| {
        request.headers().get_all(name).iter().any(|v| v.to_str().is_ok_and(|v| v.to_ascii_lowercase().contains(value)))
    };
    request.method() == Method::GET && has("upgrade", "websocket") && has("connection", "upgrade")
}

/// A connection ID like API Gateway's (`R1kmxc2VNjMCFIA=`): 10 random bytes in base64.
fn connection_id() -> String {
    let random = uuid::Uuid::new_v4();
    base64::engine::general_purpose::STANDARD.encode(&random.as_bytes()[..10])
}

/// What API Gateway sends a client when its message found no route or its integration failed.
fn gateway_message(message: &str, connection_id: &str, request_id: &str) -> String {
    json!({"message": message, "connectionId": connection_id, "requestId": request_id}).to_string()
}

fn iso8601(at: At) -> String {
    let ms = at.epoch_ms();
    let time = At(SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(ms)).request_time();
    // 06/Dec/2026:16:30:00 +0000 → 2026-12-06T16:30:00.000Z
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let (day, rest) = time.split_at(2);
    let month = months.iter().position(|m| rest[1..4] == **m).map_or(1, |i| i + 1);
    let (year, clock) = (&rest[5..9], &rest[10..18]);
    format!("{year}-{month:02}-{day}T{clock}.{:03}Z", ms % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn management_times_are_iso_8601() {
        let at = At(SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_705_751_697_419));
        assert_eq!(iso8601(at), "2024-01-20T11:54:57.419Z");
    }

    #[test]
    fn connect_refuses_on_non_2xx_and_failures_and_accepts_2xx() {
        assert!(refusal(&Invoked::Result(br#"{"statusCode": 200}"#.to_vec())).is_none());
        assert!(refusal(&Invoked::Result(br#"{"statusCode": 204}"#.to_vec())).is_none());
        let (_, refused) = refusal(&Invoked::Result(br#"{"statusCode": 401, "body": "no"}"#.to_vec())).unwrap();
        assert_eq!(refused.status, 401);
        let (_, failed) = refusal(&Invoked::Failed(Answer::internal_server_error())).unwrap();
        assert_eq!(failed.status, 502);
    }
}
