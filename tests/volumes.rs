//! Volumes: the `volume` commands, `-v`/`--mount`/`--tmpfs`/`--volumes-from`,
//! copy-up, anonymous volumes' life cycle, and bad input.

use serde_json::Value;

use crate::common::fixtures::{busybox_layer, image_archive};
use crate::common::*;

fn img(t: &TestEnv) {
    t.load_busybox("busybox");
}

fn volumes(t: &TestEnv) -> Vec<String> {
    t.rcon(["volume", "ls", "-q"]).ok().lines().map(String::from).collect()
}

fn inspect_json(t: &TestEnv, args: &[&str]) -> Value {
    let v: Value = serde_json::from_str(t.rcon(args).ok()).unwrap();
    v[0].clone()
}

both_modes!(volume_commands, |t| {
    assert_eq!(t.rcon(["volume", "create", "--label", "team=core", "data"]).ok(), "data\n");
    // create is idempotent, as Docker's
    assert_eq!(t.rcon(["volume", "create", "data"]).ok(), "data\n");
    let gen = t.rcon(["volume", "create"]).ok().trim().to_string();
    assert!(gen.len() == 64 && gen.chars().all(|c| c.is_ascii_hexdigit()), "{gen}");
    t.rcon(["volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=1m", "scratch"]).ok();
    let ls = t.rcon(["volume", "ls"]).ok().to_string();
    let mut want = vec!["DRIVER    VOLUME NAME".to_string()];
    let mut names = [gen.clone(), "data".into(), "scratch".into()];
    names.sort();
    want.extend(names.iter().map(|n| format!("local     {n}")));
    assert_eq!(ls, want.join("\n") + "\n");
    assert_eq!(t.rcon(["volume", "ls", "-q", "--filter", "label=team=core"]).ok(), "data\n");
    assert_eq!(t.rcon(["volume", "ls", "-q", "--filter", "label=team=other"]).ok(), "");
    assert_eq!(t.rcon(["volume", "ls", "-q", "--filter", "name=scr"]).ok(), "scratch\n");
    assert_eq!(t.rcon(["volume", "ls", "-q", "--filter", "dangling=false"]).ok(), "");
    assert_eq!(
        t.rcon(["volume", "ls", "--format", "{{.Name}}:{{.Labels}}", "-f", "name=data"]).ok(),
        "data:team=core\n"
    );
    let v = inspect_json(t, &["volume", "inspect", "data"]);
    assert_eq!(v["Name"], "data");
    assert_eq!(v["Driver"], "local");
    assert_eq!(v["Scope"], "local");
    assert_eq!(v["Labels"]["team"], "core");
    assert_eq!(v["Options"], Value::Null);
    assert!(v["Mountpoint"].as_str().unwrap().ends_with("/volumes/data/_data"), "{v}");
    assert!(std::path::Path::new(v["Mountpoint"].as_str().unwrap()).is_dir());
    assert!(v["CreatedAt"].as_str().unwrap().contains('T'), "{v}");
    let v = inspect_json(t, &["volume", "inspect", "scratch"]);
    assert_eq!(v["Options"]["type"], "tmpfs");
    assert_eq!(v["Options"]["o"], "size=1m");
    // plain `inspect` finds volumes too
    assert_eq!(t.rcon(["inspect", "-f", "{{.Name}}", "data"]).ok(), "data\n");
    // bad input: one line, exit 125, nothing created
    t.rcon(["volume", "create", "a/b"]).fails(125, "invalid volume name \"a/b\"");
    t.rcon(["volume", "create", "-o", "type=nfs", "nfsvol"]).fails(125, "unsupported driver options");
    t.rcon(["volume", "inspect", "nosuch"]).fails(125, "no such volume: nosuch");
    t.rcon(["volume", "rm", "nosuch"]).fails(125, "no such volume: nosuch");
    t.rcon(["volume", "rm", "-f", "nosuch"]).ok();
    assert_eq!(volumes(t).len(), 3);
    // prune without -a keeps named volumes; -a takes every unused one
    assert_eq!(t.rcon(["volume", "prune", "-f"]).ok(), "Total reclaimed space: 0B\n");
    assert_eq!(volumes(t).len(), 3);
    t.rcon(["volume", "rm", "scratch"]).ok();
    let out = t.rcon(["volume", "prune", "-af", "--filter", "label=team"]).ok().to_string();
    assert_eq!(out, "Deleted Volumes:\ndata\n\nTotal reclaimed space: 0B\n");
    assert_eq!(volumes(t), vec![gen]);
});

both_modes!(named_volume_persists_with_copy_up, |t| {
    img(t);
    // /home/user holds a 1000:1000 file in the image: an empty volume gets it, owner kept
    let out = t
        .rcon([
            "run", "--rm", "-v", "home:/home/user", "busybox", "sh", "-c",
            "stat -c '%u:%g %a %n' /home/user/owned; cat /home/user/owned; echo kept > /home/user/new; chown 1000:1000 /home/user/new",
        ])
        .ok()
        .to_string();
    assert_eq!(out, "1000:1000 640 /home/user/owned\nmine\n");
    // a second container sees what the first wrote (no second copy-up over it)
    let out = t.rcon(["run", "--rm", "-v", "home:/data:ro", "busybox", "sh", "-c", "cat /data/new; ls /data | wc -l"]);
    assert_eq!(out.ok(), "kept\n2\n");
    t.rcon(["run", "--rm", "-v", "home:/data:ro", "busybox", "touch", "/data/x"]).fails(1, "Read-only file system");
    // on the host, the files belong to the mapped ids
    let mp = t.rcon(["volume", "inspect", "-f", "{{.Mountpoint}}", "home"]).ok().trim().to_string();
    let (uid, _) = TestEnv::owner(&std::path::Path::new(&mp).join("new"));
    match t.mode {
        Mode::Rootless => assert_eq!(uid, subuid_start().unwrap() + 999),
        Mode::Root => assert_eq!(uid, 1000),
    }
    // volume-nocopy: an empty volume stays empty
    let out = t.rcon([
        "run",
        "--rm",
        "--mount",
        "type=volume,src=bare,dst=/home/user,volume-nocopy",
        "busybox",
        "ls",
        "-A",
        "/home/user",
    ]);
    assert_eq!(out.ok(), "");
    // in use, even by a stopped container: refused; free again once it is gone
    t.rcon(["create", "--name", "holder", "-v", "home:/data", "busybox", "true"]).ok();
    t.rcon(["volume", "rm", "home"]).fails(125, "volume is in use by container");
    t.rcon(["volume", "rm", "-f", "home"]).fails(125, "volume is in use");
    assert_eq!(t.rcon(["volume", "ls", "-q", "--filter", "dangling=true"]).ok(), "bare\n");
    t.rcon(["rm", "holder"]).ok();
    t.rcon(["volume", "rm", "home", "bare"]).ok();
    assert!(volumes(t).is_empty());
    assert!(!std::path::Path::new(&mp).exists(), "content of a removed volume is gone");
});

both_modes!(anonymous_volume_life_cycle, |t| {
    img(t);
    let archive = image_archive(
        &t.dir,
        "withvol.tar",
        &["withvol"],
        &[busybox_layer()],
        serde_json::json!({"config": {"Volumes": {"/data": {}}, "Cmd": ["sh"]}}),
    );
    t.give(&archive);
    t.rcon(["load", "-i", archive.to_str().unwrap()]).ok();
    // the image's VOLUME gets an anonymous volume, shown in Mounts as Docker does
    t.rcon(["create", "--name", "ca", "withvol", "true"]).ok();
    let c = inspect_json(t, &["inspect", "ca"]);
    let m = &c["Mounts"][0];
    assert_eq!(m["Type"], "volume");
    assert_eq!(m["Destination"], "/data");
    assert_eq!(m["Driver"], "local");
    assert_eq!(m["RW"], true);
    let name = m["Name"].as_str().unwrap().to_string();
    assert_eq!(name.len(), 64);
    assert_eq!(volumes(t), vec![name.clone()]);
    let v = inspect_json(t, &["volume", "inspect", &name]);
    assert_eq!(v["Labels"]["com.docker.volume.anonymous"], "");
    assert_eq!(m["Source"], v["Mountpoint"]);
    // rm -v takes it along
    t.rcon(["rm", "-v", "ca"]).ok();
    assert!(volumes(t).is_empty());
    // --rm does too; -v name:path is not anonymous and stays
    t.rcon(["run", "--rm", "-v", "/scratch", "-v", "keep:/keep", "busybox", "touch", "/scratch/x"]).ok();
    assert_eq!(volumes(t), vec!["keep".to_string()]);
    // rm without -v leaves it for prune, which takes only anonymous ones
    t.rcon(["run", "--name", "cb", "-v", "/scratch", "busybox", "true"]).ok();
    t.rcon(["rm", "cb"]).ok();
    assert_eq!(volumes(t).len(), 2);
    let out = t.rcon(["volume", "prune", "-f"]).ok().to_string();
    assert!(out.starts_with("Deleted Volumes:\n") && out.lines().count() == 4, "{out}");
    assert_eq!(volumes(t), vec!["keep".to_string()]);
    // an anonymous volume shared through --volumes-from outlives rm -v of one user
    t.rcon(["create", "--name", "src", "-v", "/shared", "busybox", "true"]).ok();
    t.rcon(["run", "--name", "user", "--volumes-from", "src", "busybox", "touch", "/shared/f"]).ok();
    t.rcon(["rm", "-v", "user"]).ok();
    assert_eq!(volumes(t).len(), 2);
    t.rcon(["rm", "-v", "src"]).ok();
    assert_eq!(volumes(t), vec!["keep".to_string()]);
});

both_modes!(mount_flag_forms, |t| {
    img(t);
    let host = t.path("hostdir");
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(host.join("f"), "bound\n").unwrap();
    t.give(&host);
    let h = host.display().to_string();
    let out = t
        .rcon([
            "run", "--rm",
            "--mount", &format!("type=bind,source={h},target=/b,readonly"),
            "--mount", "type=tmpfs,destination=/t,tmpfs-size=1m,tmpfs-mode=1770",
            "--mount", "type=volume,src=mv,dst=/v",
            "--tmpfs", "/t2:size=2m",
            "busybox", "sh", "-c",
            "cat /b/f; touch /b/no 2>/dev/null || echo ro; stat -c %a /t; for m in /t /t2; do grep \" $m \" /proc/mounts | grep -o 'size=[0-9a-z]*'; done; echo v > /v/x && echo vol",
        ])
        .ok()
        .to_string();
    assert_eq!(out, "bound\nro\n1770\nsize=1024k\nsize=2048k\nvol\n");
    // -v creates a missing host directory; --mount refuses it, leaving nothing behind
    let missing = t.path("made-by-v");
    t.rcon(["run", "--rm", "-v", &format!("{}:/m", missing.display()), "busybox", "true"]).ok();
    assert!(missing.is_dir());
    let gone = t.path("not-there");
    t.rcon([
        "run",
        "--rm",
        "-v",
        "/anon",
        "--mount",
        &format!("type=bind,source={},target=/m", gone.display()),
        "busybox",
        "true",
    ])
    .fails(125, "bind source path does not exist");
    assert!(!gone.exists());
    // a volume with tmpfs driver options is a tmpfs in the container
    t.rcon(["volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=3m", "tv"]).ok();
    let out =
        t.rcon(["run", "--rm", "-v", "tv:/tv", "busybox", "sh", "-c", "grep ' /tv ' /proc/mounts | cut -d' ' -f3"]);
    assert_eq!(out.ok(), "tmpfs\n");
    // --volumes-from with a mode override; inspect shows each kind as Docker does
    t.rcon(["create", "--name", "donor", "-v", "shared:/s", "-v", &format!("{h}:/h"), "busybox", "true"]).ok();
    let r = t.rcon(["run", "--rm", "--volumes-from", "donor:ro", "busybox", "sh", "-c", "cat /h/f; touch /s/x"]);
    assert!(r.code != 0 && r.stdout == "bound\n" && r.stderr.contains("Read-only"), "{} {}", r.stdout, r.stderr);
    let c = inspect_json(t, &["inspect", "donor"]);
    assert_eq!(c["HostConfig"]["Binds"], serde_json::json!(["shared:/s", format!("{h}:/h")]));
    let bind = c["Mounts"].as_array().unwrap().iter().find(|m| m["Type"] == "bind").unwrap().clone();
    assert_eq!(bind["Source"], h.as_str());
    assert_eq!(bind["Propagation"], "rprivate");
    assert_eq!(c["Mounts"][0]["Mode"], "z");
    // bad input: one line, 125, no container and no new volume
    let before = volumes(t);
    t.rcon(["run", "--rm", "-v", "a/b:/x", "busybox", "true"]).fails(125, "invalid volume name \"a/b\"");
    t.rcon(["run", "--rm", "-v", "new1:/x", "-v", "new2:/x", "busybox", "true"]).fails(125, "duplicate mount point");
    t.rcon(["run", "--rm", "--mount", "type=volume,dst=/x,tmpfs-size=1", "busybox", "true"])
        .fails(125, "does not apply");
    t.rcon(["run", "--rm", "--name", "donor", "-v", "fresh:/x", "busybox", "true"]).fails(125, "already in use");
    t.rcon(["run", "--rm", "--volumes-from", "nosuch", "busybox", "true"]).fails(125, "no such container");
    assert_eq!(volumes(t), before);
    assert_eq!(t.rcon(["ps", "-aq"]).ok().lines().count(), 1);
});

both_modes!(bind_a_single_file_with_v, |t| {
    t.load_busybox("busybox");
    // Docker binds a file onto a file: the source must not be taken for a directory to create.
    let f = t.path("conf.txt");
    std::fs::write(&f, "from host\n").unwrap();
    t.give(&f);
    let v = format!("{}:/etc/app.conf:ro", f.display());
    assert_eq!(t.rcon(["run", "--rm", "-v", &v, "busybox", "cat", "/etc/app.conf"]).ok(), "from host\n");
    let v = format!("{}:/x", f.display());
    assert_eq!(t.rcon(["run", "--rm", "-v", &v, "busybox", "cat", "/x"]).ok(), "from host\n");
});
