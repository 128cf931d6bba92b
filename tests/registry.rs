//! pull, push, login, logout, search and manifest lists against the real
//! distribution registry (Debian's docker-registry) on loopback, plus a
//! token proxy and a misbehaving registry of our own for what the real one
//! cannot show.

use std::collections::HashMap;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::common::fixtures::{self, layer_tar, E};
use crate::common::registry::*;
use crate::common::{wait_for, Mode, TestEnv};

fn image_id(t: &TestEnv, name: &str) -> String {
    t.rcon(["image", "inspect", "--format", "{{.Id}}", name]).ok().trim().to_string()
}

/// The store holds no image, no layer and no scratch.
fn assert_store_empty(t: &TestEnv) {
    assert_eq!(t.rcon(["images", "-aq"]).ok().trim(), "", "an image was stored");
    let data = t.data.join("rcon");
    for d in ["layers", "tmp"] {
        let left: Vec<_> =
            std::fs::read_dir(data.join(d)).map(|r| r.flatten().map(|e| e.file_name()).collect()).unwrap_or_default();
        assert!(left.is_empty(), "{d} not empty: {left:?}");
    }
}

both_modes!(push_then_pull_round_trip, |t| {
    let reg = Registry::start();
    let name = format!("{}/test/bb:1", reg.host);
    let id = t.load_busybox("bb:1");
    t.rcon(["tag", "bb:1", &name]).ok();
    let out = t.rcon(["push", &name]).ok().to_string();
    assert!(out.contains(&format!("The push refers to repository [{}/test/bb]", reg.host)), "{out}");
    assert!(out.contains(": Pushed"), "{out}");
    let digest = out
        .lines()
        .find_map(|l| l.strip_prefix("1: digest: "))
        .expect("digest line")
        .split(' ')
        .next()
        .unwrap()
        .to_string();
    // A second push finds every blob in place.
    let again = t.rcon(["push", &name]).ok().to_string();
    assert!(again.contains("Layer already exists") && !again.contains(": Pushed"), "{again}");
    // skopeo sees what we pushed.
    let sk =
        Command::new("skopeo").args(["inspect", "--tls-verify=false", &format!("docker://{name}")]).output().unwrap();
    assert!(sk.status.success(), "{}", String::from_utf8_lossy(&sk.stderr));
    let v: Value = serde_json::from_slice(&sk.stdout).unwrap();
    assert_eq!(v["Digest"], digest.as_str());
    let raw = Command::new("skopeo")
        .args(["inspect", "--raw", "--config", "--tls-verify=false", &format!("docker://{name}")])
        .output()
        .unwrap();
    assert_eq!(fixtures::sha256(&raw.stdout), id, "the registry holds our config byte for byte");

    // Another store pulls it, runs it, and records the digest.
    let u = TestEnv::new(t.mode);
    let pulled = u.rcon(["pull", &name]).ok().to_string();
    assert!(pulled.contains("Pull complete"), "{pulled}");
    assert!(pulled.contains(&format!("Digest: {digest}")), "{pulled}");
    assert!(pulled.contains(&format!("Status: Downloaded newer image for {name}")), "{pulled}");
    assert_eq!(pulled.lines().last().unwrap(), name);
    assert_eq!(image_id(&u, &name), id);
    let rd = u.rcon(["image", "inspect", "--format", "{{json .RepoDigests}}", &name]).ok().to_string();
    assert!(rd.contains(&format!("{}/test/bb@{digest}", reg.host)), "{rd}");
    assert_eq!(u.rcon(["run", "--rm", &name, "echo", "pulled"]).ok(), "pulled\n");
    // Both ends wrote image events.
    let ev = |e: &TestEnv| {
        // --until now: a time in the future would follow until then.
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
        let until = format!("{}.{:09}", now.as_secs(), now.subsec_nanos());
        e.rcon([
            "events",
            "--since",
            "0",
            "--until",
            &until,
            "--filter",
            "type=image",
            "--format",
            "{{.Action}} {{.Actor.ID}}",
        ])
        .ok()
        .to_string()
    };
    assert!(ev(t).contains(&format!("push {name}")), "{}", ev(t));
    assert!(ev(&u).contains(&format!("pull {name}")), "{}", ev(&u));
    // Pulling again changes nothing.
    let up = u.rcon(["pull", &name]).ok().to_string();
    assert!(up.contains("Status: Image is up to date"), "{up}");
    // -q prints the name only.
    assert_eq!(u.rcon(["pull", "-q", &name]).ok(), format!("{name}\n"));
    // By digest: no tag, the digest recorded.
    let byd = format!("{}/test/bb@{digest}", reg.host);
    let w = TestEnv::new(t.mode);
    w.rcon(["pull", &byd]).ok();
    assert_eq!(image_id(&w, &byd), id);
    // OCI format push, and the repository mount from another repository.
    let other = format!("{}/other/bb:oci", reg.host);
    t.rcon(["tag", "bb:1", &other]).ok();
    let o = t.rcon(["push", "--format", "oci", &other]).ok().to_string();
    assert!(o.contains("Mounted from") || o.contains("Layer already exists"), "{o}");
    let m = t.rcon(["manifest", "inspect", &other]).ok().to_string();
    assert!(m.contains("application/vnd.oci.image.manifest.v1+json"), "{m}");
    assert!(m.contains("application/vnd.oci.image.layer.v1.tar+gzip"), "{m}");
});

both_modes!(images_pushed_by_skopeo_pull_and_run, |t| {
    let reg = Registry::start();
    let archive = fixtures::two_layer_archive(&t.dir, &[], "from-skopeo");
    let dest = format!("docker://{}/sk/two:1", reg.host);
    for fmt in [&["--format", "v2s2"][..], &["--format", "oci", "--dest-compress-format", "zstd"][..]] {
        let st = Command::new("skopeo")
            .args(["copy", "-q", "--dest-tls-verify=false"])
            .args(fmt)
            .arg(format!("docker-archive:{}", archive.display()))
            .arg(&dest)
            .status()
            .unwrap();
        assert!(st.success());
        let u = TestEnv::new(t.mode);
        u.rcon(["pull", "-q", &format!("{}/sk/two:1", reg.host)]).ok();
        assert_eq!(
            u.rcon(["run", "--rm", &format!("{}/sk/two:1", reg.host), "cat", "/app/label"]).ok(),
            "from-skopeo\n"
        );
    }
});

#[test]
fn podman_pulls_what_rcon_pushed() {
    if !crate::common::is_root() || !std::path::Path::new("/usr/bin/podman").exists() {
        eprintln!("note: podman not installed (or not root): cross-check skipped");
        return;
    }
    let t = TestEnv::new(Mode::Root);
    let reg = Registry::start();
    let name = format!("{}/pm/bb:1", reg.host);
    let id = t.load_busybox(&name);
    let out = t.rcon(["push", &name]).ok().to_string();
    let digest =
        out.lines().find_map(|l| l.strip_prefix("1: digest: ")).unwrap().split(' ').next().unwrap().to_string();
    let root = t.path("podman-root");
    let pm = |args: &[&str]| {
        Command::new("podman")
            .arg("--root")
            .arg(&root)
            .arg("--runroot")
            .arg(t.path("podman-run"))
            .args(["--storage-driver", "vfs"])
            .args(args)
            .output()
            .unwrap()
    };
    let o = pm(&["pull", "-q", "--tls-verify=false", &name]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = pm(&["image", "inspect", "--format", "{{.Digest}} {{.ID}}", &name]);
    let s = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(s.trim(), format!("{digest} {}", id.trim_start_matches("sha256:")));
}

both_modes!(manifest_list_resolves_per_platform, |t| {
    let reg = Registry::start();
    let host_img = format!("{}/multi/bb:host", reg.host);
    let arm_img = format!("{}/multi/bb:arm", reg.host);
    t.load_busybox(&host_img);
    let top = layer_tar(&[E::File("arch", b"arm64\n", 0o644)]);
    let arm = fixtures::image_archive(
        &t.dir,
        "arm.tar",
        &[&arm_img],
        &[fixtures::busybox_layer(), &top],
        json!({"architecture": "arm64", "variant": "v8"}),
    );
    t.give(&arm);
    t.rcon(["load", "-i", arm.to_str().unwrap()]).ok();
    t.rcon(["push", "-q", &host_img]).ok();
    t.rcon(["push", "-q", &arm_img]).ok();
    let list = format!("{}/multi/list:1", reg.host);
    let created = t.rcon(["manifest", "create", &list, &host_img, &arm_img]).ok().to_string();
    assert!(created.contains("Created manifest list"), "{created}");
    // Annotate: the arm entry already says arm64 from its config; add a feature.
    t.rcon(["manifest", "annotate", "--os-features", "test", &list, &arm_img]).ok();
    let shown = t.rcon(["manifest", "inspect", &list]).ok().to_string();
    assert!(shown.contains("\"architecture\": \"arm64\"") && shown.contains(fixtures::host_arch()), "{shown}");
    assert!(shown.contains("application/vnd.docker.distribution.manifest.list.v2+json"), "{shown}");
    let digest = t.rcon(["manifest", "push", "--purge", &list]).ok().trim().to_string();
    assert!(digest.starts_with("sha256:"), "{digest}");
    // What the registry now holds is a list with both platforms.
    let remote = t.rcon(["manifest", "inspect", &list]).ok().to_string();
    assert!(remote.contains("\"manifests\"") && remote.contains("arm64"), "{remote}");

    let u = TestEnv::new(t.mode);
    u.rcon(["pull", "-q", &list]).ok();
    assert_eq!(image_id(&u, &list), image_id(t, &host_img), "the host platform's entry");
    let v = TestEnv::new(t.mode);
    v.rcon(["pull", "-q", "--platform", "linux/arm64", &list]).ok();
    assert_eq!(image_id(&v, &list), image_id(t, &arm_img), "the arm64 entry");
    let w = TestEnv::new(t.mode);
    w.rcon(["pull", "--platform", "linux/s390x", &list]).fails(125, "no matching manifest for linux/s390x");
    assert_store_empty(&w);
    w.rcon(["pull", "--platform", "s390x", &list]).fails(125, "os/arch");
});

both_modes!(pull_all_tags_and_run_pulls_missing_images, |t| {
    let reg = Registry::start();
    for tag in ["1", "2"] {
        let n = format!("{}/tags/bb:{tag}", reg.host);
        t.load_busybox(&n);
        t.rcon(["push", "-q", &n]).ok();
    }
    // without a tag push means latest (Docker 20.10+), which does not exist here
    let repo = format!("{}/tags/bb", reg.host);
    t.rcon(["push", &repo]).fails(125, "tags/bb:latest");
    t.rcon(["push", "-a", "-q", &repo]).ok();
    let u = TestEnv::new(t.mode);
    let out = u.rcon(["pull", "-a", &format!("{}/tags/bb", reg.host)]).ok().to_string();
    assert!(out.contains("1: Pulling from") && out.contains("2: Pulling from"), "{out}");
    let imgs = u.rcon(["images", "--format", "{{.Tag}}"]).ok().to_string();
    assert_eq!(imgs.lines().count(), 2, "{imgs}");

    // run pulls what is missing; progress goes to stderr, the output is the container's.
    let v = TestEnv::new(t.mode);
    let name = format!("{}/tags/bb:1", reg.host);
    v.rcon(["run", "--pull=never", "--rm", &name, "true"]).fails(125, "--pull=never");
    let r = v.rcon(["run", "--rm", &name, "echo", "hello"]);
    assert_eq!(r.ok(), "hello\n");
    assert!(r.stderr.contains(&format!("Unable to find image '{name}' locally")), "{}", r.stderr);
    let again = v.rcon(["run", "--rm", &name, "true"]);
    assert!(!again.stderr.contains("Unable to find"), "{}", again.stderr);
    let always = v.rcon(["create", "--pull", "always", &name]);
    always.ok();
    assert!(always.stderr.contains("Image is up to date"), "{}", always.stderr);
    v.rcon(["create", "--pull", "sometimes", &name]).fails(125, "pull policy");
});

#[test]
fn tls_registry_with_htpasswd_login() {
    for mode in [Mode::Rootless, Mode::Root] {
        let Some(t) = TestEnv::try_new(mode) else { continue };
        let reg =
            Registry::start_with(RegistryOptions { tls: true, htpasswd: Some(("alice".into(), "s3cret-pw".into())) });
        let name = format!("{}/auth/bb:1", reg.host);
        t.load_busybox(&name);
        // Without the CA, the certificate is refused (no silent downgrade).
        let r = t.rcon(["login", "-u", "alice", "-p", "s3cret-pw", &reg.host]);
        r.fails(125, "login to");
        assert!(r.stderr.to_lowercase().contains("certificate"), "{}", r.stderr);
        // The registry's CA in certs.d, as Docker reads it.
        let config_dir = if mode == Mode::Root { t.config.clone() } else { t.config.join("rcon") };
        let certs = config_dir.join("certs.d").join(&reg.host);
        std::fs::create_dir_all(&certs).unwrap();
        std::fs::copy(reg.ca.as_ref().unwrap(), certs.join("ca.crt")).unwrap();
        t.give(&t.config);
        // Anonymous push is refused with the fix.
        t.rcon(["push", &name]).fails(125, "rcon login");
        // A wrong password is refused and nothing is saved.
        let bad = t.rcon_stdin(["login", "-u", "alice", "--password-stdin", &reg.host], b"wrong\n");
        bad.fails(125, "incorrect username or password");
        assert!(
            !config_dir.join("auth.json").exists()
                || !std::fs::read_to_string(config_dir.join("auth.json")).unwrap().contains(&reg.host)
        );
        let ok = t.rcon_stdin(["login", "-u", "alice", "--password-stdin", &reg.host], b"s3cret-pw\n");
        assert_eq!(ok.ok(), "Login Succeeded\n");
        let auth = std::fs::read_to_string(config_dir.join("auth.json")).unwrap();
        assert!(auth.contains(&reg.host) && !auth.contains("s3cret-pw"), "{auth}");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(config_dir.join("auth.json")).unwrap().permissions().mode() & 0o777, 0o600);
        let pushed = t.rcon(["push", &name]);
        pushed.ok();
        assert!(!pushed.stdout.contains("s3cret") && !pushed.stderr.contains("s3cret"));
        t.rcon(["rmi", &name]).ok();
        t.rcon(["pull", "-q", &name]).ok();
        assert_eq!(t.rcon(["logout", &reg.host]).ok(), format!("Removing login credentials for {}\n", reg.host));
        assert_eq!(t.rcon(["logout", &reg.host]).ok(), format!("Not logged in to {}\n", reg.host));
        t.rcon(["rmi", &name]).ok();
        t.rcon(["pull", &name]).fails(125, "requires authentication");
        // An existing `docker login` (~/.docker/config.json) is used.
        let docker_dir = t.home.join(".docker");
        std::fs::create_dir_all(&docker_dir).unwrap();
        let cfg = json!({"auths": {reg.host.clone(): {"auth": base64("alice:s3cret-pw")}}});
        std::fs::write(docker_dir.join("config.json"), cfg.to_string()).unwrap();
        t.give(&t.home);
        t.rcon(["pull", "-q", &name]).ok();
        // --tls-verify=false skips the CA check.
        let u = TestEnv::try_new(mode).unwrap();
        let dc = u.home.join(".docker");
        std::fs::create_dir_all(&dc).unwrap();
        std::fs::write(dc.join("config.json"), cfg.to_string()).unwrap();
        u.give(&u.home);
        u.rcon(["pull", &name]).fails(125, "certificate");
        u.rcon(["pull", "-q", "--tls-verify=false", &name]).ok();
    }
}

both_modes!(bearer_token_flow, |t| {
    let reg = Registry::start();
    let proxy = token_proxy(reg.port, "bob", "hunter22");
    let name = format!("{}/tok/bb:1", proxy.host());
    t.load_busybox(&name);
    t.rcon(["push", &name]).fails(125, "incorrect username or password");
    t.rcon_stdin(["login", "-u", "bob", "--password-stdin", &proxy.host()], b"nope\n")
        .fails(125, "incorrect username or password");
    t.rcon_stdin(["login", "-u", "bob", "--password-stdin", &proxy.host()], b"hunter22\n").ok();
    t.rcon(["push", "-q", &name]).ok();
    let u = TestEnv::new(t.mode);
    u.rcon(["pull", &name]).fails(125, "incorrect username or password");
    let reqs = proxy.requests();
    let token_req = reqs.iter().find(|r| r.path.starts_with("/token")).expect("a token request");
    assert!(
        token_req.path.contains("scope=repository%3Atok%2Fbb%3Apull%2Cpush")
            || token_req.path.contains("scope=repository:tok/bb:pull,push"),
        "{}",
        token_req.path
    );
    assert!(token_req.path.contains("service=rcon-test"), "{}", token_req.path);
});

both_modes!(mirrors_are_tried_in_order, |t| {
    let reg = Registry::start();
    // The mirror holds docker.io's library/busybox:mirrored.
    let on_mirror = format!("{}/library/busybox:mirrored", reg.host);
    t.load_busybox(&on_mirror);
    t.rcon(["push", "-q", &on_mirror]).ok();
    let u = TestEnv::new(t.mode);
    let cfg_dir = if t.mode == Mode::Root { u.config.clone() } else { u.config.join("rcon") };
    std::fs::create_dir_all(&cfg_dir).unwrap();
    let dead = free_port();
    std::fs::write(
        cfg_dir.join("registries.json"),
        json!({"registry-mirrors": [format!("http://127.0.0.1:{dead}"), format!("http://{}", reg.host)]}).to_string(),
    )
    .unwrap();
    u.give(&u.config);
    let out = u.rcon(["pull", "busybox:mirrored"]).ok().to_string();
    assert!(out.contains("Status: Downloaded newer image for busybox:mirrored"), "{out}");
    assert_eq!(out.lines().last().unwrap(), "docker.io/library/busybox:mirrored");
    assert_eq!(image_id(&u, "busybox:mirrored"), image_id(t, &on_mirror));
});

/// Rootless Docker's daemon.json (`$XDG_CONFIG_HOME/docker/daemon.json`) is
/// honoured: its mirrors serve Docker Hub names and `info` lists them; a key
/// rcon's registries.json sets wins. (As root Docker's file is
/// /etc/docker/daemon.json, the host's own: a unit test pins that path.)
#[test]
fn docker_daemon_json_mirrors_are_used_rootless() {
    let t = TestEnv::new(Mode::Rootless);
    let reg = Registry::start();
    let on_mirror = format!("{}/library/busybox:viadocker", reg.host);
    t.load_busybox(&on_mirror);
    t.rcon(["push", "-q", &on_mirror]).ok();
    let u = TestEnv::new(Mode::Rootless);
    let docker_dir = u.config.join("docker");
    std::fs::create_dir_all(&docker_dir).unwrap();
    let dead = free_port();
    let mirrors = [format!("http://127.0.0.1:{dead}"), format!("http://{}", reg.host)];
    std::fs::write(
        docker_dir.join("daemon.json"),
        json!({"registry-mirrors": mirrors, "insecure-registries": ["registry.lan:5000"], "log-level": "info"})
            .to_string(),
    )
    .unwrap();
    u.give(&u.config);
    let text = u.rcon(["info"]).ok().to_string();
    let listed = format!("Registry Mirrors:\n  {}\n  {}\n", mirrors[0], mirrors[1]);
    assert!(text.contains(&listed), "{listed:?} in {text}");
    assert!(text.contains("Insecure Registries:\n  registry.lan:5000\n"), "{text}");
    let out = u.rcon(["pull", "busybox:viadocker"]).ok().to_string();
    assert!(out.contains("Status: Downloaded newer image for busybox:viadocker"), "{out}");
    assert_eq!(image_id(&u, "busybox:viadocker"), image_id(&t, &on_mirror));
    // rcon's own file wins for the key it sets, Docker's fills in the rest
    std::fs::create_dir_all(u.config.join("rcon")).unwrap();
    std::fs::write(
        u.config.join("rcon/registries.json"),
        json!({"registry-mirrors": ["https://ours.example"]}).to_string(),
    )
    .unwrap();
    u.give(&u.config);
    let info: Value = serde_json::from_str(u.rcon(["info", "--format", "json"]).ok()).unwrap();
    assert_eq!(info["RegistryConfig"]["Mirrors"], json!(["https://ours.example"]));
    assert_eq!(info["RegistryConfig"]["IndexConfigs"]["registry.lan:5000"]["Secure"], false);
    // a broken daemon.json is named, with the fix
    std::fs::write(docker_dir.join("daemon.json"), "{\"registry-mirrors\": [").unwrap();
    u.rcon(["info"]).fails(125, "docker/daemon.json is not valid").fails(125, "fix or remove it");
}

/// A registry that lies in every way the issue lists.
fn evil_registry() -> HttpServer {
    let layer = fixtures::busybox_layer().to_vec();
    let garbage: Vec<u8> = (0..4096u32).map(|i| (i * 7 % 251) as u8).collect();
    let mut blobs: HashMap<String, Vec<u8>> = HashMap::new();
    let mut manifests: HashMap<String, Vec<u8>> = HashMap::new();
    let mut add_blob = |b: &[u8]| {
        let d = format!("sha256:{}", sha256_hex(b));
        blobs.insert(d.clone(), b.to_vec());
        d
    };
    let config_for = |diff: &str| {
        json!({"architecture": fixtures::host_arch(), "os": "linux", "rootfs": {"type": "layers", "diff_ids": [diff]}, "config": {}})
            .to_string()
            .into_bytes()
    };
    let manifest = |cfg: &str, cfg_len: usize, l: &str, l_len: usize| {
        json!({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": cfg, "size": cfg_len},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": l, "size": l_len}]})
        .to_string()
        .into_bytes()
    };
    let layer_d = add_blob(&layer);
    let good_cfg = config_for(&layer_d);
    let good_cfg_d = add_blob(&good_cfg);
    // truncated: the descriptor says more bytes than the registry sends
    manifests.insert("trunc".into(), manifest(&good_cfg_d, good_cfg.len(), &layer_d, layer.len() + 1000));
    // not a tar: right digest, garbage content
    let garbage_d = add_blob(&garbage);
    let g_cfg = config_for(&garbage_d);
    let g_cfg_d = add_blob(&g_cfg);
    manifests.insert("nottar".into(), manifest(&g_cfg_d, g_cfg.len(), &garbage_d, garbage.len()));
    // wrong digest: the descriptor names a digest the served bytes do not have
    let fake_d = format!("sha256:{}", "ab".repeat(32));
    blobs.insert(fake_d.clone(), layer.clone());
    manifests.insert("digest".into(), manifest(&good_cfg_d, good_cfg.len(), &fake_d, layer.len()));
    manifests.insert("json".into(), b"{\"schemaVersion\": 2, \"layers\": [".to_vec());
    manifests.insert("big".into(), vec![b' '; 5 << 20]);
    let blobs = Arc::new(blobs);
    let manifests = Arc::new(manifests);
    HttpServer::start(move |req, s| {
        let p = req.path.as_str();
        if p == "/v2/" {
            return respond(s, 200, &[], b"{}");
        }
        if let Some(rest) = p.strip_prefix("/v2/bad/") {
            let (what, tail) = rest.split_once('/').unwrap_or((rest, ""));
            if what == "stall" {
                std::thread::sleep(Duration::from_secs(30));
                return;
            }
            if tail.starts_with("manifests/") {
                if let Some(m) = manifests.get(what) {
                    return respond(
                        s,
                        200,
                        &[("Content-Type", "application/vnd.docker.distribution.manifest.v2+json".into())],
                        m,
                    );
                }
            }
            if let Some(d) = tail.strip_prefix("blobs/") {
                if let Some(b) = blobs.get(d) {
                    return respond(s, 200, &[], b);
                }
            }
        }
        respond(
            s,
            404,
            &[("Content-Type", "application/json".into())],
            b"{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\"}]}",
        );
    })
}

both_modes!(bad_registries_give_one_line_errors_and_store_nothing, |t| {
    let evil = evil_registry();
    let h = evil.host();
    let cases: Vec<(String, &str)> = vec![
        ("no-such-host.invalid/x:1".into(), "unknown host"),
        (format!("127.0.0.1:{}/x:1", free_port()), "connection refused"),
        (format!("{h}/bad/missing:1"), "manifest for"),
        (format!("{h}/bad/json:1"), "malformed manifest"),
        (format!("{h}/bad/big:1"), "larger than"),
        (format!("{h}/bad/digest:1"), "does not match its digest"),
        (format!("{h}/bad/trunc:1"), "truncated"),
        (format!("{h}/bad/nottar:1"), "layer"),
        (format!("{h}/bad/stall:1"), "stopped answering"),
    ];
    for (name, needle) in cases {
        let mut c = t.cmd(["pull", &name]);
        c.env("RCON_REGISTRY_TIMEOUT", "2").stdin(std::process::Stdio::null());
        let r = crate::common::Run::from(c.output().unwrap());
        r.fails(125, needle);
        let short = name.split(':').next().unwrap().rsplit('/').next().unwrap();
        assert!(r.stderr.contains(short), "error should name the image {name}: {}", r.stderr);
        assert_eq!(r.stderr.trim().lines().count(), 1, "one line: {}", r.stderr);
        assert_store_empty(t);
    }
    let r = t.rcon(["search", &format!("{h}/busybox")]);
    r.fails(125, "does not offer a search API");
});

both_modes!(killed_pull_resumes_with_a_range_request, |t| {
    let reg = Registry::start();
    // A layer big enough to be caught mid-download through a slow proxy.
    let big: Vec<u8> = (0..6_000_000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    let top = layer_tar(&[E::File("big.bin", &big, 0o644)]);
    let name = format!("{}/resume/big:1", reg.host);
    let a = fixtures::image_archive(&t.dir, "big.tar", &[&name], &[fixtures::busybox_layer(), &top], json!({}));
    t.give(&a);
    t.rcon(["load", "-i", a.to_str().unwrap()]).ok();
    t.rcon(["push", "-q", &name]).ok();
    let upstream = reg.port;
    let slow = HttpServer::start(move |req, s| {
        // Blob bodies trickle (64 KiB every 20 ms); everything else passes.
        if req.path.contains("/blobs/sha256:") && req.method == "GET" && req.header("range").is_none() {
            let Ok(mut up) = std::net::TcpStream::connect(("127.0.0.1", upstream)) else { return };
            use std::io::{Read, Write};
            let head = format!("GET {} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", req.path);
            let _ = up.write_all(head.as_bytes());
            let mut buf = [0u8; 65536];
            while let Ok(n) = up.read(&mut buf) {
                if n == 0 || s.write_all(&buf[..n]).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            return;
        }
        forward(req, s, upstream);
    });
    let via = format!("{}/resume/big:1", slow.host());
    let u = TestEnv::new(t.mode);
    let mut child = u
        .cmd(["pull", &via])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pull_dir = u.data.join("rcon/pull");
    wait_for("a partial download", Duration::from_secs(30), || {
        std::fs::read_dir(&pull_dir).ok()?.flatten().find(|e| {
            e.file_name().to_string_lossy().ends_with(".partial")
                && e.metadata().map(|m| m.len() > 200_000).unwrap_or(false)
        })
    });
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(u.rcon(["images", "-aq"]).ok().trim(), "", "no half image");
    let out = u.rcon(["pull", &via]).ok().to_string();
    assert!(out.contains("Pull complete"), "{out}");
    assert!(
        slow.requests().iter().any(|r| r.header("range").is_some_and(|v| v.starts_with("bytes=") && v != "bytes=0-")),
        "the second pull resumed with a range request"
    );
    assert_eq!(u.rcon(["run", "--rm", &via, "sh", "-c", "wc -c < /big.bin"]).ok().trim(), "6000000");
    assert_eq!(image_id(&u, &via), image_id(t, &name));
});

#[test]
fn progress_is_redrawn_in_place_on_a_terminal() {
    if !std::path::Path::new("/usr/bin/script").exists() {
        eprintln!("note: script(1) not installed: terminal progress not checked");
        return;
    }
    let t = TestEnv::new(Mode::Rootless);
    let reg = Registry::start();
    let name = format!("{}/tty/bb:1", reg.host);
    t.load_busybox(&name);
    t.rcon(["push", "-q", &name]).ok();
    t.rcon(["rmi", &name]).ok();
    // script(1) gives rcon a pseudo-terminal as its output.
    let line = format!("{} pull {name}", crate::common::rcon_bin().display());
    let o = t.program("script", ["-qec", &line, "/dev/null"]).stdin(std::process::Stdio::null()).output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(o.status.success(), "{out}");
    assert!(out.contains("\x1b[2K"), "rows are cleared and redrawn: {out:?}");
    assert!(out.contains("Pull complete"), "{out:?}");
    assert!(!t.rcon(["images", "-q"]).ok().trim().is_empty());
}

both_modes!(build_pulls_its_from_image, |t| {
    let reg = Registry::start();
    let base = format!("{}/base/bb:1", reg.host);
    t.load_busybox(&base);
    t.rcon(["push", "-q", &base]).ok();
    let u = TestEnv::new(t.mode);
    let ctx = u.path("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(ctx.join("Dockerfile"), format!("FROM {base}\nRUN echo built > /built\n")).unwrap();
    u.give(&ctx);
    let r = u.rcon(["build", "-t", "child:1", ctx.to_str().unwrap()]);
    r.ok();
    assert!(r.stderr.contains(&format!("Unable to find image '{base}' locally")), "{}", r.stderr);
    assert_eq!(u.rcon(["run", "--rm", "child:1", "cat", "/built"]).ok(), "built\n");
    let again = u.rcon(["build", "--pull", "-t", "child:1", ctx.to_str().unwrap()]);
    again.ok();
    assert!(again.stderr.contains("Image is up to date"), "{}", again.stderr);
});
