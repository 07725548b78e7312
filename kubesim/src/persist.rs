//! `--state FILE` (issue 7): every object and the resourceVersion counter
//! are saved after each batch of writes (a batch is what arrives within
//! 50 ms of its first write) to `FILE.tmp` and renamed over FILE, so a
//! SIGKILL loses at most the last ~100 ms and never leaves half a file;
//! a start with an existing FILE loads it instead of bootstrapping.
//!
//! The file is JSON lines: `{"kubesim":1,"resourceVersion":"N"}`, then one
//! `{"resource":"GROUP/VERSION/PLURAL","object":{...}}` per object (core
//! resources as `/v1/PLURAL`), objects byte for byte as stored.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

use crate::resources;
use crate::sim::Sim;
use crate::store::{Entry, Key};

/// How long a batch of writes may gather before it is saved.
const BATCH: Duration = Duration::from_millis(50);

/// Why a state file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Parse {
        path: String,
        line: usize,
        message: String,
    },
}

/// A loaded state: the counter and the objects.
pub type State = (u64, Vec<(Key, Entry)>);

/// Loads `path`; `Ok(None)` when it does not exist.
pub fn load(path: &Path) -> Result<Option<State>, StateError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(StateError::Read {
                path: path.display().to_string(),
                source,
            });
        }
    };
    let err = |line: usize, message: String| StateError::Parse {
        path: path.display().to_string(),
        line,
        message,
    };
    let mut lines = text.lines().enumerate();
    let header: Value = match lines.next() {
        Some((_, l)) => serde_json::from_str(l).map_err(|e| err(1, e.to_string()))?,
        None => return Err(err(1, "empty state file".into())),
    };
    let rv = header["resourceVersion"]
        .as_str()
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|_| header["kubesim"] == 1)
        .ok_or_else(|| err(1, "not a kubesim state file".into()))?;
    let mut objects = Vec::new();
    for (i, l) in lines {
        if l.is_empty() {
            continue;
        }
        let mut v: Map<String, Value> =
            serde_json::from_str(l).map_err(|e| err(i + 1, e.to_string()))?;
        let resource = v
            .get("resource")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let mut parts = resource.splitn(3, '/');
        let (g, ver, plural) = (
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
        );
        let Some((res, _)) = resources::find(g, ver, plural) else {
            return Err(err(i + 1, format!("unknown resource {resource:?}")));
        };
        let Some(Value::Object(obj)) = v.remove("object") else {
            return Err(err(i + 1, "no object".into()));
        };
        let meta = obj.get("metadata");
        let name = |k: &str| {
            meta.and_then(|m| m.get(k))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let key = Key {
            res,
            ns: name("namespace"),
            name: name("name"),
        };
        objects.push((key, Entry::new(res, &obj)));
    }
    Ok(Some((rv, objects)))
}

/// Writes a state to `path` through `path.tmp` and a rename.
pub fn save(path: &Path, rv: u64, objects: &[(Key, Arc<Entry>)]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut out = Vec::with_capacity(objects.iter().map(|(_, e)| e.json.len() + 64).sum());
    writeln!(out, "{{\"kubesim\":1,\"resourceVersion\":\"{rv}\"}}")?;
    for (key, e) in objects {
        let rt = resources::get(key.res);
        write!(
            out,
            "{{\"resource\":\"{}/{}/{}\",\"object\":",
            rt.group, rt.version, rt.plural
        )?;
        out.extend_from_slice(&e.json);
        out.extend_from_slice(b"}\n");
    }
    std::fs::write(&tmp, &out)?;
    std::fs::rename(&tmp, path)
}

/// One save at a time (the batch saver and the final save at a stop), each
/// taking its snapshot under this lock, so that a later save is never
/// overwritten by an older snapshot.
static SAVING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Saves the state now.
pub fn save_now(sim: &Sim, path: &Path) {
    let _one = SAVING.lock().unwrap_or_else(|e| e.into_inner());
    let (rv, objects) = sim.store().snapshot();
    if let Err(e) = save(path, rv, &objects) {
        eprintln!("kubesim: cannot save the state to {}: {e}", path.display());
    }
}

/// Saves once now, then after each batch of writes, until the runtime
/// stops.
pub async fn run(sim: Arc<Sim>, path: PathBuf) {
    let mut rx = sim.store().subscribe();
    let path = Arc::new(path);
    {
        let (sim, path) = (sim.clone(), path.clone());
        let _ = tokio::task::spawn_blocking(move || save_now(&sim, &path)).await;
    }
    loop {
        match rx.recv().await {
            Ok(_) | Err(RecvError::Lagged(_)) => {}
            Err(RecvError::Closed) => return,
        }
        tokio::time::sleep(BATCH).await;
        loop {
            match rx.try_recv() {
                Ok(_) | Err(TryRecvError::Lagged(_)) => {}
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Closed) => return,
            }
        }
        let (sim, path) = (sim.clone(), path.clone());
        let _ = tokio::task::spawn_blocking(move || save_now(&sim, &path)).await;
    }
}

/// `FILE.identity`: the token and TLS parts, so that a restarted instance
/// keeps its kubeconfig valid (same CA, certificate and token).
fn identity_path(state: &Path) -> PathBuf {
    let mut p = state.as_os_str().to_owned();
    p.push(".identity");
    PathBuf::from(p)
}

/// The saved token and TLS parts of `state`, if any.
pub fn load_identity(state: &Path) -> Option<(String, crate::tls::Parts)> {
    let text = std::fs::read_to_string(identity_path(state)).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    let b = |k: &str| v[k].as_str().and_then(crate::base64::decode);
    Some((
        v["token"].as_str()?.to_string(),
        crate::tls::Parts {
            ca_pem: v["caPem"].as_str()?.to_string(),
            ca: b("ca")?,
            cert: b("cert")?,
            key: b("key")?,
        },
    ))
}

/// Saves the token and TLS parts next to `state`.
pub fn save_identity(state: &Path, token: &str, parts: &crate::tls::Parts) -> std::io::Result<()> {
    let v = serde_json::json!({
        "token": token,
        "caPem": parts.ca_pem,
        "ca": crate::base64::encode(&parts.ca),
        "cert": crate::base64::encode(&parts.cert),
        "key": crate::base64::encode(&parts.key),
    });
    let path = identity_path(state);
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, v.to_string())?;
    std::fs::rename(&tmp, path)
}
