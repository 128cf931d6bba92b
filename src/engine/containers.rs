//! Container verbs: create, start (attached or not), stop, kill, rm, ps,
//! wait, logs, inspect, rename, prune. The monitor (src/monitor) does the
//! supervising; these functions talk to it through state files, signals and
//! the start pipe.

use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

use super::Engine;
use crate::container::names;
use crate::container::resources::Limits;
use crate::container::spec::{ContainerSpec, Seccomp};
use crate::container::{Container, ContainerConfig, ContainerStore, HostConfig, Status};
use crate::error::{Error, IoContext, Result};
use crate::format::units;
use crate::image::store::now_secs;
pub use crate::monitor::client::{AttachTo, MonitorEvent, MonitorHandle, StartOptions};

fn bad(msg: String) -> Error {
    Error::InvalidArgument(msg)
}

/// Resource limits need a cgroup the user may write. Rootless on cgroup v1
/// (these machines) there is none: refuse instead of ignoring the flag.
pub(crate) fn check_resources(engine: &Engine, limits: &Limits) -> Result<()> {
    limits.check().map_err(bad)?;
    let Some(flag) = limits.first_flag() else { return Ok(()) };
    if engine.paths.rootless {
        return Err(bad(if crate::runtime::cgroups::is_v2() {
            format!(
                "{flag} cannot be enforced rootless yet: rcon does not use delegated cgroup v2 subtrees; run as root"
            )
        } else {
            format!(
                "{flag} cannot be enforced: this host uses cgroup v1, where an unprivileged user gets no cgroup to set limits in; run as root or on a cgroup v2 host with delegation (systemd: Delegate=yes)"
            )
        }));
    }
    Ok(())
}

/// Set `add` (`KEY=VALUE`) in `base`, replacing the key's old value.
pub(crate) fn merge_env(base: &mut Vec<String>, add: String) {
    let key = add.split('=').next().unwrap_or("").to_string();
    base.retain(|e| e.split('=').next() != Some(key.as_str()));
    base.push(add);
}

/// The command, environment and hostname of a new container: the spec's
/// over the image's (Docker's rules: an entrypoint given resets the
/// image's CMD; PATH is always set; TERM for -t, HOSTNAME always).
fn process(o: &ContainerSpec, ic: &crate::image::config::ContainerConfig, id: &str) -> Result<Process> {
    let (entrypoint, cmd) = match &o.entrypoint {
        Some(ep) => (ep.clone(), o.cmd.clone()),
        None => (
            ic.entrypoint.clone().unwrap_or_default(),
            if o.cmd.is_empty() { ic.cmd.clone().unwrap_or_default() } else { o.cmd.clone() },
        ),
    };
    // Docker's order (moby daemon/commit.go `merge`): the user's variables,
    // then the image's that the user did not set.
    let mut env = Vec::new();
    for e in &o.env {
        if !e.contains('=') || e.starts_with('=') {
            return Err(bad(format!("invalid environment variable {e:?}: use KEY=VALUE")));
        }
        merge_env(&mut env, e.clone());
    }
    for e in ic.env.iter().flatten() {
        let key = e.split('=').next().unwrap_or("");
        if !env.iter().any(|u| u.split('=').next() == Some(key)) {
            env.push(e.clone());
        }
    }
    if !env.iter().any(|e| e.starts_with("PATH=")) {
        env.push("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
    }
    let hostname = o.hostname.clone().unwrap_or_else(|| id[..12].to_string());
    if o.tty {
        merge_env(&mut env, "TERM=xterm".into());
    }
    merge_env(&mut env, format!("HOSTNAME={hostname}"));
    Ok(Process { entrypoint, cmd, env, hostname })
}

struct Process {
    entrypoint: Vec<String>,
    cmd: Vec<String>,
    env: Vec<String>,
    hostname: String,
}

/// The name asked for (valid as Docker's), or a random one.
fn container_name(o: &ContainerSpec, id: &str) -> Result<String> {
    match &o.name {
        Some(n) => {
            let n = n.strip_prefix('/').unwrap_or(n);
            if !names::valid_name(n) {
                return Err(bad(format!("Invalid container name ({n}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")));
            }
            Ok(n.to_string())
        }
        None => Ok(names::random_name(id)),
    }
}

/// The security settings checked: ulimit names, the seccomp profile (it
/// must compile), capability names. The profile as the record keeps it.
fn checked_security(o: &ContainerSpec) -> Result<Option<String>> {
    for u in &o.ulimits {
        crate::runtime::rlimit_resource(&u.name)?;
    }
    let seccomp_profile = match &o.seccomp {
        Seccomp::Default => None,
        Seccomp::Unconfined => Some("unconfined".to_string()),
        Seccomp::Profile(text) => {
            crate::runtime::seccomp::from_profile_json(text, &[])
                .map_err(|e| bad(format!("invalid seccomp profile: {e}")))?;
            Some(text.clone())
        }
    };
    crate::runtime::caps::effective_set(o.privileged, &o.cap_add, &o.cap_drop).map_err(|e| bad(e.to_string()))?;
    for (what, v) in [("--pid", &o.pid), ("--ipc", &o.ipc), ("--uts", &o.uts)] {
        if let Some(v) = v {
            if v != "host" && v != "private" && !v.is_empty() {
                return Err(bad(format!("invalid {what} {v:?}: use host")));
            }
        }
    }
    Ok(seccomp_profile)
}

/// The user namespace mode, checked; with keep-id the shifted copies of
/// the image's layers are made now, and the default user becomes ours.
fn checked_userns(
    engine: &Engine,
    o: &ContainerSpec,
    img: &crate::image::store::ImageRecord,
    image_user: &str,
) -> Result<(String, String)> {
    let userns = o.userns.clone().unwrap_or_default();
    match userns.as_str() {
        "" | "host" => Ok((userns, image_user.to_string())),
        "keep-id" => {
            if !engine.paths.rootless {
                return Err(bad(
                    "--userns=keep-id is only supported rootless: as root your ids are already the host's".into(),
                ));
            }
            let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
            crate::storage::userns::IdMap::for_current_user().keep_id(uid, gid).ok_or_else(|| {
                bad(format!("--userns=keep-id needs one subordinate uid and gid range larger than your ids ({uid}/{gid}): check /etc/subuid and /etc/subgid"))
            })?;
            engine.store()?.ensure_keep_id(&img.layers, uid, gid)?;
            // Podman's keep-id runs as the user by default.
            Ok((userns, format!("{uid}:{gid}")))
        }
        u => Err(bad(format!("invalid --userns={u}: use host or keep-id"))),
    }
}

/// Create a container from `o`: check it against the image and the host,
/// create the volumes and bind sources it needs, write its record. Returns
/// the new container's id; on an error nothing is left behind.
pub fn create(engine: &Engine, o: &ContainerSpec) -> Result<String> {
    create_held(engine, o).map(|(id, _)| id)
}

/// Held against prune until the caller drops it (see `ContainerStore::hold`).
pub type Hold = crate::state::Lock;

/// `create`, the new container held against a concurrent prune until the
/// caller drops the [`Hold`]: `run` and `compose up` keep it through the
/// start, so a prune between create and start cannot take the container.
pub fn create_held(engine: &Engine, o: &ContainerSpec) -> Result<(String, Hold)> {
    // `--pod new:NAME`: the pod first (it takes the network settings), and
    // nothing of it left if the container cannot be created.
    if let Some(name) = o.pod.as_deref().and_then(|p| p.strip_prefix("new:")) {
        let (pod, rest) = super::pods::new_for(engine, name, o)?;
        return create_held(engine, &rest).inspect_err(|_| {
            let _ = super::pods::remove(engine, &pod, true);
        });
    }
    // A pod's member: its shared namespaces are the infra container's,
    // and the pod cannot be removed while the member is being created.
    let (member, _pod_lock) = match &o.pod {
        Some(p) if !o.infra => {
            let (m, lock) = super::pods::membership(engine, p, o)?;
            (Some(m), Some(lock))
        }
        _ => (None, None),
    };
    let adjusted;
    let o = match &member {
        Some(m) => {
            adjusted = m.apply(o);
            &adjusted
        }
        None => o,
    };
    check_resources(engine, &o.resources)?;
    // The daemon's check (moby's translateWorkingDir), for every front end.
    if let Some(w) = o.workdir.as_deref().filter(|w| !w.is_empty() && !w.starts_with('/')) {
        return Err(bad(format!("the working directory '{w}' is invalid, it needs to be an absolute path")));
    }
    let images = engine.store()?;
    // The infra container has no image: an empty record and configuration.
    let (img, ic) = if o.infra {
        (crate::image::store::ImageRecord::default(), crate::image::config::ContainerConfig::default())
    } else {
        let img = images.resolve(&o.image)?;
        let ic = images.config(&img)?.config.unwrap_or_default();
        (img, ic)
    };
    let store = ContainerStore::open(&engine.paths)?;

    let id = names::new_id();
    let Process { entrypoint, cmd, env, hostname } = process(o, &ic, &id)?;
    let mut labels = ic.labels.clone().unwrap_or_default();
    for (k, v) in &o.labels {
        labels.insert(k.clone(), Value::String(v.clone()));
    }
    let name = container_name(o, &id)?;
    let seccomp_profile = checked_security(o)?;
    let network = match o.network.as_deref() {
        None | Some("bridge") | Some("default") => super::networks::default_network(engine)?,
        Some(n) => n.to_string(),
    };
    let mut exposed_ports = ic.exposed_ports.clone().unwrap_or_default();
    let net = super::networks::net_config(
        engine,
        &super::networks::NetFlags {
            network: &network,
            publish: &o.ports,
            publish_all: o.publish_all,
            expose: &o.expose,
            aliases: &o.network_aliases,
            ip: o.ip.as_deref(),
        },
        &mut exposed_ports,
    )?;
    let log_driver = o.log_driver.clone().unwrap_or_else(|| "json-file".into());
    let driver = crate::monitor::logs::Driver::parse(&log_driver).map_err(|e| bad(e.to_string()))?;
    let log_opts: Vec<String> = o.log_opts.iter().map(|(k, v)| format!("{k}={v}")).collect();
    crate::monitor::logs::LogOptions::parse_for(&driver, &log_opts).map_err(|e| bad(e.to_string()))?;
    let (userns, default_user) = checked_userns(engine, o, &img, &ic.user)?;
    let restart_policy = super::restart::policy_for(o.restart.clone(), o.auto_remove)?;
    let healthcheck = super::health::config_for(o.healthcheck.as_ref(), ic.healthcheck.as_ref());
    let health_on_failure = o.health_on_failure.map(|f| f.as_str()).unwrap_or("none").to_string();
    let stop_signal = o.stop_signal.clone().or(ic.stop_signal.clone()).unwrap_or_else(|| "SIGTERM".into());
    crate::util::signal_number(&stop_signal)?;
    let mut extra_hosts = Vec::new();
    for (h, ip) in &o.extra_hosts {
        if ip == "host-gateway" && crate::network::Mode::of(&network, &net).host_gateway().is_none() {
            return Err(bad(format!("--add-host {h}:{ip}: host-gateway needs the default network (slirp4netns)")));
        }
        extra_hosts.push(format!("{h}:{ip}"));
    }

    let image_volumes = ic.volumes.clone().unwrap_or_default();
    let (mounts, new_volumes) = super::volumes::container_mounts(engine, &o.mounts, &o.volumes_from, &image_volumes)?;
    let mut cfg = ContainerConfig {
        id: id.clone(),
        name,
        created: units::now_rfc3339(),
        image: img.id.clone(),
        image_name: o.image.clone(),
        layers: img.layers.clone(),
        entrypoint,
        cmd,
        env,
        working_dir: o.workdir.clone().unwrap_or(ic.working_dir.clone()),
        user: o.user.clone().unwrap_or(default_user),
        hostname: hostname.clone(),
        labels,
        tty: o.tty,
        open_stdin: o.open_stdin,
        stop_signal,
        stop_timeout: o.stop_timeout,
        exposed_ports,
        driver: crate::storage::driver::detect(engine.paths.rootless).name().into(),
        volumes: ic.volumes.clone().unwrap_or_default(),
        host: HostConfig {
            auto_remove: o.auto_remove,
            mounts,
            read_only: o.read_only,
            privileged: o.privileged,
            cap_add: o.cap_add.clone(),
            cap_drop: o.cap_drop.clone(),
            no_new_privileges: o.no_new_privileges,
            seccomp_profile,
            network_mode: network,
            init: o.init,
            log_driver,
            log_opts,
            ulimits: o.ulimits.clone(),
            userns,
            pid_mode: o.pid.clone().unwrap_or_default(),
            ipc_mode: member
                .as_ref()
                .and_then(|m| m.joined("ipc"))
                .or(o.ipc.clone())
                .unwrap_or_else(|| "private".into()),
            uts_mode: member.as_ref().and_then(|m| m.joined("uts")).or(o.uts.clone()).unwrap_or_default(),
            group_add: o.group_add.clone(),
            extra_hosts,
            dns: o.dns.clone(),
            dns_search: o.dns_search.clone(),
            dns_options: o.dns_options.clone(),
            sig_proxy: o.sig_proxy,
            detach_keys: o.detach_keys.clone().unwrap_or_default(),
            cidfile: o.cidfile.clone().unwrap_or_default(),
            resources: o.resources.clone(),
            restart_policy,
            net,
            pod: member.as_ref().map(|m| m.pod_id.clone()).or(o.pod.clone().filter(|_| o.infra)).unwrap_or_default(),
        },
        healthcheck,
        health_on_failure,
        infra: o.infra,
    };
    let hold = match store.create(&mut cfg, o.name.is_none()) {
        Ok(h) => h,
        Err(e) => {
            super::volumes::discard_created(engine, &new_volumes);
            return Err(e);
        }
    };
    if cfg.driver == "vfs" && !cfg.infra {
        // No overlay at all: the container gets its own flattened copy.
        let layers = img.layers.iter().map(|l| images.layer_dir(l).join("diff")).collect();
        let res = crate::storage::userns::run(crate::storage::userns::Request::Flatten {
            layers,
            dst: store.dir(&id).join("rootfs"),
        });
        if let Err(e) = res {
            let _ = store.remove(&id);
            super::volumes::discard_created(engine, &new_volumes);
            return Err(e);
        }
    }
    if let Err(e) = write_userdata(engine, &store, &cfg) {
        let _ = store.remove(&id);
        super::volumes::discard_created(engine, &new_volumes);
        return Err(e);
    }
    crate::events::container(&engine.paths, &cfg, "create", &[]);
    Ok((id, hold))
}

/// /etc/hosts, /etc/hostname and /etc/resolv.conf for the container.
fn write_userdata(engine: &Engine, store: &ContainerStore, cfg: &ContainerConfig) -> Result<()> {
    let d = store.dir(&cfg.id).join("userdata");
    let mode = crate::network::Mode::of(&cfg.host.network_mode, &cfg.host.net);
    let mut hosts = String::from("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
    for h in &cfg.host.extra_hosts {
        let (name, ip) =
            h.split_once(['=', ':']).ok_or_else(|| bad(format!("invalid --add-host {h:?}: use host:ip")))?;
        let ip = match ip {
            "host-gateway" => mode
                .host_gateway()
                .ok_or_else(|| bad(format!("--add-host {h}: host-gateway needs the default network (slirp4netns)")))?,
            ip => ip,
        };
        hosts.push_str(&format!("{ip}\t{name}\n"));
    }
    // On user networks the address is known once the container is plugged
    // in: the monitor adds the line then (network::set_own_address).
    if mode != crate::network::Mode::User {
        hosts.push_str(&format!("{}\t{}\n", mode.own_address(), cfg.hostname));
    }
    std::fs::write(d.join("hosts"), hosts).ctx(|| "write hosts".into())?;
    std::fs::write(d.join("hostname"), format!("{}\n", cfg.hostname)).ctx(|| "write hostname".into())?;
    let host_resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let h = &cfg.host;
    // User networks: the network's resolver on its gateway first (container
    // names), which forwards the rest to the host's resolvers.
    let mut dns = h.dns.clone();
    if mode == crate::network::Mode::User {
        let first = crate::network::start::attached_networks(&engine.paths, &cfg.host.net)?;
        if let Some((n, _)) = first.first() {
            dns.insert(0, n.gateway.clone());
        }
    }
    let resolv = crate::network::resolv_conf(&mode, &host_resolv, &dns, &h.dns_search, &h.dns_options);
    std::fs::write(d.join("resolv.conf"), resolv).ctx(|| "write resolv.conf".into())
}

/// Start a created (or exited) container: spawn its monitor, wait for it to
/// report that the container runs. Attached, the monitor copies the
/// container's streams to the ones given.
pub fn start(engine: &Engine, id: &str, o: StartOptions) -> Result<MonitorHandle> {
    let store = ContainerStore::open(&engine.paths)?;
    // Removed (pruned, `rm`) since the caller resolved it: say so.
    let gone = |e: Error| {
        if store.dir(id).join("container.json").exists() {
            e
        } else {
            Error::NoSuchContainer(id.to_string())
        }
    };
    // A pod's member joins the infra's namespaces: the infra runs first.
    if let Ok(c) = store.load(id) {
        if !c.config.host.pod.is_empty() && !c.config.infra {
            super::pods::ensure_infra(engine, &c.config.host.pod)?;
        }
    }
    let _hold = store.hold(id).map_err(gone)?;
    let _lock = store.lock_one(id).map_err(gone)?;
    let c = store.load(id)?;
    if c.state.status == Status::Running {
        return Err(Error::NotModified(format!("container {} is already running", c.config.name)));
    }
    crate::monitor::client::spawn(&engine.paths, &c.config, o)
}

/// Remove what a failed `run` left behind.
pub fn discard(engine: &Engine, id: &str) {
    if let Ok(store) = ContainerStore::open(&engine.paths) {
        let _ = store.remove(id);
    }
}

fn wait_until(deadline: Instant, mut f: impl FnMut() -> bool) -> bool {
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn is_running(store: &ContainerStore, id: &str) -> bool {
    store.load(id).map(|c| c.state.status == Status::Running).unwrap_or(false)
}

fn mark_stopped_by_user(store: &ContainerStore, id: &str) {
    if let Ok(c) = store.load(id) {
        let mut st = c.state;
        st.stopped_by_user = true;
        let _ = store.write_state(id, &st);
    }
}

/// `rcon stop`: the stop signal, then SIGKILL after the timeout.
pub fn stop(engine: &Engine, arg: &str, timeout: Option<i64>) -> Result<()> {
    let store = ContainerStore::open(&engine.paths)?;
    let id = store.resolve(arg)?;
    let c = store.load(&id)?;
    if c.state.status == Status::Restarting {
        return super::restart::cancel(&store, &id);
    }
    if c.state.status == Status::Paused {
        // Stopped processes would never see the stop signal.
        super::lifecycle::unpause(engine, &id)?;
        return stop(engine, &id, timeout);
    }
    if c.state.status != Status::Running {
        return Ok(());
    }
    mark_stopped_by_user(&store, &id);
    let t = timeout.or(c.config.stop_timeout).unwrap_or(10).max(0) as u64;
    let sig = crate::util::signal_number(&c.config.stop_signal)?;
    unsafe { libc::kill(c.state.pid as i32, sig) };
    if !wait_until(Instant::now() + Duration::from_secs(t), || !is_running(&store, &id)) {
        unsafe { libc::kill(c.state.pid as i32, libc::SIGKILL) };
        if !wait_until(Instant::now() + Duration::from_secs(10), || !is_running(&store, &id)) {
            return Err(Error::Other(format!("container {} did not stop after SIGKILL", c.config.name)));
        }
    }
    crate::events::container(&engine.paths, &c.config, "stop", &[]);
    Ok(())
}

pub fn kill(engine: &Engine, arg: &str, signal: &str) -> Result<()> {
    let store = ContainerStore::open(&engine.paths)?;
    let id = store.resolve(arg)?;
    let c = store.load(&id)?;
    let sig = crate::util::signal_number(signal)?;
    if !matches!(c.state.status, Status::Running | Status::Paused) {
        return Err(Error::NotRunning(arg.to_string()));
    }
    if sig == libc::SIGKILL || sig == libc::SIGTERM || sig == libc::SIGINT {
        mark_stopped_by_user(&store, &id);
    }
    if unsafe { libc::kill(c.state.pid as i32, sig) } != 0 {
        return Err(Error::Other(format!("kill container {arg}: {}", std::io::Error::last_os_error())));
    }
    crate::events::container(&engine.paths, &c.config, "kill", &[("signal", &sig.to_string())]);
    Ok(())
}

pub fn remove(engine: &Engine, arg: &str, force: bool) -> Result<String> {
    let store = ContainerStore::open(&engine.paths)?;
    // A damaged record is not an infra container we could know of: go on.
    let infra = store.resolve(arg).and_then(|id| store.load(&id)).ok().filter(|c| c.config.infra);
    if let Some(c) = infra {
        let pod = crate::pod::PodStore::open(&engine.paths)?.load(&c.config.host.pod).map(|p| p.name);
        if let Ok(pod) = pod {
            return Err(Error::Conflict(format!(
                "container {} is the infra container of pod {pod}: remove the pod with rcon pod rm {pod}",
                c.config.name
            )));
        }
    }
    remove_in_pod(engine, arg, force)
}

/// `remove`, also of a pod's infra container (for `pod rm`).
pub fn remove_in_pod(engine: &Engine, arg: &str, force: bool) -> Result<String> {
    let store = ContainerStore::open(&engine.paths)?;
    let id = store.resolve(arg)?;
    let c = store.load_any(&id)?;
    if c.damaged.is_some() {
        return remove_damaged(engine, &store, &c, arg, force);
    }
    if c.state.status == Status::Restarting {
        if !force {
            return Err(Error::ContainerRunning(arg.to_string()));
        }
        super::restart::cancel(&store, &id)?;
    }
    if c.state.status == Status::Paused {
        if !force {
            return Err(Error::ContainerRunning(arg.to_string()));
        }
        super::lifecycle::unpause(engine, &id)?;
        return remove(engine, &id, force);
    }
    if c.state.status == Status::Running {
        if !force {
            return Err(Error::ContainerRunning(arg.to_string()));
        }
        mark_stopped_by_user(&store, &id);
        unsafe { libc::kill(c.state.pid as i32, libc::SIGKILL) };
        wait_until(Instant::now() + Duration::from_secs(10), || !is_running(&store, &id));
        // --rm containers remove themselves when their monitor sees the exit.
        if c.config.host.auto_remove {
            wait_until(Instant::now() + Duration::from_secs(5), || !store.dir(&id).join("container.json").exists());
        }
    }
    let lock = store.lock()?;
    store.remove(&id)?;
    drop(lock);
    crate::events::container(&engine.paths, &c.config, "destroy", &[]);
    // What killed commands left goes with the next change (issue 12).
    let _ = store.sweep();
    Ok(id)
}

/// `rm` of a container whose record is damaged: its monitor is found from
/// what the state still says or, when that is damaged too, from /proc (its
/// command line names the container); SIGKILL to the monitor takes the
/// container along (PDEATHSIG), then the directory goes.
fn remove_damaged(engine: &Engine, store: &ContainerStore, c: &Container, arg: &str, force: bool) -> Result<String> {
    let id = &c.config.id;
    let st = &c.state;
    let mut monitors = crate::monitor::client::find_monitors(id);
    if st.monitor_pid != 0 && crate::state::process_start_time(st.monitor_pid) == Some(st.monitor_start) {
        monitors.push(st.monitor_pid);
    }
    monitors.sort_unstable();
    monitors.dedup();
    if !monitors.is_empty() {
        if !force {
            return Err(Error::Conflict(format!(
                "cannot remove container {arg}: its record is damaged and its monitor (pid {}) still runs: use rm -f",
                monitors[0]
            )));
        }
        for pid in &monitors {
            unsafe { libc::kill(*pid as i32, libc::SIGKILL) };
        }
        if st.pid != 0 && crate::state::process_start_time(st.pid) == Some(st.pid_start) {
            unsafe { libc::kill(st.pid as i32, libc::SIGKILL) };
        }
        let gone = wait_until(Instant::now() + Duration::from_secs(10), || {
            monitors.iter().all(|p| crate::monitor::client::find_monitors(id).iter().all(|m| m != p))
        });
        if !gone {
            return Err(Error::Other(format!("container {arg}: its monitor did not exit after SIGKILL")));
        }
    }
    let lock = store.lock()?;
    store.remove(id)?;
    drop(lock);
    crate::events::container(&engine.paths, &c.config, "destroy", &[]);
    let _ = store.sweep();
    Ok(id.clone())
}

/// `rcon wait`: block until the container stops; its exit code.
pub fn wait(engine: &Engine, arg: &str) -> Result<i32> {
    Ok(super::lifecycle::wait(engine, arg, "not-running", &super::Cancel::never())?.unwrap_or(-1))
}

/// Every container, the damaged ones as Dead placeholders.
pub fn list(engine: &Engine) -> Result<Vec<Container>> {
    Ok(ContainerStore::open(&engine.paths)?.listed())
}

pub fn get(engine: &Engine, arg: &str) -> Result<Container> {
    let store = ContainerStore::open(&engine.paths)?;
    let id = store.resolve(arg)?;
    store.load(&id)
}

pub fn rename(engine: &Engine, arg: &str, new: &str) -> Result<()> {
    if !names::valid_name(new) {
        return Err(bad(format!("Invalid container name ({new}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")));
    }
    let store = ContainerStore::open(&engine.paths)?;
    let id = store.resolve(arg)?;
    let old = store.load(&id)?.config.name;
    store.rename(&id, new)?;
    crate::events::container(&engine.paths, &store.load(&id)?.config, "rename", &[("oldName", &format!("/{old}"))]);
    Ok(())
}

/// `rcon container prune`: remove every stopped container, except those
/// held by a `create`/`start`/`run` in progress (Docker's daemon never
/// shows a half-created container to prune; our commands hold it). The
/// status is read again under the container's lock.
pub fn prune(engine: &Engine) -> Result<Vec<String>> {
    let store = ContainerStore::open(&engine.paths)?;
    let mut gone = Vec::new();
    let live = |s: &Status| matches!(s, Status::Running | Status::Paused | Status::Restarting);
    for c in store.all() {
        let id = &c.config.id;
        // An infra container goes with its pod (`pod rm`, `pod prune`).
        if live(&c.state.status) || c.config.infra {
            continue;
        }
        let Ok(Some(_claim)) = store.try_claim(id) else { continue };
        let Ok(_lock) = store.lock_one(id) else { continue };
        match store.load(id) {
            Ok(now) if !live(&now.state.status) => {}
            _ => continue, // started meanwhile, or removed by someone else
        }
        store.remove(id)?;
        crate::events::container(&engine.paths, &c.config, "destroy", &[]);
        gone.push(id.clone());
    }
    store.sweep()?;
    Ok(gone)
}

/// `rcon logs`: the container's log entries as `o` selects them, handed to
/// `emit` in order; with `o.follow`, until the container stops (or `emit`
/// fails: a client that went away). Rendering (`-t`, stream framing) is the
/// caller's: `monitor::logs::render`, or the API's multiplexed frames.
pub fn logs(
    engine: &Engine,
    arg: &str,
    o: &crate::monitor::logs::ReadOptions,
    emit: &mut dyn FnMut(&crate::monitor::logs::LogEntry) -> std::io::Result<()>,
    cancel: &super::Cancel,
) -> Result<()> {
    logs_opened(engine, arg, o, emit, cancel, &mut || {})
}

/// `logs`, calling `opened` once the log files are open (or the read has
/// failed before): from then on the entries are readable even if the
/// container is removed, as with dockerd, which holds the file open. The
/// API answers only then: docker-py's `run(remove=True)` removes the
/// container before it reads the logs it asked for.
pub fn logs_opened(
    engine: &Engine,
    arg: &str,
    o: &crate::monitor::logs::ReadOptions,
    emit: &mut dyn FnMut(&crate::monitor::logs::LogEntry) -> std::io::Result<()>,
    cancel: &super::Cancel,
    opened: &mut dyn FnMut(),
) -> Result<()> {
    use crate::monitor::logs::{self, LogError};
    let store = ContainerStore::open(&engine.paths)?;
    let id = store.resolve(arg)?;
    let c = store.load(&id)?;
    let driver = logs::Driver::parse(&c.config.host.log_driver).map_err(|e| bad(e.to_string()))?;
    let mut keep =
        || !cancel.is_cancelled() && store.load(&id).map(|c| c.state.status == Status::Running).unwrap_or(false);
    match logs::read_opened(&store.log_path(&id), driver, o, emit, &mut keep, opened) {
        Ok(()) => Ok(()),
        // The reader went away (`rcon logs c | head -1`, a closed API
        // connection): nothing more to do.
        Err(LogError::Emit(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(LogError::Emit(e)) => Err(Error::io("write the logs", e)),
        Err(e) => Err(bad(e.to_string())),
    }
}

/// Docker's "Up 5 seconds", "Exited (0) 3 minutes ago", "Created".
pub fn status_text(c: &Container) -> String {
    let now = now_secs();
    let t = |s: &str| units::parse_rfc3339(s).map(|x| x.0).unwrap_or(now);
    match c.state.status {
        Status::Running => {
            let up = units::human_duration(Duration::from_secs((now - t(&c.state.started_at)).max(0) as u64));
            match &c.health {
                Some(h) => format!("Up {up} ({})", h.status_text()),
                None => format!("Up {up}"),
            }
        }
        Status::Exited if !c.state.started_at.is_empty() || !c.state.finished_at.is_empty() => {
            format!("Exited ({}) {}", c.state.exit_code, units::since(t(&c.state.finished_at), now))
        }
        Status::Exited | Status::Created => "Created".into(),
        Status::Paused => format!(
            "Up {} (Paused)",
            units::human_duration(Duration::from_secs((now - t(&c.state.started_at)).max(0) as u64))
        ),
        Status::Restarting => {
            format!("Restarting ({}) {}", c.state.exit_code, units::since(t(&c.state.finished_at), now))
        }
        Status::Dead => "Dead".into(),
        s => s.as_str().to_string(),
    }
}

/// `rcon inspect` for a container, in Docker's shape.
pub fn inspect(engine: &Engine, arg: &str) -> Result<Value> {
    let store = ContainerStore::open(&engine.paths)?;
    let id = store.resolve(arg)?;
    let c = store.load(&id)?;
    let cfg = &c.config;
    let st = &c.state;
    let dir = store.dir(&id);
    let zero = "0001-01-01T00:00:00Z".to_string();
    let mounts = super::volumes::inspect_mounts(engine, cfg);
    let path = cfg.entrypoint.first().or(cfg.cmd.first()).cloned().unwrap_or_default();
    let args: Vec<String> = cfg.entrypoint.iter().chain(cfg.cmd.iter()).skip(1).cloned().collect();
    let images = engine.store()?;
    let lowers: Vec<String> =
        cfg.layers.iter().rev().map(|l| images.layer_dir(l).join("diff").display().to_string()).collect();
    let ulimits: Vec<Value> =
        cfg.host.ulimits.iter().map(|u| json!({"Name": u.name, "Soft": u.soft, "Hard": u.hard})).collect();
    // Docker's Go slices: null when empty.
    let list = |l: &Vec<String>| if l.is_empty() { Value::Null } else { json!(l) };
    // Config.Env as Docker keeps it: without what is set at start (HOSTNAME, TERM for -t).
    let env: Vec<&String> =
        cfg.env.iter().filter(|e| !(e.starts_with("HOSTNAME=") || cfg.tty && e.as_str() == "TERM=xterm")).collect();
    let host = json!({
        "Binds": super::volumes::inspect_binds(engine, cfg),
        "ContainerIDFile": cfg.host.cidfile,
        "LogConfig": {"Type": cfg.host.log_driver, "Config": cfg.host.log_opts.iter().filter_map(|o| o.split_once('=')).map(|(k, v)| (k.to_string(), Value::String(v.to_string()))).collect::<Map<String, Value>>()},
        "NetworkMode": cfg.host.network_mode,
        "RestartPolicy": {"Name": if cfg.host.restart_policy.is_none() { "no" } else { cfg.host.restart_policy.name.as_str() }, "MaximumRetryCount": cfg.host.restart_policy.maximum_retry_count},
        "PortBindings": crate::network::ports::bindings_json(&cfg.host.net.ports),
        "PublishAllPorts": cfg.host.net.publish_all,
        "AutoRemove": cfg.host.auto_remove,
        "VolumeDriver": "",
        "VolumesFrom": null,
        "CapAdd": list(&cfg.host.cap_add),
        "CapDrop": list(&cfg.host.cap_drop),
        "CgroupnsMode": "host",
        "Dns": list(&cfg.host.dns),
        "DnsOptions": list(&cfg.host.dns_options),
        "DnsSearch": list(&cfg.host.dns_search),
        "ExtraHosts": list(&cfg.host.extra_hosts),
        "GroupAdd": list(&cfg.host.group_add),
        "IpcMode": cfg.host.ipc_mode,
        "PidMode": cfg.host.pid_mode,
        "UTSMode": cfg.host.uts_mode,
        "Cgroup": "",
        "Links": null,
        "OomScoreAdj": 0,
        "UsernsMode": cfg.host.userns,
        "ShmSize": 64 << 20,
        "Runtime": "rcon",
        "ConsoleSize": [0, 0],
        "Isolation": "",
        "CgroupParent": "",
        "BlkioWeight": 0,
        "BlkioWeightDevice": null,
        "BlkioDeviceReadBps": null,
        "BlkioDeviceWriteBps": null,
        "BlkioDeviceReadIOps": null,
        "BlkioDeviceWriteIOps": null,
        "CpuPeriod": 0,
        "CpuQuota": 0,
        "CpuRealtimePeriod": 0,
        "CpuRealtimeRuntime": 0,
        "CpusetMems": "",
        "Devices": null,
        "DeviceCgroupRules": null,
        "DeviceRequests": null,
        "KernelMemory": 0,
        "KernelMemoryTCP": 0,
        "MemoryReservation": 0,
        "MemorySwappiness": null,
        "OomKillDisable": false,
        "CpuCount": 0,
        "CpuPercent": 0,
        "IOMaximumIOps": 0,
        "IOMaximumBandwidth": 0,
        "MaskedPaths": if cfg.host.privileged { Value::Null } else { json!(crate::runtime::rootfs::MASKED) },
        "ReadonlyPaths": if cfg.host.privileged { Value::Null } else { json!(crate::runtime::rootfs::READONLY) },
        "Privileged": cfg.host.privileged,
        "ReadonlyRootfs": cfg.host.read_only,
        "SecurityOpt": if cfg.host.no_new_privileges { json!(["no-new-privileges"]) } else { Value::Null },
        "Memory": cfg.host.resources.memory.unwrap_or(0),
        "MemorySwap": cfg.host.resources.memory_swap.unwrap_or(0),
        "NanoCpus": cfg.host.resources.cpu_quota.map(|q| q * 10_000).unwrap_or(0),
        "CpuShares": cfg.host.resources.cpu_shares.unwrap_or(0),
        "CpusetCpus": cfg.host.resources.cpuset_cpus.clone().unwrap_or_default(),
        "PidsLimit": cfg.host.resources.pids_limit,
        "Ulimits": if ulimits.is_empty() { Value::Null } else { json!(ulimits) },
    });
    let mut v = json!({
        "Id": id,
        "Created": cfg.created,
        "Path": path,
        "Args": args,
        "State": {
            "Status": st.status.as_str(),
            "Running": st.status == Status::Running,
            "Paused": st.status == Status::Paused,
            "Restarting": st.status == Status::Restarting,
            "OOMKilled": st.oom_killed,
            "Dead": st.status == Status::Dead,
            "Pid": st.pid,
            "ExitCode": st.exit_code,
            "Error": st.error,
            "StartedAt": if st.started_at.is_empty() { zero.clone() } else { st.started_at.clone() },
            "FinishedAt": if st.finished_at.is_empty() { zero.clone() } else { st.finished_at.clone() },
        },
        "Image": cfg.image,
        "ResolvConfPath": dir.join("userdata/resolv.conf"),
        "HostnamePath": dir.join("userdata/hostname"),
        "HostsPath": dir.join("userdata/hosts"),
        "LogPath": store.log_path(&id),
        "Name": format!("/{}", cfg.name),
        "RestartCount": st.restart_count,
        "Driver": if cfg.driver.is_empty() { "overlay" } else { cfg.driver.as_str() },
        "Platform": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ExecIDs": null,
        "HostConfig": host,
        "GraphDriver": {"Name": "overlay", "Data": {
            "LowerDir": lowers.join(":"),
            "UpperDir": dir.join("upper"),
            "WorkDir": dir.join("work"),
            "MergedDir": dir.join("merged"),
        }},
        "Mounts": mounts,
        "Config": {
            "Hostname": cfg.hostname,
            "Domainname": "",
            "User": cfg.user,
            "AttachStdin": cfg.open_stdin,
            "AttachStdout": true,
            "AttachStderr": true,
            "ExposedPorts": if cfg.exposed_ports.is_empty() { Value::Null } else { Value::Object(cfg.exposed_ports.clone()) },
            "Tty": cfg.tty,
            "OpenStdin": cfg.open_stdin,
            "StdinOnce": cfg.open_stdin,
            "Env": env,
            "Cmd": cfg.cmd,
            "Image": cfg.image_name,
            "Volumes": if cfg.volumes.is_empty() { Value::Null } else { Value::Object(cfg.volumes.clone()) },
            "WorkingDir": cfg.working_dir,
            "Entrypoint": if cfg.entrypoint.is_empty() { Value::Null } else { json!(cfg.entrypoint) },
            "OnBuild": null,
            "Labels": cfg.labels,
        },
        "NetworkSettings": super::networks::inspect_settings(engine, &store, &c),
    });
    // Fields Go omits when empty (omitempty).
    let tmpfs = super::volumes::inspect_tmpfs(cfg);
    if !tmpfs.is_empty() {
        v["HostConfig"]["Tmpfs"] = Value::Object(tmpfs);
    }
    if cfg.host.init {
        v["HostConfig"]["Init"] = json!(true);
    }
    // The default is not recorded, so SIGTERM counts as the default.
    if !cfg.stop_signal.is_empty() && cfg.stop_signal != "SIGTERM" {
        v["Config"]["StopSignal"] = json!(cfg.stop_signal);
    }
    if let Some(t) = cfg.stop_timeout {
        v["Config"]["StopTimeout"] = json!(t);
    }
    super::health::add_to_inspect(&mut v, &c);
    Ok(v)
}

/// Set the terminal size of a `-t` container: its console is the first
/// pty of its own devpts (the kernel tells the foreground process group
/// with SIGWINCH).
pub fn resize(engine: &Engine, arg: &str, rows: u16, cols: u16) -> Result<()> {
    let c = get(engine, arg)?;
    if c.state.status != Status::Running {
        return Err(Error::NotRunning(arg.to_string()));
    }
    if !c.config.tty {
        return Ok(());
    }
    let path = format!("/proc/{}/root/dev/pts/0", c.state.pid);
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open(&path)
        .map_err(|e| Error::io(format!("open the terminal of container {arg}"), e))?;
    let ws = libc::winsize { ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 };
    if unsafe { libc::ioctl(f.as_raw_fd(), libc::TIOCSWINSZ, &ws) } != 0 {
        return Err(Error::io(format!("resize the terminal of container {arg}"), std::io::Error::last_os_error()));
    }
    Ok(())
}

/// `rcon top`: the host's `ps` output for the container's processes (Docker
/// runs ps on the host and keeps the rows whose PID is in the container).
pub fn top(engine: &Engine, arg: &str, ps_args: &[String]) -> Result<(Vec<String>, Vec<Vec<String>>)> {
    let c = get(engine, arg)?;
    if c.state.status != Status::Running {
        return Err(Error::NotRunning(arg.to_string()));
    }
    let ns = std::fs::read_link(format!("/proc/{}/ns/pid", c.state.pid))
        .map_err(|e| Error::io("read the container's pid namespace", e))?;
    let mut pids = std::collections::HashSet::new();
    for e in std::fs::read_dir("/proc").map_err(|e| Error::io("read /proc", e))?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Ok(pid) = name.parse::<u32>() {
            if std::fs::read_link(format!("/proc/{pid}/ns/pid")).ok().as_ref() == Some(&ns) {
                pids.insert(pid.to_string());
            }
        }
    }
    let args: Vec<String> = if ps_args.is_empty() { vec!["-ef".into()] } else { ps_args.to_vec() };
    let out = std::process::Command::new("ps").args(&args).output().map_err(|e| Error::io("run ps", e))?;
    if !out.status.success() {
        return Err(bad(format!("ps {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim())));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap_or("").split_whitespace().map(String::from).collect();
    let pid_col = header
        .iter()
        .position(|h| h == "PID")
        .ok_or_else(|| bad("ps output has no PID column: include pid in the ps options".into()))?;
    let mut rows = Vec::new();
    for l in lines {
        // The last column (command) may contain spaces.
        let fields: Vec<&str> = l.split_whitespace().collect();
        if fields.len() < header.len() || !pids.contains(fields[pid_col]) {
            continue;
        }
        let mut row: Vec<String> = fields[..header.len() - 1].iter().map(|s| s.to_string()).collect();
        row.push(fields[header.len() - 1..].join(" "));
        rows.push(row);
    }
    Ok((header, rows))
}

/// Bytes in a container's writable layer (Docker's SizeRw). Directories the
/// container made unreadable to us are skipped.
pub fn writable_size(engine: &Engine, id: &str) -> u64 {
    ContainerStore::open(&engine.paths).map(|s| crate::util::tree_size(&s.dir(id).join("upper"))).unwrap_or(0)
}
