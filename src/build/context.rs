//! The build context: a directory (given, or a tar from stdin unpacked into
//! scratch space), or none (`rcon build - < Dockerfile`); and how COPY/ADD
//! source arguments resolve in it: cleaned relative to the root (`../x`
//! cannot climb out), wildcards per path element (Go's `filepath.Match`,
//! [`super::pattern`]), `.dockerignore` applied, symlinks followed only
//! while they stay inside the root.

use std::fs;
use std::path::{Component, Path, PathBuf};

use super::dockerignore::DockerIgnore;
use super::pattern::{has_wildcards, Glob};

/// One matched source: its path on the host and relative to the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub path: PathBuf,
    pub rel: String,
}

/// Where COPY sources come from: the context, or a stage's or image's
/// flattened root file system (no ignore rules there).
pub struct SourceRoot {
    pub root: PathBuf,
    pub ignore: DockerIgnore,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SourceError {
    #[error("file not found in build context or excluded by .dockerignore: stat {0}: file does not exist")]
    NotFound(String),
    #[error("forbidden path outside the build context: {0}")]
    Outside(String),
    #[error("no source files were specified: {0:?} is no valid pattern (syntax error in pattern: escape a literal [ as \\[)")]
    BadPattern(String),
    #[error("{0}")]
    Io(String),
}

/// Lexically clean `p` into path elements under the root.
pub fn clean(p: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in Path::new(p).components() {
        match c {
            Component::Normal(s) => out.push(s.to_string_lossy().into_owned()),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

impl SourceRoot {
    /// Resolve one COPY/ADD source argument to the entries it names. A
    /// wildcard source may match nothing (an empty list: the caller decides,
    /// as BuildKit does, by what the instruction's other sources matched); a
    /// literal one must exist.
    pub fn resolve(&self, arg: &str) -> Result<Vec<Source>, SourceError> {
        let parts = clean(arg);
        let wild = has_wildcards(arg);
        let globs: Vec<Option<Glob>> = parts
            .iter()
            .map(|p| if wild && has_wildcards(p) { Glob::new(p).map(Some) } else { Ok(None) })
            .collect::<Result<_, _>>()
            .map_err(|_| SourceError::BadPattern(arg.to_string()))?;
        let mut found = vec![(self.root.clone(), String::new())];
        for (part, glob) in parts.iter().zip(&globs) {
            let mut next = Vec::new();
            for (dir, rel) in &found {
                let join = |name: &str| if rel.is_empty() { name.to_string() } else { format!("{rel}/{name}") };
                if let Some(glob) = glob {
                    let Ok(rd) = fs::read_dir(dir) else { continue };
                    let mut names: Vec<String> =
                        rd.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
                    names.sort();
                    for n in names {
                        if glob.matches(&n) {
                            next.push((dir.join(&n), join(&n)));
                        }
                    }
                } else {
                    next.push((dir.join(part), join(part)));
                }
            }
            found = next;
        }
        let mut out = Vec::new();
        for (path, rel) in found {
            if !rel.is_empty() && self.ignore.excluded(&rel) {
                continue;
            }
            if fs::symlink_metadata(&path).is_err() {
                continue;
            }
            let real = self.inside(&path, arg)?;
            out.push(Source { path: real, rel });
        }
        if out.is_empty() && !wild {
            return Err(SourceError::NotFound(arg.to_string()));
        }
        Ok(out)
    }

    /// The real path of `p`, refused if a symlink takes it out of the root.
    fn inside(&self, p: &Path, arg: &str) -> Result<PathBuf, SourceError> {
        let root =
            fs::canonicalize(&self.root).map_err(|e| SourceError::Io(format!("{}: {e}", self.root.display())))?;
        match fs::canonicalize(p) {
            Ok(real) if real.starts_with(&root) => Ok(real),
            Ok(_) => Err(SourceError::Outside(arg.to_string())),
            // A dangling symlink is copied as a link.
            Err(_) => Ok(p.to_path_buf()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_like_docker() {
        let d = crate::testutil::TempDir::new("ctx");
        let root = d.join("ctx");
        fs::create_dir_all(root.join("src/sub")).unwrap();
        for f in ["a.txt", "b.txt", "c.md", "src/x.c", "src/sub/y.c", ".env"] {
            fs::write(root.join(f), f).unwrap();
        }
        fs::write(d.join("outside"), "x").unwrap();
        std::os::unix::fs::symlink("../outside", root.join("escape")).unwrap();
        std::os::unix::fs::symlink("a.txt", root.join("alias")).unwrap();
        let sr = SourceRoot { root: root.clone(), ignore: DockerIgnore::parse("c.md\n.env\n").unwrap() };
        let rels = |a: &str| sr.resolve(a).unwrap().into_iter().map(|s| s.rel).collect::<Vec<_>>();
        assert_eq!(rels("*.txt"), ["a.txt", "b.txt"]);
        assert_eq!(rels("?.txt"), ["a.txt", "b.txt"]);
        assert_eq!(rels("[a].txt"), ["a.txt"]);
        assert_eq!(rels("src/*/*.c"), ["src/sub/y.c"]);
        assert_eq!(rels("../../a.txt"), ["a.txt"]);
        assert_eq!(rels("/src"), ["src"]);
        assert_eq!(rels("."), [""]);
        assert_eq!(sr.resolve("alias").unwrap()[0].path, fs::canonicalize(root.join("a.txt")).unwrap());
        assert!(matches!(sr.resolve("c.md"), Err(SourceError::NotFound(_))));
        assert_eq!(rels("*.md"), Vec::<String>::new());
        // Go has no [!…] complement: `!` is one more member of the class.
        assert_eq!(rels("[!b].txt"), ["b.txt"]);
        assert_eq!(rels("[^b].txt"), ["a.txt"]);
        assert_eq!(rels("?.t[w-y]t"), ["a.txt", "b.txt"]);
        assert!(matches!(sr.resolve("[b-.txt"), Err(SourceError::BadPattern(_))));
        assert!(matches!(sr.resolve("nope"), Err(SourceError::NotFound(_))));
        assert!(matches!(sr.resolve("escape"), Err(SourceError::Outside(_))));
    }
}
