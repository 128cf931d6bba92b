//! Storing one image on top of another: a config with one more history
//! entry and, when the step changed files, one more layer (a tarball applied
//! through the userns helper, kept uncompressed as the layer's blob:
//! compression happens only on push or save). Used by each build step and
//! by `rcon commit`.

use std::fs;
use std::path::PathBuf;

use crate::error::{Error, IoContext, Result};
use crate::image::config::{History, ImageConfig};
use crate::image::store::{hex_of, ImageRecord, LayerRecord, NewImage, Store};
use crate::storage::userns::{self, ExtractJob, Request};

pub struct NewStep {
    /// The parent's config, to extend.
    pub config: ImageConfig,
    /// The new history entry (`created` and `empty_layer` are filled in).
    pub history: History,
    pub parent: Option<String>,
    /// The parent's size.
    pub base_size: u64,
    /// The layer as a tarball, if the step made one.
    pub tar: Option<PathBuf>,
    pub build_cache: Option<String>,
    /// Full names to tag the image with.
    pub tags: Vec<String>,
}

pub struct Stored {
    pub id: String,
    pub config: ImageConfig,
    pub size: u64,
}

pub fn store_image(store: &Store, step: NewStep) -> Result<Stored> {
    let (secs, nanos) = crate::format::units::now();
    let created = crate::format::units::rfc3339_nano(secs, nanos);
    let mut cfg = step.config;
    cfg.created = Some(created.clone());
    cfg.history.push(History { created: Some(created), empty_layer: step.tar.is_none(), ..step.history });
    let mut staging = store.staging("commit")?;
    let mut size = step.base_size;
    if let Some(tar) = step.tar {
        let work = staging.dir().join("layer");
        fs::create_dir_all(work.join("diff")).ctx(|| format!("create {}", work.display()))?;
        staging.note_extracted(work.clone());
        let outcome = userns::run(Request::Extract(vec![ExtractJob { src: tar.clone(), dest: work.join("diff") }]))?
            .pop()
            .ok_or_else(|| Error::Other("storage helper returned nothing".into()))?;
        let dir = staging.dir().join(hex_of(&outcome.diff_id));
        fs::rename(&work, &dir).ctx(|| "stage layer".into())?;
        staging.note_extracted(dir.clone());
        let rec = LayerRecord {
            diff_id: outcome.diff_id.clone(),
            size: outcome.size,
            tar_size: outcome.tar_size,
            blob: outcome.diff_id.clone(),
            blob_size: outcome.tar_size,
            compression: "none".into(),
        };
        crate::state::write_json(&dir.join("layer.json"), &rec)?;
        let blob = staging.dir().join("blob");
        fs::rename(&tar, &blob).ctx(|| "stage layer blob".into())?;
        staging.add_layer(dir, outcome.diff_id.clone());
        staging.add_blob(blob, outcome.diff_id.clone());
        cfg.rootfs.diff_ids.push(outcome.diff_id);
        size += outcome.size;
    }
    let bytes = serde_json::to_vec(&cfg).expect("json");
    let id = crate::storage::compress::sha256_digest(&bytes);
    let cpath = staging.dir().join("config.json");
    fs::write(&cpath, &bytes).ctx(|| format!("write {}", cpath.display()))?;
    staging.add_blob(cpath, id.clone());
    staging.images.push(NewImage {
        record: ImageRecord {
            id: id.clone(),
            repo_tags: Vec::new(),
            repo_digests: Vec::new(),
            layers: cfg.rootfs.diff_ids.clone(),
            size,
            created: secs,
            last_tag_time: 0,
            parent: step.parent,
            labels: cfg.config.as_ref().and_then(|c| c.labels.clone()).unwrap_or_default(),
            build_cache: step.build_cache,
            manifest_format: None,
        },
        tags: step.tags,
    });
    store.commit(staging)?;
    Ok(Stored { id, config: cfg, size })
}
