//! Issue 17: `rcon buildx` as scripts written for `docker buildx` use it:
//! build (build's flags plus --load, --platform of the host, --progress,
//! --cache-from/--cache-to type=local), version, ls, inspect.

use crate::build::context;
use crate::common::*;

fn platform() -> String {
    format!("linux/{}", fixtures::host_arch())
}

both_modes!(buildx_build_loads_into_the_store, |t| {
    t.load_busybox("busybox");
    let dir = context(t, "ctx", &[(
        "Dockerfile",
        "FROM busybox\nARG TARGETPLATFORM\nRUN --mount=type=cache,target=/cache echo \"on $TARGETPLATFORM\" > /on\nCMD cat /on\n",
    )]);
    let d = dir.to_str().unwrap();
    let p = platform();
    let r = t.rcon(["buildx", "build", "--load", "--platform", &p, "--progress", "plain", "-t", "bx:1", d]);
    r.ok();
    // Progress goes to stderr, as buildx writes it; stdout stays empty.
    assert_eq!(r.stdout, "", "{}", r.stderr);
    assert!(r.stderr.contains("Successfully tagged bx:1"), "{}", r.stderr);
    assert_eq!(t.rcon(["run", "--rm", "bx:1"]).ok(), format!("on {p}\n"));
    // -q: only the image id, on stdout.
    let r = t.rcon(["buildx", "build", "-q", d]);
    let id = r.ok().trim().to_string();
    assert!(id.starts_with("sha256:") && id.len() == 71, "{id:?}");
    assert_eq!(t.rcon(["image", "inspect", "--format", "{{.Id}}", "bx:1"]).ok().trim(), id);
});

both_modes!(buildx_local_cache_moves_to_another_store, |t| {
    t.load_busybox("busybox");
    let dir = context(t, "ctx", &[("Dockerfile", "FROM busybox\nRUN echo $RANDOM > /made\nENV X=1\nCMD cat /made\n")]);
    let d = dir.to_str().unwrap();
    let cache = t.path("cache");
    let to = format!("type=local,dest={}", cache.display());
    let from = format!("type=local,src={}", cache.display());
    // A cache directory that is not there yet: a note, and the build goes on.
    let r = t.rcon(["buildx", "build", "--cache-from", &from, "--cache-to", &to, "-t", "c:1", d]);
    r.ok();
    assert!(r.stderr.contains("no rcon build cache there"), "{}", r.stderr);
    let made = t.rcon(["run", "--rm", "c:1"]).ok().to_string();
    // Another store (a fresh user environment) builds from that cache: every
    // step is a hit, RUN's output is the exported one.
    let other = TestEnv::new(t.mode);
    other.load_busybox("busybox");
    let r = other.rcon(["buildx", "build", "--cache-from", &from, "-t", "c:2", d]);
    r.ok();
    assert_eq!(crate::build::cache_hits(&r.stderr), [2, 3, 4], "{}", r.stderr);
    assert_eq!(other.rcon(["run", "--rm", "c:2"]).ok(), made);
    // Without the cache that store would have run the step again.
    let third = TestEnv::new(t.mode);
    third.load_busybox("busybox");
    let r = third.rcon(["buildx", "build", "-t", "c:3", d]);
    assert_eq!(crate::build::cache_hits(&r.stderr), Vec::<usize>::new(), "{}", r.stderr);
});

both_modes!(buildx_refuses_what_it_cannot_do, |t| {
    t.load_busybox("busybox");
    let dir = context(t, "ctx", &[("Dockerfile", "FROM busybox\n")]);
    let d = dir.to_str().unwrap();
    let other = if fixtures::host_arch() == "s390x" { "linux/amd64" } else { "linux/s390x" };
    let p = platform();
    let r = t.rcon(["buildx", "build", "--platform", &format!("{p},{other}"), d]);
    r.fails(125, &format!("--platform {other}: rcon builds for the host platform ({p}) only"));
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    t.rcon(["buildx", "build", "--push", "-t", "x", d])
        .fails(125, "--push is not supported: build with -t NAME, then rcon push NAME");
    t.rcon(["buildx", "build", "--cache-to", "type=registry,ref=r/c", d])
        .fails(125, "cache type registry is not supported");
    t.rcon(["buildx", "build", "--cache-from", "user/app:cache", d]).fails(125, "cache type registry is not supported");
    t.rcon(["buildx", "build", "--cache-to", "type=local", d]).fails(125, "type=local needs dest=DIR");
    t.rcon(["buildx", "build", "--output", "type=tar,dest=x.tar", d]).fails(125, "only type=docker");
    t.rcon(["buildx", "build", "--builder", "other", d])
        .fails(125, "builder \"other\": rcon has one builder, \"default\"");
    t.rcon(["buildx", "inspect", "other"]).fails(125, "builder \"other\"");
});

both_modes!(buildx_version_ls_inspect, |t| {
    let v = t.rcon(["buildx", "version"]).ok().to_string();
    let f: Vec<&str> = v.split_whitespace().collect();
    assert_eq!(f.len(), 3, "module, version, revision: {v:?}");
    assert!(f[1].starts_with('v'), "{v:?}");
    let p = platform();
    let ls = t.rcon(["buildx", "ls"]).ok().to_string();
    let lines: Vec<&str> = ls.lines().collect();
    assert_eq!(lines.len(), 3, "{ls}");
    let head: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(head, ["NAME/NODE", "DRIVER/ENDPOINT", "STATUS", "BUILDKIT", "PLATFORMS"]);
    assert_eq!(lines[1].split_whitespace().collect::<Vec<_>>(), ["default*", "docker"]);
    let node: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!((node[0], node[1], node[2], node[3], node[4]), ("\\_", "default", "\\_", "default", "running"));
    assert_eq!(node.last(), Some(&p.as_str()));
    // The columns line up under their headings, as buildx's tabwriter does.
    assert_eq!(lines[2].find("running"), lines[0].find("STATUS"), "{ls}");
    let i = t.rcon(["buildx", "inspect", "--bootstrap"]).ok().to_string();
    for want in ["Name:          default\n", "Driver:        docker\n", "\nNodes:\n", "Status:           running\n"] {
        assert!(i.contains(want), "{want:?} in {i}");
    }
    assert!(i.contains(&format!("Platforms:        {p}\n")), "{i}");
    assert_eq!(t.rcon(["buildx", "inspect", "default"]).ok(), i);
});
