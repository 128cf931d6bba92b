//! The engine as a second front end sees it: no CLI, no terminal. A
//! ContainerSpec built in code (published port, named volume, env,
//! healthcheck, restart policy), started with its streams on an in-memory
//! socket pair, its multiplexed output read and its stdin written, the exit
//! code waited for, listed with a filter, its logs read with a tail, and
//! removed; two at once in one process, whose streams must not mix.
//!
//! Run as root it drives the engine in this process as root, then runs
//! itself again as the unprivileged test user (the same test, this file's
//! body) to drive it rootless.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rcon::container::attach::{Frames, EXIT, STDERR, STDOUT};
use rcon::container::health::HealthConfig;
use rcon::container::restart::RestartPolicy;
use rcon::container::spec::ContainerSpec;
use rcon::container::Mount;
use rcon::engine::containers::{self, AttachTo, StartOptions};
use rcon::engine::ps::{self, Filter};
use rcon::engine::Engine;
use rcon::monitor::logs::ReadOptions;
use rcon::network::ports::PortSpec;

use crate::common::{fixtures, Mode, TestEnv};

/// Set in the child that runs the rootless half.
const AS_USER: &str = "RCON_ENGINE_API_AS_USER";

fn engine_for(data: &Path, run: &Path, config: &Path) -> Engine {
    rcon::util::set_helper_binary(crate::common::rcon_bin().to_path_buf());
    let paths = rcon::paths::Paths::from_args(&[
        format!("--root={}", data.display()),
        format!("--runroot={}", run.display()),
        format!("--config={}", config.display()),
    ])
    .unwrap()
    .0;
    Engine::new(paths)
}

fn deadline<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One container's whole life through the engine; returns what it said.
fn life(engine: &Engine, name: &str) -> (String, String) {
    let spec = ContainerSpec {
        image: "busybox".into(),
        name: Some(name.into()),
        cmd: vec![
            "sh".into(),
            "-c".into(),
            // Says who it is on both streams, keeps a file in its volume.
            "read x; echo \"$NAME got $x\"; echo \"$NAME err\" >&2; echo kept > /data/f".into(),
        ],
        env: vec![format!("NAME={name}")],
        labels: vec![("proof".into(), name.into())],
        open_stdin: true,
        mounts: vec![Mount {
            kind: "volume".into(),
            source: format!("{name}-data"),
            target: "/data".into(),
            ..Default::default()
        }],
        ports: vec![PortSpec { host_ip: "127.0.0.1".into(), host_port: 0, container_port: 80, proto: "tcp".into() }],
        healthcheck: Some(HealthConfig {
            test: vec!["CMD-SHELL".into(), "true".into()],
            interval: 100_000_000,
            ..Default::default()
        }),
        restart: Some(RestartPolicy { name: "on-failure".into(), maximum_retry_count: 1 }),
        ..Default::default()
    };
    let id = containers::create(engine, &spec).unwrap();
    let (ours, theirs) = UnixStream::pair().unwrap();
    let opts = StartOptions { attach: Some(AttachTo::Socket(theirs.into())), detach_keys: None };
    containers::start(engine, &id, opts).unwrap();
    // Running, healthy, with a host port chosen for 80/tcp.
    deadline("healthy", || {
        let c = containers::get(engine, &id).ok()?;
        (c.health?.status == "healthy").then_some(())
    });
    let ports = rcon::engine::networks::port_mappings(engine, &id, None).unwrap();
    assert!(ports.iter().any(|(k, host)| k == "80/tcp" && host.starts_with("127.0.0.1:")), "{ports:?}");
    // Its stdin, then EOF.
    let mut w = ours.try_clone().unwrap();
    w.write_all(format!("hello-{name}\n").as_bytes()).unwrap();
    w.shutdown(std::net::Shutdown::Write).unwrap();
    let (mut out, mut err, mut code) = (String::new(), String::new(), None);
    let mut frames = Frames::default();
    let mut r = ours;
    let mut buf = [0u8; 4096];
    while code.is_none() {
        let n = r.read(&mut buf).unwrap();
        assert!(n > 0, "the attach stream ended before the exit frame: {out:?} {err:?}");
        frames.push(&buf[..n]);
        while let Some((stream, data, _)) = frames.next_frame() {
            match stream {
                STDOUT => out.push_str(&String::from_utf8_lossy(&data)),
                STDERR => err.push_str(&String::from_utf8_lossy(&data)),
                EXIT => code = Some(String::from_utf8_lossy(&data).to_string()),
                s => panic!("unknown stream {s}"),
            }
        }
    }
    assert_eq!(code.as_deref(), Some("0"));
    assert_eq!(
        rcon::engine::lifecycle::wait(engine, &id, "not-running", &rcon::engine::Cancel::never()).unwrap(),
        Some(0)
    );
    // Listed by its label, and only it.
    let found = ps::list(
        engine,
        &ps::ListOptions {
            all: true,
            filters: vec![Filter::parse(&format!("label=proof={name}")).unwrap()],
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(found.iter().map(|c| c.config.id.as_str()).collect::<Vec<_>>(), [id.as_str()]);
    // The last log entry.
    let mut lines = Vec::new();
    let tail = ReadOptions { tail: Some(1), ..Default::default() };
    containers::logs(
        engine,
        &id,
        &tail,
        &mut |e| {
            lines.push(String::from_utf8_lossy(&e.line).to_string());
            Ok(())
        },
        &rcon::engine::Cancel::never(),
    )
    .unwrap();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0] == format!("{name} err\n") || lines[0] == format!("{name} got hello-{name}\n"), "{lines:?}");
    containers::remove(engine, &id, false).unwrap();
    assert!(containers::get(engine, &id).is_err());
    rcon::engine::volumes::remove(engine, &format!("{name}-data"), false).unwrap();
    (out, err)
}

fn drive(data: &Path, run: &Path, config: &Path) {
    let engine = engine_for(data, run, config);
    let archive = fixtures::busybox_archive(data.parent().unwrap(), &["busybox"]);
    rcon::engine::images::load(engine.store().unwrap(), std::fs::File::open(&archive).unwrap()).unwrap();
    std::thread::scope(|s| {
        let one = s.spawn(|| life(&engine, "alpha"));
        let two = s.spawn(|| life(&engine, "bravo"));
        for (name, (out, err)) in [("alpha", one.join().unwrap()), ("bravo", two.join().unwrap())] {
            assert_eq!(out, format!("{name} got hello-{name}\n"));
            assert_eq!(err, format!("{name} err\n"));
        }
    });
}

/// The test binary, where the test user can run it.
fn own_binary() -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let src = std::env::current_exe().unwrap();
    let dst = crate::common::shared_base().join(format!("tests-engine-{}", std::process::id()));
    std::fs::copy(&src, &dst).unwrap();
    std::fs::set_permissions(&dst, std::fs::Permissions::from_mode(0o755)).unwrap();
    dst
}

#[test]
fn drives_the_engine_without_a_cli() {
    if let Some(dir) = std::env::var_os(AS_USER) {
        // The rootless half, in the child started below.
        let dir = PathBuf::from(dir);
        drive(&dir.join("data"), &dir.join("run"), &dir.join("config"));
        return;
    }
    // Root (or the user the suite runs as): this process.
    let mode = if crate::common::is_root() { Mode::Root } else { Mode::Rootless };
    let t = TestEnv::new(mode);
    drive(&t.data.join("rcon"), &t.run.join("rcon"), &t.config);
    if let Some(u) = crate::common::test_user() {
        let t = TestEnv::new(Mode::Rootless);
        let bin = own_binary();
        let mut c = t.program(&bin, ["engine_api::drives_the_engine_without_a_cli", "--exact", "--nocapture"]);
        c.env(AS_USER, &t.dir);
        c.env("RCON_TEST_BIN", crate::common::rcon_bin());
        let o = c.output().unwrap();
        let _ = std::fs::remove_file(&bin);
        assert!(
            o.status.success() && String::from_utf8_lossy(&o.stdout).contains("1 passed"),
            "the rootless half failed (as {}):\n{}\n{}",
            u.name,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
}
