//! `/images/…`, `/build`, `/commit`, `/distribution`, and the image and
//! container parts of `/system/df`.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::Request;
use serde_json::{json, Value};

use super::http::{ok_json, ApiError, Handled, Query};
use super::{blocking, State};
use crate::engine::images as eng;
use crate::engine::Engine;

fn no_image(name: &str) -> ApiError {
    ApiError::not_found(format!("No such image: {name}"))
}

/// The image a name or id names, or Docker's 404.
fn resolve(e: &Engine, name: &str) -> Result<crate::image::store::ImageRecord, ApiError> {
    e.store()?.resolve(name).map_err(|err| match err.kind() {
        crate::error::ErrorKind::NotFound => no_image(name),
        _ => err.into(),
    })
}

fn familiar_tags(img: &crate::image::store::ImageRecord) -> Vec<String> {
    img.repo_tags.iter().map(|t| crate::image::reference::familiar(t)).collect()
}

pub async fn list(st: &Arc<State>, q: Query) -> Handled {
    let mut filters = Vec::new();
    if let Some(m) = q.filters()?.as_object() {
        for (k, vals) in m {
            for v in super::containers::filter_values(vals) {
                filters.push(format!("{k}={v}"));
            }
        }
    }
    let all = q.flag("all");
    let v = blocking(st, move |e| {
        let store = e.store()?;
        let rows = eng::list(store, &eng::ListOptions { all, filters, reference: None })?;
        let containers =
            crate::engine::ps::list(e, &crate::engine::ps::ListOptions { all: true, ..Default::default() })?;
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for r in rows {
            if !seen.insert(r.image.id.clone()) {
                continue;
            }
            let img = &r.image;
            let used = containers.iter().filter(|c| c.config.image == img.id).count();
            let digests: Vec<String> = img.repo_digests.iter().map(|d| crate::image::reference::familiar(d)).collect();
            out.push(json!({
                "Id": img.id,
                "ParentId": img.parent.clone().unwrap_or_default(),
                "RepoTags": familiar_tags(img),
                "RepoDigests": digests,
                "Created": img.created,
                "Size": img.size,
                "SharedSize": -1,
                "VirtualSize": img.size,
                "Labels": if img.labels.is_empty() { Value::Null } else { Value::Object(img.labels.clone()) },
                "Containers": used,
            }));
        }
        Ok(Value::Array(out))
    })
    .await?;
    ok_json(&v)
}

pub async fn inspect(st: &Arc<State>, name: &str) -> Handled {
    let name = name.to_string();
    let v = blocking(st, move |e| {
        resolve(e, &name)?;
        Ok(eng::inspect(e.store()?, &name)?)
    })
    .await?;
    ok_json(&v)
}

pub async fn history(st: &Arc<State>, name: &str) -> Handled {
    let name = name.to_string();
    let v = blocking(st, move |e| {
        let img = resolve(e, &name)?;
        let rows = eng::history(e.store()?, &name)?;
        let tags = familiar_tags(&img);
        Ok(Value::Array(
            rows.iter()
                .enumerate()
                .map(|(i, r)| {
                    json!({
                        "Id": r.id,
                        "Created": r.created,
                        "CreatedBy": r.created_by,
                        "Tags": if i == 0 { json!(tags) } else { Value::Null },
                        "Size": r.size,
                        "Comment": r.comment,
                    })
                })
                .collect(),
        ))
    })
    .await?;
    ok_json(&v)
}

pub async fn tag(st: &Arc<State>, name: &str, q: Query) -> Handled {
    let repo = q.get("repo").unwrap_or("").to_string();
    let tag = q.get("tag").filter(|t| !t.is_empty()).unwrap_or("latest").to_string();
    if repo.is_empty() {
        return Err(ApiError::bad("repository name is required (repo)"));
    }
    let name = name.to_string();
    blocking(st, move |e| {
        resolve(e, &name)?;
        Ok(eng::tag(e.store()?, &name, &format!("{repo}:{tag}"))?)
    })
    .await?;
    Ok(super::http::json(201, &Value::Null))
}

pub async fn remove(st: &Arc<State>, name: &str, q: Query) -> Handled {
    let name = name.to_string();
    let force = q.flag("force");
    let v = blocking(st, move |e| {
        resolve(e, &name)?;
        let gone = eng::remove(e.store()?, &name, force)?;
        Ok(Value::Array(
            gone.iter()
                .map(|r| match r {
                    eng::Removed::Untagged(t) => json!({"Untagged": crate::image::reference::familiar(t)}),
                    eng::Removed::Deleted(id) => json!({"Deleted": id}),
                })
                .collect(),
        ))
    })
    .await?;
    ok_json(&v)
}

pub async fn prune(st: &Arc<State>, q: Query) -> Handled {
    let mut filters = Vec::new();
    let mut all = false;
    if let Some(m) = q.filters()?.as_object() {
        for (k, vals) in m {
            for v in super::containers::filter_values(vals) {
                if k == "dangling" {
                    all = matches!(v.as_str(), "false" | "0");
                } else {
                    filters.push(format!("{k}={v}"));
                }
            }
        }
    }
    let (gone, bytes) = blocking(st, move |e| Ok(eng::prune(e.store()?, all, &filters)?)).await?;
    let deleted: Vec<Value> = gone.iter().map(|id| json!({"Deleted": id})).collect();
    ok_json(&json!({"ImagesDeleted": deleted, "SpaceReclaimed": bytes}))
}

/// `/system/df`: images, containers, volumes and the (empty) build cache.
pub fn df_json(e: &Engine) -> Result<Value, ApiError> {
    let du = crate::engine::df::disk_usage(e)?;
    let images: Vec<Value> = du
        .images
        .iter()
        .map(|u| {
            json!({
                "Id": u.image.id,
                "ParentId": u.image.parent.clone().unwrap_or_default(),
                "RepoTags": familiar_tags(&u.image),
                "RepoDigests": u.image.repo_digests,
                "Created": u.image.created,
                "Size": u.image.size,
                "SharedSize": u.shared,
                "VirtualSize": u.image.size,
                "Labels": Value::Null,
                "Containers": u.containers,
            })
        })
        .collect();
    let containers: Vec<Value> = du
        .containers
        .iter()
        .map(|c| {
            let cfg = &c.container.config;
            json!({
                "Id": cfg.id,
                "Names": [format!("/{}", cfg.name)],
                "Image": cfg.image_name,
                "ImageID": cfg.image,
                "Command": cfg.entrypoint.iter().chain(cfg.cmd.iter()).cloned().collect::<Vec<_>>().join(" "),
                "Created": crate::format::units::parse_rfc3339(&cfg.created).map(|t| t.0).unwrap_or(0),
                "SizeRw": c.size,
                "SizeRootFs": c.size,
                "Labels": cfg.labels,
                "State": c.container.state.status.as_str(),
                "Status": crate::engine::containers::status_text(&c.container),
            })
        })
        .collect();
    let mut volumes = Vec::new();
    for r in crate::engine::volumes::list(e, &[])? {
        let mut v = crate::engine::volumes::inspect(e, &r.volume.name)?;
        let size = crate::util::tree_size(std::path::Path::new(&r.mountpoint));
        v["UsageData"] = json!({"Size": size, "RefCount": r.links});
        volumes.push(v);
    }
    Ok(json!({
        "LayersSize": du.images_size,
        "Images": images,
        "Containers": containers,
        "Volumes": volumes,
        "BuildCache": [],
    }))
}

fn later(what: &str) -> Handled {
    Err(ApiError::new(501, format!("{what} is not served yet")))
}

pub async fn create(_st: &Arc<State>, _q: Query, _req: Request<Incoming>) -> Handled {
    later("POST /images/create")
}
pub async fn search(_st: &Arc<State>, _q: Query) -> Handled {
    later("GET /images/search")
}
pub async fn save(_st: &Arc<State>, _names: Vec<String>) -> Handled {
    later("GET /images/get")
}
pub async fn load(_st: &Arc<State>, _q: Query, _req: Request<Incoming>) -> Handled {
    later("POST /images/load")
}
pub async fn push(_st: &Arc<State>, _name: &str, _q: Query, _req: Request<Incoming>) -> Handled {
    later("POST /images/push")
}
pub async fn build(_st: &Arc<State>, _q: Query, _req: Request<Incoming>) -> Handled {
    later("POST /build")
}
pub async fn build_prune() -> Handled {
    ok_json(&json!({"CachesDeleted": [], "SpaceReclaimed": 0}))
}
pub async fn commit(_st: &Arc<State>, _q: Query, _req: Request<Incoming>) -> Handled {
    later("POST /commit")
}
pub async fn distribution(_st: &Arc<State>, _name: &str) -> Handled {
    later("GET /distribution")
}
