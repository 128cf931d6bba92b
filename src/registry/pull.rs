//! `pull`: resolve a reference to one image manifest (through a manifest
//! list or OCI index, for the wanted platform), then download the layers the
//! store lacks, several at a time, each decompressed and extracted while it
//! streams: the download writes the blob to the pull cache and, through a
//! FIFO, to an extraction helper in the user namespace.
//!
//! Atomicity: layers are extracted into the command's staging directory and
//! the image appears only when `Store::commit` publishes everything at once.
//! Verified blobs stay in `DATA/pull/` until then, and a download cut short
//! stays as `HEX.partial`, so a pull killed at any moment leaves no half
//! image and the next pull continues where it stopped (with an HTTP range
//! request where the registry supports them).

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use sha2::Digest;

use super::client::{Body, Client, TlsVerify};
use super::config::RegistryConfig;
use super::progress::{Bar, Progress};
use super::{scope, RegistryError as E, ACCEPT_MANIFESTS, MAX_MANIFEST};
use crate::error::{Error, Result};
use crate::image::config::{Descriptor, ImageConfig, Manifest};
use crate::image::reference::Reference;
use crate::image::store::{hex_of, ImageRecord, LayerRecord, NewImage, Store};
use crate::storage::compress::{hex, Compression};
use crate::storage::userns::{self, ExtractJob, ExtractOutcome};

/// How many layers download at once (Docker's default is 3; extraction
/// overlaps with the network, so one more keeps both cores busy).
const PARALLEL: usize = 4;
/// Image configs larger than this are refused.
const MAX_CONFIG: u64 = 8 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub arch: String,
    pub variant: Option<String>,
}

impl Platform {
    pub fn host() -> Platform {
        Platform { os: "linux".into(), arch: crate::image::config::host_arch().into(), variant: None }
    }

    /// `os/arch[/variant]`.
    pub fn parse(s: &str) -> Result<Platform> {
        let parts: Vec<&str> = s.split('/').collect();
        let ok = |p: &&str| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
        if !(2..=3).contains(&parts.len()) || !parts.iter().all(ok) {
            return Err(Error::InvalidArgument(format!(
                "invalid platform {s:?}: use os/arch[/variant], for example linux/amd64 or linux/arm64/v8"
            )));
        }
        let arch = match parts[1] {
            "x86_64" | "x86-64" => "amd64",
            "aarch64" => "arm64",
            a => a,
        };
        Ok(Platform { os: parts[0].into(), arch: arch.into(), variant: parts.get(2).map(|v| v.to_string()) })
    }

    fn matches(&self, p: Option<&serde_json::Value>) -> bool {
        let Some(p) = p else { return false };
        let get = |k: &str| p.get(k).and_then(|v| v.as_str()).unwrap_or("");
        if get("os") != self.os || get("architecture") != self.arch {
            return false;
        }
        match &self.variant {
            None => true,
            // arm64 without a variant means v8.
            Some(v) => get("variant") == v || (v == "v8" && get("variant").is_empty()),
        }
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.arch)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

pub struct PullOptions {
    pub platform: Option<Platform>,
    pub tls: TlsVerify,
    /// Credentials given with the request, before the saved ones.
    pub auth: super::auth::Supplied,
}

pub struct Pulled {
    pub id: String,
    /// What the image was pulled as, full name (`docker.io/library/busybox:latest`).
    pub name: String,
    pub digest: String,
    /// The name already pointed at this image (Docker's "Image is up to date").
    pub up_to_date: bool,
}

/// A manifest as fetched: its bytes, digest and parsed form.
pub struct Fetched {
    pub bytes: Vec<u8>,
    pub digest: String,
    pub media_type: String,
    pub manifest: Manifest,
}

/// A client for `host` with the credentials for `cred_host` (supplied, else saved).
pub fn connect(
    cfg: &RegistryConfig,
    config_dir: &Path,
    host: &str,
    cred_host: &str,
    tls: TlsVerify,
    auth: &super::auth::Supplied,
) -> Result<Client, E> {
    Client::new(host, cfg, tls, super::auth::lookup_with(config_dir, cred_host, auth))
}

/// GET a manifest by tag or digest, verified and size-limited.
pub fn fetch_manifest(client: &Client, repo: &str, reference: &str) -> Result<Fetched, E> {
    let path = format!("/v2/{repo}/manifests/{reference}");
    let resp = client.send("GET", &path, &scope(repo, "pull"), &[("Accept", ACCEPT_MANIFESTS)], Body::Empty)?;
    let ctype = resp.header("content-type").unwrap_or("").split(';').next().unwrap_or("").trim().to_string();
    let mut bytes = Vec::new();
    resp.into_reader()
        .take(MAX_MANIFEST + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| E::Transport(format!("reading manifest: {e}")))?;
    if bytes.len() as u64 > MAX_MANIFEST {
        return Err(E::Protocol(format!("manifest is larger than {} MiB: refusing it", MAX_MANIFEST >> 20)));
    }
    let digest = format!("sha256:{}", hex(&sha2::Sha256::digest(&bytes)));
    if reference.starts_with("sha256:") && reference != digest {
        return Err(E::Integrity(format!("manifest does not match its digest {reference} (got {digest})")));
    }
    let v: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| E::Protocol(format!("malformed manifest JSON: {e}")))?;
    if v.get("schemaVersion").and_then(|s| s.as_u64()) == Some(1) {
        return Err(E::Protocol(
            "schema 1 manifests are not supported: push the image again with a current client".into(),
        ));
    }
    let manifest: Manifest = serde_json::from_value(v).map_err(|e| E::Protocol(format!("malformed manifest: {e}")))?;
    let media_type = if !manifest.media_type.is_empty() { manifest.media_type.clone() } else { ctype };
    Ok(Fetched { bytes, digest, media_type, manifest })
}

/// Pick the entry of an index for `platform`.
pub fn select_platform<'a>(index: &'a Manifest, platform: &Platform) -> Option<&'a Descriptor> {
    index.manifests.as_deref().unwrap_or_default().iter().find(|d| platform.matches(d.platform.as_ref()))
}

/// A small blob (an image config), verified against its descriptor.
pub fn fetch_small_blob(client: &Client, repo: &str, d: &Descriptor, limit: u64) -> Result<Vec<u8>, E> {
    if d.size > limit {
        return Err(E::Protocol(format!("blob {} is too large ({} bytes)", d.digest, d.size)));
    }
    let resp = client.send("GET", &format!("/v2/{repo}/blobs/{}", d.digest), &scope(repo, "pull"), &[], Body::Empty)?;
    let mut bytes = Vec::new();
    resp.into_reader()
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| E::Transport(format!("reading blob {}: {e}", d.digest)))?;
    check_blob(&bytes, d)?;
    Ok(bytes)
}

fn check_blob(bytes: &[u8], d: &Descriptor) -> Result<(), E> {
    let got = format!("sha256:{}", hex(&sha2::Sha256::digest(bytes)));
    if bytes.len() as u64 != d.size || got != d.digest {
        return Err(E::Integrity(format!(
            "blob {} does not match its descriptor (got {} bytes, digest {got})",
            d.digest,
            bytes.len()
        )));
    }
    Ok(())
}

/// Resolve `reference` to a single-image manifest: follow an index to the
/// entry for `platform`. Returns (the digest to record, the image manifest).
fn resolve_image_manifest(
    client: &Client,
    repo: &str,
    reference: &str,
    platform: &Platform,
) -> Result<(String, Fetched), E> {
    let top = fetch_manifest(client, repo, reference)?;
    if !top.manifest.is_index() {
        return Ok((top.digest.clone(), top));
    }
    let entry = select_platform(&top.manifest, platform)
        .ok_or_else(|| E::Protocol(format!("no matching manifest for {platform} in the manifest list entries")))?;
    let one = fetch_manifest(client, repo, &entry.digest)?;
    if one.manifest.is_index() {
        return Err(E::Protocol(format!("manifest list entry {} is itself a list", entry.digest)));
    }
    Ok((top.digest, one))
}

/// `rcon pull` of one reference (tag defaulted by the caller).
pub fn pull(
    store: &Store,
    cfg: &RegistryConfig,
    r: &Reference,
    opts: &PullOptions,
    progress: &Arc<Progress>,
) -> Result<Pulled, E> {
    let platform = opts.platform.clone().unwrap_or_else(Platform::host);
    let reference = r.digest.clone().or_else(|| r.tag.clone()).unwrap_or_else(|| "latest".into());
    let repo = &r.repository;
    // Mirrors first (Docker Hub only), then the registry itself.
    let mut sources = cfg.mirrors_for(&r.registry);
    sources.push(r.registry.clone());
    let mut last_err = None;
    let mut found = None;
    for (i, host) in sources.iter().enumerate() {
        let is_mirror = i + 1 < sources.len();
        let cred_host = if is_mirror { host } else { &r.registry };
        let client = match connect(cfg, &store.paths.config, host, cred_host, opts.tls, &opts.auth) {
            Ok(c) => c,
            Err(e) => {
                last_err = Some(e);
                continue;
            }
        };
        match resolve_image_manifest(&client, repo, &reference, &platform) {
            Ok(m) => {
                found = Some((client, m));
                break;
            }
            Err(e) => last_err = Some(e),
        }
    }
    let Some((client, (record_digest, image_manifest))) = found else {
        return Err(last_err.unwrap_or_else(|| E::Protocol("no registry to pull from".into())));
    };
    let m = &image_manifest.manifest;
    let config_desc = m.config.as_ref().ok_or_else(|| E::Protocol("the image manifest has no config".into()))?;
    let layer_descs = m.layers.clone().unwrap_or_default();
    // Docker names the repository by its path, without the registry
    // (`Pulling from library/busybox`, `Pulling from team/app`).
    progress.item(&reference, &format!("Pulling from {repo}"));
    let config_bytes = fetch_small_blob(&client, repo, config_desc, MAX_CONFIG)?;
    let config: ImageConfig =
        serde_json::from_slice(&config_bytes).map_err(|e| E::Protocol(format!("malformed image config: {e}")))?;
    if config.rootfs.diff_ids.len() != layer_descs.len() {
        return Err(E::Protocol(format!(
            "the manifest lists {} layers but the image config {}",
            layer_descs.len(),
            config.rootfs.diff_ids.len()
        )));
    }
    let id = config_desc.digest.clone();
    let name = match &r.digest {
        Some(d) => format!("{}/{repo}@{d}", r.registry),
        None => format!("{}/{repo}:{reference}", r.registry),
    };
    let repo_digest = format!("{}/{repo}@{record_digest}", r.registry);
    let tags = if r.digest.is_some() { Vec::new() } else { vec![name.clone()] };

    let local = store.images().map_err(|e| E::Local(e.to_string()))?;
    let have = local.iter().find(|i| i.id == id && i.layers.iter().all(|l| store.has_layer(l)));
    // Docker's "Image is up to date" means the name already pointed here;
    // a new tag for an image we have is "Downloaded newer image" (with
    // nothing to download).
    let up_to_date = have.is_some_and(|i| match tags.first() {
        Some(t) => i.repo_tags.contains(t),
        None => i.repo_digests.contains(&repo_digest),
    });

    let mut st = store.staging("pull").map_err(|e| E::Local(e.to_string()))?;
    let config_path = st.dir().join("config");
    fs::write(&config_path, &config_bytes).map_err(|e| E::Local(format!("write config: {e}")))?;
    st.add_blob(config_path, id.clone());

    let mut sizes = std::collections::HashMap::new();
    // An image we have is not pulled again, and shows no layer rows (as dockerd).
    if have.is_none() {
        let layers_dir = st.dir().join("layers");
        fs::create_dir(&layers_dir).map_err(|e| E::Local(format!("create {}: {e}", layers_dir.display())))?;
        let cache = store.root().join("pull");
        crate::state::ensure_dir(&cache).map_err(|e| E::Local(e.to_string()))?;
        let mut jobs = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let stored = store.pin_layers(&st, &config.rootfs.diff_ids).map_err(|e| E::Local(e.to_string()))?;
        for (d, diff) in layer_descs.iter().zip(&config.rootfs.diff_ids) {
            if !crate::image::reference::is_digest(&d.digest) || !crate::image::reference::is_digest(diff) {
                return Err(E::Protocol(format!("invalid layer digest {:?}", d.digest)));
            }
            let short = &hex_of(&d.digest)[..12];
            if stored.contains(diff) || !seen.insert(diff.clone()) {
                progress.bar(short, "Already exists", 0);
                continue;
            }
            let dir = layers_dir.join(hex_of(diff));
            fs::create_dir_all(dir.join("diff")).map_err(|e| E::Local(format!("create {}: {e}", dir.display())))?;
            st.note_extracted(dir.clone());
            let bar = progress.bar(short, "Pulling fs layer", d.size);
            jobs.push(LayerJob { desc: d.clone(), diff_id: diff.clone(), dir, bar });
        }
        let ticker = progress.start_ticker();
        let results = run_jobs(&client, repo, &cache, &layers_dir, jobs);
        progress.finish(ticker);
        for done in results? {
            let rec = LayerRecord {
                diff_id: done.diff_id.clone(),
                size: done.outcome.size,
                tar_size: done.outcome.tar_size,
                blob: done.blob_digest.clone(),
                blob_size: done.blob_size,
                compression: done.compression.name().into(),
            };
            crate::state::write_json(&done.dir.join("layer.json"), &rec).map_err(|e| E::Local(e.to_string()))?;
            sizes.insert(done.diff_id.clone(), done.outcome.size);
            st.add_layer(done.dir.clone(), done.diff_id.clone());
            st.add_blob(done.blob_path.clone(), done.blob_digest.clone());
        }
    }
    let mut record = ImageRecord::from_config(store, &id, &config, &sizes).map_err(|e| E::Local(e.to_string()))?;
    record.repo_digests = vec![repo_digest];
    st.images.push(NewImage { record, tags });
    store.commit(st).map_err(|e| E::Local(e.to_string()))?;
    progress.line(&format!("Digest: {record_digest}"));
    Ok(Pulled { id, name, digest: record_digest, up_to_date })
}

/// Tags of a repository (`pull -a`), following `Link` pagination.
pub fn list_tags(client: &Client, repo: &str) -> Result<Vec<String>, E> {
    let mut out = Vec::new();
    let mut path = format!("/v2/{repo}/tags/list");
    for _ in 0..100 {
        let resp = client.send("GET", &path, &scope(repo, "pull"), &[], Body::Empty)?;
        let link = resp.header("link").map(str::to_string);
        let v: serde_json::Value = serde_json::from_reader(resp.into_reader().take(MAX_MANIFEST))
            .map_err(|e| E::Protocol(format!("malformed tag list: {e}")))?;
        out.extend(
            v.get("tags").and_then(|t| t.as_array()).into_iter().flatten().filter_map(|t| t.as_str().map(String::from)),
        );
        match link.as_deref().and_then(|l| l.split(';').next()).map(|l| l.trim().trim_matches(['<', '>'])) {
            Some(next) if !next.is_empty() => path = next.to_string(),
            _ => break,
        }
    }
    Ok(out)
}

struct LayerJob {
    desc: Descriptor,
    diff_id: String,
    dir: PathBuf,
    bar: Bar,
}

struct LayerDone {
    diff_id: String,
    dir: PathBuf,
    blob_digest: String,
    blob_path: PathBuf,
    blob_size: u64,
    compression: Compression,
    outcome: ExtractOutcome,
}

/// Run the layer jobs on PARALLEL threads; the first failure cancels the rest.
fn run_jobs(
    client: &Client,
    repo: &str,
    cache: &Path,
    staging: &Path,
    jobs: Vec<LayerJob>,
) -> Result<Vec<LayerDone>, E> {
    let queue = Mutex::new(jobs.into_iter().collect::<std::collections::VecDeque<_>>());
    let cancel = AtomicBool::new(false);
    let results: Mutex<Vec<Result<LayerDone, E>>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..PARALLEL {
            s.spawn(|| loop {
                if cancel.load(Ordering::Relaxed) {
                    break;
                }
                let Some(job) = queue.lock().unwrap().pop_front() else { break };
                let r = fetch_layer(client, repo, cache, staging, &job, &cancel);
                if r.is_err() {
                    cancel.store(true, Ordering::Relaxed);
                }
                results.lock().unwrap().push(r);
            });
        }
    });
    let mut out = Vec::new();
    let mut first_err = None;
    for r in results.into_inner().unwrap() {
        match r {
            Ok(d) => out.push(d),
            Err(E::Local(m)) if m == CANCELLED => {}
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

const CANCELLED: &str = "cancelled";

fn fetch_layer(
    client: &Client,
    repo: &str,
    cache: &Path,
    staging: &Path,
    job: &LayerJob,
    cancel: &AtomicBool,
) -> Result<LayerDone, E> {
    let d = &job.desc;
    let complete = cache.join(hex_of(&d.digest));
    let short = &hex_of(&d.digest)[..12];
    let dest = job.dir.join("diff");
    let outcome = if fs::metadata(&complete).map(|m| m.len() == d.size).unwrap_or(false) {
        // Downloaded and verified by an earlier, interrupted pull.
        job.bar.status("Download complete");
        job.bar.counting("Extracting");
        extract(vec![ExtractJob { src: complete.clone(), dest }])?
    } else {
        let fifo = staging.join(short);
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600))
            .map_err(|e| E::Local(format!("create {}: {e}", fifo.display())))?;
        let (extracted, downloaded) = std::thread::scope(|s| {
            let fifo_r = fifo.clone();
            let ex = s.spawn(move || extract(vec![ExtractJob { src: fifo_r, dest }]));
            let dl = match open_fifo_writer(&fifo, &ex) {
                Some(w) => download(client, repo, cache, staging, job, w, cancel),
                None => Err(E::Local("the extraction helper did not start".into())),
            };
            (ex.join().unwrap_or_else(|_| Err(E::Local("extraction thread panicked".into()))), dl)
        });
        let _ = fs::remove_file(&fifo);
        // A download error explains a truncated stream; a tar error explains
        // a broken pipe. Report the cause.
        match (extracted, downloaded) {
            (Ok(o), Ok(())) => o,
            (_, Err(e)) if !matches!(e, E::Local(ref m) if m.contains("Broken pipe")) => return Err(e),
            (Err(e), _) => return Err(e),
            (Ok(_), Err(e)) => return Err(e),
        }
    };
    if outcome.diff_id != job.diff_id {
        return Err(E::Integrity(format!(
            "layer {short} does not match the image config: its content hashes to {} instead of {}",
            outcome.diff_id, job.diff_id
        )));
    }
    job.bar.status("Pull complete");
    let mut head = [0u8; 4];
    let n = File::open(&complete).and_then(|mut f| f.read(&mut head)).unwrap_or(0);
    Ok(LayerDone {
        diff_id: job.diff_id.clone(),
        dir: job.dir.clone(),
        blob_digest: d.digest.clone(),
        blob_path: complete,
        blob_size: d.size,
        compression: Compression::detect(&head[..n]),
        outcome,
    })
}

fn extract(jobs: Vec<ExtractJob>) -> Result<ExtractOutcome, E> {
    let mut v = userns::run(userns::Request::Extract(jobs)).map_err(|e| E::Protocol(e.to_string()))?;
    v.pop().ok_or_else(|| E::Local("the extraction helper returned nothing".into()))
}

/// Open the FIFO for writing without blocking forever: the reader is the
/// extraction helper, which may fail before it opens its end.
fn open_fifo_writer<T>(fifo: &Path, reader: &std::thread::ScopedJoinHandle<'_, T>) -> Option<File> {
    loop {
        match OpenOptions::new().write(true).custom_flags(libc::O_NONBLOCK).open(fifo) {
            Ok(f) => {
                use std::os::fd::AsRawFd;
                unsafe {
                    let fl = libc::fcntl(f.as_raw_fd(), libc::F_GETFL);
                    libc::fcntl(f.as_raw_fd(), libc::F_SETFL, fl & !libc::O_NONBLOCK);
                    // A 1 MiB pipe (the unprivileged maximum) instead of 64 KiB:
                    // fewer wake-ups between downloader and extractor.
                    libc::fcntl(f.as_raw_fd(), libc::F_SETPIPE_SZ, 1 << 20);
                }
                return Some(f);
            }
            Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {
                if reader.is_finished() {
                    return None;
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            Err(_) => return None,
        }
    }
}

/// Download a layer blob into the pull cache and the FIFO at once, resuming
/// a partial download with a range request, retrying broken connections.
fn download(
    client: &Client,
    repo: &str,
    cache: &Path,
    staging: &Path,
    job: &LayerJob,
    mut fifo: File,
    cancel: &AtomicBool,
) -> Result<(), E> {
    let d = &job.desc;
    let hexd = hex_of(&d.digest);
    let local = |e: std::io::Error| E::Local(format!("layer {}: {e}", &hexd[..12]));
    // The shared partial file, unless another pull is writing it: then a private one.
    let shared = cache.join(format!("{hexd}.partial"));
    let (mut part, part_path) = {
        let f = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&shared).map_err(local)?;
        if unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&f), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            (f, shared)
        } else {
            let p = staging.join(format!("{hexd}.partial"));
            (OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&p).map_err(local)?, p)
        }
    };
    let mut have = part.metadata().map_err(local)?.len();
    if have >= d.size {
        have = 0;
    }
    let mut hasher = sha2::Sha256::new();
    let mut offset = 0u64;
    let path = format!("/v2/{repo}/blobs/{}", d.digest);
    let sc = scope(repo, "pull");
    let mut retries = 0;
    let mut buf = vec![0u8; 256 * 1024];
    job.bar.counting("Downloading");
    'connect: loop {
        let want_from = if offset > 0 { offset } else { have };
        let range = format!("bytes={want_from}-");
        let headers: Vec<(&str, &str)> = if want_from > 0 { vec![("Range", &range)] } else { vec![] };
        let resp = client.send("GET", &path, &sc, &headers, Body::Empty)?;
        let partial_ok = resp.status() == 206;
        if offset == 0 {
            if want_from > 0 && partial_ok {
                // Resume: replay what we have to the hash and the extractor.
                part.rewind().map_err(local)?;
                let mut left = have;
                while left > 0 {
                    let chunk = left.min(buf.len() as u64) as usize;
                    let n = part.read(&mut buf[..chunk]).map_err(local)?;
                    if n == 0 {
                        return Err(local(std::io::Error::other("partial download shrank")));
                    }
                    hasher.update(&buf[..n]);
                    fifo.write_all(&buf[..n]).map_err(local)?;
                    left -= n as u64;
                }
                offset = have;
                job.bar.bytes.store(offset, Ordering::Relaxed);
            } else {
                part.set_len(0).map_err(local)?;
                part.rewind().map_err(local)?;
            }
        } else if !partial_ok {
            return Err(E::Transport(format!(
                "layer {}: the connection broke and the registry does not support resuming",
                &hexd[..12]
            )));
        }
        part.seek(std::io::SeekFrom::Start(offset)).map_err(local)?;
        let mut body = resp.into_reader();
        loop {
            if cancel.load(Ordering::Relaxed) || job.bar.gone() {
                return Err(E::Local(CANCELLED.into()));
            }
            let n = match body.read(&mut buf) {
                Ok(0) => break 'connect,
                Ok(n) => n,
                Err(e) if retries < 3 => {
                    retries += 1;
                    let _ = e;
                    std::thread::sleep(std::time::Duration::from_millis(200 << retries));
                    continue 'connect;
                }
                Err(e) => {
                    return Err(E::Transport(format!("layer {}: download failed: {e}", &hexd[..12])));
                }
            };
            if offset + n as u64 > d.size {
                let _ = fs::remove_file(&part_path);
                return Err(E::Integrity(format!(
                    "blob {} is larger than the {} bytes its descriptor says",
                    d.digest, d.size
                )));
            }
            part.write_all(&buf[..n]).map_err(local)?;
            hasher.update(&buf[..n]);
            fifo.write_all(&buf[..n]).map_err(local)?;
            offset += n as u64;
            job.bar.bytes.store(offset, Ordering::Relaxed);
        }
    }
    if offset < d.size {
        return Err(E::Integrity(format!(
            "blob {} is truncated: the registry sent {offset} of {} bytes",
            d.digest, d.size
        )));
    }
    job.bar.status("Verifying Checksum");
    let got = format!("sha256:{}", hex(&hasher.finalize()));
    if got != d.digest {
        let _ = fs::remove_file(&part_path);
        return Err(E::Integrity(format!("blob {} does not match its digest (got {got})", d.digest)));
    }
    job.bar.status("Download complete");
    drop(fifo);
    // No fsync: like the extracted layer files, a blob is only as durable as
    // the page cache until the kernel writes it; a torn blob after a crash
    // fails its digest check when it is next read (push, or a resumed pull).
    fs::rename(&part_path, cache.join(hexd)).map_err(local)?;
    job.bar.counting("Extracting");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms() {
        let p = Platform::parse("linux/arm64/v8").unwrap();
        assert_eq!(p.arch, "arm64");
        assert_eq!(p.variant.as_deref(), Some("v8"));
        assert!(p.matches(Some(&serde_json::json!({"os":"linux","architecture":"arm64"}))));
        assert!(!p.matches(Some(&serde_json::json!({"os":"linux","architecture":"amd64"}))));
        let v7 = Platform::parse("linux/arm/v7").unwrap();
        assert!(!v7.matches(Some(&serde_json::json!({"os":"linux","architecture":"arm","variant":"v6"}))));
        assert_eq!(Platform::parse("linux/x86_64").unwrap().arch, "amd64");
        for bad in ["linux", "linux/", "/amd64", "a/b/c/d", "linux/am d64"] {
            assert!(Platform::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Platform::parse("linux/arm/v7").unwrap().to_string(), "linux/arm/v7");
    }
}
