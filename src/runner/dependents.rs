//! After a step run alone (`deployer step ID`): the done steps that read what it recorded, and whose
//! inputs therefore changed, are named, so that their resources are not left out of date unknowingly
//! (06's custom domains change the endpoints 05's `config.js` serves). `resume` re-runs exactly those.

use anyhow::Result;
use deployer_steps::Step;

use super::{fingerprint, Runner};
use crate::state::Status;

impl Runner<'_> {
    /// The done steps with resources that require or read `id` and whose fingerprint no longer matches
    /// (08-verify, which only reads, is re-run by `resume` all the same).
    pub async fn stale_dependents(&self, id: &str, all: &[&dyn Step]) -> Result<Vec<&'static str>> {
        let snapshot = self.snapshot();
        let ctx = snapshot.context(self.clients);
        let mut stale = Vec::new();
        let dependents = all.iter().filter(|s| s.requires().contains(&id) || s.reads().contains(&id));
        for step in dependents.filter(|s| !s.read_only()) {
            let recorded = {
                let state = self.state.borrow();
                let record = state.steps.get(step.id()).filter(|r| r.status == Status::Done);
                record.and_then(|r| r.fingerprint.clone())
            };
            if let Some(recorded) = recorded {
                if fingerprint(*step, &ctx, &self.finished()).await? != recorded {
                    stale.push(step.id());
                }
            }
        }
        Ok(stale)
    }
}
