//! Integration tests: the real `deployer` binary against a moto_server started for this test process.

mod support;

mod access_logs;
mod adopt;
mod apis;
mod auth;
mod backend;
mod bad_input;
mod checkpoints;
mod config;
mod destroy;
mod dev;
mod doctor;
mod domain;
mod dynamodb_lambda;
mod faults;
mod frontend;
mod iam_policy;
mod logs;
mod output;
mod plan;
mod provisioned;
mod proxy;
mod remote;
mod requests;
mod scale;
mod schema;
mod servers;
mod stages;
mod strict;
mod strict_defects;
mod strict_model;
mod strict_scenarios;
mod templates;
mod velocity;
mod verify;
