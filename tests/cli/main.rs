//! End-to-end tests of the `thebot` binary, one module per area.

mod atomic;
mod dbsafe;
mod engine;
mod failfast;
mod finding;
mod lifecycle;
mod lint;
mod output;
mod preflight;
mod render_spec;
mod replace;
mod rollout;
mod sim;
mod support;
mod template;
mod tour;
mod typed_values;
