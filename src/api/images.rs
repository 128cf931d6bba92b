//! `/images/…`, `/build`, `/commit`, `/distribution`, and the image and
//! container parts of `/system/df`. Pull, push, build, load and import
//! answer in Docker's JSON message streams (`jsonstream`), from the same
//! engine calls as the CLI; credentials come with each request
//! (`X-Registry-Auth`, `X-Registry-Config`) before the saved ones.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::Request;
use serde_json::{json, Value};

use super::http::{ok_json, ApiError, Handled, Query};
use super::jsonstream::{self, JsonProgress};
use super::{blocking, streams, State};
use crate::engine::build::BuildOptions;
use crate::engine::images as eng;
use crate::engine::registry as reg;
use crate::engine::Engine;
use crate::error::ErrorKind;
use crate::image::archive::ArchiveFormat;
use crate::image::import::ImportSource;
use crate::image::reference::Reference;
use crate::registry::auth::{Credentials, Supplied};
use crate::registry::client::TlsVerify;
use crate::registry::progress::Progress;

pub fn no_image(name: &str) -> ApiError {
    ApiError::not_found(format!("No such image: {}", with_default_tag(name)))
}

/// A name as Docker's errors spell it: `busybox:latest` for `busybox`.
pub fn with_default_tag(name: &str) -> String {
    match Reference::parse(name) {
        Ok(r) if r.tag.is_none() && r.digest.is_none() => format!("{}:latest", r.familiar()),
        Ok(r) => r.familiar(),
        Err(_) => name.to_string(),
    }
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

/// `X-Registry-Auth`: base64url JSON `{username, password, serveraddress}`
/// (or `auth`, base64 `user:password`). None when absent; as dockerd, a
/// header that does not decode counts as no credentials.
fn auth_header(h: &hyper::HeaderMap) -> Option<Option<Credentials>> {
    let raw = h.get("X-Registry-Auth")?.to_str().ok()?;
    Some(decode_auth(raw).and_then(|v| credentials(&v)))
}

fn decode_auth(raw: &str) -> Option<Value> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    serde_json::from_slice(&crate::util::base64_decode(raw)?).ok()
}

/// One entry of Docker's AuthConfig. An `identitytoken` alone (an OAuth
/// refresh token from `docker login` to Docker Hub) is not used: rcon's
/// registry client speaks basic credentials and the token flow they get.
fn credentials(v: &Value) -> Option<Credentials> {
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let (mut username, mut password) = (s("username"), s("password"));
    if username.is_empty() {
        let decoded = crate::util::base64_decode(&s("auth")).and_then(|b| String::from_utf8(b).ok());
        if let Some((u, p)) = decoded.as_deref().and_then(|t| t.split_once(':')) {
            (username, password) = (u.to_string(), p.to_string());
        }
    }
    (!username.is_empty()).then_some(Credentials { username, password })
}

/// The credentials for the registry `name` is in, as one request gave them.
fn supplied_for(name: &str, creds: Option<Credentials>) -> Supplied {
    match (creds, Reference::parse(name)) {
        (Some(c), Ok(r)) => Supplied::one(&r.registry, c),
        _ => Supplied::default(),
    }
}

/// Docker's wording of a failed pull before any progress: unknown
/// repositories and refused credentials are both 404 "pull access denied"
/// (a registry does not tell them apart), an unknown tag 404 "manifest … not found".
fn pull_error(name: &str, e: crate::error::Error) -> ApiError {
    match e.kind() {
        // The engine's cause names `rcon login`; an API client's fix is its own login.
        ErrorKind::Unauthorized => ApiError::not_found(format!(
            "pull access denied for {}, repository does not exist or may require 'docker login': unauthorized: authentication required",
            Reference::parse(name).map(|r| r.familiar_name()).unwrap_or_else(|_| name.to_string())
        )),
        _ => e.into(),
    }
}

/// A reference from `fromImage`/`tag` (or a name and `tag` query), as
/// dockerd joins them: a `sha256:` tag is a digest.
fn with_tag(name: &str, tag: &str) -> String {
    if tag.is_empty() {
        name.to_string()
    } else if tag.contains(':') {
        format!("{name}@{tag}")
    } else {
        format!("{name}:{tag}")
    }
}

fn invalid_reference(e: crate::error::Error) -> ApiError {
    ApiError::bad(format!("invalid reference format: {e}"))
}

/// `POST /images/create`: pull (`fromImage`) or import (`fromSrc`).
pub async fn create(st: &Arc<State>, q: Query, req: Request<Incoming>) -> Handled {
    let from = q.get("fromImage").unwrap_or("").to_string();
    if from.is_empty() {
        return import(st, q, req).await;
    }
    let name = with_tag(&from, q.get("tag").unwrap_or(""));
    let r = Reference::parse(&name).map_err(invalid_reference)?;
    // No tag and no digest: every tag, as dockerd does (the docker CLI
    // and docker-py send `latest` unless asked for all).
    let all_tags = r.tag.is_none() && r.digest.is_none();
    let platform = q.get("platform").filter(|p| !p.is_empty()).map(str::to_string);
    let auth = supplied_for(&name, auth_header(req.headers()).flatten());
    jsonstream::respond(st, move |e, out| {
        let progress = Progress::new(Box::new(JsonProgress::new(out.clone())));
        let preq = reg::PullRequest { name: name.clone(), all_tags, platform, auth, ..Default::default() };
        match reg::pull_cmd(e, &preq, &progress) {
            Ok(pulled) => {
                for p in &pulled {
                    out.send(&json!({ "status": reg::status_line(p) }));
                }
            }
            Err(err) => out.fail(pull_error(&name, err)),
        }
    })
    .await
}

/// The import half of `POST /images/create`: `fromSrc` is `-` (the body)
/// or a URL (dockerd reads a bare host/path as an http URL too, never a
/// file of the server's).
async fn import(st: &Arc<State>, q: Query, req: Request<Incoming>) -> Handled {
    let src = q.get("fromSrc").unwrap_or("").to_string();
    if src.is_empty() {
        return Err(ApiError::bad("fromImage or fromSrc is required"));
    }
    let repo = q.get("repo").unwrap_or("");
    let reference = (!repo.is_empty()).then(|| with_tag(repo, q.get("tag").unwrap_or("")));
    if let Some(r) = &reference {
        Reference::parse(r).map_err(invalid_reference)?;
    }
    let opts = crate::image::import::ImportOptions {
        reference,
        changes: q.all("changes"),
        message: q.get("message").filter(|m| !m.is_empty()).map(str::to_string),
    };
    let body = if src == "-" { Some(streams::body_to_file(st, req.into_body(), "import").await?) } else { None };
    jsonstream::respond(st, move |e, out| {
        let source = match &body {
            Some(f) => match std::fs::File::open(f.path()) {
                Ok(f) => ImportSource::Stream(Box::new(f)),
                Err(err) => return out.fail(ApiError::new(500, format!("read the request body: {err}"))),
            },
            None if src.contains("://") => ImportSource::Url(src),
            None => ImportSource::Url(format!("http://{src}")),
        };
        let done = e.store().map_err(ApiError::from).and_then(|s| Ok(eng::import(s, source, &opts)?));
        match done {
            Ok(c) => {
                out.send(&json!({ "status": c.id }));
            }
            Err(err) => out.fail(err),
        }
    })
    .await
}

/// `GET /images/search`: the registry's v1 search (Docker Hub has one; a
/// distribution registry answers that it has none).
pub async fn search(st: &Arc<State>, q: Query) -> Handled {
    let term = q.get("term").unwrap_or("").to_string();
    let limit = q.int("limit")?.unwrap_or(25).clamp(1, 100) as usize;
    let filters = q.filters()?;
    let want = |k: &str| -> Vec<String> { filters.get(k).map(super::containers::filter_values).unwrap_or_default() };
    let (official, automated, stars) = (want("is-official"), want("is-automated"), want("stars"));
    let min_stars: u64 = match stars.last() {
        Some(s) => s.parse().map_err(|_| ApiError::bad(format!("invalid filter 'stars={s}'")))?,
        None => 0,
    };
    let rows = blocking(st, move |e| Ok(reg::search(e, &term, limit, TlsVerify::Default)?)).await?;
    let is = |v: &[String], b: bool| v.last().is_none_or(|x| (x == "true" || x == "1") == b);
    let out: Vec<Value> = rows
        .iter()
        .filter(|r| is(&official, r.official) && is(&automated, r.automated) && r.stars >= min_stars)
        .map(|r| {
            json!({
                "star_count": r.stars,
                "is_official": r.official,
                "name": r.name,
                "is_automated": r.automated,
                "description": r.description,
            })
        })
        .collect();
    ok_json(&Value::Array(out))
}

/// `GET /images/get` and `GET /images/{name}/get`: a docker-archive tar of
/// the images, streamed as it is written. Unknown names are a 404 before
/// any byte.
pub async fn save(st: &Arc<State>, names: Vec<String>) -> Handled {
    let names2 = names.clone();
    blocking(st, move |e| {
        for n in &names2 {
            resolve(e, n)?;
        }
        Ok(())
    })
    .await?;
    let (tx, resp) = super::http::stream("application/x-tar");
    let busy = st.busy();
    let st2 = st.clone();
    tokio::task::spawn_blocking(move || {
        let _busy = busy;
        if let Ok(store) = st2.engine.store() {
            let mut w = super::containers::ChanWriter(tx);
            let _ = eng::save(store, &names, ArchiveFormat::DockerArchive, &mut w);
        }
    });
    Ok(resp)
}

/// `POST /images/load`: a docker- or oci-archive in the body. Always a 200
/// stream, as dockerd: `Loaded image: NAME` per tag (`Loaded image ID:` for
/// an untagged one), or the error line. `quiet` only drops progress bars,
/// which rcon does not send.
pub async fn load(st: &Arc<State>, _q: Query, req: Request<Incoming>) -> Handled {
    let body = streams::body_to_file(st, req.into_body(), "load").await?;
    jsonstream::respond(st, move |e, out| {
        let loaded = std::fs::File::open(body.path())
            .map_err(|err| ApiError::new(500, format!("read the request body: {err}")))
            .and_then(|f| Ok(eng::load(e.store()?, std::io::BufReader::new(f))?));
        match loaded {
            Ok(images) => {
                for c in &images {
                    if c.tags.is_empty() {
                        out.text(&format!("Loaded image ID: {}\n", c.id));
                    }
                    for t in &c.tags {
                        out.text(&format!("Loaded image: {}\n", crate::image::reference::familiar(t)));
                    }
                }
            }
            Err(err) => {
                // Never an HTTP error: dockerd has answered 200 by then.
                out.send(&jsonstream::error_line(&err.message, None));
            }
        }
    })
    .await
}

/// `POST /images/{name}/push?tag=`: without a tag (and none in the name),
/// every tag of the repository, as dockerd. Credentials come in
/// `X-Registry-Auth`; without the header dockerd reads them from the body
/// and refuses a request that has neither.
pub async fn push(st: &Arc<State>, name: &str, q: Query, req: Request<Incoming>) -> Handled {
    let (parts, body) = req.into_parts();
    let creds = match auth_header(&parts.headers) {
        Some(c) => c,
        None => {
            let b = super::http::read_body(body, super::http::MAX_JSON_BODY).await?;
            let v: Value = serde_json::from_slice(&b).map_err(|e| {
                let why = if b.iter().all(u8::is_ascii_whitespace) { "EOF".to_string() } else { e.to_string() };
                ApiError::bad(format!("Bad parameters and missing X-Registry-Auth: {why}"))
            })?;
            credentials(&v)
        }
    };
    let full = with_tag(name, q.get("tag").unwrap_or(""));
    let r = Reference::parse(&full).map_err(invalid_reference)?;
    let all_tags = r.tag.is_none() && r.digest.is_none();
    let auth = supplied_for(&full, creds);
    // An image that is not there is a 404 before any output.
    let check = full.clone();
    blocking(st, move |e| {
        if !all_tags {
            resolve(e, &check)?;
        }
        Ok(())
    })
    .await?;
    jsonstream::respond(st, move |e, out| {
        let progress = Progress::new(Box::new(JsonProgress::new(out.clone())));
        let preq = reg::PushRequest { name: full, all_tags, auth, ..Default::default() };
        if let Err(err) = reg::push_cmd(e, &preq, &progress) {
            out.fail(err.into());
        }
    })
    .await
}

/// A JSON object of strings in a query parameter (`buildargs`, `labels`);
/// null values (a build arg named without a value) are left out.
fn json_map(q: &Query, k: &str) -> Result<Vec<(String, String)>, ApiError> {
    match q.get(k) {
        None | Some("") => Ok(Vec::new()),
        Some(v) => {
            let m: serde_json::Map<String, Value> =
                serde_json::from_str(v).map_err(|e| ApiError::bad(format!("invalid {k}: {e}")))?;
            Ok(m.into_iter()
                .filter_map(|(k, v)| match v {
                    Value::String(s) => Some((k, s)),
                    Value::Null => None,
                    v => Some((k, v.to_string())),
                })
                .collect())
        }
    }
}

/// `X-Registry-Config`: base64 JSON, registry → AuthConfig (what the
/// client knows, for the builder's pulls).
fn registry_config(h: &hyper::HeaderMap) -> Supplied {
    let mut s = Supplied::default();
    let Some(v) = h.get("X-Registry-Config").and_then(|v| v.to_str().ok()).and_then(decode_auth) else {
        return s;
    };
    for (registry, entry) in v.as_object().into_iter().flatten() {
        if let Some(c) = credentials(entry) {
            s.add(registry, c);
        }
    }
    s
}

/// `POST /build`: the classic builder's API. The body is the context (a
/// tar, gzip or zstd compressed or not) or `remote` names a git or http(s)
/// context; output is Docker's `{"stream": …}` messages, `{"aux":{"ID":…}}`
/// before `Successfully built`, pulls of FROM images as progress messages.
pub async fn build(st: &Arc<State>, q: Query, req: Request<Incoming>) -> Handled {
    if q.get("version") == Some("2") {
        return Err(ApiError::bad(
            "BuildKit (version=2) is not supported: rcon serves the classic builder (DOCKER_BUILDKIT=0)",
        ));
    }
    let remote = q.get("remote").unwrap_or("").to_string();
    if !remote.is_empty()
        && !["http://", "https://", "git://", "git@", "github.com/"].iter().any(|p| remote.starts_with(p))
    {
        return Err(ApiError::bad(format!(
            "remote {remote:?}: a remote context is a git or http(s) URL (a path on the server is not allowed)"
        )));
    }
    let extra_hosts = q.all("extrahosts").into_iter().filter(|h| !h.is_empty()).count();
    if extra_hosts > 0 {
        return Err(ApiError::bad("extrahosts is not supported by rcon's builder"));
    }
    let network = match q.get("networkmode").unwrap_or("") {
        "" | "default" => None,
        n => Some(n.to_string()),
    };
    let quiet = q.flag("q");
    let mut o = BuildOptions {
        context: if remote.is_empty() { "-".into() } else { remote.clone() },
        file: q.get("dockerfile").filter(|f| !f.is_empty()).map(str::to_string),
        tags: q.all("t").into_iter().filter(|t| !t.is_empty()).collect(),
        build_args: json_map(&q, "buildargs")?.into_iter().collect(),
        target: q.get("target").filter(|t| !t.is_empty()).map(str::to_string),
        no_cache: q.flag("nocache"),
        labels: json_map(&q, "labels")?,
        quiet,
        network,
        platform: q.get("platform").filter(|p| !p.is_empty()).map(str::to_string),
        pull: q.flag("pull"),
        registry_auth: registry_config(req.headers()),
        ..Default::default()
    };
    // rm/forcerm: intermediate containers always go; cachefrom: the local
    // build cache is always used.
    let body = if remote.is_empty() { Some(streams::body_to_file(st, req.into_body(), "build").await?) } else { None };
    jsonstream::respond(st, move |e, out| {
        if let Some(b) = &body {
            o.context_file = Some(b.path().to_path_buf());
        }
        o.pull_progress = Some(Progress::new(Box::new(JsonProgress::new(out.clone()))));
        let aux = out.clone();
        o.on_built = Some(Arc::new(move |id: &str| {
            aux.send(&json!({"aux": {"ID": id}}));
        }));
        let mut w = jsonstream::StreamWriter::new(out.clone());
        let res = crate::engine::build::build(e, &o, &mut w);
        let _ = std::io::Write::flush(&mut w);
        match res {
            Ok(b) => {
                if quiet {
                    out.text(&format!("{}\n", b.id));
                }
            }
            Err(err) => {
                let code = match &err {
                    crate::error::Error::BuildRun { code, .. } => Some(*code),
                    _ => None,
                };
                if code.is_some() || out.gone() {
                    out.send(&jsonstream::error_line(&err.to_string(), code));
                } else {
                    out.fail(err.into());
                }
            }
        }
        drop(body);
    })
    .await
}

pub async fn build_prune() -> Handled {
    ok_json(&json!({"CachesDeleted": [], "SpaceReclaimed": 0}))
}

/// Dockerfile text for a string in a `--change` instruction (quoted the
/// way `changes::apply` reads it back).
fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A commit body (a container Config) as the `--change` instructions that
/// set the same fields: dockerd merges the posted config over the
/// container's (environment and labels by key, ports and volumes added).
fn config_changes(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let strings = |k: &str| -> Option<Vec<String>> {
        let a = v.get(k)?.as_array()?;
        let s: Vec<String> = a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect();
        (!s.is_empty()).then_some(s)
    };
    let keys = |k: &str| -> Vec<String> {
        v.get(k).and_then(Value::as_object).map(|m| m.keys().cloned().collect()).unwrap_or_default()
    };
    let text = |k: &str| v.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
    // Cmd and Entrypoint may be a string (old clients) or an array.
    for (k, inst) in [("Cmd", "CMD"), ("Entrypoint", "ENTRYPOINT")] {
        if let Some(a) = strings(k) {
            out.push(format!("{inst} {}", serde_json::to_string(&a).unwrap_or_default()));
        } else if let Some(s) = text(k) {
            out.push(format!("{inst} {}", serde_json::to_string(&[s]).unwrap_or_default()));
        }
    }
    for e in strings("Env").unwrap_or_default() {
        if e.contains('=') {
            out.push(format!("ENV {}", quoted(&e)));
        }
    }
    if let Some(m) = v.get("Labels").and_then(Value::as_object) {
        for (k, val) in m {
            out.push(format!("LABEL {}={}", quoted(k), quoted(val.as_str().unwrap_or(""))));
        }
    }
    for p in keys("ExposedPorts") {
        out.push(format!("EXPOSE {p}"));
    }
    let vols = keys("Volumes");
    if !vols.is_empty() {
        out.push(format!("VOLUME {}", serde_json::to_string(&vols).unwrap_or_default()));
    }
    for (k, inst) in [("WorkingDir", "WORKDIR"), ("User", "USER"), ("StopSignal", "STOPSIGNAL")] {
        if let Some(s) = text(k) {
            out.push(format!("{inst} {s}"));
        }
    }
    out
}

/// `POST /commit?container=&repo=&tag=&comment=&author=&changes=`: 201
/// `{"Id": …}`. `pause` is accepted: rcon commits the overlay's upper
/// directory as it is, without freezing the container (as `rcon commit`).
pub async fn commit(st: &Arc<State>, q: Query, req: Request<Incoming>) -> Handled {
    let body = super::http::read_json(req.into_body()).await?;
    let container = q.get("container").unwrap_or("").to_string();
    if container.is_empty() {
        return Err(ApiError::bad("container is required"));
    }
    let repo = q.get("repo").unwrap_or("");
    let reference = (!repo.is_empty()).then(|| with_tag(repo, q.get("tag").unwrap_or("")));
    if let Some(r) = &reference {
        Reference::parse(r).map_err(invalid_reference)?;
    }
    let mut changes = if body.is_object() { config_changes(&body) } else { Vec::new() };
    // Each `changes` value may hold several instructions, one a line.
    for c in q.all("changes") {
        changes.extend(c.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string));
    }
    let o = crate::engine::commit::CommitOptions {
        container,
        reference,
        author: q.get("author").filter(|a| !a.is_empty()).map(str::to_string),
        message: q.get("comment").filter(|m| !m.is_empty()).map(str::to_string),
        changes,
    };
    let id = blocking(st, move |e| {
        crate::engine::commit::commit(e, &o).map_err(|err| match err {
            crate::error::Error::NoSuchContainer(c) => ApiError::not_found(format!("No such container: {c}")),
            err => err.into(),
        })
    })
    .await?;
    Ok(super::http::json(201, &json!({ "Id": id })))
}

/// `GET /distribution/{name}/json`: the registry's descriptor of the
/// manifest and its platforms, without pulling.
pub async fn distribution(st: &Arc<State>, name: &str, req: Request<Incoming>) -> Handled {
    let name = name.to_string();
    Reference::parse(&name).map_err(invalid_reference)?;
    let auth = supplied_for(&name, auth_header(req.headers()).flatten());
    let d = blocking(st, move |e| Ok(reg::distribution(e, &name, TlsVerify::Default, &auth)?)).await?;
    ok_json(&json!({
        "Descriptor": {"mediaType": d.media_type, "digest": d.digest, "size": d.size},
        "Platforms": d.platforms,
    }))
}
