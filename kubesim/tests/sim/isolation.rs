//! Many instances at once, each on its own port with its own CA, token
//! and store.

use serde_json::json;

use crate::client::Client;

#[test]
fn parallel_instances_do_not_share_state() {
    let handles: Vec<_> = (0..8)
        .map(|i| {
            std::thread::spawn(move || {
                let sim = kubesim::spawn().expect("kubesim starts");
                let c = Client::new(&sim);
                let name = format!("only-in-{i}");
                let r = c.post_json(
                    "/api/v1/namespaces/default/configmaps",
                    &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}),
                );
                assert_eq!(r.status, 201);
                let list = c.get("/api/v1/namespaces/default/configmaps").json();
                let names: Vec<String> = list["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|o| o["metadata"]["name"].as_str().unwrap().to_string())
                    .collect();
                assert_eq!(names, vec!["kube-root-ca.crt".to_string(), name]);
                (sim.port, sim.token.clone())
            })
        })
        .collect();
    let results: Vec<(u16, String)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let mut ports: Vec<u16> = results.iter().map(|r| r.0).collect();
    ports.sort();
    ports.dedup();
    assert_eq!(ports.len(), 8);
}

#[test]
fn another_instances_token_is_rejected() {
    let a = kubesim::spawn().unwrap();
    let b = kubesim::spawn().unwrap();
    let c = Client::new(&a).with_token(Some(&b.token));
    assert_eq!(c.get("/api/v1/namespaces").status, 401);
}

#[test]
fn dropping_an_instance_closes_its_port() {
    let sim = kubesim::spawn().unwrap();
    let port = sim.port;
    drop(sim);
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}
