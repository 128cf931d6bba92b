//! The `rcon` binary: hidden helper modes, then clap → one engine call.

mod cli;

fn main() {
    // Helper modes re-execute this binary; dispatch them before anything
    // else runs (they must stay single-threaded to unshare namespaces).
    if std::env::args_os().nth(1).as_deref() == Some(std::ffi::OsStr::new("__storage-helper")) {
        std::process::exit(rcon::storage::userns::helper_main());
    }
    std::process::exit(cli::run());
}
