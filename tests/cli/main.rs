//! End-to-end tests of the `thebot` binary, one module per area.

mod render_spec;
mod support;
mod template;
