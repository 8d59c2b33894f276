//! The contract between the steps and the runner: the step trait, the outputs steps exchange, the settings,
//! the manual's data and the names derived from it, the errors the runner branches on, and what AWS would
//! refuse of the settings (regions, concurrency) before the first write.

pub mod concurrency_quota;
pub mod error;
pub mod manual;
pub mod names;
pub mod outputs;
pub mod regions;
pub mod settings;
pub mod step;
