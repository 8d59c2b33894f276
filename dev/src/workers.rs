//! Worker processes: one Python per function running AWS's own runtime interface client
//! (`awslambdaric`) against the function's local Runtime API, with the function's environment. Each
//! worker's stdin is its lifeline: its bootstrap exits when the pipe closes, so even a killed deployer
//! leaves no worker behind.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::backend::Function;
use crate::report::Reporter;

/// What every worker shares: the interpreter, where its packages are, and the variables the local
/// services add (the tables' endpoint, the CA that signs the management API's certificate).
#[derive(Clone)]
pub struct WorkerSpec {
    pub python: PathBuf,
    pub backend: PathBuf,
    /// The function's requirements and the runtime's packages (awslambdaric, boto3), in that order.
    pub python_path: Vec<PathBuf>,
    pub region: String,
    pub environment: BTreeMap<String, String>,
    pub reporter: Arc<Reporter>,
}

/// How long a worker has to exit once its lifeline is cut, before SIGKILL.
const GRACE: Duration = Duration::from_secs(2);

/// Cuts the lifeline thread's read short: the interpreter exits at once, as Lambda freezes a sandbox.
const BOOTSTRAP: &str = r#"
import os, sys, threading
def lifeline():
    sys.stdin.buffer.read()
    os._exit(0)
threading.Thread(target=lifeline, daemon=True).start()
from awslambdaric.__main__ import main
main([sys.argv[0], sys.argv[1]])
"#;

pub struct Worker {
    /// Cancelled once the process has exited, whatever the cause.
    pub exited: CancellationToken,
    stop: Option<oneshot::Sender<()>>,
}

impl Worker {
    pub fn start(spec: &WorkerSpec, function: &Function, runtime_api: SocketAddr) -> Result<Worker> {
        let mut command = Command::new(&spec.python);
        command
            .args(["-c", BOOTSTRAP, &function.handler])
            .current_dir(&spec.backend)
            .env_clear()
            .envs(worker_environment(spec, function, runtime_api))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().with_context(|| {
            format!("starting {} for function {}: is Python installed?", spec.python.display(), function.name)
        })?;
        for output in [child.stdout.take().map(Output::Out), child.stderr.take().map(Output::Err)].into_iter().flatten()
        {
            tokio::spawn(forward_lines(output, function.name.clone(), spec.reporter.clone()));
        }
        let lifeline = child.stdin.take();
        let exited = CancellationToken::new();
        let (stop, stopped) = oneshot::channel();
        tokio::spawn(supervise(child, lifeline, stopped, exited.clone()));
        Ok(Worker { exited, stop: Some(stop) })
    }

    /// Cuts the lifeline, then SIGKILL after the grace; returns once the process has exited.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.exited.cancelled().await;
    }
}

async fn supervise(
    mut child: Child,
    lifeline: Option<ChildStdin>,
    stop: oneshot::Receiver<()>,
    exited: CancellationToken,
) {
    tokio::select! {
        _ = child.wait() => {}
        _ = stop => {
            drop(lifeline);
            if tokio::time::timeout(GRACE, child.wait()).await.is_err() {
                let _ = child.kill().await;
            }
        }
    }
    exited.cancel();
}

enum Output {
    Out(tokio::process::ChildStdout),
    Err(tokio::process::ChildStderr),
}

async fn forward_lines(output: Output, function: String, reporter: Arc<Reporter>) {
    let reader: Box<dyn tokio::io::AsyncRead + Unpin + Send> = match output {
        Output::Out(out) => Box::new(out),
        Output::Err(err) => Box::new(err),
    };
    let mut lines = BufReader::new(reader).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        // awslambdaric writes a multi-line record (a traceback) as one line with CR between its lines,
        // so that CloudWatch keeps it one event; a terminal shows its lines.
        for part in line.split('\r') {
            reporter.log(&function, part);
        }
    }
}

/// The variables a worker starts with: what Lambda's runtime sets, the function's own (02-lambda's),
/// then the local services' (which win: the tables' endpoint, the CA bundle), and the caller's AWS
/// credentials and proxy settings.
pub fn worker_environment(spec: &WorkerSpec, function: &Function, runtime_api: SocketAddr) -> BTreeMap<String, String> {
    let mut environment: BTreeMap<String, String> =
        std::env::vars().filter(|(name, _)| name.starts_with("AWS_") || is_passed_through(name)).collect();
    let python_path =
        std::env::join_paths(std::iter::once(spec.backend.clone()).chain(spec.python_path.iter().cloned()))
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
    let lambda = [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api.to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", function.full_name.clone()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", function.memory_mb.to_string()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_string()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{}", function.full_name)),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "local".to_string()),
        ("AWS_REGION", spec.region.clone()),
        ("AWS_DEFAULT_REGION", spec.region.clone()),
        ("LAMBDA_TASK_ROOT", spec.backend.to_string_lossy().into_owned()),
        ("_HANDLER", function.handler.clone()),
        ("PYTHONPATH", python_path),
        ("PYTHONUNBUFFERED", "1".to_string()),
        ("PYTHONDONTWRITEBYTECODE", "1".to_string()),
        ("TZ", ":UTC".to_string()),
    ];
    environment.extend(lambda.into_iter().map(|(k, v)| (k.to_string(), v)));
    environment.extend(function.environment.clone());
    environment.extend(spec.environment.clone());
    environment
}

/// The caller's variables a worker keeps besides `AWS_*`: what finding programs, home, locale and
/// proxies need.
fn is_passed_through(name: &str) -> bool {
    matches!(
        name,
        "PATH" | "HOME" | "LANG" | "LC_ALL" | "TMPDIR" | "HTTPS_PROXY" | "HTTP_PROXY" | "https_proxy" | "http_proxy"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_gets_lambdas_variables_the_functions_and_the_local_services_last() {
        let function = Function {
            name: "conversation-api".into(),
            full_name: "svc-conversation-api".into(),
            handler: "handlers.api.conversation.handler".into(),
            handler_file: "handlers/api/conversation.py".into(),
            memory_mb: 512,
            timeout_s: 29,
            environment: BTreeMap::from([
                ("CONVERSATIONS_TABLE".to_string(), "svc-conversations".to_string()),
                ("STAGE".to_string(), "dev".to_string()),
            ]),
        };
        let spec = WorkerSpec {
            python: "python3".into(),
            backend: "/b".into(),
            python_path: vec!["/cache/runtime".into()],
            region: "eu-west-1".into(),
            environment: BTreeMap::from([("AWS_ENDPOINT_URL_DYNAMODB".to_string(), "http://127.0.0.1:9".to_string())]),
            reporter: Arc::new(Reporter::new(false)),
        };
        let environment = worker_environment(&spec, &function, "127.0.0.1:4000".parse().unwrap());
        let get = |k: &str| environment.get(k).map(String::as_str);
        assert_eq!(get("AWS_LAMBDA_RUNTIME_API"), Some("127.0.0.1:4000"), "host:port, as awslambdaric reads it");
        assert_eq!(get("CONVERSATIONS_TABLE"), Some("svc-conversations"));
        assert_eq!(get("STAGE"), Some("dev"));
        assert_eq!(get("AWS_REGION"), Some("eu-west-1"));
        assert_eq!(get("AWS_LAMBDA_FUNCTION_NAME"), Some("svc-conversation-api"));
        assert_eq!(get("AWS_ENDPOINT_URL_DYNAMODB"), Some("http://127.0.0.1:9"));
        assert_eq!(get("PYTHONPATH"), Some("/b:/cache/runtime"), "the backend first, as /var/task on Lambda");
    }
}
