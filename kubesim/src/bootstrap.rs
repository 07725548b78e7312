//! What a fresh cluster already holds: the `default`, `kube-system`,
//! `kube-public` and `kube-node-lease` namespaces (each with its
//! `kube-root-ca.crt` ConfigMap and `default` ServiceAccount) and the
//! `kubernetes` Service.

use serde_json::{Value, json};

use crate::resources;
use crate::sim::Sim;
use crate::verbs::write;

pub fn populate(sim: &Sim) {
    let (ns, _) = resources::find("", "v1", "namespaces").expect("served");
    let (svc, _) = resources::find("", "v1", "services").expect("served");
    let mut store = sim.store();
    for name in ["default", "kube-node-lease", "kube-public", "kube-system"] {
        if let Value::Object(m) = json!({"metadata": {"name": name}}) {
            let _ = write::insert_new(sim, &mut store, ns, m, false);
        }
    }
    let service = json!({
        "metadata": {
            "name": "kubernetes",
            "namespace": "default",
            "labels": {"component": "apiserver", "provider": "kubernetes"}
        },
        "spec": {
            "clusterIP": "10.96.0.1",
            "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]
        }
    });
    if let Value::Object(m) = service {
        let _ = write::insert_new(sim, &mut store, svc, m, false);
    }
}
