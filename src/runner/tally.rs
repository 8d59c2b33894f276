//! A run's resources, each counted once however many steps report it: the account's CloudWatch role is
//! checked by every stage with access logs, `config.js` is written by 05 before and after 06, and a
//! resource created earlier in the run is only finished by a later look. The run's totals, the plan's
//! and the lines shown all come from here, so that a plan's counts are the next run's.

use deployer_steps::Change;
use std::cell::RefCell;
use std::collections::BTreeMap;

use crate::progress::Counts;

#[derive(Default)]
pub struct Tally {
    seen: RefCell<BTreeMap<String, Change>>,
}

impl Tally {
    /// The change to show and count for this report, or `None` when the run has counted the resource
    /// already as it stands (created or deleted in this run, or reported again with nothing new).
    pub fn admit(&self, resource: &str, change: &Change) -> Option<Change> {
        let mut seen = self.seen.borrow_mut();
        let admitted = match (seen.get(resource), change) {
            (None, _) => true,
            (Some(Change::Created | Change::Deleted), _) => false,
            (Some(_), Change::Unchanged) => false,
            (Some(_), _) => true,
        };
        if admitted {
            let counted = match (seen.get(resource), change) {
                // A second update of the resource is shown (it was written again) but counted once.
                (Some(Change::Updated(_)), Change::Updated(_)) => false,
                _ => true,
            };
            if counted {
                seen.insert(resource.to_string(), change.clone());
            }
        }
        admitted.then(|| change.clone())
    }

    /// Each resource once, as it ended up in this run.
    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        self.seen.borrow().values().for_each(|change| counts.add(change));
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resource_is_counted_once_as_it_ended_up() {
        let tally = Tally::default();
        let updated = Change::Updated(vec!["records".into()]);
        assert_eq!(tally.admit("role", &Change::Created), Some(Change::Created));
        assert_eq!(tally.admit("role", &Change::Created), None, "checked again by the next stage");
        assert_eq!(tally.admit("role", &updated), None, "finished after its create: part of the create");
        assert_eq!(tally.admit("config.js", &Change::Unchanged), Some(Change::Unchanged));
        assert_eq!(tally.admit("config.js", &updated), Some(updated.clone()), "changed by a later pass");
        assert_eq!(tally.admit("config.js", &Change::Unchanged), None);
        assert_eq!(tally.admit("config.js", &updated), Some(updated.clone()), "written again: shown");
        assert_eq!(tally.counts(), Counts { created: 1, updated: 1, unchanged: 0, deleted: 0 });
    }
}
