//! The steps in flight: started, not yet finished, polled together while the runner waits for some of
//! them (the next wave's start) or does other work beside them (a revisit).

use anyhow::Result;
use futures::future::LocalBoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};
use std::collections::BTreeSet;
use std::future::Future;
use std::task::Poll;

use crate::progress::Counts;

/// A step's run (its index in the steps, and its result), polled beside the others in flight.
pub(super) type InFlight<'f> = LocalBoxFuture<'f, (usize, Result<Counts>)>;

/// The steps started and not yet finished, and the results of those that have.
pub(super) struct Flight<'f> {
    running: FuturesUnordered<InFlight<'f>>,
    /// The indices of the steps started and not finished.
    pub(super) unfinished: BTreeSet<usize>,
    /// The results not yet taken.
    pub(super) finished: Vec<(usize, Result<Counts>)>,
    /// The steps that failed, by index.
    pub(super) failures: Vec<(usize, anyhow::Error)>,
}

impl<'f> Flight<'f> {
    pub(super) fn new() -> Self {
        Flight {
            running: FuturesUnordered::new(),
            unfinished: BTreeSet::new(),
            finished: Vec::new(),
            failures: Vec::new(),
        }
    }

    pub(super) fn launch(&mut self, n: usize, step: InFlight<'f>) {
        self.unfinished.insert(n);
        self.running.push(step);
    }

    /// Takes what the running steps have to give without waiting.
    fn poll_running(&mut self, cx: &mut std::task::Context<'_>) {
        while let Poll::Ready(Some((n, result))) = self.running.poll_next_unpin(cx) {
            self.unfinished.remove(&n);
            self.finished.push((n, result));
        }
    }

    /// Runs the steps in flight until `done` holds of them, or none is left.
    pub(super) async fn until(&mut self, done: impl Fn(&Self) -> bool) {
        std::future::poll_fn(|cx| {
            self.poll_running(cx);
            // A step tells that its outputs are complete while it is polled: the check comes after.
            if done(self) || self.running.is_empty() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await
    }

    /// Runs `work` while the steps in flight go on.
    pub(super) async fn beside<T>(&mut self, work: impl Future<Output = T>) -> T {
        let mut work = std::pin::pin!(work);
        std::future::poll_fn(|cx| {
            if let Poll::Ready(out) = work.as_mut().poll(cx) {
                return Poll::Ready(out);
            }
            self.poll_running(cx);
            Poll::Pending
        })
        .await
    }

    pub(super) fn failed(&self) -> bool {
        !self.failures.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[tokio::test]
    async fn a_wait_ends_when_its_condition_holds_while_the_step_goes_on() {
        let outputs_complete = Cell::new(false);
        let (finish, finished) = futures::channel::oneshot::channel::<()>();
        let mut flight = Flight::new();
        flight.launch(
            0,
            Box::pin(async {
                outputs_complete.set(true);
                let _ = finished.await;
                (0, Ok(Counts::default()))
            }),
        );
        flight.until(|_| outputs_complete.get()).await;
        assert!(flight.unfinished.contains(&0) && flight.finished.is_empty(), "the step is still running");
        finish.send(()).unwrap();
        flight.until(|_| false).await;
        assert!(flight.unfinished.is_empty());
        assert_eq!(flight.finished.len(), 1);
    }

    #[tokio::test]
    async fn the_steps_in_flight_go_on_beside_other_work() {
        let notify = tokio::sync::Notify::new();
        let mut flight = Flight::new();
        flight.launch(
            3,
            Box::pin(async {
                notify.notified().await;
                (3, Err(anyhow::anyhow!("failed")))
            }),
        );
        let answer = flight
            .beside(async {
                notify.notify_one();
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                42
            })
            .await;
        assert_eq!(answer, 42);
        assert!(flight.unfinished.is_empty(), "the step finished while the other work waited");
        assert!(matches!(flight.finished.as_slice(), [(3, Err(_))]));
    }
}
