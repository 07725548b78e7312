//! The template environment: MiniJinja with strict undefined values, JSON
//! auto-escaping (every `{{ value }}` prints as a JSON value, which YAML
//! reads back with its type and content intact) and the platform's
//! functions (`name`, `labels`, `selector`, `image`, ...).
//!
//! # Caveats
//! Debug mode stays off: MiniJinja's debug report prints every variable of
//! the failing template, secrets included. Errors are formatted by
//! [`super::RenderError`] from the kind, line and failing expression only.

use std::sync::Arc;

use base64::Engine as _;
use minijinja::value::{Serde, Value as JValue};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, UndefinedBehavior};
use serde_json::Value;

use super::Release;

/// Names and labels derived from the release, shared by the functions.
struct Naming {
    release: Release,
    values: Value,
}

impl Naming {
    fn name(&self, component: &str) -> String {
        format!("{}-{}", self.release.name, component)
    }

    /// The image a component runs: postgresql, redis and frontend their
    /// own, the database's backup tools postgresql's; everything else the
    /// backend image.
    fn image_key(component: &str) -> &str {
        match component {
            "frontend" | "postgresql" | "redis" => component,
            // pg_dump and pg_restore run from the database's image.
            "backup" | "backups" | "restore" => "postgresql",
            _ => "backend",
        }
    }

    fn tag(&self, image: &str) -> Option<&str> {
        self.values
            .pointer(&format!("/images/{image}/tag"))
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
    }

    fn selector(&self, component: &str) -> Value {
        serde_json::json!({
            "app.kubernetes.io/name": "thebot",
            "app.kubernetes.io/instance": self.release.name,
            "app.kubernetes.io/component": component,
        })
    }

    fn labels(&self, component: &str) -> Value {
        let mut labels = self.selector(component);
        labels["app.kubernetes.io/managed-by"] = "thebot".into();
        let version = label_value(self.tag(Self::image_key(component)).unwrap_or("unknown"));
        labels["app.kubernetes.io/version"] = version.into();
        labels
    }

    fn image(&self, key: &str) -> Result<String, Error> {
        let image = self
            .values
            .pointer(&format!("/images/{key}"))
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidOperation,
                    format!(
                        "image `{key}` is not declared under `images` in releases/defaults.yaml"
                    ),
                )
            })?;
        let repository = image
            .get("repository")
            .and_then(Value::as_str)
            .unwrap_or("");
        let tag = self.tag(key).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidOperation,
                format!(
                    "`images.{key}.tag` is not set: pin a version with --set images.{key}.tag=X.Y.Z"
                ),
            )
        })?;
        let mut reference = format!("{repository}:{tag}");
        if let Some(digest) = image
            .get("digest")
            .and_then(Value::as_str)
            .filter(|d| !d.is_empty())
        {
            reference.push('@');
            reference.push_str(digest);
        }
        Ok(reference)
    }

    fn host(&self, enabled: &str, external: &str, component: &str) -> Result<String, Error> {
        let on = self
            .values
            .pointer(enabled)
            .and_then(Value::as_bool)
            .unwrap_or(true);
        if on {
            return Ok(self.name(component));
        }
        self.values
            .pointer(external)
            .and_then(Value::as_str)
            .filter(|h| !h.is_empty())
            .map(str::to_string)
            .ok_or_else(|| {
                let key = external.trim_start_matches('/').replace('/', ".");
                Error::new(
                    ErrorKind::InvalidOperation,
                    format!("`{key}` is required when {component} is disabled: --set {key}=HOST"),
                )
            })
    }
}

/// A label value: at most 63 characters of `[A-Za-z0-9._-]`, alphanumeric
/// at both ends.
fn label_value(raw: &str) -> String {
    let cleaned: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(63)
        .collect();
    cleaned
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string()
}

/// Percent-encodes everything but RFC 3986 unreserved characters, for the
/// user and password of a URL.
fn userinfo(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for b in raw.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn text_of(v: &JValue) -> String {
    match v.as_str() {
        Some(s) => s.to_string(),
        None if v.is_none() => String::new(),
        None => v.to_string(),
    }
}

/// Builds the environment for one render.
pub fn build(
    release: &Release,
    values: &Value,
    templates: &[(String, String)],
) -> Result<Environment<'static>, Error> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_debug(false);
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()?,
    );
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".txt") {
            AutoEscape::None
        } else {
            AutoEscape::Json
        }
    });
    let naming = Arc::new(Naming {
        release: release.clone(),
        values: values.clone(),
    });
    env.add_global("values", JValue::from(Serde(values)));
    env.add_global("release", JValue::from(Serde(release)));

    let n = naming.clone();
    env.add_function("name", move |c: &str| n.name(c));
    let n = naming.clone();
    env.add_function("labels", move |c: &str| JValue::from(Serde(n.labels(c))));
    let n = naming.clone();
    env.add_function("selector", move |c: &str| {
        JValue::from(Serde(n.selector(c)))
    });
    let n = naming.clone();
    env.add_function("image", move |key: &str| n.image(key));
    let n = naming.clone();
    env.add_function("database_host", move || {
        n.host(
            "/postgresql/enabled",
            "/database/externalHost",
            "postgresql",
        )
    });
    let n = naming;
    env.add_function("redis_host", move || {
        n.host("/redis/enabled", "/redis/externalHost", "redis")
    });
    env.add_function("required", |v: JValue, key: &str| {
        if v.is_none() || v.is_undefined() || v.as_str().is_some_and(str::is_empty) {
            Err(Error::new(
                ErrorKind::InvalidOperation,
                format!(
                    "`{key}` is required: set it in the environment file or with --set {key}=..."
                ),
            ))
        } else {
            Ok(v)
        }
    });
    env.add_filter("b64", |v: JValue| {
        base64::engine::general_purpose::STANDARD.encode(text_of(&v))
    });
    env.add_filter("userinfo", |v: JValue| userinfo(&text_of(&v)));

    for (name, source) in templates {
        env.add_template_owned(name.clone(), source.clone())?;
    }
    Ok(env)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_escapes_reserved_characters() {
        assert_eq!(userinfo("p@ss:w/rd#1 %"), "p%40ss%3Aw%2Frd%231%20%25");
        assert_eq!(userinfo("plain-Text_1.~"), "plain-Text_1.~");
    }

    #[test]
    fn label_values_are_valid() {
        assert_eq!(label_value("1.4.0"), "1.4.0");
        assert_eq!(label_value("-v1+build-"), "v1_build");
        assert_eq!(label_value(&"a".repeat(80)).len(), 63);
    }
}
