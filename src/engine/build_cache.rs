//! `buildx build --cache-to/--cache-from type=local`: the build cache
//! carried in a directory. rcon's cache is its image store (each step an
//! image whose record holds its parent and step key), so the export is the
//! target's chain of step images (BuildKit's mode=min: the final stage
//! only) as a docker-archive, with a file of each image's parent and key;
//! the import loads them and gives them back their parent and key, so the
//! next build's lookups find them. The format is rcon's own, not
//! BuildKit's OCI layout: a cache written by one is not read by the other.

use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, IoContext, Result};
use crate::image::archive::ArchiveFormat;
use crate::image::store::Store;

const ARCHIVE: &str = "rcon-build-cache.tar";
const INDEX: &str = "rcon-build-cache.json";

#[derive(Serialize, Deserialize)]
struct Entry {
    id: String,
    parent: Option<String>,
    build_cache: Option<String>,
}

/// Write the chain ending at `id` into `dir` (made if missing).
pub fn export(store: &Store, id: &str, dir: &Path) -> Result<()> {
    let mut chain = Vec::new();
    let mut next = Some(id.to_string());
    while let Some(i) = next {
        let rec = store.resolve(&i)?;
        next = rec.parent.clone();
        chain.push(Entry { id: rec.id, parent: rec.parent, build_cache: rec.build_cache });
    }
    fs::create_dir_all(dir).ctx(|| format!("--cache-to: create {}", dir.display()))?;
    let ids: Vec<String> = chain.iter().map(|e| e.id.clone()).collect();
    let tmp = dir.join(format!(".{ARCHIVE}.tmp"));
    let f = fs::File::create(&tmp).ctx(|| format!("--cache-to: write {}", tmp.display()))?;
    super::images::save(store, &ids, ArchiveFormat::DockerArchive, std::io::BufWriter::new(f))?;
    fs::rename(&tmp, dir.join(ARCHIVE)).ctx(|| format!("--cache-to: write {}", dir.display()))?;
    let json = serde_json::to_vec_pretty(&chain).expect("json");
    crate::state::atomic_write(&dir.join(INDEX), &json)
}

/// Load the cache in `dir`; a directory without one is no error (BuildKit
/// warns and builds on), the returned note says so.
pub fn import(store: &Store, dir: &Path) -> Result<Option<String>> {
    let index = dir.join(INDEX);
    let Ok(text) = fs::read(&index) else {
        return Ok(Some(format!(
            "--cache-from {}: no rcon build cache there ({INDEX} missing): building without it",
            dir.display()
        )));
    };
    let chain: Vec<Entry> = serde_json::from_slice(&text).map_err(|e| {
        Error::InvalidArgument(format!("--cache-from: {} is damaged: {e}: remove that directory", index.display()))
    })?;
    let f = fs::File::open(dir.join(ARCHIVE)).ctx(|| format!("--cache-from: read {}", dir.display()))?;
    super::images::load(store, std::io::BufReader::new(f))?;
    store.update(|images| {
        for e in &chain {
            if let Some(r) = images.iter_mut().find(|r| r.id == e.id) {
                if r.build_cache.is_none() && r.parent.is_none() {
                    r.parent = e.parent.clone();
                    r.build_cache = e.build_cache.clone();
                }
            }
        }
        Ok(())
    })?;
    Ok(None)
}
