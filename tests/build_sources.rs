//! Issue 17, the builder's fidelity to Docker: COPY/ADD source patterns as
//! Go's filepath.Match (and BuildKit's rule for a wildcard that matches
//! nothing), the same matcher in `.dockerignore`, and ADD's archives told
//! by content (`FROM scratch` + `ADD rootfs.tar.xz /`).

use std::process::Command;

use crate::build::{build, context};
use crate::common::*;

both_modes!(copy_sources_are_go_patterns, |t| {
    t.load_busybox("busybox");
    let dir = context(t, "ctx", &[
        ("home.txt", "h\n"),
        ("hom.txt", "no\n"),
        ("b1.log", "b\n"),
        ("d1.log", "no\n"),
        ("xa", "a\n"),
        ("x1", "no\n"),
        ("!x", "bang\n"),
        ("go.mod", "module m\n"),
        ("sub/keep.c", "k\n"),
        ("sub/skip.c", "no\n"),
        (".dockerignore", "sub/s?ip.[ch]\n"),
        (
            "Dockerfile",
            "FROM busybox AS src\nRUN mkdir -p /out && echo one > /out/f1 && echo two > /out/f2 && echo no > /out/g1\n\
             FROM busybox\nCOPY hom?.txt /m/\nCOPY [a-c]*.log x[^0-9] /m/\n\
             COPY [!y]x /m/\nCOPY sub/*.[ch] /m/sub/\n\
             COPY go.mod go.su[m] /opt/\nCOPY --from=src /out/f[0-9] /out/nothing* /from/\n\
             RUN cd / && find m opt from -type f | sort > /list\nCMD cat /list\n",
        ),
    ]);
    build(t, &["-t", "pat"], &dir).ok();
    let list = t.rcon(["run", "--rm", "pat"]).ok().to_string();
    assert_eq!(
        list, "from/f1\nfrom/f2\nm/!x\nm/b1.log\nm/home.txt\nm/sub/keep.c\nm/xa\nopt/go.mod\n",
        "the wildcards (and .dockerignore's) as Go matches them"
    );
});

both_modes!(unmatched_and_bad_patterns, |t| {
    t.load_busybox("busybox");
    let dir = context(t, "ctx", &[("a.txt", "a\n"), ("Dockerfile", "FROM busybox\nCOPY nothing* maybe* /x/\n")]);
    // Every source matched nothing: BuildKit's "not found".
    build(t, &[], &dir).fails(
        1,
        "Dockerfile:2: COPY failed: file not found in build context or excluded by .dockerignore: stat nothing*",
    );
    std::fs::write(dir.join("Dockerfile"), "FROM busybox\nCOPY a.txt missing.txt* /x/\nCOPY a.txt missing.txt /y/\n")
        .unwrap();
    // A literal source must exist even when another matched.
    let r = build(t, &[], &dir);
    r.fails(
        1,
        "Dockerfile:3: COPY failed: file not found in build context or excluded by .dockerignore: stat missing.txt",
    );
    // A malformed pattern matches nothing, as in Docker (Go's error is
    // dropped there): fine beside a source that matched, else named.
    std::fs::write(dir.join("Dockerfile"), "FROM busybox\nCOPY a.txt [z- /x/\n").unwrap();
    build(t, &[], &dir).ok();
    std::fs::write(dir.join("Dockerfile"), "FROM busybox\nCOPY [z- /x/\n").unwrap();
    let r = build(t, &[], &dir);
    r.fails(1, "Dockerfile:2: COPY failed: no source files were specified: \"[z-\" is no valid pattern (syntax error in pattern");
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    std::fs::write(dir.join("Dockerfile"), "FROM busybox\nCOPY a.txt /x/\n").unwrap();
    std::fs::write(dir.join(".dockerignore"), "*.log\n[]\n").unwrap();
    t.give(&dir);
    build(t, &[], &dir).fails(1, ".dockerignore: \"[]\": syntax error in pattern");
});

/// A root file system of the static busybox: /bin/busybox and /bin/sh.
fn rootfs_tar() -> Vec<u8> {
    let busybox = std::fs::read(fixtures::busybox_path()).unwrap();
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Directory);
    h.set_mode(0o755);
    h.set_size(0);
    b.append_data(&mut h, "bin/", &[][..]).unwrap();
    let mut h = tar::Header::new_ustar();
    h.set_mode(0o755);
    h.set_size(busybox.len() as u64);
    b.append_data(&mut h, "bin/busybox", &busybox[..]).unwrap();
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_mode(0o777);
    h.set_size(0);
    b.append_link(&mut h, "bin/sh", "busybox").unwrap();
    b.into_inner().unwrap()
}

/// `program -c` of `data`, as the real tool writes it.
fn compressed(program: &str, data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut c = Command::new(program)
        .arg("-c")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program}: {e} (make test-setup installs it)"));
    let mut stdin = c.stdin.take().unwrap();
    let data = data.to_vec();
    let w = std::thread::spawn(move || stdin.write_all(&data).unwrap());
    let out = c.wait_with_output().unwrap();
    w.join().unwrap();
    assert!(out.status.success(), "{program} failed");
    out.stdout
}

both_modes!(add_unpacks_archives_by_content, |t| {
    use std::io::Write;
    let dir = context(t, "ctx", &[("Dockerfile", "")]);
    let tar = rootfs_tar();
    let xz = compressed("xz", &tar);
    std::fs::write(dir.join("rootfs.tar.xz"), &xz).unwrap();
    // The same archive from a URL is downloaded as a file, as Docker does.
    let body = xz.clone();
    let srv = crate::common::registry::HttpServer::start(move |_, s| {
        let _ = write!(s, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
        let _ = s.write_all(&body);
    });
    // Names that say nothing or lie: only the content counts.
    std::fs::write(dir.join("rootfs.bin"), compressed("bzip2", &tar)).unwrap();
    std::fs::write(dir.join("rootfs-zst"), compressed("zstd", &tar)).unwrap();
    std::fs::write(dir.join("rootfs.data"), compressed("gzip", &tar)).unwrap();
    std::fs::write(dir.join("plain"), &tar).unwrap();
    std::fs::write(dir.join("notes.tar.gz"), "not an archive\n").unwrap();
    let zip = t.path("ctx/z.zip");
    let made = Command::new("zip").arg("-q").arg(&zip).arg("notes.tar.gz").current_dir(&dir).status().unwrap();
    assert!(made.success());
    std::fs::write(
        dir.join("Dockerfile"),
        format!(
            "FROM scratch\nADD rootfs.tar.xz /\nRUN echo built by sh > /built\n\
         ADD rootfs.bin /b/\nADD rootfs-zst /z/\nADD rootfs.data /g/\nADD plain /p/\n\
         ADD notes.tar.gz z.zip /files/\nADD http://{host}/rootfs.tar.xz /url/\n\
         CMD [\"/bin/sh\", \"-c\", \"cat /built; for d in /b/bin /z/bin /g/bin /p/bin /files /url; do echo $d: $(ls $d); done; cat /files/notes.tar.gz\"]\n",
            host = srv.host()
        ),
    )
    .unwrap();
    t.give(&dir);
    build(t, &["-t", "fromtar"], &dir).ok();
    let out = t.rcon(["run", "--rm", "fromtar"]).ok().to_string();
    assert_eq!(
        out,
        "built by sh\n/b/bin: busybox sh\n/z/bin: busybox sh\n/g/bin: busybox sh\n/p/bin: busybox sh\n\
         /files: notes.tar.gz z.zip\n/url: rootfs.tar.xz\nnot an archive\n"
    );
});
