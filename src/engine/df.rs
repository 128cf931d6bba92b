//! `rcon system df`: disk used by images (layers counted once however many
//! images share them), containers' writable layers, volumes and build cache,
//! and what removing the unused ones would give back, as Docker counts it.

use std::collections::{HashMap, HashSet};

use super::Engine;
use crate::container::{Container, ContainerStore, Status};
use crate::error::Result;
use crate::image::store::{ImageRecord, LayerRecord};

pub struct ImageUsage {
    pub image: ImageRecord,
    /// Bytes in layers other images use too, and in layers only this one uses.
    pub shared: u64,
    pub unique: u64,
    pub containers: usize,
}

pub struct ContainerUsage {
    pub container: Container,
    /// Bytes in its writable layer.
    pub size: u64,
}

pub struct DiskUsage {
    pub images: Vec<ImageUsage>,
    /// Every layer once.
    pub images_size: u64,
    /// Layers no image with containers uses.
    pub images_reclaimable: u64,
    pub containers: Vec<ContainerUsage>,
    /// What killed commands left and the sweeps have not taken (yet, or
    /// cannot: see each one's `why`), with its size.
    pub leftovers: Vec<(crate::state::Leftover, u64)>,
}

pub fn disk_usage(engine: &Engine) -> Result<DiskUsage> {
    let store = engine.store()?;
    let images = store.images()?;
    let cstore = ContainerStore::open(&engine.paths)?;
    let containers = cstore.listed();
    let mut leftovers = cstore.leftovers();
    leftovers.extend(crate::volume::VolumeStore::open(&engine.paths)?.leftovers());
    let leftovers = leftovers
        .into_iter()
        .map(|l| {
            let size = crate::util::tree_size(&l.path);
            (l, size)
        })
        .collect();
    let layer_size = |d: &str| -> u64 {
        crate::state::read_json::<LayerRecord>(&store.layer_dir(d).join("layer.json"))
            .ok()
            .flatten()
            .map(|l| l.size)
            .unwrap_or(0)
    };
    let mut users: HashMap<&str, usize> = HashMap::new();
    for i in &images {
        for l in i.layers.iter().collect::<HashSet<_>>() {
            *users.entry(l.as_str()).or_default() += 1;
        }
    }
    let sizes: HashMap<&str, u64> = users.keys().map(|l| (*l, layer_size(l))).collect();
    let mut active_layers: HashSet<&str> = HashSet::new();
    let mut out = Vec::new();
    for i in &images {
        let n = containers.iter().filter(|c| c.config.image == i.id).count();
        let mut shared = 0;
        let mut unique = 0;
        for l in i.layers.iter().collect::<HashSet<_>>() {
            let s = sizes.get(l.as_str()).copied().unwrap_or(0);
            if users.get(l.as_str()).copied().unwrap_or(0) > 1 {
                shared += s;
            } else {
                unique += s;
            }
            if n > 0 {
                active_layers.insert(l.as_str());
            }
        }
        out.push(ImageUsage { image: i.clone(), shared, unique, containers: n });
    }
    let images_size: u64 = sizes.values().sum();
    let active: u64 = active_layers.iter().map(|l| sizes.get(l).copied().unwrap_or(0)).sum();
    let containers = containers
        .into_iter()
        .map(|c| {
            let size = super::containers::writable_size(engine, &c.config.id);
            ContainerUsage { container: c, size }
        })
        .collect();
    Ok(DiskUsage { images: out, images_size, images_reclaimable: images_size - active, containers, leftovers })
}

impl DiskUsage {
    pub fn containers_size(&self) -> u64 {
        self.containers.iter().map(|c| c.size).sum()
    }

    /// Writable layers of containers that are not running.
    pub fn containers_reclaimable(&self) -> u64 {
        self.containers.iter().filter(|c| c.container.state.status != Status::Running).map(|c| c.size).sum()
    }
}
