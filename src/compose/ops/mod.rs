//! compose's verbs over the engine: a loaded [`Project`] made real as
//! networks, volumes, images and containers, as `docker compose` v2 does
//! it, through the same engine calls as the CLI (a service becomes a
//! `ContainerSpec`, never a command line). No daemon keeps the project:
//! its state is the containers' compose labels, read back on every call,
//! and what keeps it alive afterwards is each container's monitor.
//!
//! Progress goes to the caller as [`Event`]s (the CLI prints compose's
//! ` Container proj-web-1  Started` lines); results come back typed.

mod down;
mod images;
mod lifecycle;
mod resources;
mod spec;
mod up;

use std::collections::{BTreeMap, BTreeSet};

use super::{Project, Service};
use crate::container::{Container, Status};
use crate::engine::Engine;
use crate::error::{Error, Result};

pub use down::{down, DownOptions, RemoveImages};
pub use images::{build, pull, push, BuildRequest};
pub use lifecycle::{kill, pause, remove, restart, start, stop, unpause};
pub use spec::{one_off_name, service_spec};
pub use up::{create, create_planned, prepare_run, up, wait_healthy, Recreate, UpOptions};

/// compose v2's labels (`api.*Label` in compose's source).
pub mod labels {
    pub const PROJECT: &str = "com.docker.compose.project";
    pub const SERVICE: &str = "com.docker.compose.service";
    pub const NUMBER: &str = "com.docker.compose.container-number";
    pub const ONEOFF: &str = "com.docker.compose.oneoff";
    pub const WORKING_DIR: &str = "com.docker.compose.project.working_dir";
    pub const CONFIG_FILES: &str = "com.docker.compose.project.config_files";
    pub const CONFIG_HASH: &str = "com.docker.compose.config-hash";
    pub const DEPENDS_ON: &str = "com.docker.compose.depends_on";
    pub const IMAGE: &str = "com.docker.compose.image";
    pub const VERSION: &str = "com.docker.compose.version";
    pub const NETWORK: &str = "com.docker.compose.network";
    pub const VOLUME: &str = "com.docker.compose.volume";
}

/// The compose version rcon's compose follows (its flags, output and
/// labels); `compose version` and the labels say it.
pub const COMPOSE_VERSION: &str = "2.32.4";

/// What a step did to an object, for the caller to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// `Network`, `Volume`, `Container`, `Image`, `Service`.
    pub kind: &'static str,
    pub name: String,
    /// compose's words: Creating, Created, Starting, Started, Waiting,
    /// Healthy, Exited, Recreate, Recreated, Running, Stopping, Stopped,
    /// Removing, Removed, Pulling, Pulled, Building, Built, Killing,
    /// Killed, Restarting, Restarted, Pausing, Paused, Unpausing, Unpaused,
    /// Warning, Error.
    pub status: &'static str,
    /// More text after the status (an error's reason).
    pub detail: Option<String>,
}

impl Event {
    pub fn new(kind: &'static str, name: impl Into<String>, status: &'static str) -> Event {
        Event { kind, name: name.into(), status, detail: None }
    }
}

/// A project and where its progress goes.
pub struct Ctx<'a> {
    pub engine: &'a Engine,
    pub project: &'a Project,
    pub events: &'a (dyn Fn(Event) + Sync),
}

impl Ctx<'_> {
    fn emit(&self, kind: &'static str, name: &str, status: &'static str) {
        (self.events)(Event::new(kind, name, status));
    }

    /// The project's containers (service ones; `oneoff`: also `run`'s).
    pub fn containers(&self, oneoff: bool) -> Result<Vec<Container>> {
        project_containers(self.engine, &self.project.name, oneoff)
    }

    pub fn service(&self, name: &str) -> Result<&Service> {
        self.project.services.get(name).ok_or_else(|| Error::InvalidArgument(format!("no such service: {name}")))
    }
}

/// Every container labelled with project `name`, oldest first.
pub fn project_containers(engine: &Engine, name: &str, oneoff: bool) -> Result<Vec<Container>> {
    use crate::engine::ps::{Filter, ListOptions};
    let filters = vec![Filter::Label { key: labels::PROJECT.into(), value: Some(name.into()) }];
    let mut list = crate::engine::ps::list(engine, &ListOptions { all: true, filters, last: None, latest: false })?;
    if !oneoff {
        list.retain(|c| !is_oneoff(c));
    }
    list.sort_by(|a, b| a.config.created.cmp(&b.config.created));
    Ok(list)
}

pub fn label<'c>(c: &'c Container, key: &str) -> &'c str {
    c.config.labels.get(key).and_then(|v| v.as_str()).unwrap_or("")
}

pub fn is_oneoff(c: &Container) -> bool {
    label(c, labels::ONEOFF).eq_ignore_ascii_case("true")
}

pub fn number(c: &Container) -> u32 {
    label(c, labels::NUMBER).parse().unwrap_or(0)
}

pub fn is_running(c: &Container) -> bool {
    matches!(c.state.status, Status::Running | Status::Restarting | Status::Paused)
}

/// Services in start order: each after what it depends on (names sorted
/// within a level, so the order is stable). The loader refused cycles.
pub fn start_order(p: &Project, only: &BTreeSet<String>) -> Vec<String> {
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut order = Vec::new();
    while order.len() < only.len() {
        let ready: Vec<String> = only
            .iter()
            .filter(|s| !done.contains(*s))
            .filter(|s| {
                p.services.get(*s).is_none_or(|svc| {
                    svc.depends_on.keys().all(|d| done.contains(d) || !only.contains(d))
                        && svc.links.iter().all(|l| {
                            let d = l.split(':').next().unwrap_or(l);
                            done.contains(d) || !only.contains(d)
                        })
                })
            })
            .cloned()
            .collect();
        if ready.is_empty() {
            // A cycle the loader would have refused: keep the rest sorted.
            order.extend(only.iter().filter(|s| !done.contains(*s)).cloned());
            break;
        }
        for s in ready {
            done.insert(s.clone());
            order.push(s);
        }
    }
    order
}

/// The services `targets` name (all when empty) and, unless `no_deps`,
/// everything they depend on.
pub fn selection(p: &Project, targets: &[String], no_deps: bool) -> Result<BTreeSet<String>> {
    for t in targets {
        if !p.services.contains_key(t) {
            return Err(Error::InvalidArgument(format!("no such service: {t}")));
        }
    }
    if targets.is_empty() {
        return Ok(p.services.keys().cloned().collect());
    }
    let mut out: BTreeSet<String> = targets.iter().cloned().collect();
    if no_deps {
        return Ok(out);
    }
    let mut todo: Vec<String> = targets.to_vec();
    while let Some(s) = todo.pop() {
        if let Some(svc) = p.services.get(&s) {
            for d in svc.depends_on.keys().filter(|d| p.services.contains_key(*d)) {
                if out.insert(d.clone()) {
                    todo.push(d.clone());
                }
            }
        }
    }
    Ok(out)
}

/// The project's containers grouped by service, each group by number.
pub fn by_service(list: Vec<Container>) -> BTreeMap<String, Vec<Container>> {
    let mut m: BTreeMap<String, Vec<Container>> = BTreeMap::new();
    for c in list {
        m.entry(label(&c, labels::SERVICE).to_string()).or_default().push(c);
    }
    for v in m.values_mut() {
        v.sort_by_key(number);
    }
    m
}

/// Run `f` for each item on its own thread (compose works on the
/// containers of a step in parallel); the first error, after all ran.
fn parallel<T: Sync>(items: &[T], f: impl Fn(&T) -> Result<()> + Sync) -> Result<()> {
    if items.len() <= 1 {
        return items.iter().try_for_each(&f);
    }
    let results: Vec<Result<()>> = std::thread::scope(|s| {
        let handles: Vec<_> = items.iter().map(|i| s.spawn(|| f(i))).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(Error::Other("a worker panicked".into()))))
            .collect()
    });
    results.into_iter().collect()
}
