//! `--output markdown`: what a plan (or a run) changes, as one Markdown document on stdout when the
//! command ends, for a pull request's review (a CI job appends it to `$GITHUB_STEP_SUMMARY`).

use deployer_steps::calls::Requests;
use deployer_steps::Change;
use std::cell::RefCell;
use std::time::Duration;

use crate::progress::{Counts, Mode, Reporter};

pub struct Markdown {
    pub mode: Mode,
    /// (step, resource, change, fields) of each resource that is not unchanged.
    rows: RefCell<Vec<[String; 4]>>,
}

impl Markdown {
    pub fn new(mode: Mode) -> Self {
        Markdown { mode, rows: RefCell::default() }
    }

    fn verb(&self, change: &Change) -> &'static str {
        match (change, self.mode) {
            (Change::Created, Mode::Plan) => "to create",
            (Change::Created, Mode::Apply) => "created",
            (Change::Updated(_), Mode::Plan) => "to update",
            (Change::Updated(_), Mode::Apply) => "updated",
            (Change::Deleted, Mode::Plan) => "to delete",
            (Change::Deleted, Mode::Apply) => "deleted",
            (Change::Unchanged, _) => "unchanged",
        }
    }
}

/// A table cell: pipes and line breaks would end it.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// The document for `counts` and the rows.
pub fn document(mode: Mode, counts: Counts, rows: &[[String; 4]]) -> String {
    let command = if mode == Mode::Plan { "deployer plan" } else { "deployer run" };
    let mut out = format!("### {command}: {}\n\n", counts.summary(mode));
    if rows.is_empty() {
        out.push_str("No changes: AWS matches what the steps want.\n");
        return out;
    }
    out.push_str("| step | resource | change | fields |\n|---|---|---|---|\n");
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

impl Reporter for Markdown {
    fn step_started(&self, _id: &str, _title: &str) {}
    fn step_skipped(&self, _id: &str, _reason: &str) {}
    fn resource(&self, step: &str, resource: &str, change: &Change) {
        if *change == Change::Unchanged {
            return;
        }
        let fields = match change {
            Change::Updated(fields) => deployer_steps::ensure::fields_line(fields),
            _ => String::new(),
        };
        self.rows.borrow_mut().push([step.to_string(), resource.to_string(), self.verb(change).to_string(), fields]);
    }
    fn step_finished(&self, _id: &str, _counts: Counts, _elapsed: Duration) {}
    fn step_failed(&self, id: &str, error: &str) {
        out!("### deployer: step {id} failed\n\n```\n{error}\n```\n");
    }
    fn notice(&self, _step: &str, _message: &str) {}
    fn repeats_notices(&self) -> bool {
        true
    }
    fn run_finished(&self, counts: Counts, _elapsed: Duration, _calls: Requests) {
        out!("{}", document(self.mode, counts, &self.rows.borrow()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_is_a_table_of_what_would_change_with_pipes_escaped() {
        let counts = Counts { created: 1, updated: 1, unchanged: 5, deleted: 0 };
        let rows = [
            ["02-lambda".into(), "function a|b".into(), "to update".into(), "memory".into()],
            ["05-frontend".into(), "object x".into(), "to create".into(), String::new()],
        ];
        let text = document(Mode::Plan, counts, &rows);
        assert!(text.starts_with("### deployer plan: 1 to create, 1 to update, 0 to delete, 5 unchanged\n"), "{text}");
        assert!(text.contains("| 02-lambda | function a\\|b | to update | memory |"), "{text}");
        assert_eq!(
            document(Mode::Plan, Counts::default(), &[]).lines().last(),
            Some("No changes: AWS matches what the steps want.")
        );
    }
}
