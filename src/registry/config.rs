//! Registry settings, read from `CONFIG/registries.json` in the keys of
//! Docker's daemon.json, so a user's Docker settings carry over unchanged:
//!
//! ```json
//! { "registry-mirrors": ["https://mirror.example.com"],
//!   "insecure-registries": ["registry.lan:5000"] }
//! ```
//!
//! CA files for a registry: `CONFIG/certs.d/HOST[:PORT]/*.crt` and
//! `/etc/docker/certs.d/HOST[:PORT]/*.crt`, as Docker reads them.

use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, Default, Clone, Deserialize)]
pub struct RegistryConfig {
    #[serde(rename = "registry-mirrors", default)]
    pub mirrors: Vec<String>,
    #[serde(rename = "insecure-registries", default)]
    pub insecure: Vec<String>,
    #[serde(skip)]
    config_dir: PathBuf,
}

impl RegistryConfig {
    pub fn load(config_dir: &Path) -> crate::Result<RegistryConfig> {
        let path = config_dir.join("registries.json");
        let mut cfg: RegistryConfig = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                crate::Error::InvalidArgument(format!("{} is not valid: {e}: fix or remove it", path.display()))
            })?,
            Err(_) => RegistryConfig::default(),
        };
        cfg.config_dir = config_dir.to_path_buf();
        Ok(cfg)
    }

    /// Configured as insecure: by host[:port], or by a CIDR-less IP prefix.
    pub fn is_insecure(&self, host: &str) -> bool {
        self.insecure.iter().any(|i| {
            let i = i.trim_start_matches("http://").trim_start_matches("https://").trim_end_matches('/');
            i == host || host.split(':').next() == Some(i)
        })
    }

    /// Mirrors apply to Docker Hub only, as in Docker.
    pub fn mirrors_for(&self, registry: &str) -> Vec<String> {
        if registry != "docker.io" {
            return Vec::new();
        }
        self.mirrors
            .iter()
            .map(|m| {
                let m = m.trim_end_matches('/');
                m.split_once("://").map(|(_, h)| h).unwrap_or(m).to_string()
            })
            .collect()
    }

    pub fn ca_files(&self, host: &str) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for base in [self.config_dir.join("certs.d"), PathBuf::from("/etc/docker/certs.d")] {
            let Ok(rd) = std::fs::read_dir(base.join(host)) else { continue };
            let mut v: Vec<PathBuf> =
                rd.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "crt")).collect();
            v.sort();
            out.extend(v);
        }
        out
    }
}
