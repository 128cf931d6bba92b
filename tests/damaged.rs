//! A damaged record is reported, not hidden (issue 12, item 4): a
//! truncated `container.json` or `state.json`, `volume.json` or network
//! record leaves its object listed (containers as Dead) with a one-line
//! warning naming the file, its name reserved, and `rm` removing it (for a
//! container: stopping its processes from what is still known).

use crate::common::*;

/// Cut a record in half, as a full disk or a crash of another tool would.
fn truncate_half(p: &std::path::Path) {
    let len = std::fs::metadata(p).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(p).unwrap();
    f.set_len(len / 2).unwrap();
}

fn state_of(t: &TestEnv, id: &str) -> serde_json::Value {
    let p = t.data.join("rcon/containers").join(id).join("state.json");
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn alive(pid: i64) -> bool {
    pid > 0 && std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// One warning line naming `file`, and nothing else on stderr.
#[track_caller]
fn warned_once(r: &Run, file: &std::path::Path) {
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one warning line: {:?}", r.stderr);
    assert!(lines[0].starts_with("warning: "), "{}", lines[0]);
    assert!(lines[0].contains(&file.display().to_string()), "names {}: {}", file.display(), lines[0]);
}

/// `record`: container.json or state.json.
fn damaged_container(t: &TestEnv, record: &str) {
    t.load_busybox("busybox");
    let id = t.rcon(["run", "-d", "--name", "web", "busybox", "sleep", "1000"]).ok().trim().to_string();
    let st = state_of(t, &id);
    let (monitor, pid) = (st["monitor_pid"].as_i64().unwrap(), st["pid"].as_i64().unwrap());
    assert!(alive(monitor) && alive(pid));
    let file = t.data.join("rcon/containers").join(&id).join(record);
    truncate_half(&file);

    // listed, as Dead, with one warning naming the file
    let r = t.rcon(["ps", "-a", "--format", "{{.Names}} {{.Status}}"]);
    assert_eq!(r.ok(), "web Dead\n");
    warned_once(&r, &file);
    // the name stays taken while the old process runs
    t.rcon(["run", "-d", "--name", "web", "busybox", "true"]).fails(125, "\"web\" is already in use");
    // other verbs say what is wrong and what to do
    t.rcon(["inspect", "web"]).fails(125, "damaged record");
    t.rcon(["start", "web"]).fails(125, "rcon rm -f web");
    // rm without -f refuses while its monitor runs; rm -f stops and removes it
    t.rcon(["rm", "web"]).fails(125, "use rm -f");
    t.rcon(["rm", "-f", "web"]).ok();
    wait_for("the container's processes to end", std::time::Duration::from_secs(10), || {
        (!alive(monitor) && !alive(pid)).then_some(())
    });
    assert_eq!(t.rcon(["ps", "-aq"]).ok(), "");
    assert!(!t.data.join("rcon/containers").join(&id).exists());
    // and the name is free again
    t.rcon(["run", "--rm", "--name", "web", "busybox", "true"]).ok();
}

both_modes!(truncated_container_json_is_listed_reserved_and_removable, |t| {
    damaged_container(t, "container.json");
});

both_modes!(truncated_state_json_is_listed_reserved_and_removable, |t| {
    damaged_container(t, "state.json");
});

/// A volume's or network's record (`noun`), damaged: listed with one
/// warning, the name not taken again, inspect says so, prune leaves it, rm
/// removes it and the name is free again.
fn damaged_record(t: &TestEnv, noun: &str, name: &str, file: &std::path::Path, listed: &str) {
    t.rcon([noun, "create", name]).ok();
    truncate_half(file);
    let r = t.rcon([noun, "ls", "--format", "{{.Name}}"]);
    assert_eq!(r.ok(), listed);
    warned_once(&r, file);
    // not silently re-created over the damaged record
    t.rcon([noun, "create", name]).fails(125, &format!("rcon {noun} rm {name}"));
    t.rcon([noun, "inspect", name]).fails(125, "damaged record");
    // prune (even of every unused one) leaves it: it goes only when named
    let all: &[&str] = if noun == "volume" { &["-a", "-f"] } else { &["-f"] };
    t.rcon([&[noun, "prune"], all].concat()).ok();
    assert!(file.exists());
    t.rcon([noun, "rm", name]).ok();
    assert!(!file.exists());
    t.rcon([noun, "create", name]).ok();
}

both_modes!(damaged_volume_is_listed_reserved_and_removable, |t| {
    let file = t.data.join("rcon/volumes/data/volume.json");
    damaged_record(t, "volume", "data", &file, "data\n");
    assert!(t.data.join("rcon/volumes/data/_data").is_dir());
});

both_modes!(damaged_network_is_listed_reserved_and_removable, |t| {
    let file = t.data.join("rcon/networks/backend.json");
    damaged_record(t, "network", "backend", &file, "backend\nbridge\nhost\nnone\n");
});
