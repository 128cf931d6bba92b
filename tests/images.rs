//! images, tag, rmi, inspect, history, prune, import, exit codes.

use crate::common::fixtures::{self, sha256};
use crate::common::*;
use serde_json::Value;

both_modes!(load_and_list, |t| {
    let id = t.load_busybox("busybox");
    assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");
    let out = t.rcon(["images"]).ok().to_string();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    for col in ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"] {
        assert!(lines[0].contains(col), "header {:?}", lines[0]);
    }
    let row: Vec<&str> = lines[1].split("   ").map(str::trim).filter(|s| !s.is_empty()).collect();
    assert_eq!(row[0], "busybox");
    assert_eq!(row[1], "latest");
    assert_eq!(row[2], &id[7..19]);
    assert!(row[3].ends_with(" ago"), "{row:?}");
    // Docker's decimal units with three significant digits.
    let size = row[4];
    assert!(size.ends_with("MB") && size.contains('.'), "{size}");
    // -q, --no-trunc, --digests
    assert_eq!(t.rcon(["images", "-q"]).ok().trim(), &id[7..19]);
    assert_eq!(t.rcon(["images", "-q", "--no-trunc"]).ok().trim(), id);
    assert!(t.rcon(["images", "--digests"]).ok().lines().next().unwrap().contains("DIGEST"));
    // the name resolves in every documented form
    for name in [
        "busybox",
        "busybox:latest",
        "docker.io/library/busybox",
        "docker.io/library/busybox:latest",
        &id[7..19],
        &id[7..11],
        &id,
    ] {
        assert_eq!(t.rcon(["image", "inspect", "--format", "{{.Id}}", name]).ok().trim(), id, "{name}");
    }
});

both_modes!(formats_and_filters, |t| {
    let id = t.load_busybox("busybox:1");
    t.rcon(["tag", "busybox:1", "localhost:5000/team/app:v2"]).ok();
    let json_lines = t.rcon(["images", "--format", "json"]).ok().to_string();
    let rows: Vec<Value> = json_lines.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 2);
    let keys: Vec<&String> = rows[0].as_object().unwrap().keys().collect();
    for k in [
        "Containers",
        "CreatedAt",
        "CreatedSince",
        "Digest",
        "ID",
        "Repository",
        "SharedSize",
        "Size",
        "Tag",
        "UniqueSize",
        "VirtualSize",
    ] {
        assert!(keys.iter().any(|x| *x == k), "{k} missing in {keys:?}");
    }
    let same = t.rcon(["images", "--format", "{{json .}}"]).ok().to_string();
    assert_eq!(same, json_lines);
    let custom = t.rcon(["images", "--format", "{{.Repository}}:{{.Tag}}"]).ok().to_string();
    let mut names: Vec<&str> = custom.lines().collect();
    names.sort();
    assert_eq!(names, ["busybox:1", "localhost:5000/team/app:v2"]);
    let table = t.rcon(["images", "--format", "table {{.ID}}\\t{{.Repository}}"]).ok().to_string();
    assert!(table.starts_with("IMAGE ID       REPOSITORY\n"), "{table:?}");
    let r =
        t.rcon(["images", "--filter", "reference=localhost:5000/*/*", "--format", "{{.Repository}}"]).ok().to_string();
    assert_eq!(r, "localhost:5000/team/app\n");
    assert_eq!(t.rcon(["images", "--filter", "dangling=true", "-q"]).ok(), "");
    assert_eq!(t.rcon(["images", "busybox", "--format", "{{.Tag}}"]).ok(), "1\n");
    // label filter: the two-layer image carries name=<label>
    let a = fixtures::two_layer_archive(&t.dir, &["labelled:x"], "alpha");
    t.give(&a);
    t.rcon(["load", "-i", a.to_str().unwrap()]).ok();
    assert_eq!(t.rcon(["images", "-f", "label=name=alpha", "--format", "{{.Repository}}"]).ok(), "labelled\n");
    assert_eq!(t.rcon(["images", "-f", "label=name", "--format", "{{.Repository}}"]).ok(), "labelled\n");
    assert_eq!(t.rcon(["images", "-f", "label=name=beta", "-q"]).ok(), "");
    t.rcon(["images", "-f", "bogus=1"]).fails(125, "invalid filter \"bogus\"");
    let _ = id;
});

both_modes!(inspect_shape, |t| {
    let id = t.load_busybox("busybox");
    let out = t.rcon(["inspect", "busybox"]).ok().to_string();
    assert!(out.starts_with("[\n    {\n        \"Id\": "), "Docker's 4-space indent: {out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let img = &v[0];
    assert_eq!(img["Id"], Value::String(id.clone()));
    assert_eq!(img["RepoTags"][0], "busybox:latest");
    assert_eq!(img["Config"]["Cmd"][0], "sh");
    assert_eq!(img["Config"]["AttachStdin"], false);
    assert_eq!(img["Os"], "linux");
    assert_eq!(img["RootFS"]["Type"], "layers");
    assert_eq!(img["RootFS"]["Layers"][0], sha256(fixtures::busybox_layer()));
    assert_eq!(img["Created"], fixtures::CREATED);
    assert!(img["Size"].as_u64().unwrap() > 500_000);
    assert_eq!(
        t.rcon(["inspect", "-f", "{{.Os}}/{{.Architecture}}", "busybox"]).ok().trim(),
        format!("linux/{}", fixtures::host_arch())
    );
    assert_eq!(t.rcon(["inspect", "-f", "{{json .RepoTags}}", "busybox"]).ok(), "[\"busybox:latest\"]\n");
    let r = t.rcon(["inspect", "busybox", "nosuch"]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("no such object: nosuch"), "{}", r.stderr);
    assert!(r.stdout.contains(&id), "found objects are still printed");
});

both_modes!(history_columns, |t| {
    let a = fixtures::two_layer_archive(&t.dir, &["hist:1"], "h");
    t.give(&a);
    t.rcon(["load", "-i", a.to_str().unwrap()]).ok();
    let out = t.rcon(["history", "hist:1"]).ok().to_string();
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("IMAGE"), "{out}");
    for col in ["CREATED", "CREATED BY", "SIZE", "COMMENT"] {
        assert!(lines[0].contains(col));
    }
    assert_eq!(lines.len(), 3);
    let id = t.rcon(["inspect", "-f", "{{.Id}}", "hist:1"]).ok().trim().to_string();
    assert!(lines[1].starts_with(&id[7..19]));
    assert!(lines[2].starts_with("<missing>"));
    // CREATED BY is cut at 45 characters with an ellipsis unless --no-trunc
    assert!(lines[1].contains("/bin/sh -c #(nop) ADD layer 1 in /"), "{out}");
    let q = t.rcon(["history", "-q", "--no-trunc", "hist:1"]).ok().to_string();
    assert_eq!(q.lines().next().unwrap(), id);
    let sizes = t.rcon(["history", "--format", "{{.Size}}", "-H=false", "hist:1"]).ok().to_string();
    let first: u64 = sizes.lines().next().unwrap().parse().unwrap();
    assert_eq!(first, 2, "top layer holds the 2-byte file `h\\n`");
});

both_modes!(tag_and_rmi, |t| {
    let id = t.load_busybox("busybox");
    t.rcon(["tag", "busybox", "other/name:v1"]).ok();
    t.rcon(["image", "tag", &id[7..19], "third"]).ok();
    let tags = t.rcon(["inspect", "-f", "{{json .RepoTags}}", "busybox"]).ok().to_string();
    assert_eq!(tags.trim(), r#"["busybox:latest","other/name:v1","third:latest"]"#);
    // by id with several repositories: refused without -f
    t.rcon(["rmi", &id[7..19]]).fails(125, "use -f");
    // by name: untag only
    assert_eq!(t.rcon(["rmi", "other/name:v1"]).ok(), "Untagged: other/name:v1\n");
    assert_eq!(t.rcon(["image", "rm", "third"]).ok(), "Untagged: third:latest\n");
    // last name: untag and delete, layers go too
    let out = t.rcon(["rmi", "busybox"]).ok().to_string();
    assert_eq!(out, format!("Untagged: busybox:latest\nDeleted: {id}\n"));
    assert_eq!(t.rcon(["images", "-q"]).ok(), "");
    let layers: Vec<_> = std::fs::read_dir(t.data.join("rcon/layers")).unwrap().collect();
    assert!(layers.is_empty(), "layers left: {layers:?}");
    let blobs: Vec<_> = std::fs::read_dir(t.data.join("rcon/blobs/sha256")).unwrap().collect();
    assert!(blobs.is_empty(), "blobs left: {blobs:?}");
    t.rcon(["rmi", "busybox"]).fails(125, "no such image: busybox:latest");
    // -f with several repositories removes them all
    let id = t.load_busybox("a");
    t.rcon(["tag", "a", "b"]).ok();
    let out = t.rcon(["rmi", "-f", &id]).ok().to_string();
    assert!(
        out.contains("Untagged: a:latest")
            && out.contains("Untagged: b:latest")
            && out.contains(&format!("Deleted: {id}")),
        "{out}"
    );
});

both_modes!(retag_moves_and_dangling_prune, |t| {
    let a = fixtures::two_layer_archive(&t.dir, &["app:latest"], "one");
    let b = fixtures::two_layer_archive(&t.dir, &["app:latest"], "two");
    t.give(&a);
    t.give(&b);
    t.rcon(["load", "-i", a.to_str().unwrap()]).ok();
    let old = t.rcon(["inspect", "-f", "{{.Id}}", "app"]).ok().trim().to_string();
    let out = t.rcon(["load", "-i", b.to_str().unwrap()]).ok().to_string();
    assert!(
        out.contains(&format!(
            "The image app:latest already exists, renaming the old one with ID {old} to empty string"
        )),
        "{out}"
    );
    let dangling =
        t.rcon(["images", "-f", "dangling=true", "--format", "{{.Repository}} {{.Tag}} {{.ID}}"]).ok().to_string();
    assert_eq!(dangling, format!("<none> <none> {}\n", &old[7..19]));
    // prune without -f and without a terminal answers no
    let r = t.rcon(["image", "prune"]);
    assert_eq!(r.code, 0);
    assert!(r.stderr.contains("WARNING! This will remove all dangling images."));
    assert_eq!(t.rcon(["images", "-q"]).ok().lines().count(), 2);
    let out = t.rcon(["image", "prune", "-f"]).ok().to_string();
    assert!(out.starts_with(&format!("Deleted Images:\ndeleted: {old}\n\nTotal reclaimed space: ")), "{out}");
    // only the unique top layer was reclaimed: "4B" (`one\n`)
    assert!(out.ends_with("Total reclaimed space: 4B\n"), "{out}");
    assert_eq!(t.rcon(["images", "-q"]).ok().lines().count(), 1);
    let out = t.rcon(["image", "prune", "-a", "-f"]).ok().to_string();
    assert!(out.contains("deleted: sha256:"));
    assert_eq!(t.rcon(["images", "-q"]).ok(), "");
});

both_modes!(import_with_changes, |t| {
    let rootfs = t.path("rootfs.tar");
    std::fs::write(&rootfs, fixtures::busybox_layer()).unwrap();
    t.give(&rootfs);
    let out = t
        .rcon([
            "import",
            "-c",
            "CMD [\"/bin/echo\", \"hi\"]",
            "-c",
            "ENV A=1 B=\"two words\"",
            "-c",
            "WORKDIR /srv",
            "-c",
            "USER 1000",
            "-c",
            "EXPOSE 80",
            "-c",
            "LABEL team=core",
            "-c",
            "ENTRYPOINT [\"/bin/sh\", \"-c\"]",
            "-m",
            "hello",
            rootfs.to_str().unwrap(),
            "imported:v1",
        ])
        .ok()
        .to_string();
    assert!(out.starts_with("sha256:") && out.trim().len() == 71, "{out}");
    let v: Value = serde_json::from_str(t.rcon(["inspect", "imported:v1"]).ok()).unwrap();
    let c = &v[0]["Config"];
    assert_eq!(c["Cmd"], serde_json::json!(["/bin/echo", "hi"]));
    assert_eq!(c["Entrypoint"], serde_json::json!(["/bin/sh", "-c"]));
    assert_eq!(c["Env"], serde_json::json!(["A=1", "B=two words"]));
    assert_eq!(c["WorkingDir"], "/srv");
    assert_eq!(c["User"], "1000");
    assert_eq!(c["Labels"]["team"], "core");
    assert!(c["ExposedPorts"]["80/tcp"].is_object());
    assert_eq!(v[0]["Comment"], "hello");
    assert_eq!(v[0]["RootFS"]["Layers"][0], sha256(fixtures::busybox_layer()));
    // stdin, gzip-compressed, untagged
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, fixtures::busybox_layer()).unwrap();
    let out = t.rcon_stdin(["import", "-"], &gz.finish().unwrap()).ok().to_string();
    let id = out.trim();
    let h = t.rcon(["history", "--format", "{{.Comment}}", id]).ok().to_string();
    assert_eq!(h, "Imported from -\n");
    // bad input: nothing stored
    let before = t.rcon(["images", "-q", "-a"]).ok().to_string();
    t.rcon(["import", "-c", "RUN true", rootfs.to_str().unwrap()]).fails(125, "RUN is not allowed");
    t.rcon_stdin(
        ["import", "-"],
        b"this is not a tar archive at all, it is text and long enough to not be a header maybe",
    )
    .fails(125, "not a valid root file system tarball");
    t.rcon(["import", "/nonexistent.tar"]).fails(125, "/nonexistent.tar");
    assert_eq!(t.rcon(["images", "-q", "-a"]).ok(), before);
});

both_modes!(ownership_is_kept, |t| {
    t.load_busybox("busybox");
    let layer = t.data.join("rcon/layers").join(&sha256(fixtures::busybox_layer())[7..]).join("diff");
    let owned = layer.join("home/user/owned");
    let (uid, gid) = TestEnv::owner(&owned);
    match t.mode {
        Mode::Root => assert_eq!((uid, gid), (1000, 1000)),
        Mode::Rootless => {
            // container uid 1000 = subuid start + 999 on the host
            let start = subuid_start().expect("test user has a subuid range");
            assert_eq!(uid, start + 999);
        }
    }
    let root_owned = layer.join("bin/busybox");
    let (uid, _) = TestEnv::owner(&root_owned);
    let expect = match (t.mode, test_user()) {
        (Mode::Root, _) => 0,
        (Mode::Rootless, Some(u)) => u.uid,
        (Mode::Rootless, None) => unsafe { libc::geteuid() },
    };
    assert_eq!(uid, expect, "container root is the calling user");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(layer.join("tmp")).unwrap().permissions().mode() & 0o7777, 0o1777);
});

both_modes!(bad_references_and_exit_codes, |t| {
    t.rcon(["tag", "nosuch", "x"]).fails(125, "no such image: nosuch:latest");
    t.rcon(["image", "inspect", "UPPER"]).fails(125, "invalid reference format");
    t.load_busybox("busybox");
    t.rcon(["tag", "busybox", "Bad:Name"]).fails(125, "invalid reference format");
    t.rcon(["tag", "busybox", "a:b:c"]).fails(125, "invalid reference format");
    t.rcon(["images", "--bogus-flag"]).fails(125, "--bogus-flag");
    let r = t.rcon(["rmi", "nosuch"]);
    r.fails(125, "no such image: nosuch:latest");
    assert_eq!(r.stderr.lines().count(), 1, "one-line error: {}", r.stderr);
});

#[test]
fn no_subuid_range_falls_back_with_warning() {
    // A user without /etc/subuid entry: single-id mapping, warned once.
    if !is_root() {
        eprintln!("note: needs root to create a user without a subuid range");
        return;
    }
    let name = "rconnosub";
    let exists = std::process::Command::new("id").arg(name).output().unwrap().status.success();
    if !exists {
        let st = std::process::Command::new("useradd")
            .args(["--no-create-home", "-K", "SUB_UID_COUNT=0", "-K", "SUB_GID_COUNT=0", name])
            .status()
            .unwrap();
        assert!(st.success());
    }
    let uid: u32 = String::from_utf8(std::process::Command::new("id").args(["-u", name]).output().unwrap().stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let gid: u32 = String::from_utf8(std::process::Command::new("id").args(["-g", name]).output().unwrap().stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(!std::fs::read_to_string("/etc/subuid")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with(&format!("{name}:"))));
    let t = TestEnv::new(Mode::Root);
    chown_tree(&t.dir, uid, gid);
    let archive = fixtures::busybox_archive(&t.dir, &["busybox"]);
    chown_tree(&archive, uid, gid);
    let mut c = t.cmd(["load", "-i", archive.to_str().unwrap()]);
    c.env_remove("RCON_ROOT").env_remove("RCON_RUNROOT").env_remove("RCON_CONFIG");
    c.env("XDG_DATA_HOME", &t.data).env("XDG_RUNTIME_DIR", &t.run).env("XDG_CONFIG_HOME", &t.config);
    unsafe {
        use std::os::unix::process::CommandExt;
        c.pre_exec(move || {
            if libc::setgroups(1, &gid) != 0 || libc::setgid(gid) != 0 || libc::setuid(uid) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let r = Run::from(c.output().unwrap());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stderr.matches("no subuid/subgid range").count(), 1, "warned once: {}", r.stderr);
    assert!(r.stderr.contains("usermod --add-subuids"), "names the fix: {}", r.stderr);
    let owned = t.data.join("rcon/layers").join(&sha256(fixtures::busybox_layer())[7..]).join("diff/home/user/owned");
    assert_eq!(TestEnv::owner(&owned).0, uid, "everything belongs to the user");
}

/// A one-shot HTTP server on loopback serving `body` once.
fn serve_once(body: Vec<u8>) -> (String, std::thread::JoinHandle<String>) {
    use std::io::{BufRead, BufReader, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/rootfs.tar.gz", l.local_addr().unwrap());
    let h = std::thread::spawn(move || {
        let (s, _) = l.accept().unwrap();
        let mut r = BufReader::new(s.try_clone().unwrap());
        let mut request_line = String::new();
        r.read_line(&mut request_line).unwrap();
        loop {
            let mut line = String::new();
            if r.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                break;
            }
        }
        let mut s = s;
        write!(s, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len()).unwrap();
        s.write_all(&body).unwrap();
        request_line
    });
    (url, h)
}

both_modes!(import_from_url, |t| {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, fixtures::busybox_layer()).unwrap();
    let (url, server) = serve_once(gz.finish().unwrap());
    let out = t.rcon(["import", &url, "fromurl:1"]).ok().to_string();
    assert!(server.join().unwrap().starts_with("GET /rootfs.tar.gz "), "rcon fetched the URL");
    assert_eq!(t.rcon(["inspect", "-f", "{{.Id}}", "fromurl:1"]).ok(), out);
    assert_eq!(t.rcon(["history", "--format", "{{.Comment}}", "fromurl:1"]).ok(), format!("Imported from {url}\n"));
    // a refused connection is a one-line error and stores nothing
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let r = t.rcon(["import", &format!("http://{dead}/x.tar"), "nothing:1"]);
    r.fails(125, &format!("http://{dead}/x.tar"));
    assert_eq!(r.stderr.trim().lines().count(), 1);
    t.rcon(["inspect", "nothing:1"]).fails(125, "no such object");
});

both_modes!(since_and_before_filters, |t| {
    // creation times come from the configs: make three distinct ones
    for (i, created) in ["2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z", "2022-01-01T00:00:00Z"].iter().enumerate() {
        let p = fixtures::image_archive(
            &t.dir,
            &format!("t{i}.tar"),
            &[&format!("t{i}:latest")],
            &[fixtures::busybox_layer()],
            serde_json::json!({"created": created, "config": {"Labels": {"i": i.to_string()}}}),
        );
        t.give(&p);
        t.rcon(["load", "-i", p.to_str().unwrap()]).ok();
    }
    assert_eq!(t.rcon(["images", "--format", "{{.Repository}}"]).ok(), "t2\nt1\nt0\n", "newest first");
    assert_eq!(t.rcon(["images", "-f", "since=t0", "--format", "{{.Repository}}"]).ok(), "t2\nt1\n");
    assert_eq!(t.rcon(["images", "-f", "before=t2", "--format", "{{.Repository}}"]).ok(), "t1\nt0\n");
    assert_eq!(t.rcon(["images", "-f", "since=t0", "-f", "before=t2", "--format", "{{.Repository}}"]).ok(), "t1\n");
    let created = t.rcon(["images", "t1", "--format", "{{.CreatedAt}}"]).ok().to_string();
    assert_eq!(created, "2021-01-01 00:00:00 +0000 UTC\n");
    assert!(t.rcon(["images", "t0", "--format", "{{.CreatedSince}}"]).ok().trim().ends_with("years ago"));
});
