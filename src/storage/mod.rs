//! Layers on disk: safe tar application, compression, mount drivers, and the
//! user-namespace helper that owns files for mapped ids.

pub mod compress;
pub mod copy;
pub mod diff;
pub mod driver;
pub mod extract;
pub mod fsat;
#[cfg(test)]
mod hostile_corpus;
pub mod union;
pub mod userns;
