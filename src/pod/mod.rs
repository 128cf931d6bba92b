//! Pods: groups of containers that share namespaces (network, IPC, UTS)
//! held by an infra container (podman's model). A pod's record is
//! `DATA/pods/ID/pod.json`; which containers belong to it is not stored
//! here but read from the containers' own records (`HostConfig.pod`), so
//! that a container created, removed or pruned by any front end can never
//! leave the pod's list stale.

use std::fs;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Error, IoContext, Result};
use crate::paths::Paths;
use crate::state::{self, Lock};

/// The namespaces a pod's containers may share (podman's `--share`).
pub const SHAREABLE: [&str; 3] = ["net", "ipc", "uts"];

/// Everything `pod create` decided.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PodConfig {
    pub id: String,
    pub name: String,
    /// RFC 3339 with nanoseconds.
    pub created: String,
    #[serde(default)]
    pub labels: serde_json::Map<String, serde_json::Value>,
    pub hostname: String,
    /// Shared namespaces, in `SHAREABLE`'s order (empty without infra).
    pub share: Vec<String>,
    /// The infra container's id ("" for a pod made with `--infra=false`).
    pub infra_id: String,
    /// What `pod create` was given for the pod's network, as the user said
    /// it (inspect shows it; the infra container carries it out).
    #[serde(default)]
    pub network: String,
    #[serde(default)]
    pub ports: Vec<String>,
    #[serde(default)]
    pub extra_hosts: Vec<String>,
    #[serde(default)]
    pub dns: Vec<String>,
}

impl PodConfig {
    pub fn shares(&self, ns: &str) -> bool {
        self.share.iter().any(|s| s == ns)
    }
}

pub struct PodStore {
    root: PathBuf,
}

impl PodStore {
    pub fn open(paths: &Paths) -> Result<PodStore> {
        let root = paths.data.join("pods");
        state::ensure_dir(&root)?;
        Ok(PodStore { root })
    }

    pub fn dir(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }

    /// The pods lock: names are claimed, and pods created or removed, under it.
    pub fn lock(&self) -> Result<Lock> {
        Lock::exclusive(&self.root.with_extension("lock"))
    }

    /// One pod's lock: its start/stop/rm and the creation of its members
    /// serialise (a container cannot join a pod being removed).
    pub fn lock_one(&self, id: &str) -> Result<Lock> {
        Lock::exclusive(&self.dir(id).join("lock"))
    }

    pub fn ids(&self) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(&self.root)
            .map(|rd| {
                rd.flatten()
                    .filter(|e| e.path().join("pod.json").exists())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    pub fn load(&self, id: &str) -> Result<PodConfig> {
        state::read_json(&self.dir(id).join("pod.json"))?.ok_or_else(|| Error::NoSuchPod(id.to_string()))
    }

    pub fn all(&self) -> Vec<PodConfig> {
        self.ids().iter().filter_map(|id| self.load(id).ok()).collect()
    }

    /// Docker-style lookup, as for containers: full id, exact name, then a
    /// unique id prefix.
    pub fn resolve(&self, arg: &str) -> Result<String> {
        let all = self.all();
        if let Some(p) = all.iter().find(|p| p.id == arg || p.name == arg) {
            return Ok(p.id.clone());
        }
        if crate::image::reference::is_hex(arg) {
            let m: Vec<&PodConfig> = all.iter().filter(|p| p.id.starts_with(arg)).collect();
            match m.len() {
                1 => return Ok(m[0].id.clone()),
                n if n > 1 => {
                    return Err(Error::InvalidArgument(format!(
                        "multiple pods match the prefix {arg}: give more characters or use the name"
                    )))
                }
                _ => {}
            }
        }
        Err(Error::NoSuchPod(arg.to_string()))
    }

    /// Claim the pod's name and write its record, under the pods lock.
    pub fn create_locked(&self, cfg: &PodConfig) -> Result<()> {
        let _lock = self.lock()?;
        if let Some(other) = self.all().into_iter().find(|p| p.name == cfg.name) {
            return Err(Error::PodNameInUse { name: cfg.name.clone(), id: other.id });
        }
        let dir = self.dir(&cfg.id);
        fs::create_dir_all(&dir).ctx(|| format!("create {}", dir.display()))?;
        self.write(cfg)
    }

    pub fn write(&self, cfg: &PodConfig) -> Result<()> {
        state::replace_json(&self.dir(&cfg.id).join("pod.json"), cfg)
    }

    /// Remove the record: pod.json first, so a half-removed pod is not a pod.
    pub fn remove(&self, id: &str) -> Result<()> {
        let dir = self.dir(id);
        let _ = fs::remove_file(dir.join("pod.json"));
        fs::remove_dir_all(&dir).ctx(|| format!("remove {}", dir.display()))
    }
}
