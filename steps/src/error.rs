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
