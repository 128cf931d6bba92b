//! A compose service as the engine's `ContainerSpec`: the normalised model
//! mapped field by field (Docker's flag grammars from `cli::flags` where
//! compose's values are Docker's strings), compose v2's labels added.

use std::collections::BTreeMap;

use super::{labels, Ctx, COMPOSE_VERSION};
use crate::cli::flags;
use crate::compose::{Service, ServiceVolume};
use crate::container::health::HealthConfig;
use crate::container::spec::{ContainerSpec, Seccomp, VolumesFrom};
use crate::container::Mount;
use crate::error::{Error, IoContext, Result};

/// A container to create, and the user networks to connect it to before
/// it starts (the spec holds the first one): (network, aliases, address).
pub struct Planned {
    pub spec: ContainerSpec,
    pub more_networks: Vec<Attachment>,
}

/// A network to connect: (network, aliases, address).
pub type Attachment = (String, Vec<String>, Option<String>);

fn bad(path: String, msg: impl std::fmt::Display) -> Error {
    Error::InvalidArgument(format!("{path}: {msg}"))
}

/// `PROJECT-SERVICE-run-ID12`: the name of a `compose run` container.
pub fn one_off_name(project: &str, service: &str) -> String {
    let id = crate::container::names::new_id();
    format!("{project}-{service}-run-{}", &id[..12])
}

/// The container `number` of `svc` (named `name`), created from image
/// `image_id`. `oneoff`: a `compose run` container (no ports unless asked,
/// labelled so).
pub fn service_spec(
    ctx: &Ctx,
    svc: &Service,
    number: u32,
    name: &str,
    oneoff: bool,
    image_id: &str,
) -> Result<Planned> {
    let p = ctx.project;
    let path = |f: &str| format!("services.{}.{f}", svc.name);
    let mut spec = ContainerSpec {
        image: svc.image_or_default(&p.name),
        name: Some(name.to_string()),
        cmd: svc.command.clone().unwrap_or_default(),
        entrypoint: svc.entrypoint.clone(),
        env: svc.environment.iter().filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}"))).collect(),
        workdir: svc.working_dir.clone(),
        user: svc.user.clone(),
        hostname: svc.hostname.clone(),
        domainname: svc.domainname.clone(),
        tty: svc.tty,
        open_stdin: svc.stdin_open,
        read_only: svc.read_only,
        privileged: svc.privileged,
        cap_add: svc.cap_add.clone(),
        cap_drop: svc.cap_drop.clone(),
        group_add: svc.group_add.clone(),
        userns: svc.userns_mode.clone(),
        pid: svc.pid.clone(),
        ipc: svc.ipc.clone(),
        uts: svc.uts.clone(),
        stop_signal: svc.stop_signal.clone(),
        stop_timeout: svc.stop_grace_period.map(|d| (d.0 / 1_000_000_000) as i64),
        init: svc.init.unwrap_or(false),
        dns: svc.dns.clone(),
        dns_search: svc.dns_search.clone(),
        dns_options: svc.dns_opt.clone(),
        sig_proxy: true,
        ..Default::default()
    };

    // Labels: the service's, then compose's own (which win).
    let mut l: BTreeMap<String, String> = svc.labels.clone();
    let files: Vec<String> = p.compose_files.iter().map(|f| f.display().to_string()).collect();
    let depends: Vec<String> =
        svc.depends_on.iter().map(|(d, dep)| format!("{d}:{}:{}", dep.condition, dep.restart)).collect();
    for (k, v) in [
        (labels::PROJECT, p.name.clone()),
        (labels::SERVICE, svc.name.clone()),
        (labels::NUMBER, number.to_string()),
        (labels::ONEOFF, if oneoff { "True" } else { "False" }.to_string()),
        (labels::WORKING_DIR, p.working_dir.display().to_string()),
        (labels::CONFIG_FILES, files.join(",")),
        (labels::CONFIG_HASH, crate::compose::config_hash(svc)),
        (labels::DEPENDS_ON, depends.join(",")),
        (labels::IMAGE, image_id.to_string()),
        (labels::VERSION, COMPOSE_VERSION.to_string()),
    ] {
        l.insert(k.to_string(), v);
    }
    spec.labels = l.into_iter().collect();

    for (i, v) in svc.volumes.iter().enumerate() {
        spec.mounts.push(mount(ctx, v, &format!("{}[{i}]", path("volumes")))?);
    }
    for t in &svc.tmpfs {
        spec.mounts.push(flags::tmpfs(t)?);
    }
    for (i, s) in svc.secrets.iter().enumerate() {
        spec.mounts.push(file_mount(ctx, s, true, &format!("{}[{i}]", path("secrets")))?);
    }
    for (i, s) in svc.configs.iter().enumerate() {
        spec.mounts.push(file_mount(ctx, s, false, &format!("{}[{i}]", path("configs")))?);
    }
    for v in &svc.volumes_from {
        spec.volumes_from.push(volumes_from(ctx, v)?);
    }

    for o in &svc.security_opt {
        match flags::security_opt(o)? {
            flags::SecurityOpt::NoNewPrivileges(b) => spec.no_new_privileges = b,
            flags::SecurityOpt::SeccompUnconfined => spec.seccomp = Seccomp::Unconfined,
            flags::SecurityOpt::Seccomp(file) => {
                let f = p.working_dir.join(file);
                let text = std::fs::read_to_string(&f).ctx(|| format!("read seccomp profile {}", f.display()))?;
                spec.seccomp = Seccomp::Profile(text);
            }
            flags::SecurityOpt::Ignored => {}
        }
    }
    for (name, u) in &svc.ulimits {
        let n = |v: i64| if v < 0 { u64::MAX } else { v as u64 };
        crate::runtime::rlimit_resource(name)?;
        spec.ulimits.push(crate::container::Ulimit { name: name.clone(), soft: n(u.soft), hard: n(u.hard) });
    }
    for (host, ips) in &svc.extra_hosts {
        for ip in ips {
            spec.extra_hosts.push((host.clone(), ip.clone()));
        }
    }
    if let Some(log) = &svc.logging {
        spec.log_driver = log.driver.clone();
        spec.log_opts = log.options.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    }
    if let Some(r) = &svc.restart {
        spec.restart = Some(flags::restart(r).map_err(|e| bad(path("restart"), e))?);
    }
    spec.resources = limits(svc).map_err(|e| bad(path("deploy.resources"), e))?;
    spec.healthcheck = healthcheck(svc)?;

    // Ports: `run` publishes none unless asked (the caller adds them).
    if !oneoff {
        for (i, port) in svc.ports.iter().enumerate() {
            let ip = port.host_ip.as_deref().map(|ip| format!("{ip}:")).unwrap_or_default();
            let text = match &port.published {
                Some(h) => format!("{ip}{h}:{}/{}", port.target, port.protocol),
                None if ip.is_empty() => format!("{}/{}", port.target, port.protocol),
                None => format!("{ip}:{}/{}", port.target, port.protocol),
            };
            spec.ports.extend(flags::ports(&text).map_err(|e| bad(format!("{}[{i}]", path("ports")), e))?);
        }
    }
    for e in &svc.expose {
        spec.expose.extend(flags::expose(e)?);
    }
    let more_networks = network(ctx, svc, &mut spec)?;
    // Fields rcon has no mechanism for: said, never dropped silently.
    let unsupported = [
        ("sysctls", !svc.sysctls.is_empty()),
        ("cgroup", svc.cgroup.is_some()),
        ("cgroup_parent", svc.cgroup_parent.is_some()),
        ("external_links", !svc.external_links.is_empty()),
        ("mac_address", svc.mac_address.is_some()),
        ("mem_reservation", svc.mem_reservation.is_some()),
        ("oom_kill_disable", svc.oom_kill_disable.is_some()),
        ("oom_score_adj", svc.oom_score_adj.is_some()),
        ("runtime", svc.runtime.is_some()),
        ("shm_size", svc.shm_size.is_some()),
    ];
    for (field, set) in unsupported {
        if set {
            crate::util::warn(&format!("{}: not supported by rcon; ignored", path(field)));
        }
    }
    if !svc.devices.is_empty() {
        return Err(bad(path("devices"), "devices are not supported by rcon: remove them"));
    }
    Ok(Planned { spec, more_networks })
}

/// A long-syntax volume as the engine's mount record.
fn mount(ctx: &Ctx, v: &ServiceVolume, path: &str) -> Result<Mount> {
    let mut m = Mount { kind: v.kind.clone(), target: v.target.clone(), readonly: v.read_only, ..Default::default() };
    match v.kind.as_str() {
        "bind" => {
            let src = v.source.clone().unwrap_or_default();
            if let Some(b) = &v.bind {
                if let Some(prop) = &b.propagation {
                    m.options.push(format!("propagation={prop}"));
                }
            }
            // Docker's -v creates a missing host directory; compose's
            // long syntax only with create_host_path (true for short).
            if !std::path::Path::new(&src).exists() && v.bind.as_ref().is_none_or(|b| b.create_host_path) {
                std::fs::create_dir_all(&src).ctx(|| format!("{path}: create the host directory {src}"))?;
            }
            m.source = src;
        }
        "volume" => {
            m.options.push(crate::volume::FROM_MOUNT.into());
            m.source = match &v.source {
                // Project volumes by their engine name; any other name is
                // an undeclared one (the loader refused it).
                Some(key) => ctx.project.volumes.get(key).map(|vol| vol.name.clone()).unwrap_or_else(|| key.clone()),
                None => String::new(),
            };
            if v.volume.as_ref().is_some_and(|o| o.nocopy) {
                m.options.push("nocopy".into());
            }
        }
        "tmpfs" => {
            m.options.push(crate::volume::FROM_MOUNT.into());
            m.source = "tmpfs".into();
            if let Some(t) = &v.tmpfs {
                if let Some(s) = t.size {
                    m.options.push(format!("size={}", s.0));
                }
                if let Some(mode) = t.mode {
                    m.options.push(format!("mode={:o}", mode.0));
                }
            }
        }
        other => {
            return Err(bad(
                path.to_string(),
                format!("volume type {other} is not supported by rcon: use bind, volume or tmpfs"),
            ))
        }
    }
    Ok(m)
}

/// A secret or config, bind-mounted read-only from its file (or from a
/// file holding its `environment:`/`content:` value, kept with the
/// project's state).
fn file_mount(ctx: &Ctx, r: &crate::compose::FileRef, secret: bool, path: &str) -> Result<Mount> {
    let p = ctx.project;
    let (what, all) = if secret { ("secret", &p.secrets) } else { ("config", &p.configs) };
    let obj = all.get(&r.source).ok_or_else(|| {
        bad(path.to_string(), format!("{what} {:?} is not declared: add it under top-level {what}s", r.source))
    })?;
    let source = if let Some(f) = &obj.file {
        if !std::path::Path::new(f).exists() {
            return Err(bad(path.to_string(), format!("{what} {} file {f} does not exist", r.source)));
        }
        f.clone()
    } else {
        let value = match (&obj.environment, &obj.content) {
            (Some(var), _) => p.environment.get(var).cloned().ok_or_else(|| {
                bad(path.to_string(), format!("{what} {}: environment variable {var} is not set", r.source))
            })?,
            (None, Some(c)) => c.clone(),
            (None, None) => {
                return Err(bad(
                    path.to_string(),
                    format!("{what} {} is external: rcon has no swarm to take it from: give it a file", r.source),
                ))
            }
        };
        let dir = ctx.engine.paths.data.join("compose").join(&p.name).join(format!("{what}s"));
        std::fs::create_dir_all(&dir).ctx(|| format!("create {}", dir.display()))?;
        let _ =
            std::fs::set_permissions(dir.parent().unwrap_or(&dir), std::os::unix::fs::PermissionsExt::from_mode(0o700));
        let f = dir.join(&r.source);
        crate::state::replace_file(&f, value.as_bytes())?;
        let mode = r.mode.map(|m| m.0).unwrap_or(0o444);
        let _ = std::fs::set_permissions(&f, std::os::unix::fs::PermissionsExt::from_mode(mode));
        f.display().to_string()
    };
    Ok(Mount { kind: "bind".into(), source, target: r.mount_path(secret), readonly: true, options: Vec::new() })
}

/// `volumes_from: [service, service:ro, container:name]`.
fn volumes_from(ctx: &Ctx, v: &str) -> Result<VolumesFrom> {
    let (target, mode) = match v.rsplit_once(':') {
        Some((t, m @ ("ro" | "rw"))) => (t, Some(m)),
        _ => (v, None),
    };
    let container = match target.strip_prefix("container:") {
        Some(c) => c.to_string(),
        None => first_container_name(ctx, target),
    };
    Ok(VolumesFrom { container, readonly: mode.map(|m| m == "ro") })
}

/// The running (or first) container of a service, by name.
fn first_container_name(ctx: &Ctx, service: &str) -> String {
    if let Some(n) = ctx.project.services.get(service).and_then(|s| s.container_name.clone()) {
        return n;
    }
    ctx.containers(false)
        .ok()
        .and_then(|cs| {
            cs.into_iter()
                .filter(|c| super::label(c, labels::SERVICE) == service)
                .min_by_key(super::number)
                .map(|c| c.config.name)
        })
        .unwrap_or_else(|| crate::compose::container_name(&ctx.project.name, service, 1))
}

/// `network_mode` or the service's networks (by priority, then name): the
/// first goes in the spec, the others come back to be connected.
fn network(ctx: &Ctx, svc: &Service, spec: &mut ContainerSpec) -> Result<Vec<Attachment>> {
    if let Some(mode) = &svc.network_mode {
        spec.network = Some(match mode.strip_prefix("service:") {
            Some(s) => format!("container:{}", first_container_name(ctx, s)),
            None => mode.clone(),
        });
        return Ok(Vec::new());
    }
    let mut nets: Vec<(&String, Option<&crate::compose::ServiceNetwork>)> =
        svc.networks.iter().map(|(k, v)| (k, v.as_ref())).collect();
    nets.sort_by_key(|(k, v)| (std::cmp::Reverse(v.and_then(|n| n.priority).unwrap_or(0)), (*k).clone()));
    let mut out = Vec::new();
    for (key, opts) in nets {
        let name = ctx.project.networks.get(key).map(|n| n.name.clone()).unwrap_or_else(|| key.clone());
        let mut aliases = vec![svc.name.clone()];
        aliases.extend(opts.map(|o| o.aliases.clone()).unwrap_or_default());
        let ip = opts.and_then(|o| o.ipv4_address.clone());
        out.push((name, aliases, ip));
    }
    if out.is_empty() {
        return Ok(out);
    }
    let (name, aliases, ip) = out.remove(0);
    spec.network = Some(name);
    spec.network_aliases = aliases;
    spec.ip = ip;
    Ok(out)
}

/// `mem_limit`, `cpus`, `pids_limit` and `deploy.resources.limits` (the
/// latter win), with `run`'s rules.
fn limits(svc: &Service) -> Result<crate::container::resources::Limits> {
    let mut given: Vec<(&str, String)> = Vec::new();
    let lim = svc.deploy.as_ref().and_then(|d| d.resources.as_ref()).and_then(|r| r.limits.as_ref());
    if let Some(m) = lim.and_then(|l| l.memory).or(svc.mem_limit) {
        given.push(("--memory", m.0.to_string()));
    }
    if let Some(m) = svc.memswap_limit {
        given.push(("--memory-swap", m.0.to_string()));
    }
    if let Some(c) = lim.and_then(|l| l.cpus).or(svc.cpus) {
        given.push(("--cpus", c.to_string()));
    }
    if let Some(p) = lim.and_then(|l| l.pids).or(svc.pids_limit) {
        given.push(("--pids-limit", p.to_string()));
    }
    let pairs: Vec<(&str, &str)> = given.iter().map(|(k, v)| (*k, v.as_str())).collect();
    flags::limits(&pairs)
}

fn healthcheck(svc: &Service) -> Result<Option<HealthConfig>> {
    let Some(h) = &svc.healthcheck else { return Ok(None) };
    if h.disable {
        return Ok(Some(HealthConfig { test: vec!["NONE".into()], ..Default::default() }));
    }
    let ns = |d: Option<crate::compose::Duration>| d.map(|d| d.0 as i64).unwrap_or(0);
    Ok(Some(HealthConfig {
        test: h.test.clone().unwrap_or_default(),
        interval: ns(h.interval),
        timeout: ns(h.timeout),
        start_period: ns(h.start_period),
        start_interval: ns(h.start_interval),
        retries: h.retries.map(|r| r as i64).unwrap_or(0),
    }))
}
