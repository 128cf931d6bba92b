//! Compose: the loader (compose files in, a typed and normalised
//! [`Project`] out, as the Compose Specification
//! (<https://compose-spec.io>) and compose-go, the loader of `docker
//! compose` v2, define it) and, in [`ops`], the project's verbs over the
//! engine. The loader is pure library code: no engine calls, and nothing
//! read from the process environment (the caller passes it in
//! [`LoadOptions`]).
//!
//! The pipeline, file by file: YAML (`yaml`, anchors and merge keys
//! resolved, positions kept) → interpolation (`interpolate`) → `include`
//! → `extends` → merge onto the previous files (`merge`), then the typed
//! conversion (`convert`, `service`) with compose's normalisation, and
//! the consistency checks (`validate`). `render` prints `config`.

mod convert;
mod dotenv;
mod extends;
mod include;
mod interpolate;
mod load;
mod merge;
mod model;
mod mounts;
mod render;
mod resources;
mod service;
mod syntax;
mod validate;
mod yaml;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

pub use load::{discover, load, LoadOptions, Loaded, DEFAULT_FILES, OVERRIDE_FILES};
pub use model::*;
pub use render::{config_hash, config_images, config_profiles, config_services, config_volumes, render_config};
pub use syntax::{format_duration, parse_duration, parse_size, shell_split};

/// Every document of a YAML stream as JSON values, plain scalars resolved
/// by the core schema (numbers, booleans, null): for readers of other YAML
/// than compose files (Kubernetes objects). Anchors and merge keys work.
pub fn yaml_documents(src: &str, file: &str) -> Result<Vec<serde_json::Value>, ComposeError> {
    Ok(yaml::parse(src, file)?.iter().map(convert::any).collect())
}

/// An env file's variables as compose reads them, `${VAR}` resolved
/// through `environment` (the project's interpolation variables).
pub fn env_file_values(
    content: &str,
    file: &std::path::Path,
    environment: &std::collections::BTreeMap<String, String>,
) -> Result<Vec<(String, String)>, ComposeError> {
    dotenv::parse(content, file, &|k| environment.get(k).cloned())
}

#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    /// A YAML syntax error.
    #[error("{file}: line {line}, column {col}: {msg}")]
    Yaml { file: String, line: usize, col: usize, msg: String },

    /// A value is wrong; `path` names it (`services.web.ports[0]`).
    #[error("{path}: {msg}")]
    Invalid { path: String, msg: String },

    #[error("cannot read {}: {}", path.display(), io_reason(source))]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{}", env_file_message(path, *line, msg))]
    EnvFile { path: PathBuf, line: usize, msg: String },

    #[error(
        "no configuration file provided: no compose.yaml, compose.yml, docker-compose.yml or docker-compose.yaml in {} or a parent directory: create one or pass -f",
        dir.display()
    )]
    NoConfigFile { dir: PathBuf },

    #[error("dependency cycle detected: {0}")]
    DependencyCycle(String),

    #[error("extends cycle detected: {0}: make one of these services stop extending the other")]
    ExtendsCycle(String),

    #[error("include cycle detected: {0}: remove one of these includes")]
    IncludeCycle(String),

    #[error(
        "invalid project name \"{0}\": use only lowercase letters, digits, '-' and '_', starting with a letter or digit"
    )]
    InvalidProjectName(String),

    #[error("project name must not be empty: pass -p or set name: in the compose file")]
    EmptyProjectName,

    #[error("no such service: {0}")]
    NoSuchService(String),
}

fn env_file_message(path: &std::path::Path, line: usize, msg: &str) -> String {
    match line {
        0 => format!("{}: {msg}", path.display()),
        n => format!("{}: line {n}: {msg}", path.display()),
    }
}

/// "no such file or directory" rather than "No such file or directory (os error 2)".
fn io_reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    let s = s.split(" (os error").next().unwrap_or(&s);
    let mut c = s.chars();
    c.next().map(|f| f.to_lowercase().chain(c).collect()).unwrap_or_default()
}

/// compose-go's `NormalizeProjectName`: lower case, only `[a-z0-9_-]`, and
/// no leading `_` or `-`.
pub fn normalize_project_name(s: &str) -> String {
    let kept: String = s
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_-".contains(*c))
        .collect();
    kept.trim_start_matches(['_', '-']).to_string()
}

/// A service's Nth container (1-based): `PROJECT-SERVICE-N`.
pub fn container_name(project: &str, service: &str, n: u32) -> String {
    format!("{project}-{service}-{n}")
}

/// The network services join when they name none: `PROJECT_default`.
pub fn default_network_name(project: &str) -> String {
    network_name(project, "default")
}

/// A project network's engine name when `name:` is not set: `PROJECT_KEY`.
pub fn network_name(project: &str, key: &str) -> String {
    format!("{project}_{key}")
}

/// A project volume's engine name when `name:` is not set: `PROJECT_KEY`.
pub fn volume_name(project: &str, key: &str) -> String {
    format!("{project}_{key}")
}

/// The image compose builds for a service without `image:`: `PROJECT-SERVICE`.
pub fn image_name(project: &str, service: &str) -> String {
    format!("{project}-{service}")
}
pub mod ops;
