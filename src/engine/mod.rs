//! The engine: one function per verb. The CLI is a thin layer over this; so
//! will be anything else that drives rcon (compose, an API socket).

pub mod attach;
pub mod build;
pub mod build_cache;
pub mod commit;
pub mod containers;
pub mod cp;
pub mod df;
pub mod doctor;
pub mod events;
pub mod exec;
pub mod health;
pub mod images;
pub mod lifecycle;
pub mod migrate;
pub mod networks;
pub mod pods;
pub mod ps;
pub mod registry;
pub mod reset;
pub mod restart;
pub mod stats;
pub mod system;
pub mod volumes;

use crate::error::Result;
use crate::image::store::Store;
use crate::paths::Paths;

/// What every verb needs: where state lives, and the image store opened lazily
/// (`rcon version` must not create directories). Shared by the threads of a
/// front end that serves many clients at once (the API server): every
/// state change goes through the stores' file locks, nothing is cached but
/// the store's location.
pub struct Engine {
    pub paths: Paths,
    store: std::sync::OnceLock<Store>,
}

impl Engine {
    pub fn new(paths: Paths) -> Engine {
        Engine { paths, store: std::sync::OnceLock::new() }
    }

    pub fn store(&self) -> Result<&Store> {
        if let Some(s) = self.store.get() {
            return Ok(s);
        }
        let s = Store::open(&self.paths)?;
        if self.paths.rootless {
            migrate::record_idmap(&self.paths);
        }
        Ok(self.store.get_or_init(|| s))
    }
}

/// A stop request for the engine's long calls (wait, following logs or
/// events): a front end sets it, or gives a check, for when its client
/// goes away, and the call returns at its next poll instead of when the
/// container next does something.
#[derive(Clone, Default)]
pub struct Cancel {
    flag: std::sync::Arc<std::sync::atomic::AtomicBool>,
    check: Option<std::sync::Arc<dyn Fn() -> bool + Send + Sync>>,
}

impl Cancel {
    /// One that is never set (a CLI's caller stays until the end).
    pub fn never() -> Cancel {
        Cancel::default()
    }
    /// Cancelled once `gone()` says so (asked at every poll).
    pub fn when(gone: impl Fn() -> bool + Send + Sync + 'static) -> Cancel {
        Cancel { check: Some(std::sync::Arc::new(gone)), ..Default::default() }
    }
    pub fn cancel(&self) {
        self.flag.store(true, std::sync::atomic::Ordering::SeqCst);
    }
    pub fn is_cancelled(&self) -> bool {
        self.flag.load(std::sync::atomic::Ordering::SeqCst) || self.check.as_ref().is_some_and(|gone| gone())
    }
}

impl std::fmt::Debug for Cancel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cancel({})", self.is_cancelled())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_engine_is_shared_between_threads() {
        fn sync<T: Send + Sync>() {}
        sync::<super::Engine>();
    }
}
