//! Image references and container ids as the container runtime reports
//! them: `docker.io/library/nginx:1.27`, a made-up but stable digest.

use super::super::faults;
use super::super::util::fnv32a;

pub(super) fn hex_id(seed: &str) -> String {
    let mut out = String::new();
    let mut h = fnv32a(seed.as_bytes());
    for i in 0..8u32 {
        h = fnv32a(format!("{h}{i}{seed}").as_bytes());
        out.push_str(&format!("{h:08x}"));
    }
    out
}

pub(super) fn image_ref(image: &str) -> String {
    let (repo, _) = match image.rsplit_once(':') {
        Some((r, t)) if !t.contains('/') => (r, t),
        _ => (image, ""),
    };
    let repo = repo.split('@').next().unwrap_or(repo);
    let first = repo.split('/').next().unwrap_or("");
    let full = if !repo.contains('/') {
        format!("docker.io/library/{repo}")
    } else if first.contains('.') || first.contains(':') || first == "localhost" {
        repo.to_string()
    } else {
        format!("docker.io/{repo}")
    };
    format!("{full}@sha256:{}", hex_id(image))
}

pub(super) fn full_image(image: &str) -> String {
    image_ref(image)
        .split('@')
        .next()
        .map(|r| {
            let tag = faults::tag(image);
            if tag.is_empty() {
                format!("{r}:latest")
            } else {
                format!("{r}:{tag}")
            }
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references_are_qualified() {
        assert!(image_ref("nginx:1.27").starts_with("docker.io/library/nginx@sha256:"));
        assert_eq!(full_image("nginx:1.27"), "docker.io/library/nginx:1.27");
        assert_eq!(
            full_image("ghcr.io/the-bot/app:1.4.0"),
            "ghcr.io/the-bot/app:1.4.0"
        );
        assert_eq!(
            full_image("bitnami/redis"),
            "docker.io/bitnami/redis:latest"
        );
    }
}
