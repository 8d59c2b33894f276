//! Looking before running: a step done with the same inputs is first only looked at (writes refused).
//! When AWS matches, its findings are reported and neither AWS nor the state file is written, so a no-op
//! `run` writes nothing; when something differs, the step runs for real, checkpoints and all. A whole
//! `run` looks at all its done steps at once before the first one's turn (they only read, and none
//! depends on another's look), so that a no-op costs the longest step's round trips, not their sum. A look
//! is used in its step's turn only if nothing before it created or deleted anything and its fingerprint is
//! still the one it was taken with; otherwise the step is looked at again.

use anyhow::Result;
use deployer_steps::calls::reading_only;
use deployer_steps::{Change, Context, Recorder, Step};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::{fingerprint, Runner};
use crate::progress::Counts;
use crate::state::Status;

/// What a look at a done step found.
pub(super) struct Look {
    check: MemoryRecorder,
    result: Result<()>,
    took: Duration,
}

impl Look {
    /// Whether AWS holds what the step wants, with the outputs it recorded.
    fn same(&self, recorded: Option<&BTreeMap<String, String>>) -> bool {
        self.result.is_ok()
            && self.check.reports.borrow().iter().all(|(_, change)| *change == Change::Unchanged)
            && Some(&*self.check.values.borrow()) == recorded.or(Some(&BTreeMap::new()))
    }
}

/// Looks taken ahead, by step: (the fingerprint they were taken with, the look).
pub(super) type LooksAhead = BTreeMap<&'static str, (String, Look)>;

impl Runner<'_> {
    async fn look(&self, step: &dyn Step, ctx: &Context<'_>) -> Look {
        let clock = Instant::now();
        let check = MemoryRecorder::new(ctx.outputs.get(step.id()), !step.read_only());
        let result =
            if step.read_only() { step.run(ctx, &check).await } else { reading_only(step.run(ctx, &check)).await };
        Look { check, result, took: clock.elapsed() }
    }

    /// Looks at every done step with unchanged inputs, all at once (not the read-only 08, which trusts
    /// what the run compared before it).
    pub(super) async fn look_ahead(&self, steps: &[&dyn Step]) -> Result<LooksAhead> {
        let snapshot = self.snapshot();
        let ctx = snapshot.context(self.clients);
        let mut due = Vec::new();
        for step in steps.iter().filter(|s| !s.read_only()) {
            let fingerprint = fingerprint(*step, &ctx, &self.finished()).await?;
            let state = self.state.borrow();
            let record = state.steps.get(step.id());
            if record.is_some_and(|r| r.status == Status::Done && r.fingerprint.as_ref() == Some(&fingerprint)) {
                due.push((*step, fingerprint));
            }
        }
        let ctx = &ctx;
        let looks = due.into_iter().map(|(step, fingerprint)| async move {
            let look = self.look(step, ctx).await;
            (step.id(), (fingerprint, look))
        });
        Ok(futures::future::join_all(looks).await.into_iter().collect())
    }

    /// A done step with the same inputs, checked by a look (`ahead`, else one taken now): its counts when
    /// AWS matches, `None` when the step must run for real.
    pub(super) async fn check_done_step(
        &self,
        step: &dyn Step,
        ctx: &Context<'_>,
        ahead: Option<Look>,
    ) -> Result<Option<Counts>> {
        let id = step.id();
        let look = match ahead {
            Some(look) => look,
            None => self.look(step, ctx).await,
        };
        if !look.same(ctx.outputs.get(id)) {
            return match look.result {
                Err(err) if step.read_only() => Err(self.fail(id, err)?),
                _ => Ok(None),
            };
        }
        self.lanes.step_started(id, step.title());
        let counts = look.check.replay(self, id);
        for notice in look.check.notices.borrow().iter() {
            self.notice(id, notice);
        }
        self.lanes.step_finished(id, counts, look.took);
        Ok(Some(counts))
    }
}

/// For `plan` and the look-first pass over a done step: values stay in memory, nothing reaches the state
/// file, and reports and notices wait until the runner shows them (the look-first pass shows them only
/// when the step need not run for real).
pub(super) struct MemoryRecorder {
    pub(super) values: RefCell<BTreeMap<String, String>>,
    pub(super) reports: RefCell<Vec<(String, Change)>>,
    pub(super) notices: RefCell<Vec<String>>,
    planning: bool,
}

impl MemoryRecorder {
    pub(super) fn new(recorded: Option<&BTreeMap<String, String>>, planning: bool) -> Self {
        MemoryRecorder {
            values: RefCell::new(recorded.cloned().unwrap_or_default()),
            reports: RefCell::new(Vec::new()),
            notices: RefCell::new(Vec::new()),
            planning,
        }
    }

    /// Shows what the step reported, each resource once in the run (its notices are the caller's to
    /// show); returns its counts.
    pub(super) fn replay(&self, runner: &Runner<'_>, step: &str) -> Counts {
        let mut counts = Counts::default();
        for (resource, change) in self.reports.borrow().iter() {
            runner.report(step, resource, change, &mut counts);
        }
        counts
    }
}

impl Recorder for MemoryRecorder {
    fn recorded(&self, key: &str) -> Option<String> {
        self.values.borrow().get(key).cloned()
    }
    fn record(&self, key: &str, value: &str) -> Result<()> {
        self.values.borrow_mut().insert(key.to_string(), value.to_string());
        Ok(())
    }
    fn report(&self, resource: &str, change: &Change) {
        self.reports.borrow_mut().push((resource.to_string(), change.clone()));
    }
    fn notice(&self, message: &str) {
        self.notices.borrow_mut().push(message.to_string());
    }
    fn planning(&self) -> bool {
        self.planning
    }
}
