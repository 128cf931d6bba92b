//! Hostile-input-safe extraction of image layers (Docker / OCI layer tarballs).
//!
//! A layer is untrusted input: anyone can push an image, and `rcon pull` +
//! `rcon run` must not let a layer write anywhere but the directory it is
//! extracted into.  The classic attacks on tar extractors, all of which have
//! hit container engines at some point, are:
//!
//! * path traversal (`../../etc/cron.d/x`, "zip slip"), including through
//!   long names carried in GNU `L` records or PAX `path` records;
//! * symlink traversal: the layer first creates `a -> /etc` (or
//!   `a -> ../..`) and then writes `a/passwd` (CVE-2018-15664 class,
//!   CVE-2019-14271, CVE-2021-30465 for the mount variant, ...);
//! * hardlink traversal: `x` hardlinked to `../../etc/shadow` or to a name
//!   that resolves through a symlink, then written to or read back from
//!   the container (CVE-2014-6407 class);
//! * forged overlayfs metadata: `trusted.overlay.*` / `user.overlay.*`
//!   xattrs smuggled in PAX records (opaque, redirect, metacopy) would let a
//!   layer hide or redirect files of *other* layers;
//! * device nodes (a block device for the host disk) and setuid files when
//!   the engine does not run as real root.
//!
//! Defences used here, and why:
//!
//! * Entry names are normalised lexically (`/`, `./`, `a//b`, `a/./b`,
//!   `a/b/..`), and any `..` that would climb above the layer root rejects
//!   the whole layer.  Docker silently "cleans" such names, but a layer that
//!   contains them is either corrupt or hostile, so we fail loudly.
//! * Nothing is ever opened by a string path joined under `dest`.  Every
//!   entry's parent directory is reached component by component from a
//!   directory fd of `dest`, with `openat(O_DIRECTORY|O_NOFOLLOW)`; a
//!   symlink among the parents is an error rather than something we follow.
//!   The final component is always created or modified with an `*at()`
//!   call relative to that parent fd, with "no follow" semantics
//!   (`O_EXCL|O_NOFOLLOW`, `AT_SYMLINK_NOFOLLOW`, `linkat(.., 0)`), so even a
//!   symlink swapped in between two system calls cannot redirect a write.
//! * Hardlink targets are resolved the same way (no symlinks in the target's
//!   parents; `linkat` without `AT_SYMLINK_FOLLOW` links a symlink itself,
//!   never what it points to) and must already exist inside the layer.
//! * Overlay xattrs from the tar are dropped; the only overlay metadata we
//!   write is what the OCI whiteout files (`.wh.NAME`, `.wh..wh..opq`) mean.
//! * Device nodes are only created when the caller says it is real root.
//! * Error messages quote entry names with `{:?}`, so control characters in a
//!   hostile name cannot inject terminal escape sequences into our output.
//!
//! This module deliberately does not use the tar crate's `unpack*` helpers:
//! it reads headers itself and owns every file-system decision.

use std::collections::BTreeMap;
use std::ffi::{CStr, CString};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use tar::EntryType;

use super::fsat::{cstring, cvt, errno, fstat, lstat_at, open_at, open_dir_at};
use crate::format::quote::quote as q;

/// How ownership from the tar headers is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChownMode {
    /// Every lchown must succeed (real root, or a user namespace with a full
    /// subuid/subgid mapping).
    Strict,
    /// chown failures with EPERM/EINVAL (ids not mapped in the user
    /// namespace, single-id fallback) are ignored and the file stays owned by
    /// the caller.
    BestEffort,
}

/// Options for [`apply_layer`].
#[derive(Debug, Clone)]
pub struct ExtractOptions {
    /// Strict: every lchown must succeed (root, or a user namespace with a
    /// full subuid mapping).  BestEffort: chown failures (EPERM/EINVAL: ids
    /// not mapped, single-id fallback) are ignored and files stay owned by
    /// the caller.
    pub chown: ChownMode,
    /// Where overlayfs reads its metadata xattrs: "trusted.overlay." as real
    /// root, "user.overlay." in a rootless user namespace (overlay mounted
    /// with `userxattr`).
    pub overlay_xattr_prefix: &'static str,
    /// Create block/char device nodes from the tar (only as real root).  When
    /// false they are skipped and counted in `stats.skipped_devices`.
    pub allow_devices: bool,
}

impl ExtractOptions {
    /// Options for an engine running as real root: strict ownership,
    /// `trusted.overlay.` metadata, device nodes allowed.
    pub fn privileged() -> Self {
        ExtractOptions { chown: ChownMode::Strict, overlay_xattr_prefix: "trusted.overlay.", allow_devices: true }
    }

    /// Options for a rootless engine inside its user namespace: best-effort
    /// ownership, `user.overlay.` metadata (overlay `userxattr`), no devices.
    pub fn rootless() -> Self {
        ExtractOptions { chown: ChownMode::BestEffort, overlay_xattr_prefix: "user.overlay.", allow_devices: false }
    }
}

/// What [`apply_layer`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExtractStats {
    /// Sum of regular file sizes plus symlink target lengths, each hardlinked
    /// inode counted once (hardlink entries add nothing): Docker's layer size.
    pub size: u64,
    /// Number of tar entries processed (after GNU long-name and PAX records
    /// are merged into the entry they describe; PAX global headers are not
    /// counted).  Skipped entries (devices, AUFS metadata, the root entry)
    /// are counted.
    pub entries: u64,
    /// Block and character devices skipped because `allow_devices` is false.
    pub skipped_devices: u64,
}

/// Why a layer could not be extracted.  Messages are lower-case, name the
/// offending tar entry (quoted and escaped as Go's %q, `format::quote`:
/// entry names are the archive author's) and have no trailing period.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("cannot open the layer destination {path:?}: {error}")]
    Destination { path: PathBuf, error: io::Error },
    /// The tar stream itself is malformed or could not be read (bad
    /// checksum, truncated header, I/O error of the underlying reader).
    #[error("reading the layer tar stream: {error}")]
    Tar { error: io::Error },
    /// A header field or PAX record of this entry could not be parsed, or
    /// its data could not be read from the stream.
    #[error("reading layer entry {n}: {error}", n = q(.name))]
    ReadEntry { name: String, error: io::Error },
    #[error("layer entry {n} escapes the layer root", n = q(.name))]
    Escapes { name: String },
    #[error("layer entry {n} goes through a symlink ({c})", n = q(.name), c = q(.component))]
    ThroughSymlink { name: String, component: String },
    #[error("layer entry {n} goes through {c}, which is not a directory", n = q(.name), c = q(.component))]
    NotADirectory { name: String, component: String },
    #[error("layer entry {n} has a name longer than {max} bytes", n = q(.name))]
    NameTooLong { name: String, max: usize },
    #[error("layer hardlink {n} points outside the layer: {t}", n = q(.name), t = q(.target))]
    HardlinkOutside { name: String, target: String },
    #[error("layer hardlink {n} points to {t}, which is not in the layer", n = q(.name), t = q(.target))]
    HardlinkMissing { name: String, target: String },
    #[error("layer hardlink {n} points to {t} through a symlink ({c})", n = q(.name), t = q(.target), c = q(.component))]
    HardlinkThroughSymlink { name: String, target: String, component: String },
    #[error("layer hardlink {n} has an invalid target {t}: {reason}", n = q(.name), t = q(.target))]
    HardlinkInvalid { name: String, target: String, reason: &'static str },
    #[error("layer entry {n} is truncated: expected {expected} bytes, got {got}", n = q(.name))]
    Truncated { name: String, expected: u64, got: u64 },
    #[error("layer entry {n} has an unsupported type: {kind}", n = q(.name))]
    UnsupportedType { name: String, kind: String },
    #[error("layer entry {n} is invalid: {reason}", n = q(.name))]
    Invalid { name: String, reason: String },
    #[error("layer entry {n}: cannot create the whiteout device {t}: {error}", n = q(.name), t = q(.target))]
    Whiteout { name: String, target: String, error: io::Error },
    #[error("layer entry {n}: {op}: {error}", n = q(.name))]
    Io { name: String, op: String, error: io::Error },
}

impl ExtractError {
    /// A layer that breaks the rules is bad input; failing to write it is ours.
    pub fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            ExtractError::Destination { .. } | ExtractError::Whiteout { .. } | ExtractError::Io { .. } => {
                ErrorKind::Internal
            }
            _ => ErrorKind::InvalidArgument,
        }
    }
}

type Result<T, E = ExtractError> = std::result::Result<T, E>;

/// Names longer than this are rejected.  Docker joins names under the
/// layer directory and uses the result as a path, so anything near PATH_MAX
/// cannot be extracted there either; the limit also bounds directory depth
/// (and so recursion in `remove_tree` and fds held while walking).
const MAX_NAME_LEN: usize = libc::PATH_MAX as usize;

/// Files in a layer that are OCI/AUFS whiteout markers.
const WHITEOUT_PREFIX: &[u8] = b".wh.";
const WHITEOUT_META_PREFIX: &[u8] = b".wh..wh.";
const WHITEOUT_OPAQUE: &[u8] = b".wh..wh..opq";

/// Apply an (already decompressed) image layer tar stream to `dest`, an
/// existing, empty directory.
///
/// The layer is applied in the overlayfs format: whiteouts become 0:0
/// character devices and opaque markers become the `<prefix>opaque=y` xattr.
/// On error the directory is left partially extracted; the caller is
/// expected to discard it.
pub fn apply_layer<R: Read>(reader: R, dest: &Path, opts: &ExtractOptions) -> Result<ExtractStats, ExtractError> {
    let root = open_dest(dest).map_err(|error| ExtractError::Destination { path: dest.to_path_buf(), error })?;
    let mut ex = Extractor { root, opts, stats: ExtractStats::default(), dirs: BTreeMap::new() };
    let mut archive = tar::Archive::new(reader);
    let entries = archive.entries().map_err(|error| ExtractError::Tar { error })?;
    for entry in entries {
        let mut entry = entry.map_err(|error| ExtractError::Tar { error })?;
        ex.apply_entry(&mut entry)?;
    }
    ex.finish()?;
    Ok(ex.stats)
}

/// A lexically normalised entry name: non-empty components, none of them
/// `.` or `..`, no `/`, no NUL.
type Components = Vec<Vec<u8>>;

/// Normalise a tar entry name (or hardlink target) lexically.  Leading `/`
/// is dropped (absolute names are relative to the layer root, as Docker
/// does), empty and `.` components vanish, `..` pops the previous component
/// and is an error when there is nothing left to pop.
///
/// Lexical `..` handling is safe because we never resolve anything on disk
/// while normalising: `a/../b` is `b` whatever `a` turns out to be.
fn normalise(raw: &[u8]) -> Result<Components, ()> {
    let mut out: Components = Vec::new();
    for comp in raw.split(|&b| b == b'/') {
        match comp {
            b"" | b"." => {}
            b".." => {
                if out.pop().is_none() {
                    return Err(());
                }
            }
            c => out.push(c.to_vec()),
        }
    }
    Ok(out)
}

fn join(comps: &[Vec<u8>]) -> String {
    String::from_utf8_lossy(&comps.join(&b'/')).into_owned()
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Metadata of a directory entry, applied after the whole layer is written
/// because creating children changes a directory's mtime (and a read-only
/// mode would stop an unprivileged caller from creating them).
struct DirMeta {
    mode: u32,
    times: Times,
    dev: u64,
    ino: u64,
}

/// atime and mtime for utimensat/futimens.
#[derive(Clone, Copy)]
struct Times {
    atime: (i64, i64),
    mtime: (i64, i64),
}

impl Times {
    fn as_timespecs(&self) -> [libc::timespec; 2] {
        let ts = |(s, ns): (i64, i64)| libc::timespec { tv_sec: s as libc::time_t, tv_nsec: ns as _ };
        [ts(self.atime), ts(self.mtime)]
    }
}

/// Docker's `boundTime`: times before the epoch or past what a Go
/// `time.Time` in nanoseconds can hold become the epoch.
fn bound_time(secs: i64, nsecs: i64) -> (i64, i64) {
    const MAX_SECS: i64 = i64::MAX / 1_000_000_000;
    if !(0..MAX_SECS).contains(&secs) {
        (0, 0)
    } else {
        (secs, nsecs)
    }
}

/// Parse a PAX time record ("1700000000", "1700000000.123456789", "-1.5").
fn parse_pax_time(v: &[u8]) -> Option<(i64, i64)> {
    let s = std::str::from_utf8(v).ok()?;
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: i64 = int.parse().ok()?;
    if neg {
        // Pre-epoch: Docker clamps these to the epoch anyway.
        return Some((0, 0));
    }
    let mut ns: i64 = 0;
    for (i, b) in frac.bytes().take(9).enumerate() {
        ns += i64::from(b - b'0') * 10i64.pow(8 - i as u32);
    }
    Some(bound_time(secs, ns))
}

/// What we take from an entry's PAX records.
#[derive(Default)]
struct PaxInfo {
    xattrs: Vec<(CString, Vec<u8>)>,
    mtime: Option<(i64, i64)>,
    atime: Option<(i64, i64)>,
}

/// How walking to a parent directory failed; the index is the component.
enum WalkFail {
    Symlink(usize),
    NotDir(usize),
    Missing(usize),
    Io(usize, io::Error),
}

/// Where to set an xattr: an open fd, or a name in a directory fd (for
/// symlinks, FIFOs and devices, which we must not open).
enum XattrTarget<'a> {
    Fd(BorrowedFd<'a>),
    At(BorrowedFd<'a>, &'a CStr),
}

struct Extractor<'o> {
    root: OwnedFd,
    opts: &'o ExtractOptions,
    stats: ExtractStats,
    /// Directory entries whose mode and times are applied at the end,
    /// keyed by normalised path.
    dirs: BTreeMap<Vec<u8>, DirMeta>,
}

/// The kinds of entry we know how to apply.
enum Kind {
    File { sparse: bool },
    Dir,
    Symlink,
    Hardlink,
    Device { block: bool },
    Fifo,
}

impl Extractor<'_> {
    fn apply_entry<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> Result<()> {
        let raw_name = entry.path_bytes().into_owned();
        let name = lossy(&raw_name);
        let header = entry.header().clone();
        let etype = header.entry_type();

        // PAX global headers carry defaults for the whole archive; Docker
        // (and Go's archive/tar) ignore them, so do we.
        if etype.is_pax_global_extensions() {
            return Ok(());
        }
        self.stats.entries += 1;

        if raw_name.contains(&0) {
            return Err(ExtractError::Invalid { name, reason: "the name contains a NUL byte".into() });
        }
        if raw_name.len() > MAX_NAME_LEN {
            return Err(ExtractError::NameTooLong { name, max: MAX_NAME_LEN });
        }
        let comps = normalise(&raw_name).map_err(|()| ExtractError::Escapes { name: name.clone() })?;
        // The layer root itself ("./", "/"): Docker and containerd skip it,
        // and it must never be replaced (e.g. by a symlink).
        let Some((base, parent_comps)) = comps.split_last() else {
            return Ok(());
        };

        // AUFS metadata (`.wh..wh.plnk/`, `.wh..wh.aufs`) at the layer
        // root is skipped with everything below it, as Docker does.
        if comps[0].starts_with(WHITEOUT_META_PREFIX) && comps.len() > 1 {
            return Ok(());
        }

        let kind = match etype {
            // Legacy (pre-POSIX) archives mark directories with a trailing
            // slash on a type '\0' entry; Go's archive/tar does the same.
            EntryType::Regular if header.as_bytes()[156] == 0 && raw_name.ends_with(b"/") => Kind::Dir,
            // POSIX lets readers treat "contiguous" files as regular files.
            EntryType::Regular | EntryType::Continuous => Kind::File { sparse: false },
            // Old GNU sparse: the tar crate expands the sparse map (zeros for
            // the holes), we write holes back as holes.
            EntryType::GNUSparse => Kind::File { sparse: true },
            EntryType::Directory => Kind::Dir,
            EntryType::Symlink => Kind::Symlink,
            EntryType::Link => Kind::Hardlink,
            EntryType::Char => Kind::Device { block: false },
            EntryType::Block => Kind::Device { block: true },
            EntryType::Fifo => Kind::Fifo,
            other => {
                let b = other.as_byte();
                let kind = if b.is_ascii_graphic() { format!("'{}'", b as char) } else { format!("{b:#04x}") };
                return Err(ExtractError::UnsupportedType { name, kind });
            }
        };

        let pax = self.read_pax(entry, &name)?;

        // Whiteouts are recognised by name, whatever their type (Docker).
        if base.starts_with(WHITEOUT_PREFIX) {
            return self.apply_whiteout(&name, parent_comps, base, &header);
        }

        if let Kind::Device { .. } = kind {
            if !self.opts.allow_devices {
                // Without real root, mknod of a real device fails anyway; and
                // a device node in an image is never needed by rootless
                // containers (their /dev is bind-mounted).  Docker skips them
                // in user namespaces too.
                self.stats.skipped_devices += 1;
                return Ok(());
            }
        }

        let parent = self.walk(parent_comps, true).map_err(|f| walk_error(&name, &comps, f))?;
        let base_c = cstring(base);

        match kind {
            Kind::File { sparse } => self.apply_file(entry, &name, &parent, &base_c, &header, &pax, sparse),
            Kind::Dir => self.apply_dir(&name, &comps, &parent, &base_c, &header, &pax),
            Kind::Symlink => self.apply_symlink(entry, &name, &parent, &base_c, &header, &pax),
            Kind::Hardlink => self.apply_hardlink(entry, &name, &comps, &parent, &base_c),
            Kind::Device { block } => {
                let (major, minor) = header_dev(&header, &name)?;
                let fmt = if block { libc::S_IFBLK } else { libc::S_IFCHR };
                self.apply_node(&name, &parent, &base_c, &header, &pax, fmt, libc::makedev(major, minor))
            }
            Kind::Fifo => self.apply_node(&name, &parent, &base_c, &header, &pax, libc::S_IFIFO, 0),
        }
    }

    /// Collect the PAX records we act on.  `SCHILY.xattr.*` is the format
    /// Docker, containerd, BuildKit and GNU tar write xattrs in.
    fn read_pax<R: Read>(&self, entry: &mut tar::Entry<'_, R>, name: &str) -> Result<PaxInfo> {
        let mut info = PaxInfo::default();
        let read_err = |error| ExtractError::ReadEntry { name: name.to_string(), error };
        let Some(exts) = entry.pax_extensions().map_err(read_err)? else {
            return Ok(info);
        };
        for ext in exts {
            let ext = ext.map_err(read_err)?;
            let key = ext.key_bytes();
            let value = ext.value_bytes();
            if let Some(xname) = key.strip_prefix(b"SCHILY.xattr.") {
                if self.is_overlay_xattr(xname) {
                    // Never let a layer write overlayfs metadata: opaque,
                    // redirect, metacopy, origin... would hide or redirect
                    // files of the layers below (and, with redirect, expose
                    // arbitrary lower paths).  Whiteouts and opaque dirs are
                    // expressed with .wh. files only.
                    continue;
                }
                let cname = CString::new(xname).map_err(|_| ExtractError::Invalid {
                    name: name.to_string(),
                    reason: format!("xattr name {:?} contains a NUL byte", lossy(xname)),
                })?;
                if xname.is_empty() {
                    return Err(ExtractError::Invalid { name: name.to_string(), reason: "empty xattr name".into() });
                }
                info.xattrs.push((cname, value.to_vec()));
            } else if key == b"mtime" {
                info.mtime = parse_pax_time(value);
            } else if key == b"atime" {
                info.atime = parse_pax_time(value);
            } else if key.starts_with(b"GNU.sparse.") {
                // PAX-format GNU sparse files (0.0, 0.1, 1.0) keep their real
                // name and sparse map in records the tar crate does not
                // decode; extracting them as-is would produce a file named
                // "GNUSparseFile.0/..." containing the map.  Image builders
                // never produce them.
                return Err(ExtractError::UnsupportedType {
                    name: name.to_string(),
                    kind: "PAX GNU sparse file".into(),
                });
            }
        }
        Ok(info)
    }

    fn is_overlay_xattr(&self, xname: &[u8]) -> bool {
        xname.starts_with(b"trusted.overlay.")
            || xname.starts_with(b"user.overlay.")
            || xname.starts_with(self.opts.overlay_xattr_prefix.as_bytes())
    }

    /// Open the directory `comps` below the layer root, without following
    /// symlinks, optionally creating missing components (mode 0755, like
    /// Docker's MkdirAll of an entry's parent).
    fn walk(&self, comps: &[Vec<u8>], create: bool) -> Result<OwnedFd, WalkFail> {
        let mut cur = self.root.try_clone().map_err(|e| WalkFail::Io(0, e))?;
        for (i, comp) in comps.iter().enumerate() {
            let c = cstring(comp);
            let next = match open_dir_at(cur.as_fd(), &c) {
                Ok(fd) => fd,
                Err(e) if errno(&e) == libc::ENOENT && create => {
                    match mkdir_at(cur.as_fd(), &c, 0o755) {
                        Ok(()) => {}
                        Err(e) if errno(&e) == libc::EEXIST => {}
                        Err(e) => return Err(WalkFail::Io(i, e)),
                    }
                    let fd = open_dir_at(cur.as_fd(), &c).map_err(|e| classify(cur.as_fd(), &c, i, e))?;
                    // mkdirat's mode is filtered by the umask; make implicit
                    // parents 0755 whatever the caller's umask is.
                    fchmod(fd.as_fd(), 0o755).map_err(|e| WalkFail::Io(i, e))?;
                    fd
                }
                Err(e) if errno(&e) == libc::ENOENT => return Err(WalkFail::Missing(i)),
                Err(e) => return Err(classify(cur.as_fd(), &c, i, e)),
            };
            cur = next;
        }
        Ok(cur)
    }

    /// Make room for a new inode named `base` in `parent`.  Docker's rule:
    /// an existing path is removed and replaced, except that a directory
    /// entry over an existing directory merges into it.  Returns true when
    /// an existing directory is kept.
    fn prepare_slot(&self, name: &str, parent: &OwnedFd, base: &CStr, want_dir: bool) -> Result<bool> {
        let io_err = |op: &str, error| ExtractError::Io { name: name.to_string(), op: op.to_string(), error };
        match lstat_at(parent.as_fd(), base) {
            Err(e) if errno(&e) == libc::ENOENT => Ok(false),
            Err(e) => Err(io_err("inspecting the existing path", e)),
            Ok(st) if is_dir(&st) && want_dir => Ok(true),
            Ok(st) if is_dir(&st) => {
                // Never follows symlinks inside the tree: a layer that made
                // `d/s -> /` and then replaces `d` by a file must not make
                // us delete the host's root.
                remove_tree(parent.as_fd(), base, 0).map_err(|e| io_err("removing the existing directory", e))?;
                Ok(false)
            }
            Ok(_) => {
                // unlinkat removes a symlink itself, never its target: this
                // is what makes "file, then symlink to /etc/passwd, then file
                // with the same name" safe.
                unlink_at(parent.as_fd(), base, 0).map_err(|e| io_err("removing the existing file", e))?;
                Ok(false)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn apply_file<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        name: &str,
        parent: &OwnedFd,
        base: &CStr,
        header: &tar::Header,
        pax: &PaxInfo,
        sparse: bool,
    ) -> Result<()> {
        let (uid, gid) = header_ids(header, name)?;
        let mode = header_mode(header, name)?;
        let times = header_times(header, pax, name)?;
        let size = entry.size();
        self.prepare_slot(name, parent, base, false)?;
        // O_EXCL|O_NOFOLLOW: if anything (a symlink above all) appeared at
        // this name since prepare_slot, fail instead of writing through it.
        // Created 0600 and chmodded at the end, after chown (which clears
        // setuid/setgid) and without the umask.
        let fd = open_at(
            parent.as_fd(),
            base,
            libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_WRONLY | libc::O_CLOEXEC,
            0o600,
        )
        .map_err(|error| io_error(name, "creating the file", error))?;
        let mut file = File::from(fd);
        let got = copy_content(entry, &mut file, size, sparse).map_err(|e| match e {
            CopyError::Read(error) => ExtractError::ReadEntry { name: name.to_string(), error },
            CopyError::Write(error) => io_error(name, "writing the file", error),
        })?;
        if got != size {
            return Err(ExtractError::Truncated { name: name.to_string(), expected: size, got });
        }
        self.stats.size += size;
        let fd = file.as_fd();
        self.chown(name, fchown(fd, uid, gid), uid, gid)?;
        // xattrs after chown (chown drops security.capability) and before
        // chmod, in Docker's order (a POSIX ACL xattr rewrites the group
        // bits, the header mode wins).
        self.set_xattrs(name, XattrTarget::Fd(fd), pax)?;
        fchmod(fd, mode).map_err(|e| io_error(name, "setting the mode", e))?;
        futimens(fd, &times).map_err(|e| io_error(name, "setting the times", e))?;
        Ok(())
    }

    fn apply_dir(
        &mut self,
        name: &str,
        comps: &[Vec<u8>],
        parent: &OwnedFd,
        base: &CStr,
        header: &tar::Header,
        pax: &PaxInfo,
    ) -> Result<()> {
        let (uid, gid) = header_ids(header, name)?;
        let mode = header_mode(header, name)?;
        let times = header_times(header, pax, name)?;
        let exists = self.prepare_slot(name, parent, base, true)?;
        if !exists {
            // 0700 until the end: only we need to get in meanwhile.
            mkdir_at(parent.as_fd(), base, 0o700).map_err(|e| io_error(name, "creating the directory", e))?;
        }
        let fd = open_dir_at(parent.as_fd(), base).map_err(|e| io_error(name, "opening the directory", e))?;
        self.chown(name, fchown(fd.as_fd(), uid, gid), uid, gid)?;
        self.set_xattrs(name, XattrTarget::Fd(fd.as_fd()), pax)?;
        let st = fstat(fd.as_fd()).map_err(|e| io_error(name, "inspecting the directory", e))?;
        self.dirs.insert(comps.join(&b'/'), DirMeta { mode, times, dev: st.st_dev, ino: st.st_ino });
        Ok(())
    }

    fn apply_symlink<R: Read>(
        &mut self,
        entry: &tar::Entry<'_, R>,
        name: &str,
        parent: &OwnedFd,
        base: &CStr,
        header: &tar::Header,
        pax: &PaxInfo,
    ) -> Result<()> {
        let (uid, gid) = header_ids(header, name)?;
        let times = header_times(header, pax, name)?;
        let target = entry.link_name_bytes().map(|t| t.into_owned()).unwrap_or_default();
        if target.is_empty() {
            return Err(invalid(name, "symlink without a target"));
        }
        // The target text is stored verbatim: absolute and `..` targets are
        // legitimate (they are resolved inside the container's root at run
        // time), and we never resolve them ourselves.
        let target_c =
            CString::new(target.clone()).map_err(|_| invalid(name, "the symlink target contains a NUL byte"))?;
        self.prepare_slot(name, parent, base, false)?;
        cvt(unsafe { libc::symlinkat(target_c.as_ptr(), parent.as_raw_fd(), base.as_ptr()) })
            .map_err(|e| io_error(name, "creating the symlink", e))?;
        self.stats.size += target.len() as u64;
        self.chown(name, fchownat_nofollow(parent.as_fd(), base, uid, gid), uid, gid)?;
        self.set_xattrs(name, XattrTarget::At(parent.as_fd(), base), pax)?;
        utimensat_nofollow(parent.as_fd(), base, &times).map_err(|e| io_error(name, "setting the times", e))?;
        Ok(())
    }

    /// A hardlink entry.  The target must already be in the layer, reached
    /// without symlinks, and is linked with `linkat(.., 0)`, which links a
    /// symlink itself rather than following it.  Absolute targets are
    /// relative to the layer root (Docker joins them under the layer dir).
    ///
    /// No metadata is applied: the inode is the target's, whose own entry
    /// set it (re-chowning would also clear its setuid bit).
    fn apply_hardlink<R: Read>(
        &mut self,
        entry: &tar::Entry<'_, R>,
        name: &str,
        comps: &[Vec<u8>],
        parent: &OwnedFd,
        base: &CStr,
    ) -> Result<()> {
        let raw_target = entry.link_name_bytes().map(|t| t.into_owned()).unwrap_or_default();
        let target = lossy(&raw_target);
        let hl_invalid =
            |reason| ExtractError::HardlinkInvalid { name: name.to_string(), target: target.clone(), reason };
        if raw_target.contains(&0) {
            return Err(hl_invalid("the target contains a NUL byte"));
        }
        if raw_target.len() > MAX_NAME_LEN {
            return Err(hl_invalid("the target name is too long"));
        }
        let tcomps = normalise(&raw_target)
            .map_err(|()| ExtractError::HardlinkOutside { name: name.to_string(), target: target.clone() })?;
        let Some((tbase, tparent_comps)) = tcomps.split_last() else {
            return Err(hl_invalid("the target is the layer root"));
        };
        let missing = || ExtractError::HardlinkMissing { name: name.to_string(), target: target.clone() };
        let tparent = self.walk(tparent_comps, false).map_err(|f| match f {
            WalkFail::Symlink(i) => ExtractError::HardlinkThroughSymlink {
                name: name.to_string(),
                target: target.clone(),
                component: prefix(&tcomps, i),
            },
            WalkFail::NotDir(_) | WalkFail::Missing(_) => missing(),
            WalkFail::Io(_, e) => io_error(name, "opening the hardlink target's directory", e),
        })?;
        let tbase_c = cstring(tbase);
        let st = lstat_at(tparent.as_fd(), &tbase_c).map_err(|e| {
            if errno(&e) == libc::ENOENT {
                missing()
            } else {
                io_error(name, "inspecting the hardlink target", e)
            }
        })?;
        if is_dir(&st) {
            return Err(hl_invalid("the target is a directory"));
        }
        if tcomps == comps {
            // A link to itself: the file is already there.
            return Ok(());
        }
        self.prepare_slot(name, parent, base, false)?;
        cvt(unsafe { libc::linkat(tparent.as_raw_fd(), tbase_c.as_ptr(), parent.as_raw_fd(), base.as_ptr(), 0) })
            .map_err(|e| {
                if errno(&e) == libc::ENOENT {
                    // The target was removed by replacing this entry's slot
                    // (a link whose name is an ancestor of its target).
                    missing()
                } else {
                    io_error(name, "creating the hardlink", e)
                }
            })?;
        Ok(())
    }

    /// FIFOs and (when allowed) device nodes.
    #[allow(clippy::too_many_arguments)]
    fn apply_node(
        &mut self,
        name: &str,
        parent: &OwnedFd,
        base: &CStr,
        header: &tar::Header,
        pax: &PaxInfo,
        fmt: libc::mode_t,
        dev: libc::dev_t,
    ) -> Result<()> {
        let (uid, gid) = header_ids(header, name)?;
        let mode = header_mode(header, name)?;
        let times = header_times(header, pax, name)?;
        self.prepare_slot(name, parent, base, false)?;
        if fmt == libc::S_IFIFO {
            cvt(unsafe { libc::mkfifoat(parent.as_raw_fd(), base.as_ptr(), 0o600) })
                .map_err(|e| io_error(name, "creating the fifo", e))?;
        } else {
            cvt(unsafe { libc::mknodat(parent.as_raw_fd(), base.as_ptr(), fmt | 0o600, dev) })
                .map_err(|e| io_error(name, "creating the device node", e))?;
        }
        self.chown(name, fchownat_nofollow(parent.as_fd(), base, uid, gid), uid, gid)?;
        self.set_xattrs(name, XattrTarget::At(parent.as_fd(), base), pax)?;
        // glibc implements AT_SYMLINK_NOFOLLOW with fchmodat2 or an O_PATH
        // fd; it fails (rather than following) if a symlink is there.
        cvt(unsafe { libc::fchmodat(parent.as_raw_fd(), base.as_ptr(), mode, libc::AT_SYMLINK_NOFOLLOW) })
            .map_err(|e| io_error(name, "setting the mode", e))?;
        utimensat_nofollow(parent.as_fd(), base, &times).map_err(|e| io_error(name, "setting the times", e))?;
        Ok(())
    }

    /// OCI whiteouts, translated to overlayfs as Docker's overlay2 driver
    /// does: `.wh..wh..opq` marks its directory opaque, `.wh.NAME` becomes a
    /// 0:0 character device NAME, other `.wh..wh.*` (AUFS metadata such as
    /// `.wh..wh.plnk`) are skipped.
    fn apply_whiteout(
        &mut self,
        name: &str,
        parent_comps: &[Vec<u8>],
        base: &[u8],
        header: &tar::Header,
    ) -> Result<()> {
        if base == WHITEOUT_OPAQUE {
            let dir = self.walk(parent_comps, true).map_err(|f| walk_error(name, parent_comps, f))?;
            let xname = CString::new(format!("{}opaque", self.opts.overlay_xattr_prefix))
                .map_err(|_| invalid(name, "the overlay xattr prefix contains a NUL byte"))?;
            cvt(unsafe { libc::fsetxattr(dir.as_raw_fd(), xname.as_ptr(), b"y".as_ptr().cast(), 1, 0) }).map_err(
                |e| io_error(name, &format!("marking the directory opaque ({})", xname.to_string_lossy()), e),
            )?;
            return Ok(());
        }
        if base.starts_with(WHITEOUT_META_PREFIX) {
            return Ok(());
        }
        let target = &base[WHITEOUT_PREFIX.len()..];
        // `.wh.`, `.wh..` and `.wh...` would whiteout the directory itself
        // or its parent: a device node "named" `..` must never be attempted.
        if target.is_empty() || target == b"." || target == b".." {
            return Err(invalid(name, "whiteout of an invalid name"));
        }
        let (uid, gid) = header_ids(header, name)?;
        let parent = self.walk(parent_comps, true).map_err(|f| walk_error(name, parent_comps, f))?;
        let target_c = cstring(target);
        self.prepare_slot(name, &parent, &target_c, false)?;
        // A 0:0 character device is allowed in a user namespace (Linux 5.8+
        // allows unprivileged whiteouts); EPERM means no privilege at all.
        cvt(unsafe { libc::mknodat(parent.as_raw_fd(), target_c.as_ptr(), libc::S_IFCHR, libc::makedev(0, 0)) })
            .map_err(|error| ExtractError::Whiteout { name: name.to_string(), target: lossy(target), error })?;
        // Docker chowns the whiteout to the header's owner.
        self.chown(name, fchownat_nofollow(parent.as_fd(), &target_c, uid, gid), uid, gid)?;
        Ok(())
    }

    fn chown(&self, name: &str, res: io::Result<()>, uid: u32, gid: u32) -> Result<()> {
        match res {
            Ok(()) => Ok(()),
            Err(e) if self.opts.chown == ChownMode::BestEffort && matches!(errno(&e), libc::EPERM | libc::EINVAL) => {
                Ok(())
            }
            Err(e) => Err(io_error(name, &format!("changing the owner to {uid}:{gid}"), e)),
        }
    }

    /// Apply the entry's xattrs (overlay ones were already dropped).  EPERM
    /// (trusted.* / security.* without privilege, user.* on symlinks and
    /// devices) and ENOTSUP (file system without xattrs) are ignored, as
    /// Docker does; anything else fails the layer.
    fn set_xattrs(&self, name: &str, target: XattrTarget<'_>, pax: &PaxInfo) -> Result<()> {
        if pax.xattrs.is_empty() {
            return Ok(());
        }
        // For a name in a directory, go through the directory fd's magic
        // link in /proc: it resolves to exactly the directory we hold, and
        // lsetxattr does not follow the final component.
        enum Resolved {
            Fd(libc::c_int),
            Path(CString),
        }
        let resolved = match target {
            XattrTarget::Fd(fd) => Resolved::Fd(fd.as_raw_fd()),
            XattrTarget::At(dir, base) => {
                let mut p = format!("/proc/self/fd/{}/", dir.as_raw_fd()).into_bytes();
                p.extend_from_slice(base.to_bytes());
                Resolved::Path(CString::new(p).expect("no NUL in a component"))
            }
        };
        for (xname, value) in &pax.xattrs {
            let (ptr, len) = (value.as_ptr().cast(), value.len());
            let r = match &resolved {
                Resolved::Fd(fd) => unsafe { libc::fsetxattr(*fd, xname.as_ptr(), ptr, len, 0) },
                Resolved::Path(p) => unsafe { libc::lsetxattr(p.as_ptr(), xname.as_ptr(), ptr, len, 0) },
            };
            if let Err(e) = cvt(r) {
                if matches!(errno(&e), libc::EPERM | libc::ENOTSUP) {
                    continue;
                }
                return Err(io_error(name, &format!("setting xattr {:?}", xname.to_string_lossy()), e));
            }
        }
        Ok(())
    }

    /// Apply directory modes and times, children before parents (reverse
    /// lexical order puts "a/b" before "a"), so a read-only or 0000
    /// directory does not lock us out of its children.  A directory that was
    /// replaced later in the layer (checked by device and inode) is skipped.
    fn finish(&mut self) -> Result<()> {
        let dirs = std::mem::take(&mut self.dirs);
        for (path, meta) in dirs.iter().rev() {
            let name = lossy(path);
            let comps = normalise(path).expect("normalised when recorded");
            let Some((base, parents)) = comps.split_last() else {
                continue;
            };
            let Ok(parent) = self.walk(parents, false) else {
                continue;
            };
            let Ok(fd) = open_dir_at(parent.as_fd(), &cstring(base)) else {
                continue;
            };
            let st = fstat(fd.as_fd()).map_err(|e| io_error(&name, "inspecting the directory", e))?;
            if st.st_dev != meta.dev || st.st_ino != meta.ino {
                continue;
            }
            fchmod(fd.as_fd(), meta.mode).map_err(|e| io_error(&name, "setting the mode", e))?;
            futimens(fd.as_fd(), &meta.times).map_err(|e| io_error(&name, "setting the times", e))?;
        }
        Ok(())
    }
}

fn io_error(name: &str, op: &str, error: io::Error) -> ExtractError {
    ExtractError::Io { name: name.to_string(), op: op.to_string(), error }
}

fn invalid(name: &str, reason: &str) -> ExtractError {
    ExtractError::Invalid { name: name.to_string(), reason: reason.to_string() }
}

fn walk_error(name: &str, comps: &[Vec<u8>], f: WalkFail) -> ExtractError {
    match f {
        WalkFail::Symlink(i) => ExtractError::ThroughSymlink { name: name.to_string(), component: prefix(comps, i) },
        WalkFail::NotDir(i) => ExtractError::NotADirectory { name: name.to_string(), component: prefix(comps, i) },
        WalkFail::Missing(i) => {
            io_error(name, &format!("opening {:?}", prefix(comps, i)), io::Error::from_raw_os_error(libc::ENOENT))
        }
        WalkFail::Io(i, e) => io_error(name, &format!("opening {:?}", prefix(comps, i)), e),
    }
}

/// The first `i + 1` components, joined ("" for the layer root itself).
fn prefix(comps: &[Vec<u8>], i: usize) -> String {
    comps.get(..=i).map(join).unwrap_or_default()
}

fn header_err(name: &str, error: io::Error) -> ExtractError {
    ExtractError::ReadEntry { name: name.to_string(), error }
}

/// A numeric header field.  Like Go's archive/tar (and so Docker), an
/// empty field (all NULs or spaces, as some writers leave uid/gid/mtime)
/// reads as 0; anything else that does not parse is an error.
fn numeric(field: &[u8], parsed: io::Result<u64>, name: &str) -> Result<u64> {
    match parsed {
        Ok(v) => Ok(v),
        Err(_) if field.iter().all(|&b| b == 0 || b == b' ') => Ok(0),
        Err(e) => Err(header_err(name, e)),
    }
}

/// Numeric owner from the header (PAX uid/gid already merged by the tar
/// crate).  User and group *names* are never looked up on the host: they
/// describe the image's /etc/passwd, not ours.
fn header_ids(header: &tar::Header, name: &str) -> Result<(u32, u32)> {
    let uid = numeric(&header.as_old().uid, header.uid(), name)?;
    let gid = numeric(&header.as_old().gid, header.gid(), name)?;
    // u32::MAX is (uid_t)-1, which chown reads as "leave unchanged".
    let check = |id: u64, what: &str| -> Result<u32> {
        u32::try_from(id)
            .ok()
            .filter(|&v| v != u32::MAX)
            .ok_or_else(|| invalid(name, &format!("{what} {id} is out of range")))
    };
    Ok((check(uid, "uid")?, check(gid, "gid")?))
}

/// Permission bits including setuid/setgid/sticky; the file type bits some
/// writers put in the mode field are dropped.
fn header_mode(header: &tar::Header, name: &str) -> Result<u32> {
    let mode = numeric(&header.as_old().mode, header.mode().map(u64::from), name)?;
    Ok(mode as u32 & 0o7777)
}

fn header_dev(header: &tar::Header, name: &str) -> Result<(u32, u32)> {
    let major = header.device_major().map_err(|e| header_err(name, e))?.unwrap_or(0);
    let minor = header.device_minor().map_err(|e| header_err(name, e))?.unwrap_or(0);
    Ok((major, minor))
}

/// mtime from PAX (sub-second) or the header; atime from PAX, the GNU
/// header, or mtime, and never before mtime (Docker's rule).
fn header_times(header: &tar::Header, pax: &PaxInfo, name: &str) -> Result<Times> {
    let mtime = match pax.mtime {
        Some(t) => t,
        None => {
            let secs = numeric(&header.as_old().mtime, header.mtime(), name)?;
            bound_time(i64::try_from(secs).unwrap_or(-1), 0)
        }
    };
    let atime = pax
        .atime
        .or_else(|| {
            let gnu = header.as_gnu()?;
            let secs = gnu.atime().ok().filter(|&s| s != 0)?;
            Some(bound_time(i64::try_from(secs).unwrap_or(-1), 0))
        })
        .unwrap_or(mtime);
    Ok(Times { atime: atime.max(mtime), mtime })
}

enum CopyError {
    Read(io::Error),
    Write(io::Error),
}

/// Copy at most `size` bytes; returns how many were copied (fewer means the
/// stream ended early).  For sparse entries, all-zero chunks are skipped
/// with lseek so holes stay holes (a hostile "1 TB of holes" entry then
/// costs no disk space).
fn copy_content<R: Read>(src: &mut R, file: &mut File, size: u64, sparse: bool) -> Result<u64, CopyError> {
    let mut buf = vec![0u8; 128 * 1024];
    let mut done: u64 = 0;
    while done < size {
        let want = (size - done).min(buf.len() as u64) as usize;
        let n = match src.read(&mut buf[..want]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyError::Read(e)),
        };
        if sparse && buf[..n].iter().all(|&b| b == 0) {
            file.seek(SeekFrom::Current(n as i64)).map_err(CopyError::Write)?;
        } else {
            file.write_all(&buf[..n]).map_err(CopyError::Write)?;
        }
        done += n as u64;
    }
    if sparse && done == size {
        // A trailing hole: extend the file to its full length.
        file.set_len(size).map_err(CopyError::Write)?;
    }
    Ok(done)
}

/// Remove a directory tree below `parent` without following symlinks:
/// every level is opened with O_NOFOLLOW and every entry is removed with
/// unlinkat relative to its directory fd.  Depth is bounded by the name
/// length limit; the explicit guard keeps a bug from recursing forever.
fn remove_tree(parent: BorrowedFd<'_>, name: &CStr, depth: usize) -> io::Result<()> {
    if depth > MAX_NAME_LEN {
        return Err(io::Error::other("directory tree too deep"));
    }
    let dir = open_dir_at(parent, name)?;
    for child in read_dir_names(dir.as_fd())? {
        let st = lstat_at(dir.as_fd(), &child)?;
        if is_dir(&st) {
            remove_tree(dir.as_fd(), &child, depth + 1)?;
        } else {
            unlink_at(dir.as_fd(), &child, 0)?;
        }
    }
    drop(dir);
    unlink_at(parent, name, libc::AT_REMOVEDIR)
}

/// Names in a directory, without "." and "..".
fn read_dir_names(dir: BorrowedFd<'_>) -> io::Result<Vec<CString>> {
    // fdopendir takes ownership of its fd: give it a duplicate.
    let dup = dir.try_clone_to_owned()?;
    let dirp = unsafe { libc::fdopendir(dup.as_raw_fd()) };
    if dirp.is_null() {
        return Err(io::Error::last_os_error());
    }
    std::mem::forget(dup); // now owned by dirp
    let mut names = Vec::new();
    let result = loop {
        // readdir reports errors only through errno.
        unsafe { *libc::__errno_location() = 0 };
        let ent = unsafe { libc::readdir(dirp) };
        if ent.is_null() {
            let e = io::Error::last_os_error();
            break if errno(&e) == 0 { Ok(()) } else { Err(e) };
        }
        let n = unsafe { CStr::from_ptr((*ent).d_name.as_ptr()) };
        if n.to_bytes() != b"." && n.to_bytes() != b".." {
            names.push(n.to_owned());
        }
    };
    unsafe { libc::closedir(dirp) };
    result.map(|()| names)
}

// ---- thin system call wrappers -------------------------------------------

fn open_dest(dest: &Path) -> io::Result<OwnedFd> {
    let p = CString::new(dest.as_os_str().as_bytes())?;
    let fd = cvt(unsafe { libc::open(p.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC) })?;
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Tell why `open_dir_at` failed with ELOOP/ENOTDIR: a symlink, or
/// something else that is not a directory.
fn classify(dir: BorrowedFd<'_>, name: &CStr, i: usize, e: io::Error) -> WalkFail {
    if !matches!(errno(&e), libc::ELOOP | libc::ENOTDIR) {
        return WalkFail::Io(i, e);
    }
    match lstat_at(dir, name) {
        Ok(st) if (st.st_mode & libc::S_IFMT) == libc::S_IFLNK => WalkFail::Symlink(i),
        Ok(_) => WalkFail::NotDir(i),
        Err(_) => WalkFail::Io(i, e),
    }
}

fn mkdir_at(dir: BorrowedFd<'_>, name: &CStr, mode: libc::mode_t) -> io::Result<()> {
    cvt(unsafe { libc::mkdirat(dir.as_raw_fd(), name.as_ptr(), mode) }).map(drop)
}

fn unlink_at(dir: BorrowedFd<'_>, name: &CStr, flags: libc::c_int) -> io::Result<()> {
    cvt(unsafe { libc::unlinkat(dir.as_raw_fd(), name.as_ptr(), flags) }).map(drop)
}

fn is_dir(st: &libc::stat) -> bool {
    (st.st_mode & libc::S_IFMT) == libc::S_IFDIR
}

fn fchown(fd: BorrowedFd<'_>, uid: u32, gid: u32) -> io::Result<()> {
    cvt(unsafe { libc::fchown(fd.as_raw_fd(), uid, gid) }).map(drop)
}

fn fchownat_nofollow(dir: BorrowedFd<'_>, name: &CStr, uid: u32, gid: u32) -> io::Result<()> {
    cvt(unsafe { libc::fchownat(dir.as_raw_fd(), name.as_ptr(), uid, gid, libc::AT_SYMLINK_NOFOLLOW) }).map(drop)
}

fn fchmod(fd: BorrowedFd<'_>, mode: u32) -> io::Result<()> {
    cvt(unsafe { libc::fchmod(fd.as_raw_fd(), mode as libc::mode_t) }).map(drop)
}

fn futimens(fd: BorrowedFd<'_>, t: &Times) -> io::Result<()> {
    let ts = t.as_timespecs();
    cvt(unsafe { libc::futimens(fd.as_raw_fd(), ts.as_ptr()) }).map(drop)
}

fn utimensat_nofollow(dir: BorrowedFd<'_>, name: &CStr, t: &Times) -> io::Result<()> {
    let ts = t.as_timespecs();
    cvt(unsafe { libc::utimensat(dir.as_raw_fd(), name.as_ptr(), ts.as_ptr(), libc::AT_SYMLINK_NOFOLLOW) }).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_names() {
        let n = |s: &str| normalise(s.as_bytes()).map(|c| join(&c));
        assert_eq!(n("/abs/file"), Ok("abs/file".into()));
        assert_eq!(n("./a//b/./c/"), Ok("a/b/c".into()));
        assert_eq!(n("a/b/../c"), Ok("a/c".into()));
        assert_eq!(n("./"), Ok("".into()));
        assert_eq!(n(""), Ok("".into()));
        assert_eq!(n("../x"), Err(()));
        assert_eq!(n("a/../../x"), Err(()));
        assert_eq!(n("/../x"), Err(()));
        assert_eq!(n("a/.."), Ok("".into()));
    }

    #[test]
    fn pax_times() {
        assert_eq!(parse_pax_time(b"1700000000"), Some((1_700_000_000, 0)));
        assert_eq!(parse_pax_time(b"1700000000.5"), Some((1_700_000_000, 500_000_000)));
        assert_eq!(parse_pax_time(b"1.123456789123"), Some((1, 123_456_789)));
        assert_eq!(parse_pax_time(b"-5.5"), Some((0, 0)));
        assert_eq!(parse_pax_time(b"99999999999999"), Some((0, 0)));
        assert_eq!(parse_pax_time(b"abc"), None);
        assert_eq!(parse_pax_time(b""), None);
    }
}
