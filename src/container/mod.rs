//! Containers on disk: one directory per container with its immutable
//! configuration and its mutable state, both JSON written atomically.
//!
//! ```text
//! DATA/containers/ID/container.json   what `create` decided (image, command, flags)
//! DATA/containers/ID/state.json       status, pids, exit code, times (the monitor writes it)
//! DATA/containers/ID/upper, work      the overlay's writable layer
//! DATA/containers/ID/merged           mount point (mounted only inside the container's mount ns)
//! DATA/containers/ID/userdata/        hosts, hostname, resolv.conf bind-mounted into the container
//! DATA/containers/ID/ctr.log          the log file
//! DATA/containers.lock                held while names are checked, set or freed
//! RUN/containers/ID/                  runtime files (attach socket)
//! ```
//!
//! A state says "running" only while its monitor lives: readers check the
//! monitor's pid and start time, so a monitor killed with SIGKILL is noticed
//! (and its container, which dies with it through PDEATHSIG, shown exited).

use std::fs;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Error, IoContext, Result};
use crate::paths::Paths;
use crate::state::{self, Lock};

pub mod attach;
pub mod health;
pub mod names;
pub mod resources;
pub mod restart;
pub mod spec;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Mount {
    /// bind, tmpfs or volume.
    pub kind: String,
    pub source: String,
    pub target: String,
    pub readonly: bool,
    #[serde(default)]
    pub options: Vec<String>,
}

/// Everything `create` decided. Field names follow Docker's Config/HostConfig.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ContainerConfig {
    pub id: String,
    pub name: String,
    /// RFC 3339 with nanoseconds.
    pub created: String,
    /// Image id (`sha256:…`) and the name the user gave.
    pub image: String,
    pub image_name: String,
    /// DiffIDs of the image's layers, lowest first.
    pub layers: Vec<String>,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub working_dir: String,
    pub user: String,
    pub hostname: String,
    pub labels: serde_json::Map<String, serde_json::Value>,
    pub tty: bool,
    pub open_stdin: bool,
    pub stop_signal: String,
    pub stop_timeout: Option<i64>,
    pub exposed_ports: serde_json::Map<String, serde_json::Value>,
    /// Mount driver chosen at create: "overlay", or "vfs" (a flattened copy
    /// in DATA/containers/ID/rootfs).
    #[serde(default)]
    pub driver: String,
    pub volumes: serde_json::Map<String, serde_json::Value>,
    pub host: HostConfig,
    /// The healthcheck in force: the image's, overridden by --health-*.
    #[serde(default)]
    pub healthcheck: Option<health::HealthConfig>,
    /// --health-on-failure: "", none, kill, restart or stop.
    #[serde(default)]
    pub health_on_failure: String,
    /// The infra container of a pod: no image, no root file system; its
    /// process is rcon's own pause program (`runtime::pause`), which only
    /// holds the namespaces the pod's containers join.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub infra: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct HostConfig {
    pub auto_remove: bool,
    pub mounts: Vec<Mount>,
    pub read_only: bool,
    pub privileged: bool,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub no_new_privileges: bool,
    /// None: Docker's default profile; "unconfined"; or a profile's JSON text.
    pub seccomp_profile: Option<String>,
    pub network_mode: String,
    pub init: bool,
    pub log_driver: String,
    pub log_opts: Vec<String>,
    pub ulimits: Vec<Ulimit>,
    /// "" (private), "host", "keep-id".
    pub userns: String,
    pub pid_mode: String,
    pub ipc_mode: String,
    pub uts_mode: String,
    pub group_add: Vec<String>,
    pub extra_hosts: Vec<String>,
    pub dns: Vec<String>,
    pub dns_search: Vec<String>,
    pub dns_options: Vec<String>,
    pub sig_proxy: bool,
    pub detach_keys: String,
    pub cidfile: String,
    /// --memory, --cpus, … (enforced through cgroups, root only).
    #[serde(default)]
    pub resources: resources::Limits,
    /// --restart, carried out by the monitor.
    #[serde(default)]
    pub restart_policy: restart::RestartPolicy,
    /// Published ports and other network settings beyond the mode.
    #[serde(default)]
    pub net: crate::network::NetConfig,
    /// The id of the pod the container belongs to ("" for none).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pod: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Ulimit {
    pub name: String,
    pub soft: u64,
    pub hard: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Restarting => "restarting",
            Status::Removing => "removing",
            Status::Exited => "exited",
            Status::Dead => "dead",
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ContainerState {
    pub status: Status,
    /// Host pid of the container's init and its start time (pid reuse guard).
    pub pid: u32,
    pub pid_start: u64,
    pub monitor_pid: u32,
    pub monitor_start: u64,
    pub started_at: String,
    pub finished_at: String,
    pub exit_code: i32,
    pub oom_killed: bool,
    pub error: String,
    pub restart_count: u32,
    /// Set by `stop`/`kill`: the user asked for the exit (restart policies honour it).
    #[serde(default)]
    pub stopped_by_user: bool,
}

impl ContainerState {
    /// The state as it really is: "running" needs a live monitor.
    pub fn reconciled(mut self) -> ContainerState {
        if matches!(self.status, Status::Running | Status::Paused | Status::Restarting)
            && state::process_start_time(self.monitor_pid) != Some(self.monitor_start)
        {
            self.status = Status::Exited;
            if self.exit_code == 0 {
                // The monitor died with SIGKILL; its container was killed with it.
                self.exit_code = 137;
            }
            if self.finished_at.is_empty() {
                self.finished_at = crate::format::units::rfc3339_nano(crate::image::store::now_secs(), 0);
            }
            self.error = "monitor process died".into();
            self.pid = 0;
        }
        self
    }
}

#[derive(Clone)]
pub struct Container {
    pub config: ContainerConfig,
    pub state: ContainerState,
    /// `.State.Health`: only for containers with a healthcheck that have run.
    pub health: Option<health::Health>,
}

pub struct ContainerStore {
    root: PathBuf,
    run: PathBuf,
}

impl ContainerStore {
    pub fn open(paths: &Paths) -> Result<ContainerStore> {
        let root = paths.data.join("containers");
        let run = paths.runtime.join("containers");
        state::ensure_dir(&root)?;
        Ok(ContainerStore { root, run })
    }

    pub fn dir(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }

    pub fn run_dir(&self, id: &str) -> PathBuf {
        self.run.join(id)
    }

    pub fn lock(&self) -> Result<Lock> {
        Lock::exclusive(&self.root.with_extension("lock"))
    }

    /// Lock one container's state (start/stop/rm of the same container serialise).
    pub fn lock_one(&self, id: &str) -> Result<Lock> {
        Lock::exclusive(&self.dir(id).join("lock"))
    }

    /// Hold a container against prune while it is being created or
    /// started (a shared lock on its `hold` file: several holders may
    /// overlap; the kernel releases it when the holder dies).
    pub fn hold(&self, id: &str) -> Result<Lock> {
        Lock::shared(&self.dir(id).join("hold"))
    }

    /// For prune: the container's hold when nobody else has it, else None
    /// (it is being created or started: leave it).
    pub fn try_claim(&self, id: &str) -> Result<Option<Lock>> {
        Lock::try_exclusive(&self.dir(id).join("hold"))
    }

    pub fn ids(&self) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(&self.root)
            .map(|rd| {
                rd.flatten()
                    .filter(|e| e.path().join("container.json").exists())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    pub fn load(&self, id: &str) -> Result<Container> {
        let dir = self.dir(id);
        let config: ContainerConfig =
            state::read_json(&dir.join("container.json"))?.ok_or_else(|| Error::NoSuchContainer(id.to_string()))?;
        let state: ContainerState = state::read_json(&dir.join("state.json"))?.unwrap_or_default();
        let health = config.healthcheck.as_ref().filter(|h| h.argv().is_some()).and_then(|_| health::read(&dir));
        Ok(Container { config, state: state.reconciled(), health })
    }

    pub fn all(&self) -> Vec<Container> {
        self.ids().iter().filter_map(|id| self.load(id).ok()).collect()
    }

    pub fn write_state(&self, id: &str, st: &ContainerState) -> Result<()> {
        state::replace_json(&self.dir(id).join("state.json"), st)
    }

    pub fn write_config(&self, cfg: &ContainerConfig) -> Result<()> {
        state::replace_json(&self.dir(&cfg.id).join("container.json"), cfg)
    }

    /// Docker's lookup: full id, exact name, then unique id prefix.
    pub fn resolve(&self, arg: &str) -> Result<String> {
        let arg = arg.strip_prefix('/').unwrap_or(arg);
        let ids = self.ids();
        if ids.iter().any(|i| i == arg) {
            return Ok(arg.to_string());
        }
        for id in &ids {
            if let Ok(Some(c)) = state::read_json::<ContainerConfig>(&self.dir(id).join("container.json")) {
                if c.name == arg {
                    return Ok(id.clone());
                }
            }
        }
        if crate::image::reference::is_hex(arg) {
            let m: Vec<&String> = ids.iter().filter(|i| i.starts_with(arg)).collect();
            match m.len() {
                1 => return Ok(m[0].clone()),
                n if n > 1 => {
                    return Err(Error::InvalidArgument(format!(
                        "multiple containers match the prefix {arg}: give more characters or use the name"
                    )))
                }
                _ => {}
            }
        }
        Err(Error::NoSuchContainer(arg.to_string()))
    }

    /// Which containers use an image (rmi refuses to delete those).
    pub fn using_image(&self, image_id: &str) -> Vec<Container> {
        self.all().into_iter().filter(|c| c.config.image == image_id).collect()
    }

    /// Create the directory and record of a new container; the name must be
    /// unique, checked and claimed under the containers lock.
    /// A generated name (`name_generated`) that is taken is replaced by
    /// another one, as Docker's name generator retries.
    /// Write a new container's record; it comes back held (see [`hold`]),
    /// taken before the record exists so that no prune can see it unheld.
    pub fn create(&self, cfg: &mut ContainerConfig, name_generated: bool) -> Result<Lock> {
        let _lock = self.lock()?;
        let mut taken = std::collections::HashMap::new();
        for id in self.ids() {
            if let Ok(Some(c)) = state::read_json::<ContainerConfig>(&self.dir(&id).join("container.json")) {
                taken.insert(c.name, id);
            }
        }
        let mut attempt = 0u32;
        while let Some(id) = taken.get(&cfg.name) {
            if !name_generated {
                return Err(Error::NameInUse { name: cfg.name.clone(), id: id.clone() });
            }
            attempt += 1;
            cfg.name = format!("{}{}", names::random_name(&cfg.id[(attempt as usize % 40)..]), attempt % 10);
        }
        let dir = self.dir(&cfg.id);
        for sub in ["upper", "work", "merged", "userdata"] {
            fs::create_dir_all(dir.join(sub)).ctx(|| format!("create {}", dir.display()))?;
        }
        let hold = self.hold(&cfg.id)?;
        self.write_state(&cfg.id, &ContainerState::default())?;
        // container.json last: until it exists the directory is not a container.
        self.write_config(cfg)?;
        Ok(hold)
    }

    pub fn rename(&self, id: &str, new: &str) -> Result<()> {
        let _lock = self.lock()?;
        for other in self.ids() {
            if let Ok(Some(c)) = state::read_json::<ContainerConfig>(&self.dir(&other).join("container.json")) {
                if c.name == new {
                    return Err(Error::NameInUse { name: new.to_string(), id: other });
                }
            }
        }
        let mut c = self.load(id)?.config;
        c.name = new.to_string();
        self.write_config(&c)
    }

    /// Remove a container's files. The writable layer belongs to mapped ids:
    /// removed through the userns helper.
    pub fn remove(&self, id: &str) -> Result<()> {
        let dir = self.dir(id);
        let _ = fs::remove_file(dir.join("container.json"));
        let trash = self.root.join(format!(".rm-{id}"));
        if fs::rename(&dir, &trash).is_ok() {
            // Files the container's root made belong to us; only those of
            // other container users need the mapping. Try the cheap way first
            // (it saves `run --rm` a helper process and two newuidmap calls).
            if crate::storage::userns::remove_tree(&trash).is_err() || trash.exists() {
                crate::storage::userns::run(crate::storage::userns::Request::Remove(vec![trash]))?;
            }
        }
        let _ = fs::remove_dir_all(self.run_dir(id));
        Ok(())
    }

    pub fn log_path(&self, id: &str) -> PathBuf {
        self.dir(id).join("ctr.log")
    }
}
