//! A container's file system as its overlay shows it, read straight from
//! the layer directories (image layers and the writable layer), with no
//! mount and no flattened copy.
//!
//! The rules are overlayfs' own: the topmost layer holding a name wins; a
//! 0:0 character device (a whiteout) hides the name in every layer below;
//! a directory marked opaque hides the directories below it; a directory
//! merges with the directories of the same name below it, and any other
//! kind of file hides them. Paths are resolved as the container resolves
//! them (absolute links and `..` against its root, see `fsat`), and every
//! access is relative to a layer's directory fd without following
//! symlinks, so nothing outside the layers is read (CVE-2018-15664).

use std::collections::BTreeSet;
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use super::fsat::{components, ends_in_dir, errno, Dir, Kind, Stat};

/// Opaque markers: native overlay rootless (`userxattr`) and as root, and
/// fuse-overlayfs.
pub const OPAQUE_XATTRS: &[&str] = &["user.overlay.opaque", "trusted.overlay.opaque", "user.fuseoverlayfs.opaque"];

/// Symlinks followed in one resolution (Linux's limit).
const MAX_LINKS: usize = 40;

pub struct Union {
    /// Topmost first.
    layers: Vec<Dir>,
}

/// An entry of the union: the layer directory holding it and its name there.
pub struct Entry {
    pub parent: Dir,
    pub name: OsString,
    pub stat: Stat,
}

impl Union {
    /// `layers` lowest first, as a container record lists them (the
    /// writable layer last).
    pub fn open(layers: &[PathBuf]) -> io::Result<Union> {
        let layers = layers.iter().rev().map(|p| Dir::open(p)).collect::<io::Result<Vec<_>>>()?;
        Ok(Union { layers })
    }

    /// The directories, topmost first, whose entries make up the union's
    /// directory `comps`; empty when it is not a directory of the union.
    pub fn dirs(&self, comps: &[OsString]) -> io::Result<Vec<Dir>> {
        let mut cur = self.layers.iter().map(Dir::try_clone).collect::<io::Result<Vec<_>>>()?;
        for comp in comps {
            cur = below(&cur, comp)?;
            if cur.is_empty() {
                break;
            }
        }
        Ok(cur)
    }

    /// The entry at `comps` (never following a symlink there), or None if
    /// the union has nothing there.
    pub fn lookup(&self, comps: &[OsString]) -> io::Result<Option<Entry>> {
        let Some((name, parent)) = comps.split_last() else {
            let Some(top) = self.layers.first() else { return Ok(None) };
            let top = top.try_clone()?;
            let stat = top.stat()?;
            return Ok(Some(Entry { parent: top, name: ".".into(), stat }));
        };
        for d in self.dirs(parent)? {
            match d.lstat(name) {
                Ok(st) if st.is_whiteout() => return Ok(None),
                Ok(stat) => return Ok(Some(Entry { parent: d, name: name.clone(), stat })),
                Err(e) if errno(&e) == libc::ENOENT => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    /// Resolve `path` inside the container's root: the components of the
    /// path it names, with every symlink on the way replaced by its target
    /// (the last one only with `follow_last`). The last component need not
    /// exist (a destination about to be created); any other must be a
    /// directory.
    pub fn resolve(&self, path: &str, follow_last: bool) -> io::Result<Vec<OsString>> {
        let follow_last = follow_last || ends_in_dir(path);
        let mut todo = components(path.as_bytes());
        let mut done: Vec<OsString> = Vec::new();
        let mut links = 0;
        while let Some(comp) = todo.pop() {
            if comp == b".." {
                done.pop();
                continue;
            }
            done.push(OsStr::from_bytes(&comp).to_owned());
            let last = todo.is_empty();
            match self.lookup(&done)? {
                None if last => break,
                None => return Err(io::Error::from_raw_os_error(libc::ENOENT)),
                Some(e) if e.stat.kind() == Kind::Symlink && (!last || follow_last) => {
                    links += 1;
                    if links > MAX_LINKS {
                        return Err(io::Error::from_raw_os_error(libc::ELOOP));
                    }
                    let target = e.parent.readlink(&e.name)?;
                    done.pop();
                    if target.as_bytes().starts_with(b"/") {
                        done.clear();
                    }
                    todo.extend(components(target.as_bytes()));
                }
                Some(e) if !last && !e.stat.is_dir() => return Err(io::Error::from_raw_os_error(libc::ENOTDIR)),
                Some(_) => {}
            }
        }
        Ok(done)
    }
}

/// The directories named `name` in `dirs` (topmost first) that show in the
/// union: down to the first opaque one, and none below a layer where
/// `name` is anything but a directory.
pub fn below(dirs: &[Dir], name: &OsStr) -> io::Result<Vec<Dir>> {
    let mut out = Vec::new();
    for d in dirs {
        match d.lstat(name) {
            Ok(st) if st.is_dir() => {
                let sub = d.dir(name)?;
                let opaque = sub.xattr_is_yes(OPAQUE_XATTRS);
                out.push(sub);
                if opaque {
                    break;
                }
            }
            Ok(_) => break,
            Err(e) if errno(&e) == libc::ENOENT => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// The names a union directory made of `dirs` (topmost first) lists, each
/// with the directory holding its topmost entry and that entry; whited-out
/// names are left out.
pub fn list(dirs: &[Dir]) -> io::Result<Vec<(OsString, usize, Stat)>> {
    let mut names = BTreeSet::new();
    for d in dirs {
        names.extend(d.names()?);
    }
    let mut out = Vec::new();
    for name in names {
        for (i, d) in dirs.iter().enumerate() {
            match d.lstat(&name) {
                Ok(st) if st.is_whiteout() => break,
                Ok(st) => {
                    out.push((name, i, st));
                    break;
                }
                Err(e) if errno(&e) == libc::ENOENT => continue,
                Err(e) => return Err(e),
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn names(v: &[OsString]) -> Vec<String> {
        v.iter().map(|n| n.to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn layers_combine_as_overlay_shows_them() {
        let t = crate::testutil::TempDir::new("union");
        let (low, up) = (t.join("low"), t.join("up"));
        for d in ["etc/conf.d", "gone/x", "opaque/old", "data"] {
            std::fs::create_dir_all(low.join(d)).unwrap();
        }
        std::fs::write(low.join("etc/passwd"), "root").unwrap();
        std::fs::write(low.join("data/f"), "low").unwrap();
        std::fs::create_dir_all(up.join("opaque/new")).unwrap();
        std::fs::create_dir_all(up.join("etc")).unwrap();
        std::fs::write(up.join("data"), "now a file").unwrap();
        // Whiteout (a 0:0 character device needs root; a stand-in test of
        // the rule is the opaque directory below, set with a user xattr).
        let op = std::ffi::CString::new(up.join("opaque").as_os_str().as_bytes()).unwrap();
        let set = unsafe { libc::lsetxattr(op.as_ptr(), c"user.overlay.opaque".as_ptr(), b"y".as_ptr().cast(), 1, 0) };
        symlink("/etc", up.join("link")).unwrap();
        symlink(&t.0, up.join("host")).unwrap();
        let u = Union::open(&[low, up]).unwrap();
        let root = u.dirs(&[]).unwrap();
        let l: Vec<String> =
            list(&root).unwrap().into_iter().map(|(n, _, _)| n.to_string_lossy().into_owned()).collect();
        assert_eq!(l, ["data", "etc", "gone", "host", "link", "opaque"]);
        // A file in the upper layer hides the lower directory.
        assert_eq!(u.lookup(&["data".into()]).unwrap().unwrap().stat.kind(), Kind::File);
        assert!(u.dirs(&["data".into()]).unwrap().is_empty());
        // Directories merge.
        let etc: Vec<String> = list(&u.dirs(&["etc".into()]).unwrap())
            .unwrap()
            .into_iter()
            .map(|(n, _, _)| n.to_string_lossy().into_owned())
            .collect();
        assert_eq!(etc, ["conf.d", "passwd"]);
        if set == 0 {
            let op: Vec<String> = list(&u.dirs(&["opaque".into()]).unwrap())
                .unwrap()
                .into_iter()
                .map(|(n, _, _)| n.to_string_lossy().into_owned())
                .collect();
            assert_eq!(op, ["new"]);
        }
        // Links resolve inside the union's root.
        assert_eq!(names(&u.resolve("/link/passwd", false).unwrap()), ["etc", "passwd"]);
        assert_eq!(names(&u.resolve("/link", false).unwrap()), ["link"]);
        assert_eq!(names(&u.resolve("/link", true).unwrap()), ["etc"]);
        assert_eq!(names(&u.resolve("/etc/../../../link/new", false).unwrap()), ["etc", "new"]);
        assert_eq!(errno(&u.resolve("/host/secret", false).err().unwrap()), libc::ENOENT);
        assert_eq!(errno(&u.resolve("/data/f", false).err().unwrap()), libc::ENOTDIR);
    }
}
