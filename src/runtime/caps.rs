//! Linux capabilities for the container process, following Docker's rules.
//!
//! Two halves:
//!
//! * Computing the set (`effective_set`): done in the engine, before the container starts.
//!   Docker's `TweakCapabilities`: `--privileged` gets every capability; otherwise start
//!   from [`DOCKER_DEFAULT_CAPS`], apply `--cap-drop`, then `--cap-add`; `ALL` works in
//!   both (`--cap-add ALL` wins over everything but the explicit drops, `--cap-drop ALL`
//!   keeps only the explicit adds). Names are case-insensitive, with or without `CAP_`.
//!
//! * Applying it (`apply` / `apply_sets`): done in the container's init process, after
//!   the uid/gid switch and right before `execve` (see "Ordering" below). It sets the
//!   bounding set (`PR_CAPBSET_DROP`), then effective/permitted/inheritable (`capset(2)`,
//!   version 3), then the ambient set (`PR_CAP_AMBIENT`), through the `caps` crate's
//!   wrappers of those calls. The init is a fork of the single-threaded monitor, so
//!   the small sets the crate allocates are safe there; errors are returned, never
//!   panics. (Measured with `bench/runtime.sh`: no change in `run --rm` time.)
//!
//! What Docker gives the process (moby `oci.SetCapabilities`, which runc then applies):
//!
//! | `--user`      | bounding | effective | permitted | inheritable | ambient |
//! |---------------|----------|-----------|-----------|-------------|---------|
//! | uid 0         | caps     | caps      | caps      | empty       | empty   |
//! | non-zero uid  | caps     | empty     | empty     | empty       | empty   |
//!
//! Inheritable is empty for everybody since Docker 20.10.14 (CVE-2022-24769), and Docker
//! never sets ambient capabilities: a non-root user therefore execs with no effective
//! capability at all, exactly as a plain `execve` by a non-root user would, while the
//! bounding set still limits what a setuid-root or file-capability binary can gain.
//!
//! # Ordering in the container's init
//!
//! ```text
//!   (still uid 0, full capabilities in the user namespace)
//!   mounts, pivot_root, hostname, ...
//!   [seccomp: load here if no_new_privs is NOT set; loading then needs CAP_SYS_ADMIN]
//!   caps::keep_caps_across_setuid()      // only needed if the uid changes
//!   setgroups / setgid / setuid
//!   caps::apply(&caps, uid == 0)         // bounding, capset, ambient; clears keep-caps
//!   [prctl(PR_SET_NO_NEW_PRIVS) if requested; seccomp: load here if no_new_privs is set]
//!   execve
//! ```
//!
//! `apply` first raises its effective set to whatever it still has permitted, so it works
//! both as uid 0 and after a `setuid` made under `keep_caps_across_setuid` (the permitted
//! set survives a setuid only with `PR_SET_KEEPCAPS`). It needs `CAP_SETPCAP` in the
//! permitted set to shrink the bounding set.

use std::io;

/// Docker's default capability set (moby `oci/caps/defaults.go`).
pub const DOCKER_DEFAULT_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// Every capability name this module knows, indexed by capability number (capabilities(7)).
const CAP_NAMES: [&str; 41] = [
    "CAP_CHOWN",              // 0
    "CAP_DAC_OVERRIDE",       // 1
    "CAP_DAC_READ_SEARCH",    // 2
    "CAP_FOWNER",             // 3
    "CAP_FSETID",             // 4
    "CAP_KILL",               // 5
    "CAP_SETGID",             // 6
    "CAP_SETUID",             // 7
    "CAP_SETPCAP",            // 8
    "CAP_LINUX_IMMUTABLE",    // 9
    "CAP_NET_BIND_SERVICE",   // 10
    "CAP_NET_BROADCAST",      // 11
    "CAP_NET_ADMIN",          // 12
    "CAP_NET_RAW",            // 13
    "CAP_IPC_LOCK",           // 14
    "CAP_IPC_OWNER",          // 15
    "CAP_SYS_MODULE",         // 16
    "CAP_SYS_RAWIO",          // 17
    "CAP_SYS_CHROOT",         // 18
    "CAP_SYS_PTRACE",         // 19
    "CAP_SYS_PACCT",          // 20
    "CAP_SYS_ADMIN",          // 21
    "CAP_SYS_BOOT",           // 22
    "CAP_SYS_NICE",           // 23
    "CAP_SYS_RESOURCE",       // 24
    "CAP_SYS_TIME",           // 25
    "CAP_SYS_TTY_CONFIG",     // 26
    "CAP_MKNOD",              // 27
    "CAP_LEASE",              // 28
    "CAP_AUDIT_WRITE",        // 29
    "CAP_AUDIT_CONTROL",      // 30
    "CAP_SETFCAP",            // 31
    "CAP_MAC_OVERRIDE",       // 32
    "CAP_MAC_ADMIN",          // 33
    "CAP_SYSLOG",             // 34
    "CAP_WAKE_ALARM",         // 35
    "CAP_BLOCK_SUSPEND",      // 36
    "CAP_AUDIT_READ",         // 37
    "CAP_PERFMON",            // 38
    "CAP_BPF",                // 39
    "CAP_CHECKPOINT_RESTORE", // 40
];

/// Highest capability number a kernel is asked about (the v3 ABI has room for 64).
const MAX_CAP: u32 = 63;

#[derive(Debug, thiserror::Error)]
pub enum CapsError {
    #[error("unknown capability {0:?}: see capabilities(7) for valid names")]
    Unknown(String),
    #[error("{op}: {source}")]
    Apply {
        op: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("{op} {cap}: {source}")]
    ApplyCap {
        op: &'static str,
        cap: &'static str,
        #[source]
        source: io::Error,
    },
}

/// Capability number of a name (`CAP_CHOWN` -> 0 … `CAP_CHECKPOINT_RESTORE` -> 40).
/// Case-insensitive; the `CAP_` prefix is optional.
pub fn cap_number(name: &str) -> Option<u32> {
    // Allocation-free: usable in the container's init.
    let n = name.trim();
    let bare = match n.get(..4) {
        Some(p) if p.eq_ignore_ascii_case("CAP_") => &n[4..],
        _ => n,
    };
    CAP_NAMES.iter().position(|c| c[4..].eq_ignore_ascii_case(bare)).map(|i| i as u32)
}

/// Canonical name of a capability number, if this module knows it.
pub fn cap_name(number: u32) -> Option<&'static str> {
    CAP_NAMES.get(number as usize).copied()
}

/// Last capability number of the running kernel: `/proc/sys/kernel/cap_last_cap`, or, if
/// that cannot be read, probed with `PR_CAPBSET_READ` (which fails for unknown numbers).
pub fn last_cap() -> u32 {
    if let Ok(s) = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap") {
        if let Ok(n) = s.trim().parse::<u32>() {
            return n.min(MAX_CAP);
        }
    }
    probe_last_cap()
}

/// Allocation-free variant of `last_cap`, for the container's init.
fn probe_last_cap() -> u32 {
    let mut last = 0;
    for n in 0..=MAX_CAP {
        // SAFETY: PR_CAPBSET_READ takes an integer and only reads kernel state.
        let r = unsafe { libc::prctl(libc::PR_CAPBSET_READ, n as libc::c_ulong, 0, 0, 0) };
        if r < 0 {
            break;
        }
        last = n;
    }
    last
}

/// Every capability the running kernel knows (and this module can name), in number order.
/// This is what `--privileged` and `--cap-add ALL` grant.
pub fn all_caps() -> Vec<&'static str> {
    let last = last_cap() as usize;
    CAP_NAMES.iter().take(last + 1).copied().collect()
}

/// Normalise one `--cap-add`/`--cap-drop` value: upper-case, `CAP_` prefix added; `ALL`
/// (any case) stays `ALL`. Unknown names, and names the running kernel does not have, are
/// an error.
pub fn normalize_cap(name: &str) -> Result<String, CapsError> {
    let upper = name.trim().to_ascii_uppercase();
    if upper == "ALL" {
        return Ok(upper);
    }
    match cap_number(&upper) {
        Some(n) if n <= last_cap() => Ok(CAP_NAMES[n as usize].to_string()),
        _ => Err(CapsError::Unknown(name.to_string())),
    }
}

/// Normalise a list of `--cap-add`/`--cap-drop` values (see [`normalize_cap`]).
pub fn parse_cap_list<S: AsRef<str>>(names: &[S]) -> Result<Vec<String>, CapsError> {
    names.iter().map(|n| normalize_cap(n.as_ref())).collect()
}

/// Bit mask (bit n = capability n) of a list of capability names. `ALL` sets every bit up
/// to the kernel's last capability.
pub fn caps_to_mask<S: AsRef<str>>(names: &[S]) -> Result<u64, CapsError> {
    let mut mask = 0u64;
    for name in names {
        let name = name.as_ref();
        if name.trim().eq_ignore_ascii_case("ALL") {
            mask |= mask_upto(last_cap());
            continue;
        }
        let n = cap_number(name).ok_or_else(|| CapsError::Unknown(name.to_string()))?;
        mask |= 1u64 << n;
    }
    Ok(mask)
}

/// Canonical names of the capabilities in a mask, in number order (unnamed bits skipped).
pub fn mask_to_caps(mask: u64) -> Vec<&'static str> {
    (0..CAP_NAMES.len()).filter(|&n| mask & (1u64 << n) != 0).map(|n| CAP_NAMES[n]).collect()
}

fn mask_upto(last: u32) -> u64 {
    if last >= 63 {
        u64::MAX
    } else {
        (1u64 << (last + 1)) - 1
    }
}

/// The capability set of the container (its bounding set; for a root user also its
/// effective and permitted sets), by Docker's rules:
///
/// * `privileged`: every capability of the running kernel ([`all_caps`]); `add`/`drop` are
///   ignored, as Docker does (their names are still validated).
/// * `add` contains `ALL`: every capability except those in `drop`.
/// * `drop` contains `ALL`: exactly the capabilities in `add`.
/// * otherwise: [`DOCKER_DEFAULT_CAPS`] minus `drop`, plus `add` (drop first, then add, so
///   a name in both lists ends up added).
///
/// Names are case-insensitive, with or without `CAP_`. The result is de-duplicated and
/// sorted alphabetically, with canonical `CAP_…` names.
pub fn effective_set(privileged: bool, add: &[String], drop: &[String]) -> Result<Vec<String>, CapsError> {
    let add = parse_cap_list(add)?;
    let drop = parse_cap_list(drop)?;
    let all = || all_caps().into_iter().map(str::to_string);
    let mut caps: Vec<String> = if privileged {
        all().collect()
    } else if add.iter().any(|c| c == "ALL") {
        all().filter(|c| !drop.contains(c)).collect()
    } else if drop.iter().any(|c| c == "ALL") {
        add
    } else {
        DOCKER_DEFAULT_CAPS.iter().map(|c| c.to_string()).filter(|c| !drop.contains(c)).chain(add).collect()
    };
    caps.sort();
    caps.dedup();
    Ok(caps)
}

// ---------------------------------------------------------------------------------------
// Applying capabilities (the container's init, a single-threaded child): through
// the `caps` crate's capget/capset/prctl wrappers.

/// The five capability sets of a process, as bit masks (bit n = capability n).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CapSets {
    pub bounding: u64,
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
    pub ambient: u64,
}

impl CapSets {
    /// What Docker gives the container process for capability set `caps` (see the module
    /// documentation): root gets bounding = effective = permitted = caps; any other user
    /// gets only the bounding set. Inheritable and ambient are empty.
    pub fn docker(caps: &[String], user_is_root: bool) -> Result<CapSets, CapsError> {
        let mask = caps_to_mask(caps)?;
        Ok(if user_is_root {
            CapSets { bounding: mask, effective: mask, permitted: mask, ..Default::default() }
        } else {
            CapSets { bounding: mask, ..Default::default() }
        })
    }
}

/// The bit mask (bit n = capability n) of a set the `caps` crate read.
fn mask_of(set: &caps::CapsHashSet) -> u64 {
    set.iter().fold(0, |m, c| m | c.bitmask())
}

/// The capabilities of a mask that the `caps` crate can name.
fn set_of(mask: u64) -> caps::CapsHashSet {
    caps::all().into_iter().filter(|c| mask & c.bitmask() != 0).collect()
}

fn apply_err(op: &'static str) -> impl Fn(caps::errors::CapsError) -> CapsError {
    move |e| CapsError::Apply { op, source: io::Error::other(e.to_string()) }
}

fn cap_label(n: u32) -> &'static str {
    cap_name(n).unwrap_or("(unnamed capability)")
}

/// Keep the permitted capabilities across the coming `setuid`/`setresuid` to a non-zero
/// uid (`PR_SET_KEEPCAPS`). Call as uid 0 right before switching user; [`apply`] clears
/// the flag again. Without it the kernel empties the permitted set on that switch and
/// [`apply`] can no longer shrink the bounding set.
pub fn keep_caps_across_setuid() -> Result<(), CapsError> {
    caps::securebits::set_keepcaps(true).map_err(apply_err("prctl(PR_SET_KEEPCAPS)"))
}

/// Apply Docker's capability sets for `caps` (see [`CapSets::docker`]) to the calling
/// process: the container's init, after its uid/gid switch, right before `execve` (see the
/// module documentation for the order). `user_is_root` is whether the container's
/// configured user is uid 0. To avoid parsing names in the child, build the
/// [`CapSets`] in the parent and call [`apply_sets`].
///
/// Capabilities in `caps` that the calling process does not hold in its permitted set
/// (e.g. `CAP_SYS_RESOURCE` when the engine itself runs without it) cannot be granted and
/// are left out silently, as Docker leaves out capabilities missing from its own
/// environment for `--privileged`.
pub fn apply(caps: &[String], user_is_root: bool) -> Result<(), CapsError> {
    let sets = CapSets::docker(caps, user_is_root)?;
    apply_sets(&sets)
}

/// Apply explicit capability sets (e.g. an OCI `process.capabilities`) to the calling
/// process. Steps: raise effective to the current permitted set (so `CAP_SETPCAP` is
/// usable), drop every capability outside `sets.bounding` from the bounding set, clear
/// `PR_SET_KEEPCAPS`, `capset(2)` effective/permitted/inheritable, then clear the ambient
/// set and raise `sets.ambient` in it. Requested capabilities the process does not
/// currently have permitted are masked out (the kernel would refuse them).
pub fn apply_sets(sets: &CapSets) -> Result<(), CapsError> {
    use caps::CapSet;
    let known = mask_upto(probe_last_cap());
    let have = mask_of(&caps::read(None, CapSet::Permitted).map_err(apply_err("capget"))?);
    // Make everything still permitted effective, so CAP_SETPCAP can shrink the bounding set.
    caps::set(None, CapSet::Effective, &set_of(have)).map_err(apply_err("capset (raising effective capabilities)"))?;

    // Bounding set: every capability the kernel has there and the container must not.
    for cap in caps::all() {
        if sets.bounding & cap.bitmask() != 0 || !caps::has_cap(None, CapSet::Bounding, cap).unwrap_or(false) {
            continue;
        }
        caps::drop(None, CapSet::Bounding, cap).map_err(|e| CapsError::ApplyCap {
            op: "dropping from the bounding set",
            cap: cap_label(cap.index() as u32),
            source: io::Error::other(e.to_string()),
        })?;
    }
    caps::securebits::set_keepcaps(false).map_err(apply_err("prctl(PR_SET_KEEPCAPS, 0)"))?;

    let permitted = sets.permitted & have & known;
    let effective = sets.effective & permitted;
    // Inheritable may only grow within the bounding set (without CAP_SETPCAP, within the
    // old inheritable + permitted); keep it inside what we can justify.
    let inheritable = sets.inheritable & known & (have | sets.bounding);
    // Effective first (it must stay within permitted), then permitted shrinks to it.
    caps::set(None, CapSet::Effective, &set_of(effective)).map_err(apply_err("capset"))?;
    caps::set(None, CapSet::Permitted, &set_of(permitted)).map_err(apply_err("capset"))?;
    caps::set(None, CapSet::Inheritable, &set_of(inheritable)).map_err(apply_err("capset"))?;

    // Ambient: clear, then raise (each must be permitted and inheritable). Kernels
    // before 4.3 have no ambient set: nothing to clear there.
    if caps::runtime::ambient_set_supported().is_ok() {
        caps::clear(None, CapSet::Ambient).map_err(apply_err("clearing the ambient capability set"))?;
    } else if sets.ambient != 0 {
        return Err(CapsError::Apply { op: "the ambient capability set", source: io::Error::other("not supported") });
    }
    for cap in set_of(sets.ambient & permitted & inheritable) {
        caps::raise(None, CapSet::Ambient, cap).map_err(|e| CapsError::ApplyCap {
            op: "raising ambient capability",
            cap: cap_label(cap.index() as u32),
            source: io::Error::other(e.to_string()),
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::in_child;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    fn sorted(v: &[&str]) -> Vec<String> {
        let mut v = s(v);
        v.sort();
        v
    }

    #[test]
    fn numbers_and_names() {
        assert_eq!(cap_number("CAP_CHOWN"), Some(0));
        assert_eq!(cap_number("chown"), Some(0));
        assert_eq!(cap_number("cap_sys_admin"), Some(21));
        assert_eq!(cap_number("CAP_CHECKPOINT_RESTORE"), Some(40));
        assert_eq!(cap_number("CAP_BPF"), Some(39));
        assert_eq!(cap_number("CAP_NOPE"), None);
        assert_eq!(cap_number("CAP_"), None);
        assert_eq!(cap_number("é"), None);
        assert_eq!(cap_number("Cap_Kill"), Some(5));
        assert_eq!(cap_name(21), Some("CAP_SYS_ADMIN"));
        for (i, n) in CAP_NAMES.iter().enumerate() {
            assert_eq!(cap_number(n), Some(i as u32));
        }
        for c in DOCKER_DEFAULT_CAPS {
            assert!(cap_number(c).is_some(), "{c}");
        }
    }

    #[test]
    fn all_caps_matches_kernel() {
        let last = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap").unwrap();
        let last: usize = last.trim().parse().unwrap();
        let all = all_caps();
        assert_eq!(all.len(), (last + 1).min(CAP_NAMES.len()));
        assert_eq!(all[0], "CAP_CHOWN");
        assert_eq!(probe_last_cap() as usize, last);
    }

    #[test]
    fn defaults() {
        let caps = effective_set(false, &[], &[]).unwrap();
        assert_eq!(caps, sorted(DOCKER_DEFAULT_CAPS));
        assert_eq!(caps.len(), 14);
    }

    #[test]
    fn drop_all_add_one() {
        let caps = effective_set(false, &s(&["NET_ADMIN"]), &s(&["ALL"])).unwrap();
        assert_eq!(caps, s(&["CAP_NET_ADMIN"]));
        let caps = effective_set(false, &[], &s(&["all"])).unwrap();
        assert!(caps.is_empty());
    }

    #[test]
    fn add_all_drop_one() {
        let caps = effective_set(false, &s(&["ALL"]), &s(&["chown"])).unwrap();
        assert!(!caps.contains(&"CAP_CHOWN".to_string()));
        assert!(caps.contains(&"CAP_SYS_ADMIN".to_string()));
        assert_eq!(caps.len(), all_caps().len() - 1);
        // ALL in both lists: add ALL wins (Docker checks add first).
        let caps = effective_set(false, &s(&["all"]), &s(&["ALL"])).unwrap();
        assert_eq!(caps.len(), all_caps().len());
    }

    #[test]
    fn drop_then_add() {
        let caps = effective_set(false, &s(&["sys_admin", "Cap_Net_Admin"]), &s(&["CAP_CHOWN", "mknod"])).unwrap();
        let mut want: Vec<String> = DOCKER_DEFAULT_CAPS
            .iter()
            .filter(|c| **c != "CAP_CHOWN" && **c != "CAP_MKNOD")
            .map(|c| c.to_string())
            .collect();
        want.push("CAP_SYS_ADMIN".into());
        want.push("CAP_NET_ADMIN".into());
        want.sort();
        assert_eq!(caps, want);
        // In both lists: dropped, then added back.
        let caps = effective_set(false, &s(&["CHOWN"]), &s(&["chown"])).unwrap();
        assert!(caps.contains(&"CAP_CHOWN".to_string()));
        // Duplicates collapse.
        let caps = effective_set(false, &s(&["KILL", "kill"]), &[]).unwrap();
        assert_eq!(caps.len(), 14);
    }

    #[test]
    fn privileged() {
        let caps = effective_set(true, &[], &[]).unwrap();
        let mut all: Vec<String> = all_caps().into_iter().map(String::from).collect();
        all.sort();
        assert_eq!(caps, all);
        // Docker ignores --cap-drop with --privileged.
        assert_eq!(effective_set(true, &[], &s(&["CHOWN"])).unwrap(), all);
    }

    #[test]
    fn unknown_names() {
        let e = effective_set(false, &s(&["NET_FOO"]), &[]).unwrap_err();
        assert_eq!(e.to_string(), "unknown capability \"NET_FOO\": see capabilities(7) for valid names");
        assert!(effective_set(false, &[], &s(&["CAP_BOGUS"])).is_err());
        assert!(effective_set(true, &s(&["bogus"]), &[]).is_err());
        assert!(effective_set(false, &s(&[""]), &[]).is_err());
        assert!(matches!(normalize_cap("CAP_"), Err(CapsError::Unknown(_))));
        assert_eq!(normalize_cap(" sys_time ").unwrap(), "CAP_SYS_TIME");
        assert_eq!(normalize_cap("All").unwrap(), "ALL");
    }

    #[test]
    fn masks() {
        assert_eq!(caps_to_mask(&["CAP_CHOWN", "kill"]).unwrap(), 1 | 1 << 5);
        assert_eq!(mask_to_caps(1 | 1 << 21), vec!["CAP_CHOWN", "CAP_SYS_ADMIN"]);
        assert!(caps_to_mask(&["nope"]).is_err());
        let d = CapSets::docker(&s(&["CAP_CHOWN"]), false).unwrap();
        assert_eq!(d, CapSets { bounding: 1, ..Default::default() });
        let d = CapSets::docker(&s(&["CAP_CHOWN"]), true).unwrap();
        assert_eq!(d, CapSets { bounding: 1, effective: 1, permitted: 1, ..Default::default() });
    }

    // ---- apply, in forked children ---------------------------------------------------

    /// Read a hex field ("CapEff:") of /proc/self/status without allocating.
    fn status_field(field: &[u8]) -> Option<u64> {
        let mut buf = [0u8; 8192];
        // SAFETY: plain open/read/close on a stack buffer.
        let fd = unsafe { libc::open(c"/proc/self/status".as_ptr(), libc::O_RDONLY) };
        if fd < 0 {
            return None;
        }
        let mut len = 0;
        loop {
            let r = unsafe { libc::read(fd, buf[len..].as_mut_ptr().cast(), buf.len() - len) };
            if r <= 0 {
                break;
            }
            len += r as usize;
        }
        unsafe { libc::close(fd) };
        let text = &buf[..len];
        let pos = text.windows(field.len()).position(|w| w == field)?;
        let mut v = 0u64;
        for &b in text[pos + field.len()..].iter().skip_while(|b| **b == b'\t' || **b == b' ') {
            let d = match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                _ => break,
            };
            v = v << 4 | d as u64;
        }
        Some(v)
    }

    fn is_root() -> bool {
        unsafe { libc::geteuid() == 0 }
    }

    #[test]
    fn apply_root_in_child() {
        if !is_root() {
            eprintln!("skipped: needs root");
            return;
        }
        let caps = s(&["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
        let want = 1u64 | 1 << 5 | 1 << 10;
        let code = in_child(|| {
            if apply(&caps, true).is_err() {
                return 10;
            }
            if status_field(b"CapBnd:") != Some(want) {
                return 11;
            }
            if status_field(b"CapEff:") != Some(want) {
                return 12;
            }
            if status_field(b"CapPrm:") != Some(want) {
                return 13;
            }
            if status_field(b"CapInh:") != Some(0) {
                return 14;
            }
            if status_field(b"CapAmb:") != Some(0) {
                return 15;
            }
            // CAP_SYS_ADMIN is gone for real: sethostname now fails with EPERM.
            let r = unsafe { libc::sethostname(b"x".as_ptr().cast(), 1) };
            if r == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::EPERM) {
                return 16;
            }
            0
        });
        assert_eq!(code, 0);
    }

    #[test]
    fn apply_non_root_user_in_child() {
        if !is_root() {
            eprintln!("skipped: needs root");
            return;
        }
        let caps = effective_set(false, &[], &s(&["setuid"])).unwrap(); // even without CAP_SETUID
        let want = caps_to_mask(&caps).unwrap();
        let code = in_child(|| {
            if keep_caps_across_setuid().is_err() {
                return 20;
            }
            unsafe {
                if libc::setgroups(0, std::ptr::null()) != 0 || libc::setresgid(1000, 1000, 1000) != 0 {
                    return 21;
                }
                if libc::setresuid(1000, 1000, 1000) != 0 {
                    return 22;
                }
            }
            if apply(&caps, false).is_err() {
                return 23;
            }
            if status_field(b"CapBnd:") != Some(want) {
                return 24;
            }
            if status_field(b"CapEff:") != Some(0) || status_field(b"CapPrm:") != Some(0) {
                return 25;
            }
            if status_field(b"CapInh:") != Some(0) || status_field(b"CapAmb:") != Some(0) {
                return 26;
            }
            // PR_SET_KEEPCAPS was cleared again.
            if unsafe { libc::prctl(libc::PR_GET_KEEPCAPS, 0, 0, 0, 0) } != 0 {
                return 27;
            }
            0
        });
        assert_eq!(code, 0);
    }

    #[test]
    fn apply_ambient_in_child() {
        if !is_root() {
            eprintln!("skipped: needs root");
            return;
        }
        let code = in_child(|| {
            let sets = CapSets {
                bounding: 1 << 10 | 1 << 0,
                effective: 1 << 10,
                permitted: 1 << 10,
                inheritable: 1 << 10,
                ambient: 1 << 10,
            };
            if apply_sets(&sets).is_err() {
                return 30;
            }
            if status_field(b"CapAmb:") != Some(1 << 10) || status_field(b"CapBnd:") != Some(1 | 1 << 10) {
                return 31;
            }
            0
        });
        assert_eq!(code, 0);
    }

    #[test]
    fn apply_privileged_in_child() {
        if !is_root() {
            eprintln!("skipped: needs root");
            return;
        }
        // Every kernel capability, including any this process does not hold (here the host
        // may lack some, e.g. CAP_SYS_RESOURCE): those are left out instead of failing.
        let all = effective_set(true, &[], &[]).unwrap();
        let have = status_field(b"CapPrm:").unwrap();
        let code = in_child(|| {
            if apply(&all, true).is_err() {
                return 40;
            }
            if status_field(b"CapEff:") != Some(have) || status_field(b"CapPrm:") != Some(have) {
                return 41;
            }
            0
        });
        assert_eq!(code, 0);
    }

    #[test]
    fn apply_unknown_name_is_error() {
        assert!(matches!(apply(&s(&["CAP_NOPE"]), true), Err(CapsError::Unknown(_))));
    }
}
