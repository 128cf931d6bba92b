//! One service, from its merged node to the typed [`Service`], with every
//! short syntax in long form and compose-go's normalisation applied:
//! `env_file` read under `environment`, bare variables resolved from the
//! caller's environment, implicit `depends_on` for `service:` namespaces,
//! `volumes_from` and `links`, and duplicates left by merging removed.

use std::collections::BTreeMap;

use super::convert::{
    any, boolean, child, dedup_by, duration, entries, float, idx, int, invalid, items, kv, labels, list, opt_text,
    size, string_list, text, uint, unknown, Ctx, R,
};
use super::model::*;
use super::mounts::{devices, file_refs, ports, volumes};
use super::syntax;
use super::yaml::{Node, Value};

/// Fields of the spec kept as written in `Service::extra`.
const UNTYPED: &[&str] = &[
    "blkio_config",
    "cpu_count",
    "cpu_percent",
    "cpu_period",
    "cpu_quota",
    "cpu_rt_period",
    "cpu_rt_runtime",
    "cpu_shares",
    "cpuset",
    "credential_spec",
    "device_cgroup_rules",
    "gpus",
    "isolation",
    "label_file",
    "mem_swappiness",
    "models",
    "post_start",
    "pre_stop",
    "provider",
    "pull_refresh_after",
    "storage_opt",
    "use_api_socket",
    "volume_driver",
];

pub fn service(name: &str, n: &Node, path: &str, ctx: &mut Ctx) -> R<Service> {
    let mut s = Service { name: name.to_string(), ..Service::default() };
    for (k, v) in entries(n, path)? {
        let p = child(path, k);
        let p = p.as_str();
        match k.as_str() {
            "annotations" => s.annotations = labels(v, p)?,
            "attach" => s.attach = Some(boolean(v, p)?),
            "build" => s.build = Some(build(v, p, ctx)?),
            "cap_add" => s.cap_add = list(v, p)?,
            "cap_drop" => s.cap_drop = list(v, p)?,
            "cgroup" => s.cgroup = opt_text(v, p)?,
            "cgroup_parent" => s.cgroup_parent = opt_text(v, p)?,
            "command" => s.command = command(v, p)?,
            "configs" => s.configs = file_refs(v, p)?,
            "container_name" => s.container_name = opt_text(v, p)?,
            "cpus" => s.cpus = Some(float(v, p)?),
            "depends_on" => s.depends_on = depends_on(v, p)?,
            "deploy" => s.deploy = Some(deploy(v, p)?),
            // `develop` drives `compose watch`, which rcon does not implement
            "develop" | "extends" => {}
            "devices" => s.devices = devices(v, p)?,
            "dns" => s.dns = string_list(v, p)?,
            "dns_opt" => s.dns_opt = list(v, p)?,
            "dns_search" => s.dns_search = string_list(v, p)?,
            "domainname" => s.domainname = opt_text(v, p)?,
            "entrypoint" => s.entrypoint = command(v, p)?,
            "env_file" => s.env_file = env_files(v, p, ctx)?,
            "environment" => s.environment = kv(v, p)?,
            "expose" => s.expose = expose(v, p)?,
            "external_links" => s.external_links = list(v, p)?,
            "extra_hosts" => s.extra_hosts = extra_hosts(v, p)?,
            "group_add" => s.group_add = list(v, p)?,
            "healthcheck" => s.healthcheck = Some(healthcheck(v, p)?),
            "hostname" => s.hostname = opt_text(v, p)?,
            "image" => s.image = opt_text(v, p)?,
            "init" => s.init = Some(boolean(v, p)?),
            "ipc" => s.ipc = opt_text(v, p)?,
            "labels" => s.labels = labels(v, p)?,
            "links" => s.links = list(v, p)?,
            "logging" => s.logging = Some(logging(v, p)?),
            "mac_address" => s.mac_address = opt_text(v, p)?,
            "mem_limit" => s.mem_limit = Some(size(v, p)?),
            "mem_reservation" => s.mem_reservation = Some(size(v, p)?),
            "memswap_limit" => s.memswap_limit = Some(size(v, p)?),
            "network_mode" => s.network_mode = opt_text(v, p)?,
            "networks" => s.networks = networks(v, p)?,
            "oom_kill_disable" => s.oom_kill_disable = Some(boolean(v, p)?),
            "oom_score_adj" => s.oom_score_adj = Some(int(v, p)?),
            "pid" => s.pid = opt_text(v, p)?,
            "pids_limit" => s.pids_limit = Some(int(v, p)?),
            "platform" => s.platform = opt_text(v, p)?,
            "ports" => s.ports = ports(v, p)?,
            "privileged" => s.privileged = boolean(v, p)?,
            "profiles" => s.profiles = list(v, p)?,
            "pull_policy" => s.pull_policy = pull_policy(v, p)?,
            "read_only" => s.read_only = boolean(v, p)?,
            "restart" => s.restart = restart(v, p)?,
            "runtime" => s.runtime = opt_text(v, p)?,
            "scale" => s.scale = Some(uint(v, p)?),
            "secrets" => s.secrets = file_refs(v, p)?,
            "security_opt" => s.security_opt = list(v, p)?,
            "shm_size" => s.shm_size = Some(size(v, p)?),
            "stdin_open" => s.stdin_open = boolean(v, p)?,
            "stop_grace_period" => s.stop_grace_period = Some(duration(v, p)?),
            "stop_signal" => s.stop_signal = opt_text(v, p)?,
            "sysctls" => s.sysctls = labels(v, p)?,
            "tmpfs" => s.tmpfs = string_list(v, p)?,
            "tty" => s.tty = boolean(v, p)?,
            "ulimits" => s.ulimits = ulimits(v, p)?,
            "user" => s.user = opt_text(v, p)?,
            "userns_mode" => s.userns_mode = opt_text(v, p)?,
            "uts" => s.uts = opt_text(v, p)?,
            "volumes" => s.volumes = volumes(v, p, ctx)?,
            "volumes_from" => s.volumes_from = list(v, p)?,
            "working_dir" => s.working_dir = opt_text(v, p)?,
            _ if UNTYPED.contains(&k.as_str()) => {
                s.extra.insert(k.clone(), any(v));
            }
            _ if k.starts_with("x-") => {}
            _ => return Err(unknown(p)),
        }
    }
    normalise(&mut s, path, ctx)?;
    Ok(s)
}

/// compose-go's `Normalize` and `WithServicesEnvironmentResolved`, and the
/// de-duplication of lists that merging appended to.
fn normalise(s: &mut Service, path: &str, ctx: &mut Ctx) -> R<()> {
    if s.pull_policy.as_deref() == Some("if_not_present") {
        s.pull_policy = Some("missing".to_string());
    }
    if s.networks.is_empty() && s.network_mode.is_none() {
        s.networks.insert("default".to_string(), None);
    }
    s.ports = dedup_by(std::mem::take(&mut s.ports), |p| {
        (p.host_ip.clone(), p.published.clone(), p.target, p.protocol.clone())
    });
    s.volumes = dedup_by(std::mem::take(&mut s.volumes), |v| v.target.clone());
    s.secrets = dedup_by(std::mem::take(&mut s.secrets), |f| f.mount_path(true));
    s.configs = dedup_by(std::mem::take(&mut s.configs), |f| f.mount_path(false));
    s.devices = dedup_by(std::mem::take(&mut s.devices), |d| d.target.clone());
    s.env_file = dedup_by(std::mem::take(&mut s.env_file), |e| e.path.clone());
    for l in [&mut s.expose, &mut s.cap_add, &mut s.cap_drop, &mut s.dns, &mut s.dns_opt, &mut s.dns_search] {
        *l = dedup_by(std::mem::take(l), Clone::clone);
    }
    for l in [&mut s.profiles, &mut s.tmpfs, &mut s.links, &mut s.volumes_from, &mut s.security_opt] {
        *l = dedup_by(std::mem::take(l), Clone::clone);
    }

    // implicit dependencies (compose-go's inferImplicitDependencies)
    let started = |restart| Dependency { restart, ..Dependency::default() };
    for ns in [&s.network_mode, &s.ipc, &s.pid, &s.uts, &s.cgroup].into_iter().flatten() {
        if let Some(svc) = ns.strip_prefix("service:") {
            s.depends_on.entry(svc.to_string()).or_insert_with(|| started(true));
        }
    }
    for from in &s.volumes_from {
        if !from.starts_with("container:") {
            let svc = from.split(':').next().unwrap_or_default();
            s.depends_on.entry(svc.to_string()).or_insert_with(|| started(false));
        }
    }
    for link in &s.links {
        let svc = link.split(':').next().unwrap_or_default();
        s.depends_on.entry(svc.to_string()).or_insert_with(|| started(true));
    }

    // env_file values first (later files win), then `environment`; a bare
    // variable takes the caller's value, or stays unset and also hides an
    // env_file value (compose-go's OverrideBy keeps nil entries)
    let lookup_env = |k: &str| ctx.env.get(k).cloned();
    let mut env: BTreeMap<String, Option<String>> = BTreeMap::new();
    for (i, f) in s.env_file.iter().enumerate() {
        if !f.path.exists() {
            if f.required {
                let p = idx(&child(path, "env_file"), i);
                let file = f.path.display();
                return Err(invalid(&p, format!("env file {file} not found: create it or set required: false")));
            }
            continue;
        }
        let content = std::fs::read_to_string(&f.path)
            .map_err(|source| super::ComposeError::Read { path: f.path.clone(), source })?;
        let service_env = &s.environment;
        let lookup = |k: &str| lookup_env(k).or_else(|| service_env.get(k).cloned().flatten());
        let vars = match f.format.as_deref() {
            Some("raw") => super::dotenv::parse_raw(&content),
            _ => super::dotenv::parse(&content, &f.path, &lookup)?,
        };
        for (k, v) in vars {
            env.insert(k, Some(v));
        }
    }
    for (k, v) in std::mem::take(&mut s.environment) {
        let v = v.or_else(|| lookup_env(&k));
        env.insert(k, v);
    }
    s.environment = env;
    if let Some(b) = &mut s.build {
        for (k, v) in b.args.iter_mut() {
            if v.is_none() {
                *v = lookup_env(k);
            }
        }
    }
    Ok(())
}

/// A string is split into words as a shell would (compose uses go-shellwords); a list is kept.
fn command(n: &Node, path: &str) -> R<Option<Vec<String>>> {
    match &n.value {
        Value::Null => Ok(None),
        Value::Str { text, .. } => syntax::shell_split(text).map(Some).map_err(|m| invalid(path, m)),
        _ => list(n, path).map(Some),
    }
}

fn pull_policy(n: &Node, path: &str) -> R<Option<String>> {
    let p = opt_text(n, path)?;
    match p.as_deref() {
        None | Some("always" | "never" | "missing" | "if_not_present" | "build" | "daily" | "weekly") => Ok(p),
        Some(x) if x.starts_with("every_") && syntax::parse_duration(&x[6..]).is_ok() => Ok(p),
        Some(x) => Err(invalid(
            path,
            format!("invalid pull policy {x:?}: use always, never, missing, build, daily, weekly or every_<duration>"),
        )),
    }
}

fn restart(n: &Node, path: &str) -> R<Option<String>> {
    let r = opt_text(n, path)?;
    let ok = match r.as_deref() {
        None | Some("no" | "always" | "unless-stopped" | "on-failure") => true,
        Some(x) => x.strip_prefix("on-failure:").is_some_and(|c| c.parse::<u32>().is_ok()),
    };
    if !ok {
        let x = r.unwrap_or_default();
        return Err(invalid(
            path,
            format!("invalid restart policy {x:?}: use no, always, unless-stopped or on-failure[:max-retries]"),
        ));
    }
    Ok(r)
}

fn build(n: &Node, path: &str, ctx: &Ctx) -> R<Build> {
    // remote contexts (git URLs, tarballs) are not paths
    let context = |c: &str| {
        if c.contains("://") || c.starts_with("git@") || c.starts_with("github.com/") {
            c.to_string()
        } else {
            ctx.host_path(c)
        }
    };
    let mut b = Build::default();
    let mut ctx_dir = ".".to_string();
    match &n.value {
        Value::Str { text, .. } => ctx_dir = text.clone(),
        _ => {
            for (k, v) in entries(n, path)? {
                let p = child(path, k);
                let p = p.as_str();
                match k.as_str() {
                    "context" => ctx_dir = text(v, p)?,
                    "dockerfile" => b.dockerfile = opt_text(v, p)?,
                    "dockerfile_inline" => b.dockerfile_inline = opt_text(v, p)?,
                    "args" => b.args = kv(v, p)?,
                    "ssh" => b.ssh = ssh(v, p)?,
                    "labels" => b.labels = labels(v, p)?,
                    "cache_from" => b.cache_from = list(v, p)?,
                    "cache_to" => b.cache_to = list(v, p)?,
                    "no_cache" => b.no_cache = boolean(v, p)?,
                    "additional_contexts" => b.additional_contexts = labels(v, p)?,
                    "network" => b.network = opt_text(v, p)?,
                    "pull" => b.pull = boolean(v, p)?,
                    "target" => b.target = opt_text(v, p)?,
                    "secrets" => b.secrets = file_refs(v, p)?,
                    "extra_hosts" => b.extra_hosts = extra_hosts(v, p)?,
                    "isolation" => b.isolation = opt_text(v, p)?,
                    "privileged" => b.privileged = boolean(v, p)?,
                    "shm_size" => b.shm_size = Some(size(v, p)?),
                    "tags" => b.tags = list(v, p)?,
                    "platforms" => b.platforms = list(v, p)?,
                    "ulimits" | "entitlements" | "provenance" | "sbom" => {
                        b.extra.insert(k.clone(), any(v));
                    }
                    _ if k.starts_with("x-") => {}
                    _ => return Err(unknown(p)),
                }
            }
        }
    }
    b.context = context(&ctx_dir);
    for c in b.additional_contexts.values_mut() {
        if c.starts_with('.') || c.starts_with('~') {
            *c = ctx.host_path(c);
        }
    }
    if b.dockerfile.is_none() && b.dockerfile_inline.is_none() {
        b.dockerfile = Some("Dockerfile".to_string());
    }
    Ok(b)
}

/// `[default, id=path]` or `{id: path}`.
fn ssh(n: &Node, path: &str) -> R<Vec<String>> {
    match &n.value {
        Value::Map(m) => m.iter().map(|(k, v)| Ok(format!("{k}={}", text(v, &child(path, k))?))).collect(),
        _ => string_list(n, path),
    }
}

fn depends_on(n: &Node, path: &str) -> R<BTreeMap<String, Dependency>> {
    let mut out = BTreeMap::new();
    match &n.value {
        Value::Map(m) => {
            for (name, v) in m {
                let p = child(path, name);
                let mut d = Dependency::default();
                for (k, x) in entries(v, &p)? {
                    let pk = child(&p, k);
                    match k.as_str() {
                        "condition" => {
                            d.condition = text(x, &pk)?;
                            if !matches!(
                                d.condition.as_str(),
                                "service_started" | "service_healthy" | "service_completed_successfully"
                            ) {
                                return Err(invalid(&pk, format!("invalid condition {:?}: use service_started, service_healthy or service_completed_successfully", d.condition)));
                            }
                        }
                        "restart" => d.restart = boolean(x, &pk)?,
                        "required" => d.required = boolean(x, &pk)?,
                        _ if k.starts_with("x-") => {}
                        _ => return Err(unknown(&pk)),
                    }
                }
                out.insert(name.clone(), d);
            }
        }
        _ => {
            for name in list(n, path)? {
                out.insert(name, Dependency::default());
            }
        }
    }
    Ok(out)
}

fn deploy(n: &Node, path: &str) -> R<Deploy> {
    let mut d = Deploy::default();
    for (k, v) in entries(n, path)? {
        let p = child(path, k);
        match k.as_str() {
            "mode" => d.mode = opt_text(v, &p)?,
            "replicas" => d.replicas = Some(uint(v, &p)?),
            "labels" => d.labels = labels(v, &p)?,
            "resources" => {
                let mut r = Resources::default();
                for (rk, rv) in entries(v, &p)? {
                    let pr = child(&p, rk);
                    match rk.as_str() {
                        "limits" => r.limits = Some(resource(rv, &pr)?),
                        "reservations" => r.reservations = Some(resource(rv, &pr)?),
                        _ => return Err(unknown(&pr)),
                    }
                }
                d.resources = Some(r);
            }
            "restart_policy" => {
                let mut r = RestartPolicy::default();
                for (rk, rv) in entries(v, &p)? {
                    let pr = child(&p, rk);
                    match rk.as_str() {
                        "condition" => r.condition = opt_text(rv, &pr)?,
                        "delay" => r.delay = Some(duration(rv, &pr)?),
                        "max_attempts" => r.max_attempts = Some(uint(rv, &pr)?),
                        "window" => r.window = Some(duration(rv, &pr)?),
                        _ => return Err(unknown(&pr)),
                    }
                }
                d.restart_policy = Some(r);
            }
            "update_config" | "rollback_config" | "placement" | "endpoint_mode" => {
                d.extra.insert(k.clone(), any(v));
            }
            _ if k.starts_with("x-") => {}
            _ => return Err(unknown(&p)),
        }
    }
    Ok(d)
}

fn resource(n: &Node, path: &str) -> R<Resource> {
    let mut r = Resource::default();
    for (k, v) in entries(n, path)? {
        let p = child(path, k);
        match k.as_str() {
            "cpus" => r.cpus = Some(float(v, &p)?),
            "memory" => r.memory = Some(size(v, &p)?),
            "pids" => r.pids = Some(int(v, &p)?),
            "devices" | "generic_resources" => {
                r.extra.insert(k.clone(), any(v));
            }
            _ => return Err(unknown(&p)),
        }
    }
    Ok(r)
}

/// A string is a file relative to the project; `{path, required, format}` is the long form.
fn env_files(n: &Node, path: &str, ctx: &Ctx) -> R<Vec<EnvFile>> {
    let list_node;
    let list = match &n.value {
        Value::Str { .. } => {
            list_node = vec![n.clone()];
            &list_node[..]
        }
        _ => items(n, path)?,
    };
    let mut out = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let p = idx(path, i);
        let mut f = EnvFile { path: Default::default(), required: true, format: None };
        let mut file = String::new();
        match &item.value {
            Value::Str { text, .. } => file = text.clone(),
            _ => {
                for (k, v) in entries(item, &p)? {
                    let pk = child(&p, k);
                    match k.as_str() {
                        "path" => file = text(v, &pk)?,
                        "required" => f.required = boolean(v, &pk)?,
                        "format" => f.format = opt_text(v, &pk)?,
                        _ => return Err(unknown(&pk)),
                    }
                }
            }
        }
        if file.is_empty() {
            return Err(invalid(&p, "missing path: name the env file"));
        }
        f.path = ctx.host_path(&file).into();
        out.push(f);
    }
    Ok(out)
}

fn expose(n: &Node, path: &str) -> R<Vec<String>> {
    let out = list(n, path)?;
    for (i, e) in out.iter().enumerate() {
        let port = e.split_once('/').map_or(e.as_str(), |(p, _)| p);
        let ok = port.split('-').all(|x| x.parse::<u16>().is_ok_and(|p| p > 0)) && port.split('-').count() <= 2;
        if !ok {
            return Err(invalid(
                &idx(path, i),
                format!("invalid port {e:?}: use a port or a range, e.g. 3000 or 3000-3005"),
            ));
        }
    }
    Ok(out)
}

/// `[host:ip, host=ip]` or `{host: ip}` / `{host: [ip, ip]}`.
fn extra_hosts(n: &Node, path: &str) -> R<BTreeMap<String, Vec<String>>> {
    let mut hosts = BTreeMap::new();
    match &n.value {
        Value::Map(m) => {
            for (host, v) in m {
                let p = child(path, host);
                for ip in string_list(v, &p)? {
                    syntax::parse_extra_host(&format!("{host}={ip}"), &mut hosts).map_err(|e| invalid(&p, e))?;
                }
            }
        }
        _ => {
            for (i, entry) in list(n, path)?.iter().enumerate() {
                syntax::parse_extra_host(entry, &mut hosts).map_err(|e| invalid(&idx(path, i), e))?;
            }
        }
    }
    Ok(hosts)
}

fn healthcheck(n: &Node, path: &str) -> R<Healthcheck> {
    let mut h = Healthcheck::default();
    for (k, v) in entries(n, path)? {
        let p = child(path, k);
        match k.as_str() {
            // a string test runs in the shell: compose turns it into ["CMD-SHELL", test]
            "test" => {
                h.test = match &v.value {
                    Value::Str { text, .. } => Some(vec!["CMD-SHELL".to_string(), text.clone()]),
                    Value::Null => None,
                    _ => Some(list(v, &p)?),
                }
            }
            "interval" => h.interval = Some(duration(v, &p)?),
            "timeout" => h.timeout = Some(duration(v, &p)?),
            "start_period" => h.start_period = Some(duration(v, &p)?),
            "start_interval" => h.start_interval = Some(duration(v, &p)?),
            "retries" => h.retries = Some(uint(v, &p)?),
            "disable" => h.disable = boolean(v, &p)?,
            _ if k.starts_with("x-") => {}
            _ => return Err(unknown(&p)),
        }
    }
    Ok(h)
}

fn logging(n: &Node, path: &str) -> R<Logging> {
    let mut l = Logging::default();
    for (k, v) in entries(n, path)? {
        let p = child(path, k);
        match k.as_str() {
            "driver" => l.driver = opt_text(v, &p)?,
            "options" => l.options = labels(v, &p)?,
            _ if k.starts_with("x-") => {}
            _ => return Err(unknown(&p)),
        }
    }
    Ok(l)
}

fn networks(n: &Node, path: &str) -> R<BTreeMap<String, Option<ServiceNetwork>>> {
    let mut out = BTreeMap::new();
    let Value::Map(m) = &n.value else {
        return Ok(list(n, path)?.into_iter().map(|name| (name, None)).collect());
    };
    for (name, v) in m {
        let p = child(path, name);
        if v.is_null() {
            out.insert(name.clone(), None);
            continue;
        }
        let mut sn = ServiceNetwork::default();
        for (k, x) in entries(v, &p)? {
            let pk = child(&p, k);
            match k.as_str() {
                "aliases" => sn.aliases = list(x, &pk)?,
                "ipv4_address" => sn.ipv4_address = opt_text(x, &pk)?,
                "ipv6_address" => sn.ipv6_address = opt_text(x, &pk)?,
                "link_local_ips" => sn.link_local_ips = list(x, &pk)?,
                "mac_address" => sn.mac_address = opt_text(x, &pk)?,
                "priority" => sn.priority = Some(int(x, &pk)?),
                "gw_priority" => sn.gw_priority = Some(int(x, &pk)?),
                "driver_opts" => sn.driver_opts = labels(x, &pk)?,
                _ if k.starts_with("x-") => {}
                _ => return Err(unknown(&pk)),
            }
        }
        sn.aliases = dedup_by(sn.aliases, Clone::clone);
        out.insert(name.clone(), Some(sn));
    }
    Ok(out)
}

fn ulimits(n: &Node, path: &str) -> R<BTreeMap<String, Ulimit>> {
    let mut out = BTreeMap::new();
    for (name, v) in entries(n, path)? {
        let p = child(path, name);
        let u = match &v.value {
            Value::Map(_) => {
                let (mut soft, mut hard) = (None, None);
                for (k, x) in entries(v, &p)? {
                    let pk = child(&p, k);
                    match k.as_str() {
                        "soft" => soft = Some(int(x, &pk)?),
                        "hard" => hard = Some(int(x, &pk)?),
                        _ => return Err(unknown(&pk)),
                    }
                }
                match (soft, hard) {
                    (Some(soft), Some(hard)) => Ulimit { soft, hard, single: false },
                    _ => return Err(invalid(&p, "set both soft and hard, or one number for both")),
                }
            }
            _ => {
                let l = int(v, &p)?;
                Ulimit { soft: l, hard: l, single: true }
            }
        };
        out.insert(name.clone(), u);
    }
    Ok(out)
}
