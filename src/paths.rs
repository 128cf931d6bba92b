//! Where rcon keeps its state (docs/ARCHITECTURE.md, "Where things live").
//!
//! Rootless: XDG directories. Root: /var/lib/rcon, /run/rcon, /etc/rcon.
//! `RCON_ROOT`, `RCON_RUNROOT` and `RCON_CONFIG` (or the global `--root` and
//! `--runroot` flags) override either, which is how tests give every case its
//! own store, rootful ones included.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Paths {
    /// Images, layers, containers' writable layers, volumes.
    pub data: PathBuf,
    /// Pids, sockets, locks: things that must not survive a reboot.
    pub runtime: PathBuf,
    /// registries.conf, auth.json, certs.d.
    pub config: PathBuf,
    /// True when not running as real root: a user namespace maps our ids.
    pub rootless: bool,
}

impl Paths {
    pub fn detect(root: Option<PathBuf>, runroot: Option<PathBuf>) -> Paths {
        let uid = unsafe { libc::geteuid() };
        let rootless = uid != 0;
        let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
        let home = || env("HOME").or_else(home_from_passwd).unwrap_or_else(|| PathBuf::from("/"));
        let data = root.or_else(|| env("RCON_ROOT")).unwrap_or_else(|| {
            if rootless {
                env("XDG_DATA_HOME").unwrap_or_else(|| home().join(".local/share")).join("rcon")
            } else {
                PathBuf::from("/var/lib/rcon")
            }
        });
        let runtime = runroot.or_else(|| env("RCON_RUNROOT")).unwrap_or_else(|| {
            if rootless {
                // su/runuser do not set XDG_RUNTIME_DIR; a dir we cannot
                // write (another user's) is no better than none.
                match env("XDG_RUNTIME_DIR").filter(|p| is_writable_dir(p)) {
                    Some(p) => p.join("rcon"),
                    None => PathBuf::from(format!("/tmp/rcon-{uid}")),
                }
            } else {
                PathBuf::from("/run/rcon")
            }
        });
        let config = env("RCON_CONFIG").unwrap_or_else(|| {
            if rootless {
                env("XDG_CONFIG_HOME").unwrap_or_else(|| home().join(".config")).join("rcon")
            } else {
                PathBuf::from("/etc/rcon")
            }
        });
        Paths { data, runtime, config, rootless }
    }
}

/// The helper modes' arguments that carry the paths: a re-executed helper
/// (monitor, healthcheck) must use exactly the store of the command that
/// started it, whatever `--root`, `--runroot` or the environment said.
const ARG_DATA: &str = "--root=";
const ARG_RUNTIME: &str = "--runroot=";
const ARG_CONFIG: &str = "--config=";

impl Paths {
    /// The arguments that give a helper these paths (see [`Paths::from_args`]).
    pub fn to_args(&self) -> Vec<std::ffi::OsString> {
        let arg = |k: &str, p: &Path| {
            let mut a = std::ffi::OsString::from(k);
            a.push(p);
            a
        };
        vec![arg(ARG_DATA, &self.data), arg(ARG_RUNTIME, &self.runtime), arg(ARG_CONFIG, &self.config)]
    }

    /// The paths a helper was given by [`Paths::to_args`]; None unless all
    /// three are there. The other arguments are returned.
    pub fn from_args(args: &[String]) -> Option<(Paths, Vec<String>)> {
        let (mut data, mut runtime, mut config, mut rest) = (None, None, None, Vec::new());
        for a in args {
            if let Some(v) = a.strip_prefix(ARG_DATA) {
                data = Some(PathBuf::from(v));
            } else if let Some(v) = a.strip_prefix(ARG_RUNTIME) {
                runtime = Some(PathBuf::from(v));
            } else if let Some(v) = a.strip_prefix(ARG_CONFIG) {
                config = Some(PathBuf::from(v));
            } else {
                rest.push(a.clone());
            }
        }
        let rootless = unsafe { libc::geteuid() } != 0;
        Some((Paths { data: data?, runtime: runtime?, config: config?, rootless }, rest))
    }
}

fn is_writable_dir(p: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(p.as_os_str().as_bytes()) else {
        return false;
    };
    unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) == 0 }
}

fn home_from_passwd() -> Option<PathBuf> {
    let uid = nix::unistd::getuid();
    nix::unistd::User::from_uid(uid).ok().flatten().map(|u| u.dir)
}
