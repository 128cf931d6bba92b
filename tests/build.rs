//! `rcon build`: Dockerfiles as people write them (the seed documents'
//! patterns, on the local busybox image), contexts, the cache step by step,
//! and bad input.

use std::path::{Path, PathBuf};

use crate::common::*;
use serde_json::Value;

/// A context directory with files (path, content); returns its path.
pub(crate) fn context(t: &TestEnv, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = t.path(name);
    for (p, content) in files {
        let f = dir.join(p);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(&f, content).unwrap();
    }
    std::fs::create_dir_all(&dir).unwrap();
    t.give(&dir);
    dir
}

pub(crate) fn build(t: &TestEnv, args: &[&str], dir: &Path) -> Run {
    let mut v: Vec<String> = vec!["build".into()];
    v.extend(args.iter().map(|s| s.to_string()));
    v.push(dir.display().to_string());
    t.rcon(v)
}

pub(crate) fn inspect(t: &TestEnv, image: &str) -> Value {
    let out = t.rcon(["image", "inspect", image]).ok().to_string();
    serde_json::from_str::<Value>(&out).unwrap()[0].clone()
}

pub(crate) fn cache_hits(out: &str) -> Vec<usize> {
    // Step numbers whose next line is "Using cache".
    let lines: Vec<&str> = out.lines().collect();
    let mut hits = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if let Some(rest) = l.strip_prefix("Step ") {
            if lines.get(i + 1) == Some(&" ---> Using cache") {
                hits.push(rest.split('/').next().unwrap().parse().unwrap());
            }
        }
    }
    hits
}

both_modes!(builds_every_metadata_instruction, |t| {
    t.load_busybox("busybox");
    let dir = context(t, "ctx", &[(
        "Dockerfile",
        "# syntax=docker/dockerfile:1\nFROM busybox\nMAINTAINER Jane <j@example.com>\nLABEL com.example.a=\"one two\" b=2\n\
         ENV GREETING=\"hello world\" \\\n    OTHER=x\nENV LEGACY value with spaces\nEXPOSE 80 53/udp\nVOLUME [\"/data\"]\n\
         USER user:user\nWORKDIR /srv\nWORKDIR sub\nSTOPSIGNAL SIGQUIT\nSHELL [\"/bin/sh\", \"-ec\"]\n\
         HEALTHCHECK --interval=5m --timeout=3s --retries=2 CMD wget -q http://localhost/ || exit 1\n\
         ONBUILD RUN echo triggered\nENTRYPOINT [\"/bin/echo\"]\nCMD [\"$GREETING\"]\n",
    )]);
    let out = build(t, &["-t", "meta:1", "--label", "from.cli=yes"], &dir).ok().to_string();
    assert!(out.starts_with("Step 1/16 : FROM busybox\n ---> "), "{out}");
    assert!(out.contains("Step 16/16 : CMD [\"$GREETING\"]"), "{out}");
    assert!(out.ends_with("Successfully tagged meta:1\n"), "{out}");
    let img = inspect(t, "meta:1");
    let c = &img["Config"];
    assert_eq!(img["Author"], "Jane <j@example.com>");
    assert_eq!(c["Labels"]["com.example.a"], "one two");
    assert_eq!(c["Labels"]["b"], "2");
    assert_eq!(c["Labels"]["from.cli"], "yes");
    let env: Vec<&str> = c["Env"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(env.contains(&"GREETING=hello world") && env.contains(&"OTHER=x"), "{env:?}");
    assert!(env.contains(&"LEGACY=value with spaces"), "{env:?}");
    assert!(c["ExposedPorts"].get("80/tcp").is_some() && c["ExposedPorts"].get("53/udp").is_some());
    assert!(c["Volumes"].get("/data").is_some());
    assert_eq!(c["User"], "user:user");
    assert_eq!(c["WorkingDir"], "/srv/sub");
    assert_eq!(c["StopSignal"], "SIGQUIT");
    assert_eq!(c["Shell"], serde_json::json!(["/bin/sh", "-ec"]));
    assert_eq!(c["Healthcheck"]["Test"], serde_json::json!(["CMD-SHELL", "wget -q http://localhost/ || exit 1"]));
    assert_eq!(c["Healthcheck"]["Interval"], 300_000_000_000u64);
    assert_eq!(c["Healthcheck"]["Retries"], 2);
    assert_eq!(c["OnBuild"], serde_json::json!(["RUN echo triggered"]));
    assert_eq!(c["Entrypoint"], serde_json::json!(["/bin/echo"]));
    // Exec form: no variable substitution, as in Docker.
    assert_eq!(c["Cmd"], serde_json::json!(["$GREETING"]));
    // WORKDIR made its directory; the image runs as the user, in it.
    assert_eq!(t.rcon(["run", "--rm", "--entrypoint", "pwd", "meta:1"]).ok(), "/srv/sub\n");
    // Metadata steps are empty layers in the history.
    let hist = t.rcon(["history", "--no-trunc", "--format", "{{.CreatedBy}}|{{.Size}}", "meta:1"]).ok().to_string();
    assert!(hist.lines().any(|l| l.starts_with("/bin/sh -c #(nop)  ENV GREETING=hello world OTHER=x|0B")), "{hist}");
});

both_modes!(run_copy_and_ownership, |t| {
    t.load_busybox("busybox");
    let dir = context(t, "ctx", &[
        ("Dockerfile", "FROM busybox\nCOPY --chown=user:user --chmod=0640 a.txt /tmp/in/\nCOPY src /app/\nCOPY *.md ./docs/\nADD files.tar /opt/\nRUN <<EOF\nset -e\nstat -c '%U:%G %a %n' /tmp/in/a.txt > /report\nstat -c '%a' /tmp >> /report\nls /app /docs /opt/x >> /report\nEOF\nRUN [\"sh\", \"-c\", \"echo exec form >> /report\"]\nCMD cat /report\n"),
        ("a.txt", "a\n"),
        ("src/main.c", "int main;\n"),
        ("src/lib/util.c", "\n"),
        ("one.md", "1"),
        ("two.md", "2"),
    ]);
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(3);
    h.set_mode(0o644);
    b.append_data(&mut h, "x/in-tar", &b"tar"[..]).unwrap();
    std::fs::write(dir.join("files.tar"), b.into_inner().unwrap()).unwrap();
    t.give(&dir);
    build(t, &["-t", "cp"], &dir).ok();
    let report = t.rcon(["run", "--rm", "cp"]).ok().to_string();
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines[0], "user:user 640 /tmp/in/a.txt", "{report}");
    // Copying below /tmp kept its mode (the layer carries the parent as it was).
    assert_eq!(lines[1], "1777", "{report}");
    // The contents of a source directory are copied, not the directory.
    assert!(report.contains("/app:\nlib\nmain.c\n"), "{report}");
    assert!(report.contains("/docs:\none.md\ntwo.md\n"), "{report}");
    assert!(report.contains("in-tar"), "ADD unpacks local tars: {report}");
    assert!(report.ends_with("exec form\n"), "{report}");
});

both_modes!(cache_follows_dockers_rules, |t| {
    t.load_busybox("busybox");
    // The `COPY package.json` before `RUN npm install` pattern.
    let dir = context(t, "ctx", &[
        ("Dockerfile", "FROM busybox\nWORKDIR /app\nCOPY package.json ./\nRUN cp package.json deps.installed\nCOPY . .\nRUN cat app.js > built\nCMD cat built\n"),
        ("package.json", "{\"deps\":1}\n"),
        ("app.js", "v1\n"),
    ]);
    let first = build(t, &["-t", "app"], &dir).ok().to_string();
    assert!(cache_hits(&first).is_empty(), "{first}");
    // Nothing changed: every step comes from the cache, same image.
    let id1 = inspect(t, "app")["Id"].clone();
    let again = build(t, &["-t", "app"], &dir).ok().to_string();
    assert_eq!(cache_hits(&again), [2, 3, 4, 5, 6, 7], "{again}");
    assert_eq!(inspect(t, "app")["Id"], id1);
    // mtime is not part of the checksum.
    let f = std::fs::File::options().write(true).open(dir.join("app.js")).unwrap();
    f.set_modified(std::time::SystemTime::UNIX_EPOCH).unwrap();
    assert_eq!(cache_hits(build(t, &["-t", "app"], &dir).ok()), [2, 3, 4, 5, 6, 7]);
    // A source change: the dependency steps stay cached, the rest reruns.
    std::fs::write(dir.join("app.js"), "v2\n").unwrap();
    let src = build(t, &["-t", "app"], &dir).ok().to_string();
    assert_eq!(cache_hits(&src), [2, 3, 4], "{src}");
    assert_eq!(t.rcon(["run", "--rm", "app"]).ok(), "v2\n");
    // package.json changed: from its COPY on, nothing is cached.
    std::fs::write(dir.join("package.json"), "{\"deps\":2}\n").unwrap();
    assert_eq!(cache_hits(build(t, &["-t", "app"], &dir).ok()), [2]);
    // A build arg in effect is part of a RUN's key.
    let args = context(t, "args", &[("Dockerfile", "FROM busybox\nARG V=1\nRUN echo $V > /v\n")]);
    build(t, &[], &args).ok();
    assert_eq!(cache_hits(build(t, &[], &args).ok()), [2, 3]);
    assert_eq!(cache_hits(build(t, &["--build-arg", "V=2"], &args).ok()), Vec::<usize>::new());
    assert_eq!(cache_hits(build(t, &["--build-arg", "V=2"], &args).ok()), [2, 3]);
    // --no-cache
    let none = build(t, &["--no-cache", "-t", "app"], &dir).ok().to_string();
    assert!(cache_hits(&none).is_empty(), "{none}");
});

both_modes!(multi_stage_and_targets, |t| {
    t.load_busybox("busybox");
    let dir = context(t, "ctx", &[(
        "Dockerfile",
        "ARG BASE=busybox\nFROM ${BASE} AS builder\nRUN echo built > /artifact\n\
         FROM busybox AS unused\nRUN exit 1\n\
         FROM scratch AS bin\nCOPY --from=builder /artifact /artifact\n\
         FROM $BASE\nCOPY --from=0 /artifact /from-index\nCOPY --from=bin /artifact /from-name\nCMD cat /from-index /from-name\n",
    )]);
    let out = build(t, &["-t", "multi"], &dir).ok().to_string();
    // Only the stages the target needs: the `unused` one never runs.
    assert!(!out.contains("exit 1"), "{out}");
    assert!(out.contains("Step 1/8 : FROM ${BASE} AS builder"), "{out}");
    assert_eq!(t.rcon(["run", "--rm", "multi"]).ok(), "built\nbuilt\n");
    // --target stops at that stage.
    let out = build(t, &["--target", "builder", "-t", "stage1"], &dir).ok().to_string();
    assert!(out.contains("Step 2/2 : RUN echo built"), "{out}");
    assert_eq!(t.rcon(["run", "--rm", "stage1", "cat", "/artifact"]).ok(), "built\n");
    build(t, &["--target", "nosuch"], &dir).fails(1, "target stage \"nosuch\" could not be found");
    // FROM scratch with a file only.
    build(t, &["--target", "bin", "-t", "onlyfile"], &dir).ok();
    assert_eq!(inspect(t, "onlyfile")["RootFS"]["Layers"].as_array().unwrap().len(), 1);
});

both_modes!(contexts_and_dockerignore, |t| {
    t.load_busybox("busybox");
    let dir = context(
        t,
        "ctx",
        &[
            ("keep.txt", "k"),
            ("secret.key", "s"),
            ("logs/a.log", "l"),
            ("logs/keep.log", "kl"),
            (".dockerignore", "*.key\n**/*.log\n!logs/keep.log\n"),
            ("Dockerfile", "FROM busybox\nCOPY . /c\nRUN find /c -type f | sort\n"),
        ],
    );
    let out = build(t, &[], &dir).ok().to_string();
    assert!(out.contains("/c/keep.txt") && out.contains("/c/logs/keep.log"), "{out}");
    assert!(!out.contains("secret.key") && !out.contains("a.log"), "{out}");
    build(t, &[], &dir).ok();
    // An excluded file cannot be copied by name either.
    let df = t.path("elsewhere.Dockerfile");
    std::fs::write(&df, "FROM busybox\nCOPY secret.key /\n").unwrap();
    t.give(&df);
    build(t, &["-f", df.to_str().unwrap()], &dir)
        .fails(1, "Dockerfile:2: COPY failed: file not found in build context or excluded by .dockerignore");
    // Dockerfile.dockerignore next to the Dockerfile wins over .dockerignore.
    let ig = t.path("elsewhere.Dockerfile.dockerignore");
    std::fs::write(&ig, "logs\n").unwrap();
    t.give(&ig);
    build(t, &["-f", df.to_str().unwrap()], &dir).ok();
    // `-` : the Dockerfile on stdin, no context.
    let r = t.rcon_stdin(["build", "-t", "stdin", "-"], b"FROM busybox\nRUN echo from-stdin\n");
    assert!(r.ok().contains("from-stdin"));
    let r = t.rcon_stdin(["build", "-"], b"FROM busybox\nCOPY keep.txt /\n");
    r.fails(1, "no build context");
    // `-f -` with a directory context.
    let r = t
        .rcon_stdin(["build", "-f", "-", dir.to_str().unwrap()], b"FROM busybox\nCOPY keep.txt /\nRUN cat /keep.txt\n");
    assert!(r.ok().contains("\nk"), "{}", r.stdout);
    // A tar of the context on stdin.
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in [("Dockerfile", &b"FROM busybox\nCOPY f /f\nRUN cat /f\n"[..]), ("f", &b"from-tar"[..])] {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, name, data).unwrap();
    }
    let r = t.rcon_stdin(["build", "-"], &b.into_inner().unwrap());
    assert!(r.ok().contains("from-tar"), "{}", r.stdout);
});

both_modes!(bad_input_fails_cleanly, |t| {
    t.load_busybox("busybox");
    let dir = context(t, "ctx", &[("Dockerfile", "FROM busybox\nRUN echo step1 > /s\nRUN exit 3\n")]);
    let r = build(t, &["-t", "half"], &dir);
    r.fails(3, "The command '/bin/sh -c exit 3' returned a non-zero code: 3");
    // Nothing tagged, no container left, and the cache of step 2 still serves.
    assert!(t.rcon(["image", "inspect", "half"]).code != 0);
    assert_eq!(t.rcon(["ps", "-aq"]).ok(), "");
    std::fs::write(dir.join("Dockerfile"), "FROM busybox\nRUN echo step1 > /s\nRUN true\n").unwrap();
    assert_eq!(cache_hits(build(t, &["-t", "half"], &dir).ok()), [2]);
    // Parse errors point at line and column.
    std::fs::write(dir.join("Dockerfile"), "FROM busybox\n\nFROBNICATE x\n").unwrap();
    build(t, &[], &dir).fails(1, "line 3, column 1: unknown instruction: FROBNICATE");
    std::fs::write(dir.join("Dockerfile"), "FROM busybox\nCOPY --frm=x a b\n").unwrap();
    build(t, &[], &dir).fails(1, "line 2, column 6: unknown flag: --frm");
    std::fs::write(dir.join("Dockerfile"), "FROM busybox\nCOPY missing /\n").unwrap();
    build(t, &[], &dir).fails(1, "Dockerfile:2: COPY failed: file not found in build context");
    std::fs::write(dir.join("Dockerfile"), "FROM nosuchimage\n").unwrap();
    // A FROM image not in the store is pulled (and fails here: no such host).
    build(t, &[], &dir).fails(1, "pull nosuchimage:latest");
    // A symlink that leaves the context is refused.
    std::os::unix::fs::symlink("/etc", dir.join("out")).unwrap();
    std::fs::write(dir.join("Dockerfile"), "FROM busybox\nCOPY out/passwd /\n").unwrap();
    build(t, &[], &dir).fails(1, "outside the build context");
    build(t, &["--platform", "linux/s390x-nope"], &dir).fails(125, "not supported");
    t.rcon(["build", "/nonexistent-dir"]).fails(1, "unable to prepare context");
});

both_modes!(onbuild_args_quiet_iidfile, |t| {
    t.load_busybox("busybox");
    let base = context(
        t,
        "base",
        &[("Dockerfile", "FROM busybox\nONBUILD COPY marker /marker\nONBUILD RUN echo trigger-ran > /t\n")],
    );
    build(t, &["-t", "onbase"], &base).ok();
    let child = context(t, "child", &[
        ("marker", "m\n"),
        ("Dockerfile", "ARG TAG=latest\nFROM onbase:$TAG\nARG WHO\nARG DEF=${WHO:-nobody}\nRUN echo \"$WHO $DEF ${UNSET:+set}\" > /args\nCMD cat /t /marker /args\n"),
    ]);
    let out = build(t, &["-t", "child", "--build-arg", "WHO=me", "--build-arg", "EXTRA=1"], &child).ok().to_string();
    assert!(out.contains("# Executing 2 build triggers"), "{out}");
    assert!(out.contains("[Warning] One or more build-args [EXTRA] were not consumed"), "{out}");
    assert_eq!(t.rcon(["run", "--rm", "child"]).ok(), "trigger-ran\nm\nme me \n");
    // Triggers are not inherited by the child.
    assert!(inspect(t, "child")["Config"]["OnBuild"].is_null());
    // -q prints only the id; --iidfile writes it.
    let iid = t.path("iid");
    let r = build(t, &["-q", "--iidfile", iid.to_str().unwrap(), "--build-arg", "WHO=me"], &child);
    let id = r.ok().trim().to_string();
    assert!(id.starts_with("sha256:") && id.len() == 71, "{}", r.stdout);
    assert_eq!(std::fs::read_to_string(&iid).unwrap(), id);
});

both_modes!(commit_and_diff, |t| {
    t.load_busybox("busybox");
    t.rcon([
        "run",
        "--name",
        "c1",
        "busybox",
        "sh",
        "-c",
        "echo new > /tmp/new; rm /etc/group; echo x >> /etc/passwd; mkdir -p /d/e; chown 1000:1000 /d/e",
    ])
    .ok();
    let diff = t.rcon(["diff", "c1"]).ok().to_string();
    assert_eq!(diff, "A /d\nA /d/e\nC /etc\nD /etc/group\nC /etc/passwd\nC /tmp\nA /tmp/new\n");
    let id = t
        .rcon([
            "commit",
            "-a",
            "Jane",
            "-m",
            "a message",
            "-c",
            "CMD [\"cat\", \"/tmp/new\"]",
            "-c",
            "ENV K=v",
            "c1",
            "committed:1",
        ])
        .ok()
        .trim()
        .to_string();
    assert!(id.starts_with("sha256:"), "{id}");
    assert_eq!(t.rcon(["run", "--rm", "committed:1"]).ok(), "new\n");
    // Deletions and owners are part of the layer.
    let r = t.rcon([
        "run",
        "--rm",
        "committed:1",
        "sh",
        "-c",
        "test -e /etc/group || echo gone; stat -c %u:%g /d/e; echo $K",
    ]);
    assert_eq!(r.ok(), "gone\n1000:1000\nv\n");
    let img = inspect(t, "committed:1");
    assert_eq!(img["Author"], "Jane");
    assert_eq!(img["Comment"], "a message");
    t.rcon(["commit", "-c", "RUN true", "c1"]).fails(125, "RUN is not allowed here");
    t.rcon(["diff", "nosuch"]).fails(125, "no such container");
});

both_modes!(run_mounts_heredocs_and_platform_args, |t| {
    t.load_busybox("busybox");
    let dir = context(t, "ctx", &[
        ("data.txt", "bound\n"),
        (
            "Dockerfile",
            "FROM busybox\nARG TARGETARCH\nENV WHO=world\n\
             RUN --mount=type=cache,target=/cache --mount=type=tmpfs,target=/scratch --mount=type=bind,source=data.txt,target=/mnt/data.txt \\\n\
             \x20   echo run >> /cache/count; wc -l < /cache/count > /runs; cat /mnt/data.txt > /bound; touch /scratch/gone\n\
             COPY <<EOF /greeting\nhello $WHO on $TARGETARCH\nEOF\n\
             COPY <<\"RAW\" /raw\n$WHO\nRAW\n\
             CMD cat /runs /bound /greeting /raw; test -e /scratch -o -e /mnt/data.txt -o -e /cache || echo no stubs\n",
        ),
    ]);
    build(t, &["-t", "mounts"], &dir).ok();
    let arch = t.rcon(["image", "inspect", "--format", "{{.Architecture}}", "busybox"]).ok().trim().to_string();
    // The mount points RUN --mount made are not left in the image (BuildKit's stub cleaning).
    let want = format!("1\nbound\nhello world on {arch}\n$WHO\nno stubs\n");
    assert_eq!(t.rcon(["run", "--rm", "mounts"]).ok(), want);
    // The cache mount outlives the build: a second (uncached) RUN sees it.
    build(t, &["--no-cache", "-t", "mounts"], &dir).ok();
    assert!(t.rcon(["run", "--rm", "mounts"]).ok().starts_with("2\n"));
});

both_modes!(export_flattens_the_container, |t| {
    t.load_busybox("busybox");
    t.rcon([
        "run",
        "--name",
        "c1",
        "busybox",
        "sh",
        "-c",
        "echo new > /tmp/new; rm /etc/group; chown 1000:1000 /tmp/new",
    ])
    .ok();
    let out = t.path("out.tar");
    t.rcon(["export", "-o", out.to_str().unwrap(), "c1"]).ok();
    let mut ar = tar::Archive::new(std::fs::File::open(&out).unwrap());
    let mut names = Vec::new();
    let mut owner = None;
    for e in ar.entries().unwrap() {
        let e = e.unwrap();
        let p = e.path().unwrap().display().to_string();
        if p == "tmp/new" {
            owner = Some((e.header().uid().unwrap(), e.header().gid().unwrap()));
        }
        names.push(p);
    }
    assert!(names.contains(&"bin/busybox".to_string()) && names.contains(&"tmp/new".to_string()), "{names:?}");
    assert!(!names.iter().any(|n| n.contains("etc/group") || n.contains(".wh.")), "{names:?}");
    assert_eq!(owner, Some((1000, 1000)));
});

both_modes!(cp_both_ways_and_streams, |t| {
    t.load_busybox("busybox");
    let host = context(t, "host", &[("dir/sub/f", "from host\n"), ("one.txt", "one\n")]);
    t.rcon([
        "create",
        "--name",
        "c1",
        "busybox",
        "sh",
        "-c",
        "cat /tmp/dir/sub/f /tmp/renamed /tmp/t/a; stat -c '%a %u' /tmp /tmp/dir/sub/f",
    ])
    .ok();
    // Into a stopped container: a directory, a file under a new name, a tar stream.
    t.rcon(["cp", host.join("dir").to_str().unwrap(), "c1:/tmp/"]).ok();
    t.rcon(["cp", host.join("one.txt").to_str().unwrap(), "c1:/tmp/renamed"]).ok();
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(2);
    h.set_mode(0o644);
    b.append_data(&mut h, "t/a", &b"a\n"[..]).unwrap();
    t.rcon_stdin(["cp", "-", "c1:/tmp"], &b.into_inner().unwrap()).ok();
    // Copied as root:root, and /tmp keeps its mode.
    assert_eq!(t.rcon(["start", "-a", "c1"]).ok(), "from host\none\na\n1777 0\n644 0\n");
    // Out of it: to a directory, under a new name, as a tar stream.
    let out = t.path("out");
    std::fs::create_dir_all(&out).unwrap();
    t.give(&out);
    t.rcon(["cp", "c1:/etc/passwd", out.to_str().unwrap()]).ok();
    assert!(std::fs::read_to_string(out.join("passwd")).unwrap().starts_with("root:x:0:0"));
    t.rcon(["cp", "c1:/tmp/dir", out.join("copy").to_str().unwrap()]).ok();
    assert_eq!(std::fs::read_to_string(out.join("copy/sub/f")).unwrap(), "from host\n");
    let r = t.rcon(["cp", "c1:/home/user", "-"]);
    let mut ar = tar::Archive::new(r.raw_stdout.as_slice());
    let owned: Vec<(String, u64)> = ar
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.path().unwrap().display().to_string(), e.header().uid().unwrap())
        })
        .collect();
    assert!(owned.contains(&("user/owned".to_string(), 1000)), "{owned:?}");
    t.rcon(["cp", "c1:/nope", out.to_str().unwrap()]).fails(125, "could not find the file /nope");
    t.rcon(["cp", "a", "b"]).fails(125, "must specify at least one container");
});

both_modes!(from_scratch_with_a_static_binary, |t| {
    // The seed documents' smallest image: a static binary on scratch.
    let dir = context(
        t,
        "ctx",
        &[("Dockerfile", "FROM scratch\nCOPY busybox /\nCMD [\"/busybox\", \"echo\", \"hello from scratch\"]\n")],
    );
    std::fs::copy(crate::common::fixtures::busybox_path(), dir.join("busybox")).unwrap();
    t.give(&dir);
    let out = build(t, &["-t", "hello"], &dir).ok().to_string();
    assert!(out.starts_with("Step 1/3 : FROM scratch\n ---> scratch\n"), "{out}");
    assert_eq!(t.rcon(["run", "--rm", "hello"]).ok(), "hello from scratch\n");
    // RUN has no shell on scratch: a clear error at the line.
    std::fs::write(dir.join("Dockerfile"), "FROM scratch\nRUN true\n").unwrap();
    build(t, &[], &dir).fails(1, "Dockerfile:2: RUN failed: RUN needs a base image");
});

/// Run git as the user rcon runs as, in `dir`; panics with git's output on failure.
fn git(t: &TestEnv, dir: &Path, args: &[&str]) {
    let mut c =
        t.program("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main"]);
    c.args(args).current_dir(dir);
    let o = c.output().unwrap();
    assert!(o.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&o.stderr));
}

both_modes!(git_contexts_with_ref_and_subdir, |t| {
    t.load_busybox("busybox");
    // A bare repository with a tag v1 and a later commit on main, the
    // Dockerfile and its files in a subdirectory.
    let repo = t.path("repo.git");
    let work = context(
        t,
        "work",
        &[
            ("docker/Dockerfile", "FROM busybox\nCOPY msg /msg\nCMD cat /msg\n"),
            ("docker/msg", "one\n"),
            ("README", "top\n"),
        ],
    );
    std::fs::create_dir_all(&repo).unwrap();
    t.give(&repo);
    git(t, &repo, &["init", "-q", "--bare"]);
    git(t, &work, &["init", "-q"]);
    git(t, &work, &["add", "."]);
    git(t, &work, &["commit", "-q", "-m", "one"]);
    git(t, &work, &["tag", "v1"]);
    std::fs::write(work.join("docker/msg"), "two\n").unwrap();
    t.give(&work);
    git(t, &work, &["commit", "-q", "-am", "two"]);
    git(t, &work, &["push", "-q", repo.to_str().unwrap(), "main", "v1"]);
    let url = format!("file://{}", repo.display());
    let run = |ctx: String| {
        t.rcon(["build", "-q", "-t", "fromgit", &ctx]).ok();
        t.rcon(["run", "--rm", "fromgit"]).ok().to_string()
    };
    assert_eq!(run(format!("{url}#v1:docker")), "one\n");
    assert_eq!(run(format!("{url}#main:docker")), "two\n");
    // A plain path ending in .git, the default branch, -f inside the context.
    let r = t.rcon(["build", "-q", "-t", "fromgit", "-f", "docker/Dockerfile", repo.to_str().unwrap()]);
    r.fails(1, "COPY failed: file not found in build context");
    assert_eq!(run(format!("{}#v1:docker", repo.display())), "one\n");
    // A missing ref or subdirectory: one line naming the URL.
    let r = t.rcon(["build", &format!("{url}#nosuch:docker")]);
    r.fails(1, &format!("git fetch of {url} failed: fatal: couldn't find remote ref nosuch"));
    let r = t.rcon(["build", "file:///nonexistent/r.git#main"]);
    r.fails(1, "git fetch of file:///nonexistent/r.git failed: fatal: '/nonexistent/r.git' does not appear to be a git repository");
    let r = t.rcon(["build", &format!("{url}#v1:nodir")]);
    r.fails(1, &format!("{url}: no directory \"nodir\" at v1"));
});

both_modes!(run_mount_secret_stays_out_of_the_image, |t| {
    t.load_busybox("busybox");
    let dir = context(
        t,
        "ctx",
        &[(
            "Dockerfile",
            "FROM busybox\nRUN --mount=type=secret,id=tok test \"$(tr a-z A-Z < /run/secrets/tok)\" = S3CRET && \
         stat -c %a /run/secrets/tok > /seen\n\
         RUN --mount=type=secret,id=tok,target=/etc/tok,mode=0444 wc -c < /etc/tok >> /seen\n\
         RUN --mount=type=secret,id=absent ls /run/secrets > /absent || true\n         RUN --mount=type=secret,id=tok,env=TOK test \"$(echo $TOK | tr a-z A-Z)\" = S3CRET -a ! -e /run/secrets/tok && echo env >> /seen\n         CMD cat /seen\n",
        )],
    );
    let secret = t.path("tok.txt");
    std::fs::write(&secret, "s3cret").unwrap();
    t.give(&secret);
    let src = format!("id=tok,src={}", secret.display());
    let out = build(t, &["-t", "sec", "--secret", &src], &dir).ok().to_string();
    assert!(!out.contains("s3cret"), "{out}");
    // Default mode 0400; mode= and target= honoured; env= alone is a variable, no file.
    assert_eq!(t.rcon(["run", "--rm", "sec"]).ok(), "400\n6\nenv\n");
    assert!(!inspect(t, "sec")["Config"]["Env"].to_string().contains("TOK"));
    // Not in the image: no file, no mount-point stub, nothing in the history.
    let r = t.rcon(["run", "--rm", "sec", "sh", "-c", "ls -a /run/secrets /etc/tok; grep -r s3cret /etc /seen"]);
    assert_ne!(r.code, 0, "{}", r.stdout);
    assert!(!r.stdout.contains("tok"), "{}", r.stdout);
    let hist = t.rcon(["history", "--no-trunc", "sec"]).ok().to_string();
    assert!(hist.contains("--mount") || hist.contains("/run/secrets/tok"), "{hist}");
    assert!(!hist.contains("s3cret"), "{hist}");
    // A changed secret does not bust the cache (Docker's rule); env= works too.
    let mut c = t.cmd(["build", "-t", "sec", "--secret", "id=tok,env=TOKVAR", dir.to_str().unwrap()]);
    c.env("TOKVAR", "other");
    let again = Run::from(c.output().unwrap());
    assert_eq!(cache_hits(again.ok()), [2, 3, 4, 5, 6], "{}", again.stdout);
    // required and missing: a clear error at its line, exit 1.
    let dir2 = context(
        t,
        "ctx2",
        &[("Dockerfile", "FROM busybox\nRUN --mount=type=secret,id=key,required cat /run/secrets/key\n")],
    );
    build(t, &[], &dir2).fails(1, "Dockerfile:2: RUN failed: secret key is required but was not given");
    build(t, &["--secret", "id=key,src=/nonexistent"], &dir2).fails(1, "secret key: cannot read /nonexistent");
    // uid=/gid=: rootful chowns the copy; rootless cannot give it to a subordinate id.
    let dir3 = context(t, "ctx3", &[("Dockerfile", "FROM busybox\nRUN --mount=type=secret,id=tok,uid=1000,gid=2 stat -c %u:%g /run/secrets/tok > /u\nCMD cat /u\n")]);
    let r = build(t, &["-t", "secuid", "--secret", &src], &dir3);
    if t.mode == Mode::Root {
        r.ok();
        assert_eq!(t.rcon(["run", "--rm", "secuid"]).ok(), "1000:2\n");
    } else {
        r.fails(1, "uid= or gid= other than 0 need rootful mode");
    }
});

both_modes!(history_shows_the_ids_of_steps_built_here, |t| {
    let base = t.load_busybox("busybox");
    let dir = context(t, "ctx", &[("Dockerfile", "FROM busybox\nRUN echo a > /a\nENV X=1\nRUN echo b > /b\n")]);
    let out = build(t, &["-t", "hist"], &dir).ok().to_string();
    // The ` ---> ID` after each step, FROM's being the base image.
    let ids: Vec<&str> = out.lines().filter_map(|l| l.strip_prefix(" ---> ")).filter(|l| !l.contains(' ')).collect();
    assert_eq!(ids.len(), 4, "{out}");
    let hist = t.rcon(["history", "--format", "{{.ID}}|{{.CreatedBy}}", "hist"]).ok().to_string();
    let rows: Vec<&str> = hist.lines().collect();
    assert!(rows[0].starts_with(&format!("{}|", ids[3])), "{hist}");
    assert!(rows[1].starts_with(&format!("{}|", ids[2])), "{hist}");
    assert!(rows[2].starts_with(&format!("{}|", ids[1])), "{hist}");
    // The base's own top entry carries its id; nothing else below is known.
    let short = base.trim_start_matches("sha256:")[..12].to_string();
    assert!(rows[3].starts_with(&format!("{short}|")), "{hist}");
    assert!(rows[4..].iter().all(|r| r.starts_with("<missing>|")), "{hist}");
});

both_modes!(format_oci_is_the_push_default_for_the_image, |t| {
    let reg = crate::common::registry::Registry::start();
    t.load_busybox("busybox");
    let dir = context(t, "ctx", &[("Dockerfile", "FROM busybox\nRUN echo hi > /hi\n")]);
    let name = format!("{}/built/oci:1", reg.host);
    build(t, &["--format", "oci", "-t", &name], &dir).ok();
    t.rcon(["push", &name]).ok();
    let m = t.rcon(["manifest", "inspect", &name]).ok().to_string();
    assert!(m.contains("application/vnd.oci.image.manifest.v1+json"), "{m}");
    // An explicit push --format wins.
    t.rcon(["push", "--format", "docker", &name]).ok();
    let m = t.rcon(["manifest", "inspect", &name]).ok().to_string();
    assert!(m.contains("application/vnd.docker.distribution.manifest.v2+json"), "{m}");
    build(t, &["--format", "v1"], &dir).fails(125, "unrecognized image format \"v1\"");
});

both_modes!(add_from_url_with_checksum, |t| {
    use std::io::Write;
    t.load_busybox("busybox");
    let body = "fetched over http\n";
    let srv = crate::common::registry::HttpServer::start(move |req, s| {
        let (status, text) = if req.path == "/notes.txt" { ("200 OK", body) } else { ("404 Not Found", "") };
        let _ = write!(s, "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}", text.len());
    });
    let url = format!("http://{}/notes.txt", srv.host());
    let sum = crate::common::fixtures::sha256(body.as_bytes());
    let df = format!("FROM busybox\nADD --checksum={sum} {url} /srv/\nCMD [\"cat\", \"/srv/notes.txt\"]\n");
    let dir = context(t, "addurl", &[("Dockerfile", &df)]);
    build(t, &["-q", "-t", "fetched"], &dir).ok();
    assert_eq!(t.rcon(["run", "--rm", "fetched"]).ok(), body);
    // a wrong checksum fails the step and leaves no image
    let bad = df.replace(&sum, &format!("sha256:{}", "0".repeat(64)));
    let dir = context(t, "addurl-bad", &[("Dockerfile", &bad)]);
    build(t, &["-t", "notfetched"], &dir).fails(1, &format!("checksum of {url} is {sum}"));
    t.rcon(["image", "inspect", "notfetched"]).fails(125, "notfetched");
    // a missing file is an error that names the URL
    let dir = context(t, "addurl-404", &[("Dockerfile", &df.replace("notes.txt /srv/", "gone.txt /srv/"))]);
    build(t, &["-t", "gone"], &dir).fails(1, "gone.txt");
});

both_modes!(remote_tarball_and_dockerfile_contexts, |t| {
    use crate::common::fixtures::{layer_tar, E};
    use std::io::Write;
    t.load_busybox("busybox");
    let df = b"FROM busybox\nCOPY app.txt /app.txt\nCMD [\"cat\", \"/app.txt\"]\n";
    let tar = layer_tar(&[E::File("Dockerfile", df, 0o644), E::File("app.txt", b"from a remote context\n", 0o644)]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    let gz = gz.finish().unwrap();
    let plain_df = b"FROM busybox\nRUN echo built-from-a-url > /note\nCMD [\"cat\", \"/note\"]\n".to_vec();
    let srv = crate::common::registry::HttpServer::start(move |req, s| {
        let body: &[u8] = match req.path.as_str() {
            "/ctx.tar.gz" => &gz,
            "/Dockerfile" => &plain_df,
            _ => {
                let _ = s.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                return;
            }
        };
        let _ = write!(s, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
        let _ = s.write_all(body);
    });
    // a compressed tar archive is the context
    t.rcon(["build", "-q", "-t", "remote-ctx", &format!("http://{}/ctx.tar.gz", srv.host())]).ok();
    assert_eq!(t.rcon(["run", "--rm", "remote-ctx"]).ok(), "from a remote context\n");
    // anything else is a Dockerfile without a context
    t.rcon(["build", "-q", "-t", "remote-df", &format!("http://{}/Dockerfile", srv.host())]).ok();
    assert_eq!(t.rcon(["run", "--rm", "remote-df"]).ok(), "built-from-a-url\n");
    // a missing one names the URL
    let url = format!("http://{}/nothing.tar", srv.host());
    t.rcon(["build", "-t", "none", &url]).fails(1, &format!("unable to prepare context: download {url}"));
});

both_modes!(run_mount_ssh_forwards_the_agent_socket, |t| {
    t.load_busybox("busybox");
    // an agent of the user's, on a socket in the test's directory
    let sock = t.path("agent.sock");
    let agent =
        t.program("ssh-agent", ["-D", "-a", sock.to_str().unwrap()]).stdout(std::process::Stdio::null()).spawn();
    let Ok(mut agent) = agent else {
        panic!("ssh-agent not found: apt-get install openssh-client (make test-setup does it)");
    };
    wait_for("the agent's socket", std::time::Duration::from_secs(10), || sock.exists().then_some(()));
    let df = "FROM busybox\nRUN --mount=type=ssh test -S \"$SSH_AUTH_SOCK\" && echo \"agent at $SSH_AUTH_SOCK\"\n\
              RUN --mount=type=ssh,id=work,target=/agent,required test -S /agent && echo work-agent\n";
    let dir = context(t, "sshctx", &[("Dockerfile", df)]);
    let spec_default = format!("default={}", sock.display());
    let spec_work = format!("work={}", sock.display());
    let out = build(t, &["--ssh", &spec_default, "--ssh", &spec_work, "-t", "withssh"], &dir).ok().to_string();
    assert!(out.contains("agent at /run/buildkit/ssh_agent.0"), "{out}");
    assert!(out.contains("work-agent"), "{out}");
    // without --ssh: a required agent is an error, an optional one is left out
    let r = build(t, &["--no-cache", "--ssh", &spec_default, "-t", "nossh"], &dir);
    r.fails(1, "ssh agent work is required but was not given (--ssh work)");
    // not a socket: said before anything runs
    let df_path = dir.join("Dockerfile");
    build(t, &["--ssh", &format!("default={}", df_path.display())], &dir).fails(1, "is not an SSH agent socket");
    let _ = agent.kill();
    let _ = agent.wait();
});
