//! One way to retry what AWS refuses for a while (a role IAM has not propagated yet, a certificate still
//! in use, an update in progress), like terraform-provider-aws's `tfresource.RetryWhen`: try; while the
//! failure is one that passes with time, wait (doubling, capped) and try again, up to a time limit; then
//! the last result stands. Waits are on deployer's clock, which the tests speed up.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::clock;

/// How long to keep trying, and how to space the tries.
#[derive(Debug, Clone, Copy)]
pub struct Patience {
    /// The first wait; each next one doubles, up to `max`.
    pub first: Duration,
    pub max: Duration,
    /// No try starts later than this after the first.
    pub limit: Duration,
}

impl Patience {
    /// IAM's eventual consistency: a new role or policy is refused for seconds, rarely over a minute
    /// (REAL-AWS: median ~3 s, p95 ~15 s). terraform-provider-aws waits up to two minutes.
    pub const IAM_PROPAGATION: Patience =
        Patience { first: Duration::from_secs(1), max: Duration::from_secs(8), limit: Duration::from_secs(120) };
}

/// How a try that can fail in two ways failed: in a way that passes with time (tried again), or not.
#[derive(Debug)]
pub enum Attempt<E> {
    Again(E),
    Stop(anyhow::Error),
}

impl<E> Attempt<E> {
    pub fn again(&self) -> bool {
        matches!(self, Attempt::Again(_))
    }
}

/// `attempt` until it succeeds, fails in a way `passes` does not accept, or `patience` runs out.
pub async fn retry_while<T, E, Fut>(
    patience: Patience,
    mut attempt: impl FnMut() -> Fut,
    passes: impl Fn(&E) -> bool,
) -> Result<T, E>
where
    Fut: Future<Output = Result<T, E>>,
{
    let started = Instant::now();
    let mut wait = patience.first;
    loop {
        match attempt().await {
            Err(err) if passes(&err) && started.elapsed() + clock::scaled(wait) <= clock::scaled(patience.limit) => {
                clock::sleep(wait).await;
                wait = (wait * 2).min(patience.max);
            }
            done => return done,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    const QUICK: Patience =
        Patience { first: Duration::from_millis(1), max: Duration::from_millis(4), limit: Duration::from_millis(200) };

    #[tokio::test]
    async fn a_passing_failure_is_tried_again_until_it_succeeds() {
        let tries = Cell::new(0);
        let got = retry_while(
            QUICK,
            || async {
                tries.set(tries.get() + 1);
                if tries.get() < 4 {
                    Err("not yet")
                } else {
                    Ok(tries.get())
                }
            },
            |e: &&str| *e == "not yet",
        )
        .await;
        assert_eq!(got, Ok(4));
    }

    #[tokio::test]
    async fn another_failure_is_returned_at_once() {
        let tries = Cell::new(0);
        let got: Result<(), &str> = retry_while(
            QUICK,
            || async {
                tries.set(tries.get() + 1);
                Err("denied")
            },
            |e: &&str| *e == "not yet",
        )
        .await;
        assert_eq!((got, tries.get()), (Err("denied"), 1));
    }

    #[tokio::test]
    async fn a_failure_that_outlasts_the_limit_is_returned_after_it() {
        let started = Instant::now();
        let got: Result<(), &str> = retry_while(QUICK, || async { Err("not yet") }, |_| true).await;
        assert_eq!(got, Err("not yet"));
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(150) && took < Duration::from_secs(2), "{took:?}");
    }
}
