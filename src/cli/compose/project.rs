//! Which project a compose command works on: the files loaded with this
//! process's environment and directory, or, for the commands that only
//! act on what exists (`down`, `ps`, `logs`, …), the containers labelled
//! with `-p NAME` when there are no files, as compose v2 does.

use std::collections::BTreeMap;

use super::{warn, Globals};
use crate::compose::ops::{self, labels};
use crate::compose::{self, ComposeError, LoadOptions, Project, Service};
use crate::engine::Engine;

impl Globals {
    pub(super) fn load_options(&self) -> anyhow::Result<LoadOptions> {
        let stdin = if self.files.iter().any(|f| f.as_os_str() == "-") {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)?;
            Some(s)
        } else {
            None
        };
        let project_name = match &self.project_name {
            Some(n) => {
                let norm = compose::normalize_project_name(n);
                if norm != *n || n.is_empty() {
                    return Err(ComposeError::InvalidProjectName(n.clone()).into());
                }
                Some(n.clone())
            }
            None => None,
        };
        Ok(LoadOptions {
            files: self.files.clone(),
            project_directory: self.project_directory.clone(),
            project_name,
            env_files: self.env_files.clone(),
            profiles: self.profiles.clone(),
            environment: std::env::vars().collect(),
            working_dir: std::env::current_dir()?,
            stdin,
        })
    }

    /// The project: loaded from its files, or (`files_optional` and `-p`
    /// or COMPOSE_PROJECT_NAME given, no file found) rebuilt from the
    /// labels of its containers.
    pub(super) fn project(&self, engine: &Engine, needs_files: bool) -> anyhow::Result<Project> {
        let opts = self.load_options()?;
        match compose::load(&opts) {
            Ok(l) => {
                for w in &l.warnings {
                    warn(w);
                }
                Ok(l.project)
            }
            Err(ComposeError::NoConfigFile { .. }) if !needs_files && self.files.is_empty() => {
                let name = opts
                    .project_name
                    .clone()
                    .or_else(|| opts.environment.get("COMPOSE_PROJECT_NAME").cloned())
                    .filter(|n| !n.is_empty());
                match name {
                    Some(n) => from_labels(engine, &n),
                    None => Err(compose::load(&opts).unwrap_err().into()),
                }
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// A project as its containers describe it: each service with its name
/// only, enough to find, stop, list and remove what exists.
fn from_labels(engine: &Engine, name: &str) -> anyhow::Result<Project> {
    let mut services = BTreeMap::new();
    let mut working_dir = std::path::PathBuf::new();
    for c in ops::project_containers(engine, name, true)? {
        let s = ops::label(&c, labels::SERVICE).to_string();
        working_dir = ops::label(&c, labels::WORKING_DIR).into();
        services.entry(s.clone()).or_insert_with(|| Service { name: s, ..Default::default() });
    }
    Ok(Project { name: name.to_string(), services, working_dir, ..Default::default() })
}
