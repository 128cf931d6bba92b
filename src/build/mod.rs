//! `rcon build`: the Dockerfile parser, word processing (quotes and
//! variable substitution), and (elsewhere in this module) the build itself.

pub mod archive;
pub mod cache;
pub mod commit;
pub mod context;
pub mod dockerignore;
pub mod executor;
pub mod layer;
pub mod parser;
pub mod pattern;
pub mod shell;
