//! Which mount driver containers will use for their root file system:
//! native overlayfs (in a user namespace since Linux 5.11, with `userxattr`),
//! else fuse-overlayfs (rootless), else a plain flattened copy ("vfs").
//! `RCON_STORAGE_DRIVER=overlay|fuse-overlayfs|vfs` forces one.

use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    Overlay,
    FuseOverlayfs,
    Vfs,
}

impl Driver {
    pub fn name(self) -> &'static str {
        match self {
            Driver::Overlay => "overlay",
            Driver::FuseOverlayfs => "fuse-overlayfs",
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
            // As root the kernel's overlay is always usable.
            "fuse-overlayfs" if rootless => return Driver::FuseOverlayfs,
            "vfs" => return Driver::Vfs,
            _ => {}
        }
    }
    let native = has_overlay() && (!rootless || kernel_version() >= (5, 11));
    if native {
        Driver::Overlay
    } else if rootless && crate::util::which("fuse-overlayfs").is_some() {
        Driver::FuseOverlayfs
    } else {
        Driver::Vfs
    }
}
