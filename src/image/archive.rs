//! `load` and `save`: docker-archive (`docker save`'s format, manifest.json)
//! and oci-archive (an OCI image layout in a tar), plain or compressed.
//!
//! Loading streams the archive once: every file is written to the staging
//! directory while it is hashed, so a stdin pipe works and nothing is read
//! twice; the JSON documents are then read from there. Every digest is checked
//! (config = image id, OCI descriptors, layer DiffIDs while extracting) before
//! anything is committed, so a truncated or corrupt archive changes nothing.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::config::*;
use super::reference::Reference;
use super::store::{hex_of, Committed, ImageRecord, LayerRecord, NewImage, Staging, Store};
use crate::error::{Error, IoContext, Result};
use crate::format::quote::quote;
use crate::storage::compress::{self, Compression, HashingReader};
use crate::storage::userns::{self, ExtractJob};

/// Largest JSON document (manifest, config, index) we agree to parse.
const MAX_JSON: u64 = 16 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveFormat {
    DockerArchive,
    OciArchive,
}

struct StagedFile {
    path: PathBuf,
    digest: String,
    size: u64,
}

/// The files of an archive, by normalised name, with symlinks resolved.
struct Contents {
    files: HashMap<String, StagedFile>,
    links: HashMap<String, String>,
}

impl Contents {
    fn get(&self, name: &str) -> Result<&StagedFile> {
        let mut name = normalise(name);
        for _ in 0..16 {
            if let Some(f) = self.files.get(&name) {
                return Ok(f);
            }
            match self.links.get(&name) {
                Some(t) => name = t.clone(),
                None => break,
            }
        }
        Err(Error::InvalidArchive(format!("{} is listed but not in the archive", quote(&name))))
    }

    fn json<T: serde::de::DeserializeOwned>(&self, name: &str) -> Result<(T, &StagedFile)> {
        let f = self.get(name)?;
        if f.size > MAX_JSON {
            return Err(Error::InvalidArchive(format!(
                "{} is too large ({} bytes) for a JSON document",
                quote(name),
                f.size
            )));
        }
        let bytes = fs::read(&f.path).ctx(|| format!("read {}", quote(name)))?;
        let v = serde_json::from_slice(&bytes).map_err(|e| Error::InvalidArchive(format!("{}: {e}", quote(name))))?;
        Ok((v, f))
    }
}

fn normalise(name: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in name.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    parts.join("/")
}

/// Read every file of the archive into the staging directory.
fn unpack_archive(input: impl Read, dir: &Path) -> Result<Contents> {
    let (_, plain) =
        compress::decompress(input).map_err(|e| Error::InvalidArchive(format!("cannot decompress: {e}")))?;
    let mut ar = tar::Archive::new(plain);
    let mut contents = Contents { files: HashMap::new(), links: HashMap::new() };
    let bad = |e: io::Error| Error::InvalidArchive(format!("not a valid tar archive: {e}"));
    let mut n = 0usize;
    for entry in ar.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let name = normalise(&String::from_utf8_lossy(&entry.path_bytes()));
        match entry.header().entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                n += 1;
                let path = dir.join(format!("f{n}"));
                let mut out = File::create(&path).ctx(|| format!("write {}", path.display()))?;
                let mut h = HashingReader::new(&mut entry);
                io::copy(&mut h, &mut out)
                    .map_err(|e| Error::InvalidArchive(format!("{}: truncated or unreadable: {e}", quote(&name))))?;
                let (digest, size) = h.finish().map_err(bad)?;
                contents.files.insert(name, StagedFile { path, digest, size });
            }
            tar::EntryType::Symlink | tar::EntryType::Link => {
                let target =
                    entry.link_name_bytes().map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
                let resolved = if entry.header().entry_type() == tar::EntryType::Symlink && !target.starts_with('/') {
                    let parent = name.rsplit_once('/').map(|(p, _)| p).unwrap_or("");
                    normalise(&format!("{parent}/{target}"))
                } else {
                    normalise(&target)
                };
                contents.links.insert(name, resolved);
            }
            _ => {}
        }
    }
    Ok(contents)
}

struct PlannedImage {
    id: String,
    config: ImageConfig,
    config_file: (PathBuf, String),
    /// (DiffID, staged blob) for every layer, lowest first.
    layers: Vec<(String, PathBuf, String)>,
    tags: Vec<String>,
}

/// `rcon load`: import every image of a docker-archive or oci-archive.
pub fn load(store: &Store, input: impl Read) -> Result<Vec<Committed>> {
    let mut st = store.staging("load")?;
    let files_dir = st.dir().join("files");
    fs::create_dir(&files_dir).ctx(|| format!("create {}", files_dir.display()))?;
    let contents = unpack_archive(input, &files_dir)?;
    let plans = if contents.files.contains_key("manifest.json") {
        plan_docker(&contents)?
    } else if contents.files.contains_key("index.json") {
        plan_oci(&contents)?
    } else {
        return Err(Error::InvalidArchive(
            "neither manifest.json (docker-archive) nor index.json (oci-archive) found: is this an image archive? (a root file system tar is loaded with rcon import)".into(),
        ));
    };
    if plans.is_empty() {
        return Err(Error::InvalidArchive("the archive holds no image".into()));
    }
    stage_images(store, &mut st, plans)?;
    store.commit(st)
}

fn check_config(bytes_file: &StagedFile, name: &str) -> Result<ImageConfig> {
    let bytes = fs::read(&bytes_file.path).ctx(|| format!("read {}", quote(name)))?;
    if bytes.len() as u64 > MAX_JSON {
        return Err(Error::InvalidArchive(format!("{} is too large for an image config", quote(name))));
    }
    serde_json::from_slice(&bytes).map_err(|e| Error::InvalidArchive(format!("image config {}: {e}", quote(name))))
}

fn plan_docker(c: &Contents) -> Result<Vec<PlannedImage>> {
    let (entries, _): (Vec<DockerArchiveEntry>, _) = c.json("manifest.json")?;
    let mut plans = Vec::new();
    for e in entries {
        let cf = c.get(&e.config)?;
        let config = check_config(cf, &e.config)?;
        if config.rootfs.diff_ids.len() != e.layers.len() {
            return Err(Error::InvalidArchive(format!(
                "image config {} lists {} layers but manifest.json {}",
                quote(&e.config),
                config.rootfs.diff_ids.len(),
                e.layers.len()
            )));
        }
        let mut layers = Vec::new();
        for (l, diff) in e.layers.iter().zip(&config.rootfs.diff_ids) {
            let f = c.get(l)?;
            layers.push((diff.clone(), f.path.clone(), f.digest.clone()));
        }
        let mut tags = Vec::new();
        for t in e.repo_tags.unwrap_or_default() {
            let r = Reference::parse(&t)?.with_default_tag();
            tags.extend(r.full_tagged());
        }
        plans.push(PlannedImage {
            id: cf.digest.clone(),
            config,
            config_file: (cf.path.clone(), cf.digest.clone()),
            layers,
            tags,
        });
    }
    Ok(plans)
}

fn blob_name(digest: &str) -> Result<String> {
    if !super::reference::is_digest(digest) {
        return Err(Error::InvalidArchive(format!("unsupported digest {}", quote(digest))));
    }
    Ok(format!("blobs/sha256/{}", hex_of(digest)))
}

/// Fetch a blob of the layout and check it against its descriptor.
fn oci_blob<'a>(c: &'a Contents, d: &Descriptor) -> Result<&'a StagedFile> {
    let f = c.get(&blob_name(&d.digest)?)?;
    if f.digest != d.digest || f.size != d.size {
        return Err(Error::InvalidArchive(format!(
            "blob {} does not match its descriptor (digest or size differ)",
            d.digest
        )));
    }
    Ok(f)
}

fn plan_oci(c: &Contents) -> Result<Vec<PlannedImage>> {
    let (index, _): (Manifest, _) = c.json("index.json")?;
    let mut plans: Vec<PlannedImage> = Vec::new();
    let mut queue: Vec<(Descriptor, Vec<String>)> = index
        .manifests
        .unwrap_or_default()
        .into_iter()
        .map(|d| {
            let t = oci_tags(&d);
            (d, t)
        })
        .collect();
    let mut depth = 0;
    while let Some((desc, tags)) = queue.pop() {
        depth += 1;
        if depth > 1000 {
            return Err(Error::InvalidArchive("index.json nests too deeply".into()));
        }
        let f = oci_blob(c, &desc)?;
        if f.size > MAX_JSON {
            return Err(Error::InvalidArchive(format!("manifest {} is too large", desc.digest)));
        }
        let m: Manifest = serde_json::from_slice(&fs::read(&f.path).ctx(|| "read manifest".into())?)
            .map_err(|e| Error::InvalidArchive(format!("manifest {}: {e}", desc.digest)))?;
        if m.is_index() {
            // A multi-platform index: take the host's platform, as docker load does.
            let sub = m.manifests.unwrap_or_default();
            let pick = sub.iter().find(|d| platform_matches(d.platform.as_ref())).or(sub.first());
            if let Some(d) = pick {
                queue.push((d.clone(), tags));
            }
            continue;
        }
        let cd = m
            .config
            .as_ref()
            .ok_or_else(|| Error::InvalidArchive(format!("manifest {} has no config", desc.digest)))?;
        let cf = oci_blob(c, cd)?;
        let config = check_config(cf, &cd.digest)?;
        let layer_descs = m.layers.unwrap_or_default();
        if layer_descs.len() != config.rootfs.diff_ids.len() {
            return Err(Error::InvalidArchive(format!(
                "manifest {} and its config disagree on the number of layers",
                desc.digest
            )));
        }
        let mut layers = Vec::new();
        for (ld, diff) in layer_descs.iter().zip(&config.rootfs.diff_ids) {
            let lf = oci_blob(c, ld)?;
            layers.push((diff.clone(), lf.path.clone(), lf.digest.clone()));
        }
        if let Some(p) = plans.iter_mut().find(|p| p.id == cf.digest) {
            p.tags.extend(tags);
            continue;
        }
        plans.push(PlannedImage {
            id: cf.digest.clone(),
            config,
            config_file: (cf.path.clone(), cf.digest.clone()),
            layers,
            tags,
        });
    }
    Ok(plans)
}

/// Names an OCI layout gives a manifest: containerd's full name annotation,
/// or `org.opencontainers.image.ref.name` when it is a whole reference
/// (skopeo and podman write one; a bare tag names no repository).
fn oci_tags(d: &Descriptor) -> Vec<String> {
    let Some(a) = &d.annotations else {
        return Vec::new();
    };
    for key in ["io.containerd.image.name", "org.opencontainers.image.ref.name"] {
        if let Some(Value::String(s)) = a.get(key) {
            if s.contains('/') || s.contains(':') {
                if let Ok(r) = Reference::parse(s) {
                    if let Some(t) = r.with_default_tag().full_tagged() {
                        return vec![t];
                    }
                }
            }
        }
    }
    Vec::new()
}

fn platform_matches(p: Option<&Value>) -> bool {
    let Some(p) = p else { return false };
    p.get("os").and_then(Value::as_str) == Some("linux")
        && p.get("architecture").and_then(Value::as_str) == Some(host_arch())
}

/// Extract the layers the store lacks (one userns helper for all of them),
/// verify their DiffIDs, and queue blobs, layers and image records.
fn stage_images(store: &Store, st: &mut Staging, plans: Vec<PlannedImage>) -> Result<()> {
    let layers_dir = st.dir().join("layers");
    fs::create_dir(&layers_dir).ctx(|| format!("create {}", layers_dir.display()))?;
    let mut jobs = Vec::new();
    let mut wanted: Vec<(String, String, PathBuf)> = Vec::new(); // (diff_id, blob digest, staged blob)
    let mut seen = HashSet::new();
    let all: Vec<String> = plans.iter().flat_map(|p| p.layers.iter().map(|(d, _, _)| d.clone())).collect();
    let stored = store.pin_layers(st, &all)?;
    for p in &plans {
        for (diff, path, digest) in &p.layers {
            if !super::reference::is_digest(diff) {
                return Err(Error::InvalidArchive(format!(
                    "image {} has an invalid DiffID {}",
                    super::store::short_id(&p.id),
                    quote(diff)
                )));
            }
            if stored.contains(diff) || !seen.insert(diff.clone()) {
                continue;
            }
            let dir = layers_dir.join(hex_of(diff));
            fs::create_dir_all(dir.join("diff")).ctx(|| format!("create {}", dir.display()))?;
            st.note_extracted(dir.clone());
            jobs.push(ExtractJob { src: path.clone(), dest: dir.join("diff") });
            wanted.push((diff.clone(), digest.clone(), path.clone()));
        }
    }
    let outcomes = if jobs.is_empty() { Vec::new() } else { userns::run(userns::Request::Extract(jobs))? };
    let mut sizes: HashMap<String, u64> = HashMap::new();
    for ((diff, blob, blob_path), out) in wanted.iter().zip(&outcomes) {
        if &out.diff_id != diff {
            return Err(Error::InvalidArchive(format!(
                "layer {} is corrupt: its content hashes to {} (archive damaged or tampered with)",
                diff, out.diff_id
            )));
        }
        if out.skipped_devices > 0 {
            crate::util::warn(&format!(
                "layer {}: {} device node(s) skipped (only root may create devices)",
                &hex_of(diff)[..12],
                out.skipped_devices
            ));
        }
        let blob_size = fs::metadata(blob_path).ctx(|| format!("stat {}", blob_path.display()))?.len();
        let compression = Compression::detect(&head(blob_path)?).name();
        let rec = LayerRecord {
            diff_id: diff.clone(),
            size: out.size,
            tar_size: out.tar_size,
            blob: blob.clone(),
            blob_size,
            compression: compression.into(),
        };
        let dir = layers_dir.join(hex_of(diff));
        crate::state::write_json(&dir.join("layer.json"), &rec)?;
        sizes.insert(diff.clone(), out.size);
        st.add_layer(dir, diff.clone());
        st.add_blob(blob_path.clone(), blob.clone());
    }
    let mut blobs_added = HashSet::new();
    for p in plans {
        if blobs_added.insert(p.config_file.1.clone()) {
            st.add_blob(p.config_file.0.clone(), p.config_file.1.clone());
        }
        // The layers are the config's DiffIDs (plan_docker/plan_oci check it).
        st.images.push(NewImage { record: ImageRecord::from_config(store, &p.id, &p.config, &sizes)?, tags: p.tags });
    }
    Ok(())
}

fn head(p: &Path) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; 8];
    let mut f = File::open(p).ctx(|| format!("read {}", p.display()))?;
    let n = f.read(&mut buf).ctx(|| format!("read {}", p.display()))?;
    buf.truncate(n);
    Ok(buf)
}

/// One image to write, with the tags (full names) to record for it.
pub struct SaveItem {
    pub image: ImageRecord,
    pub tags: Vec<String>,
}

/// `rcon save`: write images to `out` as one archive.
pub fn save(store: &Store, items: &[SaveItem], format: ArchiveFormat, out: impl Write) -> Result<()> {
    let mut b = tar::Builder::new(out);
    let werr = |e: io::Error| Error::io("write archive", e);
    let mut written: HashSet<String> = HashSet::new();
    match format {
        ArchiveFormat::DockerArchive => {
            let mut manifest = Vec::new();
            for item in items {
                let img = &item.image;
                let mtime = img.created.max(0) as u64;
                let mut layer_names = Vec::new();
                for diff in &img.layers {
                    let name = format!("{}.tar", hex_of(diff));
                    if written.insert(name.clone()) {
                        let rec = store.layer(diff)?;
                        let (_, plain) = compress::decompress(
                            File::open(store.blob_path(&rec.blob)).ctx(|| format!("open layer {diff}"))?,
                        )
                        .ctx(|| format!("read layer {diff}"))?;
                        append(&mut b, &name, rec.tar_size, mtime, plain.take(rec.tar_size)).map_err(werr)?;
                    }
                    layer_names.push(name);
                }
                let cname = format!("{}.json", hex_of(&img.id));
                if written.insert(cname.clone()) {
                    let bytes = store.config_bytes(img)?;
                    append(&mut b, &cname, bytes.len() as u64, mtime, &bytes[..]).map_err(werr)?;
                }
                let tags: Vec<String> = item.tags.iter().map(|t| super::reference::familiar(t)).collect();
                manifest.push(json!({ "Config": cname, "RepoTags": if tags.is_empty() { Value::Null } else { json!(tags) }, "Layers": layer_names }));
            }
            let m = serde_json::to_vec(&manifest).expect("json");
            append(&mut b, "manifest.json", m.len() as u64, 0, &m[..]).map_err(werr)?;
        }
        ArchiveFormat::OciArchive => {
            let layout = br#"{"imageLayoutVersion":"1.0.0"}"#;
            append(&mut b, "oci-layout", layout.len() as u64, 0, &layout[..]).map_err(werr)?;
            let mut index_entries = Vec::new();
            let mut put_blob = |b: &mut tar::Builder<_>, digest: &str, size: u64, data: &mut dyn Read| -> Result<()> {
                let name = format!("blobs/sha256/{}", hex_of(digest));
                if written.insert(name.clone()) {
                    append(b, &name, size, 0, data).map_err(werr)?;
                }
                Ok(())
            };
            for item in items {
                let img = &item.image;
                let mut layers = Vec::new();
                for diff in &img.layers {
                    let rec = store.layer(diff)?;
                    let media = match rec.compression.as_str() {
                        "gzip" => MEDIA_OCI_LAYER_GZIP,
                        "zstd" => MEDIA_OCI_LAYER_ZSTD,
                        _ => MEDIA_OCI_LAYER,
                    };
                    let mut f = File::open(store.blob_path(&rec.blob)).ctx(|| format!("open layer {diff}"))?;
                    put_blob(&mut b, &rec.blob, rec.blob_size, &mut f)?;
                    layers.push(json!({"mediaType": media, "digest": rec.blob, "size": rec.blob_size}));
                }
                let cfg = store.config_bytes(img)?;
                put_blob(&mut b, &img.id, cfg.len() as u64, &mut &cfg[..])?;
                let manifest = json!({
                    "schemaVersion": 2,
                    "mediaType": MEDIA_OCI_MANIFEST,
                    "config": {"mediaType": MEDIA_OCI_CONFIG, "digest": img.id, "size": cfg.len()},
                    "layers": layers,
                });
                let mbytes = serde_json::to_vec(&manifest).expect("json");
                let mdigest = compress::sha256_digest(&mbytes);
                put_blob(&mut b, &mdigest, mbytes.len() as u64, &mut &mbytes[..])?;
                let desc = |ann: Option<Value>| {
                    let mut d = json!({"mediaType": MEDIA_OCI_MANIFEST, "digest": mdigest, "size": mbytes.len()});
                    if let Some(a) = ann {
                        d["annotations"] = a;
                    }
                    d
                };
                if item.tags.is_empty() {
                    index_entries.push(desc(None));
                }
                for t in &item.tags {
                    let tag = t.rsplit_once(':').map(|(_, t)| t).unwrap_or("latest");
                    let mut ann = BTreeMap::new();
                    ann.insert("io.containerd.image.name", t.clone());
                    ann.insert("org.opencontainers.image.ref.name", tag.to_string());
                    index_entries.push(desc(Some(json!(ann))));
                }
            }
            let index = serde_json::to_vec(
                &json!({"schemaVersion": 2, "mediaType": MEDIA_OCI_INDEX, "manifests": index_entries}),
            )
            .expect("json");
            append(&mut b, "index.json", index.len() as u64, 0, &index[..]).map_err(werr)?;
        }
    }
    b.into_inner().and_then(|mut w| w.flush()).map_err(werr)?;
    Ok(())
}

fn append<W: Write>(b: &mut tar::Builder<W>, name: &str, size: u64, mtime: u64, data: impl Read) -> io::Result<()> {
    let mut h = tar::Header::new_ustar();
    h.set_path(name)?;
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(mtime);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    b.append(&h, data)
}
