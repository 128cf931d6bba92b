//! `rcon attach`: a connection to a running container's monitor (the
//! attach protocol of `container::attach`). The front end copies between
//! it and its client: the CLI's terminal (`cli::terminal::attach_loop`),
//! or an API client's hijacked connection.

use std::os::unix::net::UnixStream;

use super::Engine;
use crate::container::{attach, Container, ContainerStore, Status};
use crate::error::{Error, Result};

pub struct Attached {
    pub stream: UnixStream,
    pub container: Container,
}

pub fn connect(engine: &Engine, arg: &str) -> Result<Attached> {
    let store = ContainerStore::open(&engine.paths)?;
    let id = store.resolve(arg)?;
    let c = store.load(&id)?;
    if c.state.status != Status::Running {
        return Err(Error::Conflict(format!("you cannot attach to a stopped container {arg}: start it first")));
    }
    let stream = attach::connect(&store.run_dir(&id)).map_err(|e| Error::io(format!("attach to {arg}"), e))?;
    crate::events::container(&engine.paths, &c.config, "attach", &[]);
    Ok(Attached { stream, container: c })
}
