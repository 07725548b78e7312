//! Images are pinned: a tag other than `latest` (the replaced chart ran
//! `backend:latest` everywhere, SPEC §1b.7). An image with no tag is
//! `latest` too. A digest, when given, is well formed (`sha256:` and 64
//! lowercase hex digits: a typo would only show as a pull error on the
//! node).
//!
//! In prod, an image without a digest (`images.<name>.digest`) is a
//! warning (`policy/image-digest`, an error with `--strict`): a tag can be
//! pushed again with another build, a digest cannot, and scanners such as
//! checkov (CKV_K8S_43) ask for one. Elsewhere a tag is enough: a warning
//! on every image of dev would drown the rest.

use serde_json::Value;

use super::Context;
use super::finding::{Findings, Subject};
use super::path::join_path;

/// The tag of an image reference, if any (`repo:tag`, `host:5000/repo:tag@sha256:...`).
fn tag(image: &str) -> Option<&str> {
    let name = image.split('@').next().unwrap_or(image);
    let last = name.rsplit('/').next().unwrap_or(name);
    last.split_once(':').map(|(_, t)| t)
}

pub fn check(ctx: &Context, out: &mut Findings) {
    for pod in &ctx.pods {
        let at = Subject::object(pod.object, pod.index);
        for c in pod.containers() {
            let path = join_path(&c.path, "image");
            let image = c.value.get("image").and_then(Value::as_str).unwrap_or("");
            let fix = "pin a version: --set images.<name>.tag=X.Y.Z (and images.<name>.digest=sha256:... to pin the exact build)";
            if image.is_empty() {
                out.error(
                    "policy/image",
                    &at,
                    &path,
                    format!("container `{}` has no image", c.name()),
                    fix,
                );
                continue;
            }
            if let Some((_, digest)) = image.split_once('@') {
                if !well_formed_digest(digest) {
                    out.error(
                        "policy/image",
                        &at,
                        &path,
                        format!("`{image}` has a malformed digest: expected sha256: and 64 lowercase hex digits"),
                        "set images.<name>.digest to the digest the registry reports (docker buildx imagetools inspect IMAGE:TAG), sha256:<64 hex>",
                    );
                }
            } else if ctx.options.production {
                out.warning(
                    "policy/image-digest",
                    &at,
                    &path,
                    format!("`{image}` is not pinned by digest: the tag can be pushed again with another build"),
                    "pin the build: set images.<name>.digest=sha256:<64 hex> in your prod values file (see releases/prod-secrets.example.yaml)",
                );
            }
            let message = match tag(image) {
                Some("latest") => format!(
                    "`{image}` uses the tag `latest`, which changes under a running release"
                ),
                None if !image.contains('@') => {
                    format!("`{image}` has no tag, which means `latest`")
                }
                _ => continue,
            };
            out.error("policy/image", &at, &path, message, fix);
        }
    }
}

/// `sha256:` and 64 lowercase hex digits (the OCI form of a sha256 digest).
fn well_formed_digest(digest: &str) -> bool {
    digest.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::{tag, well_formed_digest};
    use crate::lint::Options;
    use crate::lint::testing::lint_values;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn deployment(image: &str) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "app", "namespace": "ns"},
            "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}},
            "spec": {"containers": [{"name": "app", "image": image}]}}}})
    }

    /// The image findings (rule, severity) of one Deployment running `image`.
    fn image_findings(image: &str, production: bool) -> Vec<(String, String)> {
        let options = Options {
            production,
            ..Options::default()
        };
        lint_values(vec![deployment(image)], &options)
            .into_iter()
            .filter(|f| f.rule.starts_with("policy/image"))
            .map(|f| (f.rule.to_string(), f.severity.label().to_string()))
            .collect()
    }

    #[test]
    fn prod_warns_about_an_image_without_a_digest() {
        assert_eq!(
            image_findings("ghcr.io/a/b:1.4.0", true),
            [("policy/image-digest".to_string(), "warning".to_string())]
        );
        assert!(image_findings(&format!("ghcr.io/a/b:1.4.0@{DIGEST}"), true).is_empty());
        assert!(
            image_findings("ghcr.io/a/b:1.4.0", false).is_empty(),
            "dev and staging: a tag is enough"
        );
    }

    #[test]
    fn a_malformed_digest_is_an_error_everywhere() {
        for production in [true, false] {
            for bad in [
                "sha256:abc",
                "md5:0123",
                &DIGEST.to_uppercase().replace("SHA256", "sha256"),
            ] {
                assert_eq!(
                    image_findings(&format!("ghcr.io/a/b:1.4.0@{bad}"), production),
                    [("policy/image".to_string(), "error".to_string())],
                    "{bad}"
                );
            }
        }
    }

    #[test]
    fn digests() {
        assert!(well_formed_digest(DIGEST));
        assert!(!well_formed_digest(&DIGEST[..70]));
        assert!(!well_formed_digest(&DIGEST.replace("sha256", "sha512")));
        assert!(!well_formed_digest(&format!("{DIGEST}0")));
    }

    #[test]
    fn tags() {
        assert_eq!(tag("ghcr.io/a/b:1.4.0"), Some("1.4.0"));
        assert_eq!(tag("localhost:5000/b"), None);
        assert_eq!(tag("b:latest@sha256:abc"), Some("latest"));
        assert_eq!(tag("b@sha256:abc"), None);
    }
}
