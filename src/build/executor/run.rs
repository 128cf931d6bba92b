//! The RUN step: the container's spec (with RUN --mount), running it
//! attached to the build's output, and the layer diffed from its upper dir.

use std::fs;
use std::path::{Path, PathBuf};

use super::{at, Executor, State};
use crate::build::context;
use crate::build::parser::{Cmd, Command, Instruction, RunMount};
use crate::container::spec::ContainerSpec;
use crate::container::Mount;
use crate::error::{Error, IoContext, Result};
use crate::image::store::hex_of;
use crate::monitor::client::{AttachTo, MonitorEvent, StartOptions};
use crate::storage::userns::{self, Request};

impl Executor<'_> {
    /// RUN: the command (exec form, or the SHELL with the script and its
    /// heredocs) in a container of the current image; its changes are the layer.
    pub(super) fn run_step(&mut self, st: &mut State, inst: &Instruction, stage: usize) -> Result<()> {
        let Cmd::Run { command, mounts, network, heredocs } = &inst.cmd else { unreachable!("a RUN instruction") };
        let argv = match command {
            Command::Exec(v) => v.clone(),
            Command::Shell(s) => {
                let script = match heredocs.as_slice() {
                    // `RUN <<EOF` alone: the heredoc is the script.
                    [h] if s.trim() == format!("<<{}", h.name) || s.trim() == format!("<<-{}", h.name) => {
                        h.content.clone()
                    }
                    [] => s.clone(),
                    hs => {
                        let mut full = format!("{s}\n");
                        for h in hs {
                            full.push_str(&h.content);
                            full.push_str(&h.name);
                            full.push('\n');
                        }
                        full
                    }
                };
                let mut v = st.shell();
                v.push(script);
                v
            }
        };
        if argv.is_empty() {
            return Err(at(inst, "empty command"));
        }
        let args = st.arg_env();
        let proxies = st.proxy_env(&self.opts.build_args);
        let created_by = if args.is_empty() {
            argv.join(" ")
        } else {
            format!("|{} {} {}", args.len(), args.join(" "), argv.join(" "))
        };
        let network = network.clone().or_else(|| self.opts.network.clone());
        let key = format!("RUN {created_by}\n{mounts:?}\n{network:?}");
        let mounts = mounts.clone();
        let parent = st.parent.clone().ok_or_else(|| {
            at(inst, "RUN needs a base image with a shell: this stage is FROM scratch with nothing in it")
        })?;
        let env = st.config.config.as_ref().and_then(|c| c.env.clone()).unwrap_or_default();
        let user = st.config.config.as_ref().map(|c| c.user.clone()).filter(|u| !u.is_empty());
        let workdir = st.workdir();
        let shown = argv.join(" ");
        let argv_run = argv;
        // Mount points the runtime will create that the image does not
        // have: taken out of the layer again, as BuildKit does (a secret
        // leaves no empty /run/secrets/ID behind).
        let lower = self.layer_dirs(st);
        let mut stubs: Vec<String> = Vec::new();
        for m in &mounts {
            let rel = context::clean(&m.target);
            for n in 1..=rel.len() {
                let p = rel[..n].join("/");
                if !stubs.contains(&p) && !lower.iter().any(|l| fs::symlink_metadata(l.join(&p)).is_ok()) {
                    stubs.push(p);
                }
            }
        }
        self.layer_step(st, &key, created_by, |ex, out| {
            let mut o = ContainerSpec {
                image: parent.clone(),
                cmd: argv_run.clone(),
                entrypoint: Some(Vec::new()),
                env: args
                    .iter()
                    .chain(&proxies)
                    .filter(|a| !env.iter().any(|e| e.split('=').next() == a.split('=').next()))
                    .cloned()
                    .collect(),
                workdir: Some(workdir.clone()),
                user: user.clone(),
                network: network.clone().map(|n| if n == "default" { "bridge".into() } else { n }),
                ..Default::default()
            };
            ex.mounts(inst, &mounts, &mut o, stage)?;
            ex.run_container(inst, &o, &shown, &stubs, out)
        })
    }

    fn run_container(
        &mut self,
        inst: &Instruction,
        o: &ContainerSpec,
        shown: &str,
        stubs: &[String],
        out: &Path,
    ) -> Result<()> {
        let id = self.engine.create(o).map_err(|e| at(inst, e))?;
        self.say(&format!(" ---> Running in {}", &id[..12]));
        let result = self.wait_container(&id, shown);
        let result = result.and_then(|_| {
            let cs = crate::container::ContainerStore::open(self.engine.paths())?;
            let c = cs.load(&id)?;
            if c.config.driver == "vfs" {
                return Err(at(
                    inst,
                    "RUN needs the overlay or fuse-overlayfs storage driver (vfs keeps no separate layer of changes)",
                ));
            }
            let upper = cs.dir(&id).join("upper");
            // Deepest first, and only while empty: what RUN wrote there stays.
            for rel in stubs.iter().rev() {
                let p = upper.join(rel);
                match fs::symlink_metadata(&p) {
                    Ok(md) if md.is_dir() => {
                        let _ = fs::remove_dir(&p);
                    }
                    Ok(md) if md.is_file() && md.len() == 0 => {
                        let _ = fs::remove_file(&p);
                    }
                    _ => {}
                }
            }
            userns::run(Request::Diff { upper, out: out.to_path_buf() })?;
            Ok(())
        });
        let _ = self.engine.remove(&id);
        self.say(&format!("Removing intermediate container {}", &id[..12]));
        result
    }

    /// Start the RUN container attached to a pipe and copy what it writes
    /// (stdout and stderr, as Docker's build output carries both) to the
    /// build's output, or nowhere with `-q`, until it exits.
    fn wait_container(&mut self, id: &str, shown: &str) -> Result<()> {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        use std::os::fd::{AsFd, AsRawFd};
        let _ = self.out.flush();
        let pipe = |e| Error::Other(format!("pipe: {e}"));
        let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(pipe)?;
        let w2 = w.try_clone().map_err(|e| Error::io("pipe", e))?;
        let attach = AttachTo::Fds { stdin: None, stdout: w, stderr: w2 };
        let mut handle = self.engine.start(id, StartOptions { attach: Some(attach), detach_keys: None })?;
        let mut buf = vec![0u8; 64 * 1024];
        let mut copy = |this: &mut Self, block: bool| loop {
            let mut fds = [PollFd::new(r.as_fd(), PollFlags::POLLIN)];
            let timeout = if block { PollTimeout::NONE } else { PollTimeout::ZERO };
            if !matches!(poll(&mut fds, timeout), Ok(n) if n > 0) {
                return;
            }
            let n = unsafe { libc::read(r.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                return;
            }
            if !this.opts.quiet {
                let _ = this.out.write_all(&buf[..n as usize]).and_then(|_| this.out.flush());
            }
            if block {
                return;
            }
        };
        let code = loop {
            let mut fds = [
                PollFd::new(r.as_fd(), PollFlags::POLLIN),
                PollFd::new(unsafe { std::os::fd::BorrowedFd::borrow_raw(handle.raw_fd()) }, PollFlags::POLLIN),
            ];
            let _ = poll(&mut fds, PollTimeout::NONE);
            let (out_ready, event) = (fds[0].revents(), fds[1].revents());
            if out_ready.is_some_and(|e| !e.is_empty()) {
                copy(self, true);
            }
            if event.is_some_and(|e| !e.is_empty()) {
                // Everything the container wrote is in the pipe before the
                // monitor reports the exit.
                let code = match handle.next_event() {
                    MonitorEvent::Exit(c) => c,
                    _ => self.engine.exit_code(id).unwrap_or(125),
                };
                copy(self, false);
                break code;
            }
        };
        if code != 0 {
            return Err(Error::BuildRun {
                msg: format!("The command '{shown}' returned a non-zero code: {code}"),
                code,
            });
        }
        Ok(())
    }

    /// RUN --mount: cache dirs kept in the store, tmpfs, binds of the context.
    fn mounts(&mut self, inst: &Instruction, mounts: &[RunMount], o: &mut ContainerSpec, stage: usize) -> Result<()> {
        for m in mounts {
            match m.kind.as_str() {
                "cache" => {
                    let id = m.id.clone().unwrap_or_else(|| m.target.clone());
                    let dir = self
                        .store
                        .root()
                        .join("build-cache")
                        .join(hex_of(&crate::storage::compress::sha256_digest(id.as_bytes())));
                    crate::state::ensure_dir(&dir)?;
                    o.mounts.push(bind(&dir.display().to_string(), &m.target, false, false));
                }
                "tmpfs" => o.mounts.push(Mount {
                    kind: "tmpfs".into(),
                    source: "tmpfs".into(),
                    target: m.target.clone(),
                    ..Default::default()
                }),
                "bind" => {
                    let root = match &m.from {
                        Some(f) => {
                            let f = self.meta_word(f, inst.line)?;
                            self.root_of(inst, &f, stage)?
                        }
                        None => self
                            .context
                            .as_ref()
                            .map(|c| c.root.clone())
                            .ok_or_else(|| at(inst, "--mount=type=bind needs a build context"))?,
                    };
                    let src = root.join(context::clean(m.source.as_deref().unwrap_or("")).join("/"));
                    // --mount, not -v: the source may be a file, and must exist.
                    let ro = m.readonly || m.from.is_none();
                    o.mounts.push(bind(&src.display().to_string(), &m.target, ro, true));
                }
                "secret" => {
                    // Docker: the id defaults to the target's file name.
                    let id = m.id.clone().unwrap_or_else(|| m.target.rsplit('/').next().unwrap_or("").to_string());
                    let Some(value) = self.opts.secrets.0.get(&id) else {
                        if m.required {
                            return Err(at(
                                inst,
                                format_args!("secret {id} is required but was not given (--secret id={id},src=FILE)"),
                            ));
                        }
                        continue;
                    };
                    if let Some(var) = &m.env {
                        let v = std::str::from_utf8(value)
                            .map_err(|_| at(inst, format_args!("secret {id} is not UTF-8 text, so cannot be {var}")))?;
                        o.env.push(format!("{var}={v}"));
                    }
                    if !m.target.is_empty() {
                        let file = self.secret_file(inst, m, &id, value)?;
                        o.mounts.push(bind(&file.display().to_string(), &m.target, true, true));
                    }
                }
                "ssh" => {
                    let id = m.id.clone().unwrap_or_else(|| "default".into());
                    let Some(sock) = self.opts.ssh.get(&id) else {
                        if m.required {
                            return Err(at(
                                inst,
                                format_args!("ssh agent {id} is required but was not given (--ssh {id})"),
                            ));
                        }
                        continue;
                    };
                    // The agent's socket itself, as BuildKit forwards it, and
                    // SSH_AUTH_SOCK pointing at it.
                    o.mounts.push(bind(&sock.display().to_string(), &m.target, false, true));
                    o.env.push(format!("SSH_AUTH_SOCK={}", m.target));
                }
                k => return Err(at(inst, format_args!("--mount=type={k} is not supported by rcon build yet"))),
            }
        }
        Ok(())
    }

    /// A private copy of a secret for one RUN, bound read-only: the value is
    /// never in the container's layer, the cache key or the history, and the
    /// copy goes with the build's scratch directory.
    fn secret_file(&mut self, inst: &Instruction, m: &RunMount, id: &str, value: &[u8]) -> Result<PathBuf> {
        use std::os::unix::fs::PermissionsExt;
        let dir = self.tmp.path().join("secrets");
        fs::create_dir_all(&dir).ctx(|| format!("create {}", dir.display()))?;
        let path =
            dir.join(format!("{}-{}", self.step, hex_of(&crate::storage::compress::sha256_digest(id.as_bytes()))));
        let _ = fs::remove_file(&path);
        fs::write(&path, value).ctx(|| format!("write {}", path.display()))?;
        fs::set_permissions(&path, fs::Permissions::from_mode(m.mode.unwrap_or(0o400)))
            .ctx(|| format!("chmod {}", path.display()))?;
        let (uid, gid) = (m.uid.unwrap_or(0), m.gid.unwrap_or(0));
        if uid != 0 || gid != 0 {
            if self.idmap.is_some() {
                // The user cannot give a file to a subordinate id outside the helper.
                return Err(at(inst, "secret mounts with uid= or gid= other than 0 need rootful mode"));
            }
            std::os::unix::fs::chown(&path, Some(uid), Some(gid)).ctx(|| format!("chown {}", path.display()))?;
        }
        Ok(path)
    }
}

/// A bind mount for a RUN step; `must_exist`: as `--mount` (the source may
/// be a file, and is never created), else as `-v`.
fn bind(source: &str, target: &str, readonly: bool, must_exist: bool) -> Mount {
    let options = if must_exist { vec![crate::volume::FROM_MOUNT.to_string()] } else { Vec::new() };
    Mount { kind: "bind".into(), source: source.into(), target: target.into(), readonly, options }
}
