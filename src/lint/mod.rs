//! `thebot lint`: renders like `thebot template`, then reports every
//! problem of the render at once (not only the first), each naming the
//! object, the field and the fix.
//!
//! The rules come in families, one module each, so that a rule is found by
//! what it checks:
//! - structure (`structure`): each template's output parses, every
//!   document is an object with apiVersion, kind and metadata.name, no
//!   object is rendered twice;
//! - schema (`schema`): built-in kinds deserialize strictly into their
//!   k8s-openapi types (unknown fields, wrong types);
//! - semantics the schema does not catch (`quantity`, `enums`,
//!   `names`, `duplicates`, `volumes`, `selectors`,
//!   `references`);
//! - policy (`hardening`, `production`, `network`, `credentials`,
//!   `images`): SPEC §3 and the defects of the replaced chart (SPEC §1b);
//! - missing required secrets (`secrets`): warnings, so that prod can be
//!   linted without its secrets (errors under `--strict`).
//!
//! The module is pure: it takes the bundle and the merged values and
//! returns a [`Report`]; reading files and printing belong to `ops::lint`.

mod credentials;
mod duplicates;
mod enums;
pub mod finding;
mod hardening;
mod images;
mod names;
mod network;
mod path;
mod pods;
mod production;
mod quantity;
mod references;
pub mod report;
mod schema;
mod secrets;
mod selectors;
mod structure;
mod volumes;

use serde_json::Value;

use crate::bundle::Bundle;
use crate::manifest::Object;
use crate::render::{self, Release};

pub use finding::{Finding, Severity};
pub use report::{Format, Report};

use finding::{Findings, Subject};
use pods::PodTemplate;

/// What the rules need beyond the render.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Apply SPEC §3's production rules (≥3 replicas, disruption budgets,
    /// anti-affinity across nodes).
    pub production: bool,
    /// Objects the render refers to but expects to exist already, as
    /// (kind, name): `secrets.existingSecret`. A reference to them is a
    /// note, not an error.
    pub external: Vec<(String, String)>,
    /// Warnings are errors.
    pub strict: bool,
}

/// The render as the rules see it.
pub(crate) struct Context<'a> {
    pub objects: &'a [Object],
    pub pods: Vec<PodTemplate<'a>>,
    pub options: &'a Options,
}

impl<'a> Context<'a> {
    fn new(objects: &'a [Object], options: &'a Options) -> Context<'a> {
        let pods = objects
            .iter()
            .enumerate()
            .filter_map(|(i, o)| PodTemplate::of(o, i))
            .collect();
        Context {
            objects,
            pods,
            options,
        }
    }

    /// Every object with its index and subject.
    pub fn each(&self) -> impl Iterator<Item = (&'a Object, Subject)> + '_ {
        self.objects
            .iter()
            .enumerate()
            .map(|(i, o)| (o, Subject::object(o, i)))
    }

    /// The rendered object of `kind` named `name` in `namespace`.
    pub fn find(&self, kind: &str, namespace: &str, name: &str) -> Option<&'a Object> {
        self.objects
            .iter()
            .find(|o| o.kind() == kind && o.namespace() == namespace && o.name() == name)
    }

    /// Whether `(kind, name)` is expected to exist outside the render.
    pub fn is_external(&self, kind: &str, name: &str) -> bool {
        self.options
            .external
            .iter()
            .any(|(k, n)| k == kind && n == name)
    }

    /// The pod templates of `namespace`.
    pub fn pods_in<'s>(&'s self, namespace: &'s str) -> impl Iterator<Item = &'s PodTemplate<'a>> {
        self.pods.iter().filter(move |p| p.namespace() == namespace)
    }
}

/// Lints the render of `values` (merged, before secrets are prepared) for
/// `release`.
pub fn lint(bundle: &Bundle, release: &Release, values: &Value, options: &Options) -> Report {
    let mut out = Findings::default();
    let values = secrets::prepare(values, &release.environment, &mut out);
    let objects = match render::render_templates(bundle, release, &values) {
        Ok(outputs) => {
            let mut objects = structure::parse(outputs, &mut out);
            render::postprocess::apply(&mut objects, release);
            crate::plan::sort(&mut objects);
            objects
        }
        Err(e) => {
            structure::render_failed(&e, &mut out);
            Vec::new()
        }
    };
    check(&objects, options, &mut out);
    Report::new(release, objects.len(), out.list, options.strict)
}

/// Lints objects already rendered (a recorded revision) for `release`.
pub fn lint_objects(objects: &[Object], release: &Release, options: &Options) -> Report {
    let mut out = Findings::default();
    check(objects, options, &mut out);
    Report::new(release, objects.len(), out.list, options.strict)
}

/// Runs every rule on rendered objects.
pub(crate) fn check(objects: &[Object], options: &Options, out: &mut Findings) {
    let ctx = Context::new(objects, options);
    structure::unique(&ctx, out);
    schema::check(&ctx, out);
    quantity::check(&ctx, out);
    enums::check(&ctx, out);
    names::check(&ctx, out);
    duplicates::check(&ctx, out);
    volumes::check(&ctx, out);
    selectors::check(&ctx, out);
    references::check(&ctx, out);
    hardening::check(&ctx, out);
    production::check(&ctx, out);
    network::check(&ctx, out);
    credentials::check(&ctx, out);
    images::check(&ctx, out);
}

#[cfg(test)]
pub(crate) mod testing {
    //! Runs the rules on hand-written objects.

    use serde_json::Value;

    use super::{Finding, Findings, Options, check};
    use crate::manifest::Object;

    pub fn lint_values(values: Vec<Value>, options: &Options) -> Vec<Finding> {
        let objects: Vec<Object> = values
            .into_iter()
            .map(|value| Object {
                source: "manifests/t.yaml".into(),
                value,
            })
            .collect();
        let mut out = Findings::default();
        check(&objects, options, &mut out);
        out.list
    }

    /// The (rule, object, path) of each finding.
    pub fn keys(findings: &[Finding]) -> Vec<(String, String, String)> {
        findings
            .iter()
            .map(|f| (f.rule.to_string(), f.object.clone(), f.path.clone()))
            .collect()
    }
}
