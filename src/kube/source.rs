//! What `generate` needs, read from the stores: containers by name or id,
//! their images' defaults, and which of their volumes are anonymous.

use super::generate::{ImageDefaults, Member, PodSource};
use crate::engine::{self, Engine};
use crate::error::Result;

/// The containers named (each by name, id or id prefix), as one pod's
/// members; a lone container's pod settings are its own.
pub fn containers(engine: &Engine, args: &[String]) -> Result<Vec<Member>> {
    let mut out = Vec::new();
    let volumes = crate::volume::VolumeStore::open(&engine.paths)?;
    for a in args {
        let c = engine::containers::get(engine, a)?;
        let image = image_defaults(engine, &c.config.image);
        let anonymous_volumes = c
            .config
            .host
            .mounts
            .iter()
            .filter(|m| m.kind == "volume" && volumes.get(&m.source).map(|v| v.anonymous()).unwrap_or(true))
            .map(|m| m.source.clone())
            .collect();
        out.push(Member { container: c, image, anonymous_volumes });
    }
    Ok(out)
}

/// The pod to generate for `args`: named after the first container (its
/// pod settings come from it).
pub fn pod_of_containers(engine: &Engine, args: &[String]) -> Result<PodSource> {
    let containers = containers(engine, args)?;
    let name = containers.first().map(|m| m.container.config.name.clone()).unwrap_or_default();
    let name = if containers.len() > 1 { format!("{name}-pod") } else { name };
    Ok(PodSource { name, containers, pod: None })
}

fn image_defaults(engine: &Engine, id: &str) -> ImageDefaults {
    let Ok(store) = engine.store() else { return ImageDefaults::default() };
    let Ok(cfg) = store.resolve(id).and_then(|r| store.config(&r)) else { return ImageDefaults::default() };
    let ic = cfg.config.unwrap_or_default();
    ImageDefaults {
        entrypoint: ic.entrypoint.unwrap_or_default(),
        cmd: ic.cmd.unwrap_or_default(),
        env: ic.env.unwrap_or_default(),
        working_dir: ic.working_dir,
        user: ic.user,
        labels: ic.labels.unwrap_or_default(),
        volumes: ic.volumes.unwrap_or_default().keys().cloned().collect::<Vec<_>>(),
    }
}
