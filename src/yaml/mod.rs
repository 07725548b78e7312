//! YAML in and out: a position-keeping loader and a type-safe emitter.

pub mod emit;
pub mod load;

pub use emit::to_yaml;
pub use load::{Document, YamlError, parse_documents, parse_single};
