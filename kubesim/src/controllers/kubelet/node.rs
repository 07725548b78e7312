//! The one node, `kubesim-node`, as a kubelet registers it: Ready, with
//! the capacity, addresses and versions a kind node reports.

use serde_json::{Value, json};

use super::super::clock::{SECOND, rfc3339};
use super::super::ctx::Ctx;
use super::super::util::ids;
use crate::sim::Sim;

pub const NODE: &str = "kubesim-node";
pub(super) const HOST_IP: &str = "172.18.0.2";

/// The default node, Ready.
pub fn populate(sim: &Sim) {
    let node = json!({
        "metadata": {
            "name": NODE,
            "labels": {
                "beta.kubernetes.io/arch": "amd64",
                "beta.kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/hostname": NODE,
                "kubernetes.io/os": "linux",
                "node-role.kubernetes.io/control-plane": ""
            }
        },
        "spec": {"podCIDR": "10.244.0.0/24", "podCIDRs": ["10.244.0.0/24"]},
    });
    let now = rfc3339(sim.clock.now().secs * SECOND);
    let status = json!({
        "capacity": {"cpu": "8", "memory": "16Gi", "pods": "110", "ephemeral-storage": "100Gi"},
        "allocatable": {"cpu": "8", "memory": "16Gi", "pods": "110", "ephemeral-storage": "100Gi"},
        "conditions": [
            {"type": "MemoryPressure", "status": "False", "lastHeartbeatTime": now, "lastTransitionTime": now, "reason": "KubeletHasSufficientMemory", "message": "kubelet has sufficient memory available"},
            {"type": "DiskPressure", "status": "False", "lastHeartbeatTime": now, "lastTransitionTime": now, "reason": "KubeletHasNoDiskPressure", "message": "kubelet has no disk pressure"},
            {"type": "PIDPressure", "status": "False", "lastHeartbeatTime": now, "lastTransitionTime": now, "reason": "KubeletHasSufficientPID", "message": "kubelet has sufficient PID available"},
            {"type": "Ready", "status": "True", "lastHeartbeatTime": now, "lastTransitionTime": now, "reason": "KubeletReady", "message": "kubelet is posting ready status"}
        ],
        "addresses": [{"type": "InternalIP", "address": HOST_IP}, {"type": "Hostname", "address": NODE}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "nodeInfo": {
            "machineID": "kubesim", "systemUUID": "kubesim", "bootID": "kubesim",
            "kernelVersion": "6.8.0", "osImage": "Debian GNU/Linux 12 (bookworm)",
            "containerRuntimeVersion": "containerd://1.7.24", "kubeletVersion": "v1.32.6",
            "kubeProxyVersion": "v1.32.6", "operatingSystem": "linux", "architecture": "amd64"
        }
    });
    let mut store = sim.store();
    if let Value::Object(m) = node
        && crate::verbs::write::insert_new(sim, &mut store, ids().nodes, m, false).is_ok()
        && let Some(e) = store.get(&Ctx::key(ids().nodes, "", NODE)).cloned()
    {
        let mut obj = e.to_map();
        obj.insert("status".into(), status);
        let _ = crate::verbs::write::update_existing(
            &mut store,
            &Ctx::key(ids().nodes, "", NODE),
            &e,
            obj,
            crate::verbs::write::Part::Status,
            false,
        );
    }
}
