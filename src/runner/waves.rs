//! Steps that need nothing of each other run at once. In the manual's order, each step joins the wave
//! being formed unless it needs one of the wave's steps (one it requires, or an earlier one whose outputs
//! it reads); the waves run one after another. 01 and 02 run together (02's role names the tables by
//! their ARNs, which follow from their names), as do 03 and 04, and 06 and 07, so that Lambda's quota,
//! which 02, 03 and 04 share, is never idle while a step of another service works.
//!
//! A wave's steps are checkpointed each on its own, as in turn. When one fails, the others finish (their
//! work needs nothing of it), and the run then reports the failure: `resume` goes on from the failed step.

use anyhow::Result;
use deployer_steps::Step;
use std::collections::BTreeSet;
use std::ops::Range;

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
    /// Runs `steps[range]`, wave after wave.
    pub(super) async fn run_waves<'s>(
        &self,
        steps: &[&'s dyn Step],
        range: Range<usize>,
        selection: &Selection,
        changed_steps: &mut BTreeSet<&'s str>,
    ) -> Result<Counts> {
        let mut total = Counts::default();
        for wave in waves(&steps[range.clone()]) {
            let wave = range.start + wave.start..range.start + wave.end;
            total.merge(self.run_wave(steps, wave, selection, changed_steps).await?);
        }
        Ok(total)
    }

    /// Runs the steps of one wave at once, after bringing earlier steps that read later outputs up to date.
    /// A failed step lets the others finish: their work is theirs alone, and recorded; then the first
    /// failure is the run's.
    async fn run_wave<'s>(
        &self,
        steps: &[&'s dyn Step],
        wave: Range<usize>,
        selection: &Selection,
        changed_steps: &mut BTreeSet<&'s str>,
    ) -> Result<Counts> {
        let mut total = Counts::default();
        if !matches!(selection, Selection::One(_)) {
            // A step that reads a later one's outputs (05 reads 06's domains) is brought up to date
            // before anything after it looks at AWS (08 verifies what 05 serves).
            total.merge(self.revisit_stale(&steps[..wave.start]).await?);
        }
        let changed: &BTreeSet<&str> = changed_steps;
        let results = futures::future::join_all(steps[wave].iter().map(|step| {
            // A step that created or deleted something (e.g. a recreated function) may invalidate its
            // dependents' resources (the function's invoke permission), so they are checked again even
            // with the same inputs. An update in place (new code) leaves them as they were.
            let upstream_changed = step.requires().iter().any(|r| changed.contains(r));
            async move {
                let counts = self.run_step(*step, selection, upstream_changed).await;
                self.publish().await?;
                counts.map(|counts| (step.id(), counts))
            }
        }))
        .await;
        for result in results {
            let (id, counts) = result?;
            if counts.created + counts.deleted > 0 {
                changed_steps.insert(id);
            }
            total.merge(counts);
        }
        Ok(total)
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
