//! Man pages and completions come from the clap definitions.

use crate::common::*;

#[test]
fn completions_and_man_pages_cover_every_command() {
    let t = TestEnv::new(Mode::Rootless);
    for shell in ["bash", "zsh", "fish"] {
        let out = t.rcon(["completion", shell]).ok().to_string();
        assert!(out.contains("rcon"), "{shell}");
        assert!(out.contains("no-trunc"), "{shell} completion knows image flags");
    }
    let dir = t.path("man");
    t.rcon(["__man", dir.to_str().unwrap()]).ok();
    for page in [
        "rcon.1",
        "rcon-images.1",
        "rcon-image-ls.1",
        "rcon-load.1",
        "rcon-save.1",
        "rcon-import.1",
        "rcon-image-prune.1",
    ] {
        let text = std::fs::read_to_string(dir.join(page)).unwrap_or_else(|_| panic!("{page} missing"));
        assert!(text.contains(".TH"), "{page} is a man page");
    }
    assert!(std::fs::read_to_string(dir.join("rcon-save.1")).unwrap().contains("oci\\-archive"));
}

#[test]
fn version_and_info() {
    let t = TestEnv::new(Mode::Rootless);
    assert!(t.rcon(["-v"]).ok().starts_with("rcon version "));
    assert!(t.rcon(["version"]).ok().contains("API version:"));
    assert_eq!(t.rcon(["version", "--format", "{{.Client.Os}}"]).ok(), "linux\n");
    let info: serde_json::Value = serde_json::from_str(t.rcon(["info", "--format", "{{json .}}"]).ok()).unwrap();
    assert_eq!(info["Rootless"], true);
    assert_eq!(info["DockerRootDir"], t.data.join("rcon").display().to_string());
    assert!(["overlay", "vfs"].contains(&info["Driver"].as_str().unwrap()));
    let uid_map = &info["IDMappings"]["UIDMap"];
    assert_eq!(uid_map[0]["ContainerID"], 0);
    assert_eq!(uid_map[1]["HostID"].as_u64().unwrap() as u32, subuid_start().unwrap());
    let text = t.rcon(["info"]).ok().to_string();
    for needle in ["Storage Driver:", "Rootless: true", "UID Mappings:", "Docker Root Dir:"] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    if let Some(r) = TestEnv::try_new(Mode::Root) {
        let info: serde_json::Value =
            serde_json::from_str(r.rcon(["system", "info", "--format", "json"]).ok()).unwrap();
        assert_eq!(info["Rootless"], false);
        assert!(info.get("IDMappings").is_none());
    }
}

#[test]
fn xdg_runtime_dir_missing_or_unwritable_falls_back() {
    let t = TestEnv::new(Mode::Rootless);
    let mut c = t.cmd(["info", "--format", "{{.RuntimeDir}}"]);
    c.env("XDG_RUNTIME_DIR", "/root/not-yours");
    let out = Run::from(c.output().unwrap());
    let uid = test_user().map(|u| u.uid).unwrap_or(unsafe { libc::geteuid() });
    assert_eq!(out.ok().trim(), format!("/tmp/rcon-{uid}"));
}

#[test]
fn unwritable_data_dir_is_a_clear_error() {
    let t = TestEnv::new(Mode::Rootless);
    let mut c = t.cmd(["images"]);
    c.env("XDG_DATA_HOME", "/proc/unwritable");
    let r = Run::from(c.output().unwrap());
    r.fails(125, "XDG_DATA_HOME");
}

#[test]
fn docker_management_groups_have_dockers_subcommands() {
    // `docker container …`, `docker image …`, `docker network …`, `docker
    // volume …`: scripts use the long forms too.
    let t = TestEnv::new(Mode::Rootless);
    let groups: [(&str, &[&str]); 4] = [
        (
            "container",
            &[
                "attach", "commit", "cp", "create", "diff", "exec", "export", "inspect", "kill", "logs", "ls", "pause",
                "port", "prune", "rename", "restart", "rm", "run", "start", "stats", "stop", "top", "unpause",
                "update", "wait",
            ],
        ),
        (
            "image",
            &["build", "history", "import", "inspect", "load", "ls", "prune", "pull", "push", "rm", "save", "tag"],
        ),
        ("network", &["connect", "create", "disconnect", "inspect", "ls", "prune", "rm"]),
        ("volume", &["create", "inspect", "ls", "prune", "rm"]),
    ];
    for (group, subs) in groups {
        for sub in subs {
            let r = t.rcon([group, sub, "--help"]);
            assert_eq!(r.code, 0, "rcon {group} {sub}: {}", r.stderr);
        }
    }
}
