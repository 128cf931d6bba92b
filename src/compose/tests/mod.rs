//! Loader tests on real files in temporary directories.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::*;
use crate::testutil::TempDir;

mod checks;
mod loading;

fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, content).unwrap();
    p
}

fn opts(dir: &Path) -> LoadOptions {
    let environment: BTreeMap<String, String> = [("HOME".to_string(), "/home/u".to_string())].into();
    LoadOptions { working_dir: dir.to_path_buf(), environment, ..LoadOptions::default() }
}

fn with_env(mut o: LoadOptions, vars: &[(&str, &str)]) -> LoadOptions {
    o.environment.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    o
}

/// Loads `yaml` as `compose.yaml` of a fresh directory.
fn load_yaml(yaml: &str) -> Result<(Loaded, TempDir), ComposeError> {
    let t = TempDir::new("compose");
    write(&t.0, "compose.yaml", yaml);
    load(&opts(&t.0)).map(|l| (l, t))
}

fn err(yaml: &str) -> String {
    load_yaml(yaml).map(|_| ()).unwrap_err().to_string()
}

fn svc<'a>(l: &'a Loaded, name: &str) -> &'a Service {
    l.project.services.get(name).unwrap_or_else(|| panic!("no service {name}"))
}
