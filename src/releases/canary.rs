//! A run's canary (`--canary 10%:5m`, `[release] canary`). The steps publish a changed function's new
//! version beside the live one (`canary_version.X`) without moving its alias; once every step is done,
//! the runner records the canary in the state file, then, stage by stage, gives the new versions their
//! share (the alias's `RoutingConfig`) and watches CloudWatch ([`super::watch`]). At the end it moves every
//! alias to its new version, or, at the first figure above zero (or when CloudWatch cannot be read), back
//! to its old one, and fails naming the figure. Either way no weight is left: a canary killed is in the
//! state file, and `resume` continues its schedule (or rolls back, if the window's data says so); any
//! other command first rolls it back.

use anyhow::{anyhow, Result};
use deployer_steps::canary_metrics::{self, Figures, Watched};
use deployer_steps::live_alias::{move_alias, share_alias, version_key, CANARY_PREFIX};
use deployer_steps::settings::CanaryStage;
use deployer_steps::{names, outputs, Clients, Settings};
use futures::future::try_join_all;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::numbering::forget_aliases;
use crate::state::State;

/// How often the figures are read during a stage (CloudWatch's periods are a minute; this shows the
/// countdown, and catches errors within half a minute of their period).
const WATCH_EVERY: Duration = Duration::from_secs(20);

/// A function's two versions during its canary.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Versions {
    /// The live one, which the alias invokes.
    pub from: String,
    /// The new one, which gets the stage's share.
    pub to: String,
}

/// A canary under way, as the state file records it: planned (no functions yet) from the start of a run
/// that has one, so that `resume` knows its stages even without `--canary`; then watching.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Canary {
    pub stages: Vec<CanaryStage>,
    /// By function name after `SERVICE-`.
    pub functions: BTreeMap<String, Versions>,
    /// Unix seconds the first share was given (0: not yet): the figures count from there.
    pub started: f64,
    /// The stage under way (from 0), and the Unix seconds it began at (none: not yet).
    pub stage: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage_started: Option<f64>,
    /// The REST API's name and stage, whose 5XX are watched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rest: Option<(String, String)>,
}

/// What a tick of the watch shows: the stage, the time left and the figures.
pub struct Watching<'a> {
    pub stage: usize,
    pub stages: usize,
    pub percent: f64,
    pub functions: usize,
    pub left: Duration,
    pub figures: &'a Figures,
}

/// How a canary ended.
pub enum Ended {
    Promoted,
    /// Rolled back, with why (the figure and its value, or CloudWatch's error).
    RolledBack(String),
}

fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

/// What is to be watched after the steps: the canary a killed run was watching, else the new versions the
/// steps left beside live ones, with the stages planned (or, if none, these).
pub fn to_watch(state: &State, stages: Vec<CanaryStage>) -> Option<Canary> {
    match state.canary.clone() {
        Some(watching) if !watching.functions.is_empty() => Some(watching),
        Some(planned) => left_by_steps(state, planned.stages),
        None => left_by_steps(state, stages),
    }
}

/// A canary planned with these stages, before the steps.
pub fn planned(stages: Vec<CanaryStage>) -> Canary {
    Canary { stages, ..Canary::default() }
}

/// The canary this run's steps left (new versions beside live ones), if any, for these stages.
pub fn left_by_steps(state: &State, stages: Vec<CanaryStage>) -> Option<Canary> {
    let outputs = state.outputs();
    let mut functions = BTreeMap::new();
    for step in outputs.values() {
        for (key, to) in step.iter().filter(|(k, v)| k.starts_with(CANARY_PREFIX) && !v.is_empty()) {
            let function = &key[CANARY_PREFIX.len()..];
            let from = step.get(&version_key(function)).filter(|from| *from != to);
            if let Some(from) = from {
                functions.insert(function.to_string(), Versions { from: from.clone(), to: to.clone() });
            }
        }
    }
    if functions.is_empty() {
        return None;
    }
    let settings = &state.settings;
    let rest = outputs
        .get(outputs::REST_API_ID.step)
        .and_then(|o| o.get(outputs::REST_API_ID.key.as_ref()))
        .filter(|id| !id.is_empty())
        .map(|_| (names::resource(&settings.service, "rest-api"), settings.stage.clone()));
    Some(Canary { stages, functions, started: 0.0, stage: 0, stage_started: None, rest })
}

/// Every alias of the canary on `from` with `percent` of its traffic to `to`.
async fn give_share(clients: &Clients, service: &str, canary: &Canary, percent: f64) -> Result<()> {
    let updates = canary.functions.iter().map(|(function, versions)| async move {
        share_alias(clients, &format!("{service}-{function}"), &versions.from, &versions.to, percent).await
    });
    try_join_all(updates).await?;
    Ok(())
}

/// The sums since the canary began.
async fn figures(clients: &Clients, service: &str, canary: &Canary) -> Result<Figures> {
    let versions: Vec<(String, String)> =
        canary.functions.iter().map(|(function, v)| (format!("{service}-{function}"), v.to.clone())).collect();
    let watched = Watched { versions: &versions, rest: canary.rest.as_ref(), since: canary.started as u64 };
    canary_metrics::figures(clients, &watched).await
}

/// Every alias of the canary on one version, with no weight: the new ones (`promote`) or the old ones.
pub async fn settle_aliases(clients: &Clients, service: &str, canary: &Canary, promote: bool) -> Result<()> {
    let moves = canary.functions.iter().map(|(function, versions)| {
        let version = if promote { &versions.to } else { &versions.from };
        async move { move_alias(clients, &format!("{service}-{function}"), version).await }
    });
    try_join_all(moves).await?;
    Ok(())
}

/// The state once the canary is over: the outputs name what is live, the canary's versions and record
/// are gone, and the aliases are read again on the next look.
pub fn settled(state: &mut State, canary: &Canary, promoted: bool) {
    for record in state.steps.values_mut() {
        record.outputs.retain(|key, _| !key.starts_with(CANARY_PREFIX));
        if promoted {
            for (function, versions) in &canary.functions {
                if let Some(live) = record.outputs.get_mut(&version_key(function)) {
                    *live = versions.to.clone();
                }
            }
        }
    }
    forget_aliases(state);
    state.canary = None;
}

/// Drops the canary versions the steps recorded when no canary is to be run of them (their aliases were
/// moved as in a run without one); returns whether there were any.
pub fn drop_leftovers(state: &mut State) -> bool {
    let mut dropped = false;
    for record in state.steps.values_mut() {
        let before = record.outputs.len();
        record.outputs.retain(|key, _| !key.starts_with(CANARY_PREFIX));
        dropped |= record.outputs.len() != before;
    }
    dropped
}

/// A pending canary (from a killed run) rolled back before another command changes anything: returns a
/// notice saying so.
pub async fn roll_back_pending(clients: &Clients, state: &mut State) -> Result<Option<String>> {
    let Some(canary) = state.canary.take() else { return Ok(None) };
    if canary.functions.is_empty() {
        // Planned only: the killed run had not given a share yet.
        return Ok(None);
    }
    settle_aliases(clients, &state.settings.service, &canary, false).await?;
    settled(state, &canary, false);
    Ok(Some(format!(
        "an unfinished canary of {} functions was rolled back first (their aliases are on their live versions, \
         with no weights); `deployer resume` would have continued it",
        canary.functions.len()
    )))
}

/// Where a canary is reported and recorded while it runs.
pub trait Watcher {
    fn record(&self, canary: &Canary) -> Result<()>;
    fn watching(&self, now: &Watching);
}

/// Runs the canary from where it stands (no stages: the new versions go live at once, as when a run that
/// had `--canary` is resumed without it) (a fresh one, or one a killed run recorded) to its end: promoted,
/// or rolled back naming why. The state keeps it until it is settled.
pub async fn run(clients: &Clients, settings: &Settings, mut canary: Canary, watcher: &dyn Watcher) -> Result<Ended> {
    let service = &settings.service;
    if canary.started == 0.0 {
        canary.started = unix_now();
    }
    // Recorded before the first weight, so that a kill from here on is seen by `resume`.
    watcher.record(&canary)?;
    while let Some(stage) = canary.stages.get(canary.stage).copied() {
        let began = *canary.stage_started.get_or_insert_with(unix_now);
        watcher.record(&canary)?;
        give_share(clients, service, &canary, stage.percent).await?;
        let ends = UNIX_EPOCH + Duration::from_secs_f64(began + stage.seconds as f64);
        loop {
            let figures = match figures(clients, service, &canary).await {
                Ok(figures) => figures,
                Err(err) => {
                    return Ok(Ended::RolledBack(format!("CloudWatch could not be read to watch it ({err:#})")))
                }
            };
            let left = ends.duration_since(SystemTime::now()).unwrap_or_default();
            watcher.watching(&Watching {
                stage: canary.stage + 1,
                stages: canary.stages.len(),
                percent: stage.percent,
                functions: canary.functions.len(),
                left,
                figures: &figures,
            });
            if let Some(worst) = &figures.worst {
                return Ok(Ended::RolledBack(format!("{} was {} during the canary", worst.what, worst.value)));
            }
            if left.is_zero() {
                break;
            }
            tokio::time::sleep(left.min(WATCH_EVERY)).await;
        }
        canary.stage += 1;
        canary.stage_started = None;
    }
    Ok(Ended::Promoted)
}

/// What `status` says of a canary a killed run left: what is split, and what to do.
pub fn unfinished_line(canary: &Canary) -> String {
    let shares: Vec<String> = canary.stages.iter().map(|s| format!("{}%", s.percent)).collect();
    let split: Vec<String> = canary.functions.iter().map(|(f, v)| format!("{f} {} (+{})", v.from, v.to)).collect();
    format!(
        "canary unfinished at stage {} of {} ({}): {}. `deployer resume` continues it; any other command rolls it \
         back first",
        (canary.stage + 1).min(canary.stages.len()),
        canary.stages.len(),
        shares.join(", "),
        split.join(", ")
    )
}

/// The error a rolled-back canary ends the run with.
pub fn rolled_back_error(canary: &Canary, why: &str) -> anyhow::Error {
    anyhow!(
        "the canary was rolled back: {why}. The {} functions' aliases are back on their versions before this run \
         (with no weights); the new versions stay published. Look at `deployer logs NAME`, fix, and run again",
        canary.functions.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use deployer_steps::manual::ids;

    fn state_with(outputs: &[(&str, &str, &str)]) -> State {
        let mut state = State::new(crate::state::tests::settings());
        for (step, key, value) in outputs {
            let done = || crate::state::StepRecord {
                status: crate::state::Status::Done,
                fingerprint: None,
                started_at: None,
                finished_at: None,
                error: None,
                outputs: BTreeMap::new(),
            };
            let record = state.steps.entry(step.to_string()).or_insert_with(done);
            record.outputs.insert(key.to_string(), value.to_string());
        }
        state
    }

    #[test]
    fn the_canary_takes_the_functions_whose_new_version_differs_from_the_live_one_and_settles_their_outputs() {
        let mut state = state_with(&[
            (ids::LAMBDA, "live_version.prompt-crud", "3"),
            (ids::LAMBDA, "canary_version.prompt-crud", "4"),
            (ids::LAMBDA, "live_version.usage-handler", "2"),
            (ids::WEBSOCKET, "live_version.websocket-message", "5"),
            (ids::WEBSOCKET, "canary_version.websocket-message", "6"),
        ]);
        let stages = vec![CanaryStage { percent: 10.0, seconds: 60 }];
        let canary = left_by_steps(&state, stages).unwrap();
        let found: Vec<(&str, &str, &str)> =
            canary.functions.iter().map(|(f, v)| (f.as_str(), v.from.as_str(), v.to.as_str())).collect();
        assert_eq!(found, [("prompt-crud", "3", "4"), ("websocket-message", "5", "6")]);
        state.canary = Some(canary.clone());
        settled(&mut state, &canary, true);
        let outputs = state.outputs();
        assert_eq!(outputs[ids::LAMBDA]["live_version.prompt-crud"], "4");
        assert_eq!(outputs[ids::WEBSOCKET]["live_version.websocket-message"], "6");
        assert!(outputs.values().all(|o| o.keys().all(|k| !k.starts_with(CANARY_PREFIX))));
        assert_eq!(state.canary, None);
        assert!(left_by_steps(&state, vec![]).is_none(), "nothing left once settled");
    }
}
