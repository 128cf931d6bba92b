//! `rcon import`: make a one-layer image from a root file system tarball
//! (a file, stdin, or a URL), as `docker import` does.

use std::fs::{self, File};
use std::io::{self, Read};

use serde_json::Value;

use super::changes;
use super::config::{host_arch, ContainerConfig, History, ImageConfig, RootFs};
use super::reference::Reference;
use super::store::{hex_of, Committed, ImageRecord, LayerRecord, NewImage, Store};
use crate::error::{Error, IoContext, Result};
use crate::format::units;
use crate::storage::compress::{self, Compression, HashingReader};
use crate::storage::userns::{self, ExtractJob};

/// Where an imported tarball comes from.
pub enum ImportSource {
    /// A stream the front end reads for us (`-`: its stdin; the API's body).
    Stream(Box<dyn Read>),
    File(std::path::PathBuf),
    Url(String),
}

impl ImportSource {
    /// Docker's rule: `-` is `stdin`, `http://`/`https://` a URL, anything
    /// else a file.
    pub fn parse(s: &str, stdin: impl FnOnce() -> Box<dyn Read>) -> ImportSource {
        if s == "-" {
            ImportSource::Stream(stdin())
        } else if s.starts_with("http://") || s.starts_with("https://") {
            ImportSource::Url(s.to_string())
        } else {
            ImportSource::File(s.into())
        }
    }

    fn describe(&self) -> String {
        match self {
            ImportSource::Stream(_) => "-".into(),
            ImportSource::File(p) => p.display().to_string(),
            ImportSource::Url(u) => u.clone(),
        }
    }

    fn open(self) -> Result<Box<dyn Read>> {
        Ok(match self {
            ImportSource::Stream(r) => r,
            ImportSource::File(p) => Box::new(File::open(&p).ctx(|| format!("open {}", p.display()))?),
            ImportSource::Url(u) => {
                let resp = ureq::get(&u).call().map_err(|e| Error::Other(format!("import from {u}: {e}")))?;
                Box::new(resp.into_reader())
            }
        })
    }
}

#[derive(Default)]
pub struct ImportOptions {
    pub reference: Option<String>,
    pub changes: Vec<String>,
    pub message: Option<String>,
}

pub fn import(store: &Store, src: ImportSource, opts: &ImportOptions) -> Result<Committed> {
    // Validate everything the user typed before reading a byte.
    let tag = match &opts.reference {
        Some(r) => {
            let r = Reference::parse(r)?;
            if r.digest.is_some() {
                return Err(Error::InvalidReference(format!("\"{}\": an import target cannot have a digest", r)));
            }
            r.with_default_tag().full_tagged()
        }
        None => None,
    };
    let mut cc = ContainerConfig::default();
    for c in &opts.changes {
        changes::apply(&mut cc, c)?;
    }

    let mut st = store.staging("import")?;
    let blob_path = st.dir().join("rootfs");
    let mut out = File::create(&blob_path).ctx(|| format!("write {}", blob_path.display()))?;
    let what = src.describe();
    let mut h = HashingReader::new(src.open()?);
    io::copy(&mut h, &mut out).map_err(|e| Error::Other(format!("import {what}: read failed: {e}")))?;
    let (blob_digest, blob_size) = h.finish().ctx(|| "read input".into())?;
    drop(out);
    let mut head = [0u8; 8];
    let n = File::open(&blob_path).and_then(|mut f| f.read(&mut head)).unwrap_or(0);
    let compression = Compression::detect(&head[..n]);

    let work = st.dir().join("layer");
    fs::create_dir_all(work.join("diff")).ctx(|| format!("create {}", work.display()))?;
    st.note_extracted(work.clone());
    let outcome =
        userns::run(userns::Request::Extract(vec![ExtractJob { src: blob_path.clone(), dest: work.join("diff") }]))
            .map_err(|e| Error::Other(format!("import {}: not a valid root file system tarball: {e}", what)))?
            .pop()
            .ok_or_else(|| Error::Other("storage helper returned nothing".into()))?;

    let (secs, nanos) = units::now();
    let created = units::rfc3339_nano(secs, nanos);
    let mut extra = serde_json::Map::new();
    if let Some(m) = &opts.message {
        extra.insert("comment".into(), Value::String(m.clone()));
    }
    let config = ImageConfig {
        created: Some(created.clone()),
        author: None,
        architecture: host_arch().into(),
        os: "linux".into(),
        variant: None,
        config: Some(cc.clone()),
        rootfs: RootFs { kind: "layers".into(), diff_ids: vec![outcome.diff_id.clone()] },
        history: vec![History {
            created: Some(created),
            comment: Some(opts.message.clone().unwrap_or_else(|| format!("Imported from {}", what))),
            ..Default::default()
        }],
        extra,
    };
    let config_bytes = serde_json::to_vec(&config).expect("json");
    let id = compress::sha256_digest(&config_bytes);
    let config_path = st.dir().join("config.json");
    fs::write(&config_path, &config_bytes).ctx(|| format!("write {}", config_path.display()))?;

    let layer_dir = st.dir().join(hex_of(&outcome.diff_id));
    fs::rename(&work, &layer_dir).ctx(|| "stage layer".into())?;
    st.note_extracted(layer_dir.clone());
    let rec = LayerRecord {
        diff_id: outcome.diff_id.clone(),
        size: outcome.size,
        tar_size: outcome.tar_size,
        blob: blob_digest.clone(),
        blob_size,
        compression: compression.name().into(),
    };
    crate::state::write_json(&layer_dir.join("layer.json"), &rec)?;
    st.add_layer(layer_dir, outcome.diff_id.clone());
    st.add_blob(blob_path, blob_digest);
    st.add_blob(config_path, id.clone());
    st.images.push(NewImage {
        record: ImageRecord {
            id,
            repo_tags: Vec::new(),
            repo_digests: Vec::new(),
            layers: vec![outcome.diff_id],
            size: outcome.size,
            created: secs,
            last_tag_time: 0,
            parent: None,
            labels: cc.labels.unwrap_or_default(),
            build_cache: None,
            manifest_format: None,
        },
        tags: tag.into_iter().collect(),
    });
    Ok(store.commit(st)?.remove(0))
}
