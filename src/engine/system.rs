//! `version` and `info`: what this rcon is and how it sees the host, as
//! JSON values with Docker's field names (so `--format '{{.Driver}}'` works).

use serde_json::{json, Value};

use super::Engine;
use crate::error::Result;
use crate::image::config::host_arch;
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
    let mut v = json!({
        "ID": "",
        "Containers": 0,
        "ContainersRunning": 0,
        "ContainersPaused": 0,
        "ContainersStopped": 0,
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
        "Debug": false,
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
