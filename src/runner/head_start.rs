//! Head starts: a step's work that needs no earlier step and waits long on AWS (06's certificate) runs
//! from the beginning of a run, beside the steps before it, so that its wait overlaps theirs. The step is
//! marked `started` when its head start begins, and its own turn later finds the work done. Killed at
//! any moment, the next run takes it from its recorded IDs, as for any step.

use anyhow::Result;
use deployer_steps::Step;
use futures::future::Either;
use std::cell::Cell;
use std::future::Future;
use std::time::Duration;

use super::{Runner, Selection, StepRecorder};
use crate::progress::Counts;
use crate::state::Status;

/// How long a head start may go on after an earlier step failed, to record what it was creating (a
/// request's round trip) before the run ends.
const HEAD_START_GRACE: Duration = Duration::from_secs(3);

impl Runner<'_> {
    /// The index of the first step whose head start is due: it has one for these settings and has not
    /// finished. Only for whole runs (`run`, `resume`), not for one step run alone.
    pub(super) fn head_start_at(&self, steps: &[&dyn Step], selection: &Selection) -> Option<usize> {
        if matches!(selection, Selection::One(_)) {
            return None;
        }
        let state = self.state.borrow();
        steps
            .iter()
            .position(|s| s.has_head_start(&state.settings) && state.status(s.id()) != Some(Status::Done))
            .filter(|at| *at > 0)
    }

    /// Runs `before` (the steps before `step`) and `step`'s head start together. A failure of the head
    /// start is returned once `before` has finished, with the step marked failed. A failure of `before`
    /// stops the head start at its next checkpoint (the ID of what it was creating recorded), or after
    /// [`HEAD_START_GRACE`] if it is waiting: as after a kill, the next run takes it from there.
    pub(super) async fn beside(&self, step: &dyn Step, before: impl Future<Output = Result<Counts>>) -> Result<Counts> {
        let stopping = Cell::new(false);
        let head = std::pin::pin!(self.head_start(step, &stopping));
        let before = std::pin::pin!(before);
        // `before` first: the run's first event is its first step's.
        match futures::future::select(before, head).await {
            Either::Left((Ok(counts), head)) => {
                // Silence here could last minutes (a certificate's validation): say what is awaited.
                let waiting = "the steps before it are done; waiting for what it started early (a certificate's DNS \
                               validation takes minutes)";
                self.notice(step.id(), waiting);
                Ok(counts.merged(head.await?))
            }
            Either::Left((Err(err), head)) => {
                stopping.set(true);
                let _ = tokio::time::timeout(HEAD_START_GRACE, head).await;
                Err(err)
            }
            Either::Right((head, before)) => {
                let counts = before.await?;
                Ok(counts.merged(head?))
            }
        }
    }

    async fn head_start(&self, step: &dyn Step, stopping: &Cell<bool>) -> Result<Counts> {
        let id = step.id();
        let snapshot = self.snapshot();
        let ctx = snapshot.context(self.clients);
        self.mark_started(id)?;
        self.notice(id, "started early, beside the steps before it (its wait is the longest)");
        let recorder = StepRecorder { stopping: Some(stopping), ..StepRecorder::new(self, id) };
        match step.head_start(&ctx, &recorder).await {
            Ok(()) => Ok(*recorder.counts.borrow()),
            // Stopped for an earlier step's failure: left `started`, as a kill leaves it.
            Err(err) if stopping.get() => Err(err),
            Err(err) => Err(self.fail(id, err)?),
        }
    }
}
