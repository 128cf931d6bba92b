//! Issue 17: Docker's predefined build args. The proxy variables pass
//! `--build-arg` without an ARG, reach RUN and stay out of the image's
//! history, config and cache key; the platform args are BuildKit's (global
//! scope at once, in a stage after `ARG NAME`).

use crate::build::{build, cache_hits, context, inspect};
use crate::common::*;

fn history(t: &TestEnv, image: &str) -> String {
    t.rcon(["history", "--no-trunc", "--format", "{{.CreatedBy}}", image]).ok().to_string()
}

both_modes!(proxy_args_reach_run_but_not_the_image, |t| {
    t.load_busybox("busybox");
    let dir = context(t, "ctx", &[(
        "Dockerfile",
        "FROM busybox\nRUN echo \"p=$HTTP_PROXY s=$https_proxy n=$NO_PROXY a=$all_proxy f=$FTP_PROXY\" > /seen\nCMD cat /seen\n",
    )]);
    let args = |proxy: &str| {
        vec![
            "-t".to_string(),
            "px".into(),
            "--build-arg".into(),
            format!("HTTP_PROXY={proxy}"),
            "--build-arg".into(),
            "https_proxy=http://s.invalid:8443".into(),
            "--build-arg".into(),
            "NO_PROXY=localhost,.internal".into(),
            "--build-arg".into(),
            "all_proxy=socks5://a.invalid".into(),
            "--build-arg".into(),
            "FTP_PROXY=ftp://f.invalid".into(),
        ]
    };
    let a = args("http://user:secret@proxy.invalid:3128");
    let out = build(t, &a.iter().map(String::as_str).collect::<Vec<_>>(), &dir).ok().to_string();
    assert!(!out.contains("not consumed"), "{out}");
    assert_eq!(
        t.rcon(["run", "--rm", "px"]).ok(),
        "p=http://user:secret@proxy.invalid:3128 s=http://s.invalid:8443 n=localhost,.internal a=socks5://a.invalid f=ftp://f.invalid\n"
    );
    let h = history(t, "px");
    assert!(!h.contains("invalid") && !h.contains("secret"), "the proxies leak into the history: {h}");
    let img = inspect(t, "px");
    assert!(!img.to_string().contains("proxy.invalid"), "the proxies leak into the image: {img}");
    // Transparent for the cache too, as in Docker: another proxy, same image.
    let a = args("http://other.invalid:80");
    let out = build(t, &a.iter().map(String::as_str).collect::<Vec<_>>(), &dir).ok().to_string();
    assert_eq!(cache_hits(&out), [2, 3], "{out}");
    // Declared with ARG it is an ordinary arg: in the history (Docker's opt-in).
    std::fs::write(dir.join("Dockerfile"), "FROM busybox\nARG HTTP_PROXY\nRUN echo \"$HTTP_PROXY\" > /seen\n").unwrap();
    build(t, &["-t", "px2", "--build-arg", "HTTP_PROXY=http://declared.invalid"], &dir).ok();
    assert!(history(t, "px2").contains("|1 HTTP_PROXY=http://declared.invalid /bin/sh -c"), "{}", history(t, "px2"));
    // Any other undeclared arg still does not reach RUN, and is warned about.
    std::fs::write(dir.join("Dockerfile"), "FROM busybox\nRUN echo \"[$OTHER]\" > /seen\nCMD cat /seen\n").unwrap();
    let out = build(t, &["-t", "px3", "--build-arg", "OTHER=x"], &dir).ok().to_string();
    assert!(out.contains("[Warning] One or more build-args [OTHER] were not consumed"), "{out}");
    assert_eq!(t.rcon(["run", "--rm", "px3"]).ok(), "[]\n");
});

both_modes!(platform_args_as_buildkit_defines_them, |t| {
    t.load_busybox("busybox");
    let arch = fixtures::host_arch();
    t.rcon(["tag", "busybox", &format!("bb:{arch}")]).ok();
    let dir = context(t, "ctx", &[(
        "Dockerfile",
        "FROM bb:${TARGETARCH}\nRUN echo \"before=[${TARGETARCH-unset}]\" > /p\n\
         ARG TARGETPLATFORM TARGETOS TARGETARCH TARGETVARIANT BUILDPLATFORM BUILDOS BUILDARCH\n\
         RUN echo \"$TARGETPLATFORM $TARGETOS $TARGETARCH [${TARGETVARIANT-unset}] $BUILDPLATFORM $BUILDOS $BUILDARCH\" >> /p\n\
         CMD cat /p\n",
    )]);
    build(t, &["-t", "plat"], &dir).ok();
    let variant = if arch == "arm" { "v7" } else { "" };
    let platform = if variant.is_empty() { format!("linux/{arch}") } else { format!("linux/{arch}/{variant}") };
    assert_eq!(
        t.rcon(["run", "--rm", "plat"]).ok(),
        format!("before=[unset]\n{platform} linux {arch} [{variant}] {platform} linux {arch}\n")
    );
});
