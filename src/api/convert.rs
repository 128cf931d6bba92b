//! Docker's `POST /containers/create` body (`Config` with `HostConfig` and
//! `NetworkingConfig`, Docker's field names) into the engine's
//! ContainerSpec. Strings in Docker's flag grammars (`Binds`,
//! `SecurityOpt`, `ExtraHosts`, `Tmpfs`) go through `cli::flags`, the
//! CLI's own parser; unknown fields are ignored, as Docker ignores them.

use serde_json::Value;

use super::http::ApiError;
use crate::cli::flags;
use crate::container::health::HealthConfig;
use crate::container::resources::{Limits, CPU_PERIOD};
use crate::container::restart::RestartPolicy;
use crate::container::spec::{ContainerSpec, Seccomp, VolumesFrom};
use crate::container::{Mount, Ulimit};
use crate::network::ports::PortSpec;

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a.iter().filter_map(|x| x.as_str().map(String::from)).collect(),
        Value::String(s) if !s.is_empty() => vec![s.clone()],
        _ => Vec::new(),
    }
}

fn opt_string(v: &Value) -> Option<String> {
    v.as_str().filter(|s| !s.is_empty()).map(String::from)
}

fn keys(v: &Value) -> Vec<String> {
    v.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default()
}

fn int(v: &Value, field: &str) -> Result<Option<i64>, ApiError> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => n.as_i64().map(Some).ok_or_else(|| ApiError::bad(format!("invalid {field}: {n}"))),
        other => Err(ApiError::bad(format!(
            "json: cannot unmarshal {} into Go struct field {field} of type int64",
            kind(other)
        ))),
    }
}

fn boolean(v: &Value, field: &str) -> Result<bool, ApiError> {
    match v {
        Value::Null => Ok(false),
        Value::Bool(b) => Ok(*b),
        other => Err(ApiError::bad(format!(
            "json: cannot unmarshal {} into Go struct field {field} of type bool",
            kind(other)
        ))),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `Cmd`/`Entrypoint`: an array, a string (one word, as old clients send
/// it), or null.
fn command(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        _ => strings(v),
    }
}

/// The spec a create request asks for; `name` from the query.
pub fn spec(body: &Value, name: Option<String>) -> Result<ContainerSpec, ApiError> {
    if !body.is_object() {
        return Err(ApiError::bad("invalid JSON: a JSON object is expected"));
    }
    let h = &body["HostConfig"];
    let image = opt_string(&body["Image"]).ok_or_else(|| ApiError::bad("config error: no image given (Image)"))?;
    let entrypoint = match &body["Entrypoint"] {
        Value::Null => None,
        // `--entrypoint ""` comes as [""]: no entrypoint at all.
        v => Some(command(v).into_iter().filter(|s| !s.is_empty()).collect()),
    };
    let env = strings(&body["Env"]);
    for e in &env {
        if e.is_empty() || e.starts_with('=') {
            return Err(ApiError::bad(format!("invalid environment variable: {e}")));
        }
    }
    let labels = body["Labels"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string())).collect())
        .unwrap_or_default();
    let mut spec = ContainerSpec {
        image,
        name,
        cmd: command(&body["Cmd"]),
        entrypoint,
        env,
        workdir: opt_string(&body["WorkingDir"]),
        user: opt_string(&body["User"]),
        hostname: opt_string(&body["Hostname"]),
        domainname: opt_string(&body["Domainname"]),
        labels,
        tty: boolean(&body["Tty"], "ContainerConfigWrapper.Tty")?,
        open_stdin: boolean(&body["OpenStdin"], "ContainerConfigWrapper.OpenStdin")?,
        stop_signal: opt_string(&body["StopSignal"]),
        stop_timeout: int(&body["StopTimeout"], "ContainerConfigWrapper.StopTimeout")?,
        expose: keys(&body["ExposedPorts"]),
        healthcheck: health(&body["Healthcheck"])?,
        sig_proxy: true,
        ..Default::default()
    };
    host_config(h, &mut spec)?;
    // Image VOLUMEs given in the config (`-v /path` of old clients).
    for path in keys(&body["Volumes"]) {
        if !spec.mounts.iter().any(|m| m.target == path) {
            spec.mounts.push(Mount { kind: "volume".into(), target: path, ..Default::default() });
        }
    }
    endpoints(&body["NetworkingConfig"]["EndpointsConfig"], &mut spec);
    Ok(spec)
}

fn health(v: &Value) -> Result<Option<HealthConfig>, ApiError> {
    if v.is_null() {
        return Ok(None);
    }
    let test = strings(&v["Test"]);
    Ok(Some(HealthConfig {
        test,
        interval: int(&v["Interval"], "HealthConfig.Interval")?.unwrap_or(0),
        timeout: int(&v["Timeout"], "HealthConfig.Timeout")?.unwrap_or(0),
        start_period: int(&v["StartPeriod"], "HealthConfig.StartPeriod")?.unwrap_or(0),
        start_interval: int(&v["StartInterval"], "HealthConfig.StartInterval")?.unwrap_or(0),
        retries: int(&v["Retries"], "HealthConfig.Retries")?.unwrap_or(0),
    }))
}

fn host_config(h: &Value, spec: &mut ContainerSpec) -> Result<(), ApiError> {
    if h.is_null() {
        return Ok(());
    }
    for b in strings(&h["Binds"]) {
        spec.mounts.push(flags::volume(&b)?);
    }
    if let Some(ms) = h["Mounts"].as_array() {
        for m in ms {
            spec.mounts.push(mount(m)?);
        }
    }
    if let Some(t) = h["Tmpfs"].as_object() {
        for (path, opts) in t {
            let o = opts.as_str().unwrap_or("");
            spec.mounts.push(flags::tmpfs(&if o.is_empty() { path.clone() } else { format!("{path}:{o}") })?);
        }
    }
    spec.volumes_from =
        strings(&h["VolumesFrom"]).iter().map(|v| flags::volumes_from(v)).collect::<Result<Vec<VolumesFrom>, _>>()?;
    spec.auto_remove = boolean(&h["AutoRemove"], "HostConfig.AutoRemove")?;
    spec.read_only = boolean(&h["ReadonlyRootfs"], "HostConfig.ReadonlyRootfs")?;
    spec.privileged = boolean(&h["Privileged"], "HostConfig.Privileged")?;
    spec.init = boolean(&h["Init"], "HostConfig.Init")?;
    spec.publish_all = boolean(&h["PublishAllPorts"], "HostConfig.PublishAllPorts")?;
    spec.cap_add = strings(&h["CapAdd"]);
    spec.cap_drop = strings(&h["CapDrop"]);
    spec.group_add = strings(&h["GroupAdd"]);
    spec.dns = strings(&h["Dns"]);
    spec.dns_search = strings(&h["DnsSearch"]);
    spec.dns_options = strings(&h["DnsOptions"]);
    spec.userns = opt_string(&h["UsernsMode"]);
    spec.pid = opt_string(&h["PidMode"]);
    spec.ipc = opt_string(&h["IpcMode"]).filter(|m| m != "private" && m != "shareable");
    spec.uts = opt_string(&h["UTSMode"]);
    spec.cidfile = opt_string(&h["ContainerIDFile"]);
    spec.network = opt_string(&h["NetworkMode"]).filter(|m| m != "default");
    for x in strings(&h["ExtraHosts"]) {
        spec.extra_hosts.push(flags::add_host(&x)?);
    }
    for o in strings(&h["SecurityOpt"]) {
        match flags::security_opt(&o)? {
            flags::SecurityOpt::NoNewPrivileges(b) => spec.no_new_privileges = b,
            flags::SecurityOpt::SeccompUnconfined => spec.seccomp = Seccomp::Unconfined,
            // The docker CLI sends the profile's content.
            flags::SecurityOpt::Seccomp(json) => spec.seccomp = Seccomp::Profile(json),
            flags::SecurityOpt::Ignored => {}
        }
    }
    if let Some(us) = h["Ulimits"].as_array() {
        for u in us {
            let name = u["Name"].as_str().unwrap_or("").to_string();
            crate::runtime::rlimit_resource(&name)?;
            let n = |v: &Value| v.as_i64().map(|x| if x < 0 { u64::MAX } else { x as u64 }).unwrap_or(0);
            spec.ulimits.push(Ulimit { name, soft: n(&u["Soft"]), hard: n(&u["Hard"]) });
        }
    }
    let lc = &h["LogConfig"];
    spec.log_driver = opt_string(&lc["Type"]);
    if let Some(m) = lc["Config"].as_object() {
        spec.log_opts = m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string())).collect();
    }
    let rp = &h["RestartPolicy"];
    if let Some(name) = opt_string(&rp["Name"]) {
        spec.restart = Some(RestartPolicy {
            name,
            maximum_retry_count: int(&rp["MaximumRetryCount"], "RestartPolicy")?.unwrap_or(0),
        });
    }
    spec.resources = limits(h)?;
    if let Some(pb) = h["PortBindings"].as_object() {
        for (key, binds) in pb {
            let (port, proto) = key.split_once('/').unwrap_or((key, "tcp"));
            let (c0, c1) = match port.split_once('-') {
                Some((a, b)) => (a.parse::<u16>().ok(), b.parse::<u16>().ok()),
                None => (port.parse().ok(), port.parse().ok()),
            };
            let (Some(c0), Some(c1)) = (c0, c1) else {
                return Err(ApiError::bad(format!("invalid port specification: {key:?}")));
            };
            let binds = binds.as_array().cloned().unwrap_or_default();
            let binds = if binds.is_empty() { vec![Value::Null] } else { binds };
            for b in binds {
                let host_ip = b["HostIp"].as_str().unwrap_or("").to_string();
                let hp = b["HostPort"].as_str().unwrap_or("");
                let (h0, _) = match hp.split_once('-') {
                    Some((a, b)) => (a.parse::<u16>().unwrap_or(0), b.parse::<u16>().unwrap_or(0)),
                    None => (hp.parse().unwrap_or(0), 0),
                };
                for c in c0..=c1 {
                    let host_port = if h0 == 0 { 0 } else { h0 + (c - c0) };
                    spec.ports.push(PortSpec {
                        host_ip: host_ip.clone(),
                        host_port,
                        container_port: c,
                        proto: proto.into(),
                    });
                }
            }
        }
    }
    Ok(())
}

fn limits(h: &Value) -> Result<Limits, ApiError> {
    let pos = |v: &Value, f: &str| -> Result<Option<i64>, ApiError> { Ok(int(v, f)?.filter(|n| *n > 0)) };
    let mut l = Limits {
        memory: pos(&h["Memory"], "HostConfig.Memory")?.map(|n| n as u64),
        memory_swap: int(&h["MemorySwap"], "HostConfig.MemorySwap")?.filter(|n| *n != 0),
        cpu_shares: pos(&h["CpuShares"], "HostConfig.CpuShares")?.map(|n| n as u64),
        cpuset_cpus: opt_string(&h["CpusetCpus"]),
        pids_limit: pos(&h["PidsLimit"], "HostConfig.PidsLimit")?,
        ..Default::default()
    };
    if let Some(n) = pos(&h["NanoCpus"], "HostConfig.NanoCpus")? {
        l.cpu_quota = Some(((n as u64) / 10_000).max(1));
    } else if let Some(q) = pos(&h["CpuQuota"], "HostConfig.CpuQuota")? {
        let period = pos(&h["CpuPeriod"], "HostConfig.CpuPeriod")?.unwrap_or(CPU_PERIOD as i64) as u64;
        l.cpu_quota = Some((q as u64 * CPU_PERIOD / period).max(1));
    }
    Ok(l)
}

/// One of `HostConfig.Mounts` (Docker's mount.Mount).
pub fn mount(m: &Value) -> Result<Mount, ApiError> {
    let kind = m["Type"].as_str().unwrap_or("volume").to_string();
    let target = m["Target"].as_str().unwrap_or("").to_string();
    if target.is_empty() {
        return Err(ApiError::bad("invalid mount config: Target must not be empty"));
    }
    let mut out = Mount {
        kind: kind.clone(),
        source: m["Source"].as_str().unwrap_or("").to_string(),
        target,
        readonly: m["ReadOnly"].as_bool().unwrap_or(false),
        options: vec![crate::volume::FROM_MOUNT.into()],
    };
    match kind.as_str() {
        "bind" => {
            if let Some(p) = m["BindOptions"]["Propagation"].as_str().filter(|p| !p.is_empty()) {
                out.options.push(format!("propagation={p}"));
            }
        }
        "volume" => {
            if m["VolumeOptions"]["NoCopy"].as_bool() == Some(true) {
                out.options.push("nocopy".into());
            }
        }
        "tmpfs" => {
            out.source = "tmpfs".into();
            if let Some(n) = m["TmpfsOptions"]["SizeBytes"].as_i64().filter(|n| *n > 0) {
                out.options.push(format!("size={n}"));
            }
            if let Some(mode) = m["TmpfsOptions"]["Mode"].as_u64().filter(|n| *n > 0) {
                out.options.push(format!("mode={mode:o}"));
            }
        }
        t => return Err(ApiError::bad(format!("invalid mount config: mount type unknown: {t:?}"))),
    }
    Ok(out)
}

/// `NetworkingConfig.EndpointsConfig`: the network named by NetworkMode
/// (or the first) gives the aliases and the address; others are joined
/// with `connect` by the client (compose does).
fn endpoints(eps: &Value, spec: &mut ContainerSpec) {
    let Some(m) = eps.as_object() else { return };
    let wanted = spec.network.clone();
    let pick = m.iter().find(|(k, _)| Some(k.as_str()) == wanted.as_deref()).or_else(|| m.iter().next());
    if let Some((name, ep)) = pick {
        if spec.network.is_none() && name != "default" && name != "bridge" {
            spec.network = Some(name.clone());
        }
        spec.network_aliases = strings(&ep["Aliases"]);
        spec.ip = opt_string(&ep["IPAMConfig"]["IPv4Address"]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn docker_cli_create_body() {
        let body = json!({
            "Image": "busybox", "Cmd": ["echo", "hi"], "Env": ["A=1"], "Tty": false, "OpenStdin": true,
            "Labels": {"x": "y"}, "ExposedPorts": {"80/tcp": {}}, "Entrypoint": null,
            "Healthcheck": {"Test": ["CMD-SHELL", "true"], "Interval": 1000000000},
            "HostConfig": {
                "Binds": ["data:/data:ro"], "NetworkMode": "default", "AutoRemove": true,
                "PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}], "53/udp": [{"HostPort": ""}]},
                "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0}, "Memory": 0, "NanoCpus": 500000000,
                "Mounts": [{"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 1048576}}],
                "SecurityOpt": ["no-new-privileges"], "ExtraHosts": ["db:10.0.0.2"], "Ulimits": [{"Name": "nofile", "Soft": 10, "Hard": 20}],
                "LogConfig": {"Type": "", "Config": {}}
            },
            "NetworkingConfig": {"EndpointsConfig": {"default": {}}}
        });
        let s = spec(&body, Some("web".into())).unwrap();
        assert_eq!(
            (s.image.as_str(), s.name.as_deref(), s.cmd.as_slice()),
            ("busybox", Some("web"), &["echo".to_string(), "hi".into()][..])
        );
        assert!(s.open_stdin && s.auto_remove && s.no_new_privileges);
        assert_eq!(s.network, None);
        assert_eq!(s.ports.len(), 2);
        assert_eq!((s.ports[0].host_ip.as_str(), s.ports[0].host_port), ("127.0.0.1", 8080));
        assert_eq!(s.mounts.len(), 2);
        assert_eq!(s.resources.cpu_quota, Some(50_000));
        assert_eq!(s.extra_hosts, [("db".to_string(), "10.0.0.2".to_string())]);
        assert_eq!(s.healthcheck.unwrap().interval, 1_000_000_000);
        assert!(spec(&json!({"Image": "x", "Tty": "yes"}), None).unwrap_err().message.contains("bool"));
        assert!(spec(&json!({"Cmd": ["x"]}), None).is_err());
        let s = spec(&json!({"Image": "x", "Entrypoint": [""]}), None).unwrap();
        assert_eq!(s.entrypoint, Some(vec![]));
    }
}
