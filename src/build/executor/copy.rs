//! COPY and ADD: the sources (context, `--from` stage or image flattened,
//! heredocs, URLs), their owner, and the layer planned from them.

use std::fs;
use std::path::PathBuf;

use super::{at, Executor, State};
use crate::build::context::{self, SourceError, SourceRoot};
use crate::build::dockerignore::DockerIgnore;
use crate::build::layer::{self, Meta, Plan};
use crate::build::parser::{CopyArgs, Instruction};
use crate::build::shell;
use crate::error::{Error, IoContext, Result};
use crate::image::store::hex_of;
use crate::storage::userns::{self, Request};

impl Executor<'_> {
    pub(super) fn copy(
        &mut self,
        st: &mut State,
        inst: &Instruction,
        a: &CopyArgs,
        is_add: bool,
        stage: usize,
    ) -> Result<()> {
        let name = inst.cmd.name();
        let dest = self.word(st, inst, &a.dest)?;
        let dest_abs = if dest.starts_with('/') { dest.clone() } else { format!("{}/{dest}", st.workdir()) };
        let dest_rel = context::clean(&dest_abs).join("/");
        let (uid, gid) = match &a.chown {
            Some(c) => {
                let c = self.word(st, inst, c)?;
                self.owner(st, inst, &c)?
            }
            None => (0, 0),
        };
        let chmod = match &a.chmod {
            Some(m) => {
                let m = self.word(st, inst, m)?;
                Some(u32::from_str_radix(&m, 8).map_err(|_| at(inst, format_args!("invalid --chmod={m}")))?)
            }
            None => None,
        };
        let meta = Meta { uid, gid, chmod };
        let from_root = match &a.from {
            Some(f) => {
                let f = self.word(st, inst, f)?;
                Some(SourceRoot { root: self.root_of(inst, &f, stage)?, ignore: DockerIgnore::default() })
            }
            None => None,
        };
        let dirs = self.layer_dirs(st);
        let dest_exists_dir = layer::lookup(&dirs, &dest_rel).is_some_and(|m| m.is_dir());
        let mut content = Plan::default();
        let mut count = 0usize;
        let mut kinds = Vec::new();
        let mut unmatched: Option<SourceError> = None;
        // Docker: a destination ending in `/` (or `.`) or naming an existing
        // directory is a directory.
        let to_dir =
            dest.ends_with('/') || dest == "." || dest.ends_with("/.") || dest_exists_dir || dest_rel.is_empty();
        let target = |n: &str| if to_dir { layer::join(&dest_rel, n) } else { dest_rel.clone() };
        for raw in &a.sources {
            if let Some(h) = raw.strip_prefix("<<").map(|n| n.trim_start_matches('-').trim_matches(['"', '\''])) {
                if let Some(doc) = a.heredocs.iter().find(|d| d.name == h) {
                    count += 1;
                    kinds.push("file");
                    // An unquoted heredoc's `$VAR`s are expanded (shell rules).
                    let text = if doc.quoted { doc.content.clone() } else { self.expand_text(st, &doc.content) };
                    content.inline(target(h), text.into_bytes(), meta);
                    continue;
                }
            }
            if is_add && (raw.starts_with("http://") || raw.starts_with("https://")) {
                let url = self.word(st, inst, raw)?;
                let file = self.download(inst, &url, a.checksum.as_deref())?;
                let base = url.rsplit('/').next().filter(|s| !s.is_empty()).unwrap_or("index.html").to_string();
                count += 1;
                kinds.push("file");
                let mut m = meta;
                m.chmod = Some(meta.chmod.unwrap_or(0o600));
                content.inline(target(&base), fs::read(&file).ctx(|| "read download".into())?, m);
                continue;
            }
            let pattern = self.word(st, inst, raw)?;
            let root = match (&from_root, &self.context) {
                (Some(r), _) => r,
                (None, Some(c)) => c,
                (None, None) => {
                    return Err(at(inst, format_args!("{name} {pattern}: there is no build context (the Dockerfile came from stdin): build with a context directory")))
                }
            };
            let found = match root.resolve(&pattern) {
                Ok(f) => f,
                // Docker: a malformed pattern matches nothing (filepath.Match's
                // error is dropped); it is named if nothing else matched.
                Err(e @ SourceError::BadPattern(_)) => {
                    unmatched.get_or_insert(e);
                    continue;
                }
                Err(SourceError::Io(m)) => return Err(Error::Other(m)),
                Err(e) => return Err(at(inst, e)),
            };
            if found.is_empty() {
                unmatched.get_or_insert(SourceError::NotFound(pattern));
                continue;
            }
            for s in found {
                count += 1;
                let md = fs::metadata(&s.path)
                    .or_else(|_| fs::symlink_metadata(&s.path))
                    .ctx(|| format!("stat {}", s.rel))?;
                if md.is_dir() {
                    kinds.push("dir");
                    content.add(&s.path, &dest_rel, &s.rel, &root.ignore, meta).ctx(|| format!("read {}", s.rel))?;
                } else if is_add && from_root.is_none() && crate::build::archive::is_archive(&s.path) {
                    kinds.push("file");
                    content.archive(dest_rel.clone(), s.path.clone());
                } else {
                    kinds.push("file");
                    let base = s.rel.rsplit('/').next().unwrap_or(&s.rel).to_string();
                    content
                        .add(&s.path, &target(&base), &s.rel, &root.ignore, meta)
                        .ctx(|| format!("read {}", s.rel))?;
                }
            }
        }
        // BuildKit: a wildcard that matches nothing is fine while another
        // source of the instruction matched (`COPY go.mod go.su[m] ./`).
        if let Some(e) = unmatched.filter(|_| count == 0) {
            return Err(at(inst, e));
        }
        if count > 1 && !to_dir {
            return Err(at(inst, format_args!("when using {name} with more than one source file, the destination must be a directory and end with a /")));
        }
        // Parent directories first, then what is copied.
        let mut plan = Plan::default();
        let mut needed: Vec<String> = Vec::new();
        let push_parents = |p: &str, needed: &mut Vec<String>| {
            let parts: Vec<&str> = p.split('/').collect();
            for n in 1..parts.len() {
                let d = parts[..n].join("/");
                if !needed.contains(&d) {
                    needed.push(d);
                }
            }
        };
        if to_dir && !dest_rel.is_empty() {
            push_parents(&format!("{dest_rel}/x"), &mut needed);
        }
        for e in &content.entries {
            push_parents(&e.path, &mut needed);
        }
        for d in needed.iter().filter(|d| !content.entries.iter().any(|e| &e.path == *d)) {
            self.parents(st, &mut plan, d);
        }
        plan.entries.extend(content.entries);
        let sum = plan.checksum().ctx(|| format!("{name}: read sources"))?;
        let kind = if kinds.len() == 1 { kinds[0] } else { "multi" };
        let created_by = format!("/bin/sh -c #(nop) {name} {kind}:{sum} in {dest} ");
        let key = format!("{name} {sum} {uid}:{gid} {chmod:?} {dest_rel}");
        self.layer_step(st, &key, created_by, |_, out| plan.write_tar(out).ctx(|| format!("write {}", out.display())))
    }

    /// `--chown=user:group`, names looked up in the image's /etc/passwd and /etc/group.
    fn owner(&self, st: &State, inst: &Instruction, spec: &str) -> Result<(u32, u32)> {
        let (u, g) = match spec.split_once(':') {
            Some((u, g)) => (u, Some(g)),
            None => (spec, None),
        };
        let dirs = self.layer_dirs(st);
        let find = |file: &str, name: &str| -> Option<(u32, u32)> {
            for d in &dirs {
                let p = d.join(file);
                if let Ok(text) = fs::read_to_string(&p) {
                    return text.lines().find_map(|l| {
                        let f: Vec<&str> = l.split(':').collect();
                        (f.len() > 3 && f[0] == name)
                            .then(|| Some((f[2].parse().ok()?, f[3].parse().unwrap_or(0))))
                            .flatten()
                    });
                }
            }
            None
        };
        let uid_of = |u: &str| -> Result<(u32, u32)> {
            if let Ok(n) = u.parse::<u32>() {
                return Ok((n, n));
            }
            find("etc/passwd", u)
                .ok_or_else(|| at(inst, format_args!("unable to find user {u}: no matching entries in passwd file")))
        };
        let (uid, primary) = uid_of(u)?;
        let gid = match g {
            None => primary,
            Some(g) => match g.parse::<u32>() {
                Ok(n) => n,
                Err(_) => find("etc/group", g).map(|(gid, _)| gid).ok_or_else(|| {
                    at(inst, format_args!("unable to find group {g}: no matching entries in group file"))
                })?,
            },
        };
        Ok((uid, gid))
    }

    /// The flattened root file system of a stage (`--from=NAME|N`) or image.
    pub(super) fn root_of(&mut self, inst: &Instruction, from: &str, stage: usize) -> Result<PathBuf> {
        let image = match self.stage_ref(from, stage) {
            Some(i) => self.results.get(&i).cloned().flatten(),
            None => Some(self.engine.image(from, false, &self.opts.pull_progress).map_err(|e| at(inst, e))?.id),
        };
        let Some(image) = image else {
            let empty = self.tmp.path().join("empty");
            fs::create_dir_all(&empty).ctx(|| "create empty root".into())?;
            return Ok(empty);
        };
        if let Some(p) = self.flattened.get(&image) {
            return Ok(p.clone());
        }
        let rec = self.store.resolve(&image)?;
        let dst = self.tmp.path().join(format!("from-{}", &hex_of(&rec.id)[..12]));
        let layers = rec.layers.iter().map(|l| self.store.layer_dir(l).join("diff")).collect();
        userns::run(Request::Flatten { layers, dst: dst.clone() })?;
        self.flattened.insert(image, dst.clone());
        Ok(dst)
    }

    /// `$VAR` and `${VAR…}` in free text (a heredoc body): only `$` is
    /// special, quotes stay as written.
    fn expand_text(&self, st: &State, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let tail = &rest[i..];
            let end = if tail.starts_with("${") {
                tail.find('}').map(|e| e + 1)
            } else {
                Some(1 + tail[1..].find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(tail.len() - 1))
            };
            match end.filter(|&e| e > 1) {
                Some(e) => {
                    let v =
                        shell::word(&tail[..e], '\\', &|k| st.env_value(k)).unwrap_or_else(|_| tail[..e].to_string());
                    out.push_str(&v);
                    rest = &tail[e..];
                }
                None => {
                    out.push('$');
                    rest = &tail[1..];
                }
            }
        }
        out.push_str(rest);
        out
    }

    fn download(&mut self, inst: &Instruction, url: &str, checksum: Option<&str>) -> Result<PathBuf> {
        let resp = ureq::get(url).call().map_err(|e| at(inst, format_args!("download {url}: {e}")))?;
        let path = self.tmp.path().join(format!("download-{}", self.step));
        let mut f = fs::File::create(&path).ctx(|| format!("create {}", path.display()))?;
        let mut h = crate::storage::compress::HashingReader::new(resp.into_reader());
        std::io::copy(&mut h, &mut f).map_err(|e| at(inst, format_args!("download {url}: {e}")))?;
        let (digest, _) = h.finish().ctx(|| "download".into())?;
        if let Some(want) = checksum {
            if want != digest {
                return Err(at(inst, format_args!("checksum of {url} is {digest}, not {want}")));
            }
        }
        Ok(path)
    }
}
