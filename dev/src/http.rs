//! The one way the local servers accept connections: HTTP/1.1 on a listener (plain, or TLS when an
//! acceptor is given), every connection ending with the server's cancellation.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::answer::Answer;

pub type Body = Full<Bytes>;

/// Serves `handle` on `listener` until `stop`; each connection is a task of `tasks`. With `tls`, a
/// connection that opens with a TLS handshake is served over TLS, any other in plain HTTP (with upgrades,
/// for WebSockets): one port for `ws://` clients and the handlers' `https://` management calls.
pub fn serve<H, F>(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    handle: H,
    stop: CancellationToken,
    tasks: &TaskTracker,
) where
    H: Fn(Request<Incoming>, SocketAddr) -> F + Send + Sync + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    let handle = Arc::new(handle);
    let connections = tasks.clone();
    tasks.spawn(async move {
        loop {
            let (stream, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    // A refused accept (e.g. too many open files) ends that connection only.
                    Err(_) => continue,
                },
                _ = stop.cancelled() => return,
            };
            let _ = stream.set_nodelay(true);
            let (handle, stop, tls) = (handle.clone(), stop.clone(), tls.clone());
            connections.spawn(async move {
                let service = hyper::service::service_fn(move |request| {
                    let answer = handle(request, peer);
                    async move { Ok::<_, Infallible>(answer.await) }
                });
                let builder = hyper::server::conn::http1::Builder::new();
                let mut first = [0u8; 1];
                let handshake = matches!(stream.peek(&mut first).await, Ok(1) if first[0] == TLS_HANDSHAKE);
                match tls.filter(|_| handshake) {
                    Some(acceptor) => {
                        let Ok(stream) = acceptor.accept(stream).await else { return };
                        let connection = builder.serve_connection(TokioIo::new(stream), service);
                        tokio::select! { _ = connection => {}, _ = stop.cancelled() => {} }
                    }
                    None => {
                        let connection = builder.serve_connection(TokioIo::new(stream), service).with_upgrades();
                        tokio::select! { _ = connection => {}, _ = stop.cancelled() => {} }
                    }
                }
            });
        }
    });
}

/// The first byte of a TLS connection (a handshake record); an HTTP request starts with a letter.
const TLS_HANDSHAKE: u8 = 0x16;

/// A request's body, whole (the local servers take bodies up to API Gateway's 10 MB).
pub async fn read_body(body: Incoming) -> Vec<u8> {
    body.collect().await.map(|b| b.to_bytes().to_vec()).unwrap_or_default()
}

pub fn respond(answer: Answer) -> Response<Body> {
    let mut response = Response::builder().status(answer.status);
    for (name, value) in &answer.headers {
        response = response.header(name.as_str(), value.as_str());
    }
    response.body(Full::new(Bytes::from(answer.body))).unwrap_or_else(|_| {
        // Only a header the handler gave that HTTP cannot carry gets here.
        let mut fallback = Response::new(Full::new(Bytes::from_static(b"{\"message\": \"Internal server error\"}")));
        *fallback.status_mut() = hyper::StatusCode::BAD_GATEWAY;
        fallback
    })
}

/// The request's headers, names in lower case: hyper keeps no original case, and lower case is what
/// API Gateway passes from browsers and other HTTP/2 clients.
pub fn headers_of<B>(request: &Request<B>) -> Vec<(String, String)> {
    request
        .headers()
        .iter()
        .filter_map(|(name, value)| Some((name.as_str().to_string(), value.to_str().ok()?.to_string())))
        .collect()
}
