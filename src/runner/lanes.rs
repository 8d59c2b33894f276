//! Steps that run at once, reported one after another. The first of them to start reports as it goes;
//! each other one's events are held, and given in the order the steps started once the ones before it
//! have finished. A run's output therefore reads as if its steps had run in turn, whichever ran beside
//! which; each step's own times are still its own.

use deployer_steps::Change;
use std::cell::RefCell;
use std::time::Duration;

use crate::progress::{Counts, Reporter};

/// A step's event, held until its turn to be shown.
enum Held {
    Started(String),
    Skipped(String),
    Resource(String, Change),
    Notice(String),
    Finished(Counts, Duration),
    Failed(String),
}

impl Held {
    fn ends_the_step(&self) -> bool {
        matches!(self, Held::Skipped(_) | Held::Finished(..) | Held::Failed(_))
    }
}

pub(super) struct Lanes<'a> {
    shown: &'a dyn Reporter,
    /// The step whose events are shown as they come.
    live: RefCell<Option<String>>,
    /// The other running steps' events, in the order the steps started.
    held: RefCell<Vec<(String, Vec<Held>)>>,
}

impl<'a> Lanes<'a> {
    pub(super) fn new(shown: &'a dyn Reporter) -> Self {
        Lanes { shown, live: RefCell::default(), held: RefCell::default() }
    }

    pub(super) fn step_started(&self, id: &str, title: &str) {
        if self.hold_new(id, Held::Started(title.to_string())) {
            return;
        }
        *self.live.borrow_mut() = Some(id.to_string());
        self.shown.step_started(id, title);
    }

    pub(super) fn step_skipped(&self, id: &str, reason: &str) {
        if !self.hold_new(id, Held::Skipped(reason.to_string())) {
            self.shown.step_skipped(id, reason);
        }
    }

    pub(super) fn resource(&self, step: &str, resource: &str, change: &Change) {
        if !self.hold(step, || Held::Resource(resource.to_string(), change.clone())) {
            self.shown.resource(step, resource, change);
        }
    }

    pub(super) fn notice(&self, step: &str, message: &str) {
        if !self.hold(step, || Held::Notice(message.to_string())) {
            self.shown.notice(step, message);
        }
    }

    pub(super) fn step_finished(&self, id: &str, counts: Counts, elapsed: Duration) {
        if !self.hold(id, || Held::Finished(counts, elapsed)) {
            self.shown.step_finished(id, counts, elapsed);
            self.end_live(id);
        }
    }

    pub(super) fn step_failed(&self, id: &str, error: &str) {
        if !self.hold(id, || Held::Failed(error.to_string())) {
            self.shown.step_failed(id, error);
            self.end_live(id);
        }
    }

    /// Shows everything still held: the events of steps that will not finish (a Ctrl-C stopped them).
    pub(super) fn flush(&self) {
        *self.live.borrow_mut() = None;
        for (id, events) in std::mem::take(&mut *self.held.borrow_mut()) {
            self.show(&id, events);
        }
    }

    /// Holds a step's first event while another step is live; false if it is shown instead.
    fn hold_new(&self, id: &str, event: Held) -> bool {
        let live = self.live.borrow().clone();
        if live.is_none() || live.as_deref() == Some(id) {
            return false;
        }
        self.held.borrow_mut().push((id.to_string(), vec![event]));
        true
    }

    /// Holds an event of a step whose events are held; false if it is shown instead.
    fn hold(&self, id: &str, event: impl FnOnce() -> Held) -> bool {
        let mut held = self.held.borrow_mut();
        match held.iter_mut().find(|(step, _)| step == id) {
            Some((_, events)) => {
                events.push(event());
                true
            }
            None => false,
        }
    }

    /// The live step ended: the held steps are shown in turn, up to the first one still running, which
    /// becomes live.
    fn end_live(&self, id: &str) {
        if self.live.borrow().as_deref() != Some(id) {
            return;
        }
        *self.live.borrow_mut() = None;
        loop {
            let next = {
                let mut held = self.held.borrow_mut();
                if held.is_empty() {
                    return;
                }
                held.remove(0)
            };
            let (id, events) = next;
            let ended = events.iter().any(Held::ends_the_step);
            self.show(&id, events);
            if !ended {
                *self.live.borrow_mut() = Some(id);
                return;
            }
        }
    }

    fn show(&self, id: &str, events: Vec<Held>) {
        for event in events {
            match event {
                Held::Started(title) => self.shown.step_started(id, &title),
                Held::Skipped(reason) => self.shown.step_skipped(id, &reason),
                Held::Resource(resource, change) => self.shown.resource(id, &resource, &change),
                Held::Notice(message) => self.shown.notice(id, &message),
                Held::Finished(counts, elapsed) => self.shown.step_finished(id, counts, elapsed),
                Held::Failed(error) => self.shown.step_failed(id, &error),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use deployer_steps::calls::Requests;

    /// Writes each event as a line.
    #[derive(Default)]
    struct Lines(RefCell<Vec<String>>);

    impl Reporter for Lines {
        fn step_started(&self, id: &str, _title: &str) {
            self.0.borrow_mut().push(format!("start {id}"));
        }
        fn step_skipped(&self, id: &str, _reason: &str) {
            self.0.borrow_mut().push(format!("skip {id}"));
        }
        fn resource(&self, step: &str, resource: &str, _change: &Change) {
            self.0.borrow_mut().push(format!("{step} {resource}"));
        }
        fn step_finished(&self, id: &str, _counts: Counts, _elapsed: Duration) {
            self.0.borrow_mut().push(format!("done {id}"));
        }
        fn step_failed(&self, id: &str, _error: &str) {
            self.0.borrow_mut().push(format!("failed {id}"));
        }
        fn notice(&self, step: &str, message: &str) {
            self.0.borrow_mut().push(format!("{step} note {message}"));
        }
        fn repeats_notices(&self) -> bool {
            false
        }
        fn run_finished(&self, _counts: Counts, _elapsed: Duration, _calls: Requests) {}
    }

    #[test]
    fn steps_run_at_once_are_shown_one_after_another_in_the_order_they_started() {
        let lines = Lines::default();
        let lanes = Lanes::new(&lines);
        lanes.step_started("01", "");
        lanes.step_started("02", "");
        lanes.step_started("03", "");
        lanes.resource("02", "role", &Change::Created);
        lanes.resource("01", "table", &Change::Created);
        lanes.step_finished("03", Counts::default(), Duration::ZERO);
        lanes.notice("06", "head start");
        lanes.step_finished("01", Counts::default(), Duration::ZERO);
        lanes.resource("02", "function", &Change::Created);
        lanes.step_finished("02", Counts::default(), Duration::ZERO);
        let shown = lines.0.borrow().clone();
        let expected = [
            "start 01",
            "01 table",
            "06 note head start",
            "done 01",
            "start 02",
            "02 role",
            "02 function",
            "done 02",
            "start 03",
            "done 03",
        ];
        assert_eq!(shown, expected);
    }

    #[test]
    fn a_failed_step_hands_over_to_the_next_and_a_flush_shows_the_rest() {
        let lines = Lines::default();
        let lanes = Lanes::new(&lines);
        lanes.step_started("03", "");
        lanes.step_started("04", "");
        lanes.resource("04", "api", &Change::Created);
        lanes.step_failed("03", "refused");
        lanes.step_started("05", "");
        lanes.flush();
        lanes.step_skipped("06", "");
        let shown = lines.0.borrow().clone();
        assert_eq!(shown, ["start 03", "failed 03", "start 04", "04 api", "start 05", "skip 06"]);
    }
}
