//! Progress reporting: spinners on a terminal, plain lines otherwise, or one JSON event per line on
//! stdout with `--output json`.

use deployer_steps::calls::{CallLog, Requests};
use deployer_steps::ensure::fields_line;
use deployer_steps::Change;
use indicatif::{ProgressBar, ProgressStyle};

use crate::releases::canary::Watching;
use serde_json::json;
use std::cell::RefCell;
use std::io::Write;
use std::time::Duration;

/// A line on stderr; a closed stderr (`2>&1 | head`) must not stop the deploy, so errors are dropped.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub deleted: usize,
}

impl Counts {
    pub fn add(&mut self, change: &Change) {
        match change {
            Change::Created => self.created += 1,
            Change::Updated(_) => self.updated += 1,
            Change::Unchanged => self.unchanged += 1,
            Change::Deleted => self.deleted += 1,
        }
    }

    pub fn merge(&mut self, other: Counts) {
        self.created += other.created;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.deleted += other.deleted;
    }

    pub fn merged(mut self, other: Counts) -> Counts {
        self.merge(other);
        self
    }

    pub fn changed(&self) -> usize {
        self.created + self.updated + self.deleted
    }

    pub fn summary(&self, mode: Mode) -> String {
        match mode {
            Mode::Apply => format!(
                "{} created, {} updated, {} deleted, {} unchanged ({} changed)",
                self.created,
                self.updated,
                self.deleted,
                self.unchanged,
                self.changed()
            ),
            Mode::Plan => format!(
                "{} to create, {} to update, {} to delete, {} unchanged",
                self.created, self.updated, self.deleted, self.unchanged
            ),
        }
    }
}

/// Whether the changes reported were made (`run`, `destroy`) or only found (`plan`, in the future tense).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Apply,
    Plan,
}

fn finished_line(mode: Mode, counts: Counts, elapsed: Duration, calls: Requests) -> String {
    match mode {
        Mode::Plan if counts.changed() == 0 => format!(
            "plan: no changes, AWS matches what the steps want ({} unchanged); {} in {}",
            counts.unchanged,
            requests(calls),
            seconds(elapsed)
        ),
        Mode::Plan => format!("plan: {}; {} in {}", counts.summary(mode), requests(calls), seconds(elapsed)),
        Mode::Apply => format!("finished: {} in {}; {}", counts.summary(mode), seconds(elapsed), requests(calls)),
    }
}

pub trait Reporter {
    fn step_started(&self, id: &str, title: &str);
    fn step_skipped(&self, id: &str, reason: &str);
    fn resource(&self, step: &str, resource: &str, change: &Change);
    fn step_finished(&self, id: &str, counts: Counts, elapsed: Duration);
    fn step_failed(&self, id: &str, error: &str);
    fn notice(&self, step: &str, message: &str);
    /// Whether a notice the last run showed is shown again (`-v`, JSON); else it is shown once.
    fn repeats_notices(&self) -> bool;
    /// `calls`: the AWS requests the run made.
    fn run_finished(&self, counts: Counts, elapsed: Duration, calls: Requests);
    /// After a whole run: where its users reach what it deployed, as (label, URL).
    fn deployed(&self, _urls: &[(&str, String)]) {}
    /// After a whole run that changed what is live: the new release.
    fn released(&self, _release: &crate::releases::Release) {}
    /// A canary's stage, its time left and the figures watched.
    fn canary(&self, now: &Watching) {
        say!("    {}", canary_line(now));
    }
    /// The canary's end: promoted, or rolled back with why.
    fn canary_ended(&self, promoted: bool, message: &str) {
        say!("{} {message}", if promoted { "canary promoted:" } else { "canary ROLLED BACK:" });
    }
}

/// The URLs as lines under a heading, labels aligned.
fn canary_line(now: &Watching) -> String {
    let figures = now.figures;
    format!(
        "canary {}% of {} functions' traffic, stage {} of {}: {} left; Errors {}, Throttles {}, REST 5XX {}",
        now.percent,
        now.functions,
        now.stage,
        now.stages,
        seconds(now.left),
        figures.errors,
        figures.throttles,
        figures.server_errors
    )
}

fn url_lines(urls: &[(&str, String)]) -> Vec<String> {
    let width = urls.iter().map(|(label, _)| label.len()).max().unwrap_or(0);
    std::iter::once("Deployed:".to_string())
        .chain(urls.iter().map(|(label, url)| format!("  {label:<width$}  {url}")))
        .collect()
}

fn describe(resource: &str, change: &Change, mode: Mode) -> String {
    match (change, mode) {
        (Change::Created, Mode::Apply) => format!("+ {resource} (created)"),
        (Change::Created, Mode::Plan) => format!("+ {resource} (to create)"),
        (Change::Updated(fields), Mode::Apply) => format!("~ {resource} (updated: {})", fields_line(fields)),
        (Change::Updated(fields), Mode::Plan) => format!("~ {resource} (to update: {})", fields_line(fields)),
        (Change::Unchanged, _) => format!("= {resource} (unchanged)"),
        (Change::Deleted, Mode::Apply) => format!("- {resource} (deleted)"),
        (Change::Deleted, Mode::Plan) => format!("- {resource} (to delete)"),
    }
}

fn requests(calls: Requests) -> String {
    let Requests { reads, writes, throttled } = calls;
    let throttled = if throttled > 0 { format!(", {throttled} throttled and retried") } else { String::new() };
    format!("{} AWS requests ({reads} reads, {writes} writes{throttled})", reads + writes)
}

fn seconds(elapsed: Duration) -> String {
    format!("{:.1} s", elapsed.as_secs_f64())
}

/// How much text progress shows (`-q`, default, `-v`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Errors and the final summary.
    Quiet,
    /// Steps and the resources that changed.
    Changes,
    /// Unchanged resources too.
    Everything,
}

impl Detail {
    fn shows(self, change: &Change) -> bool {
        match self {
            Detail::Quiet => false,
            Detail::Changes => *change != Change::Unchanged,
            Detail::Everything => true,
        }
    }
}

/// Plain lines on stderr, for logs and CI.
pub struct Plain {
    pub detail: Detail,
    pub mode: Mode,
}

impl Reporter for Plain {
    fn step_started(&self, id: &str, title: &str) {
        if self.detail != Detail::Quiet {
            say!("==> {id}: {title}");
        }
    }
    fn step_skipped(&self, id: &str, reason: &str) {
        if self.detail != Detail::Quiet {
            say!("==> {id}: skipped ({reason})");
        }
    }
    fn resource(&self, _step: &str, resource: &str, change: &Change) {
        if self.detail.shows(change) {
            say!("    {}", describe(resource, change, self.mode));
        }
    }
    fn step_finished(&self, id: &str, counts: Counts, elapsed: Duration) {
        if self.detail != Detail::Quiet {
            say!("<== {id}: done, {} in {}", counts.summary(self.mode), seconds(elapsed));
        }
    }
    // The error itself is printed once, by main, with what to do next.
    fn step_failed(&self, id: &str, _error: &str) {
        say!("<== {id}: FAILED (the error follows)");
    }
    fn notice(&self, step: &str, message: &str) {
        if self.detail != Detail::Quiet {
            say!("    note ({step}): {message}");
        }
    }
    fn repeats_notices(&self) -> bool {
        self.detail == Detail::Everything
    }
    fn run_finished(&self, counts: Counts, elapsed: Duration, calls: Requests) {
        say!("{}", finished_line(self.mode, counts, elapsed, calls));
    }
    fn deployed(&self, urls: &[(&str, String)]) {
        url_lines(urls).iter().for_each(|line| say!("{line}"));
    }
    fn released(&self, release: &crate::releases::Release) {
        say!("{}", crate::releases::show::release_line(release));
    }
}

/// Each step's header, its resource lines under it, and a spinner below them until its ✔ or ✘ line.
pub struct Terminal {
    spinner: RefCell<Option<ProgressBar>>,
    detail: Detail,
    mode: Mode,
}

impl Terminal {
    pub fn new(detail: Detail, mode: Mode) -> Self {
        Terminal { spinner: RefCell::new(None), detail, mode }
    }

    fn println(&self, line: String) {
        match &*self.spinner.borrow() {
            Some(bar) => bar.println(line),
            None => say!("{line}"),
        }
    }

    fn finish(&self, line: Option<String>) {
        if let Some(bar) = self.spinner.borrow_mut().take() {
            bar.finish_and_clear();
        }
        if let Some(line) = line {
            say!("{line}");
        }
    }
}

impl Reporter for Terminal {
    fn step_started(&self, id: &str, title: &str) {
        if self.detail != Detail::Quiet {
            say!("{id}: {title}");
        }
        let bar = ProgressBar::new_spinner();
        // Invariant: the template is a literal known to parse.
        bar.set_style(ProgressStyle::with_template("{spinner} {msg} {elapsed}").expect("valid spinner template"));
        bar.set_message(id.to_string());
        bar.enable_steady_tick(Duration::from_millis(100));
        *self.spinner.borrow_mut() = Some(bar);
    }
    fn step_skipped(&self, id: &str, reason: &str) {
        if self.detail != Detail::Quiet {
            say!("- {id}: skipped ({reason})");
        }
    }
    fn resource(&self, _step: &str, resource: &str, change: &Change) {
        if self.detail.shows(change) {
            self.println(format!("    {}", describe(resource, change, self.mode)));
        }
    }
    fn step_finished(&self, id: &str, counts: Counts, elapsed: Duration) {
        let line = format!("✔ {id}: {} in {}", counts.summary(self.mode), seconds(elapsed));
        self.finish(if self.detail == Detail::Quiet { None } else { Some(line) });
    }
    fn step_failed(&self, id: &str, _error: &str) {
        self.finish(Some(format!("✘ {id}: failed")));
    }
    fn notice(&self, step: &str, message: &str) {
        if self.detail != Detail::Quiet {
            self.println(format!("    note ({step}): {message}"));
        }
    }
    fn repeats_notices(&self) -> bool {
        self.detail == Detail::Everything
    }
    fn run_finished(&self, counts: Counts, elapsed: Duration, calls: Requests) {
        say!("{}", finished_line(self.mode, counts, elapsed, calls));
    }
    fn deployed(&self, urls: &[(&str, String)]) {
        url_lines(urls).iter().for_each(|line| say!("{line}"));
    }
    fn released(&self, release: &crate::releases::Release) {
        say!("{}", crate::releases::show::release_line(release));
    }
}

/// One JSON object per line on stdout; the README documents each event.
pub struct Json {
    pub mode: Mode,
}

impl Json {
    /// A reader that went away (`| head -1`) must not stop the deploy: write errors are dropped.
    fn emit(&self, event: serde_json::Value) {
        let _ = writeln!(std::io::stdout().lock(), "{event}");
    }
}

impl Reporter for Json {
    fn step_started(&self, id: &str, title: &str) {
        self.emit(json!({"event": "step_started", "step": id, "title": title}));
    }
    fn step_skipped(&self, id: &str, reason: &str) {
        self.emit(json!({"event": "step_skipped", "step": id, "reason": reason}));
    }
    fn resource(&self, step: &str, resource: &str, change: &Change) {
        let (action, changes) = match change {
            Change::Created => ("created", vec![]),
            Change::Updated(fields) => ("updated", fields.clone()),
            Change::Unchanged => ("unchanged", vec![]),
            Change::Deleted => ("deleted", vec![]),
        };
        let fields: Vec<&str> = changes.iter().map(|f| f.name.as_str()).collect();
        // `fields` names them; `changes` adds the live and wanted values where the step shows them.
        self.emit(json!({
            "event": "resource", "step": step, "resource": resource, "action": action, "fields": fields,
            "changes": changes, "planned": self.mode == Mode::Plan
        }));
    }
    fn step_finished(&self, id: &str, counts: Counts, elapsed: Duration) {
        self.emit(json!({
            "event": "step_finished", "step": id, "created": counts.created, "updated": counts.updated,
            "deleted": counts.deleted, "unchanged": counts.unchanged, "seconds": elapsed.as_secs_f64()
        }));
    }
    fn step_failed(&self, id: &str, error: &str) {
        self.emit(json!({"event": "step_failed", "step": id, "error": error}));
    }
    fn notice(&self, step: &str, message: &str) {
        self.emit(json!({"event": "notice", "step": step, "message": message}));
    }
    fn repeats_notices(&self) -> bool {
        true
    }
    fn deployed(&self, urls: &[(&str, String)]) {
        let urls: serde_json::Map<String, serde_json::Value> =
            urls.iter().map(|(label, url)| (label.to_string(), json!(url))).collect();
        self.emit(json!({"event": "deployed", "urls": urls}));
    }
    fn canary(&self, now: &Watching) {
        let figures = now.figures;
        self.emit(json!({"event": "canary", "stage": now.stage, "stages": now.stages, "percent": now.percent,
            "functions": now.functions, "seconds_left": now.left.as_secs_f64(), "errors": figures.errors,
            "throttles": figures.throttles, "rest_5xx": figures.server_errors}));
    }
    fn canary_ended(&self, promoted: bool, message: &str) {
        self.emit(json!({"event": "canary_ended", "promoted": promoted, "message": message}));
    }
    fn released(&self, release: &crate::releases::Release) {
        self.emit(json!({"event": "release", "release": release}));
    }
    fn run_finished(&self, counts: Counts, elapsed: Duration, calls: Requests) {
        self.emit(json!({
            "event": "run_finished", "planned": self.mode == Mode::Plan, "created": counts.created, "updated": counts.updated,
            "deleted": counts.deleted, "unchanged": counts.unchanged, "changed": counts.changed(),
            "seconds": elapsed.as_secs_f64(), "reads": calls.reads, "writes": calls.writes,
            "throttled": calls.throttled
        }));
    }
}

/// `--timings`: each AWS operation's calls and total time, slowest first, on stderr.
pub fn print_timings(calls: &CallLog) {
    let mut rows: Vec<_> = calls.snapshot().into_iter().collect();
    rows.sort_by_key(|(_, tally)| std::cmp::Reverse(tally.time));
    say!("{:<48} {:>6} {:>10} {:>9}", "AWS operation", "calls", "total ms", "throttled");
    for (operation, tally) in rows {
        say!("{operation:<48} {:>6} {:>10.1} {:>9}", tally.calls, tally.time.as_secs_f64() * 1000.0, tally.throttled);
    }
}
