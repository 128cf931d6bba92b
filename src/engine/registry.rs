//! Registry verbs: pull, push, login, logout, search and manifest lists.
//! Progress goes to the `Progress` the caller made (stdout for `pull`,
//! stderr when `run` pulls); everything else is returned.

use std::sync::Arc;

use serde_json::Value;

use super::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::image::reference::{self, Reference};
use crate::registry::auth::{self, Credentials, Supplied};
use crate::registry::client::{Client, TlsVerify};
use crate::registry::config::RegistryConfig;
use crate::registry::lists::{self, LocalList};
use crate::registry::progress::Progress;
use crate::registry::pull::{self, Platform, PullOptions, Pulled};
use crate::registry::push::{self, Format};
use crate::registry::RegistryError;

fn reg_err(what: &str, e: RegistryError) -> Error {
    Error::Registry { kind: e.kind(), msg: format!("{what}: {e}") }
}

fn registry_error(kind: ErrorKind, msg: String) -> Error {
    Error::Registry { kind, msg }
}

fn config(engine: &Engine) -> Result<RegistryConfig> {
    RegistryConfig::load(&engine.paths.config, engine.paths.rootless)
}

fn client(engine: &Engine, cfg: &RegistryConfig, registry: &str, tls: TlsVerify) -> Result<Client> {
    client_with(engine, cfg, registry, tls, &Supplied::default())
}

fn client_with(
    engine: &Engine,
    cfg: &RegistryConfig,
    registry: &str,
    tls: TlsVerify,
    supplied: &Supplied,
) -> Result<Client> {
    Client::new(registry, cfg, tls, auth::lookup_with(&engine.paths.config, registry, supplied))
        .map_err(|e| reg_err(&format!("registry {registry}"), e))
}

/// The error for a manifest the registry does not have, in Docker's words.
fn pull_error(r: &Reference, e: RegistryError) -> Error {
    if e.is_not_found() {
        return registry_error(
            ErrorKind::NotFound,
            format!(
                "manifest for {} not found: manifest unknown: check the name and tag (rcon search, or the registry's catalog)",
                r.familiar()
            ),
        );
    }
    reg_err(&format!("pull {}", r.familiar()), e)
}

#[derive(Default)]
pub struct PullRequest {
    pub name: String,
    pub all_tags: bool,
    pub platform: Option<String>,
    pub tls: TlsVerify,
    /// Credentials sent with the request (the API's `X-Registry-Auth`), tried before the saved ones.
    pub auth: Supplied,
}

/// `rcon pull`: one image, or every tag of a repository with `all_tags`.
pub fn pull_cmd(engine: &Engine, req: &PullRequest, progress: &Arc<Progress>) -> Result<Vec<Pulled>> {
    let r = Reference::parse(&req.name)?;
    let platform = req.platform.as_deref().map(Platform::parse).transpose()?;
    let cfg = config(engine)?;
    let store = engine.store()?;
    let opts = PullOptions { platform, tls: req.tls, auth: req.auth.clone() };
    if req.all_tags {
        if r.tag.is_some() || r.digest.is_some() {
            return Err(Error::InvalidArgument("tag can't be used with --all-tags/-a".into()));
        }
        let c = client_with(engine, &cfg, &r.registry, req.tls, &req.auth)?;
        let tags = pull::list_tags(&c, &r.repository).map_err(|e| pull_error(&r, e))?;
        let mut out = Vec::new();
        for t in tags {
            let rt = Reference { tag: Some(t), ..r.clone() };
            let p = pull::pull(store, &cfg, &rt, &opts, progress).map_err(|e| pull_error(&rt, e))?;
            pulled_event(engine, &p);
            out.push(p);
        }
        return Ok(out);
    }
    if r.tag.is_none() && r.digest.is_none() {
        progress.line("Using default tag: latest");
    }
    let r = r.with_default_tag();
    let p = pull::pull(store, &cfg, &r, &opts, progress).map_err(|e| pull_error(&r, e))?;
    pulled_event(engine, &p);
    Ok(vec![p])
}

/// Docker's image events for registry traffic: the Actor is the reference.
fn registry_event(engine: &Engine, action: &str, name: &str) {
    let fam = reference::familiar(name);
    let repo = Reference::parse(name).map(|r| r.familiar_name()).unwrap_or_else(|_| fam.clone());
    crate::events::emit(&engine.paths, "image", action, &fam, &[("name", &repo)]);
}

fn pulled_event(engine: &Engine, p: &Pulled) {
    registry_event(engine, "pull", &p.name);
}

/// `--pull` of run and create.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PullPolicy {
    Always,
    #[default]
    Missing,
    Never,
}

impl PullPolicy {
    pub fn parse(s: &str) -> Result<PullPolicy> {
        match s {
            "always" => Ok(PullPolicy::Always),
            "missing" => Ok(PullPolicy::Missing),
            "never" => Ok(PullPolicy::Never),
            _ => Err(Error::InvalidArgument(format!("invalid pull policy {s:?}: use always, missing or never"))),
        }
    }
}

/// Make sure `name` is in the store, pulling it as the policy says (what
/// `run`, `create` and a build's FROM do). Progress goes to stderr.
pub fn ensure_image(
    engine: &Engine,
    name: &str,
    policy: PullPolicy,
    platform: Option<&str>,
    progress: &Arc<Progress>,
) -> Result<()> {
    ensure_image_with(engine, name, policy, platform, &Supplied::default(), progress)
}

/// `ensure_image` with credentials given by the caller (a build's `X-Registry-Config`).
pub fn ensure_image_with(
    engine: &Engine,
    name: &str,
    policy: PullPolicy,
    platform: Option<&str>,
    auth: &Supplied,
    progress: &Arc<Progress>,
) -> Result<()> {
    let store = engine.store()?;
    let present = match store.resolve(name) {
        Ok(_) => true,
        Err(Error::NoSuchImage(_)) => false,
        Err(e) => return Err(e),
    };
    let wanted = match policy {
        PullPolicy::Always => true,
        PullPolicy::Missing => !present,
        PullPolicy::Never => false,
    };
    if !wanted {
        if !present {
            return Err(Error::NoSuchImage(format!(
                "{name}: not found locally and --pull=never forbids pulling it (pull it with rcon pull {name})"
            )));
        }
        return Ok(());
    }
    // An image id or id prefix is never pulled.
    if Reference::parse(name).is_err() {
        return Err(Error::NoSuchImage(name.to_string()));
    }
    if !present {
        progress
            .line(&format!("Unable to find image '{}' locally", Reference::parse(name)?.with_default_tag().familiar()));
    }
    let req = PullRequest {
        name: name.to_string(),
        all_tags: false,
        platform: platform.map(str::to_string),
        tls: TlsVerify::Default,
        auth: auth.clone(),
    };
    for p in pull_cmd(engine, &req, progress)? {
        progress.line(&status_line(&p));
    }
    Ok(())
}

/// Docker's last line of a pull.
pub fn status_line(p: &Pulled) -> String {
    let what = reference::familiar(&p.name);
    if p.up_to_date {
        format!("Status: Image is up to date for {what}")
    } else {
        format!("Status: Downloaded newer image for {what}")
    }
}

#[derive(Default)]
pub struct PushRequest {
    pub name: String,
    pub all_tags: bool,
    /// None: the format the image was built with (`build --format`), else docker.
    pub format: Option<Format>,
    pub tls: TlsVerify,
    /// Credentials sent with the request (the API's `X-Registry-Auth`), tried before the saved ones.
    pub auth: Supplied,
}

pub struct PushedTag {
    pub tag: String,
    pub digest: String,
    pub size: usize,
}

/// `rcon push NAME[:TAG]`: the image the name refers to (`latest` without a
/// tag), or every tag of the repository with `all_tags`.
pub fn push_cmd(engine: &Engine, req: &PushRequest, progress: &Arc<Progress>) -> Result<Vec<PushedTag>> {
    let r = Reference::parse(&req.name)?;
    if r.digest.is_some() {
        return Err(Error::InvalidArgument(format!("cannot push {}: push a tag, not a digest", req.name)));
    }
    let store = engine.store()?;
    let images = store.images()?;
    // Docker 20.10 and later: without a tag, `latest` (not every tag; -a for that).
    let targets: Vec<String> = if req.all_tags {
        let prefix = format!("{}:", r.full_name());
        let mut v: Vec<String> =
            images.iter().flat_map(|i| i.repo_tags.iter()).filter(|t| t.starts_with(&prefix)).cloned().collect();
        v.sort();
        v
    } else {
        vec![r.clone().with_default_tag().full_tagged().unwrap_or_default()]
    };
    if targets.is_empty() {
        return Err(Error::NoSuchImage(format!(
            "{}: tag an image with this name first (rcon tag IMAGE {})",
            r.familiar(),
            r.familiar()
        )));
    }
    let cfg = config(engine)?;
    let c = client_with(engine, &cfg, &r.registry, req.tls, &req.auth)?;
    progress.line(&format!("The push refers to repository [{}]", r.familiar_name()));
    let mut out = Vec::new();
    for t in targets {
        let image = store.resolve(&t)?;
        let tr = Reference::parse(&t)?;
        let format = req.format.unwrap_or(match image.manifest_format.as_deref() {
            Some("oci") => Format::Oci,
            _ => Format::Docker,
        });
        let pushed = push::push(store, &c, &image, &tr, format, progress)
            .map_err(|e| reg_err(&format!("push {}", tr.familiar()), e))?;
        let tag = tr.tag.clone().unwrap_or_default();
        progress.pushed(&tag, &pushed.digest, pushed.size);
        let rd = format!("{}@{}", tr.full_name(), pushed.digest);
        store.update(|imgs| {
            if let Some(i) = imgs.iter_mut().find(|i| i.id == image.id) {
                i.repo_digests.retain(|d| !d.starts_with(&format!("{}@", tr.full_name())));
                i.repo_digests.push(rd.clone());
            }
            Ok(())
        })?;
        registry_event(engine, "push", &t);
        out.push(PushedTag { tag, digest: pushed.digest, size: pushed.size });
    }
    Ok(out)
}

/// The registry part of a `login`/`logout` argument: `host[:port]`, with any
/// scheme or path dropped; none means Docker Hub.
pub fn server_name(arg: Option<&str>) -> String {
    let Some(s) = arg else { return "docker.io".into() };
    let s = s.split_once("://").map(|(_, r)| r).unwrap_or(s);
    let host = s.split('/').next().unwrap_or(s);
    match host {
        "index.docker.io" | "registry-1.docker.io" | "docker.io" => "docker.io".into(),
        h => h.to_string(),
    }
}

/// `rcon login`: check the credentials against the registry, then save them.
pub fn login(engine: &Engine, server: &str, creds: Credentials, tls: TlsVerify) -> Result<()> {
    check_login(engine, server, &creds, tls)?;
    auth::store(&engine.paths.config, server, &creds)
}

/// Whether the registry takes these credentials (nothing is stored: the
/// API's `/auth`, where the client keeps them).
pub fn check_login(engine: &Engine, server: &str, creds: &Credentials, tls: TlsVerify) -> Result<()> {
    let cfg = config(engine)?;
    let c = Client::new(server, &cfg, tls, Some(creds.clone())).map_err(|e| reg_err(&format!("login {server}"), e))?;
    c.check_login().map_err(|e| reg_err(&format!("login to {server} failed"), e))
}

pub fn logout(engine: &Engine, server: &str) -> Result<bool> {
    auth::remove(&engine.paths.config, server)
}

pub struct SearchResult {
    pub name: String,
    pub description: String,
    pub stars: u64,
    pub official: bool,
    pub automated: bool,
}

/// `rcon search`: the registry's v1 search API (Docker Hub has one; the
/// distribution registry does not, which is said plainly).
pub fn search(engine: &Engine, term: &str, limit: usize, tls: TlsVerify) -> Result<Vec<SearchResult>> {
    // "host/term" searches that registry; a bare term searches Docker Hub.
    let (registry, q) = match term.split_once('/') {
        Some((h, q)) if h.contains('.') || h.contains(':') || h == "localhost" => (h.to_string(), q.to_string()),
        _ => ("index.docker.io".to_string(), term.to_string()),
    };
    let cfg = config(engine)?;
    let c = client(engine, &cfg, &registry, tls)?;
    let path = format!("/v1/search?q={}&n={limit}", url_escape(&q));
    let resp = match c.send("GET", &path, "", &[], crate::registry::client::Body::Empty) {
        Ok(r) => r,
        Err(RegistryError::Status { code: 404 | 405, .. }) => {
            return Err(registry_error(ErrorKind::InvalidArgument, format!(
                "registry {registry} does not offer a search API (only Docker Hub-style registries do): list its repositories with its catalog, e.g. curl http://{registry}/v2/_catalog"
            )))
        }
        Err(e) => return Err(reg_err(&format!("search {registry}"), e)),
    };
    let v: Value = serde_json::from_reader(std::io::Read::take(resp.into_reader(), 8 << 20))
        .map_err(|e| registry_error(ErrorKind::Internal, format!("search {registry}: malformed answer: {e}")))?;
    let mut out = Vec::new();
    for r in v.get("results").and_then(|r| r.as_array()).into_iter().flatten().take(limit) {
        out.push(SearchResult {
            name: r.get("name").and_then(|v| v.as_str()).unwrap_or("").to_string(),
            description: r.get("description").and_then(|v| v.as_str()).unwrap_or("").to_string(),
            stars: r.get("star_count").and_then(|v| v.as_u64()).unwrap_or(0),
            official: r.get("is_official").and_then(|v| v.as_bool()).unwrap_or(false),
            automated: r.get("is_automated").and_then(|v| v.as_bool()).unwrap_or(false),
        });
    }
    Ok(out)
}

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// What a registry says about a reference without pulling it (the API's
/// `GET /distribution/NAME/json`): the manifest's descriptor and the
/// platforms it offers.
pub struct Distribution {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    /// OCI platform objects (`architecture`, `os`, `variant`…).
    pub platforms: Vec<Value>,
}

pub fn distribution(engine: &Engine, name: &str, tls: TlsVerify, supplied: &Supplied) -> Result<Distribution> {
    let r = Reference::parse(name)?.with_default_tag();
    let cfg = config(engine)?;
    let c = client_with(engine, &cfg, &r.registry, tls, supplied)?;
    let reference = r.digest.clone().or_else(|| r.tag.clone()).unwrap_or_default();
    let f = pull::fetch_manifest(&c, &r.repository, &reference).map_err(|e| pull_error(&r, e))?;
    let platforms = if f.manifest.is_index() {
        f.manifest.manifests.iter().flatten().filter_map(|d| d.platform.clone()).collect()
    } else {
        // A single image: its platform is in its config.
        let desc = f.manifest.config.as_ref().ok_or_else(|| {
            registry_error(ErrorKind::Internal, format!("the manifest of {} has no config", r.familiar()))
        })?;
        let bytes = pull::fetch_small_blob(&c, &r.repository, desc, 8 << 20).map_err(|e| pull_error(&r, e))?;
        let ic: crate::image::config::ImageConfig = serde_json::from_slice(&bytes)
            .map_err(|e| registry_error(ErrorKind::Internal, format!("image config of {}: {e}", r.familiar())))?;
        let mut p = serde_json::json!({"architecture": ic.architecture, "os": ic.os});
        if let Some(v) = &ic.variant {
            p["variant"] = Value::String(v.clone());
        }
        vec![p]
    };
    Ok(Distribution { media_type: f.media_type, digest: f.digest, size: f.bytes.len() as u64, platforms })
}

/// `manifest inspect`: a local list by that name, else the registry's manifest.
pub fn manifest_inspect(engine: &Engine, name: &str, tls: TlsVerify) -> Result<Value> {
    let r = Reference::parse(name)?.with_default_tag();
    let full = r.full();
    if let Some(l) = lists::load(&engine.paths.data, &full)? {
        return Ok(l.document().1);
    }
    let cfg = config(engine)?;
    let c = client(engine, &cfg, &r.registry, tls)?;
    let reference = r.digest.clone().or_else(|| r.tag.clone()).unwrap_or_default();
    let f = pull::fetch_manifest(&c, &r.repository, &reference).map_err(|e| {
        if e.is_not_found() {
            registry_error(ErrorKind::NotFound, format!("no such manifest: {}", r.familiar()))
        } else {
            reg_err(&format!("manifest inspect {}", r.familiar()), e)
        }
    })?;
    serde_json::from_slice(&f.bytes)
        .map_err(|e| registry_error(ErrorKind::Internal, format!("manifest of {}: {e}", r.familiar())))
}

/// `manifest create LIST MANIFEST...` (`amend` keeps existing entries).
pub fn manifest_create(engine: &Engine, list: &str, refs: &[String], amend: bool, tls: TlsVerify) -> Result<String> {
    let lr = Reference::parse(list)?.with_default_tag();
    let full = lr.full();
    let mut l = match lists::load(&engine.paths.data, &full)? {
        Some(_) if !amend => {
            return Err(Error::InvalidArgument(format!(
                "refusing to amend an existing manifest list with no --amend flag: {}",
                lr.familiar()
            )))
        }
        Some(l) => l,
        None => LocalList { name: full.clone(), entries: Vec::new() },
    };
    for m in refs {
        add_entry(engine, &mut l, m, tls)?;
    }
    lists::save(&engine.paths.data, &l)?;
    Ok(lr.familiar())
}

fn add_entry(engine: &Engine, l: &mut LocalList, m: &str, tls: TlsVerify) -> Result<()> {
    let r = Reference::parse(m)?.with_default_tag();
    let cfg = config(engine)?;
    let c = client(engine, &cfg, &r.registry, tls)?;
    let e = lists::entry_for(&c, &r).map_err(|e| {
        if e.is_not_found() {
            registry_error(
                ErrorKind::NotFound,
                format!("no such manifest: {}: push it before adding it to a list", r.familiar()),
            )
        } else {
            reg_err(&format!("manifest {}", r.familiar()), e)
        }
    })?;
    l.entries.retain(|x| x.digest != e.digest);
    l.entries.push(e);
    Ok(())
}

/// `manifest add LIST IMAGE` (podman's verb): one more entry.
pub fn manifest_add(engine: &Engine, list: &str, image: &str, tls: TlsVerify) -> Result<String> {
    let full = Reference::parse(list)?.with_default_tag().full();
    let mut l = lists::load(&engine.paths.data, &full)?
        .ok_or_else(|| Error::NoSuchObject(format!("manifest list {list}: create it with rcon manifest create")))?;
    add_entry(engine, &mut l, image, tls)?;
    let digest = l.entries.last().map(|e| e.digest.clone()).unwrap_or_default();
    lists::save(&engine.paths.data, &l)?;
    Ok(digest)
}

pub struct Annotation {
    pub os: Option<String>,
    pub arch: Option<String>,
    pub variant: Option<String>,
    pub os_version: Option<String>,
    pub os_features: Vec<String>,
}

/// `manifest annotate LIST MANIFEST --os/--arch/--variant…`.
pub fn manifest_annotate(engine: &Engine, list: &str, manifest: &str, a: &Annotation) -> Result<()> {
    let full = Reference::parse(list)?.with_default_tag().full();
    let mut l = lists::load(&engine.paths.data, &full)?
        .ok_or_else(|| Error::NoSuchObject(format!("manifest list {list}: create it with rcon manifest create")))?;
    let mr = Reference::parse(manifest)?.with_default_tag();
    let want = mr.digest.clone();
    let target = format!("{}/{}", mr.registry, mr.repository);
    let e = l
        .entries
        .iter_mut()
        .find(|e| match &want {
            Some(d) => &e.digest == d,
            None => e.source.starts_with(&format!("{target}@")),
        })
        .ok_or_else(|| Error::NoSuchObject(format!("manifest {manifest} is not in list {list}")))?;
    let set = |p: &mut serde_json::Map<String, Value>, k: &str, v: &Option<String>| {
        if let Some(v) = v {
            p.insert(k.into(), Value::String(v.clone()));
        }
    };
    set(&mut e.platform, "os", &a.os);
    set(&mut e.platform, "architecture", &a.arch);
    set(&mut e.platform, "variant", &a.variant);
    set(&mut e.platform, "os.version", &a.os_version);
    if !a.os_features.is_empty() {
        e.platform.insert("os.features".into(), serde_json::json!(a.os_features));
    }
    lists::save(&engine.paths.data, &l)
}

/// `manifest push LIST [DEST]`: returns the list's digest.
pub fn manifest_push(engine: &Engine, list: &str, dest: Option<&str>, purge: bool, tls: TlsVerify) -> Result<String> {
    let lr = Reference::parse(list)?.with_default_tag();
    let full = lr.full();
    let l = lists::load(&engine.paths.data, &full)?
        .ok_or_else(|| Error::NoSuchObject(format!("manifest list {list}: create it with rcon manifest create")))?;
    if l.entries.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "manifest list {list} is empty: add images with rcon manifest add"
        )));
    }
    let target = match dest {
        Some(d) => Reference::parse(d)?.with_default_tag(),
        None => lr.clone(),
    };
    let cfg = config(engine)?;
    let c = client(engine, &cfg, &target.registry, tls)?;
    let what = |e| reg_err(&format!("manifest push {}", target.familiar()), e);
    for e in &l.entries {
        let src = Reference::parse(&e.source)?;
        if src.registry != target.registry {
            return Err(Error::InvalidArgument(format!(
                "cannot push manifest list to {}: entry {} is in another registry",
                target.registry, e.source
            )));
        }
        lists::copy_entry(&c, &target.repository, e).map_err(what)?;
    }
    let (media, doc) = l.document();
    let bytes = push::docker_indent(&doc);
    let sc = crate::registry::scope(&target.repository, "pull,push");
    push::put_manifest(&c, &target.repository, target.tag.as_deref().unwrap_or("latest"), &media, &bytes, &sc)
        .map_err(what)?;
    if purge {
        lists::remove(&engine.paths.data, &full)?;
    }
    Ok(crate::storage::compress::sha256_digest(&bytes))
}

pub fn manifest_rm(engine: &Engine, list: &str) -> Result<()> {
    let full = Reference::parse(list)?.with_default_tag().full();
    if !lists::remove(&engine.paths.data, &full)? {
        return Err(Error::NoSuchObject(format!("manifest list {list}")));
    }
    Ok(())
}
