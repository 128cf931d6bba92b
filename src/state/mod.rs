//! Durable state files: atomic JSON writes and advisory locks.
//!
//! Many rcon processes run at once (shell scripts, parallel CI jobs) and any of
//! them may be killed at any instant. Every state change therefore takes an
//! exclusive `flock`, re-reads the file, changes it and replaces it with
//! rename(2), so a reader sees either the old or the new file, never a mix.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Error, IoContext, Result};

/// An exclusive advisory lock held until dropped. The kernel drops it when
/// the process dies, so a killed rcon never leaves the store locked.
pub struct Lock {
    _file: File,
}

impl Lock {
    fn open(path: &Path) -> Result<File> {
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .mode(0o600)
            .custom_flags(libc::O_CLOEXEC)
            .open(path)
            .ctx(|| format!("open lock {}", path.display()))
    }

    /// flock(2) `op`, retried on EINTR; Ok(false) when non-blocking and held.
    fn flock(file: &File, op: i32, path: &Path) -> Result<bool> {
        loop {
            if unsafe { libc::flock(file.as_raw_fd(), op) } == 0 {
                return Ok(true);
            }
            let err = std::io::Error::last_os_error();
            match err.kind() {
                std::io::ErrorKind::Interrupted => continue,
                std::io::ErrorKind::WouldBlock => return Ok(false),
                _ => return Err(Error::io(format!("lock {}", path.display()), err)),
            }
        }
    }

    pub fn exclusive(path: &Path) -> Result<Lock> {
        let file = Lock::open(path)?;
        Lock::flock(&file, libc::LOCK_EX, path)?;
        Ok(Lock { _file: file })
    }

    /// A shared lock: many holders at once, none while an exclusive one is held.
    pub fn shared(path: &Path) -> Result<Lock> {
        let file = Lock::open(path)?;
        Lock::flock(&file, libc::LOCK_SH, path)?;
        Ok(Lock { _file: file })
    }

    /// The exclusive lock if nobody holds any lock on `path` now, else None.
    pub fn try_exclusive(path: &Path) -> Result<Option<Lock>> {
        let file = Lock::open(path)?;
        Ok(Lock::flock(&file, libc::LOCK_EX | libc::LOCK_NB, path)?.then_some(Lock { _file: file }))
    }
}

/// Write `bytes` to `path` atomically: temp file in the same directory,
/// fsync, rename over the target, fsync the directory.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<()> {
    write_replace(path, bytes, true)
}

/// Like `atomic_write` without the fsyncs: still all-or-nothing for a
/// process killed at any instant (rename is atomic), but not across a power
/// loss. For container state, rewritten on every start and stop.
pub fn replace_file(path: &Path, bytes: &[u8]) -> Result<()> {
    write_replace(path, bytes, false)
}

fn write_replace(path: &Path, bytes: &[u8], durable: bool) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .mode(0o644)
            .custom_flags(libc::O_CLOEXEC)
            .open(&tmp)?;
        f.write_all(bytes)?;
        if durable {
            f.sync_all()?;
        }
        fs::rename(&tmp, path)?;
        if durable {
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Error::io(format!("write {}", path.display()), e)
    })
}

pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    atomic_write(path, &to_json(path, value)?)
}

/// `write_json` without fsync (see `replace_file`).
pub fn replace_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    replace_file(path, &to_json(path, value)?)
}

fn to_json<T: Serialize>(path: &Path, value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec_pretty(value).map_err(|e| Error::State { path: path.to_owned(), reason: e.to_string() })
}

/// Read a JSON state file; a missing file is `None`.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| Error::State {
            path: path.to_owned(),
            reason: format!("corrupt state file ({e}); move it away to start afresh"),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(format!("read {}", path.display()), e)),
    }
}

/// Which record of an object does not parse, and why.
#[derive(Clone, Debug)]
pub struct Damage {
    pub path: PathBuf,
    pub reason: String,
}

impl Damage {
    /// The error for a verb on a damaged object: one line naming the file
    /// and the command that removes the object.
    pub fn error(&self, object: &'static str, name: &str, fix: String) -> Error {
        Error::Damaged { object, name: name.to_string(), path: self.path.clone(), reason: self.reason.clone(), fix }
    }
}

/// A record file as found: missing, read, or damaged (why it does not parse).
pub enum Record<T> {
    Missing,
    Read(T),
    Damaged(String),
}

/// Read a record without giving up on a damaged one: the stores list
/// damaged objects (issue 12: a truncated record must not make its object
/// vanish while its processes run and its name is free for the taking).
pub fn read_record<T: DeserializeOwned>(path: &Path) -> Record<T> {
    match fs::read(path) {
        Ok(bytes) => match serde_json::from_slice(&bytes) {
            Ok(v) => Record::Read(v),
            Err(e) if bytes.is_empty() => Record::Damaged(format!("empty file ({e})")),
            Err(e) => Record::Damaged(e.to_string()),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Record::Missing,
        Err(e) => Record::Damaged(e.to_string()),
    }
}

pub fn ensure_dir(path: &Path) -> Result<()> {
    fs::create_dir_all(path).ctx(|| format!("create directory {}", path.display()))
}

/// A scratch directory for one command, removed when dropped (also on error),
/// so a failed command leaves nothing behind. Named after our pid and start
/// time so that `sweep_stale` can remove those of processes that were killed.
pub struct TempDir {
    path: PathBuf,
    keep: bool,
}

impl TempDir {
    pub fn new(parent: &Path, tag: &str) -> Result<TempDir> {
        ensure_dir(parent)?;
        let pid = std::process::id();
        let start = process_start_time(pid).unwrap_or(0);
        for n in 0..1000u32 {
            let path = parent.join(format!("{tag}-{pid}-{start}-{n}"));
            match fs::create_dir(&path) {
                Ok(()) => return Ok(TempDir { path, keep: false }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(Error::io(format!("create {}", path.display()), e)),
            }
        }
        Err(Error::Other(format!("cannot create a temporary directory in {}", parent.display())))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Leave the directory for someone else to remove (e.g. a userns helper).
    pub fn keep(mut self) -> PathBuf {
        self.keep = true;
        self.path.clone()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// Names of entries in `dir` created by `TempDir` for processes that no
/// longer exist (pid gone, or reused by a process with another start time).
pub fn stale_temp_entries(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for ent in rd.flatten() {
        let name = ent.file_name().to_string_lossy().into_owned();
        let parts: Vec<&str> = name.rsplitn(4, '-').collect();
        if parts.len() != 4 {
            continue;
        }
        let (Ok(start), Ok(pid)) = (parts[1].parse::<u64>(), parts[2].parse::<u32>()) else {
            continue;
        };
        if process_start_time(pid) != Some(start) {
            out.push(ent.path());
        }
    }
    out
}

/// Where a remover moves a tree it is about to delete: `.rm-NAME-PID-START-0`
/// in the same directory (rename(2) makes the object vanish at once). The
/// remover's pid and start time in the name tell a sweep later whether the
/// remover still lives, as [`TempDir`] names do.
pub fn trash_path(root: &Path, name: &str) -> PathBuf {
    let pid = std::process::id();
    let start = process_start_time(pid).unwrap_or(0);
    (0u32..)
        .map(|n| root.join(format!(".rm-{name}-{pid}-{start}-{n}")))
        .find(|p| fs::symlink_metadata(p).is_err())
        .expect("a free trash name")
}

/// The object name in a [`trash_path`] (or an older `.rm-NAME`).
pub fn trash_object(file_name: &str) -> &str {
    let rest = file_name.strip_prefix(".rm-").unwrap_or(file_name);
    if owned_trash(file_name) {
        let mut it = rest.rsplitn(4, '-');
        it.nth(3).unwrap_or(rest)
    } else {
        rest
    }
}

/// What a killed command left in a store directory (`containers/`,
/// `volumes/`), found under the store's lock: trees of removers that died
/// ([`trash_path`] names whose process is gone), and object directories
/// without their record file (`record`: `container.json`, `volume.json`).
/// The latter are only ever filled under the same lock (create writes the
/// record last before releasing it), so holding the lock proves the filler
/// is gone. Trees named `.rm-…` without an owner (older versions) are
/// `unowned`: nothing proves their remover dead, so they are reported, not
/// swept.
pub struct Leftovers {
    pub dead: Vec<PathBuf>,
    pub unowned: Vec<PathBuf>,
}

pub fn leftovers(root: &Path, record: &str) -> Leftovers {
    let mut out = Leftovers { dead: Vec::new(), unowned: Vec::new() };
    let Ok(rd) = fs::read_dir(root) else { return out };
    let stale = stale_temp_entries(root);
    for ent in rd.flatten() {
        let path = ent.path();
        if !ent.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let name = ent.file_name().to_string_lossy().into_owned();
        if name.starts_with(".rm-") {
            if stale.contains(&path) {
                out.dead.push(path);
            } else if !owned_trash(&name) {
                out.unowned.push(path);
            }
        } else if !name.starts_with('.') && !path.join(record).exists() {
            out.dead.push(path);
        }
    }
    out
}

impl Leftovers {
    /// Each leftover with why it is still there, for `system df`.
    pub fn report(self) -> Vec<Leftover> {
        let dead = self.dead.into_iter().map(|path| Leftover { path, why: SWEPT_NEXT });
        dead.chain(self.unowned.into_iter().map(|path| Leftover { path, why: UNOWNED })).collect()
    }
}

/// What `system df` reports as left by killed commands.
pub struct Leftover {
    pub path: PathBuf,
    pub why: &'static str,
}

pub const SWEPT_NEXT: &str = "left by a killed command; the next rm, run, create or prune sweeps it";
pub const UNOWNED: &str = "no pid in its name (left by an older rcon); remove it by hand";

/// Take a dead process's leftover for deletion: rename it to our own trash
/// name, so that two sweeps never delete one tree at once. None when it
/// went meanwhile.
pub fn claim(root: &Path, leftover: &Path) -> Option<PathBuf> {
    let name = leftover.file_name()?.to_string_lossy().into_owned();
    let to = trash_path(root, trash_object(&name));
    fs::rename(leftover, &to).ok().map(|()| to)
}

/// Whether a `.rm-` name carries a live or dead owner (`-PID-START-N`).
fn owned_trash(name: &str) -> bool {
    let parts: Vec<&str> = name.rsplitn(4, '-').collect();
    parts.len() == 4 && parts[..3].iter().all(|p| p.parse::<u64>().is_ok())
}

/// Start time of a process in clock ticks since boot (field 22 of
/// /proc/PID/stat): with the pid it identifies a process across pid reuse.
pub fn process_start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parentheses: skip past the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(19)?.parse().ok()
}
