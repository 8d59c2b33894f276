//! `status` (each step's status and recorded outputs) and `steps` (the steps and their manual sections).

use anyhow::Result;
use deployer_steps::{registry, InputError};

use crate::cli::{Cli, Output};
use crate::state;

pub fn list_steps(output: Output) {
    for step in registry() {
        match output {
            Output::Json => {
                out!("{}", serde_json::json!({"id": step.id(), "title": step.title(), "requires": step.requires()}))
            }
            Output::Text | Output::Markdown => out!("{:<16} {}", step.id(), step.title()),
        }
    }
}

pub fn show(cli: &Cli) -> Result<()> {
    let Some(state) = state::load(&cli.state)? else {
        return Err(InputError(format!(
            "there is no state file at {}: nothing is deployed from here yet; start with `deployer init --service NAME` (it writes deployer.toml), then `deployer run`",
            cli.state.display()
        ))
        .into());
    };
    let steps = registry();
    if cli.output == Output::Json {
        let listed: Vec<_> = steps
            .iter()
            .map(|step| {
                let record = state.steps.get(step.id());
                serde_json::json!({
                    "id": step.id(),
                    "title": step.title(),
                    "status": record.map_or(serde_json::json!("pending"), |r| serde_json::json!(r.status)),
                    "finished_at": record.and_then(|r| r.finished_at.clone()),
                    "error": record.and_then(|r| r.error.clone()),
                    "outputs": record.map(|r| r.outputs.clone()).unwrap_or_default(),
                })
            })
            .collect();
        let canary = state.canary.as_ref().filter(|c| !c.functions.is_empty());
        out!("{}", serde_json::json!({"settings": state.settings, "steps": listed, "canary": canary}));
        return Ok(());
    }
    let s = &state.settings;
    out!(
        "service {} (domain {}, stage {}, region {})",
        s.service,
        s.domain.as_deref().unwrap_or("none"),
        s.stage,
        s.region
    );
    for step in &steps {
        let record = state.steps.get(step.id());
        let status = record.map_or("pending".to_string(), |r| format!("{:?}", r.status).to_lowercase());
        let when = record.and_then(|r| r.finished_at.clone().or_else(|| r.started_at.clone())).unwrap_or_default();
        out!("{:<16} {:<8} {:<28} {when}", step.id(), status, step.title());
        if let Some(error) = record.and_then(|r| r.error.as_ref()) {
            out!("    error: {error}");
        }
        for (key, value) in record.map(|r| &r.outputs).into_iter().flatten() {
            out!("    {key} = {value}");
        }
    }
    if let Some(canary) = state.canary.as_ref().filter(|c| !c.functions.is_empty()) {
        out!("{}", crate::releases::canary::unfinished_line(canary));
    }
    Ok(())
}
