//! save/load round trips, compression, OCI archives, skopeo interop, and
//! damaged archives that must leave the store exactly as it was.

use std::process::Command;

use crate::common::fixtures::{self, sha256};
use crate::common::*;

fn ids(t: &TestEnv) -> String {
    let mut v: Vec<String> = t.rcon(["images", "-q", "--no-trunc", "-a"]).ok().lines().map(String::from).collect();
    v.sort();
    v.join("\n")
}

fn store_listing(t: &TestEnv) -> Vec<String> {
    let mut out = Vec::new();
    for sub in ["blobs/sha256", "layers"] {
        if let Ok(rd) = std::fs::read_dir(t.data.join("rcon").join(sub)) {
            for e in rd.flatten() {
                out.push(format!("{sub}/{}", e.file_name().to_string_lossy()));
            }
        }
    }
    out.sort();
    out
}

both_modes!(save_load_round_trip, |t| {
    let id = t.load_busybox("busybox");
    let a = fixtures::two_layer_archive(&t.dir, &["app:1", "app:2"], "rt");
    t.give(&a);
    t.rcon(["load", "-i", a.to_str().unwrap()]).ok();
    let app = t.rcon(["inspect", "-f", "{{.Id}}", "app:1"]).ok().trim().to_string();
    for format in ["docker-archive", "oci-archive"] {
        let out = t.path(&format!("all-{format}.tar"));
        t.rcon(["save", "--format", format, "-o", out.to_str().unwrap(), "busybox", "app:1", "app:2"]).ok();
        let t2 = TestEnv::new(t.mode);
        let copy = t2.path("in.tar");
        std::fs::copy(&out, &copy).unwrap();
        t2.give(&copy);
        let loaded = t2.rcon(["load", "-i", copy.to_str().unwrap()]).ok().to_string();
        for line in ["Loaded image: busybox:latest", "Loaded image: app:1", "Loaded image: app:2"] {
            assert!(loaded.contains(line), "{format}: {loaded}");
        }
        assert_eq!(t2.rcon(["inspect", "-f", "{{.Id}}", "busybox"]).ok().trim(), id, "{format}: same id");
        assert_eq!(t2.rcon(["inspect", "-f", "{{.Id}}", "app:2"]).ok().trim(), app, "{format}: same id");
        // shared base layer stored once
        assert_eq!(std::fs::read_dir(t2.data.join("rcon/layers")).unwrap().count(), 2);
    }
    // save to stdout, load from stdin; saving by id records no tag
    let r = t.rcon(["save", &id[7..19]]);
    r.ok();
    let t3 = TestEnv::new(t.mode);
    let out = t3.rcon_stdin(["load"], &r.raw_stdout).ok().to_string();
    assert_eq!(out, format!("Loaded image ID: {id}\n"));
});

both_modes!(compressed_archives, |t| {
    let a = fixtures::busybox_archive(&t.dir, &["gz:1"]);
    let raw = std::fs::read(&a).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &raw).unwrap();
    let out = t.rcon_stdin(["load"], &gz.finish().unwrap()).ok().to_string();
    assert_eq!(out, "Loaded image: gz:1\n");
    let a = fixtures::busybox_archive(&t.dir, &["zst:1"]);
    let z = zstd::encode_all(&std::fs::read(&a).unwrap()[..], 3).unwrap();
    assert_eq!(t.rcon_stdin(["load", "-q"], &z).ok(), "Loaded image: zst:1\n");
});

/// Build an OCI layout by hand with a gzip layer, as skopeo and podman write it.
fn oci_archive_gzip(dir: &std::path::Path, name: &str) -> (std::path::PathBuf, String) {
    use serde_json::json;
    let layer = fixtures::busybox_layer();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, layer).unwrap();
    let gz = gz.finish().unwrap();
    let cfg =
        serde_json::to_vec(&json!({"architecture": fixtures::host_arch(), "os": "linux", "created": fixtures::CREATED,
        "config": {"Cmd": ["sh"]}, "rootfs": {"type": "layers", "diff_ids": [sha256(layer)]}}))
        .unwrap();
    let manifest = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(&cfg), "size": cfg.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha256(&gz), "size": gz.len()}]})).unwrap();
    let index = serde_json::to_vec(&json!({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": sha256(&manifest), "size": manifest.len(), "annotations": {"org.opencontainers.image.ref.name": name}}]})).unwrap();
    let mut b = tar::Builder::new(Vec::new());
    for (n, d) in [
        ("oci-layout".to_string(), br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec()),
        (format!("blobs/sha256/{}", &sha256(&gz)[7..]), gz.clone()),
        (format!("blobs/sha256/{}", &sha256(&cfg)[7..]), cfg.clone()),
        (format!("blobs/sha256/{}", &sha256(&manifest)[7..]), manifest.clone()),
        ("index.json".to_string(), index),
    ] {
        let mut h = tar::Header::new_ustar();
        h.set_size(d.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, n, &d[..]).unwrap();
    }
    let p = dir.join("oci-gz.tar");
    std::fs::write(&p, b.into_inner().unwrap()).unwrap();
    (p, sha256(&cfg))
}

both_modes!(oci_archive_with_gzip_layer, |t| {
    let (p, id) = oci_archive_gzip(&t.dir, "localhost/oci/img:7");
    t.give(&p);
    assert_eq!(t.rcon(["load", "-i", p.to_str().unwrap()]).ok(), "Loaded image: localhost/oci/img:7\n");
    assert_eq!(t.rcon(["inspect", "-f", "{{.Id}}", "localhost/oci/img:7"]).ok().trim(), id);
    // saved as OCI again, the gzip blob is kept byte for byte
    let out = t.path("again.tar");
    t.rcon(["save", "--format", "oci-archive", "-o", out.to_str().unwrap(), "localhost/oci/img:7"]).ok();
    let names: Vec<String> = tar::Archive::new(std::fs::File::open(&out).unwrap())
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    let gz_blob = std::fs::read(&p).unwrap();
    let _ = gz_blob;
    assert!(names.iter().any(|n| n == "index.json") && names.iter().any(|n| n == "oci-layout"), "{names:?}");
    // and as docker-archive the layer is the uncompressed tar with the DiffID
    let d = t.path("d.tar");
    t.rcon(["save", "-o", d.to_str().unwrap(), "localhost/oci/img:7"]).ok();
    let mut ar = tar::Archive::new(std::fs::File::open(&d).unwrap());
    let mut found = false;
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        if e.path().unwrap().to_string_lossy().ends_with(".tar") {
            let mut buf = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut buf).unwrap();
            assert_eq!(sha256(&buf), sha256(fixtures::busybox_layer()));
            found = true;
        }
    }
    assert!(found);
});

fn skopeo() -> &'static str {
    assert!(
        Command::new("skopeo").arg("--version").output().map(|o| o.status.success()).unwrap_or(false),
        "skopeo is needed for interop tests: apt-get install skopeo (make test-setup does it)"
    );
    "skopeo"
}

#[test]
fn skopeo_reads_what_we_save_and_we_read_what_it_writes() {
    let t = TestEnv::new(Mode::Rootless);
    let id = t.load_busybox("interop:1");
    let sk = skopeo();
    for (format, transport) in [("docker-archive", "docker-archive"), ("oci-archive", "oci-archive")] {
        let out = t.path(&format!("ours-{format}.tar"));
        t.rcon(["save", "--format", format, "-o", out.to_str().unwrap(), "interop:1"]).ok();
        let o = Command::new(sk)
            .args(["inspect", "--config", "--raw"])
            .arg(format!("{transport}:{}", out.display()))
            .output()
            .unwrap();
        assert!(o.status.success(), "skopeo inspect {format}: {}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(sha256(&o.stdout), id, "skopeo sees our config byte for byte");
        let o = Command::new(sk).args(["inspect"]).arg(format!("{transport}:{}", out.display())).output().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["Layers"].as_array().unwrap().len(), 1);
    }
    // skopeo converts our docker-archive to an OCI archive (gzip layers) and back to docker-archive; we load both
    let ours = t.path("ours-docker-archive.tar");
    for (dest, file) in [("oci-archive", "sk-oci.tar"), ("docker-archive", "sk-docker.tar")] {
        let p = t.path(file);
        let mut args = vec!["copy".to_string(), "--quiet".into()];
        if dest == "oci-archive" {
            args.push("--dest-compress".into());
        }
        args.push(format!("docker-archive:{}", ours.display()));
        args.push(format!("{dest}:{}:skopeo/copy:2", p.display()));
        let o = Command::new(sk).args(&args).output().unwrap();
        assert!(o.status.success(), "skopeo copy: {}", String::from_utf8_lossy(&o.stderr));
        t.give(&p);
        let t2 = TestEnv::new(Mode::Rootless);
        let loaded = t2.rcon(["load", "-i", p.to_str().unwrap()]).ok().to_string();
        assert!(loaded.contains("skopeo/copy:2"), "{dest}: {loaded}");
        if dest == "docker-archive" {
            assert_eq!(t2.rcon(["inspect", "-f", "{{.Id}}", "skopeo/copy:2"]).ok().trim(), id, "{dest}: same image id");
        }
        // skopeo rewrites the config when converting to OCI; the content stays
        let layers = t2.rcon(["inspect", "-f", "{{json .RootFS.Layers}}", "skopeo/copy:2"]).ok().to_string();
        assert_eq!(layers.trim(), format!("[\"{}\"]", sha256(fixtures::busybox_layer())), "{dest}");
    }
}

both_modes!(damaged_archives_change_nothing, |t| {
    t.load_busybox("keep");
    let before_ids = ids(t);
    let before_files = store_listing(t);
    let good = std::fs::read(fixtures::two_layer_archive(&t.dir, &["victim:1"], "dmg")).unwrap();
    let mut cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("truncated", good[..good.len() / 2].to_vec(), "invalid archive"),
        ("empty", Vec::new(), "invalid archive"),
        ("not a tar", b"hello world, this is not an archive".repeat(40), "invalid archive"),
    ];
    // flip one byte inside the top layer's file content: DiffID no longer matches
    let mut flipped = good.clone();
    let pos = flipped.windows(4).position(|w| w == b"dmg\n").expect("layer content");
    flipped[pos] = b'X';
    cases.push(("tampered layer", flipped, "is corrupt"));
    // a manifest naming a missing layer
    let mut b = tar::Builder::new(Vec::new());
    let m = br#"[{"Config":"c.json","RepoTags":["x:1"],"Layers":["nope/layer.tar"]}]"#;
    let c = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:0000000000000000000000000000000000000000000000000000000000000000"]}}"#;
    for (n, d) in [("manifest.json", &m[..]), ("c.json", &c[..])] {
        let mut h = tar::Header::new_ustar();
        h.set_size(d.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, n, d).unwrap();
    }
    cases.push(("missing layer", b.into_inner().unwrap(), "not in the archive"));
    for (what, data, needle) in cases {
        let r = t.rcon_stdin(["load"], &data);
        assert_eq!(r.code, 125, "{what}: {}", r.stderr);
        assert!(r.stderr.contains(needle), "{what}: {}", r.stderr);
        assert_eq!(r.stderr.trim().lines().count(), 1, "{what}: one line: {}", r.stderr);
        assert_eq!(ids(t), before_ids, "{what}: images unchanged");
        assert_eq!(store_listing(t), before_files, "{what}: blobs and layers unchanged");
        let tmp: Vec<_> = std::fs::read_dir(t.data.join("rcon/tmp")).unwrap().flatten().map(|e| e.path()).collect();
        assert!(tmp.is_empty(), "{what}: scratch left behind: {tmp:?}");
    }
});
