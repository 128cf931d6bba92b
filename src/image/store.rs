//! The image store: content-addressed blobs, extracted layers shared by every
//! image that uses them, and one JSON index of images and tags.
//!
//! ```text
//! DATA/images.json              index: every image record (id, tags, layers…)
//! DATA/blobs/sha256/HEX         configs, manifests, layer blobs (verified on write)
//! DATA/layers/HEX/diff/         a layer extracted once, HEX = its DiffID
//! DATA/layers/HEX/layer.json    the layer's record, written before the rename
//! DATA/tmp/                     per-command scratch space (staging, trash)
//! DATA/pull/HEX[.partial]       layer blobs a pull downloaded (verified) or is downloading; kept a day
//! DATA/store.lock               flock taken by every change
//! ```
//!
//! A command stages everything in DATA/tmp without the lock (the slow part:
//! reading archives, extracting), then `commit` takes the lock, renames the
//! staged blobs and layers into place and rewrites the index. A process killed
//! before the rename leaves only a tmp entry, swept later; one killed after it
//! leaves unreferenced blobs or layers, which `gc` removes. Nothing is ever
//! half-visible.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::config::ImageConfig;
use super::reference::{self, Reference};
use crate::error::{Error, IoContext, Result};
use crate::paths::Paths;
use crate::state::{self, Lock, TempDir};
use crate::storage::userns;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ImageRecord {
    /// `sha256:<hex>` of the config blob.
    pub id: String,
    /// Full names: `docker.io/library/busybox:latest`.
    #[serde(default)]
    pub repo_tags: Vec<String>,
    /// Full names with digest: `localhost:5000/a@sha256:…`.
    #[serde(default)]
    pub repo_digests: Vec<String>,
    /// DiffIDs, lowest first.
    pub layers: Vec<String>,
    /// Docker's image size: sum of the layers' content sizes.
    pub size: u64,
    /// Unix seconds from the config's `created` (0 when absent).
    pub created: i64,
    /// Unix seconds when the image last got a tag (Docker's Metadata.LastTagTime).
    #[serde(default)]
    pub last_tag_time: i64,
    /// Image this one was built on (intermediate images of a build).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Labels copied from the config, so filters need not open every config.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub labels: serde_json::Map<String, serde_json::Value>,
    /// The build cache key of the step that made this image (parent +
    /// instruction + build args, or content checksum for COPY/ADD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_cache: Option<String>,
    /// `build --format`: the manifest format a push uses unless told
    /// (`docker` or `oci`), as podman keeps it with the image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_format: Option<String>,
}

impl ImageRecord {
    /// The record of a new image (no names yet) from its config: the size
    /// counts each distinct layer once, from `staged` for layers this command
    /// is adding and from the store's records for the others.
    pub fn from_config(store: &Store, id: &str, config: &ImageConfig, staged: &HashMap<String, u64>) -> Result<Self> {
        let mut size = 0;
        let mut counted = HashSet::new();
        for diff in &config.rootfs.diff_ids {
            if counted.insert(diff) {
                size += match staged.get(diff) {
                    Some(s) => *s,
                    None => store.layer(diff)?.size,
                };
            }
        }
        Ok(ImageRecord {
            id: id.to_string(),
            repo_tags: Vec::new(),
            repo_digests: Vec::new(),
            layers: config.rootfs.diff_ids.clone(),
            size,
            created: config
                .created
                .as_deref()
                .and_then(crate::format::units::parse_rfc3339)
                .map(|(s, _)| s)
                .unwrap_or(0),
            last_tag_time: 0,
            parent: None,
            labels: config.config.as_ref().and_then(|c| c.labels.clone()).unwrap_or_default(),
            build_cache: None,
            manifest_format: None,
        })
    }

    pub fn short_id(&self) -> &str {
        short_id(&self.id)
    }
    pub fn is_dangling(&self) -> bool {
        self.repo_tags.is_empty() && self.repo_digests.is_empty()
    }
}

pub fn short_id(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    &hex[..hex.len().min(12)]
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LayerRecord {
    pub diff_id: String,
    /// Content size (Docker's layer size).
    pub size: u64,
    /// Length of the uncompressed tar stream.
    pub tar_size: u64,
    /// The blob the layer came from; decompressing it yields the DiffID stream.
    pub blob: String,
    pub blob_size: u64,
    pub compression: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Index {
    images: Vec<ImageRecord>,
}

pub struct Store {
    pub paths: Paths,
    root: PathBuf,
}

/// What a command prepared in tmp and wants published in one step.
pub struct Staging {
    tmp: Option<TempDir>,
    blobs: Vec<(PathBuf, String)>,
    layers: Vec<(PathBuf, String)>,
    pub images: Vec<NewImage>,
    extracted: Vec<PathBuf>,
}

pub struct NewImage {
    pub record: ImageRecord,
    /// Full tagged names to point at this image.
    pub tags: Vec<String>,
}

/// What `commit` did, for the "Loaded image" lines.
pub struct Committed {
    pub id: String,
    pub tags: Vec<String>,
    /// Tags that moved away from another image: (tag, old image id).
    pub moved: Vec<(String, String)>,
}

/// In a staging directory: the DiffIDs (hex) of stored layers it reuses.
const PINS: &str = "pinned-layers";

impl Staging {
    pub fn dir(&self) -> &Path {
        self.tmp.as_ref().expect("staging dir").path()
    }

    /// A verified blob at `path` (inside the staging dir) to store as `digest`.
    pub fn add_blob(&mut self, path: PathBuf, digest: String) {
        self.blobs.push((path, digest));
    }

    /// An extracted layer directory (with `diff/` and `layer.json`) to store
    /// under its DiffID.
    pub fn add_layer(&mut self, dir: PathBuf, diff_id: String) {
        self.layers.push((dir, diff_id));
    }

    /// Directories whose files may belong to mapped ids: removed through the
    /// userns helper if the staging is abandoned.
    pub fn note_extracted(&mut self, dir: PathBuf) {
        self.extracted.push(dir);
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let leftover: Vec<PathBuf> = self.extracted.iter().filter(|p| p.exists()).cloned().collect();
        if !leftover.is_empty() {
            let _ = userns::run(userns::Request::Remove(leftover));
        }
    }
}

impl Store {
    pub fn open(paths: &Paths) -> Result<Store> {
        let root = paths.data.clone();
        for d in ["blobs/sha256", "layers", "tmp"] {
            state::ensure_dir(&root.join(d)).map_err(|e| match e {
                Error::Io { source, .. } => Error::Other(format!(
                    "cannot create the image store in {}: {source}; make it writable or set XDG_DATA_HOME (or --root) to a writable directory",
                    root.display()
                )),
                e => e,
            })?;
        }
        Ok(Store { paths: paths.clone(), root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn lock(&self) -> Result<Lock> {
        Lock::exclusive(&self.root.join("store.lock"))
    }

    fn index_path(&self) -> PathBuf {
        self.root.join("images.json")
    }

    fn read_index(&self) -> Result<Index> {
        Ok(state::read_json(&self.index_path())?.unwrap_or_default())
    }

    fn write_index(&self, idx: &Index) -> Result<()> {
        state::write_json(&self.index_path(), idx)
    }

    pub fn images(&self) -> Result<Vec<ImageRecord>> {
        Ok(self.read_index()?.images)
    }

    pub fn blob_path(&self, digest: &str) -> PathBuf {
        self.root.join("blobs/sha256").join(digest.strip_prefix("sha256:").unwrap_or(digest))
    }

    pub fn layer_dir(&self, diff_id: &str) -> PathBuf {
        self.root.join("layers").join(diff_id.strip_prefix("sha256:").unwrap_or(diff_id))
    }

    pub fn has_layer(&self, diff_id: &str) -> bool {
        self.layer_dir(diff_id).join("layer.json").exists()
    }

    /// The layers of `wanted` the store already has, pinned for `st`: a
    /// concurrent gc (rmi, prune) keeps them as long as `st`'s scratch
    /// directory lives, so an image being staged never ends up pointing at
    /// a layer removed in between (the store lock orders the check against
    /// gc's decision).
    pub fn pin_layers(&self, st: &Staging, wanted: &[String]) -> Result<HashSet<String>> {
        let _lock = self.lock()?;
        let have: HashSet<String> = wanted.iter().filter(|d| self.has_layer(d)).cloned().collect();
        if !have.is_empty() {
            let mut text = fs::read_to_string(st.dir().join(PINS)).unwrap_or_default();
            for d in &have {
                text.push_str(hex_of(d));
                text.push('\n');
            }
            fs::write(st.dir().join(PINS), text).ctx(|| "pin the layers a staged image reuses".into())?;
        }
        Ok(have)
    }

    pub fn layer(&self, diff_id: &str) -> Result<LayerRecord> {
        let p = self.layer_dir(diff_id).join("layer.json");
        state::read_json(&p)?.ok_or_else(|| {
            Error::Other(format!("layer {diff_id} is missing from the store: remove and reload the image"))
        })
    }

    pub fn config_bytes(&self, rec: &ImageRecord) -> Result<Vec<u8>> {
        fs::read(self.blob_path(&rec.id)).ctx(|| format!("read config of image {}", rec.short_id()))
    }

    pub fn config(&self, rec: &ImageRecord) -> Result<ImageConfig> {
        serde_json::from_slice(&self.config_bytes(rec)?)
            .map_err(|e| Error::Other(format!("config of image {} is corrupt: {e}", rec.short_id())))
    }

    pub fn staging(&self, tag: &str) -> Result<Staging> {
        Ok(Staging {
            tmp: Some(TempDir::new(&self.root.join("tmp"), tag)?),
            blobs: Vec::new(),
            layers: Vec::new(),
            images: Vec::new(),
            extracted: Vec::new(),
        })
    }

    /// Resolve a user's image argument the way Docker does: a full
    /// `sha256:` id; a name (tag defaulting to latest) or name@digest; a
    /// unique id prefix.
    pub fn resolve(&self, arg: &str) -> Result<ImageRecord> {
        let images = self.images()?;
        resolve_in(&images, arg).cloned()
    }

    /// Publish a staging area: move blobs and layers into place and add the
    /// images, all under the store lock.
    pub fn commit(&self, mut st: Staging) -> Result<Vec<Committed>> {
        let lock = self.lock()?;
        // Scratch of killed processes (a killed build, load or pull) goes
        // with the next change (issue 12), not only with the next gc:
        // claimed under the lock, deleted after it.
        let stale = state::stale_temp_entries(&self.root.join("tmp"));
        let claimed = if stale.is_empty() { None } else { self.move_to_trash(&stale).ok() };
        userns::sweeping(lock, claimed.into_iter().collect(), || self.commit_locked(&mut st))
    }

    fn commit_locked(&self, st: &mut Staging) -> Result<Vec<Committed>> {
        for (path, digest) in &st.blobs {
            let dest = self.blob_path(digest);
            if !dest.exists() {
                fs::rename(path, &dest).ctx(|| format!("store blob {digest}"))?;
            }
        }
        let mut unused = Vec::new();
        for (dir, diff_id) in &st.layers {
            let dest = self.layer_dir(diff_id);
            if dest.join("layer.json").exists() {
                // Another process stored the same layer first: ours goes.
                unused.push(dir.clone());
            } else {
                if dest.exists() {
                    // A half-removed layer from a killed process: replace it.
                    self.trash(std::slice::from_ref(&dest))?;
                }
                fs::rename(dir, &dest).ctx(|| format!("store layer {diff_id}"))?;
            }
        }
        let mut idx = self.read_index()?;
        let now = now_secs();
        let mut out = Vec::new();
        for new in std::mem::take(&mut st.images) {
            let mut moved = Vec::new();
            for tag in &new.tags {
                for other in idx.images.iter_mut().filter(|i| i.id != new.record.id) {
                    if let Some(pos) = other.repo_tags.iter().position(|t| t == tag) {
                        other.repo_tags.remove(pos);
                        moved.push((tag.clone(), other.id.clone()));
                    }
                }
            }
            match idx.images.iter_mut().find(|i| i.id == new.record.id) {
                Some(existing) => {
                    for t in &new.tags {
                        if !existing.repo_tags.contains(t) {
                            existing.repo_tags.push(t.clone());
                        }
                    }
                    for d in &new.record.repo_digests {
                        if !existing.repo_digests.contains(d) {
                            existing.repo_digests.push(d.clone());
                        }
                    }
                    if !new.tags.is_empty() {
                        existing.last_tag_time = now;
                    }
                }
                None => {
                    let mut rec = new.record.clone();
                    rec.repo_tags = new.tags.clone();
                    rec.last_tag_time = if new.tags.is_empty() { 0 } else { now };
                    idx.images.push(rec);
                }
            }
            out.push(Committed { id: new.record.id.clone(), tags: new.tags.clone(), moved });
        }
        self.write_index(&idx)?;
        // What was not moved into the store is removed when `st` drops.
        st.extracted = unused;
        Ok(out)
    }

    /// Point `tag` (full name) at image `id`, moving it from any other image.
    pub fn tag(&self, id: &str, tag: &str) -> Result<()> {
        let _lock = self.lock()?;
        let mut idx = self.read_index()?;
        if !idx.images.iter().any(|i| i.id == id) {
            return Err(Error::NoSuchImage(id.to_string()));
        }
        for img in idx.images.iter_mut() {
            if img.id == id {
                if !img.repo_tags.iter().any(|t| t == tag) {
                    img.repo_tags.push(tag.to_string());
                }
                img.last_tag_time = now_secs();
            } else {
                img.repo_tags.retain(|t| t != tag);
            }
        }
        self.write_index(&idx)
    }

    /// Change the index under the lock; `f` returns the images to delete
    /// (which then lose their layers and blobs if nothing else uses them).
    pub fn update<T>(&self, f: impl FnOnce(&mut Vec<ImageRecord>) -> Result<T>) -> Result<T> {
        let _lock = self.lock()?;
        let mut idx = self.read_index()?;
        let out = f(&mut idx.images)?;
        self.write_index(&idx)?;
        self.gc_locked(&idx)?;
        Ok(out)
    }

    /// Remove layers and blobs no image refers to, and scratch space left by
    /// killed processes.
    pub fn gc(&self) -> Result<()> {
        let _lock = self.lock()?;
        let idx = self.read_index()?;
        self.gc_locked(&idx)
    }

    fn gc_locked(&self, idx: &Index) -> Result<()> {
        let mut keep_layers: HashSet<String> = HashSet::new();
        let mut keep_blobs: HashSet<String> = HashSet::new();
        for img in &idx.images {
            keep_blobs.insert(hex_of(&img.id).to_string());
            for l in &img.layers {
                keep_layers.insert(hex_of(l).to_string());
            }
        }
        // Layers a staging in progress reuses (see pin_layers).
        let tmp = self.root.join("tmp");
        let stale: HashSet<PathBuf> = state::stale_temp_entries(&tmp).into_iter().collect();
        for ent in read_names(&tmp) {
            if !stale.contains(&tmp.join(&ent)) {
                if let Ok(text) = fs::read_to_string(tmp.join(&ent).join(PINS)) {
                    keep_layers.extend(text.lines().map(String::from));
                }
            }
        }
        let mut doomed = Vec::new();
        let layers = self.root.join("layers");
        for ent in read_names(&layers) {
            if !keep_layers.contains(&ent) {
                doomed.push(layers.join(&ent));
            } else if let Ok(Some(rec)) = state::read_json::<LayerRecord>(&layers.join(&ent).join("layer.json")) {
                // A layer's source blob lives exactly as long as the layer.
                keep_blobs.insert(hex_of(&rec.blob).to_string());
            }
        }
        // keep-id copies of layers no image uses any more
        for map in read_names(&self.root.join("keepid")) {
            let dir = self.root.join("keepid").join(&map);
            for ent in read_names(&dir) {
                if !keep_layers.contains(&ent) {
                    doomed.push(dir.join(&ent));
                }
            }
        }
        for ent in read_names(&self.root.join("blobs/sha256")) {
            if !keep_blobs.contains(&ent) {
                let _ = fs::remove_file(self.root.join("blobs/sha256").join(&ent));
            }
        }
        // Downloads a killed pull left for the next one to resume: kept a day.
        if let Ok(rd) = fs::read_dir(self.root.join("pull")) {
            for e in rd.flatten() {
                let old = e.metadata().ok().and_then(|m| m.modified().ok()).and_then(|t| t.elapsed().ok());
                if old.is_some_and(|d| d.as_secs() > 24 * 3600) {
                    let _ = fs::remove_file(e.path());
                }
            }
        }
        let mut remove: Vec<PathBuf> = stale.into_iter().collect();
        if !doomed.is_empty() {
            remove.push(self.move_to_trash(&doomed)?);
        }
        if !remove.is_empty() {
            userns::run(userns::Request::Remove(remove))?;
        }
        Ok(())
    }

    /// Move directories out of the store (atomic, under the lock) into one
    /// trash directory the caller deletes through the userns helper: their
    /// files belong to mapped ids.
    fn move_to_trash(&self, dirs: &[PathBuf]) -> Result<PathBuf> {
        let bin = TempDir::new(&self.root.join("tmp"), "trash")?;
        for (n, d) in dirs.iter().enumerate() {
            fs::rename(d, bin.path().join(n.to_string())).ctx(|| format!("remove {}", d.display()))?;
        }
        Ok(bin.keep())
    }

    fn trash(&self, dirs: &[PathBuf]) -> Result<()> {
        let bin = self.move_to_trash(dirs)?;
        userns::run(userns::Request::Remove(vec![bin]))?;
        Ok(())
    }

    /// Where `--userns=keep-id` copies of layers live for this uid/gid.
    pub fn keep_id_root(&self, uid: u32, gid: u32) -> PathBuf {
        self.root.join("keepid").join(format!("{uid}_{gid}"))
    }

    /// Make (once, then shared) the keep-id copies of `layers`: podman's
    /// approach where idmapped mounts are not available to a user.
    pub fn ensure_keep_id(&self, layers: &[String], uid: u32, gid: u32) -> Result<PathBuf> {
        let root = self.keep_id_root(uid, gid);
        state::ensure_dir(&root)?;
        for l in layers {
            let dest = root.join(hex_of(l));
            if dest.join("diff").exists() {
                continue;
            }
            let tmp = TempDir::new(&self.root.join("tmp"), "keepid")?;
            let dir = tmp.keep();
            let res = userns::run(userns::Request::CopyKeepId {
                src: self.layer_dir(l).join("diff"),
                dst: dir.join("diff"),
                uid,
                gid,
            });
            let res = res.and_then(|_| {
                let _lock = self.lock()?;
                if dest.exists() {
                    return Err(Error::Other(String::new()));
                }
                fs::rename(&dir, &dest).ctx(|| format!("store keep-id layer {}", hex_of(l)))
            });
            if let Err(e) = res {
                userns::run(userns::Request::Remove(vec![dir]))?;
                if !matches!(&e, Error::Other(m) if m.is_empty()) {
                    return Err(e);
                }
            }
        }
        Ok(root)
    }

    /// Sum of the store's layer content sizes used by `images` (each layer once).
    pub fn shared_size(&self, images: &[&ImageRecord]) -> u64 {
        let mut seen = HashSet::new();
        let mut total = 0;
        for img in images {
            for l in &img.layers {
                if seen.insert(l.clone()) {
                    total += self.layer(l).map(|r| r.size).unwrap_or(0);
                }
            }
        }
        total
    }
}

fn read_names(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .map(|rd| {
            rd.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| !n.starts_with('.')).collect()
        })
        .unwrap_or_default()
}

pub fn hex_of(digest: &str) -> &str {
    digest.strip_prefix("sha256:").unwrap_or(digest)
}

pub fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// Docker's lookup order for an image argument.
pub fn resolve_in<'a>(images: &'a [ImageRecord], arg: &str) -> Result<&'a ImageRecord> {
    if let Some(hex) = arg.strip_prefix("sha256:") {
        if reference::is_hex(hex) {
            return by_prefix(images, hex, arg);
        }
    }
    if let Ok(r) = Reference::parse(arg) {
        let r = r.with_default_tag();
        let found = if let Some(d) = &r.digest {
            let want = format!("{}@{d}", r.full_name());
            images.iter().find(|i| i.repo_digests.contains(&want))
        } else {
            let want = r.full_tagged().unwrap_or_default();
            images.iter().find(|i| i.repo_tags.contains(&want))
        };
        if let Some(i) = found {
            return Ok(i);
        }
    }
    if reference::is_hex(arg) && arg.len() <= 64 {
        return by_prefix(images, arg, arg);
    }
    match Reference::parse(arg) {
        Ok(r) => Err(Error::NoSuchImage(r.with_default_tag().familiar())),
        Err(e) => Err(e),
    }
}

fn by_prefix<'a>(images: &'a [ImageRecord], hex: &str, arg: &str) -> Result<&'a ImageRecord> {
    let matches: Vec<&ImageRecord> = images.iter().filter(|i| hex_of(&i.id).starts_with(hex)).collect();
    match matches.len() {
        0 => Err(Error::NoSuchImage(arg.to_string())),
        1 => Ok(matches[0]),
        n => Err(Error::AmbiguousId { prefix: arg.to_string(), count: n }),
    }
}

/// Which images carry each layer: used to tell shared from unique sizes.
pub fn layer_users(images: &[ImageRecord]) -> HashMap<&str, usize> {
    let mut m = HashMap::new();
    for img in images {
        let uniq: HashSet<&str> = img.layers.iter().map(|s| s.as_str()).collect();
        for l in uniq {
            *m.entry(l).or_insert(0) += 1;
        }
    }
    m
}
