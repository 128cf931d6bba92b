//! `rcon cp` and symlinks a container controls: paths resolve inside the
//! container's root, as the container sees them, and no byte from outside
//! it is ever read or written (the CVE-2018-15664 class).

use std::path::{Path, PathBuf};

use crate::common::TestEnv;

const SECRET: &str = "TOPSECRET-of-the-user-7f3a";

/// A host directory of the user's own with a secret file in it; the
/// container will point links at it.
fn host_secret(t: &TestEnv) -> PathBuf {
    let dir = t.path("my-home");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("secret"), SECRET).unwrap();
    std::fs::write(dir.join("sub/deeper"), SECRET).unwrap();
    t.give(&dir);
    dir
}

/// Every byte of every file below `p` (symlinks are not followed).
fn contents(p: &Path) -> Vec<u8> {
    let Ok(md) = std::fs::symlink_metadata(p) else { return Vec::new() };
    if md.is_dir() {
        let mut v = Vec::new();
        for e in std::fs::read_dir(p).unwrap().flatten() {
            v.extend(contents(&e.path()));
        }
        v
    } else if md.is_file() {
        std::fs::read(p).unwrap()
    } else {
        Vec::new()
    }
}

fn has_secret(b: &[u8]) -> bool {
    b.windows(SECRET.len()).any(|w| w == SECRET.as_bytes())
}

fn out_dir(t: &TestEnv, name: &str) -> PathBuf {
    let out = t.path(name);
    std::fs::create_dir_all(&out).unwrap();
    t.give(&out);
    out
}

both_modes!(links_out_of_a_container_resolve_inside_it, |t| {
    t.load_busybox("busybox");
    let home = host_secret(t);
    let h = home.display();
    // Absolute, relative (climbing past the root), nested (a link through
    // a link) and dangling links to the host directory, links that stay
    // inside, and a directory of such links.
    let script = format!(
        "ln -s {h} /abs; ln -s ../../../../../../..{h} /rel; mkdir -p /n/a; ln -s /abs /n/a/hop; \
         ln -s /n/a/hop /nested; ln -s /nowhere /dangling; ln -s /etc /inside; \
         mkdir /dir; ln -s {h} /dir/abs; ln -s ../../../..{h}/secret /dir/rel; echo mine > /dir/own"
    );
    t.rcon(["run", "--name", "box", "busybox", "sh", "-c", &script]).ok();
    for running in [false, true] {
        if running {
            t.rcon(["rm", "-f", "box"]).ok();
            t.rcon(["run", "-d", "--name", "box", "busybox", "sh", "-c", &format!("{script}; exec sleep 1000")]).ok();
            crate::common::wait_for("the links", std::time::Duration::from_secs(10), || {
                t.rcon(["exec", "box", "test", "-e", "/dir/own"]).ok_code()
            });
        }
        let out = out_dir(t, &format!("out-{running}"));
        let o = |n: &str| format!("{}/{n}", out.display());
        // Through a link to a host path: nothing there inside the container.
        for src in [
            "box:/abs/secret",
            "box:/rel/secret",
            "box:/nested/secret",
            "box:/abs/sub/deeper",
            "box:/abs/",
            "box:/rel/.",
        ] {
            t.rcon(["cp", src, &o("x")]).fails(125, "could not find the file");
            t.rcon(["cp", "-L", src, &o("x")]).fails(125, "could not find the file");
            let r = t.rcon(["cp", src, "-"]);
            assert!(!has_secret(&r.raw_stdout), "{src} leaked to stdout");
        }
        for link in ["abs", "rel", "nested", "dangling"] {
            // The link itself is copied, as Docker does; -L follows it
            // inside the container, where there is nothing.
            t.rcon(["cp", &format!("box:/{link}"), &o(link)]).ok();
            assert!(std::fs::symlink_metadata(out.join(link)).unwrap().file_type().is_symlink(), "{link}");
            t.rcon(["cp", "-L", &format!("box:/{link}"), &o("followed")]).fails(125, "could not find the file");
        }
        // A link that stays inside resolves as the container sees it.
        t.rcon(["cp", "box:/inside/passwd", &o("passwd")]).ok();
        assert!(std::fs::read_to_string(out.join("passwd")).unwrap().starts_with("root:x:0:0"));
        t.rcon(["cp", "-L", "box:/inside", &o("etc")]).ok();
        assert!(out.join("etc/passwd").is_file());
        // A directory of links: copied as links, none followed.
        t.rcon(["cp", "box:/dir", &o("dir")]).ok();
        assert_eq!(std::fs::read_to_string(out.join("dir/own")).unwrap(), "mine\n");
        assert!(std::fs::symlink_metadata(out.join("dir/abs")).unwrap().file_type().is_symlink());
        let r = t.rcon(["cp", "box:/dir", "-"]);
        assert!(!has_secret(&r.raw_stdout));
        assert!(!has_secret(&contents(&out)), "host bytes copied out (running: {running})");
        // export and diff read the same layers.
        let r = t.rcon(["export", "box"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(!has_secret(&r.raw_stdout));
        let diff = t.rcon(["diff", "box"]).ok().to_string();
        assert!(diff.contains("A /dir/abs") && !diff.contains("sub"), "{diff}");
    }
    // Nothing was written into the host directory either way.
    assert_eq!(std::fs::read_dir(&home).unwrap().count(), 2);
});

both_modes!(links_into_a_container_resolve_inside_it, |t| {
    t.load_busybox("busybox");
    let home = host_secret(t);
    let h = home.display();
    let file = t.path("payload");
    std::fs::write(&file, "payload\n").unwrap();
    t.give(&file);
    let f = file.to_str().unwrap();
    let script = format!("ln -s {h} /abs; ln -s ../../../..{h} /rel; ln -s /etc /inside");
    t.rcon(["run", "--name", "box", "busybox", "sh", "-c", &script]).ok();
    for dst in ["box:/abs/", "box:/rel/", "box:/abs/new", "box:/rel/sub/new"] {
        let r = t.rcon(["cp", f, dst]);
        assert_ne!(r.code, 0, "cp into {dst} went through: {}", r.stdout);
    }
    // Docker follows a link at the destination, inside the container.
    t.rcon(["cp", f, "box:/inside/"]).ok();
    let r = t.rcon(["cp", "box:/etc/payload", "-"]);
    assert!(String::from_utf8_lossy(&r.raw_stdout).contains("payload\n"));
    let mut names: Vec<String> =
        std::fs::read_dir(&home).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, ["secret", "sub"], "written on the host");
    assert_eq!(std::fs::read_dir(home.join("sub")).unwrap().count(), 1);
});

both_modes!(a_link_swapped_during_copies_never_leads_out, |t| {
    t.load_busybox("busybox");
    let home = host_secret(t);
    // The container swaps /race/d between a directory holding a file
    // `secret` and a link to the host directory holding one, while we copy
    // out of it. The directory stays a little longer (20 ms), so that some
    // copies find it whatever the load on the machine.
    let swap = format!(
        "mkdir /race; while :; do rm -rf /race/d; mkdir /race/d; echo inside > /race/d/secret; usleep 20000; \
         rm -rf /race/d; ln -s {} /race/d; done",
        home.display()
    );
    t.rcon(["run", "-d", "--name", "swap", "busybox", "sh", "-c", &swap]).ok();
    crate::common::wait_for("the swapping", std::time::Duration::from_secs(10), || {
        t.rcon(["exec", "swap", "test", "-e", "/race"]).ok_code()
    });
    let out = out_dir(t, "out");
    let (mut inside, mut failed) = (0, 0);
    for i in 0..40 {
        let r = if i % 2 == 0 {
            t.rcon(["cp", "swap:/race/d/secret", &format!("{}/f{i}", out.display())])
        } else {
            t.rcon(["cp", "swap:/race", "-"])
        };
        assert!(!has_secret(&r.raw_stdout), "copy {i} read the host's file");
        match r.code {
            0 if i % 2 == 0 => {
                // Empty when copied between the file's creation and its write.
                let got = std::fs::read_to_string(out.join(format!("f{i}"))).unwrap();
                assert!(got.is_empty() || got == "inside\n", "{got:?}");
                inside += 1;
            }
            0 => {}
            _ => failed += 1,
        }
    }
    assert!(!has_secret(&contents(&out)), "host bytes copied out");
    assert!(inside > 0, "no copy of the file worked ({failed} failed)");
    // Copies into the racing path never land on the host.
    let file = t.path("payload");
    std::fs::write(&file, "payload\n").unwrap();
    t.give(&file);
    for _ in 0..10 {
        let _ = t.rcon(["cp", file.to_str().unwrap(), "swap:/race/d/"]);
    }
    assert_eq!(std::fs::read_dir(&home).unwrap().count(), 2, "written on the host");
});
