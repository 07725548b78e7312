//! kube-rs (the client thebot's engine uses) against kubesim: kubeconfig
//! and TLS, both discovery flavours, CRUD, patches, list with selectors,
//! watch, and the 410 a too-old watch gets.

use futures_util::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::discovery::Discovery;
use kube::{Client, Config};
use serde_json::json;

async fn client(sim: &kubesim::Instance) -> Client {
    let kc = Kubeconfig::from_yaml(&sim.kubeconfig()).expect("kubeconfig parses");
    let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("config");
    Client::try_from(config).expect("client")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn discovery_legacy_and_aggregated() {
    let sim = kubesim::spawn().unwrap();
    runtime().block_on(async {
        let c = client(&sim).await;
        let v = c.apiserver_version().await.unwrap();
        assert_eq!((v.major.as_str(), v.minor.as_str()), ("1", "32"));
        for d in [
            Discovery::new(c.clone()).run().await.unwrap(),
            Discovery::new(c.clone()).run_aggregated().await.unwrap(),
        ] {
            let apps = d.get("apps").expect("apps group");
            let kinds: Vec<String> = apps
                .recommended_resources()
                .into_iter()
                .map(|(r, _)| r.kind)
                .collect();
            assert!(kinds.contains(&"Deployment".to_string()), "{kinds:?}");
            assert!(d.get("batch").is_some() && d.get("coordination.k8s.io").is_some());
        }
    });
}

#[test]
fn crud_list_and_patch() {
    let sim = kubesim::spawn().unwrap();
    runtime().block_on(async {
        let c = client(&sim).await;
        let cms: Api<ConfigMap> = Api::namespaced(c.clone(), "default");
        let cm: ConfigMap = serde_json::from_value(json!({
            "metadata": {"name": "a", "labels": {"app": "x"}}, "data": {"k": "v"}
        }))
        .unwrap();
        let created = cms.create(&PostParams::default(), &cm).await.unwrap();
        assert!(created.metadata.uid.is_some());
        let err = cms.create(&PostParams::default(), &cm).await.unwrap_err();
        match err {
            kube::Error::Api(s) => assert_eq!((s.code, s.reason.as_str()), (409, "AlreadyExists")),
            other => panic!("{other}"),
        }
        let listed = cms
            .list(&ListParams::default().labels("app=x"))
            .await
            .unwrap();
        assert_eq!(listed.items.len(), 1);
        let patched = cms
            .patch(
                "a",
                &PatchParams::default(),
                &Patch::Merge(json!({"data": {"k": "w"}})),
            )
            .await
            .unwrap();
        assert_eq!(patched.data.unwrap()["k"], "w");
        cms.delete("a", &DeleteParams::background()).await.unwrap();
        assert!(cms.get_opt("a").await.unwrap().is_none());

        let deploys: Api<Deployment> = Api::namespaced(c, "default");
        let d: Deployment = serde_json::from_value(json!({
            "metadata": {"name": "d"},
            "spec": {"selector": {"matchLabels": {"app": "d"}},
                     "template": {"metadata": {"labels": {"app": "d"}},
                                  "spec": {"containers": [{"name": "c", "image": "x"}]}}}
        }))
        .unwrap();
        let d = deploys.create(&PostParams::default(), &d).await.unwrap();
        assert_eq!(d.metadata.generation, Some(1));
        let scale = deploys.get_scale("d").await.unwrap();
        assert_eq!(scale.spec.unwrap().replicas, Some(1));
    });
}

#[test]
fn watch_and_expired_resource_version() {
    let sim = kubesim::spawn().unwrap();
    runtime().block_on(async {
        let c = client(&sim).await;
        let cms: Api<ConfigMap> = Api::namespaced(c, "default");
        let list = cms.list(&ListParams::default()).await.unwrap();
        let rv = list.metadata.resource_version.unwrap();
        let mut stream = cms
            .watch(&WatchParams::default().timeout(5), &rv)
            .await
            .unwrap()
            .boxed();
        let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "w"}})).unwrap();
        cms.create(&PostParams::default(), &cm).await.unwrap();
        match stream.next().await {
            Some(Ok(WatchEvent::Added(o))) => assert_eq!(o.metadata.name.as_deref(), Some("w")),
            other => panic!("{other:?}"),
        }
        let mut old = cms
            .watch(&WatchParams::default(), "1")
            .await
            .unwrap()
            .boxed();
        match old.next().await {
            Some(Ok(WatchEvent::Error(e))) => assert_eq!(e.code, 410),
            other => panic!("{other:?}"),
        }
    });
}
