//! Copying a layer tree with its metadata (owners through a mapping
//! function, modes, times, xattrs, whiteout devices), without following
//! symlinks. Used for `--userns=keep-id`'s shifted copies of image layers.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

fn c(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).expect("no NUL in paths")
}

fn last() -> std::io::Error {
    std::io::Error::last_os_error()
}

fn copy_xattrs(src: &Path, dst: &Path) -> std::io::Result<()> {
    let (s, d) = (c(src), c(dst));
    let mut names = vec![0u8; 4096];
    let n = unsafe { libc::llistxattr(s.as_ptr(), names.as_mut_ptr().cast(), names.len()) };
    if n <= 0 {
        return Ok(());
    }
    for name in names[..n as usize].split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let name = CString::new(name).expect("split at NUL");
        let mut val = vec![0u8; 65536];
        let m = unsafe { libc::lgetxattr(s.as_ptr(), name.as_ptr(), val.as_mut_ptr().cast(), val.len()) };
        if m >= 0 {
            // Ignored when not permitted (trusted.* outside root), as extraction does.
            unsafe { libc::lsetxattr(d.as_ptr(), name.as_ptr(), val.as_ptr().cast(), m as usize, 0) };
        }
    }
    Ok(())
}

fn set_meta(dst: &Path, md: &std::fs::Metadata, owner: &dyn Fn(u32, u32) -> (u32, u32)) -> std::io::Result<()> {
    let d = c(dst);
    let (u, g) = owner(md.uid(), md.gid());
    unsafe {
        if libc::lchown(d.as_ptr(), u, g) != 0 {
            return Err(last());
        }
        if !md.file_type().is_symlink() && libc::chmod(d.as_ptr(), md.mode() & 0o7777) != 0 {
            return Err(last());
        }
        let times = [
            libc::timespec { tv_sec: md.atime(), tv_nsec: md.atime_nsec() },
            libc::timespec { tv_sec: md.mtime(), tv_nsec: md.mtime_nsec() },
        ];
        libc::utimensat(libc::AT_FDCWD, d.as_ptr(), times.as_ptr(), libc::AT_SYMLINK_NOFOLLOW);
    }
    Ok(())
}

/// Copy `src` to `dst` (which must not exist), mapping owners with `owner`.
pub fn copy_tree(src: &Path, dst: &Path, owner: &dyn Fn(u32, u32) -> (u32, u32)) -> std::io::Result<()> {
    let md = std::fs::symlink_metadata(src)?;
    let ft = md.file_type();
    if ft.is_dir() {
        std::fs::create_dir(dst)?;
        copy_xattrs(src, dst)?;
        for e in std::fs::read_dir(src)? {
            let e = e?;
            copy_tree(&e.path(), &dst.join(e.file_name()), owner)?;
        }
    } else if ft.is_symlink() {
        std::os::unix::fs::symlink(std::fs::read_link(src)?, dst)?;
    } else if ft.is_file() {
        std::fs::copy(src, dst)?;
        copy_xattrs(src, dst)?;
    } else if ft.is_char_device() || ft.is_block_device() || ft.is_fifo() {
        // Whiteouts are 0:0 character devices; mknod of those is allowed here.
        let mode = md.mode();
        if unsafe { libc::mknod(c(dst).as_ptr(), mode, md.rdev()) } != 0 {
            return Err(last());
        }
    } else {
        return Ok(());
    }
    set_meta(dst, &md, owner)
}

/// Apply one extracted layer (overlay form: 0:0 character-device whiteouts,
/// `*.overlay.opaque` directories) on top of `dst`, as a union would show
/// it: the "vfs" driver's flattening, for hosts without any overlay.
pub fn apply_overlay_layer(src: &Path, dst: &Path) -> std::io::Result<()> {
    for e in std::fs::read_dir(src)? {
        let e = e?;
        let (from, to) = (e.path(), dst.join(e.file_name()));
        let md = std::fs::symlink_metadata(&from)?;
        let ft = md.file_type();
        if ft.is_char_device() && md.rdev() == 0 {
            remove_any(&to)?;
            continue;
        }
        if ft.is_dir() {
            let existing = std::fs::symlink_metadata(&to).ok();
            match existing {
                Some(m) if m.is_dir() && !is_opaque(&from) => {
                    apply_overlay_layer(&from, &to)?;
                    set_meta(&to, &md, &|u, g| (u, g))?;
                }
                _ => {
                    remove_any(&to)?;
                    copy_tree(&from, &to, &|u, g| (u, g))?;
                }
            }
            continue;
        }
        remove_any(&to)?;
        copy_tree(&from, &to, &|u, g| (u, g))?;
    }
    Ok(())
}

fn is_opaque(dir: &Path) -> bool {
    let d = c(dir);
    let mut v = [0u8; 2];
    ["user.overlay.opaque", "trusted.overlay.opaque"].iter().any(|name| {
        let n = CString::new(*name).expect("no NUL");
        let r = unsafe { libc::lgetxattr(d.as_ptr(), n.as_ptr(), v.as_mut_ptr().cast(), v.len()) };
        r == 1 && v[0] == b'y'
    })
}

fn remove_any(p: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(p),
        Ok(_) => std::fs::remove_file(p),
        Err(_) => Ok(()),
    }
}
