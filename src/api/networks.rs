//! `/networks/…` and `/volumes/…`.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::Request;
use serde_json::{json, Value};

use super::containers::filter_values;
use super::http::{self, no_content, ok_json, ApiError, Handled, Query};
use super::{blocking, State};
use crate::engine::networks as net;
use crate::engine::volumes as vol;

/// `filters` JSON as the engine's `KEY=VALUE` list.
fn filter_specs(q: &Query) -> Result<Vec<String>, ApiError> {
    let mut out = Vec::new();
    if let Some(m) = q.filters()?.as_object() {
        for (k, vals) in m {
            for v in filter_values(vals) {
                out.push(format!("{k}={v}"));
            }
        }
    }
    Ok(out)
}

fn kv_list(v: &Value) -> Vec<String> {
    v.as_object()
        .map(|m| m.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(""))).collect())
        .unwrap_or_default()
}

fn no_network(id: &str) -> ApiError {
    ApiError::not_found(format!("network {id} not found"))
}

pub async fn list(st: &Arc<State>, q: Query) -> Handled {
    let filters = filter_specs(&q)?;
    let v = blocking(st, move |e| {
        let rows = net::list_networks(e, &filters)?;
        let mut out = Vec::new();
        for r in rows {
            out.push(net::inspect_network(e, &r.id)?);
        }
        Ok(Value::Array(out))
    })
    .await?;
    ok_json(&v)
}

pub async fn inspect(st: &Arc<State>, id: &str) -> Handled {
    let id = id.to_string();
    let v = blocking(st, move |e| net::inspect_network(e, &id).map_err(|_| no_network(&id))).await?;
    ok_json(&v)
}

pub async fn create(st: &Arc<State>, req: Request<Incoming>) -> Handled {
    let b = http::read_json(req.into_body()).await?;
    let name = b["Name"].as_str().unwrap_or("").to_string();
    if name.is_empty() {
        return Err(ApiError::bad("network name is required (Name)"));
    }
    let cfg = b["IPAM"]["Config"].as_array().and_then(|c| c.first()).cloned().unwrap_or(Value::Null);
    let o = net::CreateNetwork {
        name: name.clone(),
        driver: b["Driver"].as_str().filter(|d| !d.is_empty()).unwrap_or("bridge").to_string(),
        subnet: cfg["Subnet"].as_str().filter(|s| !s.is_empty()).map(String::from),
        gateway: cfg["Gateway"].as_str().filter(|s| !s.is_empty()).map(String::from),
        internal: b["Internal"].as_bool().unwrap_or(false),
        labels: kv_list(&b["Labels"]),
    };
    let check_duplicate = b["CheckDuplicate"].as_bool().unwrap_or(true);
    let id = blocking(st, move |e| {
        // Docker's predefined names are refused with 403.
        if ["bridge", "host", "none"].contains(&o.name.as_str()) {
            return Err(ApiError::new(403, format!("{} is a pre-defined network and cannot be created", o.name)));
        }
        let _ = check_duplicate;
        Ok(net::create_network(e, &o)?)
    })
    .await?;
    Ok(http::json(201, &json!({"Id": id, "Warning": ""})))
}

pub async fn remove(st: &Arc<State>, id: &str) -> Handled {
    let id = id.to_string();
    blocking(st, move |e| {
        net::remove_network(e, &id, false).map_err(|err| match err.kind() {
            crate::error::ErrorKind::NotFound => no_network(&id),
            // Docker answers "in use" (active endpoints) with 403.
            crate::error::ErrorKind::Conflict | crate::error::ErrorKind::InvalidArgument => {
                ApiError::new(403, err.to_string())
            }
            _ => err.into(),
        })
    })
    .await?;
    no_content()
}

pub async fn connect(st: &Arc<State>, id: &str, req: Request<Incoming>) -> Handled {
    let b = http::read_json(req.into_body()).await?;
    let container = b["Container"].as_str().unwrap_or("").to_string();
    let ep = &b["EndpointConfig"];
    let aliases: Vec<String> = ep["Aliases"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x.as_str().map(String::from)).collect())
        .unwrap_or_default();
    let ip = ep["IPAMConfig"]["IPv4Address"].as_str().filter(|s| !s.is_empty()).map(String::from);
    let id = id.to_string();
    blocking(st, move |e| {
        net::inspect_network(e, &id).map_err(|_| no_network(&id))?;
        crate::engine::containers::get(e, &container)
            .map_err(|_| ApiError::not_found(format!("No such container: {container}")))?;
        Ok(net::connect(e, &id, &container, &aliases, ip.as_deref())?)
    })
    .await?;
    Ok(http::empty(200))
}

pub async fn disconnect(st: &Arc<State>, id: &str, req: Request<Incoming>) -> Handled {
    let b = http::read_json(req.into_body()).await?;
    let container = b["Container"].as_str().unwrap_or("").to_string();
    let force = b["Force"].as_bool().unwrap_or(false);
    let id = id.to_string();
    blocking(st, move |e| {
        net::inspect_network(e, &id).map_err(|_| no_network(&id))?;
        Ok(net::disconnect(e, &id, &container, force)?)
    })
    .await?;
    Ok(http::empty(200))
}

pub async fn prune(st: &Arc<State>, q: Query) -> Handled {
    let filters = filter_specs(&q)?;
    let gone = blocking(st, move |e| Ok(net::prune_networks(e, &filters)?)).await?;
    ok_json(&json!({ "NetworksDeleted": gone }))
}

pub async fn volumes_list(st: &Arc<State>, q: Query) -> Handled {
    let filters = filter_specs(&q)?;
    let v = blocking(st, move |e| {
        let mut out = Vec::new();
        for r in vol::list(e, &filters)? {
            out.push(vol::inspect(e, &r.volume.name)?);
        }
        Ok(json!({"Volumes": out, "Warnings": null}))
    })
    .await?;
    ok_json(&v)
}

pub async fn volume_inspect(st: &Arc<State>, name: &str) -> Handled {
    let name = name.to_string();
    let v = blocking(st, move |e| Ok(vol::inspect(e, &name)?)).await?;
    ok_json(&v)
}

pub async fn volume_create(st: &Arc<State>, req: Request<Incoming>) -> Handled {
    let b = http::read_json(req.into_body()).await?;
    let name = b["Name"].as_str().filter(|s| !s.is_empty()).map(String::from);
    if let Some(d) = b["Driver"].as_str().filter(|d| !d.is_empty() && *d != "local") {
        return Err(ApiError::bad(format!("volume driver {d:?} is not available: rcon has the local driver only")));
    }
    let (labels, opts) = (kv_list(&b["Labels"]), kv_list(&b["DriverOpts"]));
    let v = blocking(st, move |e| {
        let name = vol::create(e, name.as_deref(), &labels, &opts)?;
        Ok(vol::inspect(e, &name)?)
    })
    .await?;
    Ok(http::json(201, &v))
}

pub async fn volume_remove(st: &Arc<State>, name: &str, q: Query) -> Handled {
    let name = name.to_string();
    let force = q.flag("force");
    blocking(st, move |e| Ok(vol::remove(e, &name, force)?)).await?;
    no_content()
}

pub async fn volumes_prune(st: &Arc<State>, q: Query) -> Handled {
    let mut filters = filter_specs(&q)?;
    // API ≥ 1.42 prunes anonymous volumes only, unless all=true.
    let all = filters.iter().any(|f| f == "all=true" || f == "all=1");
    filters.retain(|f| !f.starts_with("all="));
    let (gone, bytes) = blocking(st, move |e| Ok(vol::prune(e, all, &filters)?)).await?;
    ok_json(&json!({"VolumesDeleted": gone, "SpaceReclaimed": bytes}))
}
