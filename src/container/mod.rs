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
//! DATA/containers/ID/name             the name again, so that it stays reserved when container.json is damaged
//! DATA/containers/.rm-ID-PID-START-N  a container being removed by process PID (swept when PID is dead)
//! DATA/containers.lock                held while names are checked, set or freed
//! RUN/containers/ID/                  runtime files (attach socket)
//! ```
//!
//! A state says "running" only while its monitor lives: readers check the
//! monitor's pid and start time, so a monitor killed with SIGKILL is noticed
//! (and its container, which dies with it through PDEATHSIG, shown exited).

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, IoContext, Result};
use crate::paths::Paths;
use crate::state::{self, Damage, Lock, Record};

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
    /// A record of the container does not parse: which and why. Such a
    /// container is listed as Dead, keeps its name, and can only be removed.
    pub damaged: Option<Damage>,
}

impl Container {
    /// The error for any verb but listing and removal of a damaged container.
    pub fn damaged_error(&self) -> Option<Error> {
        let name = if self.config.name.is_empty() { &self.config.id } else { &self.config.name };
        Some(self.damaged.as_ref()?.error("container", name, format!("rcon rm -f {name}")))
    }
}

/// Why a container directory without its record stays (see `state::Leftover`).
pub const RECORD_GONE: &str = "its record is gone while its monitor runs: kill the monitor, then remove it by hand";

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
                    // `.rm-…`: being removed (its record went along with the rename)
                    .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                    .filter(|e| e.path().join("container.json").exists())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    /// A container whose records are whole; a damaged one is an error
    /// that says how to remove it.
    pub fn load(&self, id: &str) -> Result<Container> {
        let c = self.load_any(id)?;
        match c.damaged_error() {
            Some(e) => Err(e),
            None => Ok(c),
        }
    }

    /// `load`, but a damaged container comes back as a Dead placeholder
    /// (its name from the `name` file, its pids from the state if that
    /// still reads) with `damaged` set: for listing and removal.
    pub fn load_any(&self, id: &str) -> Result<Container> {
        let dir = self.dir(id);
        let mut damaged = None;
        let config_path = dir.join("container.json");
        let config = match state::read_record::<ContainerConfig>(&config_path) {
            Record::Missing => return Err(Error::NoSuchContainer(id.to_string())),
            Record::Read(c) => c,
            Record::Damaged(reason) => {
                damaged = Some(Damage { path: config_path, reason });
                ContainerConfig {
                    id: id.to_string(),
                    name: self.saved_name(id).unwrap_or_default(),
                    ..Default::default()
                }
            }
        };
        let state_path = dir.join("state.json");
        let mut state = match state::read_record::<ContainerState>(&state_path) {
            Record::Missing => ContainerState::default(),
            Record::Read(s) => s.reconciled(),
            Record::Damaged(reason) => {
                damaged.get_or_insert(Damage { path: state_path, reason });
                ContainerState::default()
            }
        };
        if damaged.is_some() {
            state.status = Status::Dead;
            return Ok(Container { config, state, health: None, damaged });
        }
        let health = config.healthcheck.as_ref().filter(|h| h.argv().is_some()).and_then(|_| health::read(&dir));
        Ok(Container { config, state, health, damaged })
    }

    /// Every container whose records are whole.
    pub fn all(&self) -> Vec<Container> {
        self.ids().iter().filter_map(|id| self.load(id).ok()).collect()
    }

    /// Every container, the damaged ones too (`ps -a`).
    pub fn listed(&self) -> Vec<Container> {
        self.ids().iter().filter_map(|id| self.load_any(id).ok()).collect()
    }

    /// The name kept beside the record (see `create`).
    fn saved_name(&self, id: &str) -> Option<String> {
        let n = fs::read_to_string(self.dir(id).join("name")).ok()?;
        names::valid_name(n.trim()).then(|| n.trim().to_string())
    }

    /// A container's name: from its record, or, when that is damaged,
    /// from the copy beside it, so that the name stays taken.
    pub fn name_of(&self, id: &str) -> Option<String> {
        match state::read_record::<ContainerConfig>(&self.dir(id).join("container.json")) {
            Record::Read(c) => Some(c.name),
            Record::Missing => None,
            Record::Damaged(_) => self.saved_name(id),
        }
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
            if self.name_of(id).as_deref() == Some(arg) {
                return Ok(id.clone());
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
        let lock = self.lock()?;
        let claimed = self.claim_leftovers();
        crate::storage::userns::sweeping(lock, claimed, || self.create_locked(cfg, name_generated))
    }

    fn create_locked(&self, cfg: &mut ContainerConfig, name_generated: bool) -> Result<Lock> {
        let mut taken = std::collections::HashMap::new();
        for id in self.ids() {
            if let Some(name) = self.name_of(&id) {
                taken.insert(name, id);
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
        fs::write(dir.join("name"), &cfg.name).ctx(|| format!("write {}", dir.join("name").display()))?;
        self.write_state(&cfg.id, &ContainerState::default())?;
        // container.json last: until it exists the directory is not a container.
        self.write_config(cfg)?;
        Ok(hold)
    }

    pub fn rename(&self, id: &str, new: &str) -> Result<()> {
        let _lock = self.lock()?;
        for other in self.ids() {
            if self.name_of(&other).as_deref() == Some(new) {
                return Err(Error::NameInUse { name: new.to_string(), id: other });
            }
        }
        let mut c = self.load(id)?.config;
        c.name = new.to_string();
        state::replace_file(&self.dir(id).join("name"), new.as_bytes())?;
        self.write_config(&c)
    }

    /// Remove a container's files. The writable layer belongs to mapped ids:
    /// removed through the userns helper.
    /// The directory goes in one rename (the container vanishes whole, and
    /// a remover killed after it leaves a trash name with its pid, which
    /// the next sweep takes), then the trash is deleted.
    pub fn remove(&self, id: &str) -> Result<()> {
        let trash = state::trash_path(&self.root, id);
        match fs::rename(self.dir(id), &trash) {
            Ok(()) => crate::storage::userns::remove_trash(&trash)?,
            // Removed meanwhile (a prune, the monitor of a --rm container).
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(format!("remove container {id}"), e)),
        }
        let _ = fs::remove_dir_all(self.run_dir(id));
        Ok(())
    }

    /// Sweep what killed commands left (state::leftovers): claimed under
    /// the containers lock, deleted after it.
    pub fn sweep(&self) -> Result<()> {
        let lock = self.lock()?;
        let claimed = self.claim_leftovers();
        crate::storage::userns::sweeping(lock, claimed, || Ok(()))
    }

    /// With the containers lock held: rename every leftover of a dead
    /// process into our own trash name (so that no other sweep deletes it
    /// at the same time) and drop runtime directories of containers that
    /// are gone. Returns the trees to delete once the lock is released.
    fn claim_leftovers(&self) -> Vec<PathBuf> {
        let found = state::leftovers(&self.root, "container.json");
        let mut claimed = Vec::new();
        for p in found.dead {
            if record_gone_while_running(&p) {
                continue; // a record deleted by hand: reported by df, not ours to delete
            }
            claimed.extend(state::claim(&self.root, &p));
        }
        if let Ok(rd) = fs::read_dir(&self.run) {
            for e in rd.flatten() {
                if !self.root.join(e.file_name()).exists() {
                    let _ = fs::remove_dir_all(e.path());
                }
            }
        }
        claimed
    }

    /// What is left of killed commands now, and why (for `system df`).
    pub fn leftovers(&self) -> Vec<state::Leftover> {
        let mut v = state::leftovers(&self.root, "container.json").report();
        for l in &mut v {
            if record_gone_while_running(&l.path) {
                l.why = RECORD_GONE;
            }
        }
        v
    }

    pub fn log_path(&self, id: &str) -> PathBuf {
        self.dir(id).join("ctr.log")
    }
}

/// A container directory (not a trash) without its record whose state
/// names a live monitor: somebody deleted `container.json` by hand.
fn record_gone_while_running(dir: &Path) -> bool {
    if dir.file_name().is_some_and(|n| n.to_string_lossy().starts_with(".rm-")) {
        return false;
    }
    match state::read_record::<ContainerState>(&dir.join("state.json")) {
        Record::Read(s) => s.monitor_pid != 0 && state::process_start_time(s.monitor_pid) == Some(s.monitor_start),
        _ => false,
    }
}
