//! Operations: one function per command, taking an options struct.

pub mod atomic;
pub mod deploy;
pub mod diagnose;
pub mod diff;
pub mod dry_run;
pub mod error;
pub mod events;
pub mod get;
pub mod interrupt;
pub mod lint;
pub mod preflight;
pub mod prune;
pub mod session;
pub mod status;
pub mod template;
pub mod uninstall;
pub mod waiting;

pub use error::OpError;

use std::path::PathBuf;

use crate::values::UserLayer;

/// A value layer as given on the command line, before files are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayerArg {
    File(PathBuf),
    Set(String),
    SetString(String),
    SetFile(String),
}

/// A value file that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{what} {path}: {source}")]
pub struct ReadError {
    pub what: &'static str,
    pub path: String,
    #[source]
    pub source: std::io::Error,
}

/// Reads the files the layers name; the result is replayable without them.
pub fn read_layers(args: &[LayerArg]) -> Result<Vec<UserLayer>, ReadError> {
    args.iter()
        .map(|a| {
            Ok(match a {
                LayerArg::File(p) => UserLayer::File {
                    path: p.display().to_string(),
                    content: std::fs::read_to_string(p).map_err(|source| ReadError {
                        what: "cannot read values file",
                        path: p.display().to_string(),
                        source,
                    })?,
                },
                LayerArg::Set(s) => UserLayer::Set { arg: s.clone() },
                LayerArg::SetString(s) => UserLayer::SetString { arg: s.clone() },
                LayerArg::SetFile(s) => {
                    let path = s.split_once('=').map(|(_, p)| p).unwrap_or("");
                    let content = if path.is_empty() {
                        String::new()
                    } else {
                        std::fs::read_to_string(path).map_err(|source| ReadError {
                            what: "--set-file: cannot read",
                            path: path.to_string(),
                            source,
                        })?
                    };
                    UserLayer::SetFile {
                        arg: s.clone(),
                        content,
                    }
                }
            })
        })
        .collect()
}
