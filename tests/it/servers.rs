//! Local stand-ins for the data plane moto cannot serve: an HTTP server that answers like the backend's
//! REST API behind API Gateway, and a WebSocket server that echoes. Each runs on its own thread, since the
//! tests block on deployer processes.

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::future::Future;

/// How the stand-in REST API answers `GET /STAGE/conversations`, its preflight, and a path no route has.
#[derive(Debug, Clone, Copy)]
pub enum Backend {
    /// As the deployed API does: the request's origin echoed unless it is 08-verify's refused probe, and
    /// API Gateway's own 403 for an unknown path with `Access-Control-Allow-Origin: *`.
    Healthy,
    /// 502, as API Gateway answers when the function fails.
    BadGateway,
    /// 200 without `Access-Control-Allow-Origin`.
    NoCors,
    /// A preflight that allows every origin, listed or not.
    AllowsEveryOrigin,
    /// API Gateway's own 403 without CORS headers (no gateway responses).
    NoCorsOnErrors,
    /// As `Healthy`, with `[auth] kind = "api_key"`: API Gateway's 403 (with CORS) without `x-api-key`.
    KeyRequired,
    /// As `KeyRequired`, but the key is refused too for the first `KEY_LATE` (a usage plan's key takes a
    /// moment to be accepted).
    KeyLate,
    /// Every request refused with 403, the key too (a key in no usage plan of the stage).
    KeyRefused,
}

/// How long `Backend::KeyLate` refuses the key after the server starts.
pub const KEY_LATE: std::time::Duration = std::time::Duration::from_millis(300);

/// The origin 08-verify's preflight probe sends, which no deployment lists.
const REFUSED: &str = "https://deployer-cors-probe.invalid";

/// Serves `serve(listener)` on its own thread and runtime; returns the listener's address.
fn spawn<F: Future<Output = ()> + 'static>(
    serve: impl FnOnce(tokio::net::TcpListener) -> F + Send + 'static,
) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async move { serve(tokio::net::TcpListener::from_std(listener).unwrap()).await });
    });
    address
}

/// The base URL of a stand-in REST API stage: `http://127.0.0.1:PORT/prod`.
pub fn http_backend(behaviour: Backend) -> String {
    let started = std::time::Instant::now();
    let address = spawn(move |listener| async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let service = hyper::service::service_fn(move |request| async move { answer(behaviour, started, request) });
            tokio::spawn(hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service));
        }
    });
    format!("http://{address}/prod")
}

fn answer(
    behaviour: Backend,
    started: std::time::Instant,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, hyper::http::Error> {
    let origin = request.headers().get("origin").and_then(|o| o.to_str().ok()).unwrap_or("*").to_string();
    let listed = origin != REFUSED || matches!(behaviour, Backend::AllowsEveryOrigin);
    // An origin not listed gets the stage's first one, as the deployed preflight answers.
    let allowed = if listed { origin } else { "https://site.example".to_string() };
    let cors = |builder: hyper::http::response::Builder| builder.header("access-control-allow-origin", &allowed);
    if request.uri().path() != "/prod/conversations" {
        let forbidden = Response::builder().status(StatusCode::FORBIDDEN);
        let forbidden = match behaviour {
            Backend::NoCorsOnErrors => forbidden,
            _ => forbidden.header("access-control-allow-origin", "*"),
        };
        return forbidden.body(Full::new(Bytes::from_static(br#"{"message":"Missing Authentication Token"}"#)));
    }
    let keyless = request.headers().get("x-api-key").is_none_or(|k| k.is_empty());
    let refused = match behaviour {
        Backend::KeyRequired => keyless,
        Backend::KeyLate => keyless || started.elapsed() < KEY_LATE,
        Backend::KeyRefused => true,
        _ => false,
    };
    if refused && request.method() != Method::OPTIONS {
        let forbidden = Response::builder().status(StatusCode::FORBIDDEN).header("access-control-allow-origin", "*");
        return forbidden.body(Full::new(Bytes::from_static(br#"{"message":"Forbidden"}"#)));
    }
    if request.method() == Method::OPTIONS {
        return cors(Response::builder())
            .header("access-control-allow-methods", "GET,POST,OPTIONS")
            .header("access-control-allow-headers", "Content-Type,Authorization")
            .body(Full::new(Bytes::new()));
    }
    match behaviour {
        Backend::Healthy
        | Backend::AllowsEveryOrigin
        | Backend::NoCorsOnErrors
        | Backend::KeyRequired
        | Backend::KeyLate
        | Backend::KeyRefused => cors(Response::builder()).body(Full::new(Bytes::from_static(b"[]"))),
        Backend::BadGateway => cors(Response::builder().status(StatusCode::BAD_GATEWAY))
            .body(Full::new(Bytes::from_static(br#"{"message": "Internal server error"}"#))),
        Backend::NoCors => Response::builder().body(Full::new(Bytes::from_static(b"[]"))),
    }
}

/// The URL of a WebSocket server that echoes text and closes when asked: `ws://127.0.0.1:PORT/prod`.
pub fn websocket_echo() -> String {
    let address = spawn(|listener| async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            tokio::spawn(async move {
                let Ok(mut socket) = tokio_tungstenite::accept_async(stream).await else { return };
                while let Some(Ok(message)) = socket.next().await {
                    if message.is_text() && socket.send(message).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    format!("ws://{address}/prod")
}

/// A DNS resolver on 127.0.0.1 that answers every question with NS records of `servers`; returns its
/// `IP:PORT`, for `DEPLOYER_DNS_RESOLVER`.
pub fn dns_answering(servers: &[&str]) -> String {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let address = socket.local_addr().unwrap().to_string();
    let servers: Vec<String> = servers.iter().map(|s| s.to_string()).collect();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 512];
        while let Ok((length, from)) = socket.recv_from(&mut buffer) {
            let mut answer = buffer[..length].to_vec(); // the header and the question, echoed
            answer[2] = 0x81; // an answer, recursion desired
            answer[3] = 0x80; // recursion available, no error
            answer[6..8].copy_from_slice(&(servers.len() as u16).to_be_bytes());
            for server in &servers {
                let mut name = Vec::new();
                for label in server.trim_end_matches('.').split('.') {
                    name.push(label.len() as u8);
                    name.extend(label.as_bytes());
                }
                name.push(0);
                answer.extend([0xc0, 12, 0, 2, 0, 1, 0, 0, 1, 44]); // the question's name, NS, IN, TTL 300
                answer.extend((name.len() as u16).to_be_bytes());
                answer.extend(name);
            }
            let _ = socket.send_to(&answer, from);
        }
    });
    address
}
