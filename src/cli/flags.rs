//! Docker's flag grammars, in one place: `-p`, `--expose`, `-v`, `--mount`,
//! `--tmpfs`, `--volumes-from`, sizes and CPUs, `--restart`, `--health-*`,
//! `--ulimit`, `--security-opt`, `--log-opt`, `--add-host`, `-e`, labels.
//! Each turns the text a user typed into the typed values of
//! `container::spec` (or the engine's option structs); the front ends that
//! take Docker's strings (the CLI, compose's short syntax, the API
//! server's `Binds` and `SecurityOpt`) all parse here. Below this layer no
//! function parses a flag string; the engine checks what only it can know.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::container::health::{HealthConfig, OnFailure};
use crate::container::resources::{Limits, CPU_PERIOD};
use crate::container::restart::RestartPolicy;
use crate::container::{Mount, Ulimit};
use crate::error::{Error, Result};
use crate::network::ports::PortSpec;

fn bad(msg: String) -> Error {
    Error::InvalidArgument(msg)
}

/// The docker CLI's (pflag's) refusal of a flag's value, one line:
/// `invalid argument "-1" for "-m, --memory" flag: invalid size: '-1'`.
/// `flag` as Docker's usage names it ("-m, --memory", "--dns").
pub fn invalid(flag: &str, value: &str, why: impl std::fmt::Display) -> Error {
    bad(format!("invalid argument \"{value}\" for \"{flag}\" flag: {why}"))
}

// ---- ports ---------------------------------------------------------------

fn port_range(spec: &str, s: &str) -> Result<(u16, u16)> {
    let num = |p: &str| -> Result<u16> {
        match p.parse::<u32>() {
            Ok(n) if (1..=65535).contains(&n) => Ok(n as u16),
            Ok(n) => Err(bad(format!("invalid port {n} in -p {spec}: port numbers are 1-65535"))),
            Err(_) => {
                Err(bad(format!("invalid port {p:?} in -p {spec}: use [IP:][HOST_PORT:]CONTAINER_PORT[/tcp|/udp]")))
            }
        }
    };
    match s.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (num(a)?, num(b)?);
            if b < a {
                return Err(bad(format!("invalid port range {s} in -p {spec}: the end is before the start")));
            }
            Ok((a, b))
        }
        None => num(s).map(|n| (n, n)),
    }
}

/// `-p [IP:][HOST_PORT[-END]:]CONTAINER_PORT[-END][/PROTO]`, ranges expanded.
pub fn ports(spec: &str) -> Result<Vec<PortSpec>> {
    let (rest, proto) = match spec.rsplit_once('/') {
        Some((r, p)) => (r, p.to_ascii_lowercase()),
        None => (spec, "tcp".to_string()),
    };
    if proto != "tcp" && proto != "udp" {
        return Err(bad(format!("invalid protocol {proto:?} in -p {spec}: use tcp or udp")));
    }
    // An IPv6 address comes in brackets: [::1]:8080:80.
    let (ip, rest) = match rest.strip_prefix('[') {
        Some(r) => {
            let (ip, r) = r
                .split_once("]:")
                .ok_or_else(|| bad(format!("invalid -p {spec}: use [IPv6]:HOST_PORT:CONTAINER_PORT")))?;
            (ip.to_string(), r.to_string())
        }
        None => {
            let parts: Vec<&str> = rest.split(':').collect();
            match parts.len() {
                1 | 2 => (String::new(), rest.to_string()),
                3 => (parts[0].to_string(), format!("{}:{}", parts[1], parts[2])),
                _ => return Err(bad(format!("invalid -p {spec}: use [IP:][HOST_PORT:]CONTAINER_PORT[/tcp|/udp]"))),
            }
        }
    };
    if !ip.is_empty() && ip.parse::<IpAddr>().is_err() {
        return Err(bad(format!("invalid IP address {ip:?} in -p {spec}")));
    }
    let (host, ctr) = match rest.split_once(':') {
        Some((h, c)) => (h, c),
        None => ("", rest.as_str()),
    };
    let (c0, c1) = port_range(spec, ctr)?;
    let hosts = if host.is_empty() {
        None
    } else {
        let (h0, h1) = port_range(spec, host)?;
        if h1 - h0 != c1 - c0 {
            return Err(bad(format!(
                "invalid -p {spec}: the host range and the container range must have the same size"
            )));
        }
        Some(h0)
    };
    Ok((c0..=c1)
        .map(|c| PortSpec {
            host_ip: ip.clone(),
            host_port: hosts.map(|h0| h0 + (c - c0)).unwrap_or(0),
            container_port: c,
            proto: proto.clone(),
        })
        .collect())
}

/// `--expose PORT[-END][/PROTO]`: the keys ("80/tcp") it adds.
pub fn expose(spec: &str) -> Result<Vec<String>> {
    Ok(ports(spec)?.iter().map(PortSpec::key).collect())
}

// ---- mounts --------------------------------------------------------------

const PROPAGATIONS: &[&str] = &["private", "rprivate", "shared", "rshared", "slave", "rslave"];

fn check_target(spec: &str, dst: &str) -> Result<()> {
    if !dst.starts_with('/') {
        return Err(bad(format!("invalid mount spec {spec:?}: the container path {dst:?} must be absolute")));
    }
    if dst.split('/').any(|p| p == "..") || dst == "/" {
        return Err(bad(format!("invalid mount spec {spec:?}: the container path cannot be / or contain '..'")));
    }
    Ok(())
}

/// `-v`: `/host:/ctr[:opts]` (bind), `name:/ctr[:opts]` (named volume),
/// `/ctr` (anonymous volume). Also the API's `HostConfig.Binds`.
pub fn volume(v: &str) -> Result<Mount> {
    // compose-go's ParseVolume, which the docker CLI uses for -v: an empty
    // spec or an empty part (`:/x`, `/h::ro`, `/x:`) is refused, not read
    // as an anonymous volume or a default mode.
    if v.is_empty() {
        return Err(bad("invalid empty volume spec".into()));
    }
    if v.len() > 2 && v.split(':').any(str::is_empty) {
        return Err(bad(format!("invalid spec: {v}: empty section between colons")));
    }
    let parts: Vec<&str> = v.split(':').collect();
    let (src, dst, opts) = match parts.as_slice() {
        [d] => ("", *d, ""),
        [s, d] => (*s, *d, ""),
        [s, d, o] => (*s, *d, *o),
        _ => return Err(bad(format!("invalid volume specification {v:?}: use SRC:DST[:ro|rw] or DST"))),
    };
    check_target(v, dst)?;
    let kind = if src.starts_with('/') {
        "bind"
    } else {
        if !src.is_empty() {
            crate::volume::check_name(src)?;
        }
        "volume"
    };
    let mut m = Mount { kind: kind.into(), source: src.into(), target: dst.into(), ..Default::default() };
    for o in opts.split(',').filter(|o| !o.is_empty()) {
        match o {
            "ro" => m.readonly = true,
            "rw" | "z" | "Z" | "rbind" | "bind" => {}
            "nocopy" if kind == "volume" => m.options.push("nocopy".into()),
            p if PROPAGATIONS.contains(&p) && kind == "bind" => m.options.push(format!("propagation={p}")),
            _ => return Err(bad(format!("invalid mode {o:?} in volume {v:?}: use ro, rw, nocopy or a propagation"))),
        }
    }
    Ok(m)
}

/// `--mount type=volume|bind|tmpfs,source=…,target=…,…` with Docker's keys.
pub fn mount(s: &str) -> Result<Mount> {
    let mut m = Mount { kind: "volume".into(), options: vec![crate::volume::FROM_MOUNT.into()], ..Default::default() };
    let mut keys = Vec::new();
    for kv in s.split(',').filter(|kv| !kv.is_empty()) {
        let (k, v) = kv.split_once('=').unwrap_or((kv, "true"));
        let truth = || match v {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err(bad(format!("invalid value {v:?} for {k} in --mount {s:?}: use true or false"))),
        };
        match k {
            "type" => m.kind = v.into(),
            "source" | "src" => m.source = v.into(),
            "target" | "destination" | "dst" => m.target = v.into(),
            "readonly" | "ro" => m.readonly = truth()?,
            "volume-nocopy" => {
                if truth()? {
                    m.options.push("nocopy".into())
                }
            }
            "tmpfs-size" => m.options.push(format!("size={v}")),
            "tmpfs-mode" => {
                u32::from_str_radix(v, 8)
                    .map_err(|_| bad(format!("invalid tmpfs-mode {v:?}: use octal, e.g. 1770")))?;
                m.options.push(format!("mode={v}"))
            }
            "bind-propagation" if PROPAGATIONS.contains(&v) => m.options.push(format!("propagation={v}")),
            "bind-propagation" => {
                return Err(bad(format!("invalid bind-propagation {v:?}: use one of {}", PROPAGATIONS.join(", "))))
            }
            "consistency" | "volume-driver" if v == "local" || k == "consistency" => {}
            _ => return Err(bad(format!("unexpected key {k:?} in --mount {s:?}"))),
        }
        keys.push(k);
    }
    if m.target.is_empty() {
        return Err(bad(format!("--mount {s:?}: target is required")));
    }
    check_target(s, &m.target)?;
    let only = |allowed: &[&str]| -> Result<()> {
        for k in &keys {
            let generic = ["type", "source", "src", "target", "destination", "dst", "readonly", "ro", "consistency"];
            if !generic.contains(k) && !allowed.contains(k) {
                return Err(bad(format!("--mount {s:?}: {k} does not apply to type={}", m.kind)));
            }
        }
        Ok(())
    };
    match m.kind.as_str() {
        "bind" => {
            only(&["bind-propagation"])?;
            if m.source.is_empty() {
                return Err(bad("invalid mount config for type \"bind\": field Source must not be empty".into()));
            }
            if !m.source.starts_with('/') {
                return Err(bad(format!(
                    "invalid mount config for type \"bind\": source must be an absolute path: {s:?}"
                )));
            }
        }
        "volume" => {
            only(&["volume-nocopy", "volume-driver"])?;
            if !m.source.is_empty() {
                crate::volume::check_name(&m.source)?;
            }
        }
        "tmpfs" => {
            only(&["tmpfs-size", "tmpfs-mode"])?;
            if !m.source.is_empty() {
                return Err(bad(format!("invalid mount config for type \"tmpfs\": source must be empty: {s:?}")));
            }
            m.source = "tmpfs".into();
        }
        t => return Err(bad(format!("--mount {s:?}: unknown type {t:?}: use bind, volume or tmpfs"))),
    }
    Ok(m)
}

/// `--tmpfs /path[:opts]`.
pub fn tmpfs(s: &str) -> Result<Mount> {
    let (target, opts) = s.split_once(':').unwrap_or((s, ""));
    check_target(s, target)?;
    Ok(Mount {
        kind: "tmpfs".into(),
        source: "tmpfs".into(),
        target: target.into(),
        readonly: opts.split(',').any(|o| o == "ro"),
        options: opts.split(',').filter(|o| !o.is_empty() && *o != "ro" && *o != "rw").map(String::from).collect(),
    })
}

/// `--volumes-from CONTAINER[:ro|rw]`.
pub fn volumes_from(s: &str) -> Result<crate::container::spec::VolumesFrom> {
    let (container, readonly) = match s.split_once(':') {
        None => (s, None),
        Some((c, "ro")) => (c, Some(true)),
        Some((c, "rw")) => (c, Some(false)),
        Some((_, m)) => return Err(bad(format!("invalid mode {m:?} in --volumes-from {s:?}: use ro or rw"))),
    };
    Ok(crate::container::spec::VolumesFrom { container: container.into(), readonly })
}

// ---- resources -----------------------------------------------------------

/// Docker's RAMInBytes: binary units b, k, m, g, t (case-insensitive).
pub fn bytes(s: &str) -> Option<u64> {
    let s = s.trim().to_ascii_lowercase();
    let s =
        s.strip_suffix('b').filter(|r| !r.is_empty() && r.ends_with(|c: char| c.is_ascii_alphabetic())).unwrap_or(&s);
    let (num, mult) = match s.chars().last()? {
        'k' => (&s[..s.len() - 1], 1u64 << 10),
        'm' => (&s[..s.len() - 1], 1 << 20),
        'g' => (&s[..s.len() - 1], 1 << 30),
        't' => (&s[..s.len() - 1], 1 << 40),
        'b' => (&s[..s.len() - 1], 1),
        _ => (s, 1),
    };
    let n: f64 = num.parse().ok()?;
    (n >= 0.0).then_some((n * mult as f64) as u64)
}

/// Docker's name of a limit flag in its messages ("-m, --memory").
fn limit_flag(flag: &str) -> &str {
    match flag {
        "--memory" => "-m, --memory",
        "--cpu-shares" => "-c, --cpu-shares",
        f => f,
    }
}

/// The limit flags as given: (`--memory`, "64m"), … Values are checked
/// here with the docker CLI's messages (`invalid size: '-1'`); their ranges
/// are the engine's to check (`Limits::check`, the daemon's messages).
pub fn limits(given: &[(&str, &str)]) -> Result<Limits> {
    let mut l = Limits::default();
    for &(flag, v) in given {
        let size = || bytes(v).ok_or_else(|| invalid(limit_flag(flag), v, format!("invalid size: '{v}'")));
        match flag {
            "--memory" => l.memory = Some(size()?),
            // -1: unlimited swap, as Docker's MemSwapBytes.
            "--memory-swap" => l.memory_swap = Some(if v == "-1" { -1 } else { size()? as i64 }),
            "--cpus" => {
                let c: f64 = v
                    .trim()
                    .parse()
                    .ok()
                    .filter(|c: &f64| c.is_finite())
                    .ok_or_else(|| invalid(flag, v, format!("failed to parse {v} as a rational number")))?;
                // 0 is no limit (Docker's NanoCPUs); a negative count is
                // out of range: a zero quota, which Limits::check refuses
                // with the daemon's "range of CPUs" message.
                if c != 0.0 {
                    l.cpu_quota = Some(if c < 0.0 { 0 } else { ((c * CPU_PERIOD as f64) as u64).max(1) });
                }
            }
            "--cpu-shares" => {
                let n: i64 = v.parse().map_err(|_| invalid(limit_flag(flag), v, "use a number"))?;
                if n < 0 {
                    // What runc answers the daemon (docker: "shares: invalid argument").
                    return Err(invalid(limit_flag(flag), v, "shares: invalid argument"));
                }
                l.cpu_shares = Some(n as u64);
            }
            "--cpuset-cpus" => {
                if !v.chars().all(|c| c.is_ascii_digit() || c == ',' || c == '-') || v.is_empty() {
                    return Err(bad(format!("invalid --cpuset-cpus {v:?}: use a list like 0-3 or 0,1")));
                }
                l.cpuset_cpus = Some(v.to_string());
            }
            "--pids-limit" => l.pids_limit = Some(v.parse().map_err(|_| invalid(flag, v, "use a number"))?),
            other => return Err(bad(format!("unknown resource flag {other}"))),
        }
    }
    Ok(l)
}

// ---- life ----------------------------------------------------------------

/// `--restart no|always|unless-stopped|on-failure[:N]`.
pub fn restart(s: &str) -> Result<RestartPolicy> {
    let (name, count) = match s.split_once(':') {
        Some((n, c)) => (n, Some(c)),
        None => (s, None),
    };
    match (name, count) {
        ("" | "no" | "always" | "unless-stopped", None) | ("on-failure", _) => {}
        ("no" | "always" | "unless-stopped", Some(_)) => {
            return Err(bad(format!("maximum retry count cannot be used with restart policy '{name}'")))
        }
        _ => {
            return Err(bad(format!(
                "invalid restart policy {s:?}: use no, always, unless-stopped or on-failure[:max-retries]"
            )))
        }
    }
    let maximum_retry_count = match count {
        None => 0,
        Some(c) => match c.parse::<i64>() {
            Ok(n) if n >= 0 => n,
            _ => return Err(bad(format!("invalid maximum retry count {c:?} in --restart {s}: use a number ≥ 0"))),
        },
    };
    let name = if name.is_empty() { "no" } else { name };
    Ok(RestartPolicy { name: name.to_string(), maximum_retry_count })
}

/// A Go duration (`30s`, `1m30s`, `500ms`) in nanoseconds, as `--health-*`
/// and `--stop-timeout`-like flags take it: not negative, not under 1 ms.
pub fn duration(flag: &str, v: &str) -> Result<i64> {
    match crate::format::units::parse_go_duration(v) {
        Some(ns) if ns < 0 => Err(bad(format!("{flag} cannot be negative"))),
        Some(ns) if ns > 0 && ns < 1_000_000 => Err(bad(format!("{flag} {v} is too short: use at least 1ms"))),
        Some(ns) => Ok(ns as i64),
        None => Err(bad(format!("invalid argument {v:?} for {flag}: use a duration such as 30s, 1m30s or 500ms"))),
    }
}

/// The `--health-*` flags as given.
#[derive(Debug, Default, Clone)]
pub struct HealthFlags {
    pub cmd: Option<String>,
    pub interval: Option<String>,
    pub timeout: Option<String>,
    pub start_period: Option<String>,
    pub start_interval: Option<String>,
    pub retries: Option<i64>,
    /// `--no-healthcheck`.
    pub none: bool,
}

/// The healthcheck the flags ask for, to merge over the image's (None:
/// the image's as it is).
pub fn healthcheck(f: &HealthFlags) -> Result<Option<HealthConfig>> {
    let any = f.cmd.is_some()
        || f.interval.is_some()
        || f.timeout.is_some()
        || f.start_period.is_some()
        || f.start_interval.is_some()
        || f.retries.is_some();
    if f.none {
        if any {
            return Err(bad("--no-healthcheck conflicts with --health-* options".into()));
        }
        return Ok(Some(HealthConfig { test: vec!["NONE".into()], ..Default::default() }));
    }
    if !any {
        return Ok(None);
    }
    let dur = |flag: &str, v: &Option<String>| v.as_deref().map_or(Ok(0), |v| duration(flag, v));
    Ok(Some(HealthConfig {
        test: f.cmd.as_ref().map(|c| vec!["CMD-SHELL".to_string(), c.clone()]).unwrap_or_default(),
        interval: dur("--health-interval", &f.interval)?,
        timeout: dur("--health-timeout", &f.timeout)?,
        start_period: dur("--health-start-period", &f.start_period)?,
        start_interval: dur("--health-start-interval", &f.start_interval)?,
        retries: match f.retries {
            Some(r) if r < 0 => return Err(bad("--health-retries cannot be negative".into())),
            r => r.unwrap_or(0),
        },
    }))
}

/// `--health-on-failure none|kill|restart|stop` (podman's flag).
pub fn on_failure(v: &str) -> Result<OnFailure> {
    OnFailure::parse(v)
        .ok_or_else(|| bad(format!("invalid --health-on-failure {v:?}: use none, kill, restart or stop")))
}

// ---- process -------------------------------------------------------------

/// `--ulimit name=soft[:hard]` (-1 or unlimited for no limit).
pub fn ulimit(s: &str) -> Result<Ulimit> {
    let (name, vals) = s.split_once('=').ok_or_else(|| bad(format!("invalid ulimit {s:?}: use name=soft[:hard]")))?;
    crate::runtime::rlimit_resource(name)?;
    let num = |v: &str| -> Result<u64> {
        if v == "-1" || v == "unlimited" {
            Ok(u64::MAX)
        } else {
            v.parse().map_err(|_| bad(format!("invalid ulimit value in {s:?}")))
        }
    };
    let (soft, hard) = match vals.split_once(':') {
        Some((a, b)) => (num(a)?, num(b)?),
        None => (num(vals)?, num(vals)?),
    };
    if soft > hard {
        return Err(bad(format!("ulimit {s:?}: soft limit must not exceed the hard limit")));
    }
    Ok(Ulimit { name: name.into(), soft, hard })
}

/// One `--security-opt`, before any file is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecurityOpt {
    NoNewPrivileges(bool),
    SeccompUnconfined,
    /// `seccomp=VALUE`: a file name for the CLI, the profile's JSON for the
    /// API (the docker CLI sends the file's content).
    Seccomp(String),
    /// `label=…`, `apparmor=…`: accepted, nothing to do here.
    Ignored,
}

pub fn security_opt(s: &str) -> Result<SecurityOpt> {
    let (k, v) = s.split_once(['=', ':']).unwrap_or((s, ""));
    Ok(match k {
        "no-new-privileges" => SecurityOpt::NoNewPrivileges(v.is_empty() || v == "true"),
        "seccomp" if v == "unconfined" => SecurityOpt::SeccompUnconfined,
        "seccomp" if !v.is_empty() => SecurityOpt::Seccomp(v.to_string()),
        "label" | "apparmor" => SecurityOpt::Ignored,
        _ => {
            return Err(bad(format!("invalid --security-opt {s:?}: use no-new-privileges or seccomp=unconfined|FILE")))
        }
    })
}

/// `--add-host NAME:ADDRESS` (or `NAME=ADDRESS`; ADDRESS may be
/// `host-gateway`).
pub fn add_host(s: &str) -> Result<(String, String)> {
    let (name, ip) = s.split_once(['=', ':']).ok_or_else(|| bad(format!("invalid --add-host {s:?}: use host:ip")))?;
    let ip = ip.trim_start_matches('[').trim_end_matches(']');
    if name.is_empty() || (ip != "host-gateway" && ip.parse::<IpAddr>().is_err()) {
        return Err(bad(format!("invalid --add-host {s:?}: use host:ip (an IP address or host-gateway)")));
    }
    Ok((name.to_string(), ip.to_string()))
}

/// `--dns ADDRESS`: an IP address (the docker CLI's ValidateIPAddress),
/// normalized.
pub fn dns(v: &str) -> Result<String> {
    v.trim()
        .parse::<IpAddr>()
        .map(|ip| ip.to_string())
        .map_err(|_| invalid("--dns", v, format!("IP address is not correctly formatted: {v}")))
}

/// One `--device HOST[:CONTAINER][:PERMISSIONS]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub host: String,
    pub container: String,
    /// Some of r, w, m (default rwm).
    pub permissions: String,
}

fn device_mode(m: &str) -> bool {
    !m.is_empty()
        && m.chars().all(|c| "rwm".contains(c))
        && m.chars().collect::<std::collections::BTreeSet<_>>().len() == m.len()
}

/// `--device`, with the docker CLI's checks and messages (validateLinuxPath,
/// then parseLinuxDevice): `HOST`, `HOST:CONTAINER`, `HOST:MODE`,
/// `HOST:CONTAINER:MODE`. Whether HOST is a device the user may open is
/// the engine's to check.
pub fn device(s: &str) -> Result<Device> {
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() > 3 || parts[0].is_empty() {
        return Err(bad(format!("bad format for path: {s}")));
    }
    let (container, permissions) = match parts.as_slice() {
        [h] => (*h, "rwm"),
        [h, m] if device_mode(m) => (*h, *m),
        [_, c] => (*c, "rwm"),
        [_, c, m] if device_mode(m) => (*c, *m),
        [_, _, m] => return Err(bad(format!("bad mode specified: {m}"))),
        _ => unreachable!("one to three parts"),
    };
    if !container.starts_with('/') {
        return Err(bad(format!("{container} is not an absolute path")));
    }
    let clean = |p: &str| {
        let v: Vec<&str> = p.split('/').filter(|c| !c.is_empty() && *c != ".").collect();
        format!("/{}", v.join("/"))
    };
    if container.split('/').any(|c| c == "..") {
        return Err(bad(format!("bad format for path: {s}")));
    }
    Ok(Device { host: parts[0].to_string(), container: clean(container), permissions: permissions.to_string() })
}

/// `--log-opt KEY=VALUE`.
pub fn log_opt(s: &str) -> Result<(String, String)> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(bad(format!("invalid log option {s:?}: use KEY=VALUE"))),
    }
}

// ---- environment and labels ----------------------------------------------

/// `-e KEY=VALUE`, or `-e KEY`, which takes KEY from `lookup` (the caller's
/// environment) and is dropped when it is unset, as Docker does.
pub fn env(e: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    if e.contains('=') {
        Some(e.to_string())
    } else {
        lookup(e).map(|v| format!("{e}={v}"))
    }
}

/// `-e` as a flag: `env`, after the docker CLI's ValidateEnv (a variable
/// needs a name: `-e =x` and `-e ''` are refused).
pub fn env_flag(e: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Option<String>> {
    if e.split('=').next().unwrap_or("").is_empty() {
        return Err(invalid("-e, --env", e, format!("invalid environment variable: {e}")));
    }
    Ok(env(e, lookup))
}

/// The lines of an env file or label file that mean something: blank lines
/// and `#` comments are skipped.
pub fn file_lines(text: &str) -> Vec<String> {
    text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(String::from).collect()
}

/// `--label KEY[=VALUE]`.
pub fn label(l: &str) -> (String, String) {
    let (k, v) = l.split_once('=').unwrap_or((l, ""));
    (k.to_string(), v.to_string())
}

/// `--opt`/`-o KEY=VALUE` lists (network and volume drivers): a map.
pub fn key_values(what: &str, given: &[String]) -> Result<BTreeMap<String, String>> {
    let mut m = BTreeMap::new();
    for o in given {
        let (k, v) = o.split_once('=').ok_or_else(|| bad(format!("invalid {what} {o:?}: use KEY=VALUE")))?;
        m.insert(k.to_string(), v.to_string());
    }
    Ok(m)
}

// ---- events ---------------------------------------------------------------

/// `--since`/`--until` of `events` (and the API's `since`/`until`): a Go
/// duration back from `now`, an RFC 3339 time, or unix seconds with an
/// optional fraction; nanoseconds since the epoch.
pub fn event_time(flag: &str, v: &str, (now, nanos): (i64, u32)) -> Result<i128> {
    // A duration counts back from now to the nanosecond, as Docker's does
    // (`--until 0s` includes what happened a moment ago).
    if let Some(d) = crate::format::units::parse_go_duration(v).filter(|_| v != "0") {
        return Ok(now as i128 * 1_000_000_000 + nanos as i128 - d);
    }
    let secs = crate::format::units::parse_since_until(v, now).ok_or_else(|| {
        bad(format!("invalid value {v:?} for {flag}: use a duration (10m), an RFC 3339 time or unix seconds"))
    })?;
    // Unix seconds with a fraction (`date +%s.%N`) keep their nanoseconds.
    let frac = match v.split_once('.') {
        Some((int, f)) if int.bytes().all(|b| b.is_ascii_digit()) && f.bytes().all(|b| b.is_ascii_digit()) => {
            format!("{f:0<9}")[..9].parse::<i128>().unwrap_or(0)
        }
        _ => 0,
    };
    Ok(secs as i128 * 1_000_000_000 + frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> (String, u16, u16, String) {
        let v = ports(s).unwrap();
        assert_eq!(v.len(), 1);
        let p = &v[0];
        (p.host_ip.clone(), p.host_port, p.container_port, p.proto.clone())
    }

    #[test]
    fn publish_forms() {
        assert_eq!(one("80"), ("".into(), 0, 80, "tcp".into()));
        assert_eq!(one("8080:80"), ("".into(), 8080, 80, "tcp".into()));
        assert_eq!(one("8080:80/udp"), ("".into(), 8080, 80, "udp".into()));
        assert_eq!(one("127.0.0.1:8080:80"), ("127.0.0.1".into(), 8080, 80, "tcp".into()));
        assert_eq!(one("127.0.0.1::80"), ("127.0.0.1".into(), 0, 80, "tcp".into()));
        assert_eq!(one("[::1]:8080:80"), ("::1".into(), 8080, 80, "tcp".into()));
        let r = ports("8000-8002:80-82").unwrap();
        assert_eq!(
            r.iter().map(|p| (p.host_port, p.container_port)).collect::<Vec<_>>(),
            [(8000, 80), (8001, 81), (8002, 82)]
        );
        assert_eq!(ports("90-91").unwrap().len(), 2);
        assert!(ports("70000:80").unwrap_err().to_string().contains("1-65535"));
        assert!(ports("80/sctp").is_err());
        assert!(ports("bad:80:80").unwrap_err().to_string().contains("invalid IP address"));
        assert!(ports("8000-8001:80").is_err());
        assert_eq!(expose("8000-8001/udp").unwrap(), ["8000/udp", "8001/udp"]);
    }

    #[test]
    fn volume_flag_forms() {
        let m = volume("/h:/c:ro").unwrap();
        assert_eq!((m.kind.as_str(), m.source.as_str(), m.target.as_str(), m.readonly), ("bind", "/h", "/c", true));
        let m = volume("data:/c").unwrap();
        assert_eq!((m.kind.as_str(), m.source.as_str()), ("volume", "data"));
        let m = volume("/c").unwrap();
        assert_eq!((m.kind.as_str(), m.source.as_str()), ("volume", ""));
        assert!(volume("a/b:/c").unwrap_err().to_string().contains("absolute path"));
        assert!(volume("data:rel").is_err());
        assert!(volume("data:/c:bogus").is_err());
        assert_eq!(volumes_from("db:ro").unwrap().readonly, Some(true));
        assert!(volumes_from("db:xx").is_err());
        let t = tmpfs("/run:size=1m,ro").unwrap();
        assert_eq!((t.readonly, t.options.as_slice()), (true, &["size=1m".to_string()][..]));
    }

    #[test]
    fn mount_flag_keys() {
        let m = mount("type=volume,src=v1,dst=/d,ro,volume-nocopy").unwrap();
        assert_eq!((m.source.as_str(), m.target.as_str(), m.readonly), ("v1", "/d", true));
        assert!(m.options.contains(&"nocopy".to_string()));
        let m = mount("type=tmpfs,destination=/t,tmpfs-size=1m,tmpfs-mode=1770").unwrap();
        assert_eq!(m.options, ["from-mount", "size=1m", "mode=1770"]);
        assert!(mount("type=bind,source=/,target=/x,bind-propagation=rshared").is_ok());
        assert!(mount("type=bind,source=rel,target=/x").unwrap_err().to_string().contains("absolute"));
        assert!(mount("type=tmpfs,target=/x,volume-nocopy").is_err());
        assert!(mount("type=volume,source=v").is_err());
    }

    #[test]
    fn sizes_and_limits() {
        assert_eq!(bytes("64m"), Some(64 << 20));
        assert_eq!(bytes("1g"), Some(1 << 30));
        assert_eq!(bytes("512k"), Some(512 << 10));
        assert_eq!(bytes("1024"), Some(1024));
        assert_eq!(bytes("10mb"), Some(10 << 20));
        assert_eq!(bytes("-1"), None);
        let l = limits(&[("--memory", "64m"), ("--cpus", "0.5"), ("--pids-limit", "10")]).unwrap();
        assert_eq!((l.memory, l.cpu_quota, l.pids_limit), (Some(64 << 20), Some(50_000), Some(10)));
        // The docker CLI's messages, one line (issue 12 item 6, issue 17 item 11).
        let msg = |given: &[(&str, &str)]| limits(given).unwrap_err().to_string();
        assert_eq!(msg(&[("--memory", "-1")]), r#"invalid argument "-1" for "-m, --memory" flag: invalid size: '-1'"#);
        assert_eq!(
            msg(&[("--memory", "lots")]),
            r#"invalid argument "lots" for "-m, --memory" flag: invalid size: 'lots'"#
        );
        assert_eq!(
            msg(&[("--memory-swap", "-2")]),
            r#"invalid argument "-2" for "--memory-swap" flag: invalid size: '-2'"#
        );
        assert_eq!(limits(&[("--memory-swap", "-1")]).unwrap().memory_swap, Some(-1));
        assert_eq!(
            msg(&[("--cpus", "x")]),
            r#"invalid argument "x" for "--cpus" flag: failed to parse x as a rational number"#
        );
        assert!(msg(&[("--cpu-shares", "-3")]).starts_with(r#"invalid argument "-3" for "-c, --cpu-shares" flag"#));
        // A negative CPU count is out of the daemon's range; 0 is no limit.
        assert!(limits(&[("--cpus", "-1")]).unwrap().check().unwrap_err().starts_with("range of CPUs is from 0.01 to"));
        assert_eq!(limits(&[("--cpus", "0")]).unwrap().cpu_quota, None);
        assert_eq!(limits(&[("--pids-limit", "-1")]).unwrap().pids_limit, Some(-1));
        // Ranges are the engine's: Limits::check.
        assert!(limits(&[("--memory", "1m")]).unwrap().check().unwrap_err().contains("6MB"));
        assert!(limits(&[("--cpus", "1000")]).unwrap().check().unwrap_err().contains("range of CPUs"));
        assert!(limits(&[("--memory-swap", "1g")]).unwrap().check().is_err());
    }

    #[test]
    fn docker_refusals_of_flag_values() {
        let e = |r: Result<Device>| r.unwrap_err().to_string();
        assert_eq!(dns(" 1.1.1.1 ").unwrap(), "1.1.1.1");
        assert_eq!(dns("2001:db8::1").unwrap(), "2001:db8::1");
        for v in ["x", "1.2.3", "[::1]", ""] {
            assert_eq!(
                dns(v).unwrap_err().to_string(),
                format!("invalid argument \"{v}\" for \"--dns\" flag: IP address is not correctly formatted: {v}")
            );
        }
        let lookup = |_: &str| None;
        for v in ["=", "", "=x"] {
            assert_eq!(
                env_flag(v, &lookup).unwrap_err().to_string(),
                format!("invalid argument \"{v}\" for \"-e, --env\" flag: invalid environment variable: {v}")
            );
        }
        assert_eq!(env_flag("A=", &lookup).unwrap().as_deref(), Some("A="));
        assert_eq!(env_flag("UNSET", &lookup).unwrap(), None);
        assert_eq!(volume("").unwrap_err().to_string(), "invalid empty volume spec");
        for v in [":/x", "/h::ro", "/x:", "v::/x"] {
            assert_eq!(volume(v).unwrap_err().to_string(), format!("invalid spec: {v}: empty section between colons"));
        }
        assert_eq!(
            mount("type=bind,target=/x").unwrap_err().to_string(),
            r#"invalid mount config for type "bind": field Source must not be empty"#
        );
        assert!(mount("type=bind,source=,target=/x").unwrap_err().to_string().contains("must not be empty"));
        let d = |host: &str, ctr: &str, perms: &str| Device {
            host: host.into(),
            container: ctr.into(),
            permissions: perms.into(),
        };
        assert_eq!(device("/dev/fuse").unwrap(), d("/dev/fuse", "/dev/fuse", "rwm"));
        assert_eq!(device("/dev/null:/dev/n").unwrap(), d("/dev/null", "/dev/n", "rwm"));
        assert_eq!(device("/dev/null:r").unwrap(), d("/dev/null", "/dev/null", "r"));
        assert_eq!(device("/dev/null:/dev//n/:rw").unwrap(), d("/dev/null", "/dev/n", "rw"));
        assert_eq!(e(device("")), "bad format for path: ");
        assert_eq!(e(device(":/x")), "bad format for path: :/x");
        assert_eq!(e(device("/a:/b:r:w")), "bad format for path: /a:/b:r:w");
        assert_eq!(e(device("/dev/null:rel")), "rel is not an absolute path");
        assert_eq!(e(device("/dev/null:/dev/n:xyz")), "bad mode specified: xyz");
        assert_eq!(e(device("/dev/null:/dev/n:rr")), "bad mode specified: rr");
    }

    #[test]
    fn restart_policies() {
        assert_eq!(restart("on-failure:3").unwrap().maximum_retry_count, 3);
        assert_eq!(restart("on-failure").unwrap().maximum_retry_count, 0);
        assert_eq!(restart("always").unwrap().name, "always");
        assert!(restart("").unwrap().is_none());
        assert!(restart("sometimes").unwrap_err().to_string().contains("invalid restart policy"));
        assert!(restart("always:3").unwrap_err().to_string().contains("maximum retry count"));
        assert!(restart("on-failure:x").is_err());
        assert!(restart("on-failure:2").unwrap().check().is_ok());
    }

    #[test]
    fn health_flags() {
        let f = HealthFlags { cmd: Some("true".into()), interval: Some("200ms".into()), ..Default::default() };
        let h = healthcheck(&f).unwrap().unwrap();
        assert_eq!((h.test.as_slice(), h.interval), (&["CMD-SHELL".to_string(), "true".into()][..], 200_000_000));
        assert!(healthcheck(&HealthFlags::default()).unwrap().is_none());
        let none = HealthFlags { none: true, ..Default::default() };
        assert_eq!(healthcheck(&none).unwrap().unwrap().test, ["NONE"]);
        let both = HealthFlags { none: true, cmd: Some("x".into()), ..Default::default() };
        assert!(healthcheck(&both).unwrap_err().to_string().contains("conflicts"));
        assert!(duration("--health-interval", "10").is_err());
        assert!(duration("--health-interval", "100us").unwrap_err().to_string().contains("too short"));
        assert_eq!(on_failure("stop").unwrap(), OnFailure::Stop);
        assert!(on_failure("explode").is_err());
    }

    #[test]
    fn process_flags() {
        let u = ulimit("nofile=1024:2048").unwrap();
        assert_eq!((u.name.as_str(), u.soft, u.hard), ("nofile", 1024, 2048));
        assert_eq!(ulimit("nproc=unlimited").unwrap().soft, u64::MAX);
        assert!(ulimit("nofile=10:5").is_err());
        assert!(ulimit("bogus=1").is_err());
        assert_eq!(security_opt("no-new-privileges").unwrap(), SecurityOpt::NoNewPrivileges(true));
        assert_eq!(security_opt("no-new-privileges:false").unwrap(), SecurityOpt::NoNewPrivileges(false));
        assert_eq!(security_opt("seccomp=unconfined").unwrap(), SecurityOpt::SeccompUnconfined);
        assert_eq!(security_opt("seccomp=/p.json").unwrap(), SecurityOpt::Seccomp("/p.json".into()));
        assert!(security_opt("bogus").is_err());
        assert_eq!(add_host("db:10.0.0.2").unwrap(), ("db".into(), "10.0.0.2".into()));
        assert_eq!(add_host("gw=host-gateway").unwrap().1, "host-gateway");
        assert_eq!(add_host("v6:::1").unwrap().1, "::1");
        assert!(add_host("nocolon").is_err());
        assert!(add_host("x:notanip").is_err());
        assert_eq!(log_opt("max-size=10m").unwrap(), ("max-size".into(), "10m".into()));
        assert!(log_opt("max-size").is_err());
    }

    #[test]
    fn environment_and_labels() {
        let lookup = |k: &str| (k == "HOME").then(|| "/home/u".to_string());
        assert_eq!(env("A=1", &lookup).as_deref(), Some("A=1"));
        assert_eq!(env("HOME", &lookup).as_deref(), Some("HOME=/home/u"));
        assert_eq!(env("UNSET", &lookup), None);
        assert_eq!(file_lines("# c\nA=1\n\n  B=2  \n"), ["A=1", "B=2"]);
        assert_eq!(label("a=b=c"), ("a".into(), "b=c".into()));
        assert_eq!(label("flag"), ("flag".into(), "".into()));
        assert!(key_values("--opt", &["x".into()]).is_err());
    }
}
