//! `push`: upload an image's blobs (skipping those the registry has, mounting
//! from another repository of the same registry where possible) and then its
//! manifest, Docker schema 2 by default or OCI.
//!
//! Layers stored uncompressed (imported, built, or loaded from an
//! uncompressed archive) are gzip-compressed once, and the compressed blob
//! replaces the uncompressed one in the store, so pushing again costs nothing.

use std::fs::{self, File};
use std::io::{BufReader, BufWriter, Read, Write};
use std::sync::Arc;

use serde_json::json;

use super::client::{Body, Client};
use super::progress::Progress;
use super::{scope, RegistryError as E};
use crate::image::config::*;
use crate::image::reference::Reference;
use crate::image::store::{hex_of, ImageRecord, LayerRecord, Store};
use crate::storage::compress::Compression;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Docker,
    Oci,
}

pub struct Pushed {
    pub digest: String,
    pub size: usize,
}

/// A blob to upload: where it is, what it is.
pub(super) struct Blob {
    pub digest: String,
    pub size: u64,
    pub media_type: String,
    pub path: std::path::PathBuf,
}

/// Compress an uncompressed layer for the registry and record the
/// compressed blob as the layer's blob.
fn compressed_layer(store: &Store, rec: &LayerRecord) -> crate::Result<LayerRecord> {
    let src = store.blob_path(&rec.blob);
    let tmp = crate::state::TempDir::new(&store.root().join("tmp"), "compress")?;
    let out_path = tmp.path().join("blob");
    let io = |e: std::io::Error| crate::Error::io(format!("compress layer {}", &hex_of(&rec.diff_id)[..12]), e);
    let input = BufReader::with_capacity(1 << 20, File::open(&src).map_err(io)?);
    let out = BufWriter::with_capacity(1 << 20, File::create(&out_path).map_err(io)?);
    let mut hashing = HashingWriter { inner: out, hasher: <sha2::Sha256 as sha2::Digest>::new(), count: 0 };
    {
        // Level 1: layers are pushed on the hot path of CI jobs; the size
        // difference against level 6 is a few percent for typical layers.
        let mut gz = flate2::write::GzEncoder::new(&mut hashing, flate2::Compression::fast());
        std::io::copy(&mut input.take(u64::MAX), &mut gz).map_err(io)?;
        gz.finish().map_err(io)?;
    }
    hashing.inner.flush().map_err(io)?;
    let digest = format!("sha256:{}", crate::storage::compress::hex(&sha2::Digest::finalize(hashing.hasher)));
    let new = LayerRecord { blob: digest.clone(), blob_size: hashing.count, compression: "gzip".into(), ..rec.clone() };
    // Publish under the store lock: the blob first, then the record that refers to it.
    let _lock = store.lock()?;
    let dest = store.blob_path(&digest);
    if !dest.exists() {
        fs::rename(&out_path, &dest).map_err(io)?;
    }
    crate::state::write_json(&store.layer_dir(&rec.diff_id).join("layer.json"), &new)?;
    if rec.blob != rec.diff_id || rec.blob != digest {
        // The uncompressed copy is no longer anyone's blob.
        let _ = fs::remove_file(&src);
    }
    Ok(new)
}

struct HashingWriter<W> {
    inner: W,
    hasher: sha2::Sha256,
    count: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        sha2::Digest::update(&mut self.hasher, &buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Push `image` as `target` (tagged or digested reference).
pub fn push(
    store: &Store,
    client: &Client,
    image: &ImageRecord,
    target: &Reference,
    format: Format,
    progress: &Arc<Progress>,
) -> Result<Pushed, E> {
    let repo = &target.repository;
    let local = |e: crate::Error| E::Local(e.to_string());
    let mut blobs = Vec::new();
    for diff in &image.layers {
        let mut rec = store.layer(diff).map_err(local)?;
        if rec.compression == Compression::None.name() {
            rec = compressed_layer(store, &rec).map_err(local)?;
        }
        let media_type = match (format, rec.compression.as_str()) {
            (Format::Docker, "zstd") => MEDIA_OCI_LAYER_ZSTD,
            (Format::Docker, _) => MEDIA_DOCKER_LAYER_GZIP,
            (Format::Oci, "zstd") => MEDIA_OCI_LAYER_ZSTD,
            (Format::Oci, _) => MEDIA_OCI_LAYER_GZIP,
        };
        blobs.push(Blob {
            path: store.blob_path(&rec.blob),
            digest: rec.blob,
            size: rec.blob_size,
            media_type: media_type.into(),
        });
    }
    let config_path = store.blob_path(&image.id);
    let config_size = fs::metadata(&config_path).map_err(|e| E::Local(format!("read image config: {e}")))?.len();
    let config = Blob {
        digest: image.id.clone(),
        size: config_size,
        media_type: if format == Format::Docker { MEDIA_DOCKER_CONFIG } else { MEDIA_OCI_CONFIG }.into(),
        path: config_path,
    };
    // Repositories of the same registry that may hold these blobs already.
    let mut mount_from: Vec<String> = Vec::new();
    for name in image.repo_digests.iter().chain(&image.repo_tags) {
        if let Ok(r) = Reference::parse(name) {
            if r.registry == target.registry && r.repository != *repo && !mount_from.contains(&r.repository) {
                mount_from.push(r.repository);
            }
        }
    }
    let sc = format!(
        "{} {}",
        scope(repo, "pull,push"),
        mount_from.iter().map(|r| scope(r, "pull")).collect::<Vec<_>>().join(" ")
    );
    let sc = sc.trim().to_string();

    let ticker = progress.start_ticker();
    let bars: Vec<_> = blobs.iter().map(|b| progress.bar(&hex_of(&b.digest)[..12], "Preparing", b.size)).collect();
    let results: Vec<Result<(), E>> = std::thread::scope(|s| {
        let handles: Vec<_> = blobs
            .iter()
            .zip(&bars)
            .map(|(b, bar)| {
                let (sc, mount_from) = (&sc, &mount_from);
                s.spawn(move || {
                    let r = upload_blob(client, repo, sc, b, mount_from)?;
                    bar.status(&r);
                    Ok(())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(E::Local("upload thread panicked".into()))))
            .collect()
    });
    progress.finish(ticker);
    for r in results {
        r?;
    }
    upload_blob(client, repo, &sc, &config, &mount_from)?;

    let layers: Vec<_> =
        blobs.iter().map(|b| json!({"mediaType": b.media_type, "size": b.size, "digest": b.digest})).collect();
    let media_type = if format == Format::Docker { MEDIA_DOCKER_MANIFEST } else { MEDIA_OCI_MANIFEST };
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": {"mediaType": config.media_type, "size": config.size, "digest": config.digest},
        "layers": layers,
    });
    let bytes = docker_indent(&manifest);
    let digest = crate::storage::compress::sha256_digest(&bytes);
    let reference = target.digest.clone().or_else(|| target.tag.clone()).unwrap_or_else(|| "latest".into());
    put_manifest(client, repo, &reference, media_type, &bytes, &sc)?;
    Ok(Pushed { digest, size: bytes.len() })
}

/// Manifests as Docker writes them: indented with three spaces.
pub fn docker_indent(v: &serde_json::Value) -> Vec<u8> {
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"   ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    serde::Serialize::serialize(v, &mut ser).expect("json");
    out
}

pub fn put_manifest(
    client: &Client,
    repo: &str,
    reference: &str,
    media_type: &str,
    bytes: &[u8],
    sc: &str,
) -> Result<(), E> {
    client.send(
        "PUT",
        &format!("/v2/{repo}/manifests/{reference}"),
        sc,
        &[("Content-Type", media_type)],
        Body::Bytes(bytes),
    )?;
    Ok(())
}

/// Upload one blob unless the registry has it; returns Docker's status word.
pub(super) fn upload_blob(client: &Client, repo: &str, sc: &str, b: &Blob, mount_from: &[String]) -> Result<String, E> {
    if blob_exists(client, repo, sc, &b.digest)? {
        return Ok("Layer already exists".into());
    }
    let mut location = None;
    for from in mount_from {
        let path = format!("/v2/{repo}/blobs/uploads/?mount={}&from={from}", b.digest);
        let resp = client.send("POST", &path, sc, &[], Body::Empty)?;
        if resp.status() == 201 {
            return Ok(format!("Mounted from {}", crate::image::reference::familiar(from)));
        }
        // 202: the registry could not mount and opened an upload instead.
        location = resp.header("location").map(str::to_string);
        if location.is_some() {
            break;
        }
    }
    let location = match location {
        Some(l) => l,
        None => {
            let resp = client.send("POST", &format!("/v2/{repo}/blobs/uploads/"), sc, &[], Body::Empty)?;
            resp.header("location")
                .map(str::to_string)
                .ok_or_else(|| E::Protocol("the registry opened an upload without a Location".into()))?
        }
    };
    let url = absolute(client, &location)?;
    let sep = if url.contains('?') { '&' } else { '?' };
    let put = format!("{url}{sep}digest={}", b.digest);
    client.send("PUT", &put, sc, &[("Content-Type", "application/octet-stream")], Body::File(&b.path))?;
    Ok("Pushed".into())
}

fn absolute(client: &Client, location: &str) -> Result<String, E> {
    if location.starts_with("http://") || location.starts_with("https://") {
        Ok(location.to_string())
    } else {
        client.url(location)
    }
}

pub fn blob_exists(client: &Client, repo: &str, sc: &str, digest: &str) -> Result<bool, E> {
    match client.send("HEAD", &format!("/v2/{repo}/blobs/{digest}"), sc, &[], Body::Empty) {
        Ok(_) => Ok(true),
        Err(e) if e.is_not_found() => Ok(false),
        Err(e) => Err(e),
    }
}
