//! What the engine adds to every rendered object, so templates cannot get
//! it wrong: the ownership and stage annotations, hook Job names with the
//! hash of their spec, and the `checksum/config` of the configuration each
//! pod template consumes.

use std::collections::BTreeMap;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::manifest::{Object, set_map_entry};
use crate::plan::{self, HOOK_ANNOTATION, RELEASE_ANNOTATION, STAGE_ANNOTATION};

use super::Release;

/// The pod-template annotation that rolls pods when their configuration changes.
pub const CHECKSUM_ANNOTATION: &str = "checksum/config";

/// Applies every post-render rule, in order.
pub fn apply(objects: &mut [Object], release: &Release) {
    let config = ConfigData::collect(objects);
    for o in objects.iter_mut() {
        o.set_annotation(
            RELEASE_ANNOTATION,
            &format!("{}/{}", release.namespace, release.name),
        );
        let stage = plan::stage_of(o);
        o.set_annotation(STAGE_ANNOTATION, stage.label());
        if matches!(o.kind(), "Deployment" | "StatefulSet")
            && let Some(sum) = config.checksum_for(&o.value)
        {
            set_map_entry(
                &mut o.value,
                &["spec", "template", "metadata", "annotations"],
                CHECKSUM_ANNOTATION,
                &sum,
            );
        }
        if o.kind() == "Job" && o.annotation(HOOK_ANNOTATION).is_some() {
            let hash = hook_hash(&o.value);
            let name = format!("{}-{}", o.name(), hash);
            o.value["metadata"]["name"] = Value::String(name);
        }
    }
}

/// First 8 hex digits of the sha256 of a Job's rendered spec.
pub fn hook_hash(job: &Value) -> String {
    let spec = serde_json::to_vec(&job["spec"]).unwrap_or_default();
    let digest = Sha256::digest(&spec);
    digest.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

/// The data of the rendered ConfigMaps and Secrets, by (kind, name).
struct ConfigData {
    data: BTreeMap<(String, String), serde_json::Map<String, Value>>,
}

impl ConfigData {
    fn collect(objects: &[Object]) -> ConfigData {
        let mut data = BTreeMap::new();
        for o in objects {
            if matches!(o.kind(), "ConfigMap" | "Secret") {
                let d = o
                    .value
                    .get("data")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                data.insert((o.kind().to_string(), o.name().to_string()), d);
            }
        }
        ConfigData { data }
    }

    /// The sha256 over exactly the rendered keys a pod template reads (all
    /// of an object for `envFrom` and volumes without `items`, single keys
    /// for `valueFrom` and volume `items`), or None when it reads none. A database pod that reads one password
    /// does not restart when LOG_LEVEL changes.
    fn checksum_for<'a>(&'a self, workload: &Value) -> Option<String> {
        let pod = workload.pointer("/spec/template/spec")?;
        let mut consumed: BTreeMap<String, &Value> = BTreeMap::new();
        let whole = |kind: &str, name: &str, consumed: &mut BTreeMap<String, &'a Value>| {
            if let Some(d) = self.data.get(&(kind.to_string(), name.to_string())) {
                for (k, v) in d {
                    consumed.insert(format!("{kind}/{name}/{k}"), v);
                }
            }
        };
        let containers = ["containers", "initContainers"]
            .iter()
            .filter_map(|k| pod.get(*k).and_then(Value::as_array))
            .flatten();
        for c in containers {
            for ef in c
                .get("envFrom")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(n) = ef.pointer("/configMapRef/name").and_then(Value::as_str) {
                    whole("ConfigMap", n, &mut consumed);
                }
                if let Some(n) = ef.pointer("/secretRef/name").and_then(Value::as_str) {
                    whole("Secret", n, &mut consumed);
                }
            }
            for e in c.get("env").and_then(Value::as_array).into_iter().flatten() {
                for (kind, ptr) in [
                    ("ConfigMap", "/valueFrom/configMapKeyRef"),
                    ("Secret", "/valueFrom/secretKeyRef"),
                ] {
                    let Some(r) = e.pointer(ptr) else { continue };
                    let name = r.get("name").and_then(Value::as_str).unwrap_or("");
                    let key = r.get("key").and_then(Value::as_str).unwrap_or("");
                    if let Some(v) = self
                        .data
                        .get(&(kind.to_string(), name.to_string()))
                        .and_then(|d| d.get(key))
                    {
                        consumed.insert(format!("{kind}/{name}/{key}"), v);
                    }
                }
            }
        }
        for v in pod
            .get("volumes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for (kind, source, name_field) in [
                ("ConfigMap", "configMap", "name"),
                ("Secret", "secret", "secretName"),
            ] {
                let Some(src) = v.get(source) else { continue };
                let Some(name) = src.get(name_field).and_then(Value::as_str) else {
                    continue;
                };
                match src.get("items").and_then(Value::as_array) {
                    // Only the listed keys are projected into the volume.
                    Some(items) => {
                        let data = self.data.get(&(kind.to_string(), name.to_string()));
                        for key in items.iter().filter_map(|i| i.get("key")?.as_str()) {
                            if let Some(value) = data.and_then(|d| d.get(key)) {
                                consumed.insert(format!("{kind}/{name}/{key}"), value);
                            }
                        }
                    }
                    None => whole(kind, name, &mut consumed),
                }
            }
        }
        if consumed.is_empty() {
            return None;
        }
        let bytes = serde_json::to_vec(&consumed).unwrap_or_default();
        Some(format!("{:x}", Sha256::digest(&bytes)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Object {
        Object {
            source: "manifests/t.yaml".into(),
            value: v,
        }
    }

    fn release() -> Release {
        Release {
            name: "r".into(),
            namespace: "ns".into(),
            environment: "dev".into(),
        }
    }

    fn platform(log_level: &str) -> Vec<Object> {
        vec![
            obj(
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"LOG_LEVEL": log_level, "DB": "x"}}),
            ),
            obj(
                json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "sec"}, "data": {"PW": "cHc="}}),
            ),
            obj(
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "app"},
                "spec": {"template": {"spec": {"containers": [{"envFrom": [{"configMapRef": {"name": "cfg"}}]}]}}}}),
            ),
            obj(
                json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
                "spec": {"template": {"spec": {"containers": [{"env": [{"name": "P", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "PW"}}}]}]}}}}),
            ),
            obj(
                json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "r-migrate", "annotations": {HOOK_ANNOTATION: "install"}},
                "spec": {"template": {"spec": {"containers": [{"envFrom": [{"configMapRef": {"name": "cfg"}}]}]}}}}),
            ),
        ]
    }

    fn checksum(o: &Object) -> Option<&str> {
        o.value
            .pointer("/spec/template/metadata/annotations")
            .and_then(|a| a.get(CHECKSUM_ANNOTATION))
            .and_then(Value::as_str)
    }

    #[test]
    fn checksums_follow_only_consumed_keys() {
        let mut a = platform("INFO");
        let mut b = platform("DEBUG");
        apply(&mut a, &release());
        apply(&mut b, &release());
        assert_ne!(
            checksum(&a[2]),
            checksum(&b[2]),
            "the app reads LOG_LEVEL and must roll"
        );
        assert!(checksum(&a[2]).is_some());
        assert_eq!(
            checksum(&a[3]),
            checksum(&b[3]),
            "the database reads one password and must not roll"
        );
        assert!(checksum(&a[4]).is_none(), "hook Jobs carry no checksum");
        assert_eq!(
            a[4].name(),
            b[4].name(),
            "a config change alone does not re-run hooks"
        );
    }

    /// A Secret mounted with `items` (the database's password file): only
    /// those keys count, so a new Django key does not restart PostgreSQL.
    #[test]
    fn a_volume_with_items_consumes_only_those_keys() {
        let objects = |pw: &str, other: &str| {
            let mut v = vec![
                obj(
                    json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "sec"}, "data": {"PW": pw, "OTHER": other}}),
                ),
                obj(
                    json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
                    "spec": {"template": {"spec": {"containers": [{}],
                        "volumes": [{"name": "secret", "secret": {"secretName": "sec", "items": [{"key": "PW", "path": "pw"}]}}]}}}}),
                ),
                obj(
                    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "app"},
                    "spec": {"template": {"spec": {"containers": [{}],
                        "volumes": [{"name": "secret", "secret": {"secretName": "sec"}}]}}}}),
                ),
            ];
            apply(&mut v, &release());
            (
                checksum(&v[1]).map(str::to_string),
                checksum(&v[2]).map(str::to_string),
            )
        };
        let (db, app) = objects("cHc=", "YQ==");
        let (db_other, app_other) = objects("cHc=", "Yg==");
        let (db_pw, _) = objects("cHcy", "YQ==");
        assert!(db.is_some());
        assert_eq!(db, db_other, "a key the volume does not list");
        assert_ne!(db, db_pw, "the listed key rolls the pod");
        assert_ne!(app, app_other, "a volume without items reads every key");
    }

    #[test]
    fn hooks_are_named_by_their_spec() {
        let mut objects = platform("INFO");
        apply(&mut objects, &release());
        let job = &objects[4];
        assert!(job.name().starts_with("r-migrate-"));
        assert_eq!(job.name().len(), "r-migrate-".len() + 8);
        objects[4].value["spec"]["backoffLimit"] = json!(0);
        objects[4].value["metadata"]["name"] = json!("r-migrate");
        let before = job_name_after_apply(objects[4].clone());
        assert_ne!(
            before,
            "r-migrate-".to_string() + &hook_hash(&platform("INFO")[4].value)
        );
    }

    fn job_name_after_apply(o: Object) -> String {
        let mut v = vec![o];
        apply(&mut v, &release());
        v[0].name().to_string()
    }

    #[test]
    fn ownership_and_stage_annotations() {
        let mut objects = platform("INFO");
        apply(&mut objects, &release());
        assert_eq!(objects[0].annotation(RELEASE_ANNOTATION), Some("ns/r"));
        assert_eq!(objects[0].annotation(STAGE_ANNOTATION), Some("1-config"));
        assert_eq!(objects[3].annotation(STAGE_ANNOTATION), Some("2-data"));
        assert_eq!(objects[4].annotation(STAGE_ANNOTATION), Some("3-prepare"));
    }
}
