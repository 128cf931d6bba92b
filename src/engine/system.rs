//! `version` and `info`: what this rcon is and how it sees the host, as
//! JSON values with Docker's field names (so `--format '{{.Driver}}'` works).

use serde_json::{json, Value};

use super::Engine;
use crate::container::Status;
use crate::error::Result;
use crate::image::config::host_arch;
use crate::registry::config::RegistryConfig;
use crate::storage::{driver, userns::IdMap};

pub fn version() -> Value {
    let os_arch = format!("linux/{}", host_arch());
    json!({
        "Client": {
            "Platform": {"Name": "rcon"},
            "Version": crate::VERSION,
            "ApiVersion": crate::API_VERSION,
            "GoVersion": "none (Rust)",
            "Os": "linux",
            "Arch": host_arch(),
            "OsArch": os_arch,
            "Context": "default",
        },
        "Server": {
            "Platform": {"Name": "rcon (no daemon)"},
            "Version": crate::VERSION,
            "ApiVersion": crate::API_VERSION,
            "Os": "linux",
            "Arch": host_arch(),
            "KernelVersion": kernel_release(),
        }
    })
}

fn kernel_release() -> String {
    nix::sys::utsname::uname().map(|u| u.release().to_string_lossy().into_owned()).unwrap_or_default()
}

fn os_name() -> String {
    std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("PRETTY_NAME=").map(|v| v.trim_matches('"').to_string())))
        .unwrap_or_else(|| "Linux".into())
}

fn mem_total() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("MemTotal:").and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            })
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

fn cgroup_version() -> &'static str {
    if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        "2"
    } else {
        "1"
    }
}

pub fn info(engine: &Engine) -> Result<Value> {
    let store = engine.store()?;
    let images = store.images()?;
    let rootless = engine.paths.rootless;
    let drv = driver::detect(rootless);
    let map = IdMap::for_current_user();
    let ranges = |v: &[crate::storage::userns::IdRange]| {
        v.iter().map(|r| json!({"ContainerID": r.inside, "HostID": r.outside, "Size": r.count})).collect::<Vec<_>>()
    };
    let mut security = vec![json!("name=seccomp,profile=builtin")];
    if rootless {
        security.push(json!("name=rootless"));
    }
    let mut driver_status = vec![json!(["Backing Filesystem", backing_fs(store.root())])];
    if drv == driver::Driver::Overlay {
        driver_status.push(json!(["Supports d_type", "true"]));
        driver_status.push(json!(["Native Overlay Diff", "true"]));
        driver_status.push(json!(["userxattr", if rootless { "true" } else { "false" }]));
    }
    let (mut running, mut paused, mut stopped) = (0, 0, 0);
    let containers = super::containers::list(engine)?;
    for c in &containers {
        match c.state.status {
            Status::Paused => paused += 1,
            // Docker counts a restarting container as running.
            Status::Running | Status::Restarting => running += 1,
            _ => stopped += 1,
        }
    }
    let reg = crate::registry::config::RegistryConfig::load(&engine.paths.config, engine.paths.rootless)?;
    let backends = network_backends();
    let net_plugins: Vec<&str> = ["host", "none"].into_iter().chain(backends.iter().map(|(n, _)| *n)).collect();
    let backend_versions: serde_json::Map<String, Value> =
        backends.iter().map(|(n, ver)| (n.to_string(), json!(ver))).collect();
    let mut v = json!({
        "ID": engine_id(&engine.paths.data),
        "Containers": containers.len(),
        "ContainersRunning": running,
        "ContainersPaused": paused,
        "ContainersStopped": stopped,
        "Images": images.len(),
        "Driver": drv.name(),
        "DriverStatus": driver_status,
        "DockerRootDir": store.root().display().to_string(),
        "RuntimeDir": engine.paths.runtime.display().to_string(),
        "ConfigDir": engine.paths.config.display().to_string(),
        "Rootless": rootless,
        "CgroupDriver": "cgroupfs",
        "CgroupVersion": cgroup_version(),
        "KernelVersion": kernel_release(),
        "OperatingSystem": os_name(),
        "OSType": "linux",
        "Architecture": std::env::consts::ARCH,
        "NCPU": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "MemTotal": mem_total(),
        "Name": nix::unistd::gethostname().map(|h| h.to_string_lossy().into_owned()).unwrap_or_default(),
        "ServerVersion": crate::VERSION,
        "SecurityOptions": security,
        // rcon has no debug mode (Docker: the daemon's --debug).
        "Debug": false,
        "LoggingDriver": "json-file",
        "Plugins": {
            "Volume": ["local"],
            "Network": net_plugins,
            "Authorization": null,
            "Log": ["json-file", "k8s-file", "none"],
        },
        "IndexServerAddress": "https://index.docker.io/v1/",
        "RegistryConfig": registry_config(&reg),
        // rcon's own: the user-mode network helpers found and their versions.
        "NetworkBackends": backend_versions,
        "Warnings": warnings(rootless, &map),
    });
    if rootless {
        v["IDMappings"] = json!({"UIDMap": ranges(&map.uids), "GIDMap": ranges(&map.gids)});
        v["SubordinateIDs"] = json!(!map.is_single());
    }
    Ok(v)
}

/// The file system the store lives on, by statfs magic (as Docker reports it).
fn backing_fs(p: &std::path::Path) -> &'static str {
    match nix::sys::statfs::statfs(p).map(|s| s.filesystem_type().0) {
        Ok(0xEF53) => "extfs",
        Ok(0x58465342) => "xfs",
        Ok(0x9123683E) => "btrfs",
        Ok(0x01021994) => "tmpfs",
        Ok(0x794c7630) => "overlayfs",
        Ok(0x2FC12FC1) => "zfs",
        _ => "unknown",
    }
}

/// A stable identifier for this store (Docker's engine ID), made on first use.
fn engine_id(data: &std::path::Path) -> String {
    let path = data.join("engine-id");
    if let Ok(s) = std::fs::read_to_string(&path) {
        if !s.trim().is_empty() {
            return s.trim().to_string();
        }
    }
    let h = crate::container::names::new_id();
    // Docker's ID is a UUID: print ours in that shape.
    let id = format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32]);
    let tmp = data.join(format!("engine-id.{}", std::process::id()));
    // Two first runs racing: the rename makes one of them win whole; a
    // store we cannot write (read-only) still gets an ID for this run.
    if std::fs::create_dir_all(data).is_ok() && std::fs::write(&tmp, &id).is_ok() {
        let _ = std::fs::rename(&tmp, &path);
        if let Ok(s) = std::fs::read_to_string(&path) {
            return s.trim().to_string();
        }
    }
    id
}

/// Docker's `RegistryConfig`: Hub mirrors, insecure registries as index
/// configs (or CIDRs when given as networks), loopback always insecure.
fn registry_config(reg: &RegistryConfig) -> Value {
    let mut cidrs = vec![json!("127.0.0.0/8")];
    let mut index = serde_json::Map::new();
    index.insert(
        "docker.io".into(),
        json!({"Name": "docker.io", "Mirrors": reg.mirrors, "Secure": true, "Official": true}),
    );
    for i in &reg.insecure {
        let host = i.trim_start_matches("http://").trim_start_matches("https://").trim_end_matches('/');
        if host.contains('/') {
            cidrs.push(json!(host));
        } else {
            index.insert(host.into(), json!({"Name": host, "Mirrors": [], "Secure": false, "Official": false}));
        }
    }
    json!({
        "AllowNondistributableArtifactsCIDRs": null,
        "AllowNondistributableArtifactsHostnames": null,
        "InsecureRegistryCIDRs": cidrs,
        "IndexConfigs": index,
        "Mirrors": reg.mirrors,
    })
}

/// slirp4netns and pasta where installed, with the version they print.
fn network_backends() -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for name in ["slirp4netns", "pasta"] {
        let Some(prog) = crate::util::which(name) else { continue };
        let text = std::process::Command::new(prog)
            .arg("--version")
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        // "slirp4netns version 1.2.0", "pasta 2023_01_27.5e89f1d" / "pasta unknown version"
        let first = text.lines().next().unwrap_or("").trim();
        let ver = first.strip_prefix(name).unwrap_or(first).trim().trim_start_matches("version").trim();
        out.push((name, if ver.is_empty() { "unknown".to_string() } else { ver.to_string() }));
    }
    out
}

/// What `docker info` warns about, for the things that limit rcon here.
fn warnings(rootless: bool, map: &IdMap) -> Vec<String> {
    let mut w = Vec::new();
    if rootless && map.is_single() {
        w.push("WARNING: no subuid/subgid range: only your own id is mapped (run rcon doctor)".to_string());
    }
    if rootless && cgroup_version() == "1" {
        w.push("WARNING: cgroups v1 rootless: --memory, --cpus and --pids-limit are refused".to_string());
    }
    if std::fs::OpenOptions::new().read(true).write(true).open("/dev/net/tun").is_err() {
        w.push("WARNING: /dev/net/tun cannot be opened: containers get no slirp4netns/pasta network".to_string());
    }
    w
}
