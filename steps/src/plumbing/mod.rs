//! AWS plumbing: the clients from one config, the one idiom every resource goes through (`ensure`), the
//! one retry, the calls' accounting, the clock and its time scale, and API Gateway's answers read without
//! their null members.

pub mod aws;
pub mod calls;
pub mod clock;
pub mod ensure;
pub mod null_members;
pub mod retry;
