//! A local Lambda Runtime API per worker (`awslambdaric` takes `AWS_LAMBDA_RUNTIME_API` as `host:port`,
//! with no path to tell functions or workers apart), all of one function's workers sharing its queue.
//! An invocation is a queue entry plus a oneshot reply: `/next` hands the oldest out, `/response` or
//! `/error` completes it by ID, so an invocation still queued survives a worker's restart.
//!
//! One warm worker serves a function; when invocations wait, more start, as Lambda runs concurrent
//! instances (up to `DEPLOYER_DEV_CONCURRENCY` per function, 4 by default).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
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

/// The worker an invocation was handed to: its ID and its exit signal.
type HandedTo = (u64, CancellationToken);

struct Invocation {
    id: String,
    event: Vec<u8>,
    handed_out: oneshot::Sender<HandedTo>,
    reply: oneshot::Sender<Outcome>,
}

/// One function's queue and workers.
pub struct FunctionRuntime {
    pub function: Function,
    queue: mpsc::UnboundedSender<Invocation>,
    queued: tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>,
    in_flight: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    workers: tokio::sync::Mutex<Vec<Running>>,
    /// Invocations queued or in flight: more than the workers, and another starts.
    outstanding: AtomicUsize,
    next_worker: AtomicU64,
    most_workers: usize,
    spec: WorkerSpec,
    stop: CancellationToken,
    tasks: TaskTracker,
}

struct Running {
    id: u64,
    worker: Worker,
    /// Ends the worker's own Runtime API listener.
    listener: CancellationToken,
}

impl FunctionRuntime {
    pub fn new(
        function: Function,
        spec: WorkerSpec,
        stop: CancellationToken,
        tasks: &TaskTracker,
    ) -> Arc<FunctionRuntime> {
        let (queue, queued) = mpsc::unbounded_channel();
        let most_workers =
            std::env::var("DEPLOYER_DEV_CONCURRENCY").ok().and_then(|v| v.parse().ok()).unwrap_or(4usize).max(1);
        Arc::new(FunctionRuntime {
            function,
            queue,
            queued: tokio::sync::Mutex::new(queued),
            in_flight: Mutex::new(HashMap::new()),
            workers: tokio::sync::Mutex::new(Vec::new()),
            outstanding: AtomicUsize::new(0),
            next_worker: AtomicU64::new(1),
            most_workers,
            spec,
            stop,
            tasks: tasks.clone(),
        })
    }

    /// Invokes the function with `event`, starting a worker if none is free.
    pub async fn invoke(self: &Arc<Self>, event: Vec<u8>) -> Outcome {
        let outstanding = self.outstanding.fetch_add(1, Ordering::SeqCst) + 1;
        let outcome = self.invoke_counted(event, outstanding).await;
        self.outstanding.fetch_sub(1, Ordering::SeqCst);
        outcome
    }

    async fn invoke_counted(self: &Arc<Self>, event: Vec<u8>, outstanding: usize) -> Outcome {
        let live = match self.scale_to(outstanding).await {
            Ok(live) => live,
            Err(why) => return Outcome::Exited(format!("{why:#}")),
        };
        // Every worker gone before one took the invocation, with no init error said: a crash at start.
        let all_exited = futures::future::join_all(live.iter().map(|exited| exited.cancelled()));
        let id = uuid::Uuid::new_v4().to_string();
        let (handed_out, taken) = oneshot::channel();
        let (reply, mut answered) = oneshot::channel();
        if self.queue.send(Invocation { id: id.clone(), event, handed_out, reply }).is_err() {
            return Outcome::Exited("the runtime API has stopped".into());
        }
        // Before a worker takes it, only an init error (delivered to the oldest waiting) can end it.
        let (worker, exited) = tokio::select! {
            taken = taken => match taken {
                Ok(handed_to) => handed_to,
                Err(_) => return answered.await.unwrap_or_else(|_| Outcome::Exited("the invocation was dropped".into())),
            },
            outcome = &mut answered => return outcome.unwrap_or_else(|_| Outcome::Exited("the invocation was dropped".into())),
            _ = all_exited => {
                // An init error may be on its way to this very invocation.
                if let Ok(outcome) = tokio::time::timeout(Duration::from_millis(200), &mut answered).await {
                    return outcome.unwrap_or_else(|_| Outcome::Exited("the invocation was dropped".into()));
                }
                return Outcome::Exited("the worker exited before taking the invocation (see its output above)".into());
            }
        };
        let timeout = Duration::from_secs(self.function.timeout_s.max(1) as u64);
        tokio::select! {
            outcome = answered => outcome.unwrap_or_else(|_| Outcome::Exited("the invocation was dropped".into())),
            _ = exited.cancelled() => {
                self.forget(&id);
                Outcome::Exited("the worker exited before answering (see its output above)".into())
            }
            _ = tokio::time::sleep(timeout) => {
                self.forget(&id);
                self.stop_worker(worker).await;
                Outcome::TimedOut(timeout)
            }
        }
    }

    fn forget(&self, id: &str) {
        if let Ok(mut in_flight) = self.in_flight.lock() {
            in_flight.remove(id);
        }
    }

    /// At least one live worker, and one more while invocations outnumber them (up to the limit); the
    /// live workers' exit signals.
    async fn scale_to(self: &Arc<Self>, outstanding: usize) -> anyhow::Result<Vec<CancellationToken>> {
        let mut workers = self.workers.lock().await;
        workers.retain(|running| !running.worker.exited.is_cancelled());
        if workers.is_empty() || (workers.len() < outstanding && workers.len() < self.most_workers) {
            workers.push(self.start_worker().await?);
        }
        Ok(workers.iter().map(|running| running.worker.exited.clone()).collect())
    }

    async fn start_worker(self: &Arc<Self>) -> anyhow::Result<Running> {
        let id = self.next_worker.fetch_add(1, Ordering::SeqCst);
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let worker = Worker::start(&self.spec, &self.function, address)?;
        let serving = self.stop.child_token();
        let (runtime, exited) = (self.clone(), worker.exited.clone());
        http::serve(
            listener,
            None,
            move |request, _| runtime.clone().route(request, (id, exited.clone())),
            serving.clone(),
            &self.tasks,
        );
        Ok(Running { id, worker, listener: serving })
    }

    async fn stop_worker(&self, id: u64) {
        let stopped = {
            let mut workers = self.workers.lock().await;
            workers.iter().position(|r| r.id == id).map(|i| workers.remove(i))
        };
        if let Some(running) = stopped {
            running.worker.stop().await;
            running.listener.cancel();
        }
    }

    /// Stops every worker and, if one was running, starts a fresh one at once, so the next invocation
    /// finds it warm: a saved handler is live at once.
    pub async fn restart(self: &Arc<Self>) {
        let mut workers = self.workers.lock().await;
        let was_running = workers.iter().any(|r| !r.worker.exited.is_cancelled());
        for running in workers.drain(..) {
            running.worker.stop().await;
            running.listener.cancel();
        }
        if was_running {
            if let Ok(fresh) = self.start_worker().await {
                workers.push(fresh);
            }
        }
    }

    pub async fn stop(&self) {
        for running in self.workers.lock().await.drain(..) {
            running.worker.stop().await;
            running.listener.cancel();
        }
    }

    async fn route(self: Arc<Self>, request: Request<Incoming>, worker: HandedTo) -> Response<Body> {
        const PREFIX: &str = "/2018-06-01/runtime/";
        let path = request.uri().path().to_string();
        let Some(rest) = path.strip_prefix(PREFIX) else { return http::respond(not_found()) };
        let method = request.method().clone();
        let body = http::read_body(request.into_body()).await;
        match (method, rest.split('/').collect::<Vec<_>>().as_slice()) {
            (Method::GET, ["invocation", "next"]) => self.next(worker).await,
            (Method::POST, ["invocation", id, "response"]) => self.complete(id, Outcome::Response(body)),
            (Method::POST, ["invocation", id, "error"]) => self.complete(id, Outcome::Error(body)),
            (Method::POST, ["init", "error"]) => {
                // Answered at once: the failing worker exits after it, whatever waits for the queue.
                tokio::spawn(async move { self.init_failed(body).await });
                accepted()
            }
            _ => http::respond(not_found()),
        }
    }

    /// A worker could not start the handler: the oldest waiting invocation gets the error, as the one
    /// whose cold start it was on Lambda. The worker exits; the next invocation starts another.
    async fn init_failed(&self, document: Vec<u8>) {
        let mut queued = self.queued.lock().await;
        while let Ok(invocation) = queued.try_recv() {
            if !invocation.reply.is_closed() {
                let _ = invocation.reply.send(Outcome::InitError(document));
                return;
            }
        }
    }

    /// Long-polls the queue; an invocation whose caller has gone is skipped.
    async fn next(&self, worker: HandedTo) -> Response<Body> {
        let mut queued = self.queued.lock().await;
        loop {
            let Some(invocation) = queued.recv().await else { return http::respond(not_found()) };
            if invocation.reply.is_closed() || invocation.handed_out.send(worker.clone()).is_err() {
                continue;
            }
            if let Ok(mut in_flight) = self.in_flight.lock() {
                in_flight.insert(invocation.id.clone(), invocation.reply);
            }
            return http::respond(self.handout(&invocation.id, invocation.event));
        }
    }

    fn handout(&self, id: &str, event: Vec<u8>) -> Answer {
        let deadline = SystemTime::now() + Duration::from_secs(self.function.timeout_s.max(1) as u64);
        let deadline_ms = deadline.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or_default();
        let arn = format!("arn:aws:lambda:{}:{LOCAL_ACCOUNT}:function:{}", self.spec.region, self.function.full_name);
        Answer {
            status: 200,
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("Lambda-Runtime-Aws-Request-Id".into(), id.to_string()),
                ("Lambda-Runtime-Deadline-Ms".into(), deadline_ms.to_string()),
                ("Lambda-Runtime-Invoked-Function-Arn".into(), arn),
                ("Lambda-Runtime-Trace-Id".into(), format!("Root=1-{}", id.split('-').next().unwrap_or_default())),
            ],
            body: event,
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
    let body = b"{\"status\":\"OK\"}".to_vec();
    http::respond(Answer { status: 202, headers: vec![("Content-Type".into(), "application/json".into())], body })
}

fn not_found() -> Answer {
    Answer::gateway_error(404, "not a Runtime API path", "NotFound")
}
