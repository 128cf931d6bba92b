//! `rcon doctor`: a preflight of what rootless containers need from the
//! host, each problem with the exact command that fixes it.
//!
//! `RCON_TUN_DEVICE` and `RCON_FUSE_DEVICE` name other device paths to check
//! than /dev/net/tun and /dev/fuse: tests point them at a 0600 copy made with
//! mknod instead of changing the real devices under concurrent tests.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::Engine;
use crate::storage::userns::subordinate_ranges;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Level {
    Ok,
    /// Works, with less (a fallback is used).
    Warn,
    Fail,
}

#[derive(Debug, Clone)]
pub struct Check {
    pub name: &'static str,
    pub level: Level,
    pub detail: String,
    /// The command that fixes it (for Warn and Fail).
    pub fix: Option<String>,
}

fn ok(name: &'static str, detail: impl Into<String>) -> Check {
    Check { name, level: Level::Ok, detail: detail.into(), fix: None }
}

fn bad(name: &'static str, level: Level, detail: impl Into<String>, fix: impl Into<String>) -> Check {
    Check { name, level, detail: detail.into(), fix: Some(fix.into()) }
}

pub fn run(engine: &Engine) -> Vec<Check> {
    let rootless = engine.paths.rootless;
    let uid = unsafe { libc::geteuid() };
    let user = nix::unistd::User::from_uid(uid.into()).ok().flatten().map(|u| u.name).unwrap_or(uid.to_string());
    let mut v = Vec::new();
    if rootless {
        for tool in ["newuidmap", "newgidmap"] {
            v.push(id_mapper(tool));
        }
        v.push(ranges("subuid", "/etc/subuid", "--add-subuids", &user, uid));
        v.push(ranges("subgid", "/etc/subgid", "--add-subgids", &user, uid));
    }
    let tun = std::env::var("RCON_TUN_DEVICE").unwrap_or_else(|_| "/dev/net/tun".into());
    v.push(device("tun", &tun, "modprobe tun", "slirp4netns and pasta cannot give containers a network"));
    let fuse = std::env::var("RCON_FUSE_DEVICE").unwrap_or_else(|_| "/dev/fuse".into());
    v.push(device("fuse", &fuse, "modprobe fuse", "fuse-overlayfs cannot mount container roots"));
    let driver = crate::storage::driver::detect(rootless);
    v.push(match driver.name() {
        "vfs" => bad(
            "overlay",
            Level::Warn,
            "no overlay the user can mount (kernel < 5.11 and no fuse-overlayfs): every container gets a full copy",
            "sudo apt-get install fuse-overlayfs",
        ),
        name => ok("overlay", format!("containers use {name}")),
    });
    let net: Vec<&str> = ["slirp4netns", "pasta"].into_iter().filter(|t| crate::util::which(t).is_some()).collect();
    v.push(if net.is_empty() {
        bad(
            "network",
            Level::Warn,
            "neither slirp4netns nor pasta is installed: rootless containers get no network",
            "sudo apt-get install slirp4netns passt",
        )
    } else {
        ok("network", format!("found {}", net.join(", ")))
    });
    if rootless {
        v.push(runtime_dir(uid));
        v.push(linger(&user));
    }
    v.push(cgroups(rootless, &user));
    v
}

fn id_mapper(tool: &'static str) -> Check {
    let Some(path) = crate::util::which(tool) else {
        return bad(
            tool,
            Level::Fail,
            "not installed: containers cannot map subordinate ids",
            "sudo apt-get install uidmap",
        );
    };
    let setuid = std::fs::metadata(&path).map(|m| m.permissions().mode() & 0o4000 != 0).unwrap_or(false);
    let caps = xattr_present(&path, "security.capability");
    if setuid || caps {
        ok(tool, format!("{} ({})", path.display(), if setuid { "setuid" } else { "file capabilities" }))
    } else {
        bad(
            tool,
            Level::Fail,
            format!("{} is neither setuid nor has file capabilities", path.display()),
            format!("sudo chmod u+s {}", path.display()),
        )
    }
}

fn xattr_present(path: &Path, name: &str) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let (Ok(p), Ok(n)) = (std::ffi::CString::new(path.as_os_str().as_bytes()), std::ffi::CString::new(name)) else {
        return false;
    };
    unsafe { libc::getxattr(p.as_ptr(), n.as_ptr(), std::ptr::null_mut(), 0) > 0 }
}

/// A free range for the fix: after every range in the file, at 100000 or more.
fn free_range(file: &str) -> (u64, u64) {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let end = text
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.trim().split(':').collect();
            (f.len() == 3).then(|| Some(f[1].parse::<u64>().ok()? + f[2].parse::<u64>().ok()?)).flatten()
        })
        .max()
        .unwrap_or(0)
        .max(100_000);
    (end, end + 65_535)
}

fn ranges(name: &'static str, file: &str, flag: &str, user: &str, uid: u32) -> Check {
    let r = subordinate_ranges(file, user, uid);
    let total: u64 = r.iter().map(|(_, c)| *c as u64).sum();
    if total >= 65_536 {
        return ok(name, format!("{total} ids for {user} in {file}"));
    }
    let (a, b) = free_range(file);
    let what = if total == 0 {
        format!(
            "no subordinate {} range for {user} in {file}: images' files owned by other ids will all be yours",
            &name[3..]
        )
    } else {
        format!("only {total} subordinate ids for {user} in {file}: images using ids above that fail")
    };
    bad(name, Level::Fail, what, format!("sudo usermod {flag} {a}-{b} {user}"))
}

fn device(name: &'static str, path: &str, load: &str, consequence: &str) -> Check {
    match std::fs::OpenOptions::new().read(true).write(true).open(path) {
        Ok(_) => ok(name, format!("{path} is usable")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bad(name, Level::Fail, format!("{path} does not exist: {consequence}"), format!("sudo {load}"))
        }
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => bad(
            name,
            Level::Fail,
            format!("{path} is not readable and writable by you (mode {:o}): {consequence}", mode(path)),
            format!("sudo chmod 0666 {path}"),
        ),
        Err(e) => bad(name, Level::Fail, format!("{path}: {e}: {consequence}"), format!("sudo {load}")),
    }
}

fn mode(path: &str) -> u32 {
    std::fs::metadata(path).map(|m| m.permissions().mode() & 0o7777).unwrap_or(0)
}

fn runtime_dir(uid: u32) -> Check {
    match std::env::var("XDG_RUNTIME_DIR").ok().filter(|v| !v.is_empty()) {
        Some(d) if Path::new(&d).is_dir() => ok("XDG_RUNTIME_DIR", d),
        other => bad(
            "XDG_RUNTIME_DIR",
            Level::Warn,
            format!(
                "{}: rcon keeps its runtime files in /tmp/rcon-{uid} instead",
                match other {
                    Some(d) => format!("{d} does not exist"),
                    None => "not set (su and runuser do not set it)".into(),
                }
            ),
            format!("export XDG_RUNTIME_DIR=/run/user/{uid}   # where your login session has one"),
        ),
    }
}

fn linger(user: &str) -> Check {
    if !Path::new("/run/systemd/system").exists() {
        return bad(
            "lingering",
            Level::Warn,
            "systemd is not running: restart policies come back at boot only through cron",
            "crontab -e   # and add the line in contrib/rcon-restart.cron",
        );
    }
    if Path::new("/var/lib/systemd/linger").join(user).exists() {
        ok("lingering", format!("enabled for {user}"))
    } else {
        bad(
            "lingering",
            Level::Warn,
            format!("not enabled for {user}: your containers stop when you log out and do not come back at boot"),
            format!("sudo loginctl enable-linger {user}"),
        )
    }
}

fn cgroups(rootless: bool, user: &str) -> Check {
    if !crate::runtime::cgroups::is_v2() {
        return if rootless {
            bad(
                "cgroups",
                Level::Warn,
                "cgroup v1: no cgroup is delegated to users, so --memory, --cpus and --pids-limit are refused rootless",
                "add systemd.unified_cgroup_hierarchy=1 to the kernel command line (GRUB_CMDLINE_LINUX in /etc/default/grub), then sudo update-grub and reboot",
            )
        } else {
            ok("cgroups", "cgroup v1, as root: limits work")
        };
    }
    if !rootless {
        return ok("cgroups", "cgroup v2, as root: limits work");
    }
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let rel = own.lines().find_map(|l| l.strip_prefix("0::")).unwrap_or("/").to_string();
    let ctl = std::fs::read_to_string(format!("/sys/fs/cgroup{rel}/cgroup.controllers")).unwrap_or_default();
    let missing: Vec<&str> =
        ["memory", "cpu", "pids"].into_iter().filter(|c| !ctl.split_whitespace().any(|x| x == *c)).collect();
    if missing.is_empty() {
        ok("cgroups", format!("cgroup v2 with memory, cpu and pids delegated to {user}"))
    } else {
        bad(
            "cgroups",
            Level::Warn,
            format!("cgroup v2 without {} delegated to {user}: those limits are refused", missing.join(", ")),
            "sudo mkdir -p /etc/systemd/system/user@.service.d && printf '[Service]\\nDelegate=memory cpu pids cpuset\\n' | sudo tee /etc/systemd/system/user@.service.d/delegate.conf && sudo systemctl daemon-reload",
        )
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn free_range_follows_the_last_one() {
        let t = crate::testutil::TempDir::new("doctor");
        let f = t.join("subuid");
        std::fs::write(&f, "a:100000:65536\nb:165536:65536\n").unwrap();
        assert_eq!(super::free_range(f.to_str().unwrap()), (231072, 296607));
        assert_eq!(super::free_range("/nonexistent"), (100000, 165535));
    }
}
