//! Images are pinned: a tag other than `latest` (the replaced chart ran
//! `backend:latest` everywhere, SPEC §1b.7). An image with no tag is
//! `latest` too. A digest (`images.<name>.digest`) pins harder and is
//! recommended in the fix, but a pinned tag without one is not reported:
//! a warning on every image of every environment would drown the rest.

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

#[cfg(test)]
mod tests {
    use super::tag;

    #[test]
    fn tags() {
        assert_eq!(tag("ghcr.io/a/b:1.4.0"), Some("1.4.0"));
        assert_eq!(tag("localhost:5000/b"), None);
        assert_eq!(tag("b:latest@sha256:abc"), Some("latest"));
        assert_eq!(tag("b@sha256:abc"), None);
    }
}
