//! Faults chosen by image tag (shared/CONVENTIONS.md, kubesim): the tag
//! (after the last `:` of the last path segment) containing `crashloop`,
//! `pullfail`, `jobfail`, `hang`, `slow-<s>` or `exit-<n>`.

/// How a container behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Starts, and is ready after `ready_after` virtual seconds.
    Healthy { ready_after: u32 },
    /// Runs a second, exits 1, is restarted with back-off.
    CrashLoop,
    /// The image cannot be pulled.
    PullFail,
    /// Runs and never becomes ready or finishes.
    Hang,
    /// Runs about 2 s and exits with this code.
    Exit(i32),
}

/// The tag of an image reference (`""` when there is none).
pub fn tag(image: &str) -> &str {
    let last = image.rsplit('/').next().unwrap_or(image);
    let last = last.split('@').next().unwrap_or(last);
    last.rsplit_once(':').map_or("", |(_, t)| t)
}

pub fn of(image: &str) -> Fault {
    let t = tag(image);
    if t.contains("crashloop") {
        return Fault::CrashLoop;
    }
    if t.contains("pullfail") {
        return Fault::PullFail;
    }
    if t.contains("jobfail") {
        return Fault::Exit(1);
    }
    if t.contains("hang") {
        return Fault::Hang;
    }
    if let Some(n) = number_after(t, "exit-") {
        return Fault::Exit(n as i32);
    }
    if let Some(s) = number_after(t, "slow-") {
        return Fault::Healthy {
            ready_after: (s as u32).max(1),
        };
    }
    Fault::Healthy { ready_after: 1 }
}

fn number_after(tag: &str, prefix: &str) -> Option<i64> {
    let i = tag.find(prefix)?;
    let digits: String = tag[i + prefix.len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_by_tag() {
        assert_eq!(of("nginx:1.27"), Fault::Healthy { ready_after: 1 });
        assert_eq!(of("nginx:crashloop"), Fault::CrashLoop);
        assert_eq!(of("reg.example:5000/app:v1-pullfail"), Fault::PullFail);
        assert_eq!(of("busybox:jobfail"), Fault::Exit(1));
        assert_eq!(of("busybox:exit-3"), Fault::Exit(3));
        assert_eq!(of("busybox:hang"), Fault::Hang);
        assert_eq!(of("app:slow-30"), Fault::Healthy { ready_after: 30 });
        assert_eq!(
            of("reg.example:5000/crashloop/app"),
            Fault::Healthy { ready_after: 1 }
        );
        assert_eq!(tag("a/b:c@sha256:x"), "c");
    }
}
