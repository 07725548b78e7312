//! `thebot get manifest|values|notes`: what a revision recorded, with
//! secret values masked unless `--show-secrets`.

use serde_json::Value;

use super::OpError;
use super::session;
use super::status::QueryOptions;
use crate::bundle::Bundle;
use crate::mask::{self, Masker};
use crate::release::store::Store;
use crate::release::{Record, history};
use crate::render::{self, secrets};
use crate::{manifest, yaml};

/// What to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum What {
    Manifest,
    Values,
    Notes,
}

/// The revision's record (`None`: the current one).
pub async fn record(opts: &QueryOptions, revision: Option<u32>) -> Result<Record, OpError> {
    let cluster = session::connect(&opts.connect).await?;
    let release = session::find_release(
        &cluster,
        &Bundle::embedded(),
        opts.name.as_deref(),
        opts.namespace.as_deref(),
    )
    .await?;
    let entries = Store::new(cluster.client.clone(), &release.namespace, &release.name)
        .entries()
        .await?;
    let entry = match revision {
        Some(n) => entries.iter().find(|e| e.revision == n).ok_or_else(|| {
            OpError::Failed(format!(
                "revision {n} of release {} does not exist",
                release.name
            ))
        })?,
        None => history::latest(&entries)
            .ok_or_else(|| OpError::Failed("the release has no revision".into()))?,
    };
    entry
        .record
        .clone()
        .map_err(|e| OpError::Failed(format!("cannot read {e}")))
}

/// The text `get` prints.
pub fn show(record: &Record, what: What, show_secrets: bool) -> Result<String, OpError> {
    let masker = if show_secrets {
        Masker::default()
    } else {
        Masker::new(secrets::known_values(&record.values.merged))
    };
    Ok(match what {
        What::Manifest => {
            let mut objects = manifest::from_stream(&record.manifest).map_err(|e| {
                OpError::Failed(format!(
                    "revision {}: unreadable manifest: {e}",
                    record.revision
                ))
            })?;
            if !show_secrets {
                for o in &mut objects {
                    mask::mask_secret(&mut o.value);
                }
            }
            masker.mask(&manifest::to_stream(&objects))
        }
        What::Values => {
            let mut merged = record.values.merged.clone();
            if !show_secrets
                && let Some(s) = merged.get_mut("secrets").and_then(Value::as_object_mut)
            {
                for key in secrets::GENERATED_KEYS
                    .iter()
                    .chain(secrets::INTEGRATION_KEYS)
                {
                    if let Some(v) = s
                        .get_mut(*key)
                        .filter(|v| v.as_str().is_some_and(|x| !x.is_empty()))
                    {
                        *v = Value::String("***".into());
                    }
                }
            }
            let doc = serde_json::json!({
                "layers": record.values.layers.iter().map(|l| l.describe()).collect::<Vec<_>>(),
                "merged": merged,
            });
            masker.mask(&yaml::to_yaml(&doc))
        }
        What::Notes => {
            let release = render::Release {
                name: record.name.clone(),
                namespace: record.namespace.clone(),
                environment: record.environment.clone(),
            };
            let notes = render::render(&Bundle::embedded(), &release, &record.values.merged, None)
                .map(|r| r.notes)
                .map_err(|e| {
                    OpError::Failed(format!(
                        "cannot render the notes of revision {}: {e}",
                        record.revision
                    ))
                })?;
            masker.mask(&notes)
        }
    })
}
