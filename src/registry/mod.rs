//! Registries: the Docker Registry HTTP API v2 / OCI distribution client
//! (`client`), credentials (`auth`), registry settings such as mirrors and
//! CA files (`config`), and the verbs built on them: `pull`, `push`, local
//! manifest lists (`lists`).

pub mod auth;
pub mod client;
pub mod config;
pub mod lists;
pub mod progress;
pub mod pull;
pub mod push;

/// What went wrong talking to a registry; the engine prefixes the image name.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{0}")]
    Transport(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{message}")]
    Status { code: u16, message: String },
    #[error("{0}")]
    Protocol(String),
    #[error("{0}")]
    Integrity(String),
    #[error("{0}")]
    Local(String),
}

impl RegistryError {
    pub fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            RegistryError::Unauthorized(_) | RegistryError::Status { code: 401 | 403, .. } => ErrorKind::Unauthorized,
            RegistryError::Status { code: 404, .. } => ErrorKind::NotFound,
            RegistryError::Status { code: 400..=499, .. } => ErrorKind::InvalidArgument,
            RegistryError::Transport(_) | RegistryError::Status { .. } => ErrorKind::Unavailable,
            RegistryError::Protocol(_) | RegistryError::Integrity(_) | RegistryError::Local(_) => ErrorKind::Internal,
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, RegistryError::Status { code: 404, .. })
    }
}

/// The Accept header of a manifest GET: everything we can read.
pub const ACCEPT_MANIFESTS: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/// Manifests and indexes larger than this are refused (containerd's limit).
pub const MAX_MANIFEST: u64 = 4 << 20;

/// `repository:NAME:pull` and friends.
pub fn scope(repo: &str, actions: &str) -> String {
    format!("repository:{repo}:{actions}")
}
