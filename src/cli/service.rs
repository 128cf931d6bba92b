//! `rcon system service`: serve the Docker Engine API until idle.

use clap::Args;

use super::CmdResult;
use crate::engine::Engine;

#[derive(Args)]
pub struct ServiceArgs {
    /// Seconds of inactivity (no request, no open stream) before the service exits; 0: never
    #[arg(short, long, default_value_t = 5, value_name = "SECONDS")]
    time: u64,
    /// Listen on a TCP address that is not loopback (anyone who can connect gets your user's power over containers)
    #[arg(long)]
    allow_remote: bool,
    /// unix:///path/to/socket or tcp://127.0.0.1:PORT (default: unix://RUNROOT/rcon.sock)
    #[arg(value_name = "URI")]
    uri: Option<String>,
}

pub fn service(engine: &Engine, a: ServiceArgs) -> CmdResult {
    let listen = crate::api::Listen::parse(a.uri.as_deref(), &engine.paths.runtime, a.allow_remote)?;
    eprintln!("export DOCKER_HOST={}", listen.docker_host());
    let idle = (a.time > 0).then(|| std::time::Duration::from_secs(a.time));
    crate::api::serve(Engine::new(engine.paths.clone()), crate::api::ServiceOptions { listen, idle })?;
    Ok(0)
}
