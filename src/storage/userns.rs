//! Running storage work inside the user's subordinate id mapping.
//!
//! Layers must keep the owners their tar says (root, www-data, …). As an
//! unprivileged user that is only possible inside a user namespace whose ids
//! are mapped onto the user's /etc/subuid and /etc/subgid ranges by the setuid
//! `newuidmap`/`newgidmap`. The same mapping is used by containers later, so a
//! file owned by uid 1000 in a layer shows as (subuid start + 999) on the host.
//!
//! We never fork a multi-threaded process: the helper is this binary
//! re-executed (`/proc/self/exe __storage-helper`), which unshares a user
//! namespace first thing, waits for its parent to write the maps, then reads a
//! JSON request from stdin and answers on stdout. As real root no namespace is
//! needed and the work runs in-process.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum UserNsError {
    #[error("{0} not found: install the uidmap package (apt-get install uidmap)")]
    MissingTool(&'static str),
    #[error("{tool} failed: {msg}: check /etc/subuid and /etc/subgid for user {user}")]
    MapFailed { tool: &'static str, msg: String, user: String },
    #[error("storage helper: {0}")]
    Helper(String),
    /// A path asked for (`Request::Tar`) does not exist.
    #[error("no such file or directory")]
    NoSuchPath,
}

impl UserNsError {
    pub fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            UserNsError::MissingTool(_) | UserNsError::MapFailed { .. } => ErrorKind::Unavailable,
            UserNsError::Helper(_) => ErrorKind::Internal,
            UserNsError::NoSuchPath => ErrorKind::NotFound,
        }
    }
}

/// One contiguous range: container ids `inside..inside+count` are host ids
/// `outside..outside+count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdRange {
    pub inside: u32,
    pub outside: u32,
    pub count: u32,
}

/// The id mapping rcon uses for the calling user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdMap {
    pub uids: Vec<IdRange>,
    pub gids: Vec<IdRange>,
}

impl IdMap {
    /// Root inside = the user; 1.. = the subordinate ranges, in file order.
    /// With no subordinate range, only the user's own id is mapped.
    pub fn for_current_user() -> IdMap {
        let uid = unsafe { libc::geteuid() };
        let gid = unsafe { libc::getegid() };
        let name = user_name(uid);
        let build = |own: u32, file: &str| {
            let mut v = vec![IdRange { inside: 0, outside: own, count: 1 }];
            let mut next = 1u32;
            for (start, count) in subordinate_ranges(file, &name, uid) {
                v.push(IdRange { inside: next, outside: start, count });
                next = next.saturating_add(count);
            }
            v
        };
        IdMap { uids: build(uid, "/etc/subuid"), gids: build(gid, "/etc/subgid") }
    }

    /// True when only the user's own id is mapped (no subuid/subgid range).
    pub fn is_single(&self) -> bool {
        self.uids.len() == 1 || self.gids.len() == 1
    }

    /// Podman's `--userns=keep-id`: the user's own uid/gid stay the same
    /// inside the container; container ids below them take the first
    /// subordinate ids, ids above them the rest. Needs one subordinate range
    /// larger than the user's id.
    pub fn keep_id(&self, uid: u32, gid: u32) -> Option<IdMap> {
        let shift = |ranges: &[IdRange], own: u32| -> Option<Vec<IdRange>> {
            let (me, sub) = (ranges.first()?, ranges.get(1)?);
            if ranges.len() != 2 || sub.count <= own {
                return None;
            }
            let mut v = Vec::new();
            if own > 0 {
                v.push(IdRange { inside: 0, outside: sub.outside, count: own });
            }
            v.push(IdRange { inside: own, outside: me.outside, count: 1 });
            v.push(IdRange { inside: own + 1, outside: sub.outside + own, count: sub.count - own });
            Some(v)
        };
        Some(IdMap { uids: shift(&self.uids, uid)?, gids: shift(&self.gids, gid)? })
    }

    /// Host uid for a container uid, if mapped.
    pub fn host_uid(&self, id: u32) -> Option<u32> {
        map_one(&self.uids, id)
    }

    pub fn host_gid(&self, id: u32) -> Option<u32> {
        map_one(&self.gids, id)
    }

    /// Container uid that host uid `host` shows as, if mapped.
    pub fn container_uid(&self, host: u32) -> Option<u32> {
        unmap_one(&self.uids, host)
    }

    pub fn container_gid(&self, host: u32) -> Option<u32> {
        unmap_one(&self.gids, host)
    }

    /// This map with its host ids expressed as ids of `parent`, the map of
    /// the user namespace it will be nested in (user networks: containers'
    /// namespaces are children of the holder's). None if a host id of ours
    /// is not mapped in `parent`.
    pub fn relative_to(&self, parent: &IdMap) -> Option<IdMap> {
        let rel = |ours: &[IdRange], theirs: &[IdRange]| -> Option<Vec<IdRange>> {
            let mut v = Vec::new();
            for r in ours {
                // Split our range wherever it crosses one of the parent's.
                let mut done = 0;
                while done < r.count {
                    let host = r.outside + done;
                    let p = theirs.iter().find(|p| host >= p.outside && host - p.outside < p.count)?;
                    let n = (p.count - (host - p.outside)).min(r.count - done);
                    v.push(IdRange { inside: r.inside + done, outside: p.inside + (host - p.outside), count: n });
                    done += n;
                }
            }
            Some(v)
        };
        Some(IdMap { uids: rel(&self.uids, &parent.uids)?, gids: rel(&self.gids, &parent.gids)? })
    }
}

/// Write a nested namespace's maps from a process that is root in its
/// parent namespace (no newuidmap: that runs in the host's namespace, which
/// is not the parent). `map` is in the parent's ids.
pub fn write_maps_direct(pid: u32, map: &IdMap) -> std::io::Result<()> {
    let text =
        |v: &[IdRange]| v.iter().map(|r| format!("{} {} {}\n", r.inside, r.outside, r.count)).collect::<String>();
    std::fs::write(format!("/proc/{pid}/uid_map"), text(&map.uids))?;
    std::fs::write(format!("/proc/{pid}/gid_map"), text(&map.gids))
}

fn unmap_one(ranges: &[IdRange], host: u32) -> Option<u32> {
    ranges.iter().find(|r| host >= r.outside && host - r.outside < r.count).map(|r| r.inside + (host - r.outside))
}

fn map_one(ranges: &[IdRange], id: u32) -> Option<u32> {
    ranges.iter().find(|r| id >= r.inside && id - r.inside < r.count).map(|r| r.outside + (id - r.inside))
}

fn user_name(uid: u32) -> String {
    nix::unistd::User::from_uid(uid.into()).ok().flatten().map(|u| u.name).unwrap_or_else(|| uid.to_string())
}

/// Ranges for `name` (or the numeric uid) in an /etc/subuid-style file.
pub fn subordinate_ranges(file: &str, name: &str, uid: u32) -> Vec<(u32, u32)> {
    let Ok(text) = std::fs::read_to_string(file) else {
        return Vec::new();
    };
    let uid_s = uid.to_string();
    text.lines()
        .filter_map(|l| {
            let mut it = l.trim().splitn(3, ':');
            let (who, start, count) = (it.next()?, it.next()?, it.next()?);
            if who != name && who != uid_s {
                return None;
            }
            Some((start.trim().parse().ok()?, count.trim().parse().ok()?))
        })
        .filter(|&(_, c)| c > 0)
        .collect()
}

/// What a helper is asked to do.
#[derive(Debug, Serialize, Deserialize)]
pub enum Request {
    /// Apply image layers: each source file (compressed or not) into its dest dir.
    Extract(Vec<ExtractJob>),
    /// Remove directory trees whose files belong to mapped ids.
    Remove(Vec<PathBuf>),
    /// Flatten layers (lowest first) into one tree: the "vfs" driver.
    Flatten { layers: Vec<PathBuf>, dst: PathBuf },
    /// Copy a layer for a `--userns=keep-id` container: each file's owner
    /// `c` becomes the id that shows as `c` in the keep-id mapping.
    CopyKeepId { src: PathBuf, dst: PathBuf, uid: u32, gid: u32 },
    /// Write a container's overlay upper dir as a layer tarball (`build`).
    Diff { upper: PathBuf, out: PathBuf },
    /// Write one path of a container's file system (`layers` lowest
    /// first), resolved inside its root, as a tarball with entries named
    /// `name…` (`cp`, `export`: see `diff::write_union_tar`).
    Tar { layers: Vec<PathBuf>, path: String, follow: bool, name: String, out: PathBuf },
    /// `system migrate`: run with the NEW mapping, give every file under
    /// `root` the container ids it had under `old`.
    Rechown { root: PathBuf, old: IdMap, new: IdMap },
}

/// What `Request::Rechown` did.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct RechownReport {
    pub changed: u64,
    /// Files whose owner the new mapping cannot see (or cannot express):
    /// left as they are.
    pub outside: Vec<PathBuf>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ExtractJob {
    pub src: PathBuf,
    pub dest: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExtractOutcome {
    /// sha256 of the uncompressed tar stream: the layer's DiffID.
    pub diff_id: String,
    pub tar_size: u64,
    /// Docker's layer size: the content's bytes.
    pub size: u64,
    pub skipped_devices: u64,
}

#[derive(Debug, Serialize, Deserialize)]
enum Reply {
    Extracted(Vec<ExtractOutcome>),
    Rechowned(RechownReport),
    Removed,
    /// A `Tar` request's path does not exist.
    NoSuchPath,
    Failed(String),
}

static WARNED_SINGLE: AtomicBool = AtomicBool::new(false);

/// Run `req` with the store's ownership rules: in-process as root, else in a
/// helper inside the user's mapping.
pub fn run(req: Request) -> crate::Result<Vec<ExtractOutcome>> {
    if unsafe { libc::geteuid() } == 0 {
        return match execute(req, true, false) {
            Ok(v) => Ok(v),
            Err(Failure::NoSuchPath) => Err(UserNsError::NoSuchPath.into()),
            Err(Failure::Msg(e)) => Err(UserNsError::Helper(e).into()),
        };
    }
    let map = IdMap::for_current_user();
    if map.is_single() && !WARNED_SINGLE.swap(true, Ordering::Relaxed) {
        crate::util::warn(&format!(
            "no subuid/subgid range for user {}: files owned by other users in images will belong to you (add one with: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {})",
            user_name(unsafe { libc::geteuid() }),
            user_name(unsafe { libc::geteuid() })
        ));
    }
    match ask(&map, &req)? {
        Reply::Extracted(v) => Ok(v),
        Reply::Rechowned(_) => Err(crate::Error::Other("storage helper: unexpected answer".into())),
        Reply::Removed => Ok(Vec::new()),
        Reply::NoSuchPath => Err(UserNsError::NoSuchPath.into()),
        Reply::Failed(msg) => Err(crate::Error::Other(msg)),
    }
}

/// Start a helper, map it with `map`, hand it `req`, return its answer.
fn ask(map: &IdMap, req: &Request) -> Result<Reply, UserNsError> {
    let mut child = Command::new(crate::util::helper_binary())
        .arg("__storage-helper")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| UserNsError::Helper(format!("cannot start: {e}")))?;
    let result = drive(&mut child, map, req);
    if result.is_err() {
        let _ = child.kill();
    }
    let _ = child.wait();
    result
}

fn drive(child: &mut std::process::Child, map: &IdMap, req: &Request) -> Result<Reply, UserNsError> {
    let mut stdin = child.stdin.take().expect("piped");
    let mut stdout = child.stdout.take().expect("piped");
    let mut b = [0u8; 1];
    stdout.read_exact(&mut b).map_err(|_| UserNsError::Helper("exited before creating its user namespace (are unprivileged user namespaces disabled? sysctl kernel.unprivileged_userns_clone=1)".into()))?;
    write_maps(child.id(), map)?;
    let mut msg = b"G".to_vec();
    msg.extend(serde_json::to_vec(req).map_err(|e| UserNsError::Helper(e.to_string()))?);
    stdin.write_all(&msg).map_err(|e| UserNsError::Helper(e.to_string()))?;
    drop(stdin);
    let mut out = Vec::new();
    stdout.read_to_end(&mut out).map_err(|e| UserNsError::Helper(e.to_string()))?;
    serde_json::from_slice(&out).map_err(|_| UserNsError::Helper("died without an answer".into()))
}

/// Write the child's uid/gid maps: through newuidmap/newgidmap for ranges,
/// directly for the single-id fallback (allowed for one's own id once
/// setgroups is denied).
pub fn write_maps(pid: u32, map: &IdMap) -> Result<(), UserNsError> {
    if map.is_single() {
        let uid = map.uids[0].outside;
        let gid = map.gids[0].outside;
        let w = |f: &str, s: String| {
            std::fs::write(format!("/proc/{pid}/{f}"), s).map_err(|e| UserNsError::Helper(format!("write {f}: {e}")))
        };
        w("setgroups", "deny".into())?;
        w("uid_map", format!("0 {uid} 1\n"))?;
        w("gid_map", format!("0 {gid} 1\n"))?;
        return Ok(());
    }
    newidmap("newuidmap", pid, &map.uids)?;
    newidmap("newgidmap", pid, &map.gids)
}

fn newidmap(tool: &'static str, pid: u32, ranges: &[IdRange]) -> Result<(), UserNsError> {
    let mut cmd = Command::new(tool);
    cmd.arg(pid.to_string());
    for r in ranges {
        cmd.args([r.inside.to_string(), r.outside.to_string(), r.count.to_string()]);
    }
    let out = cmd.stdin(Stdio::null()).output().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            UserNsError::MissingTool(tool)
        } else {
            UserNsError::Helper(format!("{tool}: {e}"))
        }
    })?;
    if !out.status.success() {
        return Err(UserNsError::MapFailed {
            tool,
            msg: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            user: user_name(unsafe { libc::geteuid() }),
        });
    }
    Ok(())
}

/// Entry point of `rcon __storage-helper` (hidden; called by `run`).
pub fn helper_main() -> i32 {
    if let Err(e) = nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWUSER) {
        eprintln!("rcon: cannot create a user namespace: {e}");
        return 125;
    }
    let mut stdout = std::io::stdout().lock();
    let mut stdin = std::io::stdin().lock();
    if stdout.write_all(b"R").and_then(|_| stdout.flush()).is_err() {
        return 125;
    }
    let mut input = Vec::new();
    if stdin.read_to_end(&mut input).is_err() || input.first() != Some(&b'G') {
        return 125;
    }
    // Become root of the namespace so files are created as container uid 0.
    unsafe {
        libc::setresgid(0, 0, 0);
        libc::setresuid(0, 0, 0);
    }
    let single = std::fs::read_to_string("/proc/self/uid_map").map(|m| m.lines().count() <= 1).unwrap_or(true);
    let reply = match serde_json::from_slice::<Request>(&input[1..]) {
        Ok(Request::Rechown { root, old, new }) => Reply::Rechowned(rechown(&root, &old, &new)),
        Ok(req) => match execute(req, !single, true) {
            Ok(v) if v.is_empty() => Reply::Removed,
            Ok(v) => Reply::Extracted(v),
            Err(Failure::NoSuchPath) => Reply::NoSuchPath,
            Err(Failure::Msg(e)) => Reply::Failed(e),
        },
        Err(e) => Reply::Failed(format!("bad request: {e}")),
    };
    let _ = serde_json::to_writer(&mut stdout, &reply);
    let _ = stdout.flush();
    0
}

/// Why a request failed.
enum Failure {
    /// A `Tar` request's path does not exist in the container.
    NoSuchPath,
    Msg(String),
}

impl From<String> for Failure {
    fn from(s: String) -> Self {
        Failure::Msg(s)
    }
}

/// Do the work. `full_map`: chown must succeed; `userns`: overlay metadata
/// goes to user.* xattrs (rootless overlay is mounted with `userxattr`).
fn execute(req: Request, full_map: bool, userns: bool) -> Result<Vec<ExtractOutcome>, Failure> {
    use super::extract::{ChownMode, ExtractOptions};
    match req {
        Request::Extract(jobs) => {
            let opts = ExtractOptions {
                chown: if full_map { ChownMode::Strict } else { ChownMode::BestEffort },
                overlay_xattr_prefix: if userns { "user.overlay." } else { "trusted.overlay." },
                allow_devices: !userns,
            };
            let mut out = Vec::new();
            for job in jobs {
                out.push(extract_one(&job, &opts).map_err(|e| format!("layer {}: {e}", short_name(&job.src)))?);
            }
            Ok(out)
        }
        Request::CopyKeepId { src, dst, uid, gid } => {
            // In our (store) mapping a file of container id c must get the
            // id whose host id the keep-id mapping shows as c: c+1 below the
            // user's id, 0 for the user's id, c above it.
            let f = |c: u32, own: u32| {
                if c < own {
                    c + 1
                } else if c == own {
                    0
                } else {
                    c
                }
            };
            super::copy::copy_tree(&src, &dst, &|u, g| (f(u, uid), f(g, gid)))
                .map_err(|e| format!("copy {} for keep-id: {e}", src.display()))?;
            Ok(Vec::new())
        }
        Request::Flatten { layers, dst } => {
            std::fs::create_dir_all(&dst).map_err(|e| format!("create {}: {e}", dst.display()))?;
            for l in &layers {
                super::copy::apply_overlay_layer(l, &dst).map_err(|e| format!("flatten {}: {e}", l.display()))?;
            }
            Ok(Vec::new())
        }
        Request::Diff { upper, out } => {
            super::diff::write_upper_tar(&upper, &out)
                .map_err(|e| format!("write the changes of {}: {e}", upper.display()))?;
            Ok(Vec::new())
        }
        Request::Tar { layers, path, follow, name, out } => {
            use super::diff::UnionTarError;
            super::diff::write_union_tar(&layers, &path, follow, &name, &out).map_err(|e| match e {
                UnionTarError::NotFound => Failure::NoSuchPath,
                UnionTarError::Io(e) => Failure::Msg(format!("read {path}: {e}")),
            })?;
            Ok(Vec::new())
        }
        Request::Rechown { .. } => Err("rechown runs only through userns::migrate".to_string().into()),
        Request::Remove(paths) => {
            for p in paths {
                remove_tree(&p).map_err(|e| format!("remove {}: {e}", p.display()))?;
            }
            Ok(Vec::new())
        }
    }
}

fn extract_one(job: &ExtractJob, opts: &super::extract::ExtractOptions) -> Result<ExtractOutcome, String> {
    let f = std::fs::File::open(&job.src).map_err(|e| e.to_string())?;
    let (_, plain) = super::compress::decompress(f).map_err(|e| format!("not a valid compressed stream: {e}"))?;
    let mut hashing = super::compress::HashingReader::new(plain);
    let stats = super::extract::apply_layer(&mut hashing, &job.dest, opts).map_err(|e| e.to_string())?;
    let (diff_id, tar_size) = hashing.finish().map_err(|e| format!("reading layer: {e}"))?;
    Ok(ExtractOutcome { diff_id, tar_size, size: stats.size, skipped_devices: stats.skipped_devices })
}

fn short_name(p: &Path) -> String {
    p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Delete a tree that may hold files of mapped ids (a container's writable
/// layer, a volume's content): the cheap way first, which is enough for
/// what the container's root made (ours) and saves `run --rm` a helper
/// process and two newuidmap calls; the userns helper for the rest.
pub fn remove_trash(p: &Path) -> crate::Result<()> {
    if remove_tree(p).is_err() || p.exists() {
        run(Request::Remove(vec![p.to_path_buf()]))?;
    }
    Ok(())
}

/// `f` under a store's `lock`, then, with the lock released (deleting takes
/// long; other commands need the lock), the trees the caller claimed under
/// it (`state::claim`) deleted.
pub fn sweeping<T>(lock: crate::state::Lock, claimed: Vec<PathBuf>, f: impl FnOnce() -> T) -> T {
    let out = f();
    drop(lock);
    remove_claimed(claimed);
    out
}

/// Delete trees a sweep claimed (`state::claim`); what fails stays, for
/// `system df` to report.
pub fn remove_claimed(claimed: Vec<PathBuf>) {
    for p in claimed {
        if let Err(e) = remove_trash(&p) {
            crate::util::warn(&format!("could not remove the leftover {}: {e}", p.display()));
        }
    }
}

/// remove_dir_all, but first make directories writable: image layers contain
/// read-only directories (mode 0555) that would otherwise stop the removal.
pub fn remove_tree(p: &Path) -> std::io::Result<()> {
    match std::fs::remove_dir_all(p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(_) => {
            make_writable(p);
            match std::fs::remove_dir_all(p) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                r => r,
            }
        }
    }
}

fn make_writable(p: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(md) = std::fs::symlink_metadata(p) else {
        return;
    };
    if md.is_dir() {
        let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(md.permissions().mode() | 0o700));
        if let Ok(rd) = std::fs::read_dir(p) {
            for e in rd.flatten() {
                make_writable(&e.path());
            }
        }
    }
}

/// `system migrate`: in a helper with the user's current (new) mapping,
/// re-own everything under `root` from the `old` mapping to the new one.
pub fn migrate(root: &Path, old: &IdMap, new: &IdMap) -> crate::Result<RechownReport> {
    let req = Request::Rechown { root: root.to_path_buf(), old: old.clone(), new: new.clone() };
    match ask(new, &req)? {
        Reply::Rechowned(r) => Ok(r),
        Reply::Failed(msg) => Err(crate::Error::Other(msg)),
        _ => Err(crate::Error::Other("storage helper: unexpected answer".into())),
    }
}

/// Inside the new mapping a file shows its host owner as a new container
/// id; the host id gives back the container id it had under the old
/// mapping, which is the id to set (the new mapping then puts it on the
/// new host id). Owners the new mapping does not cover show as the
/// overflow id and cannot be changed from here: reported.
fn rechown(root: &Path, old: &IdMap, new: &IdMap) -> RechownReport {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let overflow = |f: &str| {
        std::fs::read_to_string(format!("/proc/sys/kernel/{f}")).ok().and_then(|s| s.trim().parse::<u32>().ok())
    };
    let (ou, og) = (overflow("overflowuid").unwrap_or(65534), overflow("overflowgid").unwrap_or(65534));
    let mut report = RechownReport::default();
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        let Ok(md) = std::fs::symlink_metadata(&p) else { continue };
        if md.is_dir() {
            match std::fs::read_dir(&p) {
                Ok(rd) => stack.extend(rd.flatten().map(|e| e.path())),
                Err(_) => report.outside.push(p.clone()),
            }
        }
        let (u, g) = (md.uid(), md.gid());
        if u == ou || g == og {
            report.outside.push(p);
            continue;
        }
        let back = |host: Option<u32>, f: &dyn Fn(u32) -> Option<u32>, cur: u32| host.and_then(f).unwrap_or(cur);
        let nu = back(new.host_uid(u), &|h| old.container_uid(h), u);
        let ng = back(new.host_gid(g), &|h| old.container_gid(h), g);
        if (nu, ng) == (u, g) {
            continue;
        }
        if new.host_uid(nu).is_none() || new.host_gid(ng).is_none() {
            report.outside.push(p);
            continue;
        }
        if std::os::unix::fs::lchown(&p, Some(nu), Some(ng)).is_err() {
            report.outside.push(p);
            continue;
        }
        // chown clears setuid/setgid: put the mode back.
        if md.is_file() && md.mode() & 0o6000 != 0 {
            let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(md.mode() & 0o7777));
        }
        report.changed += 1;
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(inside: u32, outside: u32, count: u32) -> IdRange {
        IdRange { inside, outside, count }
    }

    #[test]
    fn nested_maps_are_expressed_in_the_parent_ids() {
        let parent =
            IdMap { uids: vec![r(0, 1000, 1), r(1, 100000, 65536)], gids: vec![r(0, 1000, 1), r(1, 100000, 65536)] };
        // The same map as the parent's nests as the identity.
        assert_eq!(parent.relative_to(&parent).unwrap().uids, vec![r(0, 0, 1), r(1, 1, 65536)]);
        // keep-id for uid 1000: 0..999 -> 100000.., 1000 -> 1000, 1001.. -> 101000..
        let keep = parent.keep_id(1000, 1000).unwrap();
        assert_eq!(keep.relative_to(&parent).unwrap().uids, vec![r(0, 1, 1000), r(1000, 0, 1), r(1001, 1001, 64536)]);
        // A host id the parent does not map cannot be nested.
        let other = IdMap { uids: vec![r(0, 5, 1)], gids: vec![r(0, 1000, 1)] };
        assert!(other.relative_to(&parent).is_none());
    }
}
