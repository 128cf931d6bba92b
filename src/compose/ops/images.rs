//! Service images: pulled or built as `pull_policy`, `--build`,
//! `--no-build` and `--pull` say; `push` of the services' images.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::sync::Arc;

use super::Ctx;
use crate::compose::Service;
use crate::engine::registry::PullPolicy;
use crate::error::{Error, IoContext, Result};
use crate::registry::progress::Progress;

/// How `up`, `create`, `run` and `build` get images.
pub struct BuildRequest<'a> {
    /// `--build` (up) / `build`: build even when the image exists.
    pub force_build: bool,
    /// `--no-build`: never build; a missing image is an error.
    pub no_build: bool,
    /// `--pull always|missing|never|build` for services with `image:`;
    /// None: each service's `pull_policy` (default missing).
    pub pull: Option<String>,
    pub no_cache: bool,
    /// `build --build-arg`, over the services' `args`.
    pub build_args: BTreeMap<String, String>,
    pub quiet: bool,
    /// Where build output goes.
    pub out: &'a mut dyn Write,
    pub progress: Arc<Progress>,
}

impl<'a> BuildRequest<'a> {
    /// Compose's defaults: build what is missing, pull as each service's
    /// `pull_policy` says, the cache on, no extra build args.
    pub fn new(out: &'a mut dyn Write, quiet: bool, progress: Arc<Progress>) -> BuildRequest<'a> {
        BuildRequest {
            force_build: false,
            no_build: false,
            pull: None,
            no_cache: false,
            build_args: BTreeMap::new(),
            quiet,
            out,
            progress,
        }
    }
}

/// Each selected service's image id, pulled or built as needed, in
/// `order`.
pub fn ensure(ctx: &Ctx, order: &[String], r: &mut BuildRequest) -> Result<BTreeMap<String, String>> {
    let mut ids = BTreeMap::new();
    for name in order {
        let svc = ctx.service(name)?;
        let image = svc.image_or_default(&ctx.project.name);
        let policy = r.pull.clone().or_else(|| svc.pull_policy.clone()).unwrap_or_else(|| "missing".into());
        let present = ctx.engine.store()?.resolve(&image).is_ok();
        if svc.build.is_some() && !r.no_build && (r.force_build || policy == "build" || !present) {
            build_one(ctx, svc, r)?;
        } else {
            let pp = match policy.as_str() {
                "always" => PullPolicy::Always,
                "never" => PullPolicy::Never,
                "missing" | "if_not_present" | "build" => PullPolicy::Missing,
                p => {
                    return Err(Error::InvalidArgument(format!(
                        "services.{name}.pull_policy: invalid value {p:?}: use always, missing, never or build"
                    )))
                }
            };
            if svc.build.is_some() && !present {
                return Err(Error::NoSuchImage(format!(
                    "{image}: service {name} has not been built and --no-build is set: build it with `rcon compose build {name}`"
                )));
            }
            if !present || pp == PullPolicy::Always {
                ctx.emit("Image", &image, "Pulling");
                crate::engine::registry::ensure_image(ctx.engine, &image, pp, svc.platform.as_deref(), &r.progress)?;
                ctx.emit("Image", &image, "Pulled");
            }
        }
        let rec = ctx.engine.store()?.resolve(&image)?;
        ids.insert(name.clone(), rec.id.clone());
    }
    Ok(ids)
}

/// `compose build [SERVICE...]`.
pub fn build(ctx: &Ctx, services: &BTreeSet<String>, r: &mut BuildRequest) -> Result<()> {
    for name in services {
        let svc = ctx.service(name)?;
        if svc.build.is_some() {
            build_one(ctx, svc, r)?;
        }
    }
    Ok(())
}

fn build_one(ctx: &Ctx, svc: &Service, r: &mut BuildRequest) -> Result<()> {
    let b = svc.build.as_ref().expect("a build section");
    let image = svc.image_or_default(&ctx.project.name);
    let path = |f: &str| format!("services.{}.build.{f}", svc.name);
    let mut o = crate::engine::build::BuildOptions {
        context: b.context.clone(),
        tags: std::iter::once(image.clone()).chain(b.tags.iter().cloned()).collect(),
        target: b.target.clone(),
        no_cache: r.no_cache || b.no_cache,
        labels: b.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        quiet: r.quiet,
        network: b.network.clone(),
        pull: b.pull || r.pull.as_deref() == Some("always"),
        pull_progress: Some(r.progress.clone()),
        platform: svc.platform.clone(),
        ..Default::default()
    };
    for (k, v) in &b.args {
        // An arg without a value takes the caller's variable, if set.
        if let Some(v) = v.clone().or_else(|| ctx.project.environment.get(k).cloned()) {
            o.build_args.insert(k.clone(), v);
        }
    }
    o.build_args.extend(r.build_args.clone());
    if let Some(text) = &b.dockerfile_inline {
        o.file = Some("-".into());
        o.stdin = Some(text.clone().into_bytes());
    } else if let Some(f) = &b.dockerfile {
        let p = std::path::Path::new(&b.context).join(f);
        o.file = Some(p.display().to_string());
    }
    for s in &b.secrets {
        let obj = ctx.project.secrets.get(&s.source).ok_or_else(|| {
            Error::InvalidArgument(format!("{}: secret {:?} is not declared", path("secrets"), s.source))
        })?;
        let value = match (&obj.file, &obj.environment) {
            (Some(f), _) => std::fs::read(f).ctx(|| format!("{}: read secret file {f}", path("secrets")))?,
            (None, Some(var)) => ctx.project.environment.get(var).cloned().unwrap_or_default().into_bytes(),
            _ => obj.content.clone().unwrap_or_default().into_bytes(),
        };
        o.secrets.insert(s.source.clone(), value);
    }
    for s in &b.ssh {
        let (id, sock) = s.split_once('=').unwrap_or((s.as_str(), ""));
        let sock = if sock.is_empty() {
            ctx.project.environment.get("SSH_AUTH_SOCK").cloned().unwrap_or_default()
        } else {
            sock.to_string()
        };
        if sock.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "{}: {id}: no agent socket and SSH_AUTH_SOCK is not set",
                path("ssh")
            )));
        }
        o.ssh.insert(id.to_string(), sock.into());
    }
    let unsupported = [
        ("cache_from", !b.cache_from.is_empty()),
        ("cache_to", !b.cache_to.is_empty()),
        ("additional_contexts", !b.additional_contexts.is_empty()),
        ("extra_hosts", !b.extra_hosts.is_empty()),
        ("isolation", b.isolation.is_some()),
        ("privileged", b.privileged),
        ("shm_size", b.shm_size.is_some()),
        ("platforms", b.platforms.len() > 1),
    ];
    for (field, set) in unsupported {
        if set {
            crate::util::warn(&format!("{}: not supported by rcon's builder; ignored", path(field)));
        }
    }
    ctx.emit("Image", &image, "Building");
    crate::engine::build::build(ctx.engine, &o, r.out)?;
    ctx.emit("Image", &image, "Built");
    Ok(())
}

/// `compose pull [SERVICE...]`: every service with an `image:` (built-only
/// services are skipped, as compose does).
pub fn pull(ctx: &Ctx, services: &BTreeSet<String>, ignore_failures: bool, progress: &Arc<Progress>) -> Result<()> {
    let mut failed = None;
    for name in services {
        let svc = ctx.service(name)?;
        let Some(image) = &svc.image else { continue };
        if svc.build.is_some() && ctx.engine.store()?.resolve(image).is_err() {
            continue; // compose builds it instead
        }
        ctx.emit("Image", image, "Pulling");
        match crate::engine::registry::ensure_image(
            ctx.engine,
            image,
            PullPolicy::Always,
            svc.platform.as_deref(),
            progress,
        ) {
            Ok(()) => ctx.emit("Image", image, "Pulled"),
            Err(e) => {
                (ctx.events)(super::Event {
                    detail: Some(e.to_string()),
                    ..super::Event::new("Image", image, "Error")
                });
                if !ignore_failures {
                    failed.get_or_insert(e);
                }
            }
        }
    }
    failed.map_or(Ok(()), Err)
}

/// `compose push [SERVICE...]`: the images of services that have both
/// `image:` and `build:` (or every `image:` one with `include_all`).
pub fn push(ctx: &Ctx, services: &BTreeSet<String>, ignore_failures: bool, progress: &Arc<Progress>) -> Result<()> {
    let mut failed = None;
    for name in services {
        let svc = ctx.service(name)?;
        let Some(image) = &svc.image else { continue };
        if svc.build.is_none() {
            continue;
        }
        ctx.emit("Image", image, "Pushing");
        let req = crate::engine::registry::PushRequest {
            name: image.clone(),
            all_tags: false,
            format: None,
            tls: crate::registry::client::TlsVerify::Default,
            auth: Default::default(),
        };
        match crate::engine::registry::push_cmd(ctx.engine, &req, progress) {
            Ok(_) => ctx.emit("Image", image, "Pushed"),
            Err(e) => {
                (ctx.events)(super::Event {
                    detail: Some(e.to_string()),
                    ..super::Event::new("Image", image, "Error")
                });
                if !ignore_failures {
                    failed.get_or_insert(e);
                }
            }
        }
    }
    failed.map_or(Ok(()), Err)
}
