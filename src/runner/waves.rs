//! Steps that need nothing of each other run at once. In the manual's order, each step joins the wave
//! being formed unless it needs one of the wave's steps (one it requires, or an earlier one whose outputs
//! it reads); the waves run one after another. 01 and 02 run together (02's role names the tables by
//! their ARNs, which follow from their names), as do 03 and 04, and 06 and 07, so that Lambda's quota,
//! which 02, 03 and 04 share, is never idle while a step of another service works.
//!
//! A wave whose steps need only the outputs of the steps before it ([`Step::starts_on_outputs`]: 05, 06
//! and 07) starts once those still running have recorded them all ([`Recorder::outputs_complete`]): 05
//! and 07 run beside 03's and 04's invoke permissions, which only 08's requests need, so that the
//! frontend and stages take no time of their own after Lambda's quota is spent.
//!
//! A wave's steps are checkpointed each on its own, as in turn; a step is `done` only once all its work
//! is (killed while 05 runs beside 03's permissions, 03 is left `started`, and `resume` ensures it again).
//! When one fails, the others in flight finish (their work needs nothing of it), no later wave starts,
//! and the run then reports the failure: `resume` goes on from the failed step.
//!
//! [`Recorder::outputs_complete`]: deployer_steps::Recorder::outputs_complete

use anyhow::Result;
use deployer_steps::Step;
use std::collections::BTreeSet;
use std::ops::Range;

use super::flight::Flight;
use super::{Runner, Selection};
use crate::progress::Counts;

/// The waves of `steps`, as ranges of it.
pub(super) fn waves(steps: &[&dyn Step]) -> Vec<Range<usize>> {
    let mut waves: Vec<Range<usize>> = Vec::new();
    for (n, step) in steps.iter().enumerate() {
        let needs_the_wave = |wave: &Range<usize>| {
            steps[wave.clone()]
                .iter()
                .any(|earlier| step.requires().contains(&earlier.id()) || step.reads().contains(&earlier.id()))
        };
        match waves.last_mut() {
            Some(wave) if !needs_the_wave(wave) => wave.end = n + 1,
            _ => waves.push(n..n + 1),
        }
    }
    waves
}

impl Runner<'_> {
    /// Runs `steps[range]`, wave after wave. A wave starts when the steps before it have finished, or,
    /// when all of its steps start on outputs ([`Step::starts_on_outputs`]), when those still running
    /// have recorded theirs: 05 and 07 then run beside 03's and 04's invoke permissions. A failed step
    /// lets the steps in flight finish, and no later wave starts; the first failure is the run's.
    pub(super) async fn run_waves<'s>(
        &self,
        steps: &[&'s dyn Step],
        range: Range<usize>,
        selection: &Selection,
        changed_steps: &mut BTreeSet<&'s str>,
    ) -> Result<Counts> {
        let mut flight = Flight::new();
        let mut total = Counts::default();
        for wave in waves(&steps[range.clone()]) {
            let wave = range.start + wave.start..range.start + wave.end;
            let on_outputs = steps[wave.clone()].iter().all(|s| s.starts_on_outputs());
            let far_enough = |flight: &Flight| {
                on_outputs && flight.unfinished.iter().all(|n| self.outputs_ready.borrow().contains_key(steps[*n].id()))
            };
            flight.until(far_enough).await;
            self.take_finished(steps, &mut flight, changed_steps, &mut total);
            if flight.failed() {
                break;
            }
            if !matches!(selection, Selection::One(_)) {
                // A step that reads a later one's outputs (05 reads 06's domains) is brought up to date
                // before anything after it looks at AWS (08 verifies what 05 serves); not one in flight.
                let settled: Vec<&dyn Step> =
                    (0..wave.start).filter(|n| !flight.unfinished.contains(n)).map(|n| steps[n]).collect();
                match flight.beside(self.revisit_stale(&settled)).await {
                    Ok(counts) => total.merge(counts),
                    Err(err) => {
                        // The steps in flight still finish (what they create is recorded); this is the
                        // run's first failure.
                        flight.failures.push((0, err));
                        break;
                    }
                }
            }
            for n in wave {
                let step = steps[n];
                // A step that created or deleted something (e.g. a recreated function) may invalidate its
                // dependents' resources (the function's invoke permission), so they are checked again even
                // with the same inputs. An update in place (new code) leaves them as they were.
                let upstream_changed = step.requires().iter().any(|r| {
                    changed_steps.contains(r) || self.outputs_ready.borrow().get(*r).is_some_and(|changed| *changed)
                });
                flight.launch(
                    n,
                    Box::pin(async move {
                        let counts = self.run_step(step, selection, upstream_changed).await;
                        let published = self.publish().await;
                        (n, counts.and_then(|counts| published.map(|()| counts)))
                    }),
                );
            }
        }
        flight.until(|_| false).await;
        self.take_finished(steps, &mut flight, changed_steps, &mut total);
        let mut failures = flight.failures;
        failures.sort_by_key(|(n, _)| *n);
        match failures.into_iter().next() {
            Some((_, err)) => Err(err),
            None => Ok(total),
        }
    }

    /// Counts the steps that finished well and notes those that created or deleted something; keeps the
    /// failures.
    fn take_finished<'s>(
        &self,
        steps: &[&'s dyn Step],
        flight: &mut Flight<'_>,
        changed_steps: &mut BTreeSet<&'s str>,
        total: &mut Counts,
    ) {
        for (n, result) in std::mem::take(&mut flight.finished) {
            match result {
                Ok(counts) => {
                    if counts.created + counts.deleted > 0 {
                        changed_steps.insert(steps[n].id());
                    }
                    total.merge(counts);
                }
                Err(err) => flight.failures.push((n, err)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manual_s_steps_run_in_five_waves() {
        let steps = deployer_steps::registry();
        let steps: Vec<&dyn Step> = steps.iter().map(|s| s.as_ref()).collect();
        let ids = |range: Range<usize>| steps[range].iter().map(|s| s.id()).collect::<Vec<_>>().join(" ");
        let waves: Vec<String> = waves(&steps).into_iter().map(ids).collect();
        assert_eq!(
            waves,
            ["01-dynamodb 02-lambda", "03-api-gateway 04-websocket", "05-frontend", "06-domain 07-stages", "08-verify"]
        );
    }
}
