//! Hijacked connections (attach, exec start) and request bodies that go to
//! disk (archives, build contexts, image tarballs).

use std::os::unix::net::UnixStream;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::http::{self, ApiError, Body, Resp};
use super::State;
use crate::container::attach::{DetachKeys, Frames, EXIT, STDERR, STDOUT};

pub struct AttachOptions {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub tty: bool,
    /// Docker's detachKeys; empty: none unless stdin is attached to a tty
    /// (then ctrl-p,ctrl-q, as the daemon does).
    pub detach_keys: String,
}

/// Answer `101 UPGRADED` and then copy between the client's connection and
/// `conn` (a monitor's attach socket, speaking `container::attach`): the
/// container's output as Docker's frames (raw with a tty), the client's
/// input as the container's stdin, its half-close as the stdin's EOF. The
/// exit frame ends the stream. Without an Upgrade header (old clients) the
/// output comes as the body of a 200 answer.
pub fn hijack(st: &Arc<State>, mut req: Request<Incoming>, conn: UnixStream, o: AttachOptions) -> Resp {
    let ct = if o.tty { "application/vnd.docker.raw-stream" } else { "application/vnd.docker.multiplexed-stream" };
    let busy = st.busy();
    if req.headers().get("upgrade").is_none() {
        let (tx, resp) = http::stream(ct);
        tokio::task::spawn_blocking(move || {
            let _busy = busy;
            let mut conn = conn;
            let _ = conn.shutdown(std::net::Shutdown::Write);
            let mut frames = Frames::default();
            let mut buf = vec![0u8; 32 * 1024];
            loop {
                let n = match std::io::Read::read(&mut conn, &mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                frames.push(&buf[..n]);
                while let Some((stream, data, raw)) = frames.next_frame() {
                    match output(&o, stream, data, raw) {
                        Out::Send(b) => {
                            if tx.blocking_send(Bytes::from(b)).is_err() {
                                return;
                            }
                        }
                        Out::Skip => {}
                        Out::End => return,
                    }
                }
            }
        });
        return resp;
    }
    let on = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        let _busy = busy;
        let Ok(up) = on.await else { return };
        let _ = conn.set_nonblocking(true);
        let Ok(conn) = tokio::net::UnixStream::from_std(conn) else { return };
        bridge(TokioIo::new(up), conn, o).await;
    });
    let mut r = Response::new(Body::Empty);
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = r.headers_mut();
    h.insert("Content-Type", HeaderValue::from_static(ct));
    h.insert("Connection", HeaderValue::from_static("Upgrade"));
    h.insert("Upgrade", HeaderValue::from_static("tcp"));
    r
}

enum Out {
    Send(Vec<u8>),
    Skip,
    End,
}

/// What one frame from the monitor becomes on the client's side.
fn output(o: &AttachOptions, stream: u8, data: Vec<u8>, raw: Vec<u8>) -> Out {
    match stream {
        EXIT => Out::End,
        STDOUT if !o.stdout => Out::Skip,
        STDERR if !o.stderr => Out::Skip,
        _ if o.tty => Out::Send(data),
        _ => Out::Send(raw),
    }
}

async fn bridge<C>(client: C, monitor: tokio::net::UnixStream, o: AttachOptions)
where
    C: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut cr, mut cw) = tokio::io::split(client);
    let (mut mr, mut mw) = monitor.into_split();
    let keys = if !o.detach_keys.is_empty() || (o.stdin && o.tty) { Some(o.detach_keys.clone()) } else { None };
    let stdin = o.stdin;
    let input = tokio::spawn(async move {
        if !stdin {
            // Nothing to read; the output side ends the stream.
            std::future::pending::<()>().await;
        }
        let mut keys = keys.map(|k| DetachKeys::parse(&k));
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            let n = match cr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let (pass, detached) = match keys.as_mut() {
                Some(k) => k.feed(&buf[..n]),
                None => (buf[..n].to_vec(), false),
            };
            if mw.write_all(&pass).await.is_err() {
                return true;
            }
            if detached {
                return true;
            }
        }
        // The client's half-close: EOF for the container's stdin, while
        // its output keeps coming.
        let _ = mw.shutdown().await;
        std::future::pending::<bool>().await
    });
    let mut frames = Frames::default();
    let mut buf = vec![0u8; 32 * 1024];
    let mut input = input;
    'out: loop {
        tokio::select! {
            r = mr.read(&mut buf) => {
                let n = match r { Ok(0) | Err(_) => break, Ok(n) => n };
                frames.push(&buf[..n]);
                while let Some((stream, data, raw)) = frames.next_frame() {
                    match output(&o, stream, data, raw) {
                        Out::Send(b) => if cw.write_all(&b).await.is_err() { break 'out },
                        Out::Skip => {}
                        Out::End => break 'out,
                    }
                }
            }
            detached = &mut input => {
                if detached.unwrap_or(false) { break }
            }
        }
    }
    input.abort();
    let _ = cw.shutdown().await;
}

/// A request body written to a file in the store's scratch space (the
/// directory goes when the value drops).
pub struct BodyFile {
    _dir: crate::state::TempDir,
    path: std::path::PathBuf,
}

impl BodyFile {
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}

pub async fn body_to_file(st: &Arc<State>, mut body: Incoming, tag: &str) -> Result<BodyFile, ApiError> {
    let root = st.engine.store()?.root().join("tmp");
    let dir = crate::state::TempDir::new(&root, tag)?;
    let path = dir.path().join("body");
    let mut f = std::fs::File::create(&path).map_err(|e| ApiError::new(500, format!("store the request body: {e}")))?;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ApiError::bad(format!("read the request body: {e}")))?;
        if let Some(data) = frame.data_ref() {
            std::io::Write::write_all(&mut f, data)
                .map_err(|e| ApiError::new(500, format!("store the request body: {e}")))?;
        }
    }
    Ok(BodyFile { _dir: dir, path })
}
