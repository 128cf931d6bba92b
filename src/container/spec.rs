//! What a new container is asked to be, every value already parsed: the
//! engine's input for `create`. Each front end fills it its own way (the
//! CLI from Docker's flags through `cli::flags`, the API server from
//! Docker's `Config`/`HostConfig` JSON, compose from a service, the build
//! executor for a RUN step); the engine checks what only it can know (the
//! image, a port in use, an unknown network) and writes the record.
//!
//! Nothing here reads the caller's environment or files: `-e KEY` without a
//! value, env files, label files and seccomp profile files are resolved by
//! the front end, which passes their content.

use crate::container::health::{HealthConfig, OnFailure};
use crate::container::resources::Limits;
use crate::container::restart::RestartPolicy;
use crate::container::{Mount, Ulimit};
use crate::network::ports::PortSpec;

/// The seccomp filter a container runs under.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Seccomp {
    /// Docker's default profile.
    #[default]
    Default,
    /// `--security-opt seccomp=unconfined`.
    Unconfined,
    /// A profile's JSON text (`seccomp=FILE`, read by the front end).
    Profile(String),
}

/// `--volumes-from CONTAINER[:ro|rw]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumesFrom {
    pub container: String,
    /// Some: every mount taken read-only (true) or read-write (false).
    pub readonly: Option<bool>,
}

#[derive(Debug, Clone, Default)]
pub struct ContainerSpec {
    /// The image as the user named it (it must be in the store: front ends
    /// pull first, as `--pull` says).
    pub image: String,
    pub name: Option<String>,
    /// The command; empty: the image's CMD (none when an entrypoint is given).
    pub cmd: Vec<String>,
    /// Some: replaces the image's ENTRYPOINT (empty: none at all).
    pub entrypoint: Option<Vec<String>>,
    /// `KEY=VALUE` pairs, over the image's environment.
    pub env: Vec<String>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    pub hostname: Option<String>,
    pub domainname: Option<String>,
    /// Over the image's labels.
    pub labels: Vec<(String, String)>,
    pub tty: bool,
    /// `-i`: the container's stdin stays open for whoever attaches.
    pub open_stdin: bool,
    /// `--rm`.
    pub auto_remove: bool,

    /// `-v`, `--mount`, `--tmpfs`: sources are host paths (bind), volume
    /// names (empty: a new anonymous volume) or "tmpfs".
    pub mounts: Vec<Mount>,
    pub volumes_from: Vec<VolumesFrom>,
    pub read_only: bool,

    pub privileged: bool,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub no_new_privileges: bool,
    pub seccomp: Seccomp,
    pub ulimits: Vec<Ulimit>,
    pub group_add: Vec<String>,
    /// None: the store's mapping; "host", "keep-id".
    pub userns: Option<String>,
    /// None: private; "host".
    pub pid: Option<String>,
    pub ipc: Option<String>,
    pub uts: Option<String>,

    pub stop_signal: Option<String>,
    pub stop_timeout: Option<i64>,
    pub init: bool,

    /// None: the configured default (bridge); bridge, pasta, none, host,
    /// container:NAME or a user-defined network.
    pub network: Option<String>,
    /// More DNS names on the user network.
    pub network_aliases: Vec<String>,
    /// The address on the user network.
    pub ip: Option<String>,
    /// `-p`: ranges expanded, host port 0 = a free one chosen at start.
    pub ports: Vec<PortSpec>,
    /// `-P`.
    pub publish_all: bool,
    /// `--expose`: more keys like "80/tcp".
    pub expose: Vec<String>,
    /// (name, address or "host-gateway").
    pub extra_hosts: Vec<(String, String)>,
    pub dns: Vec<String>,
    pub dns_search: Vec<String>,
    pub dns_options: Vec<String>,

    /// None: json-file.
    pub log_driver: Option<String>,
    pub log_opts: Vec<(String, String)>,

    pub resources: Limits,
    /// Over the image's healthcheck, field by field (Docker's merge):
    /// `test: ["NONE"]` disables it.
    pub healthcheck: Option<HealthConfig>,
    pub health_on_failure: Option<OnFailure>,
    pub restart: Option<RestartPolicy>,

    pub detach_keys: Option<String>,
    /// Whether an attached `run`/`start -a` passes signals on (recorded:
    /// `attach` reads it).
    pub sig_proxy: bool,
    /// Recorded in the container (inspect's HostConfig.ContainerIDFile);
    /// the front end writes the file.
    pub cidfile: Option<String>,
    /// `--pod NAME|ID`: join that pod's shared namespaces (the pod must
    /// exist: front ends create `new:NAME` pods first).
    pub pod: Option<String>,
    /// The pod's infra container (set by `engine::pods` only): no image.
    pub infra: bool,
}
