//! A saved file restarts the workers it affects: a handler file its functions' workers, any other
//! Python file every worker (it may be imported anywhere). Bytecode, virtual environments and
//! deployer's own folder are ignored; bursts of events (an editor's save) are taken as one.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::{RecursiveMode, Watcher as _};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::backend::Function;

/// Which workers a change restarts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Affected {
    Nothing,
    Some(BTreeSet<String>),
    Every,
    /// requirements.txt: the workers restart, the packages need `deployer dev` started again.
    Requirements,
}

/// `path` is relative to the backend folder.
pub fn affected<'a>(path: &Path, functions: impl IntoIterator<Item = &'a Function>) -> Affected {
    let ignored = path.components().any(|c| {
        let part = c.as_os_str().to_string_lossy();
        matches!(part.as_ref(), "__pycache__" | ".venv" | "venv" | ".deployer" | ".git" | "node_modules")
            || part.starts_with(".#")
    });
    if ignored {
        return Affected::Nothing;
    }
    let relative = path.to_string_lossy().replace('\\', "/");
    if relative == "requirements.txt" {
        return Affected::Requirements;
    }
    if !relative.ends_with(".py") {
        return Affected::Nothing;
    }
    let handled: BTreeSet<String> =
        functions.into_iter().filter(|f| f.handler_file == relative).map(|f| f.name.clone()).collect();
    if handled.is_empty() {
        Affected::Every
    } else {
        Affected::Some(handled)
    }
}

/// Watches `backend` until `stop`, sending the changed paths (relative) in debounced batches.
pub fn watch(backend: &Path, stop: CancellationToken) -> anyhow::Result<mpsc::UnboundedReceiver<Vec<PathBuf>>> {
    let (raw_tx, mut raw_rx) = mpsc::unbounded_channel::<PathBuf>();
    let root = backend.canonicalize()?;
    let prefix = root.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event {
            if matches!(event.kind, notify::EventKind::Access(_)) {
                return;
            }
            for path in event.paths {
                let relative = path.strip_prefix(&prefix).map(Path::to_path_buf).unwrap_or(path);
                let _ = raw_tx.send(relative);
            }
        }
    })?;
    watcher.watch(&root, RecursiveMode::Recursive)?;
    let (batches, out) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let _watching = watcher; // dropped (and stopped) with this task
        loop {
            let first = tokio::select! {
                path = raw_rx.recv() => match path { Some(path) => path, None => return },
                _ = stop.cancelled() => return,
            };
            let mut batch = vec![first];
            // An editor writes, renames and touches a file in a few milliseconds: one batch.
            while let Ok(Some(path)) = tokio::time::timeout(Duration::from_millis(20), raw_rx.recv()).await {
                batch.push(path);
            }
            batch.sort();
            batch.dedup();
            if batches.send(batch).is_err() {
                return;
            }
        }
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn function(name: &str, file: &str) -> Function {
        Function {
            name: name.into(),
            full_name: format!("svc-{name}"),
            handler: String::new(),
            handler_file: file.into(),
            memory_mb: 128,
            timeout_s: 3,
            environment: BTreeMap::new(),
        }
    }

    #[test]
    fn a_change_restarts_the_workers_it_can_affect() {
        let functions = [
            function("conversation-api", "handlers/api/conversation.py"),
            function("prompt-crud", "handlers/api/prompt.py"),
        ];
        let some = |names: &[&str]| Affected::Some(names.iter().map(|n| n.to_string()).collect());
        let cases = [
            ("handlers/api/conversation.py", some(&["conversation-api"])),
            ("handlers/api/prompt.py", some(&["prompt-crud"])),
            ("lib/store.py", Affected::Every),
            ("handlers/api/__init__.py", Affected::Every),
            ("requirements.txt", Affected::Requirements),
            ("handlers/api/__pycache__/conversation.cpython-311.pyc", Affected::Nothing),
            ("handlers/api/conversation.pyc", Affected::Nothing),
            (".venv/lib/site.py", Affected::Nothing),
            (".deployer/state.json", Affected::Nothing),
            ("README.md", Affected::Nothing),
            ("handlers/api/.#conversation.py", Affected::Nothing),
        ];
        for (path, expected) in cases {
            assert_eq!(affected(Path::new(path), &functions), expected, "{path}");
        }
    }
}
