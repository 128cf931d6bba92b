//! Hostile layers through `rcon load`, as the unprivileged user and as root:
//! every one is rejected (store unchanged) or contained. The full corpus of
//! tar tricks is unit-tested against the extractor in src/storage/extract.rs.

use crate::common::fixtures;
use crate::common::*;
use serde_json::json;

/// A raw tar header whose name the tar crate would refuse to write.
pub fn raw_entry(out: &mut Vec<u8>, name: &str, kind: u8, link: &str, data: &[u8], mode: u32) {
    let mut h = tar::Header::new_old();
    {
        let o = h.as_old_mut();
        o.name[..name.len()].copy_from_slice(name.as_bytes());
        o.linkname[..link.len()].copy_from_slice(link.as_bytes());
    }
    h.set_mode(mode);
    h.set_size(data.len() as u64);
    h.set_mtime(fixtures::MTIME);
    h.set_entry_type(tar::EntryType::new(kind));
    h.set_cksum();
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
}

pub fn finish(mut v: Vec<u8>) -> Vec<u8> {
    v.extend_from_slice(&[0u8; 1024]);
    v
}

fn load_layer(t: &TestEnv, name: &str, layer: &[u8]) -> Run {
    let p = fixtures::image_archive(&t.dir, &format!("{name}.tar"), &[&format!("{name}:1")], &[layer], json!({}));
    t.give(&p);
    t.rcon(["load", "-i", p.to_str().unwrap()])
}

both_modes!(hostile_layers_via_load, |t| {
    let sentinel_dir = t.path("outside");
    std::fs::create_dir_all(&sentinel_dir).unwrap();
    t.give(&sentinel_dir);
    let escape_target = sentinel_dir.join("pwned");
    let rel_up = "../../../../../../../../../../..";
    let outside_rel = format!("{rel_up}{}", escape_target.display());
    let mut cases: Vec<(&str, Vec<u8>, &str)> = Vec::new();
    let mut v = Vec::new();
    raw_entry(&mut v, &outside_rel, b'0', "", b"x", 0o644);
    cases.push(("dotdot", finish(v), "escapes the layer"));
    let mut v = Vec::new();
    raw_entry(&mut v, "evil", b'2', sentinel_dir.to_str().unwrap(), b"", 0o777);
    raw_entry(&mut v, "evil/pwned", b'0', "", b"x", 0o644);
    cases.push(("symlink then write", finish(v), "symlink"));
    let mut v = Vec::new();
    raw_entry(&mut v, "hl", b'1', &outside_rel, b"", 0o644);
    cases.push(("hardlink outside", finish(v), "outside the layer"));
    let mut v = Vec::new();
    raw_entry(&mut v, "hl", b'1', "/etc/passwd", b"", 0o644);
    cases.push(("hardlink to host file", finish(v), "hardlink"));
    for (what, layer, needle) in cases {
        let r = load_layer(t, what.replace(' ', "-").as_str(), &layer);
        assert_eq!(r.code, 125, "{what}: {}", r.stderr);
        assert!(r.stderr.contains(needle), "{what}: {}", r.stderr);
        assert!(!escape_target.exists(), "{what}: wrote outside");
        assert_eq!(t.rcon(["images", "-q"]).ok(), "", "{what}: nothing stored");
        assert_eq!(std::fs::read_dir(t.data.join("rcon/layers")).unwrap().count(), 0, "{what}");
    }
    // an absolute name is contained under the layer
    let mut v = Vec::new();
    raw_entry(&mut v, "/abs/file", b'0', "", b"ok", 0o644);
    let layer = finish(v);
    load_layer(t, "absolute", &layer).ok();
    let hex = &fixtures::sha256(&layer)[7..];
    assert!(t.data.join("rcon/layers").join(hex).join("diff/abs/file").exists());
    // device nodes: skipped with a warning as a user, created as root
    let mut v = Vec::new();
    {
        let mut h = tar::Header::new_gnu();
        h.set_path("dev/sda-copy").unwrap();
        h.set_entry_type(tar::EntryType::Block);
        h.set_device_major(8).unwrap();
        h.set_device_minor(0).unwrap();
        h.set_mode(0o666);
        h.set_size(0);
        h.set_cksum();
        v.extend_from_slice(h.as_bytes());
    }
    let r = load_layer(t, "device", &finish(v.clone()));
    let dev = t.data.join("rcon/layers").join(&fixtures::sha256(&finish(v))[7..]).join("diff/dev/sda-copy");
    match t.mode {
        Mode::Rootless => {
            r.ok();
            assert!(r.stderr.contains("device node(s) skipped"), "{}", r.stderr);
            assert!(!dev.exists());
        }
        Mode::Root => {
            r.ok();
            use std::os::unix::fs::FileTypeExt;
            assert!(std::fs::symlink_metadata(&dev).unwrap().file_type().is_block_device());
        }
    }
});

both_modes!(whiteouts_become_overlay_whiteouts, |t| {
    let mut v = Vec::new();
    raw_entry(&mut v, "etc/", b'5', "", b"", 0o755);
    raw_entry(&mut v, "etc/.wh.passwd", b'0', "", b"", 0o644);
    raw_entry(&mut v, "opaque/", b'5', "", b"", 0o755);
    raw_entry(&mut v, "opaque/.wh..wh..opq", b'0', "", b"", 0o644);
    let layer = finish(v);
    let p = fixtures::image_archive(&t.dir, "wh.tar", &["wh:1"], &[fixtures::busybox_layer(), &layer], json!({}));
    t.give(&p);
    t.rcon(["load", "-i", p.to_str().unwrap()]).ok();
    let diff = t.data.join("rcon/layers").join(&fixtures::sha256(&layer)[7..]).join("diff");
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let md = std::fs::symlink_metadata(diff.join("etc/passwd")).unwrap();
    assert!(md.file_type().is_char_device() && md.rdev() == 0, "0:0 whiteout");
    assert!(!diff.join("etc/.wh.passwd").exists());
    assert!(!diff.join("opaque/.wh..wh..opq").exists());
    let key = if t.mode == Mode::Root { "trusted.overlay.opaque" } else { "user.overlay.opaque" };
    let out = std::process::Command::new("getfattr")
        .args(["--absolute-names", "-n", key, "--only-values"])
        .arg(diff.join("opaque"))
        .output();
    if let Ok(o) = out {
        if o.status.success() {
            assert_eq!(String::from_utf8_lossy(&o.stdout), "y");
        } else {
            panic!("opaque xattr {key} missing: {}", String::from_utf8_lossy(&o.stderr));
        }
    } else {
        panic!("getfattr missing: apt-get install attr (make test-setup does it)");
    }
});

/// A tar of `(name, data)` regular files, names as raw bytes (the tar
/// crate refuses to write the hostile ones).
fn raw_tar(files: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, data) in files {
        let mut h = tar::Header::new_old();
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        h.set_mtime(fixtures::MTIME);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    finish(out)
}

/// No byte of stderr that a terminal would act on: C0 controls but the
/// line feed, DEL, C1 controls, and nothing that is not UTF-8.
#[track_caller]
fn terminal_safe(r: &Run, raw: &[u8]) {
    let text = std::str::from_utf8(raw).unwrap_or_else(|e| panic!("stderr is not UTF-8 ({e}): {:?}", r.stderr));
    for c in text.chars() {
        let bad = (c.is_control() && c != '\n') || ('\u{202a}'..='\u{202e}').contains(&c);
        assert!(!bad, "raw {c:?} on stderr: {text:?}");
    }
}

// Names from archives reach error messages Go-quoted, as Docker prints
// them: no raw ESC/BEL/DEL or invalid UTF-8 reaches the terminal (issue 12,
// item 5).
both_modes!(archive_names_in_errors_are_escaped, |t| {
    let pwn: &[u8] = b"\x1b]0;PWN\x07\x1b[31mX";
    let run = |args: &[&str], input: &[u8]| {
        let mut c = t.cmd(args);
        c.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped());
        let mut child = c.spawn().unwrap();
        use std::io::Write;
        let _ = child.stdin.take().unwrap().write_all(input);
        let out = child.wait_with_output().unwrap();
        (Run::from(out.clone()), out.stderr)
    };
    // load: a manifest naming a config the archive lacks, one that is not JSON
    for (config, present) in [(pwn, false), (pwn, true), (b"a\xff\x7fb".as_slice(), false)] {
        let manifest = serde_json::to_vec(&json!([{
            "Config": String::from_utf8_lossy(config), "RepoTags": ["x:1"], "Layers": []
        }]))
        .unwrap();
        let mut files: Vec<(&[u8], &[u8])> = vec![(b"manifest.json", &manifest)];
        if present {
            files.push((config, b"not json"));
        }
        let (r, raw) = run(&["load"], &raw_tar(&files));
        assert_eq!(r.code, 125, "{}", r.stderr);
        terminal_safe(&r, &raw);
        if config == pwn {
            assert!(r.stderr.contains(r#""\x1b]0;PWN\a\x1b[31mX""#), "Go-quoted: {}", r.stderr);
        }
    }
    // a tag in the manifest that is no reference
    let manifest =
        serde_json::to_vec(&json!([{"Config": "c.json", "RepoTags": ["\u{1b}[2Jx"], "Layers": []}])).unwrap();
    let (r, raw) = run(&["load"], &raw_tar(&[(b"manifest.json", &manifest), (b"c.json", b"{}")]));
    assert_eq!(r.code, 125, "{}", r.stderr);
    terminal_safe(&r, &raw);
    // import: a root file system whose entry climbs out, named hostilely
    for name in [b"../\x1b]0;PWN\x07".as_slice(), b"../\xff\x7f\x9b"] {
        let (r, raw) = run(&["import", "-", "evil:1"], &raw_tar(&[(name, b"x")]));
        assert_eq!(r.code, 125, "{}", r.stderr);
        terminal_safe(&r, &raw);
        assert!(r.stderr.contains(r"\x"), "escaped: {}", r.stderr);
    }
    // and the store took nothing
    assert_eq!(t.rcon(["images", "-q"]).ok(), "");
});
