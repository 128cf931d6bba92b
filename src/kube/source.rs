//! What `generate` needs, read from the stores: pods, containers by name
//! or id, their images' defaults, and which of their volumes are anonymous.

use super::generate::{ImageDefaults, Member, PodSettings, PodSource};
use crate::container::Container;
use crate::engine::{self, Engine};
use crate::error::{Error, Result};
use crate::volume::VolumeStore;

/// What `kube generate ARG…` is about: each pod named is one pod; the
/// containers named (none of them a pod) together make one pod. Pods and
/// containers are not mixed (podman's rule: a container of a pod is
/// generated with its pod).
pub fn sources(engine: &Engine, args: &[String]) -> Result<Vec<PodSource>> {
    let pods: Vec<_> = args.iter().filter_map(|a| engine::pods::get(engine, a).ok()).collect();
    if pods.is_empty() {
        return Ok(vec![pod_of_containers(engine, args)?]);
    }
    if pods.len() != args.len() {
        return Err(Error::InvalidArgument(
            "kube generate takes pods or containers, not both: generate them in separate calls".into(),
        ));
    }
    pods.into_iter().map(|p| pod_source(engine, p)).collect()
}

/// A pod's members (not its infra) with the pod-level settings the infra
/// container carries out (network, published ports, hosts, DNS) and the
/// pod's own hostname and labels.
fn pod_source(engine: &Engine, p: engine::pods::PodView) -> Result<PodSource> {
    let members: Vec<Container> = p.members().cloned().collect();
    if members.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "pod {} has no containers to generate: add one with `rcon run --pod {} IMAGE`",
            p.config.name, p.config.name
        )));
    }
    let mut settings = match p.infra() {
        Some(infra) => PodSettings::of_container(&infra.config),
        None => PodSettings::default(),
    };
    // A pod's hostname defaults to its name, which the pod gets anyway.
    settings.hostname = if p.config.hostname == p.config.name { String::new() } else { p.config.hostname.clone() };
    settings.labels = p
        .config
        .labels
        .iter()
        .filter(|(k, _)| !k.starts_with("io.rcon."))
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
        .collect();
    let volumes = VolumeStore::open(&engine.paths)?;
    let containers = members.into_iter().map(|c| member(engine, &volumes, c)).collect::<Result<_>>()?;
    Ok(PodSource { name: p.config.name, containers, pod: Some(settings) })
}

/// The containers named (each by name, id or id prefix), as one pod's
/// members; a lone container's pod settings are its own.
fn containers(engine: &Engine, args: &[String]) -> Result<Vec<Member>> {
    let volumes = VolumeStore::open(&engine.paths)?;
    args.iter().map(|a| member(engine, &volumes, engine::containers::get(engine, a)?)).collect()
}

fn member(engine: &Engine, volumes: &VolumeStore, c: Container) -> Result<Member> {
    let image = image_defaults(engine, &c.config.image);
    let anonymous_volumes = c
        .config
        .host
        .mounts
        .iter()
        .filter(|m| m.kind == "volume" && volumes.get(&m.source).map(|v| v.anonymous()).unwrap_or(true))
        .map(|m| m.source.clone())
        .collect();
    Ok(Member { container: c, image, anonymous_volumes })
}

/// The pod to generate for `args`: named after the first container (its
/// pod settings come from it).
fn pod_of_containers(engine: &Engine, args: &[String]) -> Result<PodSource> {
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
