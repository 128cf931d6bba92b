//! The launch plan: everything a container's init needs, computed by the
//! monitor from the container's record before clone (the child should
//! only do system calls): the root file system's layers and mounts
//! (volumes resolved), the process, its identity and security, the
//! namespaces to create or join, the network helper and the user networks.
//! It reads the records of the layers below (container, image, volume,
//! network); the runtime (`runtime::spawn`) carries it out.

use std::os::fd::RawFd;

use crate::container::{ContainerConfig, ContainerStore};
use crate::error::{Error, Result};
use crate::image::store::Store;
use crate::paths::Paths;
use crate::runtime;
use crate::storage::userns::IdMap;

/// Everything the child needs, computed in the monitor before clone (the
/// child should only do system calls).
pub fn plan(
    paths: &Paths,
    store: &ContainerStore,
    cfg: &ContainerConfig,
    stdio: [RawFd; 3],
    console_socket: Option<RawFd>,
) -> Result<runtime::spawn::Launch> {
    let images = Store::open(paths)?;
    let dir = store.dir(&cfg.id);
    let rootless = paths.rootless;
    // Rootless, every container gets a user namespace: "host" means the
    // store's mapping (podman's meaning), keep-id a shifted one over shifted
    // copies of the layers.
    let keep_id = rootless && cfg.host.userns == "keep-id";
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    let idmap = match (rootless, keep_id) {
        (false, _) => None,
        (true, false) => Some(IdMap::for_current_user()),
        (true, true) => Some(IdMap::for_current_user().keep_id(uid, gid).ok_or_else(|| {
            Error::Other("--userns=keep-id needs a subordinate id range larger than your ids".into())
        })?),
    };
    let layers_root = if keep_id { images.keep_id_root(uid, gid) } else { images.root().join("layers") };
    let tty_gid_mapped = idmap.as_ref().map(|m| m.host_gid(5).is_some()).unwrap_or(true);
    let h = &cfg.host;
    let (caps, seccomp, rlimits) = runtime::security(paths, h, h.privileged)?;
    let argv: Vec<String> = cfg.entrypoint.iter().chain(cfg.cmd.iter()).cloned().collect();
    if argv.is_empty() && !cfg.infra {
        return Err(Error::InvalidArgument(format!(
            "no command specified for container {}: the image has no CMD or ENTRYPOINT, give one after the image name",
            &cfg.id[..12]
        )));
    }
    let empty = paths.data.join("empty");
    let _ = std::fs::create_dir_all(&empty);
    let (mut join, user_nets, shared_dir) = network_namespaces(paths, store, cfg, idmap.as_ref())?;
    let joins_ipc = join_namespace(store, &h.ipc_mode, "ipc", rootless, &mut join)?;
    let joins_uts = join_namespace(store, &h.uts_mode, "uts", rootless, &mut join)?;
    let pause = cfg.infra.then(|| {
        let program = std::ffi::CString::new(crate::util::helper_binary().as_os_str().as_encoded_bytes())
            .unwrap_or_else(|_| c"/proc/self/exe".to_owned());
        (program, cfg.cmd.first().cloned().unwrap_or_else(|| "rcon-pause".into()))
    });
    let etc_dir = shared_dir.as_ref().map(|(d, _)| d.clone()).unwrap_or_else(|| dir.clone());
    let hostname = shared_dir.map(|(_, h)| h).unwrap_or_else(|| cfg.hostname.clone());
    Ok(runtime::spawn::Launch {
        rootfs: runtime::rootfs::RootfsPlan {
            lowers: cfg.layers.iter().rev().map(|l| format!("{}/diff", crate::image::store::hex_of(l))).collect(),
            layers_root: layers_root.clone(),
            upper: dir.join("upper"),
            work: dir.join("work"),
            merged: dir.join("merged"),
            etc_files: vec![
                (etc_dir.join("userdata/hosts"), "hosts"),
                (etc_dir.join("userdata/hostname"), "hostname"),
                (etc_dir.join("userdata/resolv.conf"), "resolv.conf"),
            ],
            mounts: crate::volume::mounts::launch_mounts(paths, &h.mounts)?,
            read_only: h.read_only,
            privileged: h.privileged,
            userns: idmap.is_some(),
            own_netns: h.network_mode != "host",
            own_pidns: h.pid_mode != "host",
            tty_gid_mapped,
            empty_lower: empty.clone(),
            vfs_root: (cfg.driver == "vfs").then(|| dir.join("rootfs")),
            fuse: cfg.driver == "fuse-overlayfs",
        },
        process: runtime::spawn::Process {
            argv,
            env: cfg.env.clone(),
            cwd: cfg.working_dir.clone(),
            user: cfg.user.clone(),
            group_add: h.group_add.clone(),
            stdio,
            tty: cfg.tty,
            caps,
            no_new_privs: h.no_new_privileges,
            seccomp,
            rlimits,
            single_id: idmap.as_ref().is_some_and(|m| m.is_single()),
            init: h.init,
        },
        hostname,
        console_socket,
        idmap,
        new_net: h.network_mode != "host",
        new_pid: h.pid_mode != "host",
        new_ipc: h.ipc_mode != "host" && !joins_ipc,
        new_uts: h.uts_mode != "host" && !joins_uts,
        fuse_options: (cfg.driver == "fuse-overlayfs" && !cfg.infra).then(|| {
            let lowers: Vec<String> = cfg
                .layers
                .iter()
                .rev()
                .map(|l| layers_root.join(crate::image::store::hex_of(l)).join("diff").display().to_string())
                .collect();
            let lowers = if lowers.is_empty() { empty.display().to_string() } else { lowers.join(":") };
            format!("lowerdir={lowers},upperdir={},workdir={}", dir.join("upper").display(), dir.join("work").display())
        }),
        cgroup: if h.resources.is_empty() { None } else { Some((cfg.id.clone(), h.resources.clone())) },
        network: crate::network::start::plan(store, cfg, user_nets.as_ref().map(|u| u.requests.as_slice()))?,
        join,
        user_nets,
        pause,
    })
}

/// The container `target` whose namespaces another joins; it must be
/// running (its pid is then known).
fn running(store: &ContainerStore, target: &str, what: &str) -> Result<crate::container::Container> {
    let t = store.load(&store.resolve(target)?)?;
    if t.state.status != crate::container::Status::Running || t.state.pid == 0 {
        return Err(Error::InvalidArgument(format!(
            "cannot join the {what} of container {target}: it is not running: start it first"
        )));
    }
    Ok(t)
}

fn open_ns(pid: u32, ns: &str) -> Result<std::os::fd::OwnedFd> {
    let p = format!("/proc/{pid}/ns/{ns}");
    Ok(std::fs::File::open(&p).map_err(|e| Error::io(format!("open {p}"), e))?.into())
}

/// `--ipc`/`--uts container:NAME` (how a pod's containers share the
/// infra's): enter that container's namespace and, rootless, the user
/// namespace that owns it (setns needs privilege there). Whether it joins.
fn join_namespace(
    store: &ContainerStore,
    mode: &str,
    ns: &str,
    rootless: bool,
    join: &mut Option<runtime::spawn::Join>,
) -> Result<bool> {
    let Some(target) = mode.strip_prefix("container:") else { return Ok(false) };
    let pid = running(store, target, if ns == "ipc" { "IPC namespace" } else { "UTS namespace" })?.state.pid;
    let j = join.get_or_insert_with(|| runtime::spawn::Join {
        userns: None,
        netns: None,
        ipcns: None,
        utsns: None,
        map: None,
    });
    if rootless && j.userns.is_none() {
        j.userns = Some(open_ns(pid, "user")?);
    }
    let fd = Some(open_ns(pid, ns)?);
    if ns == "ipc" {
        j.ipcns = fd;
    } else {
        j.utsns = fd;
    }
    Ok(true)
}

type NetNamespaces =
    (Option<runtime::spawn::Join>, Option<runtime::spawn::UserNets>, Option<(std::path::PathBuf, String)>);

/// What a container's network mode needs beyond its own new namespace: on
/// user networks, the holder (and, rootless, its user namespace to nest in);
/// with `container:NAME`, that container's namespaces, /etc files and
/// hostname.
fn network_namespaces(
    paths: &Paths,
    store: &ContainerStore,
    cfg: &ContainerConfig,
    idmap: Option<&IdMap>,
) -> Result<NetNamespaces> {
    let open = |p: String| -> Result<std::os::fd::OwnedFd> {
        Ok(std::fs::File::open(&p).map_err(|e| Error::io(format!("open {p}"), e))?.into())
    };
    match crate::network::Mode::of(&cfg.host.network_mode, &cfg.host.net) {
        crate::network::Mode::User => {
            let requests = crate::network::start::attach_requests(paths, cfg)?;
            let client = crate::network::holder::Client::connect(paths)?;
            let join = match idmap {
                Some(map) => Some(runtime::spawn::Join {
                    userns: Some(open(client.userns().display().to_string())?),
                    netns: None,
                    ipcns: None,
                    utsns: None,
                    map: Some(map.relative_to(&IdMap::for_current_user()).ok_or_else(|| {
                        Error::Other("the container's id mapping does not fit in the user networks' namespace".into())
                    })?),
                }),
                None => None,
            };
            let user_nets = runtime::spawn::UserNets {
                client: std::cell::RefCell::new(client),
                requests,
                hosts: store.dir(&cfg.id).join("userdata/hosts"),
                hostname: cfg.hostname.clone(),
            };
            Ok((join, Some(user_nets), None))
        }
        crate::network::Mode::Container(target) => {
            let t = running(store, &target, "network")?;
            let pid = t.state.pid;
            let join = runtime::spawn::Join {
                userns: if idmap.is_some() { Some(open_ns(pid, "user")?) } else { None },
                netns: Some(open_ns(pid, "net")?),
                ipcns: None,
                utsns: None,
                map: None,
            };
            Ok((Some(join), None, Some((store.dir(&t.config.id), t.config.hostname.clone()))))
        }
        _ => Ok((None, None, None)),
    }
}
