//! The kubeconfig a client needs to reach one kubesim instance: server URL,
//! the instance's CA, and the bearer token.

use crate::base64;

/// Renders a kubeconfig (YAML) with one cluster, user and context, all
/// named `kubesim`; `namespace` becomes the context's default namespace.
pub fn render(url: &str, ca_pem: &str, token: &str, namespace: Option<&str>) -> String {
    let ns = namespace
        .map(|n| format!("    namespace: {n}\n"))
        .unwrap_or_default();
    format!(
        "apiVersion: v1\n\
         kind: Config\n\
         clusters:\n\
         - name: kubesim\n  cluster:\n    server: {url}\n    certificate-authority-data: {ca}\n\
         users:\n\
         - name: kubesim\n  user:\n    token: {token}\n\
         contexts:\n\
         - name: kubesim\n  context:\n    cluster: kubesim\n    user: kubesim\n{ns}\
         current-context: kubesim\n\
         preferences: {{}}\n",
        ca = base64::encode(ca_pem.as_bytes()),
    )
}
