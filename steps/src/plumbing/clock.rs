//! Waiting, on one clock the tests can speed up: `DEPLOYER_TIME_SCALE` (tests only, e.g. `0.01`) shrinks
//! every deliberate wait of deployer's (pacing, back-off, polling, the SDK's waiters) by that factor, as the
//! test proxy shrinks AWS's in-between states by the same factor. Unset, waits are as AWS needs them.
//! `DEPLOYER_QUOTA_SCALE` (the benchmark's simulated AWS: `1`) sets the pacing's factor apart, for a proxy
//! that shrinks the in-between states but enforces the quotas at their real rates; it defaults to the first.

use std::sync::OnceLock;
use std::time::Duration;

/// The factor every deliberate wait is multiplied by (1 unless a test sets `DEPLOYER_TIME_SCALE`).
pub fn time_scale() -> f64 {
    static SCALE: OnceLock<f64> = OnceLock::new();
    *SCALE.get_or_init(|| factor("DEPLOYER_TIME_SCALE").unwrap_or(1.0))
}

/// The factor the pacing's intervals are multiplied by (`DEPLOYER_QUOTA_SCALE`, else [`time_scale`]).
pub fn quota_scale() -> f64 {
    static SCALE: OnceLock<f64> = OnceLock::new();
    *SCALE.get_or_init(|| factor("DEPLOYER_QUOTA_SCALE").unwrap_or_else(time_scale))
}

fn factor(variable: &str) -> Option<f64> {
    let given = std::env::var(variable).ok().and_then(|v| v.parse::<f64>().ok());
    given.filter(|s| s.is_finite() && *s > 0.0 && *s <= 1.0)
}

/// A wait as it should last on this clock.
pub fn scaled(wait: Duration) -> Duration {
    wait.mul_f64(time_scale())
}

/// Sleeps for `wait` on this clock.
pub async fn sleep(wait: Duration) {
    tokio::time::sleep(scaled(wait)).await;
}

/// Today's date in UTC, as YYYY-MM-DD.
pub fn today() -> String {
    let now = aws_smithy_types::DateTime::from(std::time::SystemTime::now());
    // Invariant: any time after 1970 formats; the fallback only keeps the signature infallible.
    let text = now.fmt(aws_smithy_types::date_time::Format::DateTime).unwrap_or_default();
    text.chars().take(10).collect()
}
