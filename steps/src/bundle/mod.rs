//! The code bundle and the site: the Python backend zipped reproducibly with its requirements installed
//! for Lambda's platform (and checked), cut into each function's package, and the site's files with their
//! digests.

pub mod function_code;
pub mod installed;
pub mod installer;
pub mod package;
pub mod requirements;
pub mod site;
pub mod walk;
