//! `/containers/{id}/exec` and `/exec/{id}/…`: exec instances are kept in
//! the service's memory from create to the end of the service, as
//! Docker's daemon keeps them; starting one runs `engine::exec`.

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::http::{self, ok_json, ApiError, Body, Handled, Query};
use super::{blocking, State};
use crate::container::attach::{frame, STDERR, STDOUT};
use crate::engine::exec::{ExecOptions, ExecStdio};

pub struct ExecRecord {
    pub id: String,
    pub container: String,
    pub opts: ExecOptions,
    pub attach_stdin: bool,
    pub attach_stdout: bool,
    pub attach_stderr: bool,
    pub detach_keys: String,
    pub running: bool,
    pub started: bool,
    pub exit_code: Option<i32>,
    pub pid: u32,
    /// The pty master of a running `Tty` exec (for resize).
    pub pty: Option<Arc<OwnedFd>>,
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().filter_map(|x| x.as_str().map(String::from)).collect()).unwrap_or_default()
}

pub async fn create(st: &Arc<State>, id: &str, req: Request<Incoming>) -> Handled {
    let b = http::read_json(req.into_body()).await?;
    let cmd = strings(&b["Cmd"]);
    if cmd.is_empty() {
        return Err(ApiError::bad("No exec command specified"));
    }
    let id = id.to_string();
    let container = blocking(st, move |e| {
        let c = crate::engine::containers::get(e, &id)
            .map_err(|_| ApiError::not_found(format!("No such container: {id}")))?;
        if c.state.status != crate::container::Status::Running {
            return Err(ApiError::new(409, format!("Container {} is not running", c.config.id)));
        }
        Ok(c.config.id)
    })
    .await?;
    let opts = ExecOptions {
        interactive: b["AttachStdin"].as_bool().unwrap_or(false),
        tty: b["Tty"].as_bool().unwrap_or(false),
        detach: false,
        env: strings(&b["Env"]),
        user: b["User"].as_str().filter(|s| !s.is_empty()).map(String::from),
        workdir: b["WorkingDir"].as_str().filter(|s| !s.is_empty()).map(String::from),
        privileged: b["Privileged"].as_bool().unwrap_or(false),
        cmd,
    };
    let exec_id = crate::container::names::new_id();
    let rec = ExecRecord {
        id: exec_id.clone(),
        container,
        attach_stdin: opts.interactive,
        attach_stdout: b["AttachStdout"].as_bool().unwrap_or(false),
        attach_stderr: b["AttachStderr"].as_bool().unwrap_or(false),
        detach_keys: b["DetachKeys"].as_str().unwrap_or("").to_string(),
        opts,
        running: false,
        started: false,
        exit_code: None,
        pid: 0,
        pty: None,
    };
    st.execs.lock().unwrap().insert(exec_id.clone(), rec);
    Ok(http::json(201, &json!({"Id": exec_id})))
}

fn no_exec(id: &str) -> ApiError {
    ApiError::not_found(format!("No such exec instance: {id}"))
}

pub async fn inspect(st: &Arc<State>, id: &str) -> Handled {
    let execs = st.execs.lock().unwrap();
    let r = execs.get(id).ok_or_else(|| no_exec(id))?;
    let (entry, args) = r.opts.cmd.split_first().map(|(a, b)| (a.clone(), b.to_vec())).unwrap_or_default();
    ok_json(&json!({
        "ID": r.id,
        "Running": r.running,
        "ExitCode": r.exit_code,
        "ProcessConfig": {
            "tty": r.opts.tty,
            "entrypoint": entry,
            "arguments": args,
            "privileged": r.opts.privileged,
            "user": r.opts.user.clone().unwrap_or_default(),
        },
        "OpenStdin": r.attach_stdin,
        "OpenStderr": r.attach_stderr,
        "OpenStdout": r.attach_stdout,
        "CanRemove": false,
        "ContainerID": r.container,
        "DetachKeys": r.detach_keys,
        "Pid": r.pid,
    }))
}

pub async fn resize(st: &Arc<State>, id: &str, q: Query) -> Handled {
    let (h, w) = (q.int("h")?.unwrap_or(0) as u16, q.int("w")?.unwrap_or(0) as u16);
    let pty = st.execs.lock().unwrap().get(id).ok_or_else(|| no_exec(id))?.pty.clone();
    if let Some(m) = pty {
        let ws = libc::winsize { ws_row: h, ws_col: w, ws_xpixel: 0, ws_ypixel: 0 };
        unsafe { libc::ioctl(m.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    }
    Ok(http::empty(200))
}

fn pipe() -> Result<(OwnedFd, OwnedFd), ApiError> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| ApiError::new(500, format!("pipe: {e}")))
}

/// `POST /exec/{id}/start`: detached, or hijacked with the process's
/// streams (frames without a tty, raw bytes with one).
pub async fn start(st: &Arc<State>, id: &str, mut req: Request<Incoming>) -> Handled {
    let on = hyper::upgrade::on(&mut req);
    let upgrade = req.headers().get("upgrade").is_some();
    let b = http::read_json(req.into_body()).await?;
    let detach = b["Detach"].as_bool().unwrap_or(false);
    let (container, mut opts, (a_in, a_out, a_err)) = {
        let mut execs = st.execs.lock().unwrap();
        let r = execs.get_mut(id).ok_or_else(|| no_exec(id))?;
        if r.started {
            return Err(ApiError::new(409, format!("Error: Exec command {id} has already run")));
        }
        r.started = true;
        r.running = true;
        (r.container.clone(), r.opts.clone(), (r.attach_stdin, r.attach_stdout, r.attach_stderr))
    };
    if let Some(tty) = b["Tty"].as_bool() {
        opts.tty = tty;
    }
    opts.detach = detach;
    let tty = opts.tty;
    // The process's ends: pipes we read and write (no -t), a pty (-t).
    let (mut ours_out, mut ours_err, mut ours_in) = (None, None, None);
    let stdio = if detach {
        ExecStdio::Null
    } else if tty {
        ExecStdio::Tty
    } else {
        let (or, ow) = pipe()?;
        let (er, ew) = pipe()?;
        let stdin = if a_in {
            let (ir, iw) = pipe()?;
            ours_in = Some(iw);
            Some(ir)
        } else {
            None
        };
        ours_out = Some(or);
        ours_err = Some(er);
        ExecStdio::Fds { stdin, stdout: ow, stderr: ew }
    };
    // With a hijack, the process starts once the 101 is on its way: what
    // it writes at once then follows the headers instead of arriving with
    // them (docker-py reads the headers through a buffer that would eat
    // it), as dockerd starts the exec after hijacking.
    let mut stdio = Some(stdio);
    let early = if upgrade && !detach {
        None
    } else {
        Some(launch(st, id, container.clone(), opts.clone(), stdio.take().expect("stdio")).await?)
    };
    let finish = {
        let st = st.clone();
        let id = id.to_string();
        move |code: i32| {
            if let Some(r) = st.execs.lock().unwrap().get_mut(&id) {
                r.running = false;
                r.exit_code = Some(code);
                r.pty = None;
            }
        }
    };
    if detach {
        let (proc, _) = early.expect("started");
        let busy = st.busy();
        tokio::task::spawn_blocking(move || {
            let _busy = busy;
            finish(proc.wait());
        });
        return Ok(http::empty(200));
    }
    let busy = st.busy();
    let st2 = st.clone();
    let id2 = id.to_string();
    tokio::spawn(async move {
        let _busy = busy;
        let client = if upgrade { on.await.ok().map(TokioIo::new) } else { None };
        let started = match early {
            Some(p) => Ok(p),
            None => launch(&st2, &id2, container, opts, stdio.take().expect("stdio")).await,
        };
        let (proc, pty) = match started {
            Ok(p) => p,
            Err(e) => {
                // Hijacked already: the error goes down the stream, as
                // dockerd writes it; the exit code is in exec inspect.
                if let Some(mut c) = client {
                    let _ = c.write_all(format!("{}\r\n", e.message).as_bytes()).await;
                    let _ = c.shutdown().await;
                }
                return;
            }
        };
        let Some(client) = client else {
            let code = tokio::task::spawn_blocking(move || proc.wait()).await.unwrap_or(125);
            finish(code);
            return;
        };
        let (mut cr, mut cw) = tokio::io::split(client);
        if let Some(master) = pty {
            // -t: raw bytes both ways through the pty master, by blocking
            // threads (a pty is no pipe for tokio's pipe types).
            let (otx, mut orx) = tokio::sync::mpsc::channel::<Vec<u8>>(16);
            let reader = master.clone();
            tokio::task::spawn_blocking(move || {
                let mut buf = vec![0u8; 16 * 1024];
                loop {
                    let n = unsafe { libc::read(reader.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
                    if n <= 0 || otx.blocking_send(buf[..n as usize].to_vec()).is_err() {
                        return;
                    }
                }
            });
            let (itx, mut irx) = tokio::sync::mpsc::channel::<Vec<u8>>(16);
            let writer = master.clone();
            tokio::task::spawn_blocking(move || {
                while let Some(data) = irx.blocking_recv() {
                    let mut rest = &data[..];
                    while !rest.is_empty() {
                        let n = unsafe { libc::write(writer.as_raw_fd(), rest.as_ptr().cast(), rest.len()) };
                        if n <= 0 {
                            return;
                        }
                        rest = &rest[n as usize..];
                    }
                }
            });
            let input = tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                while let Ok(n) = cr.read(&mut buf).await {
                    if n == 0 || itx.send(buf[..n].to_vec()).await.is_err() {
                        break;
                    }
                }
            });
            while let Some(data) = orx.recv().await {
                if a_out && cw.write_all(&data).await.is_err() {
                    break;
                }
            }
            input.abort();
        } else {
            let input = ours_in.map(|w| {
                tokio::spawn(async move {
                    let Ok(mut w) = tokio::net::unix::pipe::Sender::from_owned_fd(w) else { return };
                    let mut buf = vec![0u8; 16 * 1024];
                    while let Ok(n) = cr.read(&mut buf).await {
                        if n == 0 || w.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                    // Dropping `w` is the EOF of the process's stdin.
                })
            });
            let (tx, mut rx) = tokio::sync::mpsc::channel::<(u8, Vec<u8>)>(16);
            for (fd, stream, wanted) in [(ours_out.take(), STDOUT, a_out), (ours_err.take(), STDERR, a_err)] {
                let Some(fd) = fd else { continue };
                let tx = tx.clone();
                tokio::spawn(async move {
                    let Ok(mut r) = tokio::net::unix::pipe::Receiver::from_owned_fd(fd) else { return };
                    let mut buf = vec![0u8; 16 * 1024];
                    while let Ok(n) = r.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        if wanted && tx.send((stream, buf[..n].to_vec())).await.is_err() {
                            break;
                        }
                    }
                });
            }
            drop(tx);
            while let Some((stream, data)) = rx.recv().await {
                if cw.write_all(&frame(stream, &data)).await.is_err() {
                    break;
                }
            }
            if let Some(i) = input {
                i.abort();
            }
        }
        let code = tokio::task::spawn_blocking(move || proc.wait()).await.unwrap_or(125);
        finish(code);
        let _ = cw.shutdown().await;
    });
    let ct = if tty { "application/vnd.docker.raw-stream" } else { "application/vnd.docker.multiplexed-stream" };
    let mut r = Response::new(Body::Empty);
    *r.status_mut() = if upgrade { StatusCode::SWITCHING_PROTOCOLS } else { StatusCode::OK };
    let h = r.headers_mut();
    h.insert("Content-Type", HeaderValue::from_static(ct));
    if upgrade {
        h.insert("Connection", HeaderValue::from_static("Upgrade"));
        h.insert("Upgrade", HeaderValue::from_static("tcp"));
    }
    Ok(r)
}

/// Start an exec's process; its pid and pty go in the exec's record. On a
/// failure the record says exit 126.
async fn launch(
    st: &Arc<State>,
    id: &str,
    container: String,
    opts: ExecOptions,
    stdio: ExecStdio,
) -> Result<(crate::engine::exec::ExecProcess, Option<Arc<OwnedFd>>), ApiError> {
    let mut proc = match blocking(st, move |e| Ok(crate::engine::exec::exec(e, &container, &opts, stdio)?)).await {
        Ok(p) => p,
        Err(err) => {
            if let Some(r) = st.execs.lock().unwrap().get_mut(id) {
                r.running = false;
                r.exit_code = Some(126);
            }
            return Err(err);
        }
    };
    let pty = proc.pty.take().map(Arc::new);
    if let Some(r) = st.execs.lock().unwrap().get_mut(id) {
        r.pid = proc.pid();
        r.pty = pty.clone();
    }
    Ok((proc, pty))
}
