//! The generated secrets (database and Redis passwords, Django's secret
//! key) a render needs: created once in `<release>-generated`, then read.

use serde_json::Value;

use crate::bundle::Bundle;
use crate::cluster::Cluster;
use crate::environment::Target;
use crate::ops::OpError;
use crate::release::generated;
use crate::render::{self, Rendered, secrets};

/// Re-renders `first` with the generated values, when the values ask for
/// generation and leave some keys empty; otherwise `first` is the render.
pub async fn fill(
    cluster: &Cluster,
    bundle: &Bundle,
    target: &Target,
    first: Rendered,
) -> Result<Rendered, OpError> {
    let s = &target.values.merged["secrets"];
    let generate = s.get("generate").and_then(Value::as_bool).unwrap_or(false);
    let external = s
        .get("existingSecret")
        .and_then(Value::as_str)
        .is_some_and(|v| !v.is_empty());
    let keys: Vec<&str> = secrets::GENERATED_KEYS
        .iter()
        .copied()
        .filter(|k| {
            s.get(*k)
                .is_none_or(|v| v.is_null() || v.as_str() == Some(""))
        })
        .collect();
    if !generate || external || keys.is_empty() {
        return Ok(first);
    }
    let labels = [
        ("app.kubernetes.io/name", "thebot"),
        ("app.kubernetes.io/instance", target.release.name.as_str()),
        ("app.kubernetes.io/component", "generated"),
        ("app.kubernetes.io/managed-by", "thebot"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let values = generated::ensure(
        cluster.client.clone(),
        &target.release.namespace,
        &target.release.name,
        &keys,
        labels,
    )
    .await?;
    Ok(render::render(
        bundle,
        &target.release,
        &target.values.merged,
        Some(&values),
    )?)
}
