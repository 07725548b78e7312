//! The table of served resources: what discovery advertises and how a URL
//! maps to a kind. Entries mirror what kube-apiserver 1.32 reported
//! (fixture 01), restricted to the resources kubesim stores and to the
//! subresources it actually serves.
//!
//! Per-kind behaviour (generation, status, defaulting) is not here but in
//! [`crate::kinds`], referenced by `rules`.

mod apps_v1;
mod core_v1;
mod named_groups;

use crate::kinds::KindRules;

/// A subresource advertised in discovery.
#[derive(Debug)]
pub struct Subresource {
    pub name: &'static str,
    pub kind: &'static str,
    pub group: &'static str,
    pub version: &'static str,
    pub verbs: &'static [&'static str],
}

/// One resource (group, version, plural) and its discovery metadata.
#[derive(Debug)]
pub struct ResourceType {
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
    pub verbs: &'static [&'static str],
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    pub storage_version_hash: &'static str,
    pub subresources: &'static [Subresource],
    pub rules: &'static KindRules,
}

impl ResourceType {
    /// `apps/v1`, or `v1` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `deployments.apps`, or `configmaps` for the core group, as used in
    /// error messages.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    pub fn has_subresource(&self, name: &str) -> bool {
        self.subresources.iter().any(|s| s.name == name)
    }
}

/// Index of a resource in [`RESOURCES`]; cheap to copy into store keys.
pub type ResourceId = u16;

/// Looks a resource up by group, version and plural.
pub fn find(
    group: &str,
    version: &str,
    plural: &str,
) -> Option<(ResourceId, &'static ResourceType)> {
    RESOURCES
        .iter()
        .enumerate()
        .find(|(_, r)| r.group == group && r.version == version && r.plural == plural)
        .map(|(i, r)| (i as ResourceId, r))
}

/// The resource with this id.
pub fn get(id: ResourceId) -> &'static ResourceType {
    &RESOURCES[id as usize]
}

/// Whether any resource is served for this group and version.
pub fn serves_group_version(group: &str, version: &str) -> bool {
    RESOURCES
        .iter()
        .any(|r| r.group == group && r.version == version)
}

/// Groups in the order the real server lists them in `/apis`.
pub const GROUP_ORDER: &[&str] = &[
    "apps",
    "events.k8s.io",
    "autoscaling",
    "batch",
    "networking.k8s.io",
    "policy",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "coordination.k8s.io",
];

/// Every resource kubesim serves, in the order of fixture 01 (an entry's
/// index is its [`ResourceId`]).
pub static RESOURCES: &[ResourceType] = &[
    core_v1::NAMESPACES,
    core_v1::CONFIGMAPS,
    core_v1::SECRETS,
    core_v1::SERVICEACCOUNTS,
    core_v1::SERVICES,
    core_v1::PERSISTENTVOLUMECLAIMS,
    core_v1::PERSISTENTVOLUMES,
    core_v1::PODS,
    core_v1::EVENTS,
    core_v1::NODES,
    apps_v1::CONTROLLERREVISIONS,
    apps_v1::DAEMONSETS,
    apps_v1::DEPLOYMENTS,
    apps_v1::REPLICASETS,
    apps_v1::STATEFULSETS,
    named_groups::CRONJOBS,
    named_groups::JOBS,
    named_groups::INGRESSES,
    named_groups::NETWORKPOLICIES,
    named_groups::HORIZONTALPODAUTOSCALERS,
    named_groups::PODDISRUPTIONBUDGETS,
    named_groups::LEASES,
    named_groups::ROLEBINDINGS,
    named_groups::ROLES,
    named_groups::STORAGECLASSES,
    named_groups::EVENTS_V1,
];
