#![recursion_limit = "256"]
//! rcon: a daemonless, rootless container engine with Docker's command line.
//!
//! The library holds the front ends (`cli`, and later the API server and
//! compose) over the engine (`engine::*`, one function per verb); the `rcon`
//! binary only dispatches helper modes and calls `cli::run`. See
//! docs/ARCHITECTURE.md.

pub mod api;
pub mod build;
pub mod cli;
pub mod compose;
pub mod container;
pub mod engine;
pub mod error;
pub mod events;
pub mod format;
pub mod image;
pub mod kube;
pub mod launch;
pub mod monitor;
pub mod network;
pub mod paths;
pub mod pod;
pub mod registry;
pub mod runtime;
pub mod state;
pub mod storage;
#[cfg(test)]
mod testutil;
pub mod util;
pub mod volume;

pub use error::{Error, Result};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The Docker Engine API version whose semantics we follow.
pub const API_VERSION: &str = "1.43";
