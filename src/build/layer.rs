//! The layer a COPY or ADD makes, planned as a list of entries before a byte
//! is written: the plan's checksum (content, names, modes, owners; never
//! mtimes, as Docker's cache ignores them) decides whether the cache has
//! the step, and only on a miss is the plan written as a tarball.

use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tar::{EntryType, Header};

use super::dockerignore::DockerIgnore;
use crate::storage::userns::{IdMap, IdRange};

#[derive(Debug, Clone)]
pub enum Body {
    Dir,
    File(PathBuf),
    Inline(Vec<u8>),
    Symlink(PathBuf),
    /// A local archive ADD unpacks below `path`.
    Archive(PathBuf),
}

#[derive(Debug, Clone)]
pub struct Entry {
    /// Inside the layer, no leading `/`.
    pub path: String,
    pub body: Body,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: u64,
}

#[derive(Default)]
pub struct Plan {
    pub entries: Vec<Entry>,
}

/// How copied files are owned and moded (`--chown`, `--chmod`).
#[derive(Debug, Clone, Copy)]
pub struct Meta {
    pub uid: u32,
    pub gid: u32,
    pub chmod: Option<u32>,
}

/// `dir/name` for paths inside a layer (no leading `/`; "" is the root).
pub fn join(dest: &str, name: &str) -> String {
    match (dest.is_empty(), name.is_empty()) {
        (true, _) => name.to_string(),
        (_, true) => dest.to_string(),
        _ => format!("{dest}/{name}"),
    }
}

impl Plan {
    fn push(&mut self, path: String, body: Body, md: Option<&fs::Metadata>, meta: Meta) {
        let mode = match (&body, md) {
            (Body::Symlink(_), _) => 0o777,
            (_, Some(md)) => meta.chmod.unwrap_or(md.permissions().mode() & 0o7777),
            (Body::Dir, None) => meta.chmod.unwrap_or(0o755),
            _ => meta.chmod.unwrap_or(0o644),
        };
        let mtime = md.map(|m| m.mtime().max(0) as u64).unwrap_or(0);
        self.entries.push(Entry { path, body, mode, uid: meta.uid, gid: meta.gid, mtime });
    }

    /// A parent directory the destination needs, with the metadata the image
    /// already gives it (so a copy below /tmp keeps /tmp 1777).
    pub fn parent(&mut self, path: String, existing: Option<(u32, u32, u32)>) {
        if self.entries.iter().any(|e| e.path == path) {
            return;
        }
        let (mode, uid, gid) = existing.unwrap_or((0o755, 0, 0));
        self.entries.push(Entry { path, body: Body::Dir, mode, uid, gid, mtime: 0 });
    }

    pub fn inline(&mut self, path: String, data: Vec<u8>, meta: Meta) {
        self.push(path, Body::Inline(data), None, meta);
    }

    pub fn archive(&mut self, dest: String, src: PathBuf) {
        self.entries.push(Entry { path: dest, body: Body::Archive(src), mode: 0, uid: 0, gid: 0, mtime: 0 });
    }

    /// A file, symlink or (its contents, recursively) directory at `src` to
    /// `dest`. `rel` is its path in the context, for the ignore rules. The
    /// destination directory itself is the caller's (see [`Plan::parent`]):
    /// Docker copies a directory's contents, never the directory.
    pub fn add(&mut self, src: &Path, dest: &str, rel: &str, ignore: &DockerIgnore, meta: Meta) -> io::Result<()> {
        self.add_at(src, dest, rel, ignore, meta, true)
    }

    fn add_at(
        &mut self,
        src: &Path,
        dest: &str,
        rel: &str,
        ignore: &DockerIgnore,
        meta: Meta,
        top: bool,
    ) -> io::Result<()> {
        let md = fs::symlink_metadata(src)?;
        if md.is_dir() {
            if !top {
                self.push(dest.to_string(), Body::Dir, Some(&md), meta);
            }
            let mut names: Vec<_> = fs::read_dir(src)?.flatten().map(|e| e.file_name()).collect();
            names.sort();
            for n in names {
                let n = n.to_string_lossy().into_owned();
                let r = join(rel, &n);
                let p = src.join(&n);
                if !ignore.is_empty() && ignore.excluded(&r) {
                    // An exception may re-include something below.
                    if !(ignore.has_exceptions() && p.is_dir()) {
                        continue;
                    }
                }
                self.add_at(&p, &join(dest, &n), &r, ignore, meta, false)?;
            }
        } else if md.file_type().is_symlink() {
            self.push(dest.to_string(), Body::Symlink(fs::read_link(src)?), Some(&md), meta);
        } else if md.is_file() {
            self.push(dest.to_string(), Body::File(src.to_path_buf()), Some(&md), meta);
        }
        Ok(())
    }

    /// The cache checksum: every entry's name, type, mode, owner and content.
    pub fn checksum(&self) -> io::Result<String> {
        let mut h = Sha256::new();
        for e in &self.entries {
            h.update(format!("{}\0{:o}\0{}:{}\0", e.path, e.mode, e.uid, e.gid));
            match &e.body {
                Body::Dir => h.update(b"d"),
                Body::Symlink(t) => h.update(format!("l{}", t.display())),
                Body::Inline(d) => {
                    h.update(b"f");
                    h.update(d);
                }
                Body::File(p) | Body::Archive(p) => {
                    h.update(if matches!(e.body, Body::File(_)) { b"f" } else { b"a" });
                    let mut f = fs::File::open(p)?;
                    let mut buf = vec![0u8; 1 << 16];
                    loop {
                        let n = f.read(&mut buf)?;
                        if n == 0 {
                            break;
                        }
                        h.update(&buf[..n]);
                    }
                }
            }
            h.update(b"\n");
        }
        Ok(crate::storage::compress::hex(&h.finalize()))
    }

    pub fn write_tar(&self, out: &Path) -> io::Result<()> {
        let mut b = tar::Builder::new(io::BufWriter::new(fs::File::create(out)?));
        for e in &self.entries {
            let mut h = Header::new_gnu();
            h.set_mode(e.mode);
            h.set_uid(e.uid.into());
            h.set_gid(e.gid.into());
            h.set_mtime(e.mtime);
            h.set_size(0);
            match &e.body {
                Body::Dir => {
                    h.set_entry_type(EntryType::Directory);
                    b.append_data(&mut h, format!("{}/", e.path), io::empty())?;
                }
                Body::Symlink(t) => {
                    h.set_entry_type(EntryType::Symlink);
                    b.append_link(&mut h, &e.path, t)?;
                }
                Body::Inline(d) => {
                    h.set_entry_type(EntryType::Regular);
                    h.set_size(d.len() as u64);
                    b.append_data(&mut h, &e.path, d.as_slice())?;
                }
                Body::File(p) => {
                    let f = fs::File::open(p)?;
                    h.set_entry_type(EntryType::Regular);
                    h.set_size(f.metadata()?.len());
                    b.append_data(&mut h, &e.path, f)?;
                }
                Body::Archive(p) => unpack_into(&mut b, p, &e.path)?,
            }
        }
        b.into_inner()?.flush()
    }
}

/// Does the stream hold a tar archive (plain, gzip or zstd)?
pub fn is_tar(r: impl Read) -> bool {
    let Ok((_, mut r)) = crate::storage::compress::decompress(r) else { return false };
    let mut head = [0u8; 512];
    r.read_exact(&mut head).is_ok() && &head[257..262] == b"ustar"
}

/// Re-emit an archive's entries below `dest`. Names are cleaned here; the
/// layer is then applied by the hostile-input-safe extractor like any other.
fn unpack_into<W: Write>(b: &mut tar::Builder<W>, src: &Path, dest: &str) -> io::Result<()> {
    let r = super::archive::open(src)?;
    let mut ar = tar::Archive::new(r);
    let under = |p: &Path| {
        let rel = super::context::clean(&p.to_string_lossy()).join("/");
        join(dest, &rel)
    };
    for ent in ar.entries()? {
        let mut ent = ent?;
        let path = under(&ent.path()?);
        let mut h = ent.header().clone();
        match h.entry_type() {
            EntryType::Symlink => {
                let t = ent.link_name()?.unwrap_or_default().into_owned();
                b.append_link(&mut h, &path, t)?;
            }
            EntryType::Link => {
                let t = under(&ent.link_name()?.unwrap_or_default());
                b.append_link(&mut h, &path, t)?;
            }
            EntryType::Directory => b.append_data(&mut h, format!("{path}/"), io::empty())?,
            EntryType::XGlobalHeader | EntryType::XHeader | EntryType::GNULongName | EntryType::GNULongLink => {}
            _ => {
                let size = h.size()?;
                b.append_data(&mut h, &path, (&mut ent).take(size))?;
            }
        }
    }
    Ok(())
}

/// Where `rel` (no leading `/`) is in a stack of extracted layers, topmost
/// first: the metadata of the visible entry, or None if absent or deleted.
pub fn lookup(layers: &[PathBuf], rel: &str) -> Option<fs::Metadata> {
    use std::os::unix::fs::FileTypeExt;
    let parts: Vec<&str> = rel.split('/').filter(|s| !s.is_empty()).collect();
    for layer in layers {
        let mut p = layer.clone();
        for (i, part) in parts.iter().enumerate() {
            p.push(part);
            match fs::symlink_metadata(&p) {
                // A 0:0 character device is overlay's whiteout.
                Ok(md) if md.file_type().is_char_device() && md.rdev() == 0 => return None,
                Ok(md) if i + 1 == parts.len() => return Some(md),
                Ok(md) if !md.is_dir() => return None,
                Ok(_) => {}
                Err(_) => break,
            }
        }
    }
    if parts.is_empty() {
        return layers.first().and_then(|l| fs::metadata(l).ok());
    }
    None
}

/// Container ids of a file in a layer (rootless, stat shows host ids).
pub fn container_ids(idmap: Option<&IdMap>, md: &fs::Metadata) -> (u32, u32) {
    let Some(map) = idmap else { return (md.uid(), md.gid()) };
    let back = |ranges: &[IdRange], id: u32| {
        ranges.iter().find(|r| id >= r.outside && id - r.outside < r.count).map(|r| r.inside + (id - r.outside))
    };
    (back(&map.uids, md.uid()).unwrap_or(0), back(&map.gids, md.gid()).unwrap_or(0))
}

/// Directory entries for `rel` and its ancestors, with the metadata the
/// layers (topmost first) give those that exist: a layer's directory entry
/// replaces the lower one's metadata, so a copy below /tmp must keep 1777.
pub fn parents(plan: &mut Plan, layers: &[PathBuf], idmap: Option<&IdMap>, rel: &str) {
    let parts: Vec<&str> = rel.split('/').filter(|s| !s.is_empty()).collect();
    for n in 1..=parts.len() {
        let p = parts[..n].join("/");
        let existing = lookup(layers, &p).filter(|m| m.is_dir()).map(|m| {
            let (u, g) = container_ids(idmap, &m);
            (m.permissions().mode() & 0o7777, u, g)
        });
        plan.parent(p, existing);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> Meta {
        Meta { uid: 0, gid: 0, chmod: None }
    }

    #[test]
    fn checksum_ignores_mtime_and_sees_content_and_modes() {
        let d = crate::testutil::TempDir::new("layer");
        fs::create_dir_all(d.join("src/sub")).unwrap();
        fs::write(d.join("src/a"), "one").unwrap();
        fs::write(d.join("src/sub/b"), "two").unwrap();
        let sum = |m: Meta| {
            let mut p = Plan::default();
            p.add(&d.join("src"), "app", "src", &DockerIgnore::default(), m).unwrap();
            p.checksum().unwrap()
        };
        let first = sum(meta());
        let f = fs::File::options().write(true).open(d.join("src/a")).unwrap();
        f.set_modified(std::time::SystemTime::UNIX_EPOCH).unwrap();
        assert_eq!(sum(meta()), first, "mtime must not matter");
        assert_ne!(sum(Meta { uid: 1, gid: 1, chmod: None }), first);
        assert_ne!(sum(Meta { uid: 0, gid: 0, chmod: Some(0o700) }), first);
        fs::write(d.join("src/a"), "uno").unwrap();
        assert_ne!(sum(meta()), first);
    }

    #[test]
    fn tar_has_contents_not_the_directory_and_honours_ignore() {
        let d = crate::testutil::TempDir::new("layer");
        fs::create_dir_all(d.join("src/skip")).unwrap();
        fs::write(d.join("src/a"), "one").unwrap();
        fs::write(d.join("src/skip/x"), "x").unwrap();
        std::os::unix::fs::symlink("a", d.join("src/ln")).unwrap();
        let mut p = Plan::default();
        p.parent("app".into(), None);
        p.add(&d.join("src"), "app", "src", &DockerIgnore::parse("src/skip\n").unwrap(), meta()).unwrap();
        p.inline("app/inline".into(), b"hi\n".to_vec(), Meta { uid: 5, gid: 6, chmod: Some(0o600) });
        p.write_tar(&d.join("out.tar")).unwrap();
        let mut ar = tar::Archive::new(fs::File::open(d.join("out.tar")).unwrap());
        let names: Vec<(String, u32, u64)> = ar
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (e.path().unwrap().display().to_string(), e.header().mode().unwrap(), e.header().uid().unwrap())
            })
            .collect();
        let just: Vec<&str> = names.iter().map(|n| n.0.as_str()).collect();
        assert_eq!(just, ["app/", "app/a", "app/ln", "app/inline"]);
        assert_eq!((names[3].1, names[3].2), (0o600, 5));
    }

    #[test]
    fn add_unpacks_archives() {
        let d = crate::testutil::TempDir::new("layer");
        let mut b = tar::Builder::new(Vec::new());
        let mut h = Header::new_gnu();
        h.set_size(2);
        h.set_mode(0o640);
        b.append_data(&mut h, "dir/f", &b"hi"[..]).unwrap();
        fs::write(d.join("a.tar"), b.into_inner().unwrap()).unwrap();
        fs::write(d.join("plain"), "not a tar").unwrap();
        assert!(crate::build::archive::is_archive(&d.join("a.tar")));
        assert!(!crate::build::archive::is_archive(&d.join("plain")));
        let mut p = Plan::default();
        p.archive("opt".into(), d.join("a.tar"));
        p.write_tar(&d.join("out.tar")).unwrap();
        let mut ar = tar::Archive::new(fs::File::open(d.join("out.tar")).unwrap());
        let names: Vec<String> =
            ar.entries().unwrap().map(|e| e.unwrap().path().unwrap().display().to_string()).collect();
        assert_eq!(names, ["opt/dir/f"]);
    }
}
