//! The container's root file system, built inside its new mount namespace
//! (in the child, after the user namespace is mapped): overlay of the image
//! layers, /proc with Docker's masked and read-only paths, read-only /sys, a
//! minimal /dev, the generated /etc files, bind mounts and tmpfs, then
//! pivot_root. Runs before exec in a single-threaded child: every failure is
//! returned as a message, never a panic.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};

use crate::container::Mount;

/// Docker's masked paths (moby oci/defaults.go).
pub const MASKED: &[&str] = &[
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Docker's read-only paths.
pub const READONLY: &[&str] = &["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

const DEVICES: &[(&str, u32, u32)] =
    &[("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0)];

pub struct RootfsPlan {
    /// Layer directories relative to `layers_root`, topmost first.
    pub lowers: Vec<String>,
    pub layers_root: PathBuf,
    pub upper: PathBuf,
    pub work: PathBuf,
    pub merged: PathBuf,
    /// hosts, hostname, resolv.conf to bind over /etc.
    pub etc_files: Vec<(PathBuf, &'static str)>,
    pub mounts: Vec<Mount>,
    pub read_only: bool,
    pub privileged: bool,
    /// Inside a user namespace: devices are bind-mounted from the host
    /// (mknod is not allowed) and overlay metadata lives in user.* xattrs.
    pub userns: bool,
    /// The container has its own network namespace (sysfs can be mounted).
    pub own_netns: bool,
    /// The container has its own pid namespace (procfs can be mounted;
    /// with --pid=host, rootless, only a bind of the host's /proc is allowed).
    pub own_pidns: bool,
    /// /dev/pts gid=5 only works when container gid 5 is mapped.
    pub tty_gid_mapped: bool,
    /// The empty directory to use as the only lower layer of an image with none.
    pub empty_lower: PathBuf,
    /// "vfs": bind this flattened copy instead of mounting an overlay.
    pub vfs_root: Option<PathBuf>,
    /// "fuse-overlayfs": the root is mounted by the monitor's daemon.
    pub fuse: bool,
}

fn c(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).unwrap_or_default()
}

fn err(what: &str, p: &Path, e: impl std::fmt::Display) -> String {
    format!("{what} {}: {e}", p.display())
}

fn m(src: Option<&str>, target: &Path, fstype: Option<&str>, flags: MsFlags, data: Option<&str>) -> Result<(), String> {
    mount(src, target, fstype, flags, data)
        .map_err(|e| err(&format!("mount {}", fstype.or(src).unwrap_or("")), target, e))
}

fn bind(src: &Path, target: &Path, readonly: bool, recursive: bool) -> Result<(), String> {
    let mut flags = MsFlags::MS_BIND;
    if recursive {
        flags |= MsFlags::MS_REC;
    }
    mount(Some(src), target, None::<&str>, flags, None::<&str>).map_err(|e| err("bind mount onto", target, e))?;
    if readonly {
        remount_ro(target)?;
    }
    Ok(())
}

/// Remount read-only keeping the flags the kernel locked on the mount (in a
/// user namespace, dropping nosuid/nodev/noexec of a host mount is EPERM).
fn remount_ro(target: &Path) -> Result<(), String> {
    let st = nix::sys::statvfs::statvfs(target).map_err(|e| err("statvfs", target, e))?;
    let mut flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
    use nix::sys::statvfs::FsFlags;
    for (f, m) in [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if st.flags().contains(f) {
            flags |= m;
        }
    }
    mount(None::<&str>, target, None::<&str>, flags, None::<&str>).map_err(|e| err("remount read-only", target, e))
}

/// Make `path` (inside the new root) exist as a directory or file, creating
/// parents, without following symlinks out of the root: the image controls
/// these paths.
fn ensure(root: &Path, inside: &str, dir: bool) -> Result<PathBuf, String> {
    let rel = inside.trim_start_matches('/');
    let mut cur = root.to_path_buf();
    let parts: Vec<&str> = rel.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    for (i, part) in parts.iter().enumerate() {
        if *part == ".." {
            return Err(format!("mount target {inside} must not contain '..'"));
        }
        cur.push(part);
        let last = i + 1 == parts.len();
        match std::fs::symlink_metadata(&cur) {
            Ok(md) if md.file_type().is_symlink() => {
                return Err(format!("mount target {inside} goes through a symlink in the image ({})", cur.display()))
            }
            Ok(_) => {}
            Err(_) if last && !dir => {
                std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&cur)
                    .map_err(|e| err("create", &cur, e))?;
            }
            Err(_) => std::fs::create_dir(&cur).map_err(|e| err("create", &cur, e))?,
        }
    }
    Ok(cur)
}

/// `bind-propagation=`: after the bind (whole tree private by default).
fn set_propagation(target: &Path, mode: &str) -> Result<(), String> {
    let flags = match mode {
        "shared" => MsFlags::MS_SHARED,
        "rshared" => MsFlags::MS_SHARED | MsFlags::MS_REC,
        "slave" => MsFlags::MS_SLAVE,
        "rslave" => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        "private" => MsFlags::MS_PRIVATE,
        _ => MsFlags::MS_PRIVATE | MsFlags::MS_REC,
    };
    m(None, target, None, flags, None)
}

/// Nothing we mount may propagate back to the host.
pub fn make_private() -> Result<(), String> {
    m(None, Path::new("/"), None, MsFlags::MS_REC | MsFlags::MS_PRIVATE, None)
}

pub fn setup(p: &RootfsPlan) -> Result<(), String> {
    make_private()?;
    if let Some(vfs) = &p.vfs_root {
        bind(vfs, &p.merged, false, false)?;
    } else if p.fuse {
        // Already mounted by the monitor's fuse-overlayfs daemon.
    } else {
        // Relative lowerdir paths keep the option string short: the kernel
        // caps mount data at one page, which absolute paths exceed at ~30 layers.
        std::env::set_current_dir(&p.layers_root).map_err(|e| err("chdir", &p.layers_root, e))?;
        let lowers = if p.lowers.is_empty() { p.empty_lower.display().to_string() } else { p.lowers.join(":") };
        let mut opts = format!("lowerdir={lowers},upperdir={},workdir={}", p.upper.display(), p.work.display());
        if p.userns {
            opts.push_str(",userxattr");
        }
        m(Some("overlay"), &p.merged, Some("overlay"), MsFlags::empty(), Some(&opts))?;
    }
    let root = p.merged.as_path();

    // /proc
    let proc_dir = ensure(root, "/proc", true)?;
    if p.own_pidns {
        m(Some("proc"), &proc_dir, Some("proc"), MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC, None)?;
    } else {
        bind(Path::new("/proc"), &proc_dir, false, true)?;
    }

    // /dev: a tmpfs with the few devices Docker provides.
    let dev = ensure(root, "/dev", true)?;
    m(Some("tmpfs"), &dev, Some("tmpfs"), MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME, Some("mode=755,size=65536k"))?;
    for (name, major, minor) in DEVICES {
        let target = dev.join(name);
        if p.userns {
            ensure(root, &format!("/dev/{name}"), false)?;
            bind(&Path::new("/dev").join(name), &target, false, false)?;
        } else {
            let devnum = nix::sys::stat::makedev(*major as u64, *minor as u64);
            nix::sys::stat::mknod(
                &target,
                nix::sys::stat::SFlag::S_IFCHR,
                nix::sys::stat::Mode::from_bits_truncate(0o666),
                devnum,
            )
            .map_err(|e| err("mknod", &target, e))?;
            // mknod is filtered by the umask.
            let _ = nix::sys::stat::fchmodat(
                None,
                &target,
                nix::sys::stat::Mode::from_bits_truncate(0o666),
                nix::sys::stat::FchmodatFlags::FollowSymlink,
            );
        }
    }
    let pts = ensure(root, "/dev/pts", true)?;
    let pts_opts = if p.tty_gid_mapped {
        "newinstance,ptmxmode=0666,mode=0620,gid=5"
    } else {
        "newinstance,ptmxmode=0666,mode=0620"
    };
    m(Some("devpts"), &pts, Some("devpts"), MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC, Some(pts_opts))?;
    let shm = ensure(root, "/dev/shm", true)?;
    m(
        Some("shm"),
        &shm,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some("mode=1777,size=65536k"),
    )?;
    let mq = ensure(root, "/dev/mqueue", true)?;
    // mqueue needs an IPC namespace we own; with --ipc=host it may be refused.
    let _ = mount(
        Some("mqueue"),
        &mq,
        Some("mqueue"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        None::<&str>,
    );
    for (link, target) in [
        ("ptmx", "pts/ptmx"),
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
        ("core", "/proc/kcore"),
    ] {
        std::os::unix::fs::symlink(target, dev.join(link)).map_err(|e| err("symlink", &dev.join(link), e))?;
    }
    // /sys, read-only. sysfs can only be mounted with a network namespace we
    // own; with the host's network, bind the host's.
    let sys = ensure(root, "/sys", true)?;
    let sys_flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC | MsFlags::MS_RDONLY;
    if p.own_netns {
        m(Some("sysfs"), &sys, Some("sysfs"), sys_flags, None)?;
    } else {
        bind(Path::new("/sys"), &sys, false, true)?;
        let _ = remount_ro(&sys);
    }
    if let Ok(cg) = ensure(root, "/sys/fs/cgroup", true) {
        // A read-only view; rootless on cgroup v1 nothing is writable anyway.
        let _ = mount(Some("tmpfs"), &cg, Some("tmpfs"), sys_flags, Some("mode=755"));
    }

    for (src, name) in &p.etc_files {
        let target = ensure(root, &format!("/etc/{name}"), false)?;
        bind(src, &target, false, false)?;
    }

    for mnt in &p.mounts {
        match mnt.kind.as_str() {
            "tmpfs" => {
                let target = ensure(root, &mnt.target, true)?;
                let mut data = String::from("mode=1777");
                for o in &mnt.options {
                    data = if o.starts_with("mode=") { data.replace("mode=1777", o) } else { format!("{data},{o}") };
                }
                let mut flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
                if mnt.readonly {
                    flags |= MsFlags::MS_RDONLY;
                }
                m(Some("tmpfs"), &target, Some("tmpfs"), flags, Some(&data))?;
            }
            _ => {
                let src = Path::new(&mnt.source);
                let is_dir = std::fs::metadata(src).map(|m| m.is_dir()).map_err(|e| err("bind source", src, e))?;
                let target = ensure(root, &mnt.target, is_dir)?;
                if mnt.kind == "volume" && !mnt.options.iter().any(|o| o == "nocopy") {
                    crate::volume::copy_up(&target, src)
                        .map_err(|e| err("copy image content into volume at", &target, e))?;
                }
                bind(src, &target, mnt.readonly, true)?;
                if let Some(p) = mnt.options.iter().find_map(|o| o.strip_prefix("propagation=")) {
                    set_propagation(&target, p)?;
                }
            }
        }
    }

    if !p.privileged {
        for path in MASKED {
            let target = root.join(path.trim_start_matches('/'));
            match std::fs::symlink_metadata(&target) {
                Ok(md) if md.is_dir() => {
                    m(Some("tmpfs"), &target, Some("tmpfs"), MsFlags::MS_RDONLY, None)?;
                }
                Ok(_) => bind(Path::new("/dev/null"), &target, false, false)?,
                Err(_) => {}
            }
        }
        for path in READONLY {
            let target = root.join(path.trim_start_matches('/'));
            if target.exists() {
                bind(&target, &target, true, true)?;
            }
        }
    }

    // pivot_root(".", ".") then detach the old root: no directory of the host
    // stays reachable (and none stays open, see the CVE-2024-21626 class).
    std::env::set_current_dir(root).map_err(|e| err("chdir", root, e))?;
    nix::unistd::pivot_root(".", ".").map_err(|e| err("pivot_root", root, e))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(|e| format!("detach old root: {e}"))?;
    std::env::set_current_dir("/").map_err(|e| format!("chdir /: {e}"))?;
    if p.read_only {
        remount_ro(Path::new("/"))?;
    }
    let _ = c(root);
    Ok(())
}
