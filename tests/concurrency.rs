//! Fifty rcon processes loading, tagging and removing images at once must
//! leave a consistent store: a readable index, every tag on one image, every
//! referenced layer and blob present, nothing unreferenced, no scratch left.

use std::collections::{HashMap, HashSet};
use std::process::Stdio;

use crate::common::fixtures;
use crate::common::*;

fn check_store(t: &TestEnv) {
    let root = t.data.join("rcon");
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("images.json")).unwrap()).expect("index is valid JSON");
    let mut tags = HashSet::new();
    let mut layers_used = HashSet::new();
    for img in index["images"].as_array().unwrap() {
        let id = img["id"].as_str().unwrap();
        assert!(root.join("blobs/sha256").join(&id[7..]).exists(), "config of {id} present");
        for tag in img["repo_tags"].as_array().unwrap() {
            assert!(tags.insert(tag.as_str().unwrap().to_string()), "tag {tag} on two images");
        }
        for l in img["layers"].as_array().unwrap() {
            let hex = &l.as_str().unwrap()[7..];
            let rec: serde_json::Value =
                serde_json::from_slice(&std::fs::read(root.join("layers").join(hex).join("layer.json")).unwrap())
                    .unwrap();
            assert!(root.join("blobs/sha256").join(&rec["blob"].as_str().unwrap()[7..]).exists());
            layers_used.insert(hex.to_string());
        }
    }
    for e in std::fs::read_dir(root.join("layers")).unwrap().flatten() {
        assert!(
            layers_used.contains(&e.file_name().to_string_lossy().to_string()),
            "unreferenced layer {:?}",
            e.file_name()
        );
    }
}

both_modes!(fifty_concurrent_processes, |t| {
    let archives: Vec<_> = (0..5)
        .map(|i| {
            let p =
                fixtures::two_layer_archive(&t.dir, &[&format!("img{i}:latest"), "shared:latest"], &format!("c{i}"));
            t.give(&p);
            p
        })
        .collect();
    t.load_busybox("base");
    let mut children = Vec::new();
    for n in 0..50 {
        let args: Vec<String> = match n % 5 {
            0 | 1 => vec!["load".into(), "-i".into(), archives[n % 5 + (n / 5) % 3].display().to_string()],
            2 => vec!["tag".into(), "base".into(), format!("tagged{n}:v1")],
            3 => vec!["rmi".into(), format!("img{}", (n / 5) % 5)],
            _ => vec!["tag".into(), "base".into(), "shared:latest".into()],
        };
        let mut c = t.cmd(&args);
        c.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        children.push((args, c.spawn().unwrap()));
    }
    let mut codes: HashMap<String, usize> = HashMap::new();
    for (args, child) in children {
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        // rmi may race with the load that creates its image: "no such image" is fine.
        if !out.status.success() {
            assert!(args[0] == "rmi" && err.contains("no such image"), "{args:?} failed: {err}");
        }
        *codes.entry(args[0].clone()).or_default() += 1;
        assert!(!err.contains("corrupt"), "{args:?}: {err}");
    }
    check_store(t);
    for n in (2..50).step_by(5) {
        t.rcon(["inspect", "-f", "{{.Id}}", &format!("tagged{n}:v1")]).ok();
    }
    // after a gc (prune) nothing unreferenced and no scratch remains
    t.rcon(["image", "prune", "-f"]).ok();
    check_store(t);
    let tmp: Vec<_> = std::fs::read_dir(t.data.join("rcon/tmp")).unwrap().flatten().map(|e| e.path()).collect();
    assert!(tmp.is_empty(), "scratch left: {tmp:?}");
});

#[test]
fn killed_load_leaves_a_store_the_next_command_repairs() {
    let t = TestEnv::new(Mode::Rootless);
    t.load_busybox("base");
    let a = fixtures::two_layer_archive(&t.dir, &["big:1"], "kill");
    t.give(&a);
    // stall the load on a pipe we never finish, then SIGKILL it
    let mut c = t.cmd(["load"]);
    c.stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = c.spawn().unwrap();
    let data = std::fs::read(&a).unwrap();
    use std::io::Write;
    child.stdin.as_mut().unwrap().write_all(&data[..data.len() / 2]).unwrap();
    let tmp = t.data.join("rcon/tmp");
    wait_for("load to start staging", std::time::Duration::from_secs(10), || {
        std::fs::read_dir(&tmp).ok()?.flatten().next().map(|_| ())
    });
    child.kill().unwrap();
    child.wait().unwrap();
    // the half-load is invisible
    assert_eq!(t.rcon(["images", "--format", "{{.Repository}}"]).ok(), "base\n");
    // and its scratch is swept by the next change to the store
    t.rcon(["load", "-i", a.to_str().unwrap()]).ok();
    t.rcon(["image", "prune", "-f"]).ok();
    let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().flatten().map(|e| e.path()).collect();
    assert!(left.is_empty(), "{left:?}");
    check_store(&t);
}
