//! `/containers/…`: create, list, inspect, the life cycle (start, stop,
//! kill, restart, pause, wait, remove), logs, attach, top, changes, export,
//! stats, resize, update, rename, archive, prune, with Docker's shapes and
//! statuses.

use std::sync::Arc;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::Request;
use serde_json::{json, Map, Value};

use super::http::{self, no_content, ok_json, ApiError, Handled, Query};
use super::{blocking, convert, streams, State};
use crate::container::attach::{self, STDERR, STDOUT};
use crate::container::{Container, Status};
use crate::engine::containers as eng;
use crate::engine::Engine;
use crate::format::units;

/// The values of one filter key, in either of Docker's JSON forms.
pub fn filter_values(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a.iter().filter_map(|x| x.as_str().map(String::from)).collect(),
        Value::Object(o) => o.iter().filter(|(_, b)| b.as_bool() != Some(false)).map(|(k, _)| k.clone()).collect(),
        Value::String(s) => vec![s.clone()],
        _ => Vec::new(),
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("No such container: {id}"))
}

/// The container `id` names, or Docker's 404.
fn get(e: &Engine, id: &str) -> Result<Container, ApiError> {
    eng::get(e, id).map_err(|err| match err.kind() {
        crate::error::ErrorKind::NotFound => not_found(id),
        _ => err.into(),
    })
}

pub async fn create(st: &Arc<State>, q: Query, req: Request<Incoming>) -> Handled {
    let ct = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    if !ct.starts_with("application/json") {
        return Err(ApiError::bad(format!("Content-Type specified ({ct}) must be 'application/json'")));
    }
    let body = http::read_json(req.into_body()).await?;
    let spec = convert::spec(&body, q.get("name").filter(|n| !n.is_empty()).map(String::from))?;
    let id = blocking(st, move |e| {
        e.store()?.resolve(&spec.image).map_err(|_| super::images::no_image(&spec.image))?;
        Ok(eng::create(e, &spec)?)
    })
    .await?;
    Ok(http::json(201, &json!({"Id": id, "Warnings": []})))
}

/// One entry of `GET /containers/json`.
/// Built from the container records at hand (no full inspect, no second
/// load: a list of 100 containers stays a few milliseconds).
fn summary(e: &Engine, store: &crate::container::ContainerStore, c: &Container, size: bool) -> Value {
    let cfg = &c.config;
    // Docker quotes the arguments that hold a space (moby daemon/list.go).
    let argv: Vec<String> = cfg
        .entrypoint
        .iter()
        .chain(cfg.cmd.iter())
        .enumerate()
        .map(|(i, a)| if i > 0 && a.contains(' ') { format!("'{a}'") } else { a.clone() })
        .collect();
    let created = units::parse_rfc3339(&cfg.created).map(|t| t.0).unwrap_or(0);
    // Docker's come from the network settings of a started container.
    let mut ports = Vec::new();
    let up = matches!(c.state.status, Status::Running | Status::Paused | Status::Restarting);
    for p in crate::network::start::published(store, c).into_iter().filter(|_| up) {
        ports.push(
            json!({"IP": p.bind_ip(), "PrivatePort": p.container_port, "PublicPort": p.host_port, "Type": p.proto}),
        );
    }
    for k in cfg.exposed_ports.keys().filter(|_| up) {
        let (port, proto) = k.split_once('/').unwrap_or((k, "tcp"));
        let n: u16 = port.parse().unwrap_or(0);
        if !ports.iter().any(|p| p["PrivatePort"] == n && p["Type"] == proto) {
            ports.push(json!({"PrivatePort": n, "Type": proto}));
        }
    }
    let mut networks = crate::engine::networks::inspect_settings(e, store, c)["Networks"].take();
    // dockerd's list (its container view) has no aliases.
    if let Some(m) = networks.as_object_mut() {
        for n in m.values_mut() {
            n["Aliases"] = Value::Null;
        }
    }
    let mut v = json!({
        "Id": cfg.id,
        "Names": [format!("/{}", cfg.name)],
        "Image": cfg.image_name,
        "ImageID": cfg.image,
        "Command": argv.join(" "),
        "Created": created,
        "Ports": ports,
        "Labels": cfg.labels,
        "State": c.state.status.as_str(),
        "Status": eng::status_text(c),
        "HostConfig": {"NetworkMode": cfg.host.network_mode},
        "NetworkSettings": {"Networks": networks},
        "Mounts": crate::engine::volumes::inspect_mounts(e, cfg),
    });
    if size {
        v["SizeRw"] = json!(eng::writable_size(e, &cfg.id));
        let image = e.store().ok().and_then(|s| s.resolve(&cfg.image).ok()).map(|i| i.size).unwrap_or(0);
        v["SizeRootFs"] = json!(eng::writable_size(e, &cfg.id) + image);
    }
    v
}

pub async fn list(st: &Arc<State>, q: Query) -> Handled {
    let mut filters = Vec::new();
    if let Some(m) = q.filters()?.as_object() {
        for (k, vals) in m {
            for v in filter_values(vals) {
                filters.push(crate::engine::ps::Filter::new(k, &v)?);
            }
        }
    }
    let limit = q.int("limit")?.filter(|n| *n > 0).map(|n| n as usize);
    let o = crate::engine::ps::ListOptions { all: q.flag("all"), filters, last: limit, latest: false };
    let size = q.flag("size");
    let v = blocking(st, move |e| {
        let list = crate::engine::ps::list(e, &o)?;
        let store = crate::container::ContainerStore::open(&e.paths)?;
        Ok(Value::Array(list.iter().map(|c| summary(e, &store, c, size)).collect()))
    })
    .await?;
    ok_json(&v)
}

pub async fn inspect(st: &Arc<State>, id: &str, q: Query) -> Handled {
    let id = id.to_string();
    let size = q.flag("size");
    let v = blocking(st, move |e| {
        let c = get(e, &id)?;
        let mut v = eng::inspect(e, &c.config.id)?;
        if size {
            let rw = eng::writable_size(e, &c.config.id);
            v["SizeRw"] = json!(rw);
            let image = e.store().ok().and_then(|s| s.resolve(&c.config.image).ok()).map(|i| i.size).unwrap_or(0);
            v["SizeRootFs"] = json!(rw + image);
        }
        Ok(v)
    })
    .await?;
    ok_json(&v)
}

pub async fn start(st: &Arc<State>, id: &str) -> Handled {
    let id = id.to_string();
    let st2 = st.clone();
    blocking(st, move |e| {
        let c = get(e, &id)?;
        if c.state.status == Status::Running {
            return Err(ApiError::new(304, ""));
        }
        // An attach that came before the start gets the output from the
        // first byte: the monitor has its socket before the container runs.
        let pending = st2.pending_attach.lock().unwrap().remove(&c.config.id);
        let attach = pending.map(eng::AttachTo::Socket);
        eng::start(e, &c.config.id, eng::StartOptions { attach, detach_keys: None })?;
        Ok(())
    })
    .await?;
    no_content()
}

pub async fn stop(st: &Arc<State>, id: &str, q: Query) -> Handled {
    let id = id.to_string();
    let t = q.int("t")?;
    blocking(st, move |e| {
        let c = get(e, &id)?;
        if !matches!(c.state.status, Status::Running | Status::Paused | Status::Restarting) {
            return Err(ApiError::new(304, ""));
        }
        Ok(eng::stop(e, &c.config.id, t)?)
    })
    .await?;
    no_content()
}

pub async fn restart(st: &Arc<State>, id: &str, q: Query) -> Handled {
    let id = id.to_string();
    let t = q.int("t")?;
    blocking(st, move |e| {
        let c = get(e, &id)?;
        Ok(crate::engine::restart::restart(e, &c.config.id, t)?)
    })
    .await?;
    no_content()
}

pub async fn kill(st: &Arc<State>, id: &str, q: Query) -> Handled {
    let id = id.to_string();
    let signal = q.get("signal").filter(|s| !s.is_empty()).unwrap_or("KILL").to_string();
    blocking(st, move |e| {
        let c = get(e, &id)?;
        eng::kill(e, &c.config.id, &signal).map_err(|err| match err {
            crate::Error::NotRunning(_) => ApiError::new(409, format!("Container {id} is not running")),
            err => err.into(),
        })
    })
    .await?;
    no_content()
}

pub async fn pause(st: &Arc<State>, id: &str, pause: bool) -> Handled {
    let id = id.to_string();
    blocking(st, move |e| {
        let c = get(e, &id)?;
        if pause {
            crate::engine::lifecycle::pause(e, &c.config.id)?
        } else {
            crate::engine::lifecycle::unpause(e, &c.config.id)?
        }
        Ok(())
    })
    .await?;
    no_content()
}

pub async fn rename(st: &Arc<State>, id: &str, q: Query) -> Handled {
    let id = id.to_string();
    let name = q.get("name").unwrap_or("").to_string();
    blocking(st, move |e| {
        let c = get(e, &id)?;
        Ok(eng::rename(e, &c.config.id, name.trim_start_matches('/'))?)
    })
    .await?;
    no_content()
}

pub async fn remove(st: &Arc<State>, id: &str, q: Query) -> Handled {
    let id = id.to_string();
    let (force, volumes) = (q.flag("force"), q.flag("v"));
    blocking(st, move |e| {
        let c = get(e, &id)?;
        if !force && matches!(c.state.status, Status::Running | Status::Paused | Status::Restarting) {
            return Err(ApiError::new(
                409,
                format!(
                    "You cannot remove a running container {}. Stop the container before attempting removal or force remove",
                    c.config.id
                ),
            ));
        }
        eng::remove(e, &c.config.id, force)?;
        if volumes {
            crate::volume::mounts::remove_anonymous(&e.paths, &c.config)?;
        }
        Ok(())
    })
    .await?;
    no_content()
}

/// `POST /containers/{id}/wait`: the headers at once, the body when the
/// condition holds (the docker CLI sends this before it starts the
/// container, and takes the exit code from it).
pub async fn wait(st: &Arc<State>, id: &str, q: Query) -> Handled {
    let condition = match q.get("condition").unwrap_or("") {
        "" | "not-running" => "not-running",
        "next-exit" => "next-exit",
        "removed" => "removed",
        c => return Err(ApiError::bad(format!("invalid condition: {c:?}"))),
    };
    let id = id.to_string();
    let cid = blocking(st, {
        let id = id.clone();
        move |e| Ok(get(e, &id)?.config.id)
    })
    .await?;
    let (tx, resp) = http::stream("application/json");
    let cancel = http::cancel_on_close(&tx);
    let busy = st.busy();
    let st2 = st.clone();
    tokio::task::spawn_blocking(move || {
        let _busy = busy;
        let body = match crate::engine::lifecycle::wait(&st2.engine, &cid, condition, &cancel) {
            Ok(Some(code)) => json!({"Error": null, "StatusCode": code}),
            Ok(None) => return,
            Err(err) => json!({"Error": {"Message": err.to_string()}, "StatusCode": -1}),
        };
        let _ = tx.blocking_send(http::encode(&body));
    });
    Ok(resp)
}

pub async fn logs(st: &Arc<State>, id: &str, q: Query) -> Handled {
    let (out, err) = (q.flag("stdout"), q.flag("stderr"));
    if !out && !err {
        return Err(ApiError::bad("Bad parameters: you must choose at least one stream"));
    }
    let now = units::now().0;
    let time = |k: &str| -> Result<Option<(i64, u32)>, ApiError> {
        match q.get(k).filter(|v| !v.is_empty() && *v != "0") {
            None => Ok(None),
            Some(v) => {
                let ns = crate::cli::flags::event_time(k, v, (now, 0))?;
                Ok(Some(((ns / 1_000_000_000) as i64, (ns % 1_000_000_000) as u32)))
            }
        }
    };
    let tail = match q.get("tail").unwrap_or("all") {
        "all" | "" | "-1" => None,
        n => Some(n.parse::<usize>().map_err(|_| ApiError::bad(format!("invalid tail: {n:?}")))?),
    };
    let timestamps = q.flag("timestamps");
    let opts = crate::monitor::logs::ReadOptions {
        since: time("since")?,
        until: time("until")?,
        tail,
        timestamps,
        follow: q.flag("follow"),
    };
    let id = id.to_string();
    let tty = blocking(st, {
        let id = id.clone();
        move |e| Ok(get(e, &id)?.config.tty)
    })
    .await?;
    let ct = if tty { "application/vnd.docker.raw-stream" } else { "application/vnd.docker.multiplexed-stream" };
    let (tx, resp) = http::stream(ct);
    let cancel = http::cancel_on_close(&tx);
    let busy = st.busy();
    let st2 = st.clone();
    // Answer once the log files are open (they stay readable if the
    // container is removed before the client reads the body).
    let (opened_tx, opened_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::task::spawn_blocking(move || {
        let _busy = busy;
        let mut opened_tx = Some(opened_tx);
        let _ = eng::logs_opened(
            &st2.engine,
            &id,
            &opts,
            &mut |entry| {
                use crate::monitor::logs::Stream;
                let stream = if entry.stream == Stream::Stderr { STDERR } else { STDOUT };
                if (stream == STDOUT && !out) || (stream == STDERR && !err) {
                    return Ok(());
                }
                let data = crate::monitor::logs::render(entry, timestamps);
                let bytes = if tty { data } else { attach::frame(stream, &data) };
                tx.blocking_send(Bytes::from(bytes)).map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))
            },
            &cancel,
            &mut || {
                if let Some(t) = opened_tx.take() {
                    let _ = t.send(());
                }
            },
        );
    });
    // A read that failed before opening drops the sender: answer anyway.
    let _ = opened_rx.await;
    Ok(resp)
}

/// `POST /containers/{id}/attach`: hijack the connection. A running
/// container is attached through its monitor's socket; one not started yet
/// gets a socket pair whose other end its start hands to the monitor.
pub async fn attach(st: &Arc<State>, id: &str, q: Query, req: Request<Incoming>) -> Handled {
    let id = id.to_string();
    let st2 = st.clone();
    let (conn, tty) = blocking(st, move |e| {
        let c = get(e, &id)?;
        if c.state.status == Status::Running {
            let a = crate::engine::attach::connect(e, &c.config.id)?;
            return Ok((a.stream, c.config.tty));
        }
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().map_err(|e| ApiError::new(500, e.to_string()))?;
        st2.pending_attach.lock().unwrap().insert(c.config.id.clone(), theirs.into());
        Ok((ours, c.config.tty))
    })
    .await?;
    let opts = streams::AttachOptions {
        stdin: q.flag("stdin"),
        stdout: q.flag("stdout"),
        stderr: q.flag("stderr"),
        tty,
        detach_keys: q.get("detachKeys").unwrap_or("").to_string(),
    };
    Ok(streams::hijack(st, req, conn, opts))
}

pub async fn top(st: &Arc<State>, id: &str, q: Query) -> Handled {
    let id = id.to_string();
    let args: Vec<String> = q.get("ps_args").unwrap_or("").split_whitespace().map(String::from).collect();
    let v = blocking(st, move |e| {
        let c = get(e, &id)?;
        if c.state.status != Status::Running {
            return Err(ApiError::new(409, format!("Container {} is not running", c.config.id)));
        }
        let (titles, rows) = eng::top(e, &c.config.id, &args)?;
        Ok(json!({"Titles": titles, "Processes": rows}))
    })
    .await?;
    ok_json(&v)
}

pub async fn changes(st: &Arc<State>, id: &str) -> Handled {
    let id = id.to_string();
    let v = blocking(st, move |e| {
        let c = get(e, &id)?;
        let list = crate::engine::commit::diff(e, &c.config.id)?;
        Ok(Value::Array(
            list.iter()
                .map(|ch| {
                    let kind = match ch.kind {
                        'A' => 1,
                        'D' => 2,
                        _ => 0,
                    };
                    json!({"Path": ch.path, "Kind": kind})
                })
                .collect(),
        ))
    })
    .await?;
    ok_json(&v)
}

/// A blocking writer into a streamed body.
pub struct ChanWriter(pub tokio::sync::mpsc::Sender<Bytes>);

impl std::io::Write for ChanWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .blocking_send(Bytes::copy_from_slice(buf))
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub async fn export(st: &Arc<State>, id: &str) -> Handled {
    let id = id.to_string();
    let cid = blocking(st, {
        let id = id.clone();
        move |e| Ok(get(e, &id)?.config.id)
    })
    .await?;
    let (tx, resp) = http::stream("application/x-tar");
    let busy = st.busy();
    let st2 = st.clone();
    tokio::task::spawn_blocking(move || {
        let _busy = busy;
        let _ = crate::engine::commit::export(&st2.engine, &cid, &mut ChanWriter(tx));
    });
    Ok(resp)
}

/// Docker's stats JSON (the fields clients read) from one sample.
fn stats_json(c: &Container, s: &crate::engine::stats::Sample, pre: Option<&crate::engine::stats::Sample>) -> Value {
    // Clock ticks to nanoseconds, as cgroup v1's cpuacct reports usage.
    let tick_ns = 1_000_000_000 / (unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64);
    let online = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let system_ns = || {
        std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|t| {
                t.lines()
                    .next()
                    .map(|l| l.split_whitespace().skip(1).filter_map(|v| v.parse::<u64>().ok()).sum::<u64>())
            })
            .unwrap_or(0)
            * tick_ns
    };
    let cpu = |x: &crate::engine::stats::Sample| {
        json!({
            "cpu_usage": {"total_usage": x.cpu_ticks * tick_ns, "usage_in_kernelmode": 0, "usage_in_usermode": x.cpu_ticks * tick_ns},
            "system_cpu_usage": system_ns(),
            "online_cpus": online,
            "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0},
        })
    };
    let mut networks = Map::new();
    if let Some((rx, tx)) = s.net {
        networks.insert(
            "eth0".into(),
            json!({"rx_bytes": rx, "tx_bytes": tx, "rx_packets": 0, "tx_packets": 0, "rx_errors": 0, "tx_errors": 0, "rx_dropped": 0, "tx_dropped": 0}),
        );
    }
    let (read, written) = s.block.unwrap_or((0, 0));
    json!({
        "read": units::now_rfc3339(),
        "preread": if pre.is_some() { units::now_rfc3339() } else { "0001-01-01T00:00:00Z".into() },
        "pids_stats": {"current": s.pids},
        "blkio_stats": {"io_service_bytes_recursive": [
            {"major": 0, "minor": 0, "op": "read", "value": read},
            {"major": 0, "minor": 0, "op": "write", "value": written},
        ]},
        "num_procs": 0,
        "storage_stats": {},
        "cpu_stats": cpu(s),
        "precpu_stats": pre.map(cpu).unwrap_or_else(|| json!({"cpu_usage": {"total_usage": 0}, "throttling_data": {}})),
        "memory_stats": {"usage": s.mem_usage.unwrap_or(0), "limit": s.mem_limit.unwrap_or(0), "stats": {}},
        "name": format!("/{}", c.config.name),
        "id": c.config.id,
        "networks": networks,
    })
}

pub async fn stats(st: &Arc<State>, id: &str, q: Query) -> Handled {
    let id = id.to_string();
    let stream = q.flag_or("stream", true);
    let one_shot = q.flag("one-shot");
    let c = blocking(st, {
        let id = id.clone();
        move |e| get(e, &id)
    })
    .await?;
    let (tx, resp) = http::stream("application/json");
    let busy = st.busy();
    let st2 = st.clone();
    tokio::task::spawn_blocking(move || {
        let _busy = busy;
        let mut prev: Option<crate::engine::stats::Sample> = None;
        if !stream && !one_shot {
            // Docker's non-streamed answer has a previous sample a moment before.
            prev = Some(crate::engine::stats::sample(&c));
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
        loop {
            let c = eng::get(&st2.engine, &c.config.id).unwrap_or_else(|_| c.clone());
            let s = crate::engine::stats::sample(&c);
            if tx.blocking_send(http::encode(&stats_json(&c, &s, prev.as_ref()))).is_err() || !stream {
                return;
            }
            prev = Some(s);
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    });
    Ok(resp)
}

pub async fn resize(st: &Arc<State>, id: &str, q: Query) -> Handled {
    let id = id.to_string();
    let (h, w) = (q.int("h")?.unwrap_or(0), q.int("w")?.unwrap_or(0));
    blocking(st, move |e| {
        let c = get(e, &id)?;
        Ok(eng::resize(e, &c.config.id, h as u16, w as u16)?)
    })
    .await?;
    Ok(http::empty(200))
}

pub async fn update(st: &Arc<State>, id: &str, req: Request<Incoming>) -> Handled {
    let body = http::read_json(req.into_body()).await?;
    let id = id.to_string();
    blocking(st, move |e| {
        let c = get(e, &id)?;
        let rp = &body["RestartPolicy"];
        if let Some(name) = rp["Name"].as_str().filter(|n| !n.is_empty()) {
            let p = crate::container::restart::RestartPolicy {
                name: name.into(),
                maximum_retry_count: rp["MaximumRetryCount"].as_i64().unwrap_or(0),
            };
            crate::engine::lifecycle::update_restart(e, &c.config.id, &p)?;
        }
        let l = crate::container::resources::Limits {
            memory: body["Memory"].as_u64().filter(|n| *n > 0),
            memory_swap: body["MemorySwap"].as_i64().filter(|n| *n != 0),
            cpu_quota: body["NanoCpus"].as_u64().filter(|n| *n > 0).map(|n| (n / 10_000).max(1)),
            pids_limit: body["PidsLimit"].as_i64().filter(|n| *n > 0),
            ..Default::default()
        };
        if !l.is_empty() {
            crate::engine::lifecycle::update_resources(e, &c.config.id, &l)?;
        }
        Ok(())
    })
    .await?;
    ok_json(&json!({"Warnings": []}))
}

pub async fn prune(st: &Arc<State>, _q: Query) -> Handled {
    let v = blocking(st, move |e| {
        let gone = eng::prune(e)?;
        Ok(json!({"ContainersDeleted": gone, "SpaceReclaimed": 0}))
    })
    .await?;
    ok_json(&v)
}

/// The `X-Docker-Container-Path-Stat` header: base64 JSON with Go's
/// `os.FileMode` bits (directory 1<<31, symlink 1<<27).
fn path_stat_header(s: &crate::engine::cp::PathStat) -> HeaderValue {
    let v = json!({"name": s.name, "size": s.size, "mode": s.mode, "mtime": s.mtime, "linkTarget": s.link_target});
    HeaderValue::from_str(&crate::util::base64_encode(serde_json::to_string(&v).unwrap_or_default().as_bytes()))
        .expect("base64 is ascii")
}

fn archive_path(q: &Query) -> Result<String, ApiError> {
    q.get("path").filter(|p| !p.is_empty()).map(String::from).ok_or_else(|| ApiError::bad("path is required"))
}

pub async fn archive_stat(st: &Arc<State>, id: &str, q: Query) -> Handled {
    let path = archive_path(&q)?;
    let id = id.to_string();
    let s = blocking(st, move |e| {
        let c = get(e, &id)?;
        Ok(crate::engine::cp::stat(e, &c.config.id, &path)?)
    })
    .await?;
    let mut r = http::empty(200);
    r.headers_mut().insert("X-Docker-Container-Path-Stat", path_stat_header(&s));
    Ok(r)
}

pub async fn archive_get(st: &Arc<State>, id: &str, q: Query) -> Handled {
    let path = archive_path(&q)?;
    let id = id.to_string();
    let (cid, s) = blocking(st, {
        let (id, path) = (id.clone(), path.clone());
        move |e| {
            let c = get(e, &id)?;
            let s = crate::engine::cp::stat(e, &c.config.id, &path)?;
            Ok((c.config.id, s))
        }
    })
    .await?;
    let (tx, mut resp) = http::stream("application/x-tar");
    resp.headers_mut().insert("X-Docker-Container-Path-Stat", path_stat_header(&s));
    let busy = st.busy();
    let st2 = st.clone();
    tokio::task::spawn_blocking(move || {
        let _busy = busy;
        let _ = crate::engine::cp::copy_out(&st2.engine, &cid, &path, false, &mut ChanWriter(tx));
    });
    Ok(resp)
}

pub async fn archive_put(st: &Arc<State>, id: &str, q: Query, req: Request<Incoming>) -> Handled {
    let path = archive_path(&q)?;
    let id = id.to_string();
    // The tar comes in the body, possibly large: to a file first.
    let tmp = streams::body_to_file(st, req.into_body(), "archive").await?;
    blocking(st, move |e| {
        let c = get(e, &id)?;
        let mut f = std::fs::File::open(tmp.path()).map_err(|e| ApiError::new(500, e.to_string()))?;
        crate::engine::cp::copy_in(e, &c.config.id, &path, crate::engine::cp::CopySource::Tar(&mut f))?;
        drop(tmp);
        Ok(())
    })
    .await?;
    Ok(http::empty(200))
}
