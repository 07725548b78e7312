//! kubesim: a Kubernetes API server simulator (see issue 4).
