//! `rcon cp`: the client's side. Docker's CLI parses the two ends, tars
//! host sources and unpacks what comes out of a container into the host's
//! file system; the engine reads and writes only the container's side
//! (`engine::cp`).

use std::path::{Path, PathBuf};

use clap::Args;

use super::CmdResult;
use crate::engine::cp::{self as eng, CopySource};
use crate::engine::Engine;
use crate::error::{Error, IoContext};

#[derive(Args)]
pub struct CpArgs {
    /// Archive mode (copy all uid/gid information)
    #[arg(short, long)]
    archive: bool,
    /// Always follow symbol link in SRC_PATH
    #[arg(short = 'L', long)]
    follow_link: bool,
    /// CONTAINER:SRC_PATH, a host path, or - (a tar stream on stdin)
    src: String,
    /// CONTAINER:DEST_PATH, a host path, or - (a tar stream on stdout)
    dst: String,
}

/// One side of `cp`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum End {
    Host(PathBuf),
    Stdio,
    Container { name: String, path: String },
}

impl End {
    /// Docker's rule: `NAME:PATH` is a container path unless what precedes
    /// the colon looks like a local path (`./a:b`, `/x:y`).
    fn parse(s: &str) -> End {
        if s == "-" {
            return End::Stdio;
        }
        match s.split_once(':') {
            Some((n, p)) if !n.is_empty() && !n.contains('/') => End::Container { name: n.into(), path: p.into() },
            _ => End::Host(s.into()),
        }
    }
}

fn bad(msg: String) -> Error {
    Error::InvalidArgument(msg)
}

pub fn cp(engine: &Engine, a: CpArgs) -> CmdResult {
    copy(engine, &a.src, &a.dst, a.archive, a.follow_link)
}

/// `cp SRC DST` (also `compose cp`, with the service's container named).
pub(super) fn copy(engine: &Engine, src: &str, dst: &str, archive: bool, follow_link: bool) -> CmdResult {
    match (End::parse(src), End::parse(dst)) {
        (End::Container { name, path }, End::Stdio) => {
            eng::copy_out(engine, &name, &path, follow_link, &mut std::io::stdout().lock())?;
        }
        (End::Container { name, path }, End::Host(dest)) => {
            // Staged next to the destination, as the calling user.
            let tmp = tempfile_near(&dest)?;
            let res = (|| {
                let mut f = std::fs::File::create(&tmp).ctx(|| format!("create {}", tmp.display()))?;
                let base = eng::copy_out(engine, &name, &path, follow_link, &mut f)?;
                drop(f);
                let contents = path == "." || path.ends_with("/.") || base == ".";
                unpack_on_host(&tmp, &base, &dest, contents)
            })();
            let _ = std::fs::remove_file(&tmp);
            res?;
        }
        (End::Stdio, End::Container { name, path }) => {
            eng::copy_in(engine, &name, &path, CopySource::Tar(&mut std::io::stdin().lock()))?;
        }
        (End::Host(src), End::Container { name, path }) => {
            eng::copy_in(engine, &name, &path, CopySource::Host { path: src, archive })?;
        }
        (End::Container { .. }, End::Container { .. }) => {
            return Err(bad("copying between containers is not supported: copy to the host first".into()).into())
        }
        _ => return Err(bad("must specify at least one container source: CONTAINER:PATH".into()).into()),
    }
    Ok(0)
}

/// A file name for the archive in the destination's directory (or its
/// parent), which the destination must have anyway.
fn tempfile_near(dest: &Path) -> crate::Result<PathBuf> {
    let dir = if dest.is_dir() {
        dest.to_path_buf()
    } else {
        dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf()
    };
    if !dir.is_dir() {
        return Err(bad(format!("destination directory {} does not exist", dir.display())));
    }
    Ok(dir.join(format!(".rcon-cp-{}.tar", std::process::id())))
}

/// Docker's rules for where `cp` puts what it copied out: into an existing
/// directory under its own name (or, for `DIR/.`, its content merged into
/// it), else under the destination's name, which must have an existing
/// parent. Unpacked as the calling user; the tar crate refuses names and
/// links that leave the staging directory.
fn unpack_on_host(tar: &Path, base: &str, dest: &Path, contents: bool) -> crate::Result<()> {
    let dest_dir = dest.is_dir();
    let dir = if dest_dir {
        dest.to_path_buf()
    } else {
        if dest.as_os_str().as_encoded_bytes().ends_with(b"/") {
            return Err(bad(format!("destination directory {} does not exist", dest.display())));
        }
        let parent = dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        if !parent.is_dir() {
            return Err(bad(format!("destination directory {} does not exist", parent.display())));
        }
        parent.to_path_buf()
    };
    let stage = dir.join(format!(".rcon-cp-{}", std::process::id()));
    std::fs::create_dir_all(&stage).ctx(|| format!("create {}", stage.display()))?;
    let res = (|| {
        let mut ar = tar::Archive::new(std::fs::File::open(tar).ctx(|| "open the archive".into())?);
        ar.set_preserve_permissions(true);
        ar.unpack(&stage).ctx(|| format!("write into {}", dir.display()))?;
        let got = stage.join(base);
        let target = if dest_dir && !contents { dest.join(base) } else { dest.to_path_buf() };
        if target.is_dir() && !got.is_dir() {
            return Err(bad(format!("cannot overwrite directory {} with a file", target.display())));
        }
        if !target.is_dir() && target.exists() && got.is_dir() {
            return Err(bad(format!("cannot copy a directory to the file {}", target.display())));
        }
        merge(&got, &target).ctx(|| format!("write {}", target.display()))
    })();
    let _ = std::fs::remove_dir_all(&stage);
    res
}

/// Move `src` to `dst`; a directory onto an existing directory merges into
/// it, anything else replaces what is there (Docker's `cp` into the host).
fn merge(src: &Path, dst: &Path) -> std::io::Result<()> {
    let dst_md = std::fs::symlink_metadata(dst).ok();
    let src_dir = std::fs::symlink_metadata(src)?.is_dir();
    match dst_md {
        Some(m) if m.is_dir() && src_dir => {
            for e in std::fs::read_dir(src)? {
                let e = e?;
                merge(&e.path(), &dst.join(e.file_name()))?;
            }
            Ok(())
        }
        Some(m) if m.is_dir() => std::fs::remove_dir_all(dst).and_then(|_| std::fs::rename(src, dst)),
        _ => std::fs::rename(src, dst),
    }
}

#[cfg(test)]
mod tests {
    use super::End;

    #[test]
    fn ends_like_docker() {
        assert_eq!(End::parse("-"), End::Stdio);
        assert_eq!(End::parse("c1:/etc/passwd"), End::Container { name: "c1".into(), path: "/etc/passwd".into() });
        assert_eq!(End::parse("./a:b"), End::Host("./a:b".into()));
        assert_eq!(End::parse("/tmp/x"), End::Host("/tmp/x".into()));
    }
}
