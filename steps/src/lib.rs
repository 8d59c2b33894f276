//! The manual's deployment sections as idempotent, resumable steps.
//!
//! Each `sNN_*` module is one section of the manual (a folder for the big ones, one file per group of
//! resources). A step never prints and never touches the state file: it reports what it did through a
//! [`Recorder`], which the runner (in the `deployer` binary) persists and displays. Every AWS resource goes
//! through the one [`ensure::ensure`] idiom.
//!
//! Steps never import each other: they meet through the outputs map ([`outputs`]), the settings and the
//! manual's data ([`manual`]). Beside the steps, four parts:
//! - [`contract`]: what steps and the runner agree on (step, outputs, settings, manual, names, errors);
//! - [`plumbing`]: AWS plumbing (the clients, `ensure`, the retry, the calls' accounting, the clock);
//! - [`services`]: what several steps need of one AWS service ([`apigw`], [`lambda`], [`cloudfront`],
//!   [`logs`], [`log_groups`]);
//! - [`bundle`]: the code bundle and the site's files.
//!
//! Their modules are re-exported here, so a step names `crate::outputs`, not its folder. A test below keeps
//! the steps apart and the files free of import circles.

// The crate's four parts; their modules are re-exported at the root, where the steps name them.
pub mod bundle;
pub mod contract;
pub mod plumbing;
pub mod services;

pub use bundle::{function_code, installed, installer, package, requirements, site, walk};
pub use contract::{concurrency_quota, error, manual, names, outputs, regions, settings, step};
pub use plumbing::{aws, calls, clock, ensure, null_members, retry};
pub use services::{
    apigw, canary_metrics, cloudfront, dynamodb, lambda, live_alias, log_groups, logs, metrics, revisions,
};

#[cfg(test)]
mod layout_tests;

pub mod s01_dynamodb;
pub mod s02_lambda;
pub mod s03_api_gateway;
pub mod s04_websocket;
pub mod s05_frontend;
pub mod s06_domain;
pub mod s07_stages;
pub mod s08_verify;

pub use aws::{Clients, Identity};
pub use ensure::{ensure, remove, Change, Recorder, Resource};
pub use error::{InputError, NoAnswer};
pub use settings::Settings;
pub use step::{Context, Outputs, Step, Teardown};

/// A digest of this crate's source: part of every step's fingerprint, so that steps are re-checked when
/// what they want changes with a new deployer.
pub const STEPS_DIGEST: &str = env!("DEPLOYER_STEPS_DIGEST");

/// Every step in the manual's order. The IDs are the state file's checkpoint keys: never rename one.
pub fn registry() -> Vec<Box<dyn Step>> {
    let mut steps = deploying_steps();
    steps.push(Box::new(s08_verify::Verify { checked_steps: deploying_steps }));
    steps
}

/// The steps that make resources (01-07), which `08-verify` checks.
fn deploying_steps() -> Vec<Box<dyn Step>> {
    vec![
        Box::new(s01_dynamodb::DynamoDb),
        Box::new(s02_lambda::Lambda::default()),
        Box::new(s03_api_gateway::ApiGateway),
        Box::new(s04_websocket::WebSocket),
        Box::new(s05_frontend::Frontend::default()),
        Box::new(s06_domain::Domain),
        Box::new(s07_stages::Stages),
    ]
}
