//! `/_ping`, `/version`, `/info`, `/events`, `/system/df`, `/auth`, and
//! the answers for swarm endpoints.

use std::sync::Arc;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::Request;
use serde_json::{json, Value};

use super::http::{self, ok_json, ApiError, Handled, Query};
use super::{blocking, State};

pub fn ping() -> Handled {
    let mut r = http::text(200, "OK");
    let h = r.headers_mut();
    h.insert("Builder-Version", HeaderValue::from_static("1"));
    h.insert("Cache-Control", HeaderValue::from_static("no-cache, no-store, must-revalidate"));
    h.insert("Pragma", HeaderValue::from_static("no-cache"));
    Ok(r)
}

/// Docker's `/version`, with `Platform.Name` naming rcon.
pub fn version_json() -> Value {
    let v = crate::engine::system::version();
    let s = &v["Server"];
    let arch = s["Arch"].clone();
    json!({
        "Platform": {"Name": "rcon"},
        "Components": [{
            "Name": "Engine",
            "Version": crate::VERSION,
            "Details": {
                "ApiVersion": http::API_VERSION,
                "Arch": arch,
                "BuildTime": "",
                "Experimental": "false",
                "GitCommit": "",
                "GoVersion": "none (Rust)",
                "KernelVersion": s["KernelVersion"],
                "MinAPIVersion": http::MIN_API_VERSION,
                "Os": "linux",
            },
        }],
        "Version": crate::VERSION,
        "ApiVersion": http::API_VERSION,
        "MinAPIVersion": http::MIN_API_VERSION,
        "GitCommit": "",
        "GoVersion": "none (Rust)",
        "Os": "linux",
        "Arch": arch,
        "KernelVersion": s["KernelVersion"],
        "BuildTime": "",
    })
}

pub async fn version(_st: &Arc<State>) -> Handled {
    ok_json(&version_json())
}

pub async fn info(st: &Arc<State>) -> Handled {
    let mut v = blocking(st, |e| Ok(crate::engine::system::info(e)?)).await?;
    docker_info_defaults(&mut v);
    ok_json(&v)
}

/// The `/info` fields of Docker's that the engine's report has no fact
/// for: what an engine without those features reports (clients such as
/// docker-py and the CLI read them without checking they are there).
fn docker_info_defaults(v: &mut Value) {
    let rootless = v["Rootless"].as_bool().unwrap_or(false);
    let env = |k: &str| std::env::var(k).or_else(|_| std::env::var(k.to_lowercase())).unwrap_or_default();
    let defaults = json!({
        "MemoryLimit": !rootless,
        "SwapLimit": !rootless,
        "KernelMemory": false,
        "KernelMemoryTCP": false,
        "CpuCfsPeriod": !rootless,
        "CpuCfsQuota": !rootless,
        "CPUShares": !rootless,
        "CPUSet": !rootless,
        "PidsLimit": !rootless,
        "OomKillDisable": false,
        "IPv4Forwarding": true,
        "BridgeNfIptables": false,
        "BridgeNfIp6tables": false,
        "NFd": std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0),
        "NGoroutines": 0,
        "SystemTime": crate::format::units::now_rfc3339(),
        "NEventsListener": 0,
        "OSVersion": "",
        "HttpProxy": env("HTTP_PROXY"),
        "HttpsProxy": env("HTTPS_PROXY"),
        "NoProxy": env("NO_PROXY"),
        "Labels": [],
        "ExperimentalBuild": false,
        "GenericResources": null,
        "Runtimes": {"rcon": {"path": std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default()}},
        "DefaultRuntime": "rcon",
        "Swarm": {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive", "ControlAvailable": false, "Error": "", "RemoteManagers": null},
        "LiveRestoreEnabled": true,
        "Isolation": "",
        "InitBinary": "",
        "ContainerdCommit": {"ID": "", "Expected": ""},
        "RuncCommit": {"ID": "", "Expected": ""},
        "InitCommit": {"ID": "", "Expected": ""},
    });
    if let (Some(m), Value::Object(d)) = (v.as_object_mut(), defaults) {
        for (k, x) in d {
            m.entry(k).or_insert(x);
        }
    }
}

pub async fn df(st: &Arc<State>) -> Handled {
    let v = blocking(st, super::images::df_json).await?;
    ok_json(&v)
}

/// `POST /auth`: check credentials against a registry, as `docker login`.
pub async fn auth(st: &Arc<State>, req: Request<Incoming>) -> Handled {
    let body = http::read_json(req.into_body()).await?;
    let user = body["username"].as_str().unwrap_or("").to_string();
    let pass = body["password"].as_str().unwrap_or("").to_string();
    let server = body["serveraddress"].as_str().unwrap_or("").to_string();
    blocking(st, move |e| {
        let server = if server.is_empty() { "docker.io".to_string() } else { server };
        let creds = crate::registry::auth::Credentials { username: user, password: pass };
        let tls = crate::registry::client::TlsVerify::Default;
        crate::engine::registry::check_login(e, &server, &creds, tls).map_err(|e| ApiError::new(401, e.to_string()))?;
        Ok(())
    })
    .await?;
    ok_json(&json!({"Status": "Login Succeeded", "IdentityToken": ""}))
}

/// `GET /events`: newline-delimited JSON, one line flushed per event,
/// until `until` or until the client goes away.
pub async fn events(st: &Arc<State>, q: Query) -> Handled {
    let now = crate::format::units::now();
    let time = |k: &str| -> Result<Option<i128>, ApiError> {
        q.get(k)
            .filter(|v| !v.is_empty())
            .map(|v| crate::cli::flags::event_time(k, v, now))
            .transpose()
            .map_err(ApiError::from)
    };
    let (since, until) = (time("since")?, time("until")?);
    let mut specs = Vec::new();
    if let Some(m) = q.filters()?.as_object() {
        for (k, vals) in m {
            for v in super::containers::filter_values(vals) {
                specs.push(format!("{k}={v}"));
            }
        }
    }
    let filter = crate::events::Filter::parse(&specs)?;
    let (tx, resp) = http::stream("application/json");
    let cancel = http::cancel_on_close(&tx);
    let busy = st.busy();
    let st2 = st.clone();
    tokio::task::spawn_blocking(move || {
        let _busy = busy;
        let o = crate::engine::events::EventsOptions { since, until, filter, cancel };
        crate::engine::events::follow(&st2.engine, &o, &mut |ev| {
            tx.blocking_send(Bytes::from(http::encode(&legacy(ev)).to_vec())).map_err(|_| std::io::Error::other("gone"))
        });
    });
    Ok(resp)
}

/// The legacy `status`/`id`/`from` fields Docker still sends for container
/// and image events.
fn legacy(ev: &Value) -> Value {
    let mut v = ev.clone();
    if matches!(ev["Type"].as_str(), Some("container") | Some("image")) {
        if let Some(m) = v.as_object_mut() {
            m.insert("status".into(), ev["Action"].clone());
            m.insert("id".into(), ev["Actor"]["ID"].clone());
            if let Some(img) = ev["Actor"]["Attributes"]["image"].as_str() {
                m.insert("from".into(), Value::String(img.into()));
            }
        }
    }
    v
}

pub fn no_swarm() -> Handled {
    Err(ApiError::new(
        503,
        "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again.",
    ))
}
