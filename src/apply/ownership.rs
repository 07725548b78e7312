//! Who owns an existing object: thebot refuses to apply over an object
//! that another release, another tool or a person created, unless asked
//! to take it over (`--take-ownership`).

use super::live::LiveIndex;
use crate::manifest::Object;
use crate::plan::RELEASE_ANNOTATION;

/// An existing object the release does not own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Foreign {
    /// `Kind/namespace/name`.
    pub object: String,
    /// Who owns it, as far as its metadata tells.
    pub owner: String,
    /// Extra advice (Helm).
    pub hint: Option<String>,
}

/// Every planned object that exists without this release's annotation.
pub fn foreign_objects(objects: &[Object], live: &LiveIndex, release_key: &str) -> Vec<Foreign> {
    let mut out = Vec::new();
    for o in objects {
        let Some(existing) = live.get(&o.id()) else {
            continue;
        };
        let owner = existing.annotation(RELEASE_ANNOTATION);
        if owner == Some(release_key) {
            continue;
        }
        let helm_release = existing.annotation("meta.helm.sh/release-name");
        let helm = helm_release.is_some()
            || existing.label("app.kubernetes.io/managed-by") == Some("Helm");
        out.push(Foreign {
            object: o.id().to_string(),
            owner: match (owner, helm_release) {
                (Some(other), _) => format!("thebot release {other}"),
                (None, Some(h)) => format!("Helm release {h}"),
                (None, None) if helm => "Helm".to_string(),
                (None, None) => "no release (created by hand or another tool)".to_string(),
            },
            hint: helm.then(|| {
                "it is managed by Helm: adopt it with --take-ownership, then remove it from the Helm release \
                 (`helm uninstall --keep-history` would otherwise delete it)"
                    .to_string()
            }),
        });
    }
    out
}
