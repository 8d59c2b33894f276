//! The error the runner branches on for exit code 2: bad input, refused before anything is created.

use std::fmt;

/// Bad input from the user: the runner exits with code 2 and creates nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError(pub String);

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InputError {}

/// An AWS call that got no answer in time (the HTTP read timeout, a stalled answer, or the operation
/// timeout), after the SDK's retries: the runner names the endpoint and how to go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoAnswer {
    /// `service:Operation target`, as [`crate::aws::AwsContext`] names calls.
    pub call: String,
    pub detail: String,
}

impl NoAnswer {
    /// The service part of the call's name (`lambda` of `lambda:CreateFunction …`).
    pub fn service(&self) -> &str {
        self.call.split(':').next().unwrap_or_default()
    }
}

impl fmt::Display for NoAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: no answer in time ({})", self.call, self.detail)
    }
}

impl std::error::Error for NoAnswer {}
