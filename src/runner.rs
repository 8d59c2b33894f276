//! The runner: executes steps in order, like a migration runner, those that need nothing of each other at
//! once, and those that need only earlier steps' outputs beside the rest of their work (`waves.rs`). Each
//! step is marked `started` before it runs and `done` (with its input fingerprint) after. `run` checks
//! every step against AWS (AWS is the source of truth: something changed by hand is put back). `resume`
//! skips a step that is `done` with an unchanged fingerprint, unless a step it requires changed something
//! in this run, and re-runs one left `started` or `failed`, which is safe because every step ensures
//! rather than creates.

use anyhow::{anyhow, bail, Result};
use deployer_steps::ensure::{NotYetCreated, PLANNED};
use deployer_steps::outputs;
use deployer_steps::package::hex;
use deployer_steps::s08_verify::Drift;
use deployer_steps::{Change, Clients, Context, InputError, NoAnswer, Recorder, Settings, Step, Teardown};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

mod dependents;
mod flight;
mod head_start;
mod lanes;
mod look;
mod tally;
mod waves;

use crate::progress::{Counts, Reporter};
use crate::state::now;
use crate::state::{self, State, Status, StepRecord};
use look::{LooksAhead, MemoryRecorder};

/// Which steps a command runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Every step in order, each checked against AWS (`run`).
    All,
    /// Every step in order, skipping those done with unchanged inputs (`resume`).
    Resume,
    /// One step, always run (`step ID`).
    One(String),
}

/// Picks the steps of `selection` and checks that a single step's prerequisites have finished.
pub fn select<'s>(
    steps: &'s [Box<dyn Step>],
    selection: &Selection,
    state: Option<&State>,
) -> Result<Vec<&'s dyn Step>, InputError> {
    let Selection::One(id) = selection else {
        return Ok(steps.iter().map(|s| s.as_ref()).collect());
    };
    let Some(step) = steps.iter().find(|s| s.id() == id) else {
        let ids: Vec<&str> = steps.iter().map(|s| s.id()).collect();
        return Err(InputError(format!(
            "unknown step '{id}': the steps are {} (see `deployer steps`)",
            ids.join(", ")
        )));
    };
    for needed in step.requires() {
        let status = state.and_then(|s| s.status(needed));
        if status != Some(Status::Done) {
            let now = status.map_or("not run".to_string(), |s| format!("{s:?}").to_lowercase());
            return Err(InputError(format!(
                "step {id} needs the outputs of {needed}, which has not finished ({now}): run `deployer step \
                 {needed}` first, or `deployer run` for everything"
            )));
        }
    }
    Ok(vec![step.as_ref()])
}

pub struct Runner<'a> {
    pub state_path: &'a Path,
    pub state: RefCell<State>,
    pub clients: &'a Clients,
    pub reporter: &'a dyn Reporter,
    /// The steps' events, shown one step after another when steps run at once (see `lanes.rs`).
    lanes: lanes::Lanes<'a>,
    /// A remote state (`--state s3://…`) the working copy is uploaded to after every step.
    pub remote: Option<&'a crate::remote::Remote>,
    /// The steps compared with AWS so far in this run (run for real, or looked at and found unchanged):
    /// `08-verify` trusts them instead of reading their resources again.
    compared: RefCell<BTreeSet<String>>,
    /// Done steps already looked at in this run (see `look.rs`), waiting for their turn.
    looked_ahead: RefCell<LooksAhead>,
    /// The digests of the notices this run gave (see [`Runner::notice`]).
    notices_given: RefCell<BTreeSet<String>>,
    /// Every resource reported so far, once (see `tally.rs`).
    tally: tally::Tally,
    /// The steps that have recorded every output a later step reads while they go on (03 and 04 add
    /// their invoke permissions), and whether they had created or deleted something by then.
    outputs_ready: RefCell<BTreeMap<String, bool>>,
    /// Held while the checkpoints are uploaded: steps that run at once upload one after another, so that
    /// an older copy never lands after a newer one.
    publishing: futures::lock::Mutex<()>,
}

impl<'a> Runner<'a> {
    pub fn new(
        state_path: &'a Path,
        state: State,
        clients: &'a Clients,
        reporter: &'a dyn Reporter,
        remote: Option<&'a crate::remote::Remote>,
    ) -> Self {
        Runner {
            state_path,
            state: state.into(),
            clients,
            reporter,
            lanes: lanes::Lanes::new(reporter),
            remote,
            compared: RefCell::default(),
            looked_ahead: RefCell::default(),
            notices_given: RefCell::default(),
            tally: tally::Tally::default(),
            outputs_ready: RefCell::default(),
            publishing: futures::lock::Mutex::new(()),
        }
    }
}

/// The state as a step sees it at one moment: settings, outputs, the state file's folder, and the steps
/// this run has compared with AWS so far.
struct Snapshot {
    settings: Settings,
    outputs: deployer_steps::Outputs,
    work_dir: PathBuf,
    compared: BTreeSet<String>,
}

impl Snapshot {
    fn context<'a>(&'a self, aws: &'a Clients) -> Context<'a> {
        Context {
            settings: &self.settings,
            aws,
            outputs: &self.outputs,
            work_dir: &self.work_dir,
            compared: &self.compared,
        }
    }
}

impl Runner<'_> {
    fn snapshot(&self) -> Snapshot {
        let state = self.state.borrow();
        Snapshot {
            settings: state.settings.clone(),
            outputs: state.outputs(),
            work_dir: self.work_dir(),
            compared: self.compared.borrow().clone(),
        }
    }

    /// The steps recorded `done`.
    fn finished(&self) -> BTreeSet<String> {
        let state = self.state.borrow();
        state.steps.iter().filter(|(_, r)| r.status == Status::Done).map(|(id, _)| id.clone()).collect()
    }

    fn work_dir(&self) -> PathBuf {
        self.state_path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    }

    fn save(&self) -> Result<()> {
        state::save(self.state_path, &self.state.borrow())
    }

    /// Shows a step's notice, unless the last run showed the very same one (`-v` shows each one).
    pub fn notice(&self, step: &str, message: &str) {
        let key = hex(&Sha256::digest(format!("{step}\0{message}")))[..16].to_string();
        let shown = self.state.borrow().notices_shown.contains(&key);
        self.notices_given.borrow_mut().insert(key);
        if !shown || self.reporter.repeats_notices() {
            self.lanes.notice(step, message);
        }
    }

    /// Shows and counts a step's report of a resource, unless this run has counted it already.
    pub fn report(&self, step: &str, resource: &str, change: &Change, counts: &mut Counts) {
        if let Some(change) = self.tally.admit(resource, change) {
            counts.add(&change);
            self.lanes.resource(step, resource, &change);
        }
    }

    /// Remembers the notices given, for the next runs. The state file is written only when a new notice
    /// was given: a run that changes nothing leaves it as it was.
    pub fn remember_notices(&self) -> Result<()> {
        let given = self.notices_given.take();
        let remembered: BTreeSet<String> = self.state.borrow().notices_shown.union(&given).cloned().collect();
        if remembered == self.state.borrow().notices_shown {
            return Ok(());
        }
        self.state.borrow_mut().notices_shown = remembered;
        self.save()
    }

    /// Changes the state outside the steps (the releases) and saves it.
    pub fn change_state(&self, change: impl FnOnce(&mut State)) -> Result<()> {
        change(&mut self.state.borrow_mut());
        self.save()
    }

    /// Uploads the checkpoints to the remote state, if there is one.
    async fn publish(&self) -> Result<()> {
        let Some(remote) = self.remote else { return Ok(()) };
        let _one_at_a_time = self.publishing.lock().await;
        remote.push().await
    }

    /// `started` before any work, like a migration runner's dirty flag.
    fn mark_started(&self, id: &str) -> Result<()> {
        self.set_status(id, |r| {
            r.status = Status::Started;
            r.started_at = Some(now());
            r.finished_at = None;
            r.error = None;
        })
    }

    fn set_status(&self, id: &str, update: impl FnOnce(&mut StepRecord)) -> Result<()> {
        {
            let mut state = self.state.borrow_mut();
            let record = state.steps.entry(id.to_string()).or_insert_with(|| StepRecord {
                status: Status::Started,
                fingerprint: None,
                started_at: None,
                finished_at: None,
                error: None,
                outputs: Default::default(),
            });
            update(record);
        }
        self.save()
    }

    /// Runs the selected steps; returns the total counts, or the first failure (state saved). Steps that
    /// need nothing of each other run at once (see `waves.rs`). A step with a head start that has not
    /// finished gets it at the beginning, beside the steps before it.
    pub async fn run(&self, steps: &[&dyn Step], selection: &Selection) -> Result<Counts> {
        let started = Instant::now();
        let mut changed_steps: BTreeSet<&str> = BTreeSet::new();
        if *selection == Selection::All {
            *self.looked_ahead.borrow_mut() = self.look_ahead(steps).await?;
        }
        let head_start = self.head_start_at(steps, selection);
        if let Some(at) = head_start {
            let before = self.run_waves(steps, 0..at, selection, &mut changed_steps);
            self.beside(steps[at], before).await?;
        }
        self.run_waves(steps, head_start.unwrap_or(0)..steps.len(), selection, &mut changed_steps).await?;
        if !matches!(selection, Selection::One(_)) {
            self.revisit_stale(steps).await?;
        }
        // Each resource once, however many steps reported it.
        let total = self.tally.counts();
        self.reporter.run_finished(total, started.elapsed(), self.clients.calls.totals());
        Ok(total)
    }

    /// One more pass over steps whose inputs changed after they ran, because a later step (one they
    /// `reads`) recorded something new: e.g. 05 after 06 made the custom domains. Bounded to one pass.
    async fn revisit_stale(&self, steps: &[&dyn Step]) -> Result<Counts> {
        let mut total = Counts::default();
        for step in steps.iter().filter(|s| !s.reads().is_empty()) {
            let snapshot = self.snapshot();
            let ctx = snapshot.context(self.clients);
            let current = fingerprint(*step, &ctx, &self.finished()).await?;
            let recorded = self.state.borrow().steps.get(step.id()).and_then(|r| r.fingerprint.clone());
            if recorded.is_some_and(|r| r != current) {
                total.merge(self.run_step(*step, &Selection::Resume, false).await?);
            }
        }
        Ok(total)
    }

    async fn run_step(&self, step: &dyn Step, selection: &Selection, upstream_changed: bool) -> Result<Counts> {
        let id = step.id();
        let snapshot = self.snapshot();
        let ctx = snapshot.context(self.clients);
        let fingerprint = fingerprint(step, &ctx, &self.finished()).await?;

        let previous = self.state.borrow().steps.get(id).cloned();
        let unchanged = previous
            .as_ref()
            .is_some_and(|p| p.status == Status::Done && p.fingerprint.as_deref() == Some(fingerprint.as_str()));
        if unchanged && !upstream_changed && *selection == Selection::Resume {
            self.lanes.step_skipped(id, "done, inputs unchanged");
            return Ok(Counts::default());
        }
        if unchanged {
            let ahead = self.looked_ahead.borrow_mut().remove(id);
            let ahead = ahead.filter(|(taken_with, _)| !upstream_changed && *taken_with == fingerprint);
            if let Some(counts) = self.check_done_step(step, &ctx, ahead.map(|(_, look)| look)).await? {
                self.compared.borrow_mut().insert(id.to_string());
                return Ok(counts);
            }
        }

        self.mark_started(id)?;
        self.lanes.step_started(id, step.title());
        let clock = Instant::now();
        let recorder = StepRecorder::new(self, id);
        let result = step.run(&ctx, &recorder).await;
        let counts = *recorder.counts.borrow();
        match result {
            Ok(()) => {
                self.set_status(id, |r| {
                    r.status = Status::Done;
                    r.fingerprint = Some(fingerprint);
                    r.finished_at = Some(now());
                })?;
                self.compared.borrow_mut().insert(id.to_string());
                self.lanes.step_finished(id, counts, clock.elapsed());
                Ok(counts)
            }
            Err(err) => Err(self.fail(id, err)?),
        }
    }
}

impl Runner<'_> {
    /// Records the failure in the state file and reports it.
    fn fail(&self, id: &str, err: anyhow::Error) -> Result<anyhow::Error> {
        if let Some(drift) = err.downcast_ref::<Drift>() {
            self.mark_drifted(drift)?;
        }
        let failed = StepFailed::new(id, &err, Then::Resume, &self.state.borrow().settings);
        self.set_status(id, |r| {
            r.status = Status::Failed;
            r.finished_at = Some(now());
            r.error = Some(failed.message.clone());
        })?;
        self.lanes.step_failed(id, &failed.message);
        Ok(anyhow!(failed))
    }

    /// `destroy`: first every step's refusals (nothing is deleted if one refuses), then each step's
    /// teardown in reverse order. A torn-down step's record leaves the state file at once; the state
    /// remembers that a destroy is under way, so `resume` after a kill continues it.
    pub async fn destroy(&self, steps: &[&dyn Step], teardown: Teardown) -> Result<Counts> {
        let started = Instant::now();
        let snapshot = self.snapshot();
        for step in steps {
            step.check_teardown(&snapshot.context(self.clients), &teardown).await?;
        }
        self.state.borrow_mut().destroying = Some(teardown);
        self.save()?;
        let mut total = Counts::default();
        for step in steps.iter().rev() {
            let id = step.id();
            self.lanes.step_started(id, &format!("destroy: {}", step.title()));
            let clock = Instant::now();
            let recorder = StepRecorder::new(self, id);
            let snapshot = self.snapshot();
            if let Err(err) = step.destroy(&snapshot.context(self.clients), &teardown, &recorder).await {
                let failed = StepFailed::new(id, &err, Then::DestroyAgain, &snapshot.settings);
                self.lanes.step_failed(id, &failed.message);
                return Err(anyhow!(failed));
            }
            let counts = *recorder.counts.borrow();
            self.state.borrow_mut().steps.remove(id);
            self.save()?;
            self.publish().await?;
            self.lanes.step_finished(id, counts, clock.elapsed());
            total.merge(counts);
        }
        self.state.borrow_mut().destroying = None;
        self.save()?;
        self.reporter.run_finished(total, started.elapsed(), self.clients.calls.totals());
        Ok(total)
    }

    /// The steps whose resources no longer match are marked failed, so that `run` and `resume` converge them
    /// again instead of skipping them as done.
    fn mark_drifted(&self, drift: &Drift) -> Result<()> {
        for (step, found) in &drift.steps {
            let message = format!("08-verify found: {}", found.join("; "));
            self.set_status(step, |r| {
                r.status = Status::Failed;
                r.error = Some(message);
            })?;
        }
        Ok(())
    }

    /// `plan`: every step, read-only. Mutating requests are refused at the client, the state file is not
    /// written, and what a step would record is kept in memory for the steps after it.
    pub async fn plan(&self, steps: &[&dyn Step]) -> Result<Counts> {
        self.clients.calls.set_read_only(true);
        let started = Instant::now();
        let settings: Settings = self.state.borrow().settings.clone();
        let mut outputs = self.state.borrow().outputs();
        let work_dir = self.work_dir();
        let compared = BTreeSet::new();
        // Steps that stopped short (nothing after them can be looked up), and steps whose outputs name
        // resources yet to create (only a step that `plans_past_new` can go on from those).
        let mut incomplete: BTreeSet<&str> = BTreeSet::new();
        let mut planned: BTreeSet<&str> = BTreeSet::new();
        for step in steps {
            let id = step.id();
            let blocked = |r: &&&str| {
                incomplete.contains(**r)
                    || outputs.get(**r).is_none_or(|o| o.is_empty())
                    || (planned.contains(**r) && !step.plans_past_new())
            };
            if step.read_only() {
                self.lanes.step_skipped(id, "it only reads: nothing to plan");
                continue;
            }
            let missing = step.requires().iter().find(blocked);
            if let Some(missing) = missing {
                self.lanes.step_skipped(id, &format!("everything in it is to create, once {missing} has run"));
                incomplete.insert(id);
                continue;
            }
            self.lanes.step_started(id, step.title());
            let clock = Instant::now();
            let recorder = MemoryRecorder::new(outputs.get(id), true);
            let ctx = Context {
                settings: &settings,
                aws: self.clients,
                outputs: &outputs,
                work_dir: &work_dir,
                compared: &compared,
            };
            let result = step.run(&ctx, &recorder).await;
            let counts = recorder.replay(self, id);
            // A plan shows every notice: it records nothing, so it cannot tell what was shown before.
            for notice in recorder.notices.borrow().iter() {
                self.lanes.notice(id, notice);
            }
            match result {
                Err(err) if err.is::<NotYetCreated>() => {
                    self.lanes.notice(id, &err.to_string());
                    incomplete.insert(id);
                }
                Err(err) => {
                    let failed = StepFailed::new(id, &err, Then::PlanAgain, &settings);
                    self.lanes.step_failed(id, &failed.message);
                    return Err(anyhow!(failed));
                }
                Ok(()) => {}
            }
            self.lanes.step_finished(id, counts, clock.elapsed());
            // Outputs naming what is yet to be created cannot be looked up by the steps after it.
            if recorder.values.borrow().values().any(|v| v.contains(PLANNED)) {
                planned.insert(id);
            }
            outputs.insert(id.to_string(), recorder.values.into_inner());
        }
        let total = self.tally.counts();
        self.reporter.run_finished(total, started.elapsed(), self.clients.calls.totals());
        Ok(total)
    }

    /// After Ctrl-C: the step that was running is recorded as failed, so `status` tells and `resume`
    /// picks it up. What it created is already recorded, resource by resource.
    pub fn mark_interrupted(&self) -> Result<Interrupted> {
        let running: Vec<String> = self
            .state
            .borrow()
            .steps
            .iter()
            .filter(|(_, r)| r.status == Status::Started)
            .map(|(id, _)| id.clone())
            .collect();
        let message = "interrupted (Ctrl-C) before it finished: `deployer resume` continues it";
        for id in &running {
            self.set_status(id, |r| {
                r.status = Status::Failed;
                r.finished_at = Some(now());
                r.error = Some(message.to_string());
            })?;
            self.lanes.step_failed(id, message);
        }
        self.lanes.flush();
        Ok(Interrupted)
    }
}

/// The run was stopped with Ctrl-C; the process exits with 130 like a shell's interrupted command.
#[derive(Debug)]
pub struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted: the state file is saved; run `deployer resume` to continue")
    }
}

impl std::error::Error for Interrupted {}

/// What the user does after a step failed, by command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    /// `run`, `step`, `resume`: what was created is recorded, `resume` goes on from the failed step.
    Resume,
    /// `plan`: nothing was changed.
    PlanAgain,
    /// `destroy`: what was deleted has left the state file.
    DestroyAgain,
}

/// A step failed: the error, once, and one instruction that fits it.
#[derive(Debug)]
pub struct StepFailed {
    pub step: String,
    pub message: String,
    /// What to do next; empty when the message already says (e.g. "… then `deployer resume`").
    pub next: String,
}

impl StepFailed {
    pub fn new(step: &str, err: &anyhow::Error, then: Then, settings: &Settings) -> StepFailed {
        let message = format!("{err:#}");
        let command = match then {
            Then::Resume => "deployer resume",
            Then::PlanAgain => "deployer plan",
            Then::DestroyAgain => "deployer destroy",
        };
        let next = if let Some(unanswered) = err.downcast_ref::<NoAnswer>() {
            format!(
                "{} did not answer in time, after retries. Check your network and the endpoint, then run `{command}`; \
                 on a slow link, allow longer with DEPLOYER_READ_TIMEOUT (default 2m).",
                endpoint(unanswered.service(), settings)
            )
        } else if message.contains("`deployer ") {
            String::new()
        } else {
            match then {
                Then::Resume => "What was created is recorded in the state file: fix the cause, then run `deployer \
                                 resume` to continue from this step."
                    .to_string(),
                Then::PlanAgain => "Nothing was changed: fix the cause, then run `deployer plan` again.".to_string(),
                Then::DestroyAgain => "What was deleted has left the state file: fix the cause, then run `deployer \
                                       destroy` again."
                    .to_string(),
            }
        };
        StepFailed { step: step.to_string(), message, next }
    }
}

/// The endpoint a service's requests went to: the custom one, or AWS's in the region.
fn endpoint(service: &str, settings: &Settings) -> String {
    let custom = settings.endpoint_url.clone().or_else(|| std::env::var("AWS_ENDPOINT_URL").ok());
    match custom.filter(|url| !url.is_empty()) {
        Some(url) => format!("The endpoint {url}"),
        None => format!("AWS's {service} endpoint in {}", settings.region),
    }
}

impl std::fmt::Display for StepFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "step {} failed: {}", self.step, self.message)?;
        if !self.next.is_empty() {
            write!(f, "\n{}", self.next)?;
        }
        Ok(())
    }
}

impl std::error::Error for StepFailed {}

/// Digest of everything a step's result depends on: the steps' code, the settings, its prerequisites'
/// outputs, and its own extra inputs (e.g. the code bundle).
/// What a step's work depends on: its settings, its own inputs (the code bundle), and the outputs of the
/// steps it requires, and of those it reads once they have finished (05 reads 06's endpoints, not the
/// zone 06's head start records while 05 runs).
async fn fingerprint(step: &dyn Step, ctx: &Context<'_>, finished: &BTreeSet<String>) -> Result<String> {
    let ignored = |key: &str| {
        outputs::read_by_no_other_step(key) || (step.starts_on_outputs() && outputs::read_by_function_writers_only(key))
    };
    let outputs_of = |id: &str| {
        let outputs =
            ctx.outputs.get(id).map(|o| o.iter().filter(|(key, _)| !ignored(key)).collect::<BTreeMap<_, _>>());
        json!(outputs.filter(|o| !o.is_empty()))
    };
    let mut upstream: serde_json::Map<String, serde_json::Value> =
        step.requires().iter().map(|id| (id.to_string(), outputs_of(id))).collect();
    for id in step.reads() {
        let outputs = if finished.contains(*id) { outputs_of(id) } else { serde_json::Value::Null };
        upstream.insert(id.to_string(), outputs);
    }
    let input = json!({
        "step": step.id(),
        "steps_code": deployer_steps::STEPS_DIGEST,
        "settings": settings_used(step, ctx.settings),
        "upstream": upstream,
        "digest": step.input_digest(ctx).await?,
    });
    Ok(hex(&Sha256::digest(input.to_string())))
}

/// The settings that count in a step's fingerprint: those it reads, and where its resources live.
fn settings_used(step: &dyn Step, settings: &Settings) -> serde_json::Value {
    let all = json!(settings);
    let (Some(names), Some(fields)) = (step.settings_used(), all.as_object()) else {
        return all;
    };
    let wanted =
        |key: &String| ["service", "region", "endpoint_url"].contains(&key.as_str()) || names.contains(&key.as_str());
    json!(fields
        .iter()
        .filter(|(key, _)| wanted(key))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect::<serde_json::Map<_, _>>())
}

struct StepRecorder<'r> {
    runner: &'r Runner<'r>,
    step: &'static str,
    counts: RefCell<Counts>,
    /// A head start's: once set, the next record is saved and then refused, to stop the work there.
    stopping: Option<&'r Cell<bool>>,
}

impl<'r> StepRecorder<'r> {
    fn new(runner: &'r Runner<'r>, step: &'static str) -> Self {
        StepRecorder { runner, step, counts: RefCell::new(Counts::default()), stopping: None }
    }
}

impl Recorder for StepRecorder<'_> {
    fn recorded(&self, key: &str) -> Option<String> {
        self.runner.state.borrow().steps.get(self.step).and_then(|s| s.outputs.get(key).cloned())
    }

    fn record(&self, key: &str, value: &str) -> Result<()> {
        self.runner.set_status(self.step, |r| {
            r.outputs.insert(key.to_string(), value.to_string());
        })?;
        if self.stopping.is_some_and(Cell::get) {
            bail!("{} stopped after recording {key}: an earlier step failed", self.step);
        }
        Ok(())
    }

    fn report(&self, resource: &str, change: &Change) {
        self.runner.report(self.step, resource, change, &mut self.counts.borrow_mut());
    }

    fn notice(&self, message: &str) {
        self.runner.notice(self.step, message);
    }

    fn outputs_complete(&self) {
        let counts = self.counts.borrow();
        self.runner.outputs_ready.borrow_mut().insert(self.step.to_string(), counts.created + counts.deleted > 0);
    }
}
