//! Local manifest lists (`rcon manifest create/add/annotate/push/rm`), kept
//! in `DATA/manifests/` until pushed, as Docker keeps them in
//! `~/.docker/manifests`. Entries refer to manifests already in a registry,
//! as with Docker: `create`/`add` read each entry's manifest and config to
//! learn its platform; `push` copies entries from other repositories of the
//! same registry (by blob mount) and then puts the list.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::client::Client;
use super::pull::fetch_manifest;
use super::{scope, RegistryError as E};
use crate::error::{Error, Result};
use crate::image::config::{
    ImageConfig, MEDIA_DOCKER_LIST, MEDIA_DOCKER_MANIFEST, MEDIA_OCI_INDEX, MEDIA_OCI_MANIFEST,
};
use crate::image::reference::Reference;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    /// Where the manifest lives: `registry/repo@digest`.
    pub source: String,
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    pub platform: Map<String, Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LocalList {
    /// Full name of the list, `registry/repo:tag`.
    pub name: String,
    pub entries: Vec<Entry>,
}

impl LocalList {
    /// The list as a registry document (Docker's list type unless an entry is OCI).
    pub fn document(&self) -> (String, Value) {
        let oci = self.entries.iter().any(|e| e.media_type == MEDIA_OCI_MANIFEST);
        let media = if oci { MEDIA_OCI_INDEX } else { MEDIA_DOCKER_LIST };
        let manifests: Vec<Value> = self
            .entries
            .iter()
            .map(|e| json!({"mediaType": e.media_type, "size": e.size, "digest": e.digest, "platform": e.platform}))
            .collect();
        (media.to_string(), json!({"schemaVersion": 2, "mediaType": media, "manifests": manifests}))
    }
}

fn dir(data: &Path) -> PathBuf {
    data.join("manifests")
}

fn file_for(data: &Path, name: &str) -> PathBuf {
    // Names contain '/' and ':'; the file name must not.
    dir(data).join(format!("{}.json", name.replace('/', "_").replace(':', "-").replace('@', "+")))
}

pub fn load(data: &Path, name: &str) -> Result<Option<LocalList>> {
    crate::state::read_json(&file_for(data, name))
}

pub fn save(data: &Path, list: &LocalList) -> Result<()> {
    crate::state::ensure_dir(&dir(data))?;
    crate::state::write_json(&file_for(data, &list.name), list)
}

pub fn remove(data: &Path, name: &str) -> Result<bool> {
    match std::fs::remove_file(file_for(data, name)) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io(format!("remove manifest list {name}"), e)),
    }
}

/// Read an entry for `r` from its registry: digest, size, media type and
/// the platform from its config.
pub fn entry_for(client: &Client, r: &Reference) -> Result<Entry, E> {
    let reference = r.digest.clone().or_else(|| r.tag.clone()).unwrap_or_else(|| "latest".into());
    let f = fetch_manifest(client, &r.repository, &reference)?;
    if f.manifest.is_index() {
        return Err(E::Protocol(format!("{} is a manifest list: add the images it lists instead", r.familiar())));
    }
    let cd = f.manifest.config.as_ref().ok_or_else(|| E::Protocol("the manifest has no config".into()))?;
    let resp = client.send(
        "GET",
        &format!("/v2/{}/blobs/{}", r.repository, cd.digest),
        &scope(&r.repository, "pull"),
        &[],
        super::client::Body::Empty,
    )?;
    let cfg: ImageConfig = serde_json::from_reader(std::io::Read::take(resp.into_reader(), 8 << 20))
        .map_err(|e| E::Protocol(format!("malformed image config: {e}")))?;
    let mut platform = Map::new();
    platform.insert("architecture".into(), json!(cfg.architecture));
    platform.insert("os".into(), json!(cfg.os));
    if let Some(v) = cfg.variant.filter(|v| !v.is_empty()) {
        platform.insert("variant".into(), json!(v));
    }
    let media_type = if f.media_type == MEDIA_OCI_MANIFEST { MEDIA_OCI_MANIFEST } else { MEDIA_DOCKER_MANIFEST };
    Ok(Entry {
        source: format!("{}/{}@{}", r.registry, r.repository, f.digest),
        media_type: media_type.into(),
        digest: f.digest,
        size: f.bytes.len() as u64,
        platform,
    })
}

/// Make sure the manifest of `e` exists in `repo` of the same registry:
/// mount its blobs from the source repository, then put the manifest there.
pub fn copy_entry(client: &Client, repo: &str, e: &Entry) -> Result<(), E> {
    let src = Reference::parse(&e.source).map_err(|x| E::Local(x.to_string()))?;
    if src.repository == repo {
        return Ok(());
    }
    let sc = format!("{} {}", scope(repo, "pull,push"), scope(&src.repository, "pull"));
    let f = fetch_manifest(client, &src.repository, &e.digest)?;
    let mut digests: Vec<String> = f.manifest.layers.iter().flatten().map(|d| d.digest.clone()).collect();
    digests.extend(f.manifest.config.iter().map(|d| d.digest.clone()));
    for d in digests {
        if super::push::blob_exists(client, repo, &sc, &d)? {
            continue;
        }
        let path = format!("/v2/{repo}/blobs/uploads/?mount={d}&from={}", src.repository);
        let resp = client.send("POST", &path, &sc, &[], super::client::Body::Empty)?;
        if resp.status() != 201 {
            return Err(E::Protocol(format!(
                "cannot mount blob {d} from {} into {repo}: push the image to {repo} first",
                src.repository
            )));
        }
    }
    super::push::put_manifest(client, repo, &e.digest, &e.media_type, &f.bytes, &sc)
}
