//! End-to-end tests of the `thebot` binary, one module per area.

mod lint;
mod render_spec;
mod support;
mod template;
