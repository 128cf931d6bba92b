//! Test images built from Debian's static busybox, written as docker-archives
//! exactly as `docker save` lays them out. Deterministic (fixed mtimes), so
//! the same content always gives the same image id.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub const MTIME: u64 = 1_700_000_000;
pub const CREATED: &str = "2023-11-14T22:13:20Z";

pub fn sha256(b: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(b))
}

pub fn busybox_path() -> PathBuf {
    for p in ["/bin/busybox", "/usr/bin/busybox"] {
        if Path::new(p).exists() {
            return p.into();
        }
    }
    panic!("static busybox not found: apt-get install busybox-static (make test-setup does it)")
}

/// An entry of a test layer.
pub enum E<'a> {
    Dir(&'a str, u32),
    File(&'a str, &'a [u8], u32),
    Owned(&'a str, &'a [u8], u32, u32, u32),
    Link(&'a str, &'a str),
}

pub fn layer_tar(entries: &[E]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mtime(MTIME);
        h.set_uid(0);
        h.set_gid(0);
        match e {
            E::Dir(p, mode) => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(*mode);
                h.set_size(0);
                b.append_data(&mut h, p, &[][..]).unwrap();
            }
            E::File(p, data, mode) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(*mode);
                h.set_size(data.len() as u64);
                b.append_data(&mut h, p, *data).unwrap();
            }
            E::Owned(p, data, mode, uid, gid) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(*mode);
                h.set_uid(*uid as u64);
                h.set_gid(*gid as u64);
                h.set_size(data.len() as u64);
                b.append_data(&mut h, p, *data).unwrap();
            }
            E::Link(p, target) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_mode(0o777);
                h.set_size(0);
                b.append_link(&mut h, p, target).unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

/// The base layer: busybox with its applets, /etc/passwd and /etc/group with
/// a `user` (1000) and `nobody`, and a file owned by 1000:1000.
pub fn busybox_layer() -> &'static [u8] {
    static L: OnceLock<Vec<u8>> = OnceLock::new();
    L.get_or_init(|| {
        let bb = std::fs::read(busybox_path()).unwrap();
        let passwd = b"root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
        let group = b"root:x:0:\nuser:x:1000:\nnogroup:x:65534:\n";
        let mut entries = vec![
            E::Dir("bin", 0o755),
            E::File("bin/busybox", &bb, 0o755),
            E::Dir("etc", 0o755),
            E::File("etc/passwd", passwd, 0o644),
            E::File("etc/group", group, 0o644),
            E::Dir("home", 0o755),
            E::Dir("root", 0o700),
            E::Dir("tmp", 0o1777),
            E::Dir("var", 0o755),
            E::Owned("home/user/owned", b"mine\n", 0o640, 1000, 1000),
        ];
        for app in ["sh", "ls", "cat", "echo", "id", "true", "false", "env", "stat", "sleep", "touch", "mkdir", "rm", "chown", "hostname", "ps", "wc", "nc", "wget", "httpd", "grep", "mount", "top", "kill", "date", "head", "tail", "test", "sed", "uname", "whoami", "pwd", "find", "tty", "stty", "tr", "ip", "ulimit", "dd", "seq", "nslookup"] {
            entries.push(E::Link(Box::leak(format!("bin/{app}").into_boxed_str()), "busybox"));
        }
        let mut t = layer_tar(&entries);
        // The home dir entry is implied; own it like a real image would.
        t.shrink_to_fit();
        t
    })
}

/// Write a docker-archive with the given layers and tags; returns its path.
pub fn image_archive(dir: &Path, file: &str, tags: &[&str], layers: &[&[u8]], config: Value) -> PathBuf {
    let diff_ids: Vec<String> = layers.iter().map(|l| sha256(l)).collect();
    let mut cfg = json!({
        "architecture": host_arch(),
        "os": "linux",
        "created": CREATED,
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": layers.iter().enumerate().map(|(i, _)| json!({"created": CREATED, "created_by": format!("/bin/sh -c #(nop) ADD layer {i} in / ")})).collect::<Vec<_>>(),
    });
    merge(&mut cfg, config);
    let cfg_bytes = serde_json::to_vec(&cfg).unwrap();
    let id = sha256(&cfg_bytes);
    let hex = |d: &str| d.trim_start_matches("sha256:").to_string();
    let mut b = tar::Builder::new(Vec::new());
    let add = |b: &mut tar::Builder<Vec<u8>>, name: &str, data: &[u8]| {
        let mut h = tar::Header::new_ustar();
        h.set_mode(0o644);
        h.set_mtime(MTIME);
        h.set_size(data.len() as u64);
        b.append_data(&mut h, name, data).unwrap();
    };
    let mut layer_names = Vec::new();
    for (l, d) in layers.iter().zip(&diff_ids) {
        let name = format!("{}/layer.tar", hex(d));
        if !layer_names.contains(&name) {
            add(&mut b, &name, l);
        }
        layer_names.push(name);
    }
    add(&mut b, &format!("{}.json", hex(&id)), &cfg_bytes);
    let manifest = json!([{"Config": format!("{}.json", hex(&id)), "RepoTags": tags, "Layers": layer_names}]);
    add(&mut b, "manifest.json", &serde_json::to_vec(&manifest).unwrap());
    let path = dir.join(file);
    std::fs::write(&path, b.into_inner().unwrap()).unwrap();
    path
}

pub fn busybox_archive(dir: &Path, tags: &[&str]) -> PathBuf {
    let name = format!("busybox-{}.tar", tags.join("_").replace(['/', ':'], "_"));
    image_archive(dir, &name, tags, &[busybox_layer()], json!({}))
}

/// busybox plus a second layer with one file; `label` makes the config (and
/// so the image id) distinct.
pub fn two_layer_archive(dir: &Path, tags: &[&str], label: &str) -> PathBuf {
    let content = format!("{label}\n");
    let top = layer_tar(&[E::Dir("app", 0o755), E::File("app/label", content.as_bytes(), 0o644)]);
    let name = format!("two-{label}.tar");
    image_archive(
        dir,
        &name,
        tags,
        &[busybox_layer(), &top],
        json!({"config": {"Labels": {"name": label}, "Cmd": ["sh"]}}),
    )
}

fn merge(a: &mut Value, b: Value) {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (a, b) => *a = b,
    }
}

pub fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        a => a,
    }
}
