//! Reading trees whose content a container controls, by file descriptor.
//!
//! A container's writable layer (and, through `commit`/`build`, every image
//! layer) may hold symlinks that point anywhere: `/d -> /home/me`, or
//! `d -> ../../../../home/me`. A path joined under the layer directory and
//! handed to `open(2)` follows them on the host, so `rcon cp c:/d/secret .`
//! once copied the user's own files (the CVE-2018-15664 class; a running
//! container can also swap a directory for a symlink between our `stat` and
//! our `open`). Everything here works relative to directory descriptors and
//! never follows a symlink on the host:
//!
//! * a tree is walked with `openat(O_NOFOLLOW)` and `fstatat(AT_SYMLINK_NOFOLLOW)`
//!   from a directory fd, so a swapped-in symlink is seen as a symlink;
//! * a path *inside* a container is resolved as the container resolves it,
//!   absolute links and `..` against the container's root, by
//!   [`resolve_in_root`]: `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`
//!   (Linux 5.6), else a component-by-component walk with the same rules.
//!   Overlay layers are not one tree: `storage::union` walks them with the
//!   same rules, layer by layer.
//!
//! The extractor (`storage::extract`) writes with the same primitives.

use std::ffi::{CStr, CString, OsStr, OsString};
use std::fs::File;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

/// Symlinks followed in one resolution before giving up with ELOOP (Linux's
/// own limit).
const MAX_LINKS: usize = 40;

pub(crate) fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

pub(crate) fn errno(e: &io::Error) -> i32 {
    e.raw_os_error().unwrap_or(0)
}

/// A name read from a directory or a tar header never contains NUL.
pub(crate) fn cstring(b: &[u8]) -> CString {
    CString::new(b).expect("path components contain no NUL byte")
}

pub(crate) fn open_at(dir: BorrowedFd<'_>, name: &CStr, flags: libc::c_int, mode: libc::mode_t) -> io::Result<OwnedFd> {
    let fd = cvt(unsafe { libc::openat(dir.as_raw_fd(), name.as_ptr(), flags, mode as libc::c_uint) })?;
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Open a directory without following a symlink at `name`.
pub(crate) fn open_dir_at(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<OwnedFd> {
    open_at(dir, name, libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC, 0)
}

pub(crate) fn lstat_at(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<libc::stat> {
    let mut st = MaybeUninit::<libc::stat>::uninit();
    cvt(unsafe { libc::fstatat(dir.as_raw_fd(), name.as_ptr(), st.as_mut_ptr(), libc::AT_SYMLINK_NOFOLLOW) })?;
    Ok(unsafe { st.assume_init() })
}

pub(crate) fn fstat(fd: BorrowedFd<'_>) -> io::Result<libc::stat> {
    let mut st = MaybeUninit::<libc::stat>::uninit();
    cvt(unsafe { libc::fstat(fd.as_raw_fd(), st.as_mut_ptr()) })?;
    Ok(unsafe { st.assume_init() })
}

/// `readlinkat`; an empty name reads the link an `O_PATH` fd refers to.
fn readlink_at(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<OsString> {
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    let n = unsafe { libc::readlinkat(dir.as_raw_fd(), name.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    buf.truncate(n as usize);
    Ok(OsString::from_vec(buf))
}

/// What a directory entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File,
    Symlink,
    Char,
    Block,
    Fifo,
    Socket,
}

/// `struct stat` of an entry, never of what a symlink points to.
#[derive(Clone, Copy)]
pub struct Stat(pub libc::stat);

impl Stat {
    pub fn kind(&self) -> Kind {
        match self.0.st_mode & libc::S_IFMT {
            libc::S_IFDIR => Kind::Dir,
            libc::S_IFLNK => Kind::Symlink,
            libc::S_IFCHR => Kind::Char,
            libc::S_IFBLK => Kind::Block,
            libc::S_IFIFO => Kind::Fifo,
            libc::S_IFSOCK => Kind::Socket,
            _ => Kind::File,
        }
    }
    pub fn is_dir(&self) -> bool {
        self.kind() == Kind::Dir
    }
    /// Overlay's whiteout: a 0:0 character device.
    pub fn is_whiteout(&self) -> bool {
        self.kind() == Kind::Char && self.0.st_rdev == 0
    }
    /// Permission bits with setuid, setgid and sticky.
    pub fn perm(&self) -> u32 {
        self.0.st_mode & 0o7777
    }
    /// The full st_mode (type and permissions), as mknod wants it.
    pub fn mode(&self) -> u32 {
        self.0.st_mode
    }
    pub fn uid(&self) -> u32 {
        self.0.st_uid
    }
    pub fn gid(&self) -> u32 {
        self.0.st_gid
    }
    pub fn size(&self) -> u64 {
        self.0.st_size as u64
    }
    pub fn mtime(&self) -> i64 {
        self.0.st_mtime
    }
    pub fn rdev(&self) -> u64 {
        self.0.st_rdev
    }
    pub fn dev_ino(&self) -> (u64, u64) {
        (self.0.st_dev, self.0.st_ino)
    }
    pub fn nlink(&self) -> u64 {
        self.0.st_nlink
    }
    /// atime and mtime as `utimensat` wants them.
    pub fn times(&self) -> [libc::timespec; 2] {
        [
            libc::timespec { tv_sec: self.0.st_atime, tv_nsec: self.0.st_atime_nsec },
            libc::timespec { tv_sec: self.0.st_mtime, tv_nsec: self.0.st_mtime_nsec },
        ]
    }
}

/// An open directory. Every name given to its methods is one component,
/// never followed if it is a symlink.
pub struct Dir(OwnedFd);

impl Dir {
    /// Open a directory of our own (a layer, a container's writable layer,
    /// a scratch directory): the path itself is trusted.
    pub fn open(path: &Path) -> io::Result<Dir> {
        let p = CString::new(path.as_os_str().as_bytes())?;
        let fd = cvt(unsafe { libc::open(p.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC) })?;
        Ok(Dir(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }

    pub fn try_clone(&self) -> io::Result<Dir> {
        Ok(Dir(self.0.try_clone()?))
    }

    pub fn stat(&self) -> io::Result<Stat> {
        fstat(self.fd()).map(Stat)
    }

    pub fn lstat(&self, name: &OsStr) -> io::Result<Stat> {
        lstat_at(self.fd(), &cstring(name.as_bytes())).map(Stat)
    }

    /// The subdirectory `name`; ELOOP or ENOTDIR if it is a symlink or not
    /// a directory.
    pub fn dir(&self, name: &OsStr) -> io::Result<Dir> {
        open_dir_at(self.fd(), &cstring(name.as_bytes())).map(Dir)
    }

    /// The regular file `name`, opened for reading. Refused (ELOOP) if a
    /// symlink is there; a FIFO or device swapped in is not waited on.
    pub fn file(&self, name: &OsStr) -> io::Result<File> {
        let flags = libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC;
        let fd = open_at(self.fd(), &cstring(name.as_bytes()), flags, 0)?;
        regular(fd)
    }

    pub fn readlink(&self, name: &OsStr) -> io::Result<OsString> {
        readlink_at(self.fd(), &cstring(name.as_bytes()))
    }

    /// Entry names, sorted, without `.` and `..`.
    pub fn names(&self) -> io::Result<Vec<OsString>> {
        let dup = cvt(unsafe { libc::fcntl(self.0.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0) })?;
        let dirp = unsafe { libc::fdopendir(dup) };
        if dirp.is_null() {
            let e = io::Error::last_os_error();
            unsafe { libc::close(dup) };
            return Err(e);
        }
        // The duplicate shares the offset: start from the beginning.
        unsafe { libc::rewinddir(dirp) };
        let mut out = Vec::new();
        loop {
            // readdir returns NULL at the end and on error; errno tells which.
            unsafe { *libc::__errno_location() = 0 };
            let ent = unsafe { libc::readdir(dirp) };
            if ent.is_null() {
                let e = io::Error::last_os_error();
                unsafe { libc::closedir(dirp) };
                if errno(&e) != 0 {
                    return Err(e);
                }
                break;
            }
            let name = unsafe { CStr::from_ptr((*ent).d_name.as_ptr()) }.to_bytes();
            if name != b"." && name != b".." {
                out.push(OsString::from_vec(name.to_vec()));
            }
        }
        out.sort();
        Ok(out)
    }

    /// True if the directory carries an overlay opaque marker (`y`) under
    /// one of `names`.
    pub fn xattr_is_yes(&self, names: &[&str]) -> bool {
        names.iter().any(|n| {
            let n = CString::new(*n).expect("static xattr name");
            let mut v = [0u8; 4];
            let r = unsafe { libc::fgetxattr(self.0.as_raw_fd(), n.as_ptr(), v.as_mut_ptr().cast(), v.len()) };
            r > 0 && v[0] == b'y'
        })
    }
}

/// Every extended attribute of an open file or directory.
pub fn xattrs(fd: BorrowedFd<'_>) -> Vec<(CString, Vec<u8>)> {
    let mut names = vec![0u8; 4096];
    let n = unsafe { libc::flistxattr(fd.as_raw_fd(), names.as_mut_ptr().cast(), names.len()) };
    if n <= 0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    for name in names[..n as usize].split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let name = CString::new(name).expect("split at NUL");
        let mut val = vec![0u8; 65536];
        let m = unsafe { libc::fgetxattr(fd.as_raw_fd(), name.as_ptr(), val.as_mut_ptr().cast(), val.len()) };
        if m >= 0 {
            val.truncate(m as usize);
            out.push((name, val));
        }
    }
    out
}

/// An fd opened without blocking on what might be a FIFO, checked to be a
/// regular file, then made blocking again for reading.
fn regular(fd: OwnedFd) -> io::Result<File> {
    let st = Stat(fstat(fd.as_fd())?);
    if st.kind() != Kind::File {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    let fl = cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) })?;
    cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, fl & !libc::O_NONBLOCK) })?;
    Ok(File::from(fd))
}

/// An object found by [`resolve_in_root`]: an `O_PATH` descriptor, which
/// can be stat'ed and re-opened but gives no access by itself.
pub struct Found {
    fd: OwnedFd,
    pub stat: Stat,
}

impl Found {
    /// The object as a directory.
    pub fn dir(&self) -> io::Result<Dir> {
        open_at(self.fd.as_fd(), c".", libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC, 0).map(Dir)
    }

    /// The object as a regular file, opened for reading. Re-opening an
    /// `O_PATH` fd goes through its /proc/self/fd entry, which names this
    /// very inode, not a path that could have changed.
    pub fn file(&self) -> io::Result<File> {
        let p = cstring(format!("/proc/self/fd/{}", self.fd.as_raw_fd()).as_bytes());
        let flags = libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC;
        let fd = cvt(unsafe { libc::open(p.as_ptr(), flags) })?;
        regular(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    /// The target of the symlink this is.
    pub fn readlink(&self) -> io::Result<OsString> {
        readlink_at(self.fd.as_fd(), c"")
    }
}

const O_PATH_FLAGS: libc::c_int = libc::O_PATH | libc::O_CLOEXEC;

/// Resolve `path` inside the tree `root` the way a process chrooted there
/// would: absolute symlinks and `..` stop at `root`, nothing on the host
/// outside it is ever looked at. With `follow_last`, a symlink as the last
/// component is followed too (`cp -L`, or a path ending in `/`).
pub fn resolve_in_root(root: &Dir, path: &str, follow_last: bool) -> io::Result<Found> {
    match openat2_in_root(root, path, follow_last) {
        Err(e) if matches!(errno(&e), libc::ENOSYS | libc::EPERM) => walk_in_root(root, path, follow_last),
        r => r,
    }
}

fn openat2_in_root(root: &Dir, path: &str, follow_last: bool) -> io::Result<Found> {
    #[repr(C)]
    struct OpenHow {
        flags: u64,
        mode: u64,
        resolve: u64,
    }
    const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
    const RESOLVE_IN_ROOT: u64 = 0x10;
    let rel = path.trim_start_matches('/');
    let p = cstring(if rel.is_empty() { b"." } else { rel.as_bytes() });
    let mut flags = O_PATH_FLAGS;
    if !follow_last {
        flags |= libc::O_NOFOLLOW;
    }
    let how = OpenHow { flags: flags as u64, mode: 0, resolve: RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            root.0.as_raw_fd(),
            p.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    let stat = Stat(fstat(fd.as_fd())?);
    Ok(Found { fd, stat })
}

/// [`resolve_in_root`] without openat2 (kernels before 5.6, or a seccomp
/// filter that refuses it): one component at a time, each opened with
/// `O_PATH | O_NOFOLLOW` from the directory before it; a symlink's target
/// is pushed back onto the components still to walk, an absolute one from
/// `root`; `..` goes back one directory and never above `root`.
pub fn walk_in_root(root: &Dir, path: &str, follow_last: bool) -> io::Result<Found> {
    let follow_last = follow_last || ends_in_dir(path);
    // Components still to walk, the next one last.
    let mut todo: Vec<Vec<u8>> = components(path.as_bytes());
    // Directories walked so far below root.
    let mut stack: Vec<OwnedFd> = Vec::new();
    let mut links = 0;
    while let Some(comp) = todo.pop() {
        if comp == b".." {
            stack.pop();
            continue;
        }
        let cur = stack.last().map(|f| f.as_fd()).unwrap_or(root.fd());
        let fd = open_at(cur, &cstring(&comp), O_PATH_FLAGS | libc::O_NOFOLLOW, 0)?;
        let stat = Stat(fstat(fd.as_fd())?);
        let last = todo.is_empty();
        if stat.kind() == Kind::Symlink && (!last || follow_last) {
            links += 1;
            if links > MAX_LINKS {
                return Err(io::Error::from_raw_os_error(libc::ELOOP));
            }
            let target = readlink_at(fd.as_fd(), c"")?;
            if target.as_bytes().starts_with(b"/") {
                stack.clear();
            }
            todo.extend(components(target.as_bytes()));
            continue;
        }
        if last {
            return Ok(Found { fd, stat });
        }
        if stat.kind() != Kind::Dir {
            return Err(io::Error::from_raw_os_error(libc::ENOTDIR));
        }
        stack.push(fd);
    }
    // The path ended on a directory (or was empty): the last one walked.
    let fd = match stack.pop() {
        Some(fd) => fd,
        None => open_at(root.fd(), c".", O_PATH_FLAGS, 0)?,
    };
    let stat = Stat(fstat(fd.as_fd())?);
    Ok(Found { fd, stat })
}

/// A path ending in `/` or `/.` names a directory: a symlink there is
/// followed whatever the caller asked (the kernel's rule).
pub(crate) fn ends_in_dir(path: &str) -> bool {
    path.ends_with('/') || path.ends_with("/.") || path == "."
}

/// The components of a path, reversed (the first one last), without empty
/// ones and `.`.
pub(crate) fn components(p: &[u8]) -> Vec<Vec<u8>> {
    p.split(|b| *b == b'/').filter(|c| !c.is_empty() && *c != b".").rev().map(<[u8]>::to_vec).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// A root holding `a/b/f`, absolute, relative and looping links; and
    /// a secret beside the root that no resolution may reach.
    fn tree() -> (crate::testutil::TempDir, Dir) {
        let t = crate::testutil::TempDir::new("fsat");
        let root = t.0.join("root");
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("a/b/f"), "inside").unwrap();
        std::fs::write(t.0.join("secret"), "outside").unwrap();
        std::fs::write(root.join("secret"), "root's own").unwrap();
        symlink("/a/b", root.join("abs")).unwrap();
        symlink("../../../../..", root.join("a/up")).unwrap();
        symlink(&t.0, root.join("host")).unwrap();
        symlink("loop", root.join("loop")).unwrap();
        symlink("/nowhere", root.join("dangling")).unwrap();
        let d = Dir::open(&root).unwrap();
        (t, d)
    }

    fn read(f: &Found) -> String {
        std::io::read_to_string(f.file().unwrap()).unwrap()
    }

    #[test]
    fn links_resolve_inside_the_root_both_ways() {
        let (_t, root) = tree();
        for resolve in [resolve_in_root, walk_in_root] {
            assert_eq!(read(&resolve(&root, "/abs/f", false).unwrap()), "inside");
            assert_eq!(read(&resolve(&root, "a/up/secret", false).unwrap()), "root's own");
            // The link names a host directory, which does not exist inside the root.
            assert_eq!(errno(&resolve(&root, "/host/secret", false).err().unwrap()), libc::ENOENT);
            assert_eq!(read(&resolve(&root, "../../secret", false).unwrap()), "root's own");
            assert_eq!(resolve(&root, "/abs", false).unwrap().stat.kind(), Kind::Symlink);
            assert_eq!(resolve(&root, "/abs", true).unwrap().stat.kind(), Kind::Dir);
            assert_eq!(resolve(&root, "/abs/", false).unwrap().stat.kind(), Kind::Dir);
            assert_eq!(resolve(&root, "/", false).unwrap().stat.kind(), Kind::Dir);
            assert_eq!(errno(&resolve(&root, "/loop", true).err().unwrap()), libc::ELOOP);
            assert_eq!(errno(&resolve(&root, "/dangling", true).err().unwrap()), libc::ENOENT);
            assert_eq!(resolve(&root, "/dangling", false).unwrap().readlink().unwrap(), "/nowhere");
            assert_eq!(errno(&resolve(&root, "/secret/x", false).err().unwrap()), libc::ENOTDIR);
        }
    }

    #[test]
    fn walking_never_follows_a_link() {
        let (_t, root) = tree();
        assert!(matches!(errno(&root.dir(OsStr::new("abs")).err().unwrap()), libc::ELOOP | libc::ENOTDIR));
        assert_eq!(errno(&root.file(OsStr::new("abs")).err().unwrap()), libc::ELOOP);
        assert_eq!(root.lstat(OsStr::new("host")).unwrap().kind(), Kind::Symlink);
        let names: Vec<String> = root.names().unwrap().iter().map(|n| n.to_string_lossy().into_owned()).collect();
        assert_eq!(names, ["a", "abs", "dangling", "host", "loop", "secret"]);
        // A FIFO is refused, not waited on.
        nix::unistd::mkfifo(&_t.0.join("root/fifo"), nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
        assert_eq!(errno(&root.file(OsStr::new("fifo")).err().unwrap()), libc::EINVAL);
    }
}
