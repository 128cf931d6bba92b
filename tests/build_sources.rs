//! Issue 17, the builder's fidelity to Docker: COPY/ADD source patterns as
//! Go's filepath.Match (and BuildKit's rule for a wildcard that matches
//! nothing), the same matcher in `.dockerignore`, and ADD's archives told
//! by content (`FROM scratch` + `ADD rootfs.tar.xz /`).

use crate::build::{build, context};

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
    std::fs::write(dir.join("Dockerfile"), "FROM busybox\nCOPY a.txt [z- /x/\n").unwrap();
    let r = build(t, &[], &dir);
    r.fails(1, "Dockerfile:2: COPY failed: source \"[z-\": syntax error in pattern");
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    std::fs::write(dir.join("Dockerfile"), "FROM busybox\nCOPY a.txt /x/\n").unwrap();
    std::fs::write(dir.join(".dockerignore"), "*.log\n[]\n").unwrap();
    t.give(&dir);
    build(t, &[], &dir).fails(1, ".dockerignore: \"[]\": syntax error in pattern");
});
