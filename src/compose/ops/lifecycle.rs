//! `start`, `stop`, `restart`, `kill`, `rm`, `pause`, `unpause` over a
//! project's existing containers: starts in dependency order, stops in
//! reverse, the containers of one service in parallel.

use std::collections::BTreeSet;

use super::{by_service, is_running, parallel, selection, start_order, Ctx};
use crate::container::{Container, Status};
use crate::engine::containers as eng;
use crate::error::{Error, Result};

/// The selected services' containers, grouped in start order.
fn groups(ctx: &Ctx, services: &[String]) -> Result<Vec<(String, Vec<Container>)>> {
    let sel: BTreeSet<String> = selection(ctx.project, services, true)?;
    let mut by = by_service(ctx.containers(false)?);
    Ok(start_order(ctx.project, &sel).into_iter().filter_map(|s| by.remove(&s).map(|c| (s, c))).collect())
}

fn each_reversed(ctx: &Ctx, services: &[String], f: impl Fn(&Container) -> Result<()> + Sync) -> Result<()> {
    let mut g = groups(ctx, services)?;
    g.reverse();
    let mut failed = None;
    for (_, list) in &g {
        if let Err(e) = parallel(list, &f) {
            failed.get_or_insert(e);
        }
    }
    failed.map_or(Ok(()), Err)
}

/// `compose start`: existing containers only (compose: "no containers to
/// start" when there are none).
pub fn start(ctx: &Ctx, services: &[String]) -> Result<()> {
    let g = groups(ctx, services)?;
    if g.is_empty() {
        return Err(Error::InvalidArgument("no containers to start: create them with `rcon compose up`".into()));
    }
    for (_, list) in &g {
        parallel(list, |c| {
            if c.state.status == Status::Running {
                return Ok(());
            }
            ctx.emit("Container", &c.config.name, "Starting");
            eng::start(ctx.engine, &c.config.id, eng::StartOptions::default())?;
            ctx.emit("Container", &c.config.name, "Started");
            Ok(())
        })?;
    }
    Ok(())
}

pub fn stop(ctx: &Ctx, services: &[String], timeout: Option<i64>) -> Result<()> {
    each_reversed(ctx, services, |c| {
        if !is_running(c) {
            return Ok(());
        }
        ctx.emit("Container", &c.config.name, "Stopping");
        eng::stop(ctx.engine, &c.config.id, timeout)?;
        ctx.emit("Container", &c.config.name, "Stopped");
        Ok(())
    })
}

pub fn restart(ctx: &Ctx, services: &[String], timeout: Option<i64>) -> Result<()> {
    for (_, list) in groups(ctx, services)? {
        parallel(&list, |c| {
            ctx.emit("Container", &c.config.name, "Restarting");
            if is_running(c) {
                eng::stop(ctx.engine, &c.config.id, timeout)?;
            }
            eng::start(ctx.engine, &c.config.id, eng::StartOptions::default())?;
            ctx.emit("Container", &c.config.name, "Started");
            Ok(())
        })?;
    }
    Ok(())
}

pub fn kill(ctx: &Ctx, services: &[String], signal: &str) -> Result<()> {
    each_reversed(ctx, services, |c| {
        if !is_running(c) {
            return Ok(());
        }
        ctx.emit("Container", &c.config.name, "Killing");
        eng::kill(ctx.engine, &c.config.id, signal)?;
        ctx.emit("Container", &c.config.name, "Killed");
        Ok(())
    })
}

/// `compose rm`: stopped containers (running ones too with `stop`); the
/// anonymous volumes with `volumes`. The removed containers' names.
pub fn remove(ctx: &Ctx, services: &[String], stop_first: bool, volumes: bool) -> Result<Vec<String>> {
    let done = std::sync::Mutex::new(Vec::new());
    each_reversed(ctx, services, |c| {
        if is_running(c) {
            if !stop_first {
                return Ok(());
            }
            ctx.emit("Container", &c.config.name, "Stopping");
            eng::stop(ctx.engine, &c.config.id, None)?;
            ctx.emit("Container", &c.config.name, "Stopped");
        }
        ctx.emit("Container", &c.config.name, "Removing");
        eng::remove(ctx.engine, &c.config.id, true)?;
        if volumes {
            let _ = crate::volume::mounts::remove_anonymous(&ctx.engine.paths, &c.config);
        }
        ctx.emit("Container", &c.config.name, "Removed");
        done.lock().unwrap().push(c.config.name.clone());
        Ok(())
    })?;
    Ok(done.into_inner().unwrap())
}

pub fn pause(ctx: &Ctx, services: &[String]) -> Result<()> {
    each_reversed(ctx, services, |c| {
        if c.state.status != Status::Running {
            return Ok(());
        }
        ctx.emit("Container", &c.config.name, "Pausing");
        crate::engine::lifecycle::pause(ctx.engine, &c.config.id)?;
        ctx.emit("Container", &c.config.name, "Paused");
        Ok(())
    })
}

pub fn unpause(ctx: &Ctx, services: &[String]) -> Result<()> {
    for (_, list) in groups(ctx, services)? {
        parallel(&list, |c| {
            if c.state.status != Status::Paused {
                return Ok(());
            }
            ctx.emit("Container", &c.config.name, "Unpausing");
            crate::engine::lifecycle::unpause(ctx.engine, &c.config.id)?;
            ctx.emit("Container", &c.config.name, "Unpaused");
            Ok(())
        })?;
    }
    Ok(())
}
