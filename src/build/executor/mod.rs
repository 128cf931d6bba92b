//! Running a parsed Dockerfile the way Docker's classic builder does: the
//! stages the target needs, in order; one image per step (untagged, its
//! parent the previous step's image), each carrying the step's cache key, so
//! the next build (any build in this store) reuses it; RUN in a real
//! container from the runtime (`run.rs`); COPY/ADD as a tarball planned from
//! the sources (`copy.rs`). Output is the classic builder's `Step N/M : …` /
//! ` ---> id`. Here: the stage loop, the metadata steps, and the cache and
//! commit of every step.

mod copy;
mod run;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use super::cache;
use super::context::SourceRoot;
use super::layer::{self, Plan};
use super::parser::{Cmd, Command, Dockerfile, Health, Instruction};
use super::shell;
use crate::container::spec::ContainerSpec;
use crate::error::{Error, IoContext, Result};
use crate::image::changes;
use crate::image::config::{host_arch, ContainerConfig, History, ImageConfig};
use crate::image::store::{short_id, ImageRecord, Store};
use crate::monitor::client::{MonitorHandle, StartOptions};
use crate::registry::progress::Progress;
use crate::state::TempDir;
use crate::storage::userns::IdMap;

/// Build arguments Docker lets through without an ARG instruction.
const PREDEFINED_ARGS: &[&str] = &[
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
];

#[derive(Debug, Default)]
pub struct Options {
    pub build_args: BTreeMap<String, String>,
    pub target: Option<String>,
    pub no_cache: bool,
    pub labels: Vec<(String, String)>,
    pub network: Option<String>,
    pub quiet: bool,
    /// `--pull`: pull FROM images even when the store has them.
    pub pull: bool,
    /// `--secret`: for RUN --mount=type=secret.
    pub secrets: Secrets,
    /// `--ssh`: agent sockets by id, for RUN --mount=type=ssh.
    pub ssh: BTreeMap<String, PathBuf>,
    /// Where pulls of FROM and COPY --from images report.
    pub pull_progress: std::sync::Arc<crate::registry::progress::Progress>,
}

/// Secret values by id. Debug shows only the ids, so a value never reaches
/// a log or an error message.
#[derive(Default, Clone)]
pub struct Secrets(pub BTreeMap<String, Vec<u8>>);

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

/// The state of the stage being built.
struct State {
    /// The image of the last step; None only for `FROM scratch` before any step.
    parent: Option<String>,
    config: ImageConfig,
    size: u64,
    /// ARGs declared in this stage, with their values.
    args: Vec<(String, Option<String>)>,
    /// A CMD was set in this stage (an ENTRYPOINT then keeps it).
    cmd_set: bool,
}

impl State {
    fn cc(&mut self) -> &mut ContainerConfig {
        self.config.config.get_or_insert_with(ContainerConfig::default)
    }

    fn env_value(&self, k: &str) -> Option<String> {
        let env = self.config.config.as_ref().and_then(|c| c.env.as_ref());
        if let Some(v) = env.and_then(|e| e.iter().find_map(|e| e.strip_prefix(k)?.strip_prefix('='))) {
            return Some(v.to_string());
        }
        self.args.iter().rev().find(|(n, _)| n == k).and_then(|(_, v)| v.clone())
    }

    fn shell(&self) -> Vec<String> {
        self.config.config.as_ref().and_then(|c| c.shell.clone()).unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()])
    }

    fn workdir(&self) -> String {
        self.config.config.as_ref().map(|c| c.working_dir.clone()).filter(|w| !w.is_empty()).unwrap_or("/".into())
    }

    /// Docker's predefined proxy args given with --build-arg and not
    /// declared in this stage: RUN sees them, but they stay out of its cache
    /// key and history (moby's "transparent" built-in args).
    fn proxy_env(&self, build_args: &BTreeMap<String, String>) -> Vec<String> {
        PREDEFINED_ARGS
            .iter()
            .filter(|k| !self.args.iter().any(|(n, _)| n == *k))
            .filter_map(|k| build_args.get(*k).map(|v| format!("{k}={v}")))
            .collect()
    }

    /// Declared ARGs with values, sorted: what RUN sees and its cache key holds.
    fn arg_env(&self) -> Vec<String> {
        let mut m = BTreeMap::new();
        for (k, v) in &self.args {
            if let Some(v) = v {
                m.insert(k.clone(), v.clone());
            }
        }
        m.into_iter().map(|(k, v)| format!("{k}={v}")).collect()
    }
}

/// What a build needs from the engine above it. The build sits below the
/// engine, yet a RUN step is a container the engine creates and starts and
/// a FROM an image it may pull: the engine hands itself in as this (and a
/// test could hand in something else).
pub trait Host {
    fn paths(&self) -> &crate::paths::Paths;
    fn store(&self) -> Result<&Store>;
    /// The image `reference`, pulled when missing (always, with `pull`).
    fn image(&self, reference: &str, pull: bool, progress: &std::sync::Arc<Progress>) -> Result<ImageRecord>;
    fn create(&self, spec: &ContainerSpec) -> Result<String>;
    fn start(&self, id: &str, o: StartOptions) -> Result<MonitorHandle>;
    /// The recorded exit code of a container whose monitor went away.
    fn exit_code(&self, id: &str) -> Option<i32>;
    fn remove(&self, id: &str) -> Result<()>;
}

pub struct Executor<'a> {
    engine: &'a dyn Host,
    store: &'a Store,
    df: &'a Dockerfile,
    /// None: the Dockerfile came from stdin without a context.
    context: Option<SourceRoot>,
    opts: &'a Options,
    out: &'a mut dyn Write,
    tmp: TempDir,
    step: usize,
    total: usize,
    used_args: HashSet<String>,
    meta_env: HashMap<String, String>,
    /// Built stages: their image (None: scratch with no step).
    results: HashMap<usize, Option<String>>,
    /// Flattened root file systems of images used by `COPY --from`.
    flattened: HashMap<String, PathBuf>,
    idmap: Option<IdMap>,
}

fn at(inst: &Instruction, msg: impl std::fmt::Display) -> Error {
    Error::Build(format!("Dockerfile:{}: {} failed: {msg}", inst.line, inst.cmd.name()))
}

impl<'a> Executor<'a> {
    pub fn new(
        engine: &'a dyn Host,
        df: &'a Dockerfile,
        context: Option<SourceRoot>,
        opts: &'a Options,
        out: &'a mut dyn Write,
    ) -> Result<Executor<'a>> {
        let store = engine.store()?;
        let tmp = TempDir::new(&store.root().join("tmp"), "build")?;
        let idmap = engine.paths().rootless.then(IdMap::for_current_user);
        Ok(Executor {
            engine,
            store,
            df,
            context,
            opts,
            out,
            tmp,
            step: 0,
            total: 0,
            used_args: HashSet::new(),
            meta_env: HashMap::new(),
            results: HashMap::new(),
            flattened: HashMap::new(),
            idmap,
        })
    }

    fn say(&mut self, s: &str) {
        let _ = writeln!(self.out, "{s}");
        let _ = self.out.flush();
    }

    fn word(&self, st: &State, inst: &Instruction, raw: &str) -> Result<String> {
        shell::word(raw, self.df.escape, &|k| st.env_value(k))
            .map_err(|e| at(inst, format_args!("column {}: {}", e.col + 1, e.msg)))
    }

    fn meta_word(&self, raw: &str, line: usize) -> Result<String> {
        shell::word(raw, self.df.escape, &|k| self.meta_env.get(k).cloned())
            .map_err(|e| Error::Build(format!("Dockerfile:{line}: {}", e.msg)))
    }

    /// Build; the image id of the target stage.
    pub fn run(mut self) -> Result<String> {
        // BuildKit's automatic platform ARGs, in the global scope (FROM) at
        // once and in a stage after `ARG NAME`; both platforms are the host's.
        let variant = host_variant();
        let platform = match variant {
            "" => format!("linux/{}", host_arch()),
            v => format!("linux/{}/{v}", host_arch()),
        };
        for p in ["BUILD", "TARGET"] {
            self.meta_env.insert(format!("{p}PLATFORM"), platform.clone());
            self.meta_env.insert(format!("{p}OS"), "linux".into());
            self.meta_env.insert(format!("{p}ARCH"), host_arch().into());
            self.meta_env.insert(format!("{p}VARIANT"), variant.into());
        }
        for inst in &self.df.meta_args {
            if let Cmd::Arg(list) = &inst.cmd {
                for (k, v) in list {
                    let val = match self.opts.build_args.get(k) {
                        Some(v) => Some(v.clone()),
                        None => match v {
                            Some(raw) => Some(self.meta_word(raw, inst.line)?),
                            None => None,
                        },
                    };
                    if self.opts.build_args.contains_key(k) {
                        self.used_args.insert(k.clone());
                    }
                    if let Some(val) = val {
                        self.meta_env.insert(k.clone(), val);
                    }
                }
            }
        }
        let bases: Vec<String> =
            self.df.stages.iter().map(|s| self.meta_word(&s.base, s.from.line)).collect::<Result<_>>()?;
        let target = match &self.opts.target {
            Some(t) => {
                let t = t.to_ascii_lowercase();
                self.df
                    .stages
                    .iter()
                    .position(|s| s.name.as_deref() == Some(&t))
                    .ok_or_else(|| Error::Build(format!("target stage \"{t}\" could not be found")))?
            }
            None => self.df.stages.len() - 1,
        };
        let needed = self.needed(target, &bases)?;
        self.total = needed.iter().map(|&i| 1 + self.df.stages[i].instructions.len()).sum();
        for &i in &needed {
            let id = self.stage(i, &bases[i], i == target)?;
            self.results.insert(i, id);
        }
        let unused: Vec<&String> = self
            .opts
            .build_args
            .keys()
            .filter(|k| !self.used_args.contains(*k) && !PREDEFINED_ARGS.contains(&k.as_str()))
            .collect();
        if !unused.is_empty() {
            let list = unused.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ");
            self.say(&format!("[Warning] One or more build-args [{list}] were not consumed"));
        }
        match self.results.get(&target).cloned().flatten() {
            Some(id) => Ok(id),
            None => Err(Error::Build("no image was generated: is your Dockerfile empty?".into())),
        }
    }

    /// A stage name or index in FROM / --from, if it is one.
    fn stage_ref(&self, name: &str, before: usize) -> Option<usize> {
        let lower = name.to_ascii_lowercase();
        if let Some(i) = self.df.stages[..before].iter().position(|s| s.name.as_deref() == Some(&lower)) {
            return Some(i);
        }
        name.parse::<usize>().ok().filter(|&i| i < before)
    }

    /// The stages `target` depends on (and itself), in file order.
    fn needed(&self, target: usize, bases: &[String]) -> Result<Vec<usize>> {
        let mut seen = HashSet::new();
        let mut todo = vec![target];
        while let Some(i) = todo.pop() {
            if !seen.insert(i) {
                continue;
            }
            if let Some(d) = self.stage_ref(&bases[i], i) {
                todo.push(d);
            }
            for inst in &self.df.stages[i].instructions {
                let froms: Vec<&String> = match &inst.cmd {
                    Cmd::Copy(a) | Cmd::Add(a) => a.from.iter().collect(),
                    Cmd::Run { mounts, .. } => mounts.iter().filter_map(|m| m.from.as_ref()).collect(),
                    _ => Vec::new(),
                };
                for f in froms {
                    let f = self.meta_word(f, inst.line)?;
                    if let Some(d) = self.stage_ref(&f, i) {
                        todo.push(d);
                    } else if self.df.stages.iter().any(|s| s.name.as_deref() == Some(&f.to_ascii_lowercase())) {
                        return Err(at(
                            inst,
                            format_args!("stage {f:?} is defined later: --from can only use earlier stages"),
                        ));
                    }
                }
            }
        }
        let mut v: Vec<usize> = seen.into_iter().collect();
        v.sort();
        Ok(v)
    }

    fn step_line(&mut self, inst: &Instruction) {
        self.step += 1;
        let s = format!("Step {}/{} : {}", self.step, self.total, inst.text);
        self.say(&s);
    }

    fn stage(&mut self, i: usize, base: &str, is_target: bool) -> Result<Option<String>> {
        let stage = &self.df.stages[i];
        self.step_line(&stage.from);
        if let Some(p) = &stage.platform {
            let p = self.meta_word(p, stage.from.line)?;
            check_platform(&p).map_err(|m| at(&stage.from, m))?;
        }
        let mut st = match self.stage_ref(base, i) {
            Some(d) => match self.results.get(&d).cloned().flatten() {
                Some(id) => self.state_from(&id)?,
                None => scratch(),
            },
            None if base.eq_ignore_ascii_case("scratch") => scratch(),
            None => {
                let rec = self
                    .engine
                    .image(base, self.opts.pull, &self.opts.pull_progress)
                    .map_err(|e| at(&stage.from, e))?;
                self.state_from(&rec.id)?
            }
        };
        match &st.parent {
            Some(id) => self.say(&format!(" ---> {}", short_id(id))),
            None => self.say(" ---> scratch"),
        }
        // ONBUILD triggers of the base run now, and are not inherited.
        let triggers = st.config.config.as_mut().and_then(|c| c.on_build.take()).unwrap_or_default();
        if !triggers.is_empty() {
            let n = triggers.len();
            self.say(&format!("# Executing {n} build trigger{}", if n == 1 { "" } else { "s" }));
            for t in &triggers {
                let mut inst = super::parser::trigger(t, self.df.escape)
                    .map_err(|e| at(&stage.from, format_args!("ONBUILD trigger {t:?}: {}", e.msg)))?;
                inst.line = stage.from.line;
                self.exec(&mut st, &inst, i)?;
            }
        }
        for inst in &stage.instructions {
            self.step_line(inst);
            self.exec(&mut st, inst, i)?;
        }
        if is_target && !self.opts.labels.is_empty() {
            let pairs: Vec<String> = self.opts.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            for (k, v) in &self.opts.labels {
                st.cc().labels.get_or_insert_with(Map::new).insert(k.clone(), Value::String(v.clone()));
            }
            self.finish_meta(&mut st, format!("LABEL {}", pairs.join(" ")))?;
        }
        Ok(st.parent)
    }

    fn state_from(&self, id: &str) -> Result<State> {
        let rec = self.store.resolve(id)?;
        let config = self.store.config(&rec)?;
        Ok(State { parent: Some(rec.id.clone()), config, size: rec.size, args: Vec::new(), cmd_set: false })
    }

    fn exec(&mut self, st: &mut State, inst: &Instruction, stage: usize) -> Result<()> {
        match &inst.cmd {
            Cmd::From => unreachable!("FROM starts a stage"),
            Cmd::Arg(list) => {
                for (k, default) in list {
                    let val = if let Some(v) = self.opts.build_args.get(k) {
                        self.used_args.insert(k.clone());
                        Some(v.clone())
                    } else if let Some(raw) = default {
                        Some(self.word(st, inst, raw)?)
                    } else {
                        self.meta_env.get(k).cloned()
                    };
                    st.args.retain(|(n, _)| n != k);
                    st.args.push((k.clone(), val));
                }
                let text = list
                    .iter()
                    .map(|(k, _)| match st.args.iter().find(|(n, _)| n == k).and_then(|(_, v)| v.as_ref()) {
                        Some(v) => format!("{k}={v}"),
                        None => k.clone(),
                    })
                    .collect::<Vec<_>>()
                    .join(" ");
                self.meta(st, format!("ARG {text}"), |_| Ok(()))
            }
            Cmd::Env(pairs) | Cmd::Label(pairs) => {
                let is_env = matches!(inst.cmd, Cmd::Env(_));
                // Every pair sees the values from before this instruction.
                let mut done = Vec::new();
                for (k, v) in pairs {
                    done.push((self.word(st, inst, k)?, self.word(st, inst, v)?));
                }
                let text = done.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ");
                self.meta(st, format!("{} {text}", inst.cmd.name()), |cc| {
                    for (k, v) in &done {
                        if is_env {
                            let env = cc.env.get_or_insert_with(Vec::new);
                            match env.iter_mut().find(|e| e.split_once('=').map(|p| p.0) == Some(k.as_str())) {
                                Some(e) => *e = format!("{k}={v}"),
                                None => env.push(format!("{k}={v}")),
                            }
                        } else {
                            cc.labels.get_or_insert_with(Map::new).insert(k.clone(), Value::String(v.clone()));
                        }
                    }
                    Ok(())
                })
            }
            Cmd::Maintainer(m) => {
                st.config.author = Some(m.clone());
                self.meta(st, format!("MAINTAINER {m}"), |_| Ok(()))
            }
            Cmd::Expose(raw) | Cmd::User(raw) | Cmd::StopSignal(raw) => {
                let name = inst.cmd.name();
                let v = if matches!(inst.cmd, Cmd::Expose(_)) {
                    shell::words(raw, self.df.escape, &|k| st.env_value(k)).map_err(|e| at(inst, e.msg))?.join(" ")
                } else {
                    self.word(st, inst, raw)?
                };
                if matches!(inst.cmd, Cmd::StopSignal(_)) {
                    crate::util::signal_number(&v).map_err(|e| at(inst, e))?;
                }
                let change = format!("{name} {v}");
                self.meta(st, change.clone(), |cc| changes::apply(cc, &change)).map_err(|e| {
                    if matches!(e, Error::InvalidArgument(_)) {
                        at(inst, e)
                    } else {
                        e
                    }
                })
            }
            Cmd::Volume(list) => {
                let vols: Vec<String> = list.iter().map(|v| self.word(st, inst, v)).collect::<Result<_>>()?;
                let change = format!("VOLUME {}", serde_json::to_string(&vols).expect("json"));
                self.meta(st, format!("VOLUME {}", go_list(&vols)), |cc| changes::apply(cc, &change))
            }
            Cmd::Onbuild(t) => {
                let t = t.clone();
                self.meta(st, format!("ONBUILD {t}"), |cc| {
                    cc.on_build.get_or_insert_with(Vec::new).push(t.clone());
                    Ok(())
                })
            }
            Cmd::Shell(v) => {
                let v = v.clone();
                self.meta(st, format!("SHELL {}", go_list(&v)), |cc| {
                    cc.shell = Some(v.clone());
                    Ok(())
                })
            }
            Cmd::Cmd(c) => {
                let argv = self.argv(st, c);
                st.cmd_set = true;
                self.meta(st, format!("CMD {}", go_list(&argv)), |cc| {
                    cc.cmd = Some(argv.clone());
                    Ok(())
                })
            }
            Cmd::Entrypoint(c) => {
                let argv = self.argv(st, c);
                let keep_cmd = st.cmd_set;
                self.meta(st, format!("ENTRYPOINT {}", go_list(&argv)), |cc| {
                    cc.entrypoint = Some(argv.clone());
                    // Docker: an ENTRYPOINT resets a CMD inherited from the base.
                    if !keep_cmd {
                        cc.cmd = None;
                    }
                    Ok(())
                })
            }
            Cmd::Healthcheck(h) => {
                let v = self.health(st, h.as_ref());
                let text = format!("HEALTHCHECK {}", serde_json::to_string(&v).expect("json"));
                self.meta(st, text, |cc| {
                    cc.healthcheck = Some(v.clone());
                    Ok(())
                })
            }
            Cmd::Workdir(raw) => {
                let w = self.word(st, inst, raw)?;
                let dir = if w.starts_with('/') { w } else { format!("{}/{w}", st.workdir()) };
                let dir = format!("/{}", super::context::clean(&dir).join("/"));
                let rel = dir.trim_start_matches('/').to_string();
                if !rel.is_empty() && layer::lookup(&self.layer_dirs(st), &rel).is_none() {
                    // Docker creates a missing WORKDIR (root-owned, 0755).
                    let mut plan = Plan::default();
                    self.parents(st, &mut plan, &rel);
                    let key = format!("WORKDIR {dir}");
                    st.cc().working_dir = dir.clone();
                    return self.layer_step(st, &key, format!("/bin/sh -c #(nop) WORKDIR {dir}"), |_, out| {
                        plan.write_tar(out).ctx(|| format!("write {}", out.display()))
                    });
                }
                self.meta(st, format!("WORKDIR {dir}"), |cc| {
                    cc.working_dir = dir.clone();
                    Ok(())
                })
            }
            Cmd::Run { .. } => self.run_step(st, inst, stage),
            Cmd::Copy(a) | Cmd::Add(a) => self.copy(st, inst, a, matches!(inst.cmd, Cmd::Add(_)), stage),
        }
    }

    /// Exec form as is; shell form through the SHELL.
    fn argv(&self, st: &State, c: &Command) -> Vec<String> {
        match c {
            Command::Exec(v) => v.clone(),
            Command::Shell(s) => {
                let mut v = st.shell();
                v.push(s.clone());
                v
            }
        }
    }

    fn health(&self, st: &State, h: Option<&Health>) -> Value {
        let Some(h) = h else { return json!({"Test": ["NONE"]}) };
        let test: Vec<String> = match &h.test {
            Command::Exec(v) => std::iter::once("CMD".to_string()).chain(v.iter().cloned()).collect(),
            Command::Shell(s) => vec!["CMD-SHELL".into(), s.clone()],
        };
        let _ = st;
        let mut m = Map::new();
        m.insert("Test".into(), json!(test));
        for (k, v) in [
            ("Interval", h.interval),
            ("Timeout", h.timeout),
            ("StartPeriod", h.start_period),
            ("StartInterval", h.start_interval),
            ("Retries", h.retries),
        ] {
            if let Some(v) = v {
                m.insert(k.into(), json!(v));
            }
        }
        Value::Object(m)
    }

    /// A metadata step: change the config, commit an image with no layer.
    fn meta(&mut self, st: &mut State, text: String, f: impl FnOnce(&mut ContainerConfig) -> Result<()>) -> Result<()> {
        let key = cache::key(st.parent.as_deref(), &text);
        if let Some(rec) = self.cached(st.parent.as_deref(), &key) {
            return self.use_cache(st, rec);
        }
        f(st.cc())?;
        self.commit(st, format!("/bin/sh -c #(nop)  {text}"), None, key)
    }

    fn finish_meta(&mut self, st: &mut State, text: String) -> Result<()> {
        let key = cache::key(st.parent.as_deref(), &text);
        if let Some(rec) = self.cached(st.parent.as_deref(), &key) {
            return self.use_cache(st, rec);
        }
        self.commit(st, format!("/bin/sh -c #(nop)  {text}"), None, key)
    }

    /// A step that makes a layer: `make` writes its tarball on a cache miss.
    fn layer_step(
        &mut self,
        st: &mut State,
        key_text: &str,
        created_by: String,
        make: impl FnOnce(&mut Self, &Path) -> Result<()>,
    ) -> Result<()> {
        let key = cache::key(st.parent.as_deref(), key_text);
        if let Some(rec) = self.cached(st.parent.as_deref(), &key) {
            return self.use_cache(st, rec);
        }
        let tar = self.tmp.path().join(format!("layer-{}.tar", self.step));
        make(self, &tar)?;
        self.commit(st, created_by, Some(tar), key)
    }

    fn cached(&self, parent: Option<&str>, key: &str) -> Option<ImageRecord> {
        if self.opts.no_cache {
            return None;
        }
        cache::lookup(self.store, parent, key)
    }

    fn use_cache(&mut self, st: &mut State, rec: ImageRecord) -> Result<()> {
        self.say(" ---> Using cache");
        self.say(&format!(" ---> {}", rec.short_id()));
        let cmd_set = st.cmd_set;
        let args = std::mem::take(&mut st.args);
        *st = self.state_from(&rec.id)?;
        st.args = args;
        st.cmd_set = cmd_set;
        Ok(())
    }

    /// Store the step's image (and layer): the next step's parent.
    fn commit(&mut self, st: &mut State, created_by: String, tar: Option<PathBuf>, key: String) -> Result<()> {
        let history = History { created_by: Some(created_by), ..Default::default() };
        let done = super::commit::store_image(
            self.store,
            super::commit::NewStep {
                config: st.config.clone(),
                history,
                parent: st.parent.clone(),
                base_size: st.size,
                tar,
                build_cache: Some(key),
                tags: Vec::new(),
            },
        )?;
        self.say(&format!(" ---> {}", short_id(&done.id)));
        st.parent = Some(done.id);
        st.config = done.config;
        st.size = done.size;
        Ok(())
    }

    /// The extracted layer directories of the current image, topmost first.
    fn layer_dirs(&self, st: &State) -> Vec<PathBuf> {
        st.config.rootfs.diff_ids.iter().rev().map(|d| self.store.layer_dir(d).join("diff")).collect()
    }

    /// Directory entries for `rel` and its ancestors, keeping the metadata
    /// the image gives those that exist.
    fn parents(&self, st: &State, plan: &mut Plan, rel: &str) {
        layer::parents(plan, &self.layer_dirs(st), self.idmap.as_ref(), rel);
    }
}

fn scratch() -> State {
    State {
        parent: None,
        config: ImageConfig {
            architecture: host_arch().into(),
            os: "linux".into(),
            config: Some(ContainerConfig::default()),
            ..Default::default()
        },
        size: 0,
        args: Vec::new(),
        cmd_set: false,
    }
}

/// The variant part of the host's platform, as containerd normalises it
/// (arm64's v8 is dropped, 32-bit arm is v7 here).
fn host_variant() -> &'static str {
    match host_arch() {
        "arm" => "v7",
        _ => "",
    }
}

/// Go's `%v` of a string slice, as Docker's history shows CMD and friends.
fn go_list(v: &[String]) -> String {
    format!("[{}]", v.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(" "))
}

/// Only the host's own platform can be built (no emulation).
pub fn check_platform(p: &str) -> std::result::Result<(), String> {
    let host = format!("linux/{}", host_arch());
    let norm = p.trim_end_matches('/');
    if norm.is_empty() || norm == host || norm == "linux" || norm.starts_with(&format!("{host}/")) {
        return Ok(());
    }
    Err(format!("platform {p} is not supported: rcon builds for the host platform ({host}) only"))
}
