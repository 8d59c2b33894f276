//! A local Lambda Runtime API, one listener per function (`awslambdaric` takes `AWS_LAMBDA_RUNTIME_API`
//! as `host:port`, with no path to tell functions apart). An invocation is a queue entry plus a oneshot
//! reply: `/next` hands the oldest out, `/response` or `/error` completes it by ID, so an invocation still
//! queued survives a worker's restart.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use hyper::body::Incoming;
use hyper::{Method, Request, Response};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::answer::Answer;
use crate::backend::Function;
use crate::events::LOCAL_ACCOUNT;
use crate::http::{self, Body};
use crate::workers::{Worker, WorkerSpec};

/// How an invocation ended.
#[derive(Debug)]
pub enum Outcome {
    /// The handler's result, as JSON.
    Response(Vec<u8>),
    /// The handler raised: awslambdaric's error document (errorMessage, errorType, stackTrace).
    Error(Vec<u8>),
    /// The handler's module failed to import (or init raised): the error document.
    InitError(Vec<u8>),
    /// The worker exited before answering.
    Exited(String),
    /// The function's timeout passed; the worker was recycled.
    TimedOut(Duration),
}

struct Invocation {
    id: String,
    event: Vec<u8>,
    handed_out: oneshot::Sender<()>,
    reply: oneshot::Sender<Outcome>,
}

/// One function's Runtime API, queue and worker.
pub struct FunctionRuntime {
    pub function: Function,
    pub address: SocketAddr,
    queue: mpsc::UnboundedSender<Invocation>,
    queued: tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>,
    in_flight: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    init_error: Mutex<Option<Vec<u8>>>,
    worker: tokio::sync::Mutex<Option<Worker>>,
    spec: WorkerSpec,
}

impl FunctionRuntime {
    /// Binds the function's Runtime API on a free port and serves it until `stop`.
    pub async fn start(
        function: Function,
        spec: WorkerSpec,
        stop: CancellationToken,
        tasks: &TaskTracker,
    ) -> anyhow::Result<Arc<FunctionRuntime>> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let (queue, queued) = mpsc::unbounded_channel();
        let runtime = Arc::new(FunctionRuntime {
            function,
            address: listener.local_addr()?,
            queue,
            queued: tokio::sync::Mutex::new(queued),
            in_flight: Mutex::new(HashMap::new()),
            init_error: Mutex::new(None),
            worker: tokio::sync::Mutex::new(None),
            spec,
        });
        let serving = runtime.clone();
        http::serve(listener, None, move |request, _| serving.clone().route(request), stop, tasks);
        Ok(runtime)
    }

    /// Invokes the function with `event`, starting its worker if none runs.
    pub async fn invoke(&self, event: Vec<u8>) -> Outcome {
        let exited = match self.running_worker().await {
            Ok(exited) => exited,
            Err(why) => return Outcome::Exited(format!("{why:#}")),
        };
        let id = uuid::Uuid::new_v4().to_string();
        let (handed_out, taken) = oneshot::channel();
        let (reply, answered) = oneshot::channel();
        if self.queue.send(Invocation { id: id.clone(), event, handed_out, reply }).is_err() {
            return Outcome::Exited("the runtime API has stopped".into());
        }
        tokio::select! {
            _ = exited.cancelled() => return self.exited_before_answering(&id),
            taken = taken => if taken.is_err() { return self.exited_before_answering(&id) },
        }
        let timeout = Duration::from_secs(self.function.timeout_s.max(1) as u64);
        tokio::select! {
            outcome = answered => outcome.unwrap_or_else(|_| Outcome::Exited("the invocation was dropped".into())),
            _ = exited.cancelled() => self.exited_before_answering(&id),
            _ = tokio::time::sleep(timeout) => {
                self.in_flight.lock().map(|mut m| m.remove(&id)).ok();
                self.restart().await;
                Outcome::TimedOut(timeout)
            }
        }
    }

    fn exited_before_answering(&self, id: &str) -> Outcome {
        self.in_flight.lock().map(|mut m| m.remove(id)).ok();
        match self.init_error.lock().ok().and_then(|mut e| e.take()) {
            Some(document) => Outcome::InitError(document),
            None => Outcome::Exited("the worker exited before answering (see its output above)".into()),
        }
    }

    /// The running worker's exit signal, starting a worker first when none runs.
    async fn running_worker(&self) -> anyhow::Result<CancellationToken> {
        let mut worker = self.worker.lock().await;
        if let Some(running) = worker.as_ref().filter(|w| !w.exited.is_cancelled()) {
            return Ok(running.exited.clone());
        }
        if let Ok(mut error) = self.init_error.lock() {
            *error = None;
        }
        let started = Worker::start(&self.spec, &self.function, self.address)?;
        let exited = started.exited.clone();
        *worker = Some(started);
        Ok(exited)
    }

    /// Stops the worker (SIGTERM, then SIGKILL after a grace) and starts a fresh one if one was running,
    /// so the next invocation finds it warm: a saved handler is live at once.
    pub async fn restart(&self) {
        let mut worker = self.worker.lock().await;
        let Some(old) = worker.take() else { return };
        let was_running = !old.exited.is_cancelled();
        old.stop().await;
        if was_running {
            if let Ok(mut error) = self.init_error.lock() {
                *error = None;
            }
            *worker = Worker::start(&self.spec, &self.function, self.address).ok();
        }
    }

    pub async fn stop(&self) {
        if let Some(worker) = self.worker.lock().await.take() {
            worker.stop().await;
        }
    }

    async fn route(self: Arc<Self>, request: Request<Incoming>) -> Response<Body> {
        const PREFIX: &str = "/2018-06-01/runtime/";
        let path = request.uri().path().to_string();
        let Some(rest) = path.strip_prefix(PREFIX) else { return http::respond(not_found()) };
        let method = request.method().clone();
        let body = http::read_body(request.into_body()).await;
        match (method, rest.split('/').collect::<Vec<_>>().as_slice()) {
            (Method::GET, ["invocation", "next"]) => self.next().await,
            (Method::POST, ["invocation", id, "response"]) => self.complete(id, Outcome::Response(body)),
            (Method::POST, ["invocation", id, "error"]) => self.complete(id, Outcome::Error(body)),
            (Method::POST, ["init", "error"]) => {
                if let Ok(mut error) = self.init_error.lock() {
                    *error = Some(body);
                }
                accepted()
            }
            _ => http::respond(not_found()),
        }
    }

    /// Long-polls the queue; an invocation whose caller has gone is skipped.
    async fn next(&self) -> Response<Body> {
        let mut queued = self.queued.lock().await;
        loop {
            let Some(invocation) = queued.recv().await else { return http::respond(not_found()) };
            if invocation.reply.is_closed() || invocation.handed_out.send(()).is_err() {
                continue;
            }
            if let Ok(mut in_flight) = self.in_flight.lock() {
                in_flight.insert(invocation.id.clone(), invocation.reply);
            }
            let deadline = SystemTime::now() + Duration::from_secs(self.function.timeout_s.max(1) as u64);
            let deadline_ms =
                deadline.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or_default();
            let arn =
                format!("arn:aws:lambda:{}:{LOCAL_ACCOUNT}:function:{}", self.spec.region, self.function.full_name);
            let answer = Answer {
                status: 200,
                headers: vec![
                    ("Content-Type".into(), "application/json".into()),
                    ("Lambda-Runtime-Aws-Request-Id".into(), invocation.id.clone()),
                    ("Lambda-Runtime-Deadline-Ms".into(), deadline_ms.to_string()),
                    ("Lambda-Runtime-Invoked-Function-Arn".into(), arn),
                    ("Lambda-Runtime-Trace-Id".into(), format!("Root=1-{}", &invocation.id[..8])),
                ],
                body: invocation.event,
            };
            return http::respond(answer);
        }
    }

    fn complete(&self, id: &str, outcome: Outcome) -> Response<Body> {
        let waiting = self.in_flight.lock().ok().and_then(|mut m| m.remove(id));
        match waiting {
            Some(reply) => {
                let _ = reply.send(outcome);
                accepted()
            }
            // Answered after its deadline: the caller already has its 502 or 504.
            None => http::respond(Answer::gateway_error(
                400,
                &format!("invocation {id} is not in flight"),
                "InvalidRequestID",
            )),
        }
    }
}

fn accepted() -> Response<Body> {
    http::respond(Answer {
        status: 202,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: b"{\"status\":\"OK\"}".to_vec(),
    })
}

fn not_found() -> Answer {
    Answer::gateway_error(404, "not a Runtime API path", "NotFound")
}
