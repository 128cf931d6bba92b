//! The library's error type. Every error has a kind ([`ErrorKind`]) that
//! front ends map to their own answer: the CLI to Docker's exit codes (125
//! engine error, 126 cannot execute, 127 not found, 1 for builds), the API
//! server to Docker's HTTP statuses. Nobody matches on message text.
//! Modules with errors of their own (`storage::extract`, `storage::userns`,
//! `registry`, `format::template`) give them a kind and convert with
//! `#[from]`.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of failure an error is, as Docker's API tells them apart
/// (moby's errdefs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// No such container, image, volume, network, file (404).
    NotFound,
    /// A name in use, an object in use, already exists, not running (409).
    Conflict,
    /// Bad input: a flag, a reference, a Dockerfile, an archive (400).
    InvalidArgument,
    /// Nothing to do: already started, already stopped (304).
    NotModified,
    /// A registry refused our credentials (401).
    Unauthorized,
    /// A host tool, device or permission rcon needs is missing (503).
    Unavailable,
    /// Anything else (500).
    Internal,
}

impl ErrorKind {
    /// Docker's HTTP status for this kind.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::NotFound => 404,
            ErrorKind::Conflict => 409,
            ErrorKind::InvalidArgument => 400,
            ErrorKind::NotModified => 304,
            ErrorKind::Unauthorized => 401,
            ErrorKind::Unavailable => 503,
            ErrorKind::Internal => 500,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no such image: {0}")]
    NoSuchImage(String),

    #[error("no such container: {0}")]
    NoSuchContainer(String),

    #[error("the container name \"{name}\" is already in use by container {id}: remove or rename that container, or choose another name")]
    NameInUse { name: String, id: String },

    #[error("container {0} is not running")]
    NotRunning(String),

    #[error("cannot remove container {0}: the container is running: stop the container before removing or use -f")]
    ContainerRunning(String),

    /// The container's command could not be run (Docker's 126).
    #[error("{0}")]
    CannotExecute(String),

    /// The container's command was not found (Docker's 127).
    #[error("{0}")]
    CommandNotFound(String),

    #[error("no such object: {0}")]
    NoSuchObject(String),

    #[error("invalid reference format: {0}")]
    InvalidReference(String),

    #[error("{0}")]
    InvalidArgument(String),

    #[error("short id {prefix} is ambiguous: it matches {count} images, give more characters")]
    AmbiguousId { prefix: String, count: usize },

    #[error("unable to remove image {image}: it is referenced in multiple repositories ({tags}); use -f or remove the tags one by one")]
    ImageMultipleTags { image: String, tags: String },

    #[error("image {image} is in use by container {container}: stop and remove the container first or use -f")]
    ImageInUse { image: String, container: String },

    #[error("invalid archive: {0}")]
    InvalidArchive(String),

    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },

    #[error("{path}: {reason}")]
    State { path: PathBuf, reason: String },

    #[error(transparent)]
    Extract(#[from] crate::storage::extract::ExtractError),

    #[error(transparent)]
    UserNs(#[from] crate::storage::userns::UserNsError),

    #[error(transparent)]
    Template(#[from] crate::format::template::TemplateError),

    /// Talking to a registry failed; the message names the image and the
    /// cause, the kind what the registry said (unauthorized, not found…).
    #[error("{msg}")]
    Registry { kind: ErrorKind, msg: String },

    /// An object is in use, or exists already.
    #[error("{0}")]
    Conflict(String),

    /// The request changes nothing (a started container started again).
    #[error("{0}")]
    NotModified(String),

    /// A host tool, device or permission is missing.
    #[error("{0}")]
    Unavailable(String),

    #[error("{0}")]
    Other(String),

    /// A build failed (bad Dockerfile, missing file…): `docker build` exits 1.
    #[error("{0}")]
    Build(String),

    /// A RUN step's command failed: the build exits with its code, as
    /// Docker's builder reports it.
    #[error("{msg}")]
    BuildRun { msg: String, code: i32 },
    #[error("no such volume: {0}")]
    NoSuchVolume(String),
    #[error("no such pod: {0}: list pods with rcon pod ls, or create it with rcon pod create")]
    NoSuchPod(String),
    #[error("the pod name \"{name}\" is already in use by pod {id}: remove that pod, or choose another name")]
    PodNameInUse { name: String, id: String },

    /// An object's record does not parse (truncated, overwritten). The
    /// object stays listed and its name reserved; it can only be removed.
    #[error("{object} {name} has a damaged record {} ({reason}): remove it with `{fix}`", path.display())]
    Damaged { object: &'static str, name: String, path: PathBuf, reason: String, fix: String },
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        use ErrorKind as K;
        match self {
            Error::NoSuchImage(_)
            | Error::NoSuchContainer(_)
            | Error::NoSuchObject(_)
            | Error::NoSuchVolume(_)
            | Error::NoSuchPod(_) => K::NotFound,
            Error::NameInUse { .. }
            | Error::PodNameInUse { .. }
            | Error::NotRunning(_)
            | Error::ContainerRunning(_)
            | Error::ImageMultipleTags { .. }
            | Error::ImageInUse { .. }
            | Error::Conflict(_) => K::Conflict,
            Error::CannotExecute(_)
            | Error::CommandNotFound(_)
            | Error::InvalidReference(_)
            | Error::InvalidArgument(_)
            | Error::AmbiguousId { .. }
            | Error::InvalidArchive(_)
            | Error::Template(_)
            | Error::Build(_) => K::InvalidArgument,
            Error::NotModified(_) => K::NotModified,
            Error::Unavailable(_) => K::Unavailable,
            Error::Registry { kind, .. } => *kind,
            Error::Extract(e) => e.kind(),
            Error::UserNs(e) => e.kind(),
            Error::Io { source, .. } if source.kind() == std::io::ErrorKind::PermissionDenied => K::Unavailable,
            Error::Io { .. }
            | Error::State { .. }
            | Error::Damaged { .. }
            | Error::Other(_)
            | Error::BuildRun { .. } => K::Internal,
        }
    }

    /// Docker's CLI exit status for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::CannotExecute(_) => 126,
            Error::CommandNotFound(_) => 127,
            Error::Build(_) => 1,
            Error::BuildRun { code, .. } => *code,
            _ => 125,
        }
    }

    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io { what: what.into(), source }
    }
}

/// Attach "what we were doing" to an io::Error, so messages name the object.
pub trait IoContext<T> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::io(what(), e))
    }
}
