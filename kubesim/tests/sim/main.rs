//! Integration tests for kubesim: each test starts its own instance on
//! port 0 and talks HTTPS to it; nothing is shared between tests.

mod basics;
mod bench;
mod bench_load;
mod binary;
mod client;
mod controllers;
mod faults;
mod isolation;
mod kube_rs;
mod kubectl;
mod persist;
mod replay;
mod ssa;
mod updown;
mod validation;
