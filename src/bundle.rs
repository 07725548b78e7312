//! The platform's templates and environment files: built into the binary,
//! or read from directories (`--manifests DIR`, `--releases DIR`).

use std::path::Path;

/// One named text file of the bundle.
#[derive(Debug, Clone)]
pub struct File {
    /// The file name (`backend.yaml`).
    pub name: String,
    pub text: String,
}

/// Templates (`manifests/`) and values files (`releases/`).
#[derive(Debug, Clone)]
pub struct Bundle {
    /// How messages name the templates' directory (`manifests`).
    pub manifests_dir: String,
    /// How messages name the values directory (`releases`).
    pub releases_dir: String,
    pub manifests: Vec<File>,
    pub releases: Vec<File>,
}

macro_rules! embed {
    ($dir:literal: $($name:literal),* $(,)?) => {
        vec![$(File { name: $name.to_string(), text: include_str!(concat!("../", $dir, "/", $name)).to_string() }),*]
    };
}

/// The environment file that holds the shared defaults and the schema.
pub const DEFAULTS_FILE: &str = "defaults.yaml";

/// The type of every value the defaults declare (see `values::types`).
pub const TYPES_FILE: &str = "types.yaml";

#[derive(Debug, thiserror::Error)]
#[error("cannot read {path}: {source}")]
pub struct BundleError {
    pub path: String,
    #[source]
    pub source: std::io::Error,
}

impl Bundle {
    /// The bundle compiled into this binary.
    pub fn embedded() -> Bundle {
        Bundle {
            manifests_dir: "manifests".into(),
            releases_dir: "releases".into(),
            manifests: embed!("manifests": "_helpers.tpl", "NOTES.txt", "backend.yaml", "backup.yaml", "celery.yaml",
                "config.yaml", "frontend.yaml", "ingress.yaml", "jobs.yaml", "monitoring.yaml",
                "network.yaml", "postgresql.yaml", "redis.yaml", "storage.yaml"),
            releases: embed!("releases": "defaults.yaml", "types.yaml", "dev.yaml", "staging.yaml",
                "prod.yaml", "prod-secrets.example.yaml"),
        }
    }

    /// Replaces the templates and/or values files with a directory's files.
    pub fn with_dirs(
        mut self,
        manifests: Option<&Path>,
        releases: Option<&Path>,
    ) -> Result<Bundle, BundleError> {
        if let Some(dir) = manifests {
            self.manifests = read_dir(dir)?;
            self.manifests_dir = dir.display().to_string();
        }
        if let Some(dir) = releases {
            self.releases = read_dir(dir)?;
            self.releases_dir = dir.display().to_string();
        }
        Ok(self)
    }

    /// A values file by name.
    pub fn release_file(&self, name: &str) -> Option<&File> {
        self.releases.iter().find(|f| f.name == name)
    }

    /// The environments: every `releases/<env>.yaml` but the defaults, the
    /// types and examples/secrets files.
    pub fn environments(&self) -> Vec<String> {
        let mut envs: Vec<String> = self
            .releases
            .iter()
            .filter_map(|f| f.name.strip_suffix(".yaml"))
            .filter(|n| {
                *n != "defaults" && *n != "types" && !n.contains("example") && !n.contains("secret")
            })
            .map(str::to_string)
            .collect();
        envs.sort();
        envs
    }
}

fn read_dir(dir: &Path) -> Result<Vec<File>, BundleError> {
    let err = |source| BundleError {
        path: dir.display().to_string(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(err)? {
        let entry = entry.map_err(err)?;
        let path = entry.path();
        if !path.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(|source| BundleError {
            path: path.display().to_string(),
            source,
        })?;
        files.push(File {
            name: entry.file_name().to_string_lossy().into_owned(),
            text,
        });
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file of manifests/ and releases/ must be compiled in: a file
    /// added on disk but not to `embedded()` would silently not render.
    #[test]
    fn embedded_bundle_matches_the_directories() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let disk = Bundle::embedded()
            .with_dirs(Some(&root.join("manifests")), Some(&root.join("releases")))
            .unwrap();
        let names = |files: &[File]| {
            let mut n: Vec<_> = files.iter().map(|f| f.name.clone()).collect();
            n.sort();
            n
        };
        let embedded = Bundle::embedded();
        assert_eq!(names(&embedded.manifests), names(&disk.manifests));
        assert_eq!(names(&embedded.releases), names(&disk.releases));
    }

    #[test]
    fn environments_exclude_defaults_types_and_examples() {
        assert_eq!(
            Bundle::embedded().environments(),
            ["dev", "prod", "staging"]
        );
    }
}
