//! The build cache, Docker's classic rule: a step is reused when an image
//! in the store has the same parent and was made by the same instruction
//! (variables substituted, build args in effect; for COPY/ADD the checksum
//! of the sources). The key lives in the image records, so the cache is
//! shared by every build in the store and survives across invocations; a
//! changed step gets a new parent for every later step, which invalidates them.

use crate::image::store::{ImageRecord, Store};
use crate::storage::compress::sha256_digest;

pub fn key(parent: Option<&str>, instruction: &str) -> String {
    sha256_digest(format!("{}\n{instruction}", parent.unwrap_or("scratch")).as_bytes())
}

/// The newest image made by this step on this parent, if its layers are all
/// still in the store.
pub fn lookup(store: &Store, parent: Option<&str>, key: &str) -> Option<ImageRecord> {
    let images = store.images().ok()?;
    images
        .into_iter()
        .filter(|i| i.parent.as_deref() == parent && i.build_cache.as_deref() == Some(key))
        .filter(|i| i.layers.iter().all(|l| store.has_layer(l)))
        .max_by_key(|i| i.created)
}

#[cfg(test)]
mod tests {
    #[test]
    fn key_depends_on_parent_and_instruction() {
        let a = super::key(Some("sha256:1"), "RUN x");
        assert_eq!(a, super::key(Some("sha256:1"), "RUN x"));
        assert_ne!(a, super::key(Some("sha256:2"), "RUN x"));
        assert_ne!(a, super::key(Some("sha256:1"), "RUN y"));
        assert_ne!(a, super::key(None, "RUN x"));
    }
}
