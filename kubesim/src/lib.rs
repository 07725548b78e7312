//! kubesim: a Kubernetes API server simulator on loopback HTTPS, for
//! thebot's end-to-end tests (issue 4). Its oracle is the recordings of a
//! real kube-apiserver 1.32 in `shared/fixtures/k8s-1.32/`; where it is not
//! yet faithful it is stricter, never more lenient.
//!
//! Start one with [`spawn`] (tests) or the `kubesim` binary.

mod auth;
mod base64;
mod bootstrap;
mod clock;
mod control;
mod controllers;
mod convert;
mod discovery;
mod error;
mod faults;
mod gc;
mod ids;
mod instance;
mod kinds;
mod kubeconfig;
mod metrics;
mod object;
mod openapi;
mod patch;
mod persist;
mod proto;
mod query;
mod reply;
mod resources;
mod router;
mod schema;
mod selector;
mod server;
mod sim;
mod ssa;
mod store;
mod table;
mod tls;
mod validate;
mod validation;
mod verbs;
mod yaml;

pub use faults::{Action as FaultAction, Fault};
pub use instance::{DEFAULT_SPEED, Instance, Options, SpawnError, spawn, spawn_with};
/// Renders a kubeconfig for a URL, CA, token and context namespace
/// (`kubesim up` writes one whose namespace is `default`).
pub use kubeconfig::render as render_kubeconfig;
pub use persist::StateError;
pub use sim::Timing;
