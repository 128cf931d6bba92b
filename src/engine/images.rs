//! Image verbs: the library API the CLI (and later compose, an API socket)
//! calls. Each returns report data; printing is the caller's business.

use std::collections::HashSet;
use std::io::{Read, Write};

use serde_json::{json, Map, Value};

use crate::error::{Error, Result};
use crate::format::units;
use crate::image::archive::{self, ArchiveFormat, SaveItem};
use crate::image::import::{self, ImportOptions, ImportSource};
use crate::image::reference::{self, Reference};
use crate::image::store::{resolve_in, Committed, ImageRecord, Store};

/// One row of `rcon images`: an image under one of its names.
#[derive(Debug, Clone)]
pub struct ImageRow {
    pub image: ImageRecord,
    /// Familiar repository name, or `<none>`.
    pub repository: String,
    pub tag: String,
    pub digest: String,
}

#[derive(Debug, Default)]
pub struct ListOptions {
    pub all: bool,
    pub filters: Vec<String>,
    /// `rcon images busybox`: the REPOSITORY[:TAG] argument.
    pub reference: Option<String>,
}

enum Filter {
    Dangling(bool),
    Label(String, Option<String>),
    Reference(String),
    Since(i64),
    Before(i64),
}

fn parse_filters(store_images: &[ImageRecord], raw: &[String]) -> Result<Vec<Filter>> {
    raw.iter()
        .map(|f| {
            let (k, v) = f
                .split_once('=')
                .ok_or_else(|| Error::InvalidArgument(format!("bad format of filter \"{f}\": expected name=value")))?;
            Ok(match k {
                "dangling" => match v {
                    "true" | "1" => Filter::Dangling(true),
                    "false" | "0" => Filter::Dangling(false),
                    _ => {
                        return Err(Error::InvalidArgument(format!(
                            "invalid filter \"dangling={v}\": use true or false"
                        )))
                    }
                },
                "label" => match v.split_once('=') {
                    Some((lk, lv)) => Filter::Label(lk.into(), Some(lv.into())),
                    None => Filter::Label(v.into(), None),
                },
                "reference" => Filter::Reference(v.into()),
                "since" => Filter::Since(resolve_in(store_images, v)?.created),
                "before" => Filter::Before(resolve_in(store_images, v)?.created),
                _ => {
                    return Err(Error::InvalidArgument(format!(
                        "invalid filter \"{k}\": images accept dangling, label, reference, since and before"
                    )))
                }
            })
        })
        .collect()
}

/// Docker's `reference=` filter: a glob over the familiar name, with or
/// without the tag.
fn reference_matches(pattern: &str, name: &str, tag: &str) -> bool {
    if pattern.contains(':') {
        crate::util::glob(pattern, &format!("{name}:{tag}"))
    } else {
        crate::util::glob(pattern, name)
    }
}

pub fn list(store: &Store, opts: &ListOptions) -> Result<Vec<ImageRow>> {
    let images = store.images()?;
    let filters = parse_filters(&images, &opts.filters)?;
    let parent_ids: HashSet<&str> = images.iter().filter_map(|i| i.parent.as_deref()).collect();
    let mut rows = Vec::new();
    let mut sorted: Vec<&ImageRecord> = images.iter().collect();
    sorted.sort_by(|a, b| b.created.cmp(&a.created).then(a.id.cmp(&b.id)));
    for img in sorted {
        // Without -a Docker hides untagged images that are parents of others
        // (a build's intermediate layers).
        if !opts.all && img.is_dangling() && parent_ids.contains(img.id.as_str()) {
            continue;
        }
        let mut keep = true;
        for f in &filters {
            keep &= match f {
                Filter::Dangling(want) => img.repo_tags.is_empty() == *want,
                Filter::Label(k, v) => match (img.labels.get(k), v) {
                    (Some(Value::String(have)), Some(want)) => have == want,
                    (Some(_), None) => true,
                    _ => false,
                },
                Filter::Since(t) => img.created > *t,
                Filter::Before(t) => img.created < *t,
                Filter::Reference(_) => true,
            };
        }
        if !keep {
            continue;
        }
        let refs: Vec<&String> =
            filters.iter().filter_map(|f| if let Filter::Reference(r) = f { Some(r) } else { None }).collect();
        for row in rows_for(img) {
            if !refs.iter().all(|p| reference_matches(p, &row.repository, &row.tag)) {
                continue;
            }
            if let Some(r) = &opts.reference {
                if !reference_matches(r, &row.repository, &row.tag) {
                    continue;
                }
            }
            rows.push(row);
        }
    }
    Ok(rows)
}

/// An image appears once per tag; untagged ones once as `<none>:<none>`
/// (or once per repository digest).
fn rows_for(img: &ImageRecord) -> Vec<ImageRow> {
    let digest_for = |name: &str| {
        img.repo_digests
            .iter()
            .find(|d| d.split_once('@').map(|(n, _)| n) == Some(name))
            .and_then(|d| d.split_once('@').map(|(_, d)| d.to_string()))
            .unwrap_or_else(|| "<none>".into())
    };
    let mut rows = Vec::new();
    for t in &img.repo_tags {
        let (name, tag) = t.rsplit_once(':').unwrap_or((t, "latest"));
        rows.push(ImageRow {
            image: img.clone(),
            repository: reference::familiar(name),
            tag: tag.to_string(),
            digest: digest_for(name),
        });
    }
    if rows.is_empty() {
        for d in &img.repo_digests {
            let (name, digest) = d.split_once('@').unwrap_or((d, ""));
            rows.push(ImageRow {
                image: img.clone(),
                repository: reference::familiar(name),
                tag: "<none>".into(),
                digest: digest.into(),
            });
        }
    }
    if rows.is_empty() {
        rows.push(ImageRow {
            image: img.clone(),
            repository: "<none>".into(),
            tag: "<none>".into(),
            digest: "<none>".into(),
        });
    }
    rows
}

/// Normalise a tag argument to the stored full form.
fn full_tag(arg: &str) -> Result<String> {
    let r = Reference::parse(arg)?;
    if r.digest.is_some() {
        return Err(Error::InvalidReference(format!("\"{arg}\": a tag cannot contain a digest")));
    }
    Ok(r.with_default_tag().full_tagged().expect("tag set"))
}

pub fn tag(store: &Store, source: &str, target: &str) -> Result<()> {
    let target = full_tag(target)?;
    let img = store.resolve(source)?;
    store.tag(&img.id, &target)?;
    image_event(store, "tag", &img.id, &target);
    Ok(())
}

/// An image event (Docker's Actor: the image id, `name` the reference).
fn image_event(store: &Store, action: &str, id: &str, name: &str) {
    crate::events::emit(&store.paths, "image", action, id, &[("name", &reference::familiar(name))]);
}

#[derive(Debug)]
pub enum Removed {
    Untagged(String),
    Deleted(String),
}

/// `rcon rmi`: Docker's rules. A name removes that tag and deletes the image
/// when it was the last name; an id deletes the image, which needs -f when
/// the image has several repositories.
pub fn remove(store: &Store, arg: &str, force: bool) -> Result<Vec<Removed>> {
    let id = store.resolve(arg)?.id;
    let removed = remove_unlogged(store, arg, force)?;
    for r in &removed {
        match r {
            Removed::Untagged(name) => image_event(store, "untag", &id, name),
            Removed::Deleted(d) => image_event(store, "delete", d, d),
        }
    }
    Ok(removed)
}

fn remove_unlogged(store: &Store, arg: &str, force: bool) -> Result<Vec<Removed>> {
    let containers = crate::container::ContainerStore::open(&store.paths)?;
    store.update(|images| {
        let img = resolve_in(images, arg)?.clone();
        let users = containers.using_image(&img.id);
        if let Some(c) = users.first() {
            if !force || users.iter().any(|c| c.state.status == crate::container::Status::Running) {
                return Err(Error::ImageInUse { image: arg.to_string(), container: c.config.id[..12].to_string() });
            }
        }
        let mut out = Vec::new();
        let by_name = Reference::parse(arg).ok().map(|r| r.with_default_tag()).filter(|r| {
            r.full_tagged().is_some_and(|t| img.repo_tags.contains(&t))
                || r.digest.as_ref().is_some_and(|d| img.repo_digests.contains(&format!("{}@{d}", r.full_name())))
        });
        let entry = images.iter_mut().find(|i| i.id == img.id).expect("resolved");
        if let Some(r) = by_name {
            if let Some(t) = r.full_tagged().filter(|t| entry.repo_tags.contains(t)) {
                entry.repo_tags.retain(|x| x != &t);
                out.push(Removed::Untagged(reference::familiar(&t)));
                // The repository's last tag takes its digest references with
                // it, as in Docker (`Untagged: name@sha256:…`).
                let repo = format!("{}:", r.full_name());
                if !entry.repo_tags.iter().any(|x| x.starts_with(&repo)) {
                    let at = format!("{}@", r.full_name());
                    for d in entry.repo_digests.iter().filter(|d| d.starts_with(&at)) {
                        out.push(Removed::Untagged(reference::familiar(d)));
                    }
                    entry.repo_digests.retain(|d| !d.starts_with(&at));
                }
            } else {
                let d = format!("{}@{}", r.full_name(), r.digest.clone().unwrap_or_default());
                entry.repo_digests.retain(|x| x != &d);
                out.push(Removed::Untagged(reference::familiar(&d)));
            }
            if !entry.repo_tags.is_empty() || !entry.repo_digests.is_empty() {
                return Ok(out);
            }
        } else {
            let repos: HashSet<&str> =
                entry.repo_tags.iter().map(|t| t.rsplit_once(':').map(|x| x.0).unwrap_or(t)).collect();
            if repos.len() > 1 && !force {
                return Err(Error::ImageMultipleTags {
                    image: entry.short_id().to_string(),
                    tags: entry.repo_tags.iter().map(|t| reference::familiar(t)).collect::<Vec<_>>().join(", "),
                });
            }
            for t in entry.repo_tags.drain(..).chain(entry.repo_digests.drain(..)) {
                out.push(Removed::Untagged(reference::familiar(&t)));
            }
        }
        if !users.is_empty() {
            // Stopped containers still need the layers: untag only (-f).
            return Ok(out);
        }
        images.retain(|i| i.id != img.id);
        out.push(Removed::Deleted(img.id.clone()));
        Ok(out)
    })
}

/// `rcon image prune`: remove dangling images (all unused ones with -a).
pub fn prune(store: &Store, all: bool, filters: &[String]) -> Result<(Vec<String>, u64)> {
    let images = store.images()?;
    let flt = parse_filters(&images, filters)?;
    let before_size = |imgs: &[ImageRecord]| store.shared_size(&imgs.iter().collect::<Vec<_>>());
    let total_before = before_size(&images);
    // Images with containers (in any state) are in use: never pruned (Docker).
    let used: HashSet<String> =
        crate::container::ContainerStore::open(&store.paths)?.all().into_iter().map(|c| c.config.image).collect();
    let deleted = store.update(|images| {
        let mut gone = Vec::new();
        images.retain(|i| {
            let label_ok = flt.iter().all(|f| match f {
                Filter::Label(k, v) => match (i.labels.get(k), v) {
                    (Some(Value::String(h)), Some(w)) => h == w,
                    (Some(_), None) => true,
                    _ => false,
                },
                Filter::Before(t) => i.created < *t,
                Filter::Since(t) => i.created > *t,
                _ => true,
            });
            let doomed = label_ok && (all || i.repo_tags.is_empty()) && !used.contains(&i.id);
            if doomed {
                gone.push(i.id.clone());
            }
            !doomed
        });
        Ok(gone)
    })?;
    let total_after = before_size(&store.images()?);
    Ok((deleted, total_before.saturating_sub(total_after)))
}

pub struct HistoryRow {
    pub id: String,
    pub created: i64,
    pub created_by: String,
    pub size: u64,
    pub comment: String,
}

/// `rcon history`: newest first; the top entry carries the image id, the
/// entries of its build's intermediate images theirs, the others
/// `<missing>` (as Docker shows for images it did not build).
pub fn history(store: &Store, arg: &str) -> Result<Vec<HistoryRow>> {
    let img = store.resolve(arg)?;
    let cfg = store.config(&img)?;
    let mut layers = img.layers.iter();
    let mut rows = Vec::new();
    for h in &cfg.history {
        let size = if h.empty_layer {
            0
        } else {
            layers.next().map(|l| store.layer(l).map(|r| r.size).unwrap_or(0)).unwrap_or(0)
        };
        rows.push(HistoryRow {
            id: "<missing>".into(),
            created: h.created.as_deref().and_then(units::parse_rfc3339).map(|t| t.0).unwrap_or(0),
            created_by: h.created_by.clone().unwrap_or_default(),
            size,
            comment: h.comment.clone().unwrap_or_default(),
        });
    }
    // Layers the history does not account for (hand-made configs).
    for l in layers {
        rows.push(HistoryRow {
            id: "<missing>".into(),
            created: img.created,
            created_by: String::new(),
            size: store.layer(l).map(|r| r.size).unwrap_or(0),
            comment: String::new(),
        });
    }
    // Docker's rule: a step built here is an image of its own (the parent
    // chain of a build), and the entry that image added shows its id; entries
    // of no image in the store (pulled bases' lower layers) stay <missing>.
    let mut parent = img.parent.clone();
    let mut seen = 0;
    while let Some(pid) = parent.take() {
        seen += 1;
        let Ok(p) = store.resolve(&pid) else { break };
        let n = store.config(&p).map(|c| c.history.len()).unwrap_or(0);
        if let Some(row) = rows.get_mut(n.wrapping_sub(1)).filter(|r| r.id == "<missing>") {
            row.id = p.id.clone();
        }
        // A parent chain is acyclic, but a hand-edited store is no reason to loop.
        if seen < 10_000 {
            parent = p.parent.clone();
        }
    }
    rows.reverse();
    match rows.first_mut() {
        Some(top) => top.id = img.id.clone(),
        None => rows.push(HistoryRow {
            id: img.id.clone(),
            created: img.created,
            created_by: String::new(),
            size: img.size,
            comment: String::new(),
        }),
    }
    Ok(rows)
}

/// `rcon image inspect`: Docker's ImageInspect JSON.
/// Docker's container config with nothing set.
fn empty_config() -> Value {
    json!({
        "Hostname": "", "Domainname": "", "User": "",
        "AttachStdin": false, "AttachStdout": false, "AttachStderr": false,
        "Tty": false, "OpenStdin": false, "StdinOnce": false,
        "Env": null, "Cmd": null, "Image": "", "Volumes": null, "WorkingDir": "",
        "Entrypoint": null, "OnBuild": null, "Labels": null,
    })
}

pub fn inspect(store: &Store, arg: &str) -> Result<Value> {
    let img = store.resolve(arg)?;
    let cfg = store.config(&img)?;
    let mut config = empty_config();
    if let Some(cc) = &cfg.config {
        if let Value::Object(m) = serde_json::to_value(cc).expect("json") {
            for (k, v) in m {
                config[k] = v;
            }
        }
    }
    let diff_dirs: Vec<String> =
        img.layers.iter().rev().map(|l| store.layer_dir(l).join("diff").display().to_string()).collect();
    let mut gd = Map::new();
    if let Some((upper, lower)) = diff_dirs.split_first() {
        if !lower.is_empty() {
            gd.insert("LowerDir".into(), json!(lower.join(":")));
        }
        gd.insert("UpperDir".into(), json!(upper));
    }
    let extra_str = |k: &str| cfg.extra.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let mut v = json!({
        "Id": img.id,
        "RepoTags": img.repo_tags.iter().map(|t| reference::familiar(t)).collect::<Vec<_>>(),
        "RepoDigests": img.repo_digests.iter().map(|t| reference::familiar(t)).collect::<Vec<_>>(),
        "Parent": img.parent.clone().unwrap_or_default(),
        "Comment": extra_str("comment"),
        "Created": cfg.created.as_deref().and_then(units::parse_rfc3339).map(|(s, n)| units::rfc3339_nano(s, n)).unwrap_or_else(|| "0001-01-01T00:00:00Z".into()),
        // The build container and its config (empty but present up to API 1.44).
        "Container": extra_str("container"),
        "ContainerConfig": empty_config(),
        "DockerVersion": extra_str("docker_version"),
        "Author": cfg.author.clone().unwrap_or_default(),
        "Config": config,
        "Architecture": cfg.architecture,
        "Os": cfg.os,
        "Size": img.size,
        "VirtualSize": img.size,
        "GraphDriver": {"Data": gd, "Name": "overlay"},
        "RootFS": {"Type": "layers", "Layers": img.layers},
        "Metadata": {"LastTagTime": if img.last_tag_time > 0 { units::rfc3339_nano(img.last_tag_time, 0) } else { "0001-01-01T00:00:00Z".into() }},
    });
    if let Some(var) = &cfg.variant {
        v.as_object_mut().expect("object").insert("Variant".into(), json!(var));
    }
    Ok(v)
}

pub fn load(store: &Store, input: impl Read) -> Result<Vec<Committed>> {
    let loaded = archive::load(store, input)?;
    for c in &loaded {
        image_event(store, "load", &c.id, c.tags.first().unwrap_or(&c.id));
    }
    Ok(loaded)
}

/// Resolve `save` arguments: a name saves that tag, an id saves no tag (as Docker does).
pub fn save(store: &Store, args: &[String], format: ArchiveFormat, out: impl Write) -> Result<()> {
    let images = store.images()?;
    let mut items: Vec<SaveItem> = Vec::new();
    for a in args {
        let img = resolve_in(&images, a)?;
        let tag = Reference::parse(a)
            .ok()
            .and_then(|r| r.with_default_tag().full_tagged())
            .filter(|t| img.repo_tags.contains(t));
        match items.iter_mut().find(|i| i.image.id == img.id) {
            Some(item) => item.tags.extend(tag.filter(|t| !item.tags.contains(t))),
            None => items.push(SaveItem { image: img.clone(), tags: tag.into_iter().collect() }),
        }
    }
    archive::save(store, &items, format, out)?;
    for i in &items {
        image_event(store, "save", &i.image.id, i.tags.first().unwrap_or(&i.image.id));
    }
    Ok(())
}

pub fn import(store: &Store, source: ImportSource, opts: &ImportOptions) -> Result<Committed> {
    let c = import::import(store, source, opts)?;
    image_event(store, "import", &c.id, c.tags.first().unwrap_or(&c.id));
    Ok(c)
}

/// The image a build's FROM or `COPY --from` names, pulled when it is not
/// in the store (or always, for `build --pull`), as Docker's builder does.
pub fn ensure_image(
    engine: &super::Engine,
    reference: &str,
    always: bool,
    progress: &std::sync::Arc<crate::registry::progress::Progress>,
) -> Result<ImageRecord> {
    use super::registry::PullPolicy;
    let policy = if always { PullPolicy::Always } else { PullPolicy::Missing };
    super::registry::ensure_image(engine, reference, policy, None, progress)?;
    engine.store()?.resolve(reference)
}
