//! The `rcon` binary: hidden helper modes, then clap → one engine call.

fn main() {
    // Helper modes re-execute this binary; dispatch them before anything
    // else runs (they must stay single-threaded to unshare namespaces).
    let mut args = std::env::args_os();
    args.next();
    match args.next().as_ref().and_then(|a| a.to_str()) {
        Some("__pause") => std::process::exit(rcon::runtime::pause::main()),
        Some("__storage-helper") => std::process::exit(rcon::storage::userns::helper_main()),
        Some("__portfwd") => {
            let rest: Vec<String> = args.filter_map(|a| a.into_string().ok()).collect();
            std::process::exit(rcon::network::forward::main(&rest));
        }
        Some("__netns") => {
            let dir = args.next().map(std::path::PathBuf::from).unwrap_or_default();
            std::process::exit(rcon::network::holder::main(&dir));
        }
        Some("__monitor") => {
            let rest: Vec<String> = args.filter_map(|a| a.into_string().ok()).collect();
            std::process::exit(rcon::monitor::main(&rest));
        }
        Some("__exec") => {
            let rest: Vec<String> = args.filter_map(|a| a.into_string().ok()).collect();
            std::process::exit(rcon::engine::exec::helper_main(&rest));
        }
        Some("__healthcheck") => {
            let rest: Vec<String> = args.filter_map(|a| a.into_string().ok()).collect();
            std::process::exit(rcon::engine::health::helper_main(&rest));
        }
        _ => {}
    }
    std::process::exit(rcon::cli::run());
}
