//! The value types `releases/types.yaml` names (`count`, `port`,
//! `quantity`, `enum A|B`, ...): how each is written there, and what a
//! value of it must look like.
//!
//! A rule is a pure check of one value; it never sees the environment or
//! other values (those are [`super::cross`]'s). Messages say what the
//! value must be in words a user reads, and what it was, except for a
//! `secret`, whose value is never shown.

use serde_json::Value;

use super::quantity;

/// The type of one value.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// A whole number in `min..=max` (`count` is `0..`).
    Int {
        min: i64,
        max: Option<i64>,
    },
    /// A TCP port, 1–65535.
    Port,
    /// A Kubernetes quantity ≥ 0 (CPU, memory, storage).
    Quantity,
    Bool,
    /// One of the listed strings, exactly (case counts, as in Kubernetes).
    Enum(Vec<String>),
    /// An RFC 1123 host name, lower case; `wildcard` allows a leading `*.`.
    Host {
        wildcard: bool,
    },
    /// An RFC 1123 label of at most `max` characters; `letter_first` makes
    /// it an RFC 1035 label (release names).
    Label {
        max: usize,
        letter_first: bool,
    },
    /// An RFC 1123 subdomain (object names such as a Secret's).
    Subdomain,
    /// An image repository, without tag or digest.
    Image,
    /// An image tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
    Tag,
    /// `sha256:` and 64 lower-case hex digits.
    Digest,
    /// A URL path: starts with `/`, no space, `?` or `#`.
    UrlPath,
    /// A Prometheus duration (`30s`, `1m30s`).
    Duration,
    /// A Django REST framework rate (`100/minute`).
    Rate,
    /// A dotted Python module path (`thebot.settings.dev`).
    Module,
    /// Any text (a number counts: the templates render it as text).
    Text,
    /// Text (or a number, turned into text) never shown in a message.
    Secret,
    /// A list; of values of the rule when given.
    List(Option<Box<Rule>>),
    /// A map of text values (annotations, labels, node selectors).
    TextMap,
}

/// What a value of a rule must be, and what was given instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Relative path below the checked value (`[2]`, `["x.io/y"]`), often empty.
    pub below: String,
    /// `a whole number ≥ 0`.
    pub expected: String,
    /// `, not "abc"`, a hint, or (for secrets) nothing.
    pub detail: String,
}

impl Rule {
    /// Reads a rule as `releases/types.yaml` writes it.
    pub fn parse(text: &str) -> Result<Rule, String> {
        let text = text.trim();
        let (name, arg) = match text.split_once(' ') {
            Some((n, a)) => (n, a.trim()),
            None => (text, ""),
        };
        let no_arg = |r: Rule| {
            if arg.is_empty() {
                Ok(r)
            } else {
                Err(format!("`{name}` takes no argument, found `{arg}`"))
            }
        };
        match name {
            "count" => no_arg(Rule::Int { min: 0, max: None }),
            "int" => parse_range(arg),
            "port" => no_arg(Rule::Port),
            "quantity" => no_arg(Rule::Quantity),
            "bool" => no_arg(Rule::Bool),
            "enum" => {
                let items: Vec<String> = arg.split('|').map(|s| s.trim().to_string()).collect();
                if items.iter().any(String::is_empty) {
                    return Err("write `enum A|B|C`".into());
                }
                Ok(Rule::Enum(items))
            }
            "host" => no_arg(Rule::Host { wildcard: false }),
            "host-or-wildcard" => no_arg(Rule::Host { wildcard: true }),
            "label" | "release-name" => {
                let max = if arg.is_empty() {
                    63
                } else {
                    arg.parse()
                        .ok()
                        .filter(|m| (1..=63).contains(m))
                        .ok_or(format!("`{name}` takes a length from 1 to 63"))?
                };
                Ok(Rule::Label {
                    max,
                    letter_first: name == "release-name",
                })
            }
            "subdomain" => no_arg(Rule::Subdomain),
            "image" => no_arg(Rule::Image),
            "tag" => no_arg(Rule::Tag),
            "digest" => no_arg(Rule::Digest),
            "url-path" => no_arg(Rule::UrlPath),
            "duration" => no_arg(Rule::Duration),
            "rate" => no_arg(Rule::Rate),
            "module" => no_arg(Rule::Module),
            "text" => no_arg(Rule::Text),
            "secret" => no_arg(Rule::Secret),
            "text-map" => no_arg(Rule::TextMap),
            "list" if arg.is_empty() => Ok(Rule::List(None)),
            "list" => Ok(Rule::List(Some(Box::new(Rule::parse(arg)?)))),
            other => Err(format!(
                "unknown type `{other}`: the types are count, int MIN..MAX, port, quantity, bool, enum A|B, host, host-or-wildcard, label N, release-name N, subdomain, image, tag, digest, url-path, duration, rate, module, text, secret, text-map, list [TYPE]"
            )),
        }
    }

    /// What a value must be, as the end of `<key> must be ...`.
    pub fn expected(&self) -> String {
        match self {
            Rule::Int { min: 0, max: None } => "a whole number ≥ 0".into(),
            Rule::Int { min, max: None } => format!("a whole number ≥ {min}"),
            Rule::Int { min, max: Some(m) } => format!("a whole number from {min} to {m}"),
            Rule::Port => "a port number from 1 to 65535".into(),
            Rule::Quantity => {
                "a Kubernetes quantity ≥ 0 such as 250m, 1.5Gi or 2e3 (suffixes m, k, M, G, T, P, E or Ki, Mi, Gi, Ti, Pi, Ei)".into()
            }
            Rule::Bool => "true or false".into(),
            Rule::Enum(items) => format!("one of {}", items.join(", ")),
            Rule::Host { wildcard: false } => {
                "a lower-case DNS host name (RFC 1123) such as thebot.example.com".into()
            }
            Rule::Host { wildcard: true } => {
                "a lower-case DNS host name (RFC 1123) such as thebot.example.com, optionally starting with `*.`".into()
            }
            Rule::Label {
                max,
                letter_first: true,
            } => format!(
                "a DNS label (RFC 1035) of at most {max} characters: lower-case letters, digits and `-`, starting with a letter and ending with a letter or digit"
            ),
            Rule::Label { max, .. } => format!(
                "a DNS label (RFC 1123) of at most {max} characters: lower-case letters, digits and `-`, starting and ending with a letter or digit"
            ),
            Rule::Subdomain => {
                "a Kubernetes object name (RFC 1123 subdomain): lower-case letters, digits, `-` and `.`, at most 253 characters".into()
            }
            Rule::Image => {
                "an image repository such as ghcr.io/the-bot/thebot-backend, without tag or digest".into()
            }
            Rule::Tag => {
                "an image tag: letters, digits, `_`, `.` and `-`, not starting with `.` or `-`, at most 128 characters".into()
            }
            Rule::Digest => "a digest: sha256: and 64 lower-case hex digits".into(),
            Rule::UrlPath => "a URL path starting with `/` (no spaces, `?` or `#`)".into(),
            Rule::Duration => "a duration such as 30s, 1m or 1h30m (units ms, s, m, h, d, w, y)".into(),
            Rule::Rate => {
                "a rate such as 100/minute (a whole number per second, minute, hour or day)".into()
            }
            Rule::Module => "a dotted Python module path such as thebot.settings".into(),
            Rule::Text | Rule::Secret => "text".into(),
            Rule::List(None) => "a list".into(),
            Rule::List(Some(r)) => format!("a list, each item {}", r.expected()),
            Rule::TextMap => "a map of text values".into(),
        }
    }

    /// Whether the value's content may be shown in a message.
    pub fn is_secret(&self) -> bool {
        matches!(self, Rule::Secret)
    }

    /// Checks one (non-null) value.
    pub fn check(&self, value: &Value) -> Result<(), Refusal> {
        match (self, value) {
            (Rule::List(item), Value::Array(items)) => {
                let Some(rule) = item else { return Ok(()) };
                for (i, v) in items.iter().enumerate() {
                    if let Err(r) = rule.check(v) {
                        return Err(Refusal {
                            below: format!("[{i}]{}", r.below),
                            ..r
                        });
                    }
                }
                Ok(())
            }
            (Rule::TextMap, Value::Object(m)) => {
                for (k, v) in m {
                    if !v.is_string() {
                        return Err(Refusal {
                            below: match crate::yaml::load::join_path("", k) {
                                quoted if quoted.starts_with('[') => quoted,
                                plain => format!(".{plain}"),
                            },
                            expected: "text".into(),
                            detail: not(v) + QUOTE_HINT,
                        });
                    }
                }
                Ok(())
            }
            _ if self.accepts(value) => Ok(()),
            _ => Err(Refusal {
                below: String::new(),
                expected: self.expected(),
                detail: if self.is_secret() {
                    String::new()
                } else {
                    not(value) + &self.hint(value)
                },
            }),
        }
    }

    fn accepts(&self, value: &Value) -> bool {
        let text = value.as_str();
        match self {
            Rule::Int { min, max } => value
                .as_i64()
                .is_some_and(|i| i >= *min && max.is_none_or(|m| i <= m)),
            Rule::Port => value.as_i64().is_some_and(|p| (1..=65535).contains(&p)),
            Rule::Quantity => quantity::amount(value).is_some(),
            Rule::Bool => value.is_boolean(),
            Rule::Enum(items) => text.is_some_and(|t| items.iter().any(|i| i == t)),
            Rule::Host { wildcard } => text.is_some_and(|t| is_host(t, *wildcard)),
            Rule::Label { max, letter_first } => text.is_some_and(|t| {
                is_label(t, *max)
                    && (!letter_first || t.starts_with(|c: char| c.is_ascii_lowercase()))
            }),
            Rule::Subdomain => {
                text.is_some_and(|t| t.len() <= 253 && t.split('.').all(|l| is_label(l, 63)))
            }
            Rule::Image => text.is_some_and(is_repository),
            // A whole number is a tag too (`--set images.x.tag=2`).
            Rule::Tag => match value {
                Value::Number(n) if n.is_u64() => true,
                _ => text.is_some_and(is_tag),
            },
            Rule::Digest => text.is_some_and(is_digest),
            Rule::UrlPath => text.is_some_and(|t| {
                t.starts_with('/')
                    && !t.contains(|c: char| c.is_whitespace() || c == '?' || c == '#')
            }),
            Rule::Duration => text.is_some_and(is_duration),
            Rule::Rate => text.is_some_and(is_rate),
            Rule::Module => text.is_some_and(|t| {
                t.split('.').all(|p| {
                    p.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                        && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                })
            }),
            // A number is text too: the templates render these as text
            // (`--set app.apiRateLimit=12345` gives "12345").
            Rule::Text => value.is_string() || value.is_number(),
            // render::secrets turns a number into text.
            Rule::Secret => value.is_string() || value.is_number(),
            Rule::List(_) => value.is_array(),
            Rule::TextMap => value.is_object(),
        }
    }

    /// A hint for the likely mistake: the right value in the wrong YAML type.
    fn hint(&self, value: &Value) -> String {
        let wants_number = matches!(self, Rule::Int { .. } | Rule::Port);
        match value {
            Value::String(s) if wants_number && s.trim().parse::<i64>().is_ok() => {
                " (write it unquoted; --set-string always gives text, use --set)".into()
            }
            Value::String(s) if *self == Rule::Bool && s.parse::<bool>().is_ok() => {
                " (write it unquoted; --set-string always gives text, use --set)".into()
            }
            Value::Number(_) | Value::Bool(_)
                if self.accepts(&Value::String(value.to_string())) =>
            {
                QUOTE_HINT.into()
            }
            Value::String(s) if *self == Rule::Quantity && s.starts_with('-') => {
                " (a negative amount)".into()
            }
            Value::String(s) if matches!(self, Rule::Enum(_)) => match self {
                Rule::Enum(items) => items
                    .iter()
                    .find(|i| i.eq_ignore_ascii_case(s))
                    .map(|i| format!(" (did you mean {i}?)"))
                    .unwrap_or_default(),
                _ => String::new(),
            },
            Value::String(s)
                if matches!(self, Rule::Host { .. }) && is_host(&s.to_lowercase(), true) =>
            {
                " (host names are lower case)".into()
            }
            _ => String::new(),
        }
    }
}

const QUOTE_HINT: &str = " (quote it in YAML, or use --set-string)";

/// `, not "abc"` / `, not a list`: what was given, for a message.
fn not(value: &Value) -> String {
    match value {
        Value::Null => ", not unset".into(),
        Value::String(s) if s.chars().count() > 60 => {
            let head: String = s.chars().take(40).collect();
            let head = serde_json::to_string(&head).unwrap_or_default();
            format!(", not the text {head}… ({} characters)", s.chars().count())
        }
        Value::String(s) => format!(
            ", not the text {}",
            serde_json::to_string(s).unwrap_or_default()
        ),
        Value::Number(n) => format!(", not the number {n}"),
        Value::Bool(b) => format!(", not {b}"),
        Value::Array(_) => ", not a list".into(),
        Value::Object(_) => ", not a map".into(),
    }
}

fn parse_range(arg: &str) -> Result<Rule, String> {
    let bad = || format!("write `int MIN..MAX` or `int MIN..`, found `int {arg}`");
    let (min, max) = arg.split_once("..").ok_or_else(bad)?;
    let min = min.trim().parse().map_err(|_| bad())?;
    let max = match max.trim() {
        "" => None,
        m => Some(m.parse().map_err(|_| bad())?),
    };
    if max.is_some_and(|m| m < min) {
        return Err(bad());
    }
    Ok(Rule::Int { min, max })
}

/// RFC 1123 label: `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most `max` long.
fn is_label(s: &str, max: usize) -> bool {
    let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    !s.is_empty()
        && s.len() <= max
        && s.starts_with(ok)
        && s.ends_with(ok)
        && s.chars().all(|c| ok(c) || c == '-')
}

/// A host name as an Ingress rule takes it: RFC 1123 labels, at most 253
/// characters, and with `wildcard` one leading `*.` (a single label).
pub fn is_host(s: &str, wildcard: bool) -> bool {
    let name = match s.strip_prefix("*.") {
        Some(rest) if wildcard => rest,
        _ => s,
    };
    name.len() <= 253 && name.split('.').all(|l| is_label(l, 63))
}

/// `[host[:port]/]path`, each path component `[a-z0-9]+([._-]+[a-z0-9]+)*`
/// (the distribution reference grammar, without tag or digest).
fn is_repository(s: &str) -> bool {
    let mut parts: Vec<&str> = s.split('/').collect();
    if parts.len() > 1 {
        let first = parts[0];
        let is_registry = first.contains(['.', ':']) || first == "localhost";
        if is_registry {
            let (host, port) = match first.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (first, None),
            };
            let host_ok = host.split('.').all(|l| {
                !l.is_empty()
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            });
            let port_ok =
                port.is_none_or(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
            if !host_ok || !port_ok {
                return false;
            }
            parts.remove(0);
        }
    }
    s.len() <= 255 && parts.iter().all(|p| is_path_component(p))
}

fn is_path_component(p: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !p.starts_with(alnum) || !p.ends_with(alnum) {
        return false;
    }
    // Between alphanumeric runs: `.`, `_`, `__`, or any run of `-`.
    p.split(alnum)
        .filter(|sep| !sep.is_empty())
        .all(|sep| matches!(sep, "." | "_" | "__") || sep.chars().all(|c| c == '-'))
}

fn is_tag(s: &str) -> bool {
    let first_ok = |c: char| c.is_ascii_alphanumeric() || c == '_';
    !s.is_empty()
        && s.len() <= 128
        && s.starts_with(first_ok)
        && s.chars().all(|c| first_ok(c) || c == '.' || c == '-')
}

fn is_digest(s: &str) -> bool {
    s.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// Prometheus: `((\d+)(y|w|d|h|m|s|ms))+`, units largest first.
fn is_duration(s: &str) -> bool {
    const UNITS: [&str; 7] = ["y", "w", "d", "h", "m", "s", "ms"];
    let mut rest = s;
    let mut last = None;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return false;
        }
        rest = &rest[digits..];
        let unit = if rest.starts_with("ms") {
            "ms"
        } else {
            match rest.chars().next() {
                Some(c) if "ywdhms".contains(c) => &rest[..1],
                _ => return false,
            }
        };
        let rank = UNITS.iter().position(|u| *u == unit).unwrap_or(0);
        if last.is_some_and(|l| rank <= l) {
            return false;
        }
        last = Some(rank);
        rest = &rest[unit.len()..];
    }
    true
}

/// Django REST framework: `<n>/<period>`, the period read by its first
/// letter; the spelled-out forms are what its documentation uses.
fn is_rate(s: &str) -> bool {
    s.split_once('/').is_some_and(|(n, period)| {
        !n.is_empty()
            && n.chars().all(|c| c.is_ascii_digit())
            && [
                "s", "sec", "second", "m", "min", "minute", "h", "hour", "d", "day",
            ]
            .contains(&period)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(text: &str) -> Rule {
        Rule::parse(text).unwrap()
    }

    fn ok(r: &str, good: &[Value], bad: &[Value]) {
        let r = rule(r);
        for v in good {
            assert!(r.check(v).is_ok(), "{r:?} refused {v}");
        }
        for v in bad {
            assert!(r.check(v).is_err(), "{r:?} accepted {v}");
        }
    }

    #[test]
    fn whole_numbers_and_ranges() {
        ok(
            "count",
            &[json!(0), json!(3)],
            &[json!(-3), json!("3"), json!("abc"), json!(1.5), json!(true)],
        );
        ok("int 1..", &[json!(1)], &[json!(0)]);
        ok("int 0..1", &[json!(0), json!(1)], &[json!(2), json!(-1)]);
        ok(
            "port",
            &[json!(1), json!(65535)],
            &[json!(0), json!(65536), json!("80")],
        );
        assert!(Rule::parse("int 5..1").is_err());
        assert!(Rule::parse("int x..").is_err());
    }

    #[test]
    fn quantities() {
        ok(
            "quantity",
            &[
                json!("100m"),
                json!("1.5Gi"),
                json!("2e3"),
                json!(1),
                json!(0.5),
            ],
            &[
                json!("12XB"),
                json!("-1"),
                json!(-1),
                json!("1Gb"),
                json!(true),
            ],
        );
    }

    #[test]
    fn booleans_and_enums_are_exact() {
        ok(
            "bool",
            &[json!(true), json!(false)],
            &[json!("true"), json!(1)],
        );
        ok(
            "enum Always|IfNotPresent|Never",
            &[json!("Always"), json!("Never")],
            &[json!("always"), json!("Sometimes"), json!(1)],
        );
        let err = rule("enum Always|IfNotPresent").check(&json!("ifnotpresent"));
        assert!(
            err.unwrap_err()
                .detail
                .ends_with("(did you mean IfNotPresent?)")
        );
    }

    #[test]
    fn host_names() {
        ok(
            "host",
            &[json!("thebot.example.com"), json!("db"), json!("a-1.b")],
            &[
                json!("Thebot.example.com"),
                json!("*.example.com"),
                json!("a_b.com"),
                json!("-a.com"),
                json!("a..com"),
                json!(""),
                json!(format!("{}.com", "a".repeat(64))),
            ],
        );
        ok(
            "host-or-wildcard",
            &[json!("*.example.com"), json!("example.com")],
            &[json!("a.*.com"), json!("*"), json!("**.a.com")],
        );
    }

    #[test]
    fn labels_and_object_names() {
        ok(
            "release-name 40",
            &[json!("thebot-dev")],
            &[json!("1abc"), json!("a".repeat(41)), json!("Ab")],
        );
        ok(
            "label 63",
            &[json!("1abc"), json!("thebot-prod")],
            &[json!("a."), json!("a-")],
        );
        ok(
            "subdomain",
            &[json!("thebot-tls"), json!("a.b")],
            &[json!("A"), json!("a_b")],
        );
    }

    #[test]
    fn image_references() {
        ok(
            "image",
            &[
                json!("ghcr.io/the-bot/thebot-backend"),
                json!("docker.io/library/postgres"),
                json!("localhost:5000/x"),
                json!("redis"),
                json!("my_org/a__b.c-d"),
            ],
            &[
                json!("ghcr.io/the-bot/thebot-backend:1.4.0"),
                json!("Ghcr.io/X"),
                json!("a//b"),
                json!("a/b@sha256:00"),
                json!("a/-b"),
                json!("a/b___c"),
                json!(""),
            ],
        );
        ok(
            "tag",
            &[
                json!("1.4.0"),
                json!("_x"),
                json!("v1.2-rc.1"),
                json!(2),
                json!("latest"),
            ],
            &[
                json!(".x"),
                json!("-x"),
                json!("a:b"),
                json!("a".repeat(129)),
                json!(""),
                json!(1.5),
            ],
        );
        let hex = "ab".repeat(32);
        ok(
            "digest",
            &[json!(format!("sha256:{hex}"))],
            &[
                json!(format!("sha256:{}", "AB".repeat(32))),
                json!("sha256:abc"),
                json!(hex),
            ],
        );
    }

    #[test]
    fn paths_durations_rates_modules() {
        ok(
            "url-path",
            &[json!("/"), json!("/api/v1")],
            &[json!("api"), json!("/a b"), json!("/a?x")],
        );
        ok(
            "duration",
            &[json!("30s"), json!("1h30m"), json!("500ms")],
            &[json!("30"), json!("1m1h"), json!("s"), json!("")],
        );
        ok(
            "rate",
            &[json!("100/minute"), json!("5/s")],
            &[json!("100"), json!("x/minute"), json!("1/week")],
        );
        ok(
            "module",
            &[json!("thebot.settings.dev")],
            &[json!("thebot..x"), json!("1a"), json!("")],
        );
    }

    #[test]
    fn text_secrets_lists_and_maps() {
        ok(
            "text",
            &[json!(""), json!("nginx"), json!(123)],
            &[json!(true), json!([])],
        );
        ok(
            "secret",
            &[json!("x"), json!(12345)],
            &[json!(true), json!(["x"])],
        );
        ok(
            "list url-path",
            &[json!([]), json!(["/a"])],
            &[json!(["/a", "b"]), json!("/a")],
        );
        ok(
            "text-map",
            &[json!({}), json!({"a": "b"})],
            &[json!({"a": 1}), json!([])],
        );
        let err = rule("list url-path")
            .check(&json!(["/a", "b"]))
            .unwrap_err();
        assert_eq!(err.below, "[1]");
        let err = rule("text-map").check(&json!({"x.io/y": 1})).unwrap_err();
        assert_eq!(err.below, "[\"x.io/y\"]");
    }

    #[test]
    fn a_long_value_is_shown_cut() {
        let err = rule("count").check(&json!("x".repeat(1000))).unwrap_err();
        assert_eq!(
            err.detail,
            format!(", not the text \"{}\"… (1000 characters)", "x".repeat(40))
        );
    }

    #[test]
    fn a_secret_refusal_shows_nothing_of_the_value() {
        let err = rule("secret")
            .check(&json!(["hunter2hunter2"]))
            .unwrap_err();
        assert_eq!(err.detail, "");
    }

    #[test]
    fn unknown_types_are_named() {
        let err = Rule::parse("cout").unwrap_err();
        assert!(err.starts_with("unknown type `cout`"), "{err}");
        assert!(Rule::parse("port 3").is_err());
    }
}
