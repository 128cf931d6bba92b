//! `rcon build`: the Dockerfile parser, word processing (quotes and
//! variable substitution), and (elsewhere in this module) the build itself.

pub mod parser;
pub mod shell;
