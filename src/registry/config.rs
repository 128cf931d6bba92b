//! Registry settings, read from `CONFIG/registries.json` in the keys of
//! Docker's daemon.json, so a user's Docker settings carry over unchanged:
//!
//! ```json
//! { "registry-mirrors": ["https://mirror.example.com"],
//!   "insecure-registries": ["registry.lan:5000"] }
//! ```
//!
//! Docker's own daemon.json is read too, where Docker keeps it
//! (`/etc/docker/daemon.json` as root, `$XDG_CONFIG_HOME/docker/daemon.json`
//! rootless, as rootless Docker reads it), so a host already set up for
//! Docker needs nothing more. rcon's file wins for every key it sets: it is
//! the more specific of the two.
//!
//! CA files for a registry: `CONFIG/certs.d/HOST[:PORT]/*.crt` and
//! `/etc/docker/certs.d/HOST[:PORT]/*.crt`, as Docker reads them.

use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, Default, Clone)]
pub struct RegistryConfig {
    pub mirrors: Vec<String>,
    pub insecure: Vec<String>,
    config_dir: PathBuf,
}

/// The keys of a daemon.json we honour; `None` where the file does not set
/// one, so that a key rcon's file sets replaces Docker's whole.
#[derive(Debug, Default, Deserialize)]
struct FileKeys {
    #[serde(rename = "registry-mirrors")]
    mirrors: Option<Vec<String>>,
    #[serde(rename = "insecure-registries")]
    insecure: Option<Vec<String>>,
}

fn read_keys(path: &Path) -> crate::Result<FileKeys> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            crate::Error::InvalidArgument(format!("{} is not valid: {e}: fix or remove it", path.display()))
        }),
        Err(_) => Ok(FileKeys::default()),
    }
}

/// Where Docker keeps daemon.json: `/etc/docker` for the system daemon,
/// `$XDG_CONFIG_HOME/docker` (`~/.config/docker`) for rootless Docker.
pub fn docker_daemon_json(rootless: bool) -> PathBuf {
    if !rootless {
        return PathBuf::from("/etc/docker/daemon.json");
    }
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    let config = env("XDG_CONFIG_HOME").or_else(|| env("HOME").map(|h| h.join(".config")));
    config.unwrap_or_else(|| PathBuf::from("/.config")).join("docker/daemon.json")
}

impl RegistryConfig {
    /// rcon's `registries.json` over Docker's `daemon.json`, key by key.
    pub fn load(config_dir: &Path, rootless: bool) -> crate::Result<RegistryConfig> {
        Self::load_from(config_dir, &docker_daemon_json(rootless))
    }

    fn load_from(config_dir: &Path, daemon_json: &Path) -> crate::Result<RegistryConfig> {
        let ours = read_keys(&config_dir.join("registries.json"))?;
        let docker = read_keys(daemon_json)?;
        Ok(RegistryConfig {
            mirrors: ours.mirrors.or(docker.mirrors).unwrap_or_default(),
            insecure: ours.insecure.or(docker.insecure).unwrap_or_default(),
            config_dir: config_dir.to_path_buf(),
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rcon_keys_win_docker_keys_fill_in() {
        let d = crate::testutil::TempDir::new("daemon-json");
        let ours = d.join("rcon");
        std::fs::create_dir(&ours).unwrap();
        let daemon = d.join("daemon.json");
        std::fs::write(
            &daemon,
            r#"{"registry-mirrors":["https://docker-mirror"],"insecure-registries":["lan:5000"],"log-driver":"json-file"}"#,
        )
        .unwrap();
        let c = RegistryConfig::load_from(&ours, &daemon).unwrap();
        assert_eq!(
            (c.mirrors.as_slice(), c.insecure.as_slice()),
            (&["https://docker-mirror".to_string()][..], &["lan:5000".to_string()][..])
        );
        std::fs::write(ours.join("registries.json"), r#"{"registry-mirrors":[]}"#).unwrap();
        let c = RegistryConfig::load_from(&ours, &daemon).unwrap();
        assert!(c.mirrors.is_empty(), "rcon's empty list replaces Docker's");
        assert_eq!(c.insecure, ["lan:5000"]);
        std::fs::write(&daemon, "{").unwrap();
        let e = RegistryConfig::load_from(&ours, &daemon).unwrap_err().to_string();
        assert!(e.contains("daemon.json is not valid") && e.contains("fix or remove it"), "{e}");
    }

    #[test]
    fn daemon_json_where_docker_keeps_it() {
        assert_eq!(docker_daemon_json(false), Path::new("/etc/docker/daemon.json"));
        assert!(docker_daemon_json(true).ends_with("docker/daemon.json"));
    }
}
