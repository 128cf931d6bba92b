//! `down`: the project's containers stopped and removed (dependents
//! first), then its networks, with `-v` its volumes, with `--rmi` its
//! images.

use std::collections::BTreeSet;

use super::up::remove_container;
use super::{by_service, parallel, resources, start_order, Ctx};
use crate::container::Container;
use crate::error::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoveImages {
    /// `--rmi local`: images built for services without `image:`.
    Local,
    /// `--rmi all`: every service's image.
    All,
}

#[derive(Debug, Clone, Default)]
pub struct DownOptions {
    pub volumes: bool,
    pub remove_orphans: bool,
    pub rmi: Option<RemoveImages>,
    pub timeout: Option<i64>,
}

pub fn down(ctx: &Ctx, o: &DownOptions) -> Result<()> {
    let p = ctx.project;
    let all = ctx.containers(true)?;
    let mut groups = by_service(all);
    // Services in reverse start order; orphans (and `run` containers of
    // any service) with --remove-orphans, as compose does.
    let known: BTreeSet<String> = p.services.keys().chain(p.disabled_services.keys()).cloned().collect();
    let mut order = start_order(p, &known);
    order.reverse();
    let mut failed = None;
    for s in &order {
        let Some(list) = groups.remove(s) else { continue };
        let (runs, list): (Vec<Container>, Vec<Container>) = list.into_iter().partition(super::is_oneoff);
        if let Err(e) = parallel(&list, |c| remove_container(ctx, c, o.timeout)) {
            failed.get_or_insert(e);
        }
        if o.remove_orphans {
            if let Err(e) = parallel(&runs, |c| remove_container(ctx, c, o.timeout)) {
                failed.get_or_insert(e);
            }
        }
    }
    let orphans: Vec<Container> = groups.into_values().flatten().collect();
    if o.remove_orphans {
        if let Err(e) = parallel(&orphans, |c| remove_container(ctx, c, o.timeout)) {
            failed.get_or_insert(e);
        }
    } else if orphans.iter().any(|c| !super::is_oneoff(c)) {
        let names: Vec<&str> =
            orphans.iter().filter(|c| !super::is_oneoff(c)).map(|c| c.config.name.as_str()).collect();
        crate::util::warn(&format!(
            "Found orphan containers ([{}]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.",
            names.join(" ")
        ));
    }
    if let Some(e) = failed {
        return Err(e);
    }
    // Networks still used by a container left behind stay (and say so).
    resources::remove_networks(ctx)?;
    if o.volumes {
        resources::remove_volumes(ctx)?;
    }
    if let Some(which) = o.rmi {
        for svc in p.services.values() {
            if which == RemoveImages::Local && svc.image.is_some() {
                continue;
            }
            let image = svc.image_or_default(&p.name);
            if ctx.engine.store()?.resolve(&image).is_err() {
                continue;
            }
            ctx.emit("Image", &image, "Removing");
            match crate::engine::images::remove(ctx.engine.store()?, &image, false) {
                Ok(_) => ctx.emit("Image", &image, "Removed"),
                Err(e) => crate::util::warn(&format!("image {image}: {e}")),
            }
        }
    }
    Ok(())
}
