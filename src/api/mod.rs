//! The Docker Engine API over a unix (or loopback TCP) socket: `rcon system
//! service`. A front end over the same engine as the CLI, for the clients
//! people use (the docker CLI, the Docker SDKs, docker-compose,
//! testcontainers). Not a daemon: it serves while clients are active and
//! exits after `--time` seconds of inactivity; containers belong to their
//! monitors and live on when it goes.
//!
//! Requests are served by hyper on a tokio runtime; every engine call runs
//! on a blocking thread (the engine does file and process work), and
//! nothing changes process-wide state (cwd, umask, environment, signal
//! dispositions) after the listeners are set up.

mod containers;
mod convert;
mod exec;
pub mod http;
mod images;
mod jsonstream;
mod listen;
mod networks;
mod router;
mod streams;
mod system;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};

use crate::engine::Engine;
use crate::error::{Error, Result};
pub use listen::Listen;

pub struct ServiceOptions {
    pub listen: Listen,
    /// Exit after this long with no request and no open stream (None: never).
    pub idle: Option<Duration>,
}

/// What every request shares.
pub struct State {
    pub engine: Engine,
    /// Requests and streams in progress (attach, logs -f, events, wait…).
    active: AtomicUsize,
    last: Mutex<Instant>,
    /// Exec instances created and not yet inspected to death (Docker's
    /// daemon keeps them in memory too).
    pub execs: Mutex<std::collections::HashMap<String, exec::ExecRecord>>,
    /// Attach connections made before their container started: the start
    /// hands the first one to the monitor, so no output is missed.
    pub pending_attach: Mutex<std::collections::HashMap<String, std::os::fd::OwnedFd>>,
}

/// Held while a request or stream is in progress: the service does not
/// time out under it.
pub struct Busy(Arc<State>);

impl State {
    pub fn busy(self: &Arc<Self>) -> Busy {
        self.active.fetch_add(1, Ordering::SeqCst);
        *self.last.lock().unwrap() = Instant::now();
        Busy(self.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        *self.0.last.lock().unwrap() = Instant::now();
        self.0.active.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Run an engine call on a blocking thread (the engine does file and
/// process work); a panic there is a 500 for this request, never the end
/// of the service.
pub async fn blocking<T: Send + 'static>(
    st: &Arc<State>,
    f: impl FnOnce(&Engine) -> std::result::Result<T, http::ApiError> + Send + 'static,
) -> std::result::Result<T, http::ApiError> {
    let st = st.clone();
    match tokio::task::spawn_blocking(move || f(&st.engine)).await {
        Ok(r) => r,
        Err(e) => Err(http::ApiError::new(500, format!("internal error: {e}"))),
    }
}

/// Run the service until it has been idle for `o.idle`.
pub fn serve(engine: Engine, o: ServiceOptions) -> Result<()> {
    let listeners = o.listen.bind()?;
    // The socket we made goes when we do (unless another service replaced it).
    let ours = match &o.listen {
        Listen::Unix(p) => std::fs::metadata(p).ok().map(|m| (p.clone(), std::os::unix::fs::MetadataExt::ino(&m))),
        _ => None,
    };
    let state = Arc::new(State {
        engine,
        active: AtomicUsize::new(0),
        last: Mutex::new(Instant::now()),
        execs: Mutex::new(Default::default()),
        pending_attach: Mutex::new(Default::default()),
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(256)
        .enable_all()
        .build()
        .map_err(|e| Error::io("start the API service's runtime", e))?;
    rt.block_on(async move {
        let mut tasks = Vec::new();
        for l in listeners {
            let st = state.clone();
            tasks.push(tokio::spawn(accept_loop(st, l)));
        }
        match o.idle {
            Some(idle) => loop {
                tokio::time::sleep(Duration::from_millis(200).min(idle)).await;
                let quiet = state.active.load(Ordering::SeqCst) == 0;
                if quiet && state.last.lock().unwrap().elapsed() >= idle {
                    break;
                }
            },
            None => {
                for t in tasks {
                    let _ = t.await;
                }
            }
        }
    });
    // In-flight blocking work (none when idle) must not keep us.
    rt.shutdown_timeout(Duration::from_secs(1));
    if let Some((p, ino)) = ours {
        if std::fs::metadata(&p).is_ok_and(|m| std::os::unix::fs::MetadataExt::ino(&m) == ino) {
            let _ = std::fs::remove_file(&p);
        }
    }
    Ok(())
}

async fn accept_loop(state: Arc<State>, l: listen::Listener) {
    loop {
        let conn = match l.accept().await {
            Ok(c) => c,
            Err(e) => {
                crate::util::warn(&format!("API service: accept: {e}"));
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let st = state.clone();
        tokio::spawn(async move {
            let busy = st.busy();
            let svc = service_fn(move |req| {
                let st = st.clone();
                async move { Ok::<_, std::convert::Infallible>(router::handle(st, req).await) }
            });
            let mut b = http1::Builder::new();
            // Slow or silent clients cannot hold a connection open forever
            // (headers must arrive in time) nor send huge headers.
            b.timer(TokioTimer::new()).header_read_timeout(Duration::from_secs(30)).max_buf_size(1 << 20);
            let conn = b.serve_connection(TokioIo::new(conn), svc).with_upgrades();
            drop(busy);
            let _ = conn.await;
        });
    }
}
