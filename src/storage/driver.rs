//! Which mount driver containers will use for their root file system:
//! native overlayfs (in a user namespace since Linux 5.11, with `userxattr`),
//! else a plain flattened copy ("vfs"). `RCON_STORAGE_DRIVER=vfs` forces the
//! copy.

use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    Overlay,
    Vfs,
}

impl Driver {
    pub fn name(self) -> &'static str {
        match self {
            Driver::Overlay => "overlay",
            Driver::Vfs => "vfs",
        }
    }
}

/// Kernel version as (major, minor).
pub fn kernel_version() -> (u32, u32) {
    let rel = nix::sys::utsname::uname().map(|u| u.release().to_string_lossy().into_owned()).unwrap_or_default();
    let mut it = rel.split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty()).map(|s| s.parse().unwrap_or(0));
    (it.next().unwrap_or(0), it.next().unwrap_or(0))
}

fn has_overlay() -> bool {
    std::fs::read_to_string("/proc/filesystems").map(|s| s.lines().any(|l| l.ends_with("\toverlay"))).unwrap_or(false)
        || Path::new("/sys/module/overlay").exists()
}

pub fn detect(rootless: bool) -> Driver {
    if let Ok(forced) = std::env::var("RCON_STORAGE_DRIVER") {
        match forced.as_str() {
            "overlay" => return Driver::Overlay,
            "vfs" => return Driver::Vfs,
            _ => {}
        }
    }
    // fuse-overlayfs is not used yet: its daemon would have to run outside
    // the container's pid namespace (a daemon inside, with a host cwd, is the
    // CVE-2024-21626 class of leak). Without native overlay, containers get
    // a flattened copy.
    let native = has_overlay() && (!rootless || kernel_version() >= (5, 11));
    if native {
        Driver::Overlay
    } else {
        Driver::Vfs
    }
}
