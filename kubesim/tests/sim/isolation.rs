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

#[test]
fn concurrent_writers_and_one_watch_see_one_ordered_history() {
    let sim = kubesim::spawn().unwrap();
    let c = Client::new(&sim);
    let base = "/api/v1/namespaces/default/configmaps";
    let rv = c.get(base).json()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, rx) = c.watch(&format!("{base}?watch=1&resourceVersion={rv}"));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let c = c.clone();
            std::thread::spawn(move || {
                let mut conn = c.connect();
                for i in 0..50 {
                    let body = json!({"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": format!("w{w}-{i}")}})
                    .to_string();
                    let r = conn.send(
                        "POST",
                        "/api/v1/namespaces/default/configmaps",
                        &[],
                        Some(("application/json", body.as_bytes())),
                    );
                    assert_eq!(r.status, 201);
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let events = crate::client::take_events(&rx, 200, std::time::Duration::from_secs(5));
    assert_eq!(events.len(), 200);
    let rvs: Vec<u64> = events
        .iter()
        .map(|e| {
            e["object"]["metadata"]["resourceVersion"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert!(rvs.windows(2).all(|w| w[0] < w[1]), "out of order: {rvs:?}");
    let mut names: Vec<&str> = events
        .iter()
        .map(|e| e["object"]["metadata"]["name"].as_str().unwrap())
        .collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 200);
}
