//! `--frontend-dev CMD`: the user's own dev server (`npm run dev`), run by `sh -c` in the frontend
//! folder with the local URLs in its environment, in a process group of its own so that stopping it
//! stops what it started (npm's node, vite's esbuild).

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

use crate::report::Reporter;

pub struct DevServer {
    child: Child,
}

impl DevServer {
    pub fn start(
        command: &str,
        folder: &Path,
        api_url: &str,
        ws_url: &str,
        reporter: Arc<Reporter>,
    ) -> Result<DevServer> {
        let mut child = Command::new("sh")
            .args(["-c", command])
            .current_dir(folder)
            .envs([
                ("API_BASE_URL", api_url),
                ("WS_URL", ws_url),
                ("VITE_API_BASE_URL", api_url),
                ("VITE_WS_URL", ws_url),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting --frontend-dev `{command}` in {}", folder.display()))?;
        if let Some(out) = child.stdout.take() {
            tokio::spawn(forward(BufReader::new(out).lines(), reporter.clone()));
        }
        if let Some(err) = child.stderr.take() {
            tokio::spawn(forward(BufReader::new(err).lines(), reporter));
        }
        Ok(DevServer { child })
    }

    /// SIGTERM to the whole group, then SIGKILL to it after a grace.
    pub async fn stop(mut self) {
        let Some(pid) = self.child.id() else { return };
        signal_group(pid, libc::SIGTERM);
        if tokio::time::timeout(Duration::from_secs(2), self.child.wait()).await.is_err() {
            signal_group(pid, libc::SIGKILL);
            let _ = self.child.wait().await;
        }
    }
}

fn signal_group(leader: u32, signal: libc::c_int) {
    // SAFETY: kill(2) with a negative PID signals the process group the child leads (process_group(0)
    // made it the leader); it reads no memory of ours.
    unsafe {
        libc::kill(-(leader as libc::pid_t), signal);
    }
}

async fn forward<R: tokio::io::AsyncBufRead + Unpin>(mut lines: tokio::io::Lines<R>, reporter: Arc<Reporter>) {
    while let Ok(Some(line)) = lines.next_line().await {
        reporter.log("frontend", &line);
    }
}
