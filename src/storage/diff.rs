//! A container's writable overlay layer as a layer tarball: what `build`
//! (and later `commit`) stores. Overlay records deletions its own way (a 0:0
//! character device, an `overlay.opaque` xattr); image layers use OCI
//! whiteouts (`.wh.NAME`, `.wh..wh..opq`), so they are translated here.
//! Runs inside the store's id mapping (see `userns`), where stat shows the
//! container's ids and every file is readable.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use tar::{EntryType, Header};

/// Files the runtime creates as mount points: not part of what RUN did
/// (Docker leaves them out of committed layers too), when left empty.
pub const MOUNT_POINTS: &[&str] = &["dev", "proc", "sys", "etc/hosts", "etc/hostname", "etc/resolv.conf"];

pub fn write_upper_tar(upper: &Path, out: &Path) -> io::Result<()> {
    let f = fs::File::create(out)?;
    let mut b = tar::Builder::new(io::BufWriter::new(f));
    b.mode(tar::HeaderMode::Complete);
    let mut links = HashMap::new();
    walk(&mut b, upper, "", &mut links)?;
    b.into_inner()?.flush()
}

/// One path (a file, a link, or a directory with all below it) as a tarball
/// whose entries are named `name`, `name/…` (`rcon cp` out of a container).
pub fn write_path_tar(path: &Path, name: &str, out: &Path) -> io::Result<()> {
    let f = fs::File::create(out)?;
    let mut b = tar::Builder::new(io::BufWriter::new(f));
    b.mode(tar::HeaderMode::Complete);
    let md = fs::symlink_metadata(path)?;
    if md.is_dir() {
        let mut h = header_for(&md, EntryType::Directory);
        b.append_data(&mut h, format!("{name}/"), io::empty())?;
        walk(&mut b, path, &format!("{name}/"), &mut HashMap::new())?;
    } else if md.file_type().is_symlink() {
        let mut h = header_for(&md, EntryType::Symlink);
        b.append_link(&mut h, name, fs::read_link(path)?)?;
    } else {
        let mut h = header_for(&md, EntryType::Regular);
        h.set_size(md.len());
        b.append_data(&mut h, name, fs::File::open(path)?)?;
    }
    b.into_inner()?.flush()
}

fn is_opaque(p: &Path) -> bool {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = CString::new(p.as_os_str().as_bytes()) else { return false };
    ["user.overlay.opaque", "trusted.overlay.opaque", "user.fuseoverlayfs.opaque"].iter().any(|name| {
        let n = CString::new(*name).expect("static");
        let mut v = [0u8; 4];
        let r = unsafe { libc::lgetxattr(c.as_ptr(), n.as_ptr(), v.as_mut_ptr().cast(), v.len()) };
        r > 0 && v[0] == b'y'
    })
}

fn header_for(md: &fs::Metadata, kind: EntryType) -> Header {
    let mut h = Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(md.mode() & 0o7777);
    h.set_uid(md.uid().into());
    h.set_gid(md.gid().into());
    h.set_mtime(md.mtime().max(0) as u64);
    h.set_size(0);
    h
}

fn walk<W: Write>(
    b: &mut tar::Builder<W>,
    dir: &Path,
    prefix: &str,
    links: &mut HashMap<(u64, u64), String>,
) -> io::Result<()> {
    let mut names: Vec<_> = fs::read_dir(dir)?.collect::<io::Result<Vec<_>>>()?;
    names.sort_by_key(|e| e.file_name());
    for e in names {
        let name = e.file_name().to_string_lossy().into_owned();
        let rel = format!("{prefix}{name}");
        let path = e.path();
        let md = fs::symlink_metadata(&path)?;
        let ft = md.file_type();
        if MOUNT_POINTS.contains(&rel.as_str())
            && ((ft.is_dir() && fs::read_dir(&path)?.next().is_none()) || (ft.is_file() && md.len() == 0))
        {
            continue;
        }
        if ft.is_char_device() && md.rdev() == 0 {
            let mut h = header_for(&md, EntryType::Regular);
            h.set_mode(0o600);
            b.append_data(&mut h, format!("{prefix}.wh.{name}"), io::empty())?;
        } else if ft.is_dir() {
            let mut h = header_for(&md, EntryType::Directory);
            b.append_data(&mut h, format!("{rel}/"), io::empty())?;
            if is_opaque(&path) {
                let mut h = header_for(&md, EntryType::Regular);
                h.set_mode(0o600);
                b.append_data(&mut h, format!("{rel}/.wh..wh..opq"), io::empty())?;
            }
            walk(b, &path, &format!("{rel}/"), links)?;
        } else if ft.is_symlink() {
            let mut h = header_for(&md, EntryType::Symlink);
            b.append_link(&mut h, &rel, fs::read_link(&path)?)?;
        } else if ft.is_file() {
            if md.nlink() > 1 {
                if let Some(first) = links.get(&(md.dev(), md.ino())) {
                    let mut h = header_for(&md, EntryType::Link);
                    b.append_link(&mut h, &rel, first)?;
                    continue;
                }
                links.insert((md.dev(), md.ino()), rel.clone());
            }
            let mut h = header_for(&md, EntryType::Regular);
            h.set_size(md.len());
            b.append_data(&mut h, &rel, fs::File::open(&path)?)?;
        } else if ft.is_fifo() || ft.is_char_device() || ft.is_block_device() {
            let kind = if ft.is_fifo() {
                EntryType::Fifo
            } else if ft.is_char_device() {
                EntryType::Char
            } else {
                EntryType::Block
            };
            let mut h = header_for(&md, kind);
            let rdev = md.rdev();
            h.set_device_major(libc::major(rdev))?;
            h.set_device_minor(libc::minor(rdev))?;
            b.append_data(&mut h, &rel, io::empty())?;
        }
        // Sockets are not kept in layers.
    }
    Ok(())
}
