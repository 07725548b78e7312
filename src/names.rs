//! Kubernetes name syntax, shared by release-name checks and lint.

/// Lowercase alphanumerics and `-`, alphanumeric at both ends, at most `max`.
pub fn dns1123_label(s: &str, max: usize) -> Result<(), String> {
    if s.is_empty() {
        return Err("it is empty".into());
    }
    if s.len() > max {
        return Err(format!(
            "it has {} characters, at most {max} are allowed",
            s.len()
        ));
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err("use only lowercase letters, digits and '-'".into());
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Err("it must start and end with a letter or digit".into());
    }
    Ok(())
}

/// A DNS-1123 label that starts with a letter.
pub fn dns1035_label(s: &str, max: usize) -> Result<(), String> {
    dns1123_label(s, max)?;
    if !s.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err("it must start with a lowercase letter (DNS-1035 label)".into());
    }
    Ok(())
}
