//! Seccomp filters for the container process, compatible with Docker's profiles.
//!
//! * [`docker_default`] compiles Docker's default profile (moby
//!   `profiles/seccomp/default.json`, embedded as `seccomp_default.json`) for a capability
//!   set; [`from_profile_json`] / [`from_profile_file`] compile a user profile given with
//!   `--security-opt seccomp=FILE`. Both go through the same code path, which follows
//!   Docker (rule selection by `includes`/`excludes`) and runc (rule generation with
//!   libseccomp).
//! * The result is a [`Filter`]: a finished classic-BPF program. Compile it in the engine
//!   (allocation heavy, uses libseccomp), then [`Filter::load`] it in the container's init
//!   right before `execve` (no allocation, plain `seccomp(2)`). [`Filter::to_bpf`] and
//!   [`Filter::from_bpf`] let the caller cache compiled programs.
//!
//! Profile semantics (Docker's `setupSeccomp`, then runc's `InitSeccomp`):
//!
//! * `defaultAction` (+ `defaultErrnoRet`, default `EPERM`) applies to every syscall no rule
//!   matches.
//! * Architectures: `architectures` lists them directly; otherwise the `archMap` entry whose
//!   `architecture` is the native one contributes it and its `subArchitectures` (on x86_64:
//!   x86_64, x86 and x32). The native architecture is always in the filter. Calls from an
//!   architecture not in the filter kill the thread (libseccomp's default bad-arch action).
//! * A rule applies when all `includes.caps` are in the capability set, none of
//!   `excludes.caps` is, the host architecture (Go names: `amd64`, `arm64`, …) is in
//!   `includes.arches` (if given) and not in `excludes.arches`, and the running kernel is at
//!   least `includes.minKernel`. Docker checks the caps against the container's *bounding*
//!   set, i.e. the result of `caps::effective_set`.
//! * A rule whose action equals the default action is skipped. Rules with several
//!   conditions on the same argument become one rule per condition (OR), as in runc; other
//!   conditions are ANDed. `SCMP_CMP_MASKED_EQ` uses `value` as the mask and `valueTwo` as
//!   the expected result.
//! * Syscall names unknown to the installed libseccomp are skipped, as runc does. Exception:
//!   syscalls from the kernel's unified numbering (424 and up: `fchmodat2`, `cachestat`,
//!   `futex_wait`, `mseal`, …) that libseccomp 2.5 does not know yet are still handled when
//!   their rule has no argument conditions, by a small BPF prologue matching them by number
//!   (on x86_64/x86/x32, arm64/arm, riscv64, s390x/s390, ppc*).
//! * Like runc, when the default action is not an "allow" action, the prologue also answers
//!   `ENOSYS` (instead of the default action) for syscall numbers above the highest one the
//!   profile mentions, so that a libc probing a syscall newer than the profile falls back
//!   (glibc's `fchmodat` → `fchmodat2`, `clone3`, …) instead of failing with `EPERM`.
//!
//! # Ordering in the container's init
//!
//! Loading a filter needs either `no_new_privs` or `CAP_SYS_ADMIN` (uid 0 in the
//! container's user namespace has it). Follow runc:
//!
//! * no_new_privs **not** requested (Docker's default): load the filter while still uid 0
//!   with full capabilities, after all mounts/pivot_root (the default profile blocks
//!   `mount` without `CAP_SYS_ADMIN`), *before* the setuid and `caps::apply` (which may drop
//!   `CAP_SYS_ADMIN`). The default profile allows everything that remains (`capset`,
//!   `prctl`, `setresuid`, `setgroups`, `execve`, …).
//! * no_new_privs requested: `caps::apply`, then [`set_no_new_privs`], then
//!   [`Filter::load`] as the very last step before `execve`.
//!
//! `--privileged` and `seccomp=unconfined` mean no filter at all (Docker disables seccomp
//! for privileged containers): the caller simply does not load one.

use std::collections::HashMap;
use std::io::{self, Read, Seek};
use std::os::fd::FromRawFd;
use std::path::Path;

use libseccomp::{ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall};
use serde::Deserialize;

/// Docker's default seccomp profile, in Docker's JSON format.
pub const DEFAULT_PROFILE_JSON: &str = include_str!("seccomp_default.json");

#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    #[error("reading seccomp profile {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("seccomp profile {path}: {source}")]
    InFile {
        path: String,
        #[source]
        source: Box<SeccompError>,
    },
    #[error("invalid seccomp profile json: {0}")]
    Json(#[from] serde_json::Error),
    #[error("unknown seccomp action {action:?} for {context}")]
    UnknownAction { action: String, context: String },
    #[error("seccomp action {action} for {context} is not supported")]
    UnsupportedAction { action: String, context: String },
    #[error("errnoRet {value} for {context} is out of range (0-65535)")]
    ErrnoRange { value: u64, context: String },
    #[error("unknown seccomp comparison operator {op:?} for syscall {syscall}")]
    UnknownOp { op: String, syscall: String },
    #[error("seccomp argument index {index} for syscall {syscall} is out of range (0-5)")]
    ArgIndex { index: u32, syscall: String },
    #[error("unknown seccomp architecture {0:?}")]
    UnknownArch(String),
    #[error("unknown seccomp flag {0:?}")]
    UnknownFlag(String),
    #[error("seccomp flag {0} is not supported")]
    UnsupportedFlag(String),
    #[error("invalid minKernel {value:?} for syscall {syscall}: expected a version like \"4.8\"")]
    MinKernel { value: String, syscall: String },
    #[error("both 'architectures' and 'archMap' are specified in the seccomp profile, use either 'architectures' or 'archMap'")]
    ArchitecturesAndArchMap,
    #[error("both 'name' and 'names' are specified in seccomp rule {index}, use either 'name' or 'names'")]
    NameAndNames { index: usize },
    #[error("adding seccomp rule for syscall {syscall}: {source}")]
    Rule {
        syscall: String,
        #[source]
        source: libseccomp::error::SeccompError,
    },
    #[error("libseccomp: {what}: {source}")]
    Libseccomp {
        what: &'static str,
        #[source]
        source: libseccomp::error::SeccompError,
    },
    #[error("exporting seccomp bpf: {0}")]
    Export(#[source] io::Error),
    #[error("seccomp filter too large: {0} bpf instructions (the kernel allows 4096)")]
    TooLarge(usize),
    #[error("invalid seccomp bpf program: {0} bytes is not a non-empty multiple of 8")]
    BadBpf(usize),
    #[error("loading seccomp filter: {0}")]
    Load(#[source] io::Error),
    #[error("setting no_new_privs: {0}")]
    NoNewPrivs(#[source] io::Error),
}

// ---------------------------------------------------------------------------------------
// Profile format (Docker's JSON; unknown fields are ignored).

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Profile {
    default_action: String,
    default_errno_ret: Option<u64>,
    architectures: Option<Vec<String>>,
    arch_map: Option<Vec<ArchMapEntry>>,
    syscalls: Option<Vec<SyscallRule>>,
    flags: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArchMapEntry {
    architecture: String,
    sub_architectures: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SyscallRule {
    name: Option<String>,
    names: Option<Vec<String>>,
    action: String,
    errno_ret: Option<u64>,
    args: Option<Vec<RuleArg>>,
    includes: Option<Cond>,
    excludes: Option<Cond>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RuleArg {
    index: u32,
    value: u64,
    #[serde(default)]
    value_two: u64,
    op: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cond {
    caps: Option<Vec<String>>,
    arches: Option<Vec<String>>,
    min_kernel: Option<String>,
}

// ---------------------------------------------------------------------------------------
// Actions.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Allow,
    Errno(u16),
    KillThread,
    KillProcess,
    Trap,
    Trace(u16),
    Log,
}

impl Action {
    fn parse(s: &str, ret: Option<u64>, context: &dyn Fn() -> String) -> Result<Action, SeccompError> {
        let data = |ret: Option<u64>| -> Result<u16, SeccompError> {
            match ret {
                None => Ok(libc::EPERM as u16),
                Some(v) if v <= u16::MAX as u64 => Ok(v as u16),
                Some(v) => Err(SeccompError::ErrnoRange { value: v, context: context() }),
            }
        };
        Ok(match s {
            "SCMP_ACT_ALLOW" => Action::Allow,
            "SCMP_ACT_ERRNO" => Action::Errno(data(ret)?),
            "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => Action::KillThread,
            "SCMP_ACT_KILL_PROCESS" => Action::KillProcess,
            "SCMP_ACT_TRAP" => Action::Trap,
            "SCMP_ACT_TRACE" => Action::Trace(data(ret)?),
            "SCMP_ACT_LOG" => Action::Log,
            "SCMP_ACT_NOTIFY" => {
                return Err(SeccompError::UnsupportedAction { action: s.to_string(), context: context() })
            }
            _ => return Err(SeccompError::UnknownAction { action: s.to_string(), context: context() }),
        })
    }

    fn to_scmp(self) -> ScmpAction {
        match self {
            Action::Allow => ScmpAction::Allow,
            Action::Errno(e) => ScmpAction::Errno(e as i32),
            Action::KillThread => ScmpAction::KillThread,
            Action::KillProcess => ScmpAction::KillProcess,
            Action::Trap => ScmpAction::Trap,
            Action::Trace(d) => ScmpAction::Trace(d),
            Action::Log => ScmpAction::Log,
        }
    }

    /// The kernel's SECCOMP_RET_* value.
    fn ret(self) -> u32 {
        match self {
            Action::Allow => 0x7fff_0000,
            Action::Errno(e) => 0x0005_0000 | e as u32,
            Action::KillThread => 0x0000_0000,
            Action::KillProcess => 0x8000_0000,
            Action::Trap => 0x0003_0000,
            Action::Trace(d) => 0x7ff0_0000 | d as u32,
            Action::Log => 0x7ffc_0000,
        }
    }
}

fn parse_op(op: &str, value: u64, value_two: u64, syscall: &str) -> Result<(ScmpCompareOp, u64), SeccompError> {
    Ok(match op {
        "SCMP_CMP_NE" => (ScmpCompareOp::NotEqual, value),
        "SCMP_CMP_LT" => (ScmpCompareOp::Less, value),
        "SCMP_CMP_LE" => (ScmpCompareOp::LessOrEqual, value),
        "SCMP_CMP_EQ" => (ScmpCompareOp::Equal, value),
        "SCMP_CMP_GE" => (ScmpCompareOp::GreaterEqual, value),
        "SCMP_CMP_GT" => (ScmpCompareOp::Greater, value),
        "SCMP_CMP_MASKED_EQ" => (ScmpCompareOp::MaskedEqual(value), value_two),
        _ => return Err(SeccompError::UnknownOp { op: op.to_string(), syscall: syscall.to_string() }),
    })
}

fn parse_arch(s: &str) -> Result<ScmpArch, SeccompError> {
    s.parse::<ScmpArch>().map_err(|_| SeccompError::UnknownArch(s.to_string()))
}

// Kernel filter flags (seccomp(2)).
const SECCOMP_SET_MODE_FILTER: libc::c_ulong = 1;
const SECCOMP_MODE_FILTER: libc::c_ulong = 2;
const SECCOMP_FILTER_FLAG_LOG: u32 = 1 << 1;
const SECCOMP_FILTER_FLAG_SPEC_ALLOW: u32 = 1 << 2;

fn parse_flags(flags: &[String]) -> Result<u32, SeccompError> {
    let mut out = 0;
    for f in flags {
        match f.as_str() {
            // Only meaningful for multi-threaded loaders; the container init is single-threaded.
            "SECCOMP_FILTER_FLAG_TSYNC" => {}
            "SECCOMP_FILTER_FLAG_LOG" => out |= SECCOMP_FILTER_FLAG_LOG,
            "SECCOMP_FILTER_FLAG_SPEC_ALLOW" => out |= SECCOMP_FILTER_FLAG_SPEC_ALLOW,
            "SECCOMP_FILTER_FLAG_NEW_LISTENER"
            | "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"
            | "SECCOMP_FILTER_FLAG_TSYNC_ESRCH" => return Err(SeccompError::UnsupportedFlag(f.clone())),
            _ => return Err(SeccompError::UnknownFlag(f.clone())),
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Host facts used by includes/excludes.

/// The host architecture under Go's name, as Docker's `includes.arches` uses it.
fn go_arch() -> &'static str {
    if cfg!(target_arch = "x86_64") {
        "amd64"
    } else if cfg!(target_arch = "x86") {
        "386"
    } else if cfg!(target_arch = "aarch64") {
        "arm64"
    } else if cfg!(target_arch = "arm") {
        "arm"
    } else if cfg!(target_arch = "s390x") {
        "s390x"
    } else if cfg!(all(target_arch = "powerpc64", target_endian = "little")) {
        "ppc64le"
    } else if cfg!(target_arch = "powerpc64") {
        "ppc64"
    } else if cfg!(target_arch = "riscv64") {
        "riscv64"
    } else if cfg!(target_arch = "loongarch64") {
        "loong64"
    } else if cfg!(all(target_arch = "mips64", target_endian = "little")) {
        "mips64le"
    } else if cfg!(target_arch = "mips64") {
        "mips64"
    } else if cfg!(all(target_arch = "mips", target_endian = "little")) {
        "mipsle"
    } else if cfg!(target_arch = "mips") {
        "mips"
    } else {
        "unknown"
    }
}

/// "4.8" / "6.18.44-foo" -> (4, 8) / (6, 18).
fn parse_kernel_version(s: &str) -> Option<(u32, u32)> {
    let mut it = s.trim().split(|c: char| !c.is_ascii_digit());
    let major = it.next()?.parse().ok()?;
    let minor = match s.trim().split('.').nth(1) {
        Some(m) => {
            let digits: String = m.chars().take_while(|c| c.is_ascii_digit()).collect();
            digits.parse().ok()?
        }
        None => 0,
    };
    Some((major, minor))
}

fn host_kernel_version() -> (u32, u32) {
    // SAFETY: uname fills the struct.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut u) } != 0 {
        return (0, 0);
    }
    // SAFETY: release is NUL-terminated by the kernel.
    let rel = unsafe { std::ffi::CStr::from_ptr(u.release.as_ptr()) };
    parse_kernel_version(&rel.to_string_lossy()).unwrap_or((0, 0))
}

fn norm_cap(c: &str) -> String {
    let u = c.trim().to_ascii_uppercase();
    if u.starts_with("CAP_") {
        u
    } else {
        format!("CAP_{u}")
    }
}

// ---------------------------------------------------------------------------------------
// Syscalls of the kernel's unified numbering (same number on every architecture but
// alpha/ia64/mips; x32 adds 0x40000000), used for names the installed libseccomp lacks.

const UNIFIED_SYSCALLS: &[(&str, u32)] = &[
    ("pidfd_send_signal", 424),
    ("io_uring_setup", 425),
    ("io_uring_enter", 426),
    ("io_uring_register", 427),
    ("open_tree", 428),
    ("move_mount", 429),
    ("fsopen", 430),
    ("fsconfig", 431),
    ("fsmount", 432),
    ("fspick", 433),
    ("pidfd_open", 434),
    ("clone3", 435),
    ("close_range", 436),
    ("openat2", 437),
    ("pidfd_getfd", 438),
    ("faccessat2", 439),
    ("process_madvise", 440),
    ("epoll_pwait2", 441),
    ("mount_setattr", 442),
    ("quotactl_fd", 443),
    ("landlock_create_ruleset", 444),
    ("landlock_add_rule", 445),
    ("landlock_restrict_self", 446),
    ("memfd_secret", 447),
    ("process_mrelease", 448),
    ("futex_waitv", 449),
    ("set_mempolicy_home_node", 450),
    ("cachestat", 451),
    ("fchmodat2", 452),
    ("map_shadow_stack", 453),
    ("futex_wake", 454),
    ("futex_wait", 455),
    ("futex_requeue", 456),
    ("statmount", 457),
    ("listmount", 458),
    ("lsm_get_self_attr", 459),
    ("lsm_set_self_attr", 460),
    ("lsm_list_modules", 461),
    ("mseal", 462),
    ("setxattrat", 463),
    ("getxattrat", 464),
    ("listxattrat", 465),
    ("removexattrat", 466),
    ("open_tree_attr", 467),
    ("file_getattr", 468),
    ("file_setattr", 469),
];

fn unified_nr(name: &str) -> Option<u32> {
    UNIFIED_SYSCALLS.iter().find(|(n, _)| *n == name).map(|(_, nr)| *nr)
}

const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// Architectures the BPF prologue knows: (libseccomp arch, AUDIT_ARCH_* value).
/// x32 shares AUDIT_ARCH_X86_64 and is handled inside the x86_64 section.
const PROLOGUE_ARCHES: &[(ScmpArch, u32)] = &[
    (ScmpArch::X8664, 0xC000_003E),
    (ScmpArch::X86, 0x4000_0003),
    (ScmpArch::Aarch64, 0xC000_00B7),
    (ScmpArch::Arm, 0x4000_0028),
    (ScmpArch::Riscv64, 0xC000_00F3),
    (ScmpArch::S390X, 0x8000_0016),
    (ScmpArch::S390, 0x0000_0016),
    (ScmpArch::Ppc64Le, 0xC000_0015),
    (ScmpArch::Ppc64, 0x8000_0015),
    (ScmpArch::Ppc, 0x0000_0014),
];

// ---------------------------------------------------------------------------------------
// BPF.

/// One classic-BPF instruction (`struct sock_filter`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SockFilter {
    code: u16,
    jt: u8,
    jf: u8,
    k: u32,
}

/// `struct sock_fprog`.
#[repr(C)]
struct SockFprog {
    len: libc::c_ushort,
    filter: *const SockFilter,
}

const BPF_LD_W_ABS: u16 = 0x20;
const BPF_JEQ_K: u16 = 0x15;
const BPF_JGT_K: u16 = 0x25;
const BPF_JGE_K: u16 = 0x35;
const BPF_JA: u16 = 0x05;
const BPF_RET_K: u16 = 0x06;
const SECCOMP_DATA_NR: u32 = 0;
const SECCOMP_DATA_ARCH: u32 = 4;
const BPF_MAXINSNS: usize = 4096;

fn insn(code: u16, jt: u8, jf: u8, k: u32) -> SockFilter {
    SockFilter { code, jt, jf, k }
}

/// What the prologue does for syscalls of one ABI (one arch, or x32 inside x86_64).
#[derive(Debug, Default)]
struct AbiPatch {
    /// (syscall number for this ABI, SECCOMP_RET_* value) for syscalls libseccomp lacks.
    rules: Vec<(u32, u32)>,
    /// Answer ENOSYS above this syscall number.
    enosys_above: Option<u32>,
}

impl AbiPatch {
    fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.enosys_above.is_none()
    }
    /// Emit: [jeq nr; ret action]* [jgt last; ret ENOSYS] ja END (END fixed up later).
    fn emit(&self, out: &mut Vec<SockFilter>, fixups: &mut Vec<usize>) {
        for &(nr, ret) in &self.rules {
            out.push(insn(BPF_JEQ_K, 0, 1, nr));
            out.push(insn(BPF_RET_K, 0, 0, ret));
        }
        if let Some(last) = self.enosys_above {
            out.push(insn(BPF_JGT_K, 0, 1, last));
            out.push(insn(BPF_RET_K, 0, 0, Action::Errno(libc::ENOSYS as u16).ret()));
        }
        fixups.push(out.len());
        out.push(insn(BPF_JA, 0, 0, 0));
    }
}

#[derive(Debug)]
struct ArchPatch {
    audit_arch: u32,
    main: AbiPatch,
    /// x86_64 only: Some(patch) when x32 is in the filter, None when it is not (x32 calls
    /// then go straight to libseccomp's program, which rejects them).
    x32: Option<AbiPatch>,
    is_x86_64: bool,
}

/// Build the prologue that runs before libseccomp's program. Returns an empty program when
/// there is nothing to do. Every path ends in a RET or jumps to the first instruction after
/// the prologue (libseccomp's program starts by loading the arch itself).
fn build_prologue(patches: &[ArchPatch]) -> Option<Vec<SockFilter>> {
    if patches.iter().all(|p| p.main.is_empty() && p.x32.as_ref().is_none_or(AbiPatch::is_empty)) {
        return Some(Vec::new());
    }
    let mut out = vec![insn(BPF_LD_W_ABS, 0, 0, SECCOMP_DATA_ARCH)];
    let mut fixups = Vec::new();
    for p in patches {
        let check = out.len();
        out.push(insn(BPF_JEQ_K, 0, 0, p.audit_arch)); // jf patched below
        let body = out.len();
        out.push(insn(BPF_LD_W_ABS, 0, 0, SECCOMP_DATA_NR));
        if p.is_x86_64 {
            let split = out.len();
            out.push(insn(BPF_JGE_K, 0, 0, X32_SYSCALL_BIT)); // jt patched below
            p.main.emit(&mut out, &mut fixups);
            let jt = out.len() - split - 1;
            out[split].jt = u8::try_from(jt).ok()?;
            match &p.x32 {
                Some(x) => x.emit(&mut out, &mut fixups),
                None => {
                    fixups.push(out.len());
                    out.push(insn(BPF_JA, 0, 0, 0));
                }
            }
        } else {
            p.main.emit(&mut out, &mut fixups);
        }
        out[check].jf = u8::try_from(out.len() - body).ok()?;
    }
    let end = out.len();
    for i in fixups {
        out[i].k = (end - i - 1) as u32;
    }
    Some(out)
}

fn bpf_to_bytes(prog: &[SockFilter]) -> Vec<u8> {
    let mut out = Vec::with_capacity(prog.len() * 8);
    for i in prog {
        out.extend_from_slice(&i.code.to_ne_bytes());
        out.push(i.jt);
        out.push(i.jf);
        out.extend_from_slice(&i.k.to_ne_bytes());
    }
    out
}

fn bpf_from_bytes(bytes: &[u8]) -> Option<Vec<SockFilter>> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(8) {
        return None;
    }
    Some(
        bytes
            .chunks_exact(8)
            .map(|c| SockFilter {
                code: u16::from_ne_bytes([c[0], c[1]]),
                jt: c[2],
                jf: c[3],
                k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
            })
            .collect(),
    )
}

// ---------------------------------------------------------------------------------------
// The filter.

/// A compiled seccomp filter: a classic-BPF program plus the `seccomp(2)` flags to load it
/// with. Build it before clone/fork; [`Filter::load`] it in the child.
#[derive(Debug, Clone)]
pub struct Filter {
    prog: Vec<SockFilter>,
    flags: u32,
    /// Set by `from_bpf` for unusable input (its byte length); `load` then fails.
    invalid: Option<usize>,
}

impl Filter {
    /// Install the filter on the calling thread with `seccomp(SECCOMP_SET_MODE_FILTER)`
    /// (falling back to `prctl(PR_SET_SECCOMP)` on kernels without `seccomp(2)`). The
    /// caller must have set no_new_privs ([`set_no_new_privs`]) or hold `CAP_SYS_ADMIN` in
    /// its user namespace. Does not allocate; safe to call between fork and exec.
    pub fn load(&self) -> Result<(), SeccompError> {
        if let Some(len) = self.invalid {
            return Err(SeccompError::BadBpf(len));
        }
        if self.prog.len() > BPF_MAXINSNS {
            return Err(SeccompError::TooLarge(self.prog.len()));
        }
        let fprog = SockFprog { len: self.prog.len() as libc::c_ushort, filter: self.prog.as_ptr() };
        // SAFETY: fprog points at a live, well-formed instruction array; the kernel copies it.
        let r = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                SECCOMP_SET_MODE_FILTER,
                self.flags as libc::c_ulong,
                &fprog as *const SockFprog,
            )
        };
        if r == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::ENOSYS) && self.flags == 0 {
            // SAFETY: as above.
            let r = unsafe { libc::prctl(libc::PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog as *const SockFprog, 0, 0) };
            if r == 0 {
                return Ok(());
            }
            return Err(SeccompError::Load(io::Error::last_os_error()));
        }
        Err(SeccompError::Load(err))
    }

    /// The program as raw bytes (native-endian `struct sock_filter` array), for caching.
    /// The load flags are not included: see [`Filter::flags`] / [`Filter::from_bpf_with_flags`].
    pub fn to_bpf(&self) -> Result<Vec<u8>, SeccompError> {
        if let Some(len) = self.invalid {
            return Err(SeccompError::BadBpf(len));
        }
        Ok(bpf_to_bytes(&self.prog))
    }

    /// A filter from bytes produced by [`Filter::to_bpf`] (loaded with no flags). Bytes that
    /// are not a whole number of instructions make [`Filter::load`] fail with `BadBpf`.
    pub fn from_bpf(bytes: Vec<u8>) -> Filter {
        Filter::from_bpf_with_flags(bytes, 0)
    }

    /// Like [`Filter::from_bpf`], with `seccomp(2)` filter flags (see [`Filter::flags`]).
    pub fn from_bpf_with_flags(bytes: Vec<u8>, flags: u32) -> Filter {
        match bpf_from_bytes(&bytes) {
            Some(prog) => Filter { prog, flags, invalid: None },
            None => Filter { prog: Vec::new(), flags, invalid: Some(bytes.len()) },
        }
    }

    /// `seccomp(2)` filter flags the profile asked for (`SECCOMP_FILTER_FLAG_LOG`,
    /// `SECCOMP_FILTER_FLAG_SPEC_ALLOW`); 0 for Docker's default profile.
    pub fn flags(&self) -> u32 {
        self.flags
    }

    /// Number of BPF instructions.
    pub fn len(&self) -> usize {
        self.prog.len()
    }

    pub fn is_empty(&self) -> bool {
        self.prog.is_empty()
    }
}

/// Set `PR_SET_NO_NEW_PRIVS` on the calling thread (for `--security-opt no-new-privileges`).
/// Does not allocate.
pub fn set_no_new_privs() -> Result<(), SeccompError> {
    // SAFETY: integer prctl.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1 as libc::c_ulong, 0, 0, 0) } != 0 {
        return Err(SeccompError::NoNewPrivs(io::Error::last_os_error()));
    }
    Ok(())
}

/// Docker's default profile compiled for capability set `caps` (the container's bounding
/// set, as returned by `caps::effective_set`): e.g. with `CAP_SYS_ADMIN` the filter allows
/// `mount`, `unshare`, `clone` with namespace flags…; without it those get `EPERM`, and
/// `clone3` gets `ENOSYS` so libc falls back to `clone`.
pub fn docker_default(caps: &[String]) -> Result<Filter, SeccompError> {
    from_profile_json(DEFAULT_PROFILE_JSON, caps)
}

/// Compile a Docker-format profile (`--security-opt seccomp=FILE`) for capability set
/// `caps` on this host. See the module documentation for the rules.
pub fn from_profile_json(json: &str, caps: &[String]) -> Result<Filter, SeccompError> {
    let profile: Profile = serde_json::from_str(json)?;
    compile(&profile, caps)
}

/// Read and compile a profile file; errors name the file.
pub fn from_profile_file(path: &Path, caps: &[String]) -> Result<Filter, SeccompError> {
    let name = path.display().to_string();
    let json = std::fs::read_to_string(path).map_err(|source| SeccompError::Read { path: name.clone(), source })?;
    from_profile_json(&json, caps).map_err(|e| SeccompError::InFile { path: name, source: Box::new(e) })
}

/// Bump when the way profiles are compiled changes, to invalidate cached programs.
const COMPILER_REVISION: u32 = 1;

/// A key for caching compiled programs: changes with the profile text, the capability set,
/// the architecture, the kernel version (for `minKernel`), the libseccomp version and the
/// syscalls its tables know (distributions backport table updates), and this module's
/// compiler revision. Hex FNV-1a 64; not cryptographic (the cache is the engine's own).
pub fn cache_key(profile_json: &str, caps: &[String]) -> String {
    let mut caps: Vec<String> = caps.iter().map(|c| norm_cap(c)).collect();
    caps.sort();
    caps.dedup();
    let lib =
        libseccomp::ScmpVersion::current().map(|v| format!("{}.{}.{}", v.major, v.minor, v.micro)).unwrap_or_default();
    let known: u64 = UNIFIED_SYSCALLS
        .iter()
        .enumerate()
        .filter(|(_, (name, _))| ScmpSyscall::from_name(name).is_ok())
        .fold(0, |m, (i, _)| m | 1 << i);
    let (kmaj, kmin) = host_kernel_version();
    let mut text = String::with_capacity(profile_json.len() + 256);
    text.push_str(profile_json);
    text.push_str(&format!(
        "\0{}\0{}\0{kmaj}.{kmin}\0{lib}\0{known:x}\0{COMPILER_REVISION}\0{}",
        caps.join(","),
        go_arch(),
        env!("CARGO_PKG_VERSION")
    ));
    format!("{:016x}", fnv64(text.as_bytes()))
}

const CACHE_MAGIC: &[u8; 8] = b"RCSCMP01";

fn fnv64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

fn decode_cache(bytes: &[u8]) -> Option<Filter> {
    if bytes.len() < 20 || &bytes[..8] != CACHE_MAGIC {
        return None;
    }
    let flags = u32::from_le_bytes(bytes[8..12].try_into().ok()?);
    let sum = u64::from_le_bytes(bytes[12..20].try_into().ok()?);
    let prog = &bytes[20..];
    if fnv64(prog) != sum || prog.len() / 8 > BPF_MAXINSNS {
        return None;
    }
    Some(Filter { prog: bpf_from_bytes(prog)?, flags, invalid: None })
}

fn write_cache(dir: &Path, path: &Path, f: &Filter) -> io::Result<()> {
    use std::io::Write;
    std::fs::create_dir_all(dir)?;
    let prog = bpf_to_bytes(&f.prog);
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut out = std::fs::File::create(&tmp)?;
    out.write_all(CACHE_MAGIC)?;
    out.write_all(&f.flags.to_le_bytes())?;
    out.write_all(&fnv64(&prog).to_le_bytes())?;
    out.write_all(&prog)?;
    drop(out);
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// [`from_profile_json`] with an on-disk cache of compiled programs in `cache_dir`
/// (file `seccomp-<cache_key>.bpf`, checksummed, written atomically; created on demand).
/// Compiling Docker's default profile with libseccomp takes ~10 ms; a cache hit ~0.1 ms.
/// A missing, unreadable or corrupt entry is recompiled; failing to write one is ignored.
/// `cache_dir` must be private to the engine's user (a writable cache could weaken the
/// filter); old entries are small (~8 KiB) and may be deleted at any time.
pub fn compile_cached(cache_dir: &Path, profile_json: &str, caps: &[String]) -> Result<Filter, SeccompError> {
    let path = cache_dir.join(format!("seccomp-{}.bpf", cache_key(profile_json, caps)));
    if let Ok(bytes) = std::fs::read(&path) {
        if let Some(f) = decode_cache(&bytes) {
            return Ok(f);
        }
    }
    let f = from_profile_json(profile_json, caps)?;
    let _ = write_cache(cache_dir, &path, &f);
    Ok(f)
}

/// [`docker_default`] through [`compile_cached`].
pub fn docker_default_cached(cache_dir: &Path, caps: &[String]) -> Result<Filter, SeccompError> {
    compile_cached(cache_dir, DEFAULT_PROFILE_JSON, caps)
}

fn lib_err(what: &'static str) -> impl FnOnce(libseccomp::error::SeccompError) -> SeccompError {
    move |source| SeccompError::Libseccomp { what, source }
}

fn rule_applies(
    rule: &SyscallRule,
    label: &str,
    caps: &[String],
    arch: &str,
    kernel: (u32, u32),
) -> Result<bool, SeccompError> {
    let has = |c: &String| caps.contains(&norm_cap(c));
    if let Some(ex) = &rule.excludes {
        if ex.caps.as_deref().unwrap_or_default().iter().any(has) {
            return Ok(false);
        }
        if ex.arches.as_deref().unwrap_or_default().iter().any(|a| a == arch) {
            return Ok(false);
        }
    }
    if let Some(inc) = &rule.includes {
        if !inc.caps.as_deref().unwrap_or_default().iter().all(has) {
            return Ok(false);
        }
        if let Some(arches) = &inc.arches {
            if !arches.is_empty() && !arches.iter().any(|a| a == arch) {
                return Ok(false);
            }
        }
        if let Some(mk) = &inc.min_kernel {
            let want = parse_kernel_version(mk)
                .ok_or_else(|| SeccompError::MinKernel { value: mk.clone(), syscall: label.to_string() })?;
            if kernel < want {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

fn compile(profile: &Profile, caps: &[String]) -> Result<Filter, SeccompError> {
    let default = Action::parse(&profile.default_action, profile.default_errno_ret, &|| "defaultAction".to_string())?;
    let flags = parse_flags(profile.flags.as_deref().unwrap_or_default())?;

    // Architectures.
    let native = ScmpArch::native();
    let listed = profile.architectures.as_deref().unwrap_or_default();
    let mapped = profile.arch_map.as_deref().unwrap_or_default();
    if !listed.is_empty() && !mapped.is_empty() {
        return Err(SeccompError::ArchitecturesAndArchMap);
    }
    let mut arches = vec![native];
    for a in listed {
        arches.push(parse_arch(a)?);
    }
    for entry in mapped {
        // Docker only looks at the entry for the native architecture.
        if parse_arch(&entry.architecture).ok() == Some(native) {
            for sub in entry.sub_architectures.as_deref().unwrap_or_default() {
                arches.push(parse_arch(sub)?);
            }
        }
    }
    let mut uniq: Vec<ScmpArch> = Vec::new();
    for a in arches {
        if !uniq.contains(&a) {
            uniq.push(a);
        }
    }
    let arches = uniq;

    let mut ctx = ScmpFilterContext::new_filter(default.to_scmp()).map_err(lib_err("creating filter"))?;
    for &a in &arches {
        if a != native {
            ctx.add_arch(a).map_err(lib_err("adding architecture"))?;
        }
    }
    // We export the program and load it ourselves; keep libseccomp away from no_new_privs.
    ctx.set_ctl_nnp(false).map_err(lib_err("clearing the no_new_privs attribute"))?;

    let caps: Vec<String> = caps.iter().map(|c| norm_cap(c)).collect();
    let host_arch = go_arch();
    let kernel = host_kernel_version();

    // Every syscall name the profile mentions (for the ENOSYS threshold), and the
    // unconditional rules for names libseccomp does not know (for the prologue).
    let mut mentioned: Vec<&str> = Vec::new();
    let mut unknown_rules: Vec<(&str, Action)> = Vec::new();

    for (index, rule) in profile.syscalls.as_deref().unwrap_or_default().iter().enumerate() {
        // Docker: `name` (if non-empty) and `names` are exclusive; a rule naming nothing is a no-op.
        let single = rule.name.as_deref().filter(|n| !n.is_empty());
        let names: Vec<&str> = match (single, &rule.names) {
            (Some(_), Some(v)) if !v.is_empty() => return Err(SeccompError::NameAndNames { index }),
            (Some(n), _) => vec![n],
            (None, Some(v)) => v.iter().map(String::as_str).filter(|n| !n.is_empty()).collect(),
            (None, None) => Vec::new(),
        };
        if names.is_empty() {
            continue;
        }
        mentioned.extend(names.iter().copied());
        let label = names.join(",");

        if !rule_applies(rule, &label, &caps, host_arch, kernel)? {
            continue;
        }
        let action = Action::parse(&rule.action, rule.errno_ret, &|| format!("syscall {label}"))?;

        // Conditions (validated even when the action ends up skipped).
        let mut conds = Vec::new();
        let mut per_index = [0u8; 6];
        for arg in rule.args.as_deref().unwrap_or_default() {
            if arg.index > 5 {
                return Err(SeccompError::ArgIndex { index: arg.index, syscall: label.clone() });
            }
            let (op, datum) = parse_op(&arg.op, arg.value, arg.value_two, &label)?;
            per_index[arg.index as usize] += 1;
            conds.push(ScmpArgCompare::new(arg.index, op, datum));
        }
        if action == default {
            continue;
        }
        let split = per_index.iter().any(|&n| n > 1);

        for name in names {
            let sc = match ScmpSyscall::from_name(name) {
                Ok(sc) => sc,
                Err(_) => {
                    // Unknown to libseccomp: handled by number if it has no conditions and
                    // belongs to the unified table, otherwise skipped (like runc).
                    if conds.is_empty() && unified_nr(name).is_some() {
                        unknown_rules.push((name, action));
                    }
                    continue;
                }
            };
            let add = |ctx: &mut ScmpFilterContext, c: &[ScmpArgCompare]| {
                let r = if c.is_empty() {
                    ctx.add_rule(action.to_scmp(), sc)
                } else {
                    ctx.add_rule_conditional(action.to_scmp(), sc, c)
                };
                r.map_err(|source| SeccompError::Rule { syscall: name.to_string(), source })
            };
            if split {
                for c in &conds {
                    add(&mut ctx, std::slice::from_ref(c))?;
                }
            } else {
                add(&mut ctx, &conds)?;
            }
        }
    }

    let mut prog = export(&ctx)?;

    // Prologue: unknown-to-libseccomp syscalls by number, ENOSYS above the profile's newest.
    let want_enosys = !matches!(default, Action::Allow | Action::Log) && default != Action::Errno(libc::ENOSYS as u16);
    let mut patches = Vec::new();
    let mut seen = HashMap::new();
    for &(arch, audit) in PROLOGUE_ARCHES {
        if !arches.contains(&arch) {
            continue;
        }
        let is_x86_64 = arch == ScmpArch::X8664;
        let main = abi_patch(arch, 0, &mentioned, &unknown_rules, want_enosys, &mut seen);
        let x32 = (is_x86_64 && arches.contains(&ScmpArch::X32))
            .then(|| abi_patch(ScmpArch::X32, X32_SYSCALL_BIT, &mentioned, &unknown_rules, want_enosys, &mut seen));
        patches.push(ArchPatch { audit_arch: audit, main, x32, is_x86_64 });
    }
    match build_prologue(&patches) {
        Some(mut pre) if !pre.is_empty() => {
            pre.append(&mut prog);
            prog = pre;
        }
        Some(_) => {}
        // A prologue too long for 8-bit jumps (only with hundreds of unknown syscalls):
        // go without it rather than fail.
        None => {}
    }
    if prog.len() > BPF_MAXINSNS {
        return Err(SeccompError::TooLarge(prog.len()));
    }
    Ok(Filter { prog, flags, invalid: None })
}

/// Prologue data for one ABI: numbers for rules libseccomp could not take, and the highest
/// syscall number the profile mentions (if ENOSYS is wanted).
fn abi_patch(
    arch: ScmpArch,
    bit: u32,
    mentioned: &[&str],
    unknown_rules: &[(&str, Action)],
    want_enosys: bool,
    cache: &mut HashMap<(u8, String), Option<i32>>,
) -> AbiPatch {
    let arch_key = arch as u8;
    let mut resolve = |name: &str| -> Option<i32> {
        *cache
            .entry((arch_key, name.to_string()))
            .or_insert_with(|| ScmpSyscall::from_name_by_arch(name, arch).ok().map(i32::from))
    };
    // Number for this ABI: libseccomp's if it knows the name (negative = not on this arch),
    // else the unified table's.
    let mut number = |name: &str| -> Option<u32> {
        match resolve(name) {
            Some(nr) if nr >= 0 => Some(nr as u32 | bit),
            Some(_) => None,
            None => unified_nr(name).map(|nr| nr | bit),
        }
    };
    let mut rules: Vec<(u32, u32)> = Vec::new();
    for &(name, action) in unknown_rules {
        if let Some(nr) = number(name) {
            if !rules.iter().any(|(n, _)| *n == nr) {
                rules.push((nr, action.ret()));
            }
        }
    }
    let enosys_above = if want_enosys { mentioned.iter().filter_map(|n| number(n)).max() } else { None };
    AbiPatch { rules, enosys_above }
}

/// libseccomp's BPF for the context (through a memfd: libseccomp 2.5 exports to an fd).
fn export(ctx: &ScmpFilterContext) -> Result<Vec<SockFilter>, SeccompError> {
    // SAFETY: memfd_create with a static NUL-terminated name.
    let fd = unsafe { libc::memfd_create(c"rcon-seccomp".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(SeccompError::Export(io::Error::last_os_error()));
    }
    // SAFETY: fd is a fresh descriptor we own.
    let mut file = unsafe { std::fs::File::from_raw_fd(fd) };
    ctx.export_bpf(&mut file).map_err(lib_err("exporting bpf"))?;
    file.rewind().map_err(SeccompError::Export)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(SeccompError::Export)?;
    bpf_from_bytes(&bytes).ok_or(SeccompError::BadBpf(bytes.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::in_child;
    use std::time::Instant;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    fn docker_caps() -> Vec<String> {
        s(crate::runtime::caps::DOCKER_DEFAULT_CAPS)
    }

    fn with_sys_admin() -> Vec<String> {
        let mut c = docker_caps();
        c.push("CAP_SYS_ADMIN".into());
        c
    }

    // ---- a tiny classic-BPF interpreter, to check decisions without loading ----------

    fn run_bpf(prog: &[SockFilter], arch: u32, nr: u32, args: [u64; 6]) -> u32 {
        // struct seccomp_data: nr, arch, instruction_pointer (u64), args[6] (u64)
        let mut data = [0u8; 64];
        data[0..4].copy_from_slice(&nr.to_ne_bytes());
        data[4..8].copy_from_slice(&arch.to_ne_bytes());
        for (i, a) in args.iter().enumerate() {
            data[16 + i * 8..24 + i * 8].copy_from_slice(&a.to_ne_bytes());
        }
        let (mut a, mut x, mut pc) = (0u32, 0u32, 0usize);
        let mut mem = [0u32; 16];
        loop {
            let i = prog[pc];
            pc += 1;
            match i.code {
                0x20 => a = u32::from_ne_bytes(data[i.k as usize..i.k as usize + 4].try_into().unwrap()),
                0x00 => a = i.k,               // ld imm
                0x01 => x = i.k,               // ldx imm
                0x02 => mem[i.k as usize] = a, // st
                0x03 => mem[i.k as usize] = x, // stx
                0x60 => a = mem[i.k as usize], // ld mem
                0x61 => x = mem[i.k as usize], // ldx mem
                0x54 => a &= i.k,              // and k
                0x5c => a &= x,                // and x
                0x87 => a = x,                 // txa
                0x07 => x = a,                 // tax
                0x05 => pc += i.k as usize,    // ja
                0x15 => pc += if a == i.k { i.jt } else { i.jf } as usize,
                0x25 => pc += if a > i.k { i.jt } else { i.jf } as usize,
                0x35 => pc += if a >= i.k { i.jt } else { i.jf } as usize,
                0x45 => pc += if a & i.k != 0 { i.jt } else { i.jf } as usize,
                0x1d => pc += if a == x { i.jt } else { i.jf } as usize,
                0x2d => pc += if a > x { i.jt } else { i.jf } as usize,
                0x3d => pc += if a >= x { i.jt } else { i.jf } as usize,
                0x06 => return i.k,
                0x16 => return a,
                c => panic!("bpf opcode {c:#x} not handled by the test interpreter"),
            }
        }
    }

    const X86_64: u32 = 0xC000_003E;
    const I386: u32 = 0x4000_0003;
    const RET_ALLOW: u32 = 0x7fff_0000;
    const RET_EPERM: u32 = 0x0005_0000 | libc::EPERM as u32;
    const RET_ENOSYS: u32 = 0x0005_0000 | libc::ENOSYS as u32;

    fn decide(f: &Filter, nr: i64, args: [u64; 6]) -> u32 {
        run_bpf(&f.prog, X86_64, nr as u32, args)
    }

    // ---- running a filter in a forked child -----------------------------------------

    fn errno() -> i32 {
        io::Error::last_os_error().raw_os_error().unwrap_or(0)
    }

    fn is_root() -> bool {
        unsafe { libc::geteuid() == 0 }
    }

    #[test]
    fn default_profile_parses() {
        let p: Profile = serde_json::from_str(DEFAULT_PROFILE_JSON).unwrap();
        assert_eq!(p.default_action, "SCMP_ACT_ERRNO");
        assert_eq!(p.default_errno_ret, Some(1));
        let rules = p.syscalls.unwrap();
        let first = rules[0].names.as_ref().unwrap();
        assert!(first.iter().any(|n| n == "read"));
        assert!(!first.iter().any(|n| n == "io_uring_setup"), "io_uring is blocked since Docker 25");
        assert!(!first.iter().any(|n| n == "mount" || n == "keyctl" || n == "reboot"));
        assert_eq!(p.arch_map.unwrap()[0].sub_architectures.as_ref().unwrap().len(), 2);
    }

    #[test]
    fn default_profile_names_are_known() {
        // Every name must be a real syscall: known to libseccomp on some arch, or in the
        // unified table. Catches typos in the embedded profile.
        let p: Profile = serde_json::from_str(DEFAULT_PROFILE_JSON).unwrap();
        let arches = [
            ScmpArch::X8664,
            ScmpArch::X86,
            ScmpArch::Arm,
            ScmpArch::Aarch64,
            ScmpArch::S390X,
            ScmpArch::Ppc64Le,
            ScmpArch::Riscv64,
            ScmpArch::Mips64,
        ];
        let mut unknown_to_lib = Vec::new();
        for r in p.syscalls.unwrap() {
            for n in r.names.unwrap() {
                let known = arches.iter().any(|a| ScmpSyscall::from_name_by_arch(&n, *a).is_ok());
                if !known {
                    assert!(unified_nr(&n).is_some(), "unknown syscall name {n:?} in the default profile");
                    unknown_to_lib.push(n);
                }
            }
        }
        eprintln!("names the installed libseccomp does not know: {unknown_to_lib:?}");
    }

    #[test]
    fn default_decisions_without_sys_admin() {
        let f = docker_default(&docker_caps()).unwrap();
        let z = [0u64; 6];
        for nr in
            [libc::SYS_read, libc::SYS_write, libc::SYS_getpid, libc::SYS_execve, libc::SYS_capset, libc::SYS_setresuid]
        {
            assert_eq!(decide(&f, nr, z), RET_ALLOW, "syscall {nr}");
        }
        for nr in [
            libc::SYS_mount,
            libc::SYS_umount2,
            libc::SYS_keyctl,
            libc::SYS_add_key,
            libc::SYS_reboot,
            libc::SYS_kexec_load,
            libc::SYS_unshare,
            libc::SYS_setns,
            libc::SYS_bpf,
            libc::SYS_init_module,
            libc::SYS_io_uring_setup,
            libc::SYS_open_by_handle_at,
        ] {
            assert_eq!(decide(&f, nr, z), RET_EPERM, "syscall {nr}");
        }
        // clone: plain fork-style flags allowed, namespace flags refused.
        let sigchld = libc::SIGCHLD as u64;
        assert_eq!(decide(&f, libc::SYS_clone, [sigchld, 0, 0, 0, 0, 0]), RET_ALLOW);
        let thread =
            (libc::CLONE_VM | libc::CLONE_FS | libc::CLONE_FILES | libc::CLONE_SIGHAND | libc::CLONE_THREAD) as u64;
        assert_eq!(decide(&f, libc::SYS_clone, [thread, 0, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(decide(&f, libc::SYS_clone, [libc::CLONE_NEWUSER as u64 | sigchld, 0, 0, 0, 0, 0]), RET_EPERM);
        assert_eq!(decide(&f, libc::SYS_clone, [libc::CLONE_NEWNS as u64, 0, 0, 0, 0, 0]), RET_EPERM);
        // clone3 -> ENOSYS so libc falls back to clone.
        assert_eq!(decide(&f, libc::SYS_clone3, z), RET_ENOSYS);
        // personality: only the listed values.
        assert_eq!(decide(&f, libc::SYS_personality, [0, 0, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(decide(&f, libc::SYS_personality, [0xffff_ffff, 0, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(decide(&f, libc::SYS_personality, [0x0040000, 0, 0, 0, 0, 0]), RET_EPERM);
        // socket: everything but AF_VSOCK.
        assert_eq!(decide(&f, libc::SYS_socket, [libc::AF_INET as u64, 1, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(decide(&f, libc::SYS_socket, [libc::AF_VSOCK as u64, 1, 0, 0, 0, 0]), RET_EPERM);
        // chroot comes with CAP_SYS_CHROOT (a default cap); ptrace with kernel >= 4.8.
        assert_eq!(decide(&f, libc::SYS_chroot, z), RET_ALLOW);
        assert_eq!(decide(&f, libc::SYS_ptrace, z), RET_ALLOW);
        // arch_prctl / modify_ldt (amd64 includes).
        assert_eq!(decide(&f, libc::SYS_arch_prctl, z), RET_ALLOW);
        // Newer-than-libseccomp syscalls from the allowlist work; newer than the profile: ENOSYS.
        assert_eq!(decide(&f, 452, z), RET_ALLOW, "fchmodat2");
        assert_eq!(decide(&f, 451, z), RET_ALLOW, "cachestat");
        assert_eq!(decide(&f, 456, z), RET_ALLOW, "futex_requeue");
        assert_eq!(decide(&f, 462, z), RET_ENOSYS, "mseal (not in the profile, newer than all it names)");
        assert_eq!(decide(&f, 1000, z), RET_ENOSYS);
        // Not in the profile but older: default action.
        assert_eq!(decide(&f, libc::SYS_swapon, z), RET_EPERM);
        assert_eq!(decide(&f, libc::SYS_set_mempolicy_home_node, z), RET_EPERM, "needs CAP_SYS_NICE");
        // 32-bit x86 side (sub-architecture).
        assert_eq!(run_bpf(&f.prog, I386, 20, z), RET_ALLOW, "i386 getpid");
        assert_eq!(run_bpf(&f.prog, I386, 21, z), RET_EPERM, "i386 mount");
        assert_eq!(run_bpf(&f.prog, I386, 452, z), RET_ALLOW, "i386 fchmodat2");
        // x32: getpid is 39 | X32 bit.
        assert_eq!(decide(&f, (39 | X32_SYSCALL_BIT) as i64, z), RET_ALLOW, "x32 getpid");
        assert_eq!(decide(&f, (165 | X32_SYSCALL_BIT) as i64, z), RET_EPERM, "x32 mount");
        // Unknown arch: killed.
        assert_eq!(run_bpf(&f.prog, 0xC000_00B7, 172, z), 0, "aarch64 not in the filter: kill");
    }

    #[test]
    fn default_decisions_with_caps() {
        let f = docker_default(&with_sys_admin()).unwrap();
        let z = [0u64; 6];
        for nr in [
            libc::SYS_mount,
            libc::SYS_umount2,
            libc::SYS_unshare,
            libc::SYS_setns,
            libc::SYS_sethostname,
            libc::SYS_bpf,
        ] {
            assert_eq!(decide(&f, nr, z), RET_ALLOW, "syscall {nr}");
        }
        assert_eq!(decide(&f, libc::SYS_clone, [libc::CLONE_NEWUSER as u64, 0, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(decide(&f, libc::SYS_clone3, z), RET_ALLOW);
        // Still blocked with CAP_SYS_ADMIN.
        assert_eq!(decide(&f, libc::SYS_keyctl, z), RET_EPERM);
        assert_eq!(decide(&f, libc::SYS_reboot, z), RET_EPERM);
        // Other cap-gated groups.
        let mut c = docker_caps();
        c.retain(|x| x != "CAP_SYS_CHROOT");
        c.push("sys_boot".into()); // names are normalised
        c.push("CAP_SYS_NICE".into());
        let f = docker_default(&c).unwrap();
        assert_eq!(decide(&f, libc::SYS_chroot, z), RET_EPERM);
        assert_eq!(decide(&f, libc::SYS_reboot, z), RET_ALLOW);
        assert_eq!(decide(&f, libc::SYS_mbind, z), RET_ALLOW);
    }

    #[test]
    fn timing() {
        let caps = docker_caps();
        let _ = docker_default(&caps).unwrap(); // warm up (libseccomp's API probing)
        let n = 50;
        let t = Instant::now();
        let mut len = 0;
        for _ in 0..n {
            let f = docker_default(&caps).unwrap();
            len = f.to_bpf().unwrap().len();
        }
        let per = t.elapsed() / n;
        let t = Instant::now();
        for _ in 0..n {
            let _: Profile = serde_json::from_str(DEFAULT_PROFILE_JSON).unwrap();
        }
        let parse = t.elapsed() / n;
        let dir = std::env::temp_dir().join(format!("rcon-seccomp-cache-{}", std::process::id()));
        let first = Instant::now();
        let f0 = docker_default_cached(&dir, &caps).unwrap();
        let first = first.elapsed();
        let t = Instant::now();
        for _ in 0..n {
            let f = docker_default_cached(&dir, &caps).unwrap();
            assert_eq!(f.prog, f0.prog);
        }
        let cached = t.elapsed() / n;
        std::fs::remove_dir_all(&dir).unwrap();
        eprintln!(
            "docker_default + to_bpf: {per:?} per call ({} insns, {len} bytes); json parse alone {parse:?}; \
             docker_default_cached: first {first:?}, then {cached:?} per call",
            len / 8
        );
    }

    #[test]
    fn bpf_roundtrip() {
        let f = docker_default(&docker_caps()).unwrap();
        let bytes = f.to_bpf().unwrap();
        assert_eq!(bytes.len(), f.len() * 8);
        let g = Filter::from_bpf(bytes.clone());
        assert_eq!(g.prog, f.prog);
        assert_eq!(g.to_bpf().unwrap(), bytes);
        let bad = Filter::from_bpf(vec![1, 2, 3]);
        assert!(matches!(bad.load(), Err(SeccompError::BadBpf(3))));
        assert!(matches!(Filter::from_bpf(Vec::new()).load(), Err(SeccompError::BadBpf(0))));
        assert!(cache_key(DEFAULT_PROFILE_JSON, &docker_caps()) != cache_key(DEFAULT_PROFILE_JSON, &with_sys_admin()));
        let mut shuffled = docker_caps();
        shuffled.reverse();
        assert_eq!(cache_key(DEFAULT_PROFILE_JSON, &docker_caps()), cache_key(DEFAULT_PROFILE_JSON, &shuffled));
    }

    #[test]
    fn load_default_in_child() {
        if !is_root() {
            eprintln!("skipped: needs root or CAP_SYS_ADMIN");
            return;
        }
        let f = docker_default(&docker_caps()).unwrap();
        let code = in_child(|| {
            if f.load().is_err() {
                return 10;
            }
            unsafe {
                let pid = libc::getpid();
                if pid <= 0 || libc::syscall(libc::SYS_getpid) as i32 != pid {
                    return 11;
                }
                if libc::write(2, b"".as_ptr().cast(), 0) != 0 {
                    return 12;
                }
                if libc::mount(c"none".as_ptr(), c"/nonexistent".as_ptr(), c"tmpfs".as_ptr(), 0, std::ptr::null()) != -1
                    || errno() != libc::EPERM
                {
                    return 13;
                }
                if libc::syscall(libc::SYS_keyctl, 0, 0, 0, 0, 0) != -1 || errno() != libc::EPERM {
                    return 14;
                }
                // reboot(bogus magic) would be EINVAL without the filter; the filter says EPERM.
                if libc::syscall(libc::SYS_reboot, 0, 0, 0, 0) != -1 || errno() != libc::EPERM {
                    return 15;
                }
                if libc::syscall(libc::SYS_kexec_load, 0, 0, 0, 0) != -1 || errno() != libc::EPERM {
                    return 16;
                }
                if libc::unshare(libc::CLONE_NEWUSER) != -1 || errno() != libc::EPERM {
                    return 17;
                }
                if libc::syscall(libc::SYS_clone3, 0, 0) != -1 || errno() != libc::ENOSYS {
                    return 18;
                }
                // A syscall newer than the profile: ENOSYS, not EPERM.
                if libc::syscall(1000) != -1 || errno() != libc::ENOSYS {
                    return 19;
                }
                // fork still works (clone without namespace flags) and the child inherits the filter.
                let pid = libc::fork();
                if pid == 0 {
                    let ok = libc::unshare(libc::CLONE_NEWNS) == -1 && errno() == libc::EPERM;
                    libc::_exit(if ok { 0 } else { 1 });
                }
                let mut st = 0;
                if pid < 0 || libc::waitpid(pid, &mut st, 0) != pid || st != 0 {
                    return 20;
                }
                // The status file says we are filtered.
            }
            0
        });
        assert_eq!(code, 0);
    }

    #[test]
    fn exec_shell_under_default_filter() {
        if !is_root() {
            eprintln!("skipped: needs root");
            return;
        }
        let f = docker_default(&docker_caps()).unwrap();
        let code = in_child(|| {
            if f.load().is_err() {
                return 100;
            }
            let script = b"ls / >/dev/null && d=/tmp/rcon-sc-$$ && mkdir $d && chmod 700 $d && rmdir $d \
                && grep -q '^Seccomp:[[:space:]]*2' /proc/self/status\0";
            let argv = [c"sh".as_ptr(), c"-c".as_ptr(), script.as_ptr().cast(), std::ptr::null()];
            unsafe { libc::execv(c"/bin/sh".as_ptr(), argv.as_ptr()) };
            101
        });
        assert_eq!(code, 0);
    }

    #[test]
    fn cache_recovers_from_corruption() {
        let dir = std::env::temp_dir().join(format!("rcon-seccomp-cache2-{}", std::process::id()));
        let caps = docker_caps();
        let f = docker_default_cached(&dir, &caps).unwrap();
        let path = dir.join(format!("seccomp-{}.bpf", cache_key(DEFAULT_PROFILE_JSON, &caps)));
        let mut bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..8], CACHE_MAGIC);
        assert_eq!(decode_cache(&bytes).unwrap().prog, f.prog);
        // Flip one instruction byte: checksum mismatch, recompiled and rewritten.
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        assert!(decode_cache(&bytes).is_none());
        let g = docker_default_cached(&dir, &caps).unwrap();
        assert_eq!(g.prog, f.prog);
        assert!(decode_cache(&std::fs::read(&path).unwrap()).is_some());
        // Different caps: different entry.
        let h = docker_default_cached(&dir, &with_sys_admin()).unwrap();
        assert_ne!(h.prog, f.prog);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn load_default_with_sys_admin_allows_mount() {
        if !is_root() {
            eprintln!("skipped: needs root");
            return;
        }
        let f = docker_default(&with_sys_admin()).unwrap();
        let code = in_child(|| {
            if f.load().is_err() {
                return 10;
            }
            unsafe {
                // The filter lets mount through: the kernel answers ENOENT for the bogus target.
                let r = libc::mount(
                    c"none".as_ptr(),
                    c"/nonexistent-rcon".as_ptr(),
                    c"tmpfs".as_ptr(),
                    0,
                    std::ptr::null(),
                );
                if r != -1 || errno() != libc::ENOENT {
                    return 11;
                }
                if libc::syscall(libc::SYS_keyctl, 0, 0, 0, 0, 0) != -1 || errno() != libc::EPERM {
                    return 12;
                }
            }
            0
        });
        assert_eq!(code, 0);
    }

    #[test]
    fn load_from_cached_bpf_with_no_new_privs() {
        let bytes = docker_default(&docker_caps()).unwrap().to_bpf().unwrap();
        let f = Filter::from_bpf(bytes);
        let code = in_child(|| {
            if set_no_new_privs().is_err() {
                return 10;
            }
            if f.load().is_err() {
                return 11;
            }
            unsafe {
                if libc::syscall(libc::SYS_keyctl, 0, 0, 0, 0, 0) != -1 || errno() != libc::EPERM {
                    return 12;
                }
            }
            0
        });
        assert_eq!(code, 0);
    }

    const MKDIR_ENOSYS: &str = r#"{
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
            {"name": "chown32", "action": "SCMP_ACT_ERRNO"},
            {"names": ["no_such_syscall_xyz"], "action": "SCMP_ACT_KILL"}
        ]
    }"#;

    #[test]
    fn user_profile_mkdir_enosys() {
        let f = from_profile_json(MKDIR_ENOSYS, &[]).unwrap();
        let z = [0u64; 6];
        assert_eq!(decide(&f, libc::SYS_mkdir, z), RET_ENOSYS);
        assert_eq!(decide(&f, libc::SYS_mount, z), RET_ALLOW);
        assert_eq!(decide(&f, 1000, z), RET_ALLOW, "default allow: no ENOSYS prologue");
        let code = in_child(|| {
            if set_no_new_privs().is_err() || f.load().is_err() {
                return 10;
            }
            unsafe {
                if libc::mkdir(c"/tmp/rcon-seccomp-test-dir".as_ptr(), 0o700) != -1 || errno() != libc::ENOSYS {
                    return 11;
                }
                if libc::getpid() <= 0 {
                    return 12;
                }
            }
            0
        });
        assert_eq!(code, 0);
    }

    #[test]
    fn user_profile_features() {
        // Multiple args on one index -> OR; args on different indexes -> AND; actions.
        let json = r#"{
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": 13,
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
            "syscalls": [
                {"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["fchmodat2"], "action": "SCMP_ACT_ERRNO", "errnoRet": 95},
                {"names": ["mseal"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["statmount"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]},
                {"names": ["ioctl"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 1, "value": 1, "op": "SCMP_CMP_EQ"}, {"index": 1, "value": 2, "op": "SCMP_CMP_EQ"}]},
                {"names": ["kill"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 100, "op": "SCMP_CMP_GT"}, {"index": 1, "value": 9, "op": "SCMP_CMP_NE"}]},
                {"names": ["getpid"], "action": "SCMP_ACT_TRAP"},
                {"names": ["getppid"], "action": "SCMP_ACT_KILL_PROCESS"},
                {"names": ["gettid"], "action": "SCMP_ACT_LOG"},
                {"names": ["getuid"], "action": "SCMP_ACT_TRACE", "errnoRet": 7},
                {"names": ["getgid"], "action": "SCMP_ACT_KILL_THREAD"},
                {"names": ["mmap"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 2, "value": 4, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]},
                {"names": ["lseek"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 2, "value": 2, "op": "SCMP_CMP_LE"}]},
                {"names": ["pread64"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 2, "value": 10, "op": "SCMP_CMP_LT"}]},
                {"names": ["pwrite64"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 2, "value": 10, "op": "SCMP_CMP_GE"}]},
                {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
                {"names": ["umount2"], "action": "SCMP_ACT_ALLOW", "excludes": {"arches": ["amd64"]}},
                {"names": ["chroot"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "99.0"}},
                {"names": ["chdir"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "3.10", "arches": ["amd64"]}}
            ]
        }"#;
        let f = from_profile_json(json, &s(&["sys_admin"])).unwrap();
        let z = [0u64; 6];
        let eacces = 0x0005_0000 | 13;
        assert_eq!(decide(&f, libc::SYS_read, z), RET_ALLOW);
        assert_eq!(decide(&f, libc::SYS_close, z), eacces);
        assert_eq!(decide(&f, 452, z), 0x0005_0000 | 95, "fchmodat2");
        // mseal (462) and statmount (457) are unknown to libseccomp 2.5.4: the unconditional
        // mseal rule is handled by number, the conditional statmount rule is skipped.
        assert_eq!(decide(&f, 462, z), RET_ALLOW, "mseal by number");
        assert_eq!(run_bpf(&f.prog, I386, 462, z), RET_ALLOW, "i386 mseal by number");
        assert_eq!(decide(&f, 457, [1, 0, 0, 0, 0, 0]), eacces, "conditional rule on an unknown name: skipped");
        assert_eq!(decide(&f, 453, z), eacces, "older than the newest mentioned syscall: default action");
        assert_eq!(decide(&f, 463, z), RET_ENOSYS, "newer than the profile");
        assert_eq!(run_bpf(&f.prog, I386, 463, z), RET_ENOSYS);
        assert_eq!(decide(&f, libc::SYS_ioctl, [0, 1, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(decide(&f, libc::SYS_ioctl, [0, 2, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(decide(&f, libc::SYS_ioctl, [0, 3, 0, 0, 0, 0]), eacces);
        assert_eq!(decide(&f, libc::SYS_kill, [101, 15, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(decide(&f, libc::SYS_kill, [101, 9, 0, 0, 0, 0]), eacces);
        assert_eq!(decide(&f, libc::SYS_kill, [100, 15, 0, 0, 0, 0]), eacces);
        assert_eq!(decide(&f, libc::SYS_getpid, z), 0x0003_0000);
        assert_eq!(decide(&f, libc::SYS_getppid, z), 0x8000_0000);
        assert_eq!(decide(&f, libc::SYS_gettid, z), 0x7ffc_0000);
        assert_eq!(decide(&f, libc::SYS_getuid, z), 0x7ff0_0007);
        assert_eq!(decide(&f, libc::SYS_getgid, z), 0);
        assert_eq!(decide(&f, libc::SYS_mmap, [0, 0, 3, 0, 0, 0]), RET_ALLOW);
        assert_eq!(decide(&f, libc::SYS_mmap, [0, 0, 7, 0, 0, 0]), eacces);
        assert_eq!(decide(&f, libc::SYS_lseek, [0, 0, 2, 0, 0, 0]), RET_ALLOW);
        assert_eq!(decide(&f, libc::SYS_lseek, [0, 0, 3, 0, 0, 0]), eacces);
        assert_eq!(decide(&f, libc::SYS_pread64, [0, 0, 9, 0, 0, 0]), RET_ALLOW);
        assert_eq!(decide(&f, libc::SYS_pread64, [0, 0, 10, 0, 0, 0]), eacces);
        assert_eq!(decide(&f, libc::SYS_pwrite64, [0, 0, 10, 0, 0, 0]), RET_ALLOW);
        assert_eq!(decide(&f, libc::SYS_pwrite64, [0, 0, 9, 0, 0, 0]), eacces);
        assert_eq!(decide(&f, libc::SYS_mount, z), RET_ALLOW);
        assert_eq!(decide(&f, libc::SYS_umount2, z), eacces);
        assert_eq!(decide(&f, libc::SYS_chroot, z), eacces);
        assert_eq!(decide(&f, libc::SYS_chdir, z), RET_ALLOW);
        assert_eq!(run_bpf(&f.prog, I386, 3, z), RET_ALLOW, "i386 read");
        // x32 not listed: killed.
        assert_eq!(decide(&f, X32_SYSCALL_BIT as i64, z), 0, "x32 read: x32 not in the filter");
        // Without the cap, mount falls to the default action.
        let f = from_profile_json(json, &[]).unwrap();
        assert_eq!(decide(&f, libc::SYS_mount, z), eacces);
    }

    #[test]
    fn flags_are_kept() {
        let json = r#"{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
                       "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}"#;
        let f = from_profile_json(json, &[]).unwrap();
        assert_eq!(f.flags(), SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW);
        let code = in_child(|| {
            if set_no_new_privs().is_err() || f.load().is_err() {
                return 10;
            }
            if unsafe { libc::mkdir(c"/tmp/rcon-x".as_ptr(), 0) } != -1 || errno() != libc::EPERM {
                return 11;
            }
            0
        });
        assert_eq!(code, 0);
    }

    #[test]
    fn errors() {
        let e = from_profile_json("{not json", &[]).unwrap_err();
        assert!(matches!(e, SeccompError::Json(_)));
        assert!(e.to_string().starts_with("invalid seccomp profile json: "), "{e}");

        let e = from_profile_json(r#"{"defaultAction": "SCMP_ACT_FOO"}"#, &[]).unwrap_err();
        assert_eq!(e.to_string(), "unknown seccomp action \"SCMP_ACT_FOO\" for defaultAction");

        let e = from_profile_json(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_EXPLODE"}]}"#,
            &[],
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "unknown seccomp action \"SCMP_ACT_EXPLODE\" for syscall mkdir");

        let e = from_profile_json(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}"#,
            &[],
        )
        .unwrap_err();
        assert!(matches!(e, SeccompError::UnsupportedAction { .. }), "{e}");

        let e = from_profile_json(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_LIKE"}]}]}"#,
            &[],
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "unknown seccomp comparison operator \"SCMP_CMP_LIKE\" for syscall mkdir");

        let e = from_profile_json(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}"#,
            &[],
        )
        .unwrap_err();
        assert!(matches!(e, SeccompError::ArgIndex { index: 6, .. }), "{e}");

        let e = from_profile_json(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"name": "mkdir", "names": ["rmdir"], "action": "SCMP_ACT_ERRNO"}]}"#,
            &[],
        )
        .unwrap_err();
        assert!(matches!(e, SeccompError::NameAndNames { index: 0 }), "{e}");

        let e = from_profile_json(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"], "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]}"#,
            &[],
        )
        .unwrap_err();
        assert!(matches!(e, SeccompError::ArchitecturesAndArchMap), "{e}");

        let e = from_profile_json(r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_VAX"]}"#, &[])
            .unwrap_err();
        assert_eq!(e.to_string(), "unknown seccomp architecture \"SCMP_ARCH_VAX\"");

        let e = from_profile_json(r#"{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_FOO"]}"#, &[])
            .unwrap_err();
        assert!(matches!(e, SeccompError::UnknownFlag(_)), "{e}");

        let e = from_profile_json(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "new"}}]}"#,
            &[],
        )
        .unwrap_err();
        assert!(matches!(e, SeccompError::MinKernel { .. }), "{e}");

        let e = from_profile_json(r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 70000}"#, &[]).unwrap_err();
        assert!(matches!(e, SeccompError::ErrnoRange { .. }), "{e}");

        let e = from_profile_json(r#"{"syscalls": []}"#, &[]).unwrap_err();
        assert!(e.to_string().contains("defaultAction"), "{e}");

        let e = from_profile_file(Path::new("/nonexistent/profile.json"), &[]).unwrap_err();
        assert!(e.to_string().starts_with("reading seccomp profile /nonexistent/profile.json: "), "{e}");

        let dir = std::env::temp_dir().join(format!("rcon-seccomp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("bad.json");
        std::fs::write(&p, r#"{"defaultAction": "SCMP_ACT_NOPE"}"#).unwrap();
        let e = from_profile_file(&p, &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("seccomp profile {}: unknown seccomp action \"SCMP_ACT_NOPE\" for defaultAction", p.display())
        );
        std::fs::write(&p, MKDIR_ENOSYS).unwrap();
        assert!(from_profile_file(&p, &[]).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn kernel_versions() {
        assert_eq!(parse_kernel_version("4.8"), Some((4, 8)));
        assert_eq!(parse_kernel_version("6.18.44-fc-v657"), Some((6, 18)));
        assert_eq!(parse_kernel_version("5"), Some((5, 0)));
        assert_eq!(parse_kernel_version("x"), None);
        assert!(host_kernel_version() >= (3, 0));
    }

    #[test]
    fn prologue_shapes() {
        // Nothing to do -> no prologue.
        assert_eq!(build_prologue(&[]), Some(Vec::new()));
        let p = ArchPatch {
            audit_arch: X86_64,
            main: AbiPatch { rules: vec![(452, RET_ALLOW)], enosys_above: Some(460) },
            x32: Some(AbiPatch { rules: vec![], enosys_above: Some(460 | X32_SYSCALL_BIT) }),
            is_x86_64: true,
        };
        let mut prog = build_prologue(&[p]).unwrap();
        // Append a fake "libseccomp program" that returns 0x1234.
        prog.push(insn(BPF_RET_K, 0, 0, 0x1234));
        let z = [0u64; 6];
        assert_eq!(run_bpf(&prog, X86_64, 452, z), RET_ALLOW);
        assert_eq!(run_bpf(&prog, X86_64, 461, z), RET_ENOSYS);
        assert_eq!(run_bpf(&prog, X86_64, 1, z), 0x1234);
        assert_eq!(run_bpf(&prog, X86_64, X32_SYSCALL_BIT | 1, z), 0x1234);
        assert_eq!(run_bpf(&prog, X86_64, X32_SYSCALL_BIT | 461, z), RET_ENOSYS);
        assert_eq!(run_bpf(&prog, I386, 461, z), 0x1234);
    }
}
