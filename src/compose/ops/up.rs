//! `up` and `create`: converge the project's containers on the files.
//! Service by service in dependency order, each container numbered 1..N
//! is kept (same config hash and image), recreated (either changed, or
//! `--force-recreate`), created (missing) or removed (scaled down); then
//! started once what it depends on is started, healthy or completed, as
//! its `depends_on` asks.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::images::{self, BuildRequest};
use super::{by_service, label, labels, number, parallel, resources, selection, start_order, Ctx, Event};
use crate::compose::Service;
use crate::container::{Container, Status};
use crate::engine::containers as eng;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Recreate {
    /// Containers whose configuration changed (compose's default).
    #[default]
    Diverged,
    /// `--force-recreate`.
    Force,
    /// `--no-recreate`.
    Never,
}

#[derive(Debug, Clone, Default)]
pub struct UpOptions {
    /// The services named on the command line (empty: all).
    pub services: Vec<String>,
    pub no_deps: bool,
    pub recreate: Recreate,
    pub remove_orphans: bool,
    /// `--scale SERVICE=N`.
    pub scale: BTreeMap<String, u64>,
    /// Seconds to wait for a container to stop before killing it.
    pub timeout: Option<i64>,
    /// `--wait`: return once every started container is running and
    /// healthy (for those with a healthcheck).
    pub wait: bool,
    pub wait_timeout: Option<Duration>,
}

/// `compose create`: networks, volumes, images and containers, nothing
/// started.
pub fn create(ctx: &Ctx, o: &UpOptions, images: &mut BuildRequest) -> Result<Vec<Container>> {
    converge(ctx, o, images, false)
}

/// `compose up`: everything `create` does, then the containers started in
/// dependency order. The containers of the selected services come back
/// (for an attached `up` to follow).
pub fn up(ctx: &Ctx, o: &UpOptions, images: &mut BuildRequest) -> Result<Vec<Container>> {
    let out = converge(ctx, o, images, true)?;
    if o.wait {
        wait_healthy(ctx, &out, o.wait_timeout)?;
    }
    Ok(out)
}

fn converge(ctx: &Ctx, o: &UpOptions, imgs: &mut BuildRequest, start: bool) -> Result<Vec<Container>> {
    let p = ctx.project;
    for s in o.scale.keys() {
        ctx.service(s)?;
    }
    let sel = selection(p, &o.services, o.no_deps)?;
    let order = start_order(p, &sel);
    // Images first, as compose does: a pull or build that fails leaves
    // nothing created.
    let ids = images::ensure(ctx, &order, imgs)?;
    orphans(ctx, o)?;
    let nets = resources::ensure_networks(ctx, &resources::used_networks(ctx, &sel))?;
    let vols = match resources::ensure_volumes(ctx, &resources::used_volumes(ctx, &sel)) {
        Ok(v) => v,
        Err(e) => {
            resources::undo(ctx, &nets, &[]);
            return Err(e);
        }
    };
    let before: BTreeSet<String> = ctx.containers(false)?.into_iter().map(|c| c.config.id).collect();
    let result = converge_services(ctx, o, &ids, &sel, &order, start);
    // Bad input found on the way (a port, a mount, a name): what this call
    // created goes, so that nothing is left half made. A container that
    // failed at run time stays, for its logs, as compose leaves it.
    if let Err(e) = &result {
        if e.kind() == crate::error::ErrorKind::InvalidArgument {
            for c in ctx.containers(false).unwrap_or_default() {
                if !before.contains(&c.config.id) {
                    let _ = remove_container(ctx, &c, Some(0));
                }
            }
            resources::undo(ctx, &nets, &vols);
        }
    }
    result
}

fn converge_services(
    ctx: &Ctx,
    o: &UpOptions,
    ids: &BTreeMap<String, String>,
    sel: &BTreeSet<String>,
    order: &[String],
    start: bool,
) -> Result<Vec<Container>> {
    let mut existing = by_service(ctx.containers(false)?);
    let mut out = Vec::new();
    for name in order {
        let svc = ctx.service(name)?;
        if start {
            wait_for_dependencies(ctx, svc, sel)?;
        }
        let want = o.scale.get(name).copied().unwrap_or_else(|| svc.replicas());
        if want > 1 && svc.container_name.is_some() {
            return Err(Error::InvalidArgument(format!(
                "services.{name}: container_name {:?} can only be used with one container (scale is {want}): remove it or scale to 1",
                svc.container_name.as_deref().unwrap_or_default()
            )));
        }
        let have = existing.remove(name).unwrap_or_default();
        out.extend(service(ctx, svc, &ids[name], want as u32, have, o, start)?);
    }
    Ok(out)
}

/// Containers of services the files no longer have: removed with
/// `--remove-orphans`, else compose's warning.
fn orphans(ctx: &Ctx, o: &UpOptions) -> Result<()> {
    let p = ctx.project;
    let orphans: Vec<Container> = ctx
        .containers(false)?
        .into_iter()
        .filter(|c| {
            let s = label(c, labels::SERVICE);
            !p.services.contains_key(s) && !p.disabled_services.contains_key(s)
        })
        .collect();
    if orphans.is_empty() {
        return Ok(());
    }
    if o.remove_orphans {
        return parallel(&orphans, |c| remove_container(ctx, c, o.timeout));
    }
    let names: Vec<&str> = orphans.iter().map(|c| c.config.name.as_str()).collect();
    crate::util::warn(&format!(
        "Found orphan containers ([{}]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.",
        names.join(" ")
    ));
    Ok(())
}

/// Stop (if running) and remove one container, with compose's events.
pub(super) fn remove_container(ctx: &Ctx, c: &Container, timeout: Option<i64>) -> Result<()> {
    let name = &c.config.name;
    if super::is_running(c) {
        ctx.emit("Container", name, "Stopping");
        eng::stop(ctx.engine, &c.config.id, timeout)?;
        ctx.emit("Container", name, "Stopped");
    }
    ctx.emit("Container", name, "Removing");
    eng::remove(ctx.engine, &c.config.id, true)?;
    let _ = crate::volume::mounts::remove_anonymous(&ctx.engine.paths, &c.config);
    ctx.emit("Container", name, "Removed");
    Ok(())
}

/// Whether a container no longer matches its service.
fn diverged(c: &Container, svc: &Service, image_id: &str) -> bool {
    label(c, labels::CONFIG_HASH) != crate::compose::config_hash(svc) || label(c, labels::IMAGE) != image_id
}

/// Converge one service's containers on `want` replicas.
fn service(
    ctx: &Ctx,
    svc: &Service,
    image_id: &str,
    want: u32,
    have: Vec<Container>,
    o: &UpOptions,
    start: bool,
) -> Result<Vec<Container>> {
    // Scaled down: the highest numbers go first, as compose does.
    let (keep, extra): (Vec<Container>, Vec<Container>) =
        have.into_iter().partition(|c| number(c) <= want && number(c) > 0);
    parallel(&extra, |c| remove_container(ctx, c, o.timeout))?;
    let mut jobs: Vec<(u32, Option<Container>)> = Vec::new();
    for n in 1..=want {
        jobs.push((n, keep.iter().find(|c| number(c) == n).cloned()));
    }
    // Duplicates of one number (a crash between create and remove): the
    // newest stays, the others go.
    let dups: Vec<Container> = keep
        .iter()
        .filter(|c| jobs.iter().any(|(n, k)| *n == number(c) && k.as_ref().is_some_and(|k| k.config.id != c.config.id)))
        .cloned()
        .collect();
    parallel(&dups, |c| remove_container(ctx, c, o.timeout))?;
    let done = std::sync::Mutex::new(Vec::new());
    parallel(&jobs, |(n, current)| {
        let c = one(ctx, svc, image_id, *n, current.as_ref(), o, start)?;
        done.lock().unwrap().push(c);
        Ok(())
    })?;
    let mut done = done.into_inner().unwrap();
    done.sort_by_key(number);
    Ok(done)
}

/// Container `n` of a service: kept, recreated or created, then started.
fn one(
    ctx: &Ctx,
    svc: &Service,
    image_id: &str,
    n: u32,
    current: Option<&Container>,
    o: &UpOptions,
    start: bool,
) -> Result<Container> {
    let name =
        svc.container_name.clone().unwrap_or_else(|| crate::compose::container_name(&ctx.project.name, &svc.name, n));
    // A new container stays held against prune until it is started.
    let (id, _hold) = match current {
        Some(c)
            if o.recreate == Recreate::Force || (o.recreate == Recreate::Diverged && diverged(c, svc, image_id)) =>
        {
            ctx.emit("Container", &c.config.name, "Recreate");
            if super::is_running(c) {
                eng::stop(ctx.engine, &c.config.id, o.timeout)?;
            }
            eng::remove(ctx.engine, &c.config.id, true)?;
            let _ = crate::volume::mounts::remove_anonymous(&ctx.engine.paths, &c.config);
            let (id, hold) = create_container(ctx, svc, n, &name, false, image_id)?;
            ctx.emit("Container", &name, "Recreated");
            (id, Some(hold))
        }
        Some(c) => (c.config.id.clone(), None),
        None => {
            ctx.emit("Container", &name, "Creating");
            let (id, hold) = create_container(ctx, svc, n, &name, false, image_id)?;
            ctx.emit("Container", &name, "Created");
            (id, Some(hold))
        }
    };
    if start {
        let c = eng::get(ctx.engine, &id)?;
        if c.state.status == Status::Running {
            ctx.emit("Container", &name, "Running");
        } else {
            ctx.emit("Container", &name, "Starting");
            if c.state.status == Status::Paused {
                crate::engine::lifecycle::unpause(ctx.engine, &id)?;
            } else {
                eng::start(ctx.engine, &id, eng::StartOptions::default())?;
            }
            ctx.emit("Container", &name, "Started");
        }
    }
    eng::get(ctx.engine, &id)
}

pub(super) fn create_container(
    ctx: &Ctx,
    svc: &Service,
    n: u32,
    name: &str,
    oneoff: bool,
    image_id: &str,
) -> Result<(String, eng::Hold)> {
    create_planned(ctx, super::service_spec(ctx, svc, n, name, oneoff, image_id)?)
}

/// Create a planned container and connect its other networks; on any
/// failure nothing is left.
/// The container comes back held against prune (see
/// `engine::containers::create_held`) until the caller has started it.
pub fn create_planned(ctx: &Ctx, planned: super::spec::Planned) -> Result<(String, eng::Hold)> {
    let (id, hold) = eng::create_held(ctx.engine, &planned.spec)?;
    for (net, aliases, ip) in &planned.more_networks {
        if let Err(e) = crate::engine::networks::connect(ctx.engine, net, &id, aliases, ip.as_deref()) {
            eng::discard(ctx.engine, &id);
            return Err(e);
        }
    }
    Ok((id, hold))
}

/// Block until each dependency in the selection is as `depends_on` asks.
fn wait_for_dependencies(ctx: &Ctx, svc: &Service, sel: &BTreeSet<String>) -> Result<()> {
    for (dep, d) in &svc.depends_on {
        if !sel.contains(dep) {
            continue;
        }
        if d.condition == "service_started" {
            continue;
        }
        let containers: Vec<Container> =
            ctx.containers(false)?.into_iter().filter(|c| label(c, labels::SERVICE) == dep).collect();
        if containers.is_empty() && !d.required {
            continue;
        }
        for c in containers {
            ctx.emit("Container", &c.config.name, "Waiting");
            match d.condition.as_str() {
                "service_healthy" => wait_one_healthy(ctx, &c, None, "dependency failed to start: ")?,
                "service_completed_successfully" => {
                    let code = crate::engine::lifecycle::wait(
                        ctx.engine,
                        &c.config.id,
                        "not-running",
                        &crate::engine::Cancel::never(),
                    )?
                    .unwrap_or(-1);
                    if code != 0 {
                        return Err(Error::Other(format!(
                            "service {dep:?} didn't complete successfully: exit {code}{}",
                            last_output(ctx, &c)
                        )));
                    }
                    ctx.emit("Container", &c.config.name, "Exited");
                }
                other => {
                    return Err(Error::InvalidArgument(format!(
                        "services.{}.depends_on.{dep}.condition: unknown condition {other:?}",
                        svc.name
                    )))
                }
            }
        }
    }
    Ok(())
}

/// Wait until a container is healthy (its monitor runs the checks).
fn wait_one_healthy(ctx: &Ctx, c: &Container, deadline: Option<Instant>, why: &str) -> Result<()> {
    let name = &c.config.name;
    if !has_healthcheck(c) {
        return Err(Error::Other(format!("{why}container {name} has no healthcheck configured")));
    }
    loop {
        let now = eng::get(ctx.engine, &c.config.id)?;
        if now.state.status != Status::Running && now.state.status != Status::Restarting {
            return Err(Error::Other(format!(
                "{why}container {name} exited ({}){}",
                now.state.exit_code,
                last_output(ctx, c)
            )));
        }
        match now.health.as_ref().map(|h| h.status.as_str()) {
            Some("healthy") => {
                ctx.emit("Container", name, "Healthy");
                return Ok(());
            }
            Some("unhealthy") => {
                return Err(Error::Other(format!("{why}container {name} is unhealthy{}", last_output(ctx, c))))
            }
            _ => {}
        }
        if deadline.is_some_and(|d| Instant::now() > d) {
            return Err(Error::Other(format!("timeout waiting for container {name} to be healthy")));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `up --wait`: every container running, and healthy where it has a
/// healthcheck; one that exits or turns unhealthy fails the wait.
pub fn wait_healthy(ctx: &Ctx, containers: &[Container], timeout: Option<Duration>) -> Result<()> {
    let deadline = timeout.map(|t| Instant::now() + t);
    for c in containers {
        ctx.emit("Container", &c.config.name, "Waiting");
        if has_healthcheck(c) {
            wait_one_healthy(ctx, c, deadline, "")?;
        } else {
            let now = eng::get(ctx.engine, &c.config.id)?;
            if now.state.status != Status::Running {
                return Err(Error::Other(format!("container {} exited ({})", c.config.name, now.state.exit_code)));
            }
            (ctx.events)(Event::new("Container", &c.config.name, "Healthy"));
        }
    }
    Ok(())
}

fn has_healthcheck(c: &Container) -> bool {
    c.config.healthcheck.as_ref().is_some_and(|h| h.argv().is_some())
}

/// Before `compose run SERVICE`: its dependencies up and as their
/// `depends_on` conditions ask (unless `no_deps`), its networks and
/// volumes there, its image pulled or built. The image id.
pub fn prepare_run(
    ctx: &Ctx,
    service: &str,
    no_deps: bool,
    remove_orphans: bool,
    imgs: &mut BuildRequest,
) -> Result<String> {
    let svc = ctx.service(service)?;
    let deps: Vec<String> = svc.depends_on.keys().filter(|d| ctx.project.services.contains_key(*d)).cloned().collect();
    if !no_deps && !deps.is_empty() {
        let o = UpOptions { services: deps.clone(), remove_orphans, ..Default::default() };
        converge(ctx, &o, imgs, true)?;
        wait_for_dependencies(ctx, svc, &selection(ctx.project, &deps, false)?)?;
    }
    let only: BTreeSet<String> = std::iter::once(service.to_string()).collect();
    resources::ensure_networks(ctx, &resources::used_networks(ctx, &only))?;
    resources::ensure_volumes(ctx, &resources::used_volumes(ctx, &only))?;
    let ids = images::ensure(ctx, &[service.to_string()], imgs)?;
    Ok(ids[service].clone())
}

/// The last lines a failed container wrote, for the error that names it
/// (`\n  name  | line` each), so the user sees why without `logs`.
fn last_output(ctx: &Ctx, c: &Container) -> String {
    let o = crate::monitor::logs::ReadOptions { tail: Some(5), ..Default::default() };
    let mut text = String::new();
    let mut emit = |e: &crate::monitor::logs::LogEntry| {
        let line = String::from_utf8_lossy(&e.line);
        text.push_str(&format!("\n  {}  | {}", c.config.name, line.trim_end_matches('\n')));
        Ok(())
    };
    let _ = eng::logs(ctx.engine, &c.config.id, &o, &mut emit, &crate::engine::Cancel::never());
    if text.is_empty() {
        return text;
    }
    format!(": its last output:{text}")
}
