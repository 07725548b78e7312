//! The release record: one revision of a release, as stored in its Secret.
//!
//! Encoding (CONVENTIONS): JSON, with `digest` = sha256 of the same JSON
//! whose `digest` is empty, gzipped deterministically (mtime 0). Decoding
//! verifies the digest, so a record damaged or edited by hand is reported
//! as corrupt (naming its revision) instead of being trusted.

use std::io::{Read, Write};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::manifest::ObjectId;
use crate::values::UserLayer;

/// The record format written by this thebot.
pub const SCHEMA_VERSION: u32 = 1;
/// The gzip payload must stay under this many bytes (a Secret holds 1 MiB).
pub const MAX_PAYLOAD: usize = 1_000_000;

/// Where a revision is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    PendingInstall,
    PendingUpgrade,
    PendingRollback,
    Deployed,
    Superseded,
    Failed,
    Uninstalling,
    Uninstalled,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::PendingInstall => "pending-install",
            Status::PendingUpgrade => "pending-upgrade",
            Status::PendingRollback => "pending-rollback",
            Status::Deployed => "deployed",
            Status::Superseded => "superseded",
            Status::Failed => "failed",
            Status::Uninstalling => "uninstalling",
            Status::Uninstalled => "uninstalled",
        }
    }

    pub fn is_pending(self) -> bool {
        matches!(
            self,
            Status::PendingInstall | Status::PendingUpgrade | Status::PendingRollback
        )
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The user's value layers in order and their merged result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordValues {
    pub layers: Vec<UserLayer>,
    pub merged: Value,
}

/// One inventory entry: `[group, version, kind, namespace, name]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct InventoryEntry(pub String, pub String, pub String, pub String, pub String);

impl From<&ObjectId> for InventoryEntry {
    fn from(id: &ObjectId) -> Self {
        InventoryEntry(
            id.group.clone(),
            id.version.clone(),
            id.kind.clone(),
            id.namespace.clone(),
            id.name.clone(),
        )
    }
}

impl InventoryEntry {
    pub fn id(&self) -> ObjectId {
        ObjectId {
            group: self.0.clone(),
            version: self.1.clone(),
            kind: self.2.clone(),
            namespace: self.3.clone(),
            name: self.4.clone(),
        }
    }
}

/// One revision of a release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    pub schema_version: u32,
    pub name: String,
    pub namespace: String,
    pub environment: String,
    pub revision: u32,
    pub status: Status,
    pub description: String,
    /// RFC 3339 UTC.
    pub first_deployed: String,
    /// RFC 3339 UTC.
    pub last_deployed: String,
    pub values: RecordValues,
    /// The rendered YAML stream that was applied.
    pub manifest: String,
    pub inventory: Vec<InventoryEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_of: Option<u32>,
    pub thebot_version: String,
    /// The database's schema after this revision: the backend image whose
    /// migration Job ran last, and the backup taken just before it. Absent
    /// in records written before this field existed, and when no migration
    /// Job has run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migration: Option<Migration>,
    /// `user@host` of whoever wrote the revision.
    pub by: String,
    /// `sha256:<hex>` of this JSON with `digest` empty.
    pub digest: String,
}

/// Which backend image the database was last migrated by, in which
/// revision, and the backup taken before that migration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Migration {
    /// The image of the migration Job (`repository:tag[@digest]`).
    pub image: String,
    /// The revision whose migration Job ran.
    pub revision: u32,
    /// The backup taken before that migration (none at install, or when
    /// backups are off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<Backup>,
}

/// One backup file, taken by a backup Job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Backup {
    /// The file name on the claim (`<release>-r<N>-<UTC timestamp>.dump`).
    pub file: String,
    /// The claim holding it.
    pub claim: String,
    /// When the backup Job was started (RFC 3339 UTC).
    pub time: String,
    /// Its size in bytes, when the Job's log reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// The Job that wrote it.
    pub job: String,
}

/// Why a record could not be encoded or read.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error(
        "the record is {size} bytes compressed, over the {MAX_PAYLOAD}-byte limit of a release Secret: reduce the values (large --set-file contents?)"
    )]
    TooLarge { size: usize },
    #[error("cannot decompress: {0}")]
    Gzip(#[source] std::io::Error),
    #[error("not a release record: {0}")]
    Json(#[source] serde_json::Error),
    #[error(
        "its digest does not match its content (stored {stored}, computed {computed}): it was damaged or edited"
    )]
    Digest { stored: String, computed: String },
    #[error("it has schemaVersion {0}, this thebot reads {SCHEMA_VERSION}: use a newer thebot")]
    Schema(u32),
}

fn digest_of(record: &Record) -> String {
    let mut copy = record.clone();
    copy.digest = String::new();
    let json = serde_json::to_vec(&copy).expect("a record always serializes");
    format!("sha256:{:x}", Sha256::digest(&json))
}

/// Sets the digest and returns the gzipped JSON, refusing oversize records.
pub fn encode(record: &mut Record) -> Result<Vec<u8>, CodecError> {
    record.digest = digest_of(record);
    let json = serde_json::to_vec(record).expect("a record always serializes");
    let mut gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::best());
    gz.write_all(&json).map_err(CodecError::Gzip)?;
    let bytes = gz.finish().map_err(CodecError::Gzip)?;
    if bytes.len() >= MAX_PAYLOAD {
        return Err(CodecError::TooLarge { size: bytes.len() });
    }
    Ok(bytes)
}

/// Decompresses, parses and verifies a record.
pub fn decode(bytes: &[u8]) -> Result<Record, CodecError> {
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .take(64 * 1024 * 1024)
        .read_to_end(&mut json)
        .map_err(CodecError::Gzip)?;
    let head: Value = serde_json::from_slice(&json).map_err(CodecError::Json)?;
    if let Some(v) = head.get("schemaVersion").and_then(Value::as_u64)
        && v != u64::from(SCHEMA_VERSION)
    {
        return Err(CodecError::Schema(v as u32));
    }
    let record: Record = serde_json::from_value(head).map_err(CodecError::Json)?;
    let computed = digest_of(&record);
    if computed != record.digest {
        return Err(CodecError::Digest {
            stored: record.digest.clone(),
            computed,
        });
    }
    Ok(record)
}

/// Now, as RFC 3339 UTC with seconds.
///
/// Times are jiff's `Timestamp`, re-exported by k8s-openapi: since 0.29
/// `metav1::Time` wraps it, so the API's own times (creation, Lease renew,
/// container start) and ours are one type. chrono would be a second date
/// library for the same job; humantime only parses `--timeout 5m` and
/// prints the progress clock.
pub fn now_rfc3339() -> String {
    k8s_openapi::jiff::Timestamp::now()
        .round(k8s_openapi::jiff::Unit::Second)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// `user@host` of the current process, for `by` and lock holders.
pub fn who() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into());
    format!("{user}@{host}")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    pub fn sample(revision: u32, status: Status) -> Record {
        Record {
            schema_version: SCHEMA_VERSION,
            name: "thebot-dev".into(),
            namespace: "thebot-dev".into(),
            environment: "dev".into(),
            revision,
            status,
            description: "Install complete".into(),
            first_deployed: "2026-11-25T10:00:00Z".into(),
            last_deployed: "2026-11-25T10:00:05Z".into(),
            values: RecordValues {
                layers: vec![UserLayer::Set { arg: "a=1".into() }],
                merged: json!({"z": 1, "a": {"y": 2.5, "b": "x"}}),
            },
            manifest: "---\nkind: ConfigMap\n".into(),
            inventory: vec![InventoryEntry(
                "".into(),
                "v1".into(),
                "ConfigMap".into(),
                "thebot-dev".into(),
                "c".into(),
            )],
            rollback_of: None,
            thebot_version: "0.1.0".into(),
            migration: None,
            by: "me@host".into(),
            digest: String::new(),
        }
    }

    #[test]
    fn round_trip_with_digest() {
        let mut r = sample(3, Status::Deployed);
        let bytes = encode(&mut r).unwrap();
        assert!(r.digest.starts_with("sha256:"));
        assert_eq!(decode(&bytes).unwrap(), r);
    }

    #[test]
    fn encoding_is_deterministic() {
        let a = encode(&mut sample(1, Status::Deployed)).unwrap();
        let b = encode(&mut sample(1, Status::Deployed)).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn json_shape_follows_conventions() {
        let mut r = sample(2, Status::PendingUpgrade);
        r.rollback_of = Some(1);
        let v = serde_json::to_value(&r).unwrap();
        for key in [
            "schemaVersion",
            "name",
            "namespace",
            "environment",
            "revision",
            "status",
            "description",
            "firstDeployed",
            "lastDeployed",
            "values",
            "manifest",
            "inventory",
            "rollbackOf",
            "thebotVersion",
            "by",
            "digest",
        ] {
            assert!(v.get(key).is_some(), "{key}");
        }
        assert_eq!(v["status"], "pending-upgrade");
        assert_eq!(
            v["inventory"][0],
            json!(["", "v1", "ConfigMap", "thebot-dev", "c"])
        );
    }

    /// A record as thebot wrote it before the migration state existed
    /// (no `migration` key) still reads, digest included, and encodes to
    /// the same JSON.
    #[test]
    fn a_record_without_migration_state_still_reads() {
        let old = r#"{"schemaVersion":1,"name":"thebot-dev","namespace":"thebot-dev","environment":"dev","revision":1,"status":"deployed","description":"Install complete","firstDeployed":"2026-11-25T10:00:00Z","lastDeployed":"2026-11-25T10:00:05Z","values":{"layers":[],"merged":{}},"manifest":"","inventory":[],"thebotVersion":"0.1.0","by":"me@host","digest":""}"#;
        let mut v: Value = serde_json::from_str(old).unwrap();
        let unsigned = serde_json::to_vec(&v).unwrap();
        v["digest"] = format!("sha256:{:x}", Sha256::digest(&unsigned)).into();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&serde_json::to_vec(&v).unwrap()).unwrap();
        let r = decode(&gz.finish().unwrap()).expect("an old record reads");
        assert_eq!(r.migration, None);
        assert_eq!(r.revision, 1);
        assert!(serde_json::to_value(&r).unwrap().get("migration").is_none());
    }

    #[test]
    fn migration_state_round_trips() {
        let mut r = sample(2, Status::Deployed);
        r.migration = Some(Migration {
            image: "ghcr.io/the-bot/thebot-backend:1.5.0".into(),
            revision: 2,
            backup: Some(Backup {
                file: "thebot-dev-r2-20261206T200000Z.dump".into(),
                claim: "thebot-dev-backups".into(),
                time: "2026-12-06T20:00:00Z".into(),
                size: None,
                job: "thebot-dev-backup-0123abcd".into(),
            }),
        });
        let bytes = encode(&mut r).unwrap();
        assert_eq!(decode(&bytes).unwrap(), r);
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(
            v["migration"]["backup"]["file"],
            "thebot-dev-r2-20261206T200000Z.dump"
        );
        assert!(v["migration"]["backup"].get("size").is_none());
    }

    #[test]
    fn tampering_is_detected() {
        let mut r = sample(1, Status::Deployed);
        encode(&mut r).unwrap();
        r.status = Status::Failed;
        let json = serde_json::to_vec(&r).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&json).unwrap();
        let err = decode(&gz.finish().unwrap()).unwrap_err();
        assert!(matches!(err, CodecError::Digest { .. }), "{err}");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(matches!(decode(b"not gzip"), Err(CodecError::Gzip(_))));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"{\"schemaVersion\": 9}").unwrap();
        assert!(matches!(
            decode(&gz.finish().unwrap()),
            Err(CodecError::Schema(9))
        ));
    }

    #[test]
    fn oversize_is_refused() {
        let mut r = sample(1, Status::Deployed);
        // Incompressible content well over the limit.
        let mut x: u64 = 0x9E3779B97F4A7C15;
        r.manifest = (0..1_600_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                char::from(b'!' + (x % 90) as u8)
            })
            .collect();
        assert!(matches!(encode(&mut r), Err(CodecError::TooLarge { .. })));
    }
}
