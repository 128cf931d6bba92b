//! Life without a daemon: healthchecks, restart policies (the monitor does
//! the daemon's jobs).

use std::time::Duration;

use serde_json::{json, Value};

use crate::common::*;

fn img(t: &TestEnv) {
    t.load_busybox("busybox");
}

fn inspect(t: &TestEnv, name: &str) -> Value {
    let out = t.rcon(["inspect", name]).ok().to_string();
    serde_json::from_str::<Value>(&out).unwrap()[0].clone()
}

fn status(t: &TestEnv, name: &str) -> String {
    t.rcon(["ps", "-a", "--filter", &format!("name={name}"), "--format", "{{.Status}}"]).ok().trim().to_string()
}

fn health(t: &TestEnv, name: &str) -> Value {
    inspect(t, name)["State"]["Health"].clone()
}

both_modes!(healthcheck_transitions_seen_in_ps_and_inspect, |t| {
    img(t);
    // healthy only while /tmp/ok exists
    t.rcon([
        "run",
        "-d",
        "--name",
        "hc",
        "--health-cmd",
        "cat /tmp/ok",
        "--health-interval",
        "200ms",
        "--health-retries",
        "2",
        "busybox",
        "sleep",
        "1000",
    ])
    .ok();
    assert!(status(t, "hc").ends_with("(health: starting)"), "{}", status(t, "hc"));
    wait_for("unhealthy", Duration::from_secs(20), || (health(t, "hc")["Status"] == "unhealthy").then_some(()));
    let h = health(t, "hc");
    assert!(h["FailingStreak"].as_i64().unwrap() >= 2, "{h}");
    assert!(h["Log"][0]["ExitCode"].as_i64().unwrap() == 1, "{h}");
    assert!(h["Log"][0]["Output"].as_str().unwrap().contains("No such file"), "{h}");
    assert!(status(t, "hc").ends_with("(unhealthy)"), "{}", status(t, "hc"));
    assert_eq!(t.rcon(["ps", "-q", "--filter", "health=unhealthy"]).ok().trim().len(), 12);
    assert_eq!(t.rcon(["ps", "-q", "--filter", "health=healthy"]).ok(), "");
    let r = t.rcon(["healthcheck", "run", "hc"]);
    assert_eq!((r.code, r.stdout.as_str()), (1, "unhealthy\n"));

    t.rcon(["exec", "hc", "sh", "-c", "echo fine > /tmp/ok"]).ok();
    wait_for("healthy", Duration::from_secs(20), || (health(t, "hc")["Status"] == "healthy").then_some(()));
    let h = health(t, "hc");
    assert_eq!(h["FailingStreak"], 0, "{h}");
    let log = h["Log"].as_array().unwrap();
    assert!(log.len() <= 5, "Docker keeps the last 5 results: {h}");
    let last = log.last().unwrap();
    assert_eq!((last["ExitCode"].as_i64(), last["Output"].as_str()), (Some(0), Some("fine\n")), "{h}");
    assert!(last["Start"].as_str().unwrap() <= last["End"].as_str().unwrap(), "{h}");
    assert!(status(t, "hc").ends_with("(healthy)"), "{}", status(t, "hc"));
    assert_eq!(t.rcon(["ps", "-q", "--filter", "health=healthy"]).ok().trim().len(), 12);
    assert_eq!(t.rcon(["healthcheck", "run", "hc"]).code, 0);
    let cfg = &inspect(t, "hc")["Config"]["Healthcheck"];
    assert_eq!(*cfg, json!({"Test": ["CMD-SHELL", "cat /tmp/ok"], "Interval": 200_000_000, "Retries": 2}));
    t.rcon(["rm", "-f", "hc"]).ok();
});

both_modes!(healthcheck_from_the_image_and_disabled, |t| {
    let archive = fixtures::image_archive(
        &t.dir,
        "hc.tar",
        &["withhc"],
        &[fixtures::busybox_layer()],
        json!({"config": {"Healthcheck": {"Test": ["CMD", "true"], "Interval": 100_000_000u64}}}),
    );
    t.give(&archive);
    t.rcon(["load", "-i", archive.to_str().unwrap()]).ok();
    t.rcon(["run", "-d", "--name", "img", "withhc", "sleep", "1000"]).ok();
    wait_for("healthy", Duration::from_secs(20), || (health(t, "img")["Status"] == "healthy").then_some(()));
    // --no-healthcheck turns it off: no Health, "none" for the filter
    t.rcon(["run", "-d", "--name", "off", "--no-healthcheck", "withhc", "sleep", "1000"]).ok();
    assert_eq!(health(t, "off"), Value::Null);
    assert_eq!(inspect(t, "off")["Config"]["Healthcheck"]["Test"], json!(["NONE"]));
    assert!(status(t, "off").starts_with("Up") && !status(t, "off").contains('('), "{}", status(t, "off"));
    let none = t.rcon(["ps", "--filter", "health=none", "--format", "{{.Names}}"]).ok().to_string();
    assert_eq!(none, "off\n");
    t.rcon(["healthcheck", "run", "off"]).fails(125, "has no healthcheck");
    t.rcon(["run", "-d", "--no-healthcheck", "--health-cmd", "true", "withhc"]).fails(125, "conflicts");
    t.rcon(["run", "-d", "--health-interval", "soon", "withhc"]).fails(125, "--health-interval");
    t.rcon(["run", "-d", "--health-on-failure", "explode", "withhc"]).fails(125, "--health-on-failure");
    t.rcon(["rm", "-f", "img", "off"]).ok();
});

both_modes!(healthcheck_timeout_kills_a_hanging_probe, |t| {
    img(t);
    t.rcon([
        "run",
        "-d",
        "--name",
        "hang",
        "--health-cmd",
        "echo started; sleep 300",
        "--health-timeout",
        "300ms",
        "--health-interval",
        "1s",
        "--health-retries",
        "1",
        "busybox",
        "sleep",
        "1000",
    ])
    .ok();
    wait_for("unhealthy", Duration::from_secs(20), || (health(t, "hang")["Status"] == "unhealthy").then_some(()));
    let h = health(t, "hang");
    assert_eq!(h["Log"][0]["ExitCode"], -1, "{h}");
    assert_eq!(h["Log"][0]["Output"], "Health check exceeded timeout (300ms)", "{h}");
    // the hanging probe was killed with everything it started
    wait_for("no sleep 300 left", Duration::from_secs(10), || {
        let top = t.rcon(["top", "hang"]).ok().to_string();
        (!top.lines().any(|l| l.ends_with("sleep 300") && !l.contains("defunct"))).then_some(())
    });
    t.rcon(["rm", "-f", "hang"]).ok();
});

/// A container whose healthcheck always fails, with this --health-on-failure.
fn run_failing(t: &TestEnv, name: &str, action: &str) {
    let args = ["--health-cmd", "false", "--health-interval", "200ms", "--health-retries", "1"];
    let mut v = vec!["run", "-d", "--name", name];
    v.extend(args);
    v.extend(["--health-on-failure", action, "busybox", "sleep", "1000"]);
    t.rcon(v).ok();
}

both_modes!(health_on_failure_kill, |t| {
    img(t);
    run_failing(t, "doomed", "kill");
    wait_for("killed", Duration::from_secs(20), || status(t, "doomed").starts_with("Exited (137)").then_some(()));
    t.rcon(["rm", "doomed"]).ok();
});

/// The monitor's pid from state.json (0 once it is gone).
fn monitor_alive(t: &TestEnv, name: &str) -> bool {
    let id = inspect(t, name)["Id"].as_str().unwrap().to_string();
    let text = std::fs::read_to_string(t.data.join(format!("rcon/containers/{id}/state.json"))).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let pid = v["monitor_pid"].as_i64().unwrap_or(0);
    if pid <= 0 {
        return false;
    }
    // A live, non-zombie process whose command line is ours, or empty: a
    // monitor that restarts its container re-executes itself, and in the
    // middle of that execve its command line reads as nothing.
    let state = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(')').and_then(|(_, rest)| rest.trim_start().chars().next()));
    if state.is_none_or(|c| c == 'Z') {
        return false;
    }
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|c| c.is_empty() || String::from_utf8_lossy(&c).contains("__monitor"))
}

both_modes!(restart_on_failure_restarts_exactly_twice, |t| {
    img(t);
    t.rcon(["run", "-d", "--name", "of", "--restart", "on-failure:2", "busybox", "sh", "-c", "echo run; exit 3"]).ok();
    wait_for("the monitor gives up", Duration::from_secs(20), || (!monitor_alive(t, "of")).then_some(()));
    let v = inspect(t, "of");
    assert_eq!(v["RestartCount"], 2, "{}", v["State"]);
    assert_eq!(v["State"]["Status"], "exited");
    assert_eq!(v["State"]["ExitCode"], 3);
    assert_eq!(v["HostConfig"]["RestartPolicy"], json!({"Name": "on-failure", "MaximumRetryCount": 2}));
    assert_eq!(t.rcon(["logs", "of"]).ok(), "run\nrun\nrun\n");
    // a success is not a failure: no restart
    t.rcon(["run", "-d", "--name", "ok", "--restart", "on-failure", "busybox", "true"]).ok();
    wait_for("exit", Duration::from_secs(20), || (!monitor_alive(t, "ok")).then_some(()));
    assert_eq!(inspect(t, "ok")["RestartCount"], 0);
    // bad input
    t.rcon(["run", "-d", "--restart", "sometimes", "busybox"]).fails(125, "invalid restart policy");
    t.rcon(["run", "-d", "--restart", "always:3", "busybox"]).fails(125, "maximum retry count");
    t.rcon(["run", "--rm", "--restart", "always", "busybox"]).fails(125, "--restart and --rm");
    assert_eq!(t.rcon(["ps", "-aq"]).ok().lines().count(), 2);
});

both_modes!(restart_always_survives_sigkill_but_not_the_user, |t| {
    img(t);
    t.rcon(["run", "-d", "--name", "al", "--restart", "always", "busybox", "sleep", "1000"]).ok();
    let pid = inspect(t, "al")["State"]["Pid"].as_i64().unwrap();
    assert!(pid > 0);
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    let v = wait_for("the restart", Duration::from_secs(20), || {
        let v = inspect(t, "al");
        (v["State"]["Running"] == true && v["State"]["Pid"].as_i64() != Some(pid)).then_some(v)
    });
    assert_eq!(v["RestartCount"], 1);
    assert!(status(t, "al").starts_with("Up"), "{}", status(t, "al"));
    // a kill by the user is honoured: no restart
    t.rcon(["kill", "al"]).ok();
    wait_for("the monitor exits", Duration::from_secs(20), || (!monitor_alive(t, "al")).then_some(()));
    let v = inspect(t, "al");
    assert_eq!((v["State"]["Status"].as_str(), v["RestartCount"].as_i64()), (Some("exited"), Some(1)));
    // start --all brings back `always` containers, even stopped ones (Docker's daemon start)
    t.rcon(["run", "-d", "--name", "never", "busybox", "sleep", "1000"]).ok();
    t.rcon(["kill", "never"]).ok();
    wait_for("never exits", Duration::from_secs(20), || (!monitor_alive(t, "never")).then_some(()));
    assert_eq!(t.rcon(["start", "--all"]).ok(), "al\n");
    assert!(status(t, "al").starts_with("Up"), "{}", status(t, "al"));
    assert!(status(t, "never").starts_with("Exited"), "{}", status(t, "never"));
    // a manual start resets the count, as Docker does
    assert_eq!(inspect(t, "al")["RestartCount"], 0);
    t.rcon(["rm", "-f", "al", "never"]).ok();
});

both_modes!(restart_crash_loop_backs_off, |t| {
    img(t);
    let begin = std::time::Instant::now();
    t.rcon(["run", "-d", "--name", "loop", "--restart", "always", "busybox", "false"]).ok();
    // between runs the container shows Docker's "Restarting (1) … ago"
    wait_for("restarting", Duration::from_secs(20), || status(t, "loop").starts_with("Restarting (1)").then_some(()));
    wait_for("five restarts", Duration::from_secs(30), || {
        (inspect(t, "loop")["RestartCount"].as_i64().unwrap() >= 5).then_some(())
    });
    // 100 + 200 + 400 + 800 ms of back-off before the fifth restart at the least:
    // a loop without back-off would restart hundreds of times in that time
    assert!(begin.elapsed() >= Duration::from_millis(1500), "{:?}", begin.elapsed());
    assert!(inspect(t, "loop")["RestartCount"].as_i64().unwrap() < 12);
    // stop during the back-off ends the loop
    t.rcon(["stop", "loop"]).ok();
    wait_for("the monitor exits", Duration::from_secs(20), || (!monitor_alive(t, "loop")).then_some(()));
    assert_eq!(inspect(t, "loop")["State"]["Status"], "exited");
    t.rcon(["rm", "loop"]).ok();
});

both_modes!(health_on_failure_restart, |t| {
    img(t);
    run_failing(t, "sick", "restart");
    wait_for("restarted", Duration::from_secs(20), || {
        (inspect(t, "sick")["RestartCount"].as_i64().unwrap() >= 1).then_some(())
    });
    t.rcon(["rm", "-f", "sick"]).ok();
});

/// `rcon events` running in the background; its lines arrive on a channel.
struct Follower {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Follower {
    fn start(t: &TestEnv, args: &[&str]) -> Follower {
        Follower::spawn(t.cmd(["events"].iter().chain(args)))
    }

    /// Any rcon command whose output lines are read as they come.
    fn spawn(mut c: std::process::Command) -> Follower {
        use std::io::BufRead;
        c.stdin(std::process::Stdio::null()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::null());
        let mut child = c.spawn().unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for l in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        Follower { child, lines }
    }

    /// Lines until one equals `last` (panics after the deadline).
    fn until(&self, last: &str) -> Vec<String> {
        let mut got = Vec::new();
        loop {
            match self.lines.recv_timeout(Duration::from_secs(20)) {
                Ok(l) => {
                    let done = l == last;
                    got.push(l);
                    if done {
                        return got;
                    }
                }
                Err(_) => panic!("no {last:?} from rcon events; got {got:?}"),
            }
        }
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

both_modes!(events_seen_by_a_follower_started_before, |t| {
    img(t);
    let f = Follower::start(t, &["--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}"]);
    // The follower shows what happens after it started: tag until it sees one.
    let mut n = 0;
    loop {
        n += 1;
        t.rcon(["tag", "busybox", &format!("ready:{n}")]).ok();
        if f.lines.recv_timeout(Duration::from_millis(500)).is_ok() {
            break;
        }
        assert!(n < 40, "rcon events never showed a tag");
    }
    t.rcon(["run", "--name", "ev", "busybox", "sh", "-c", "exit 3"]).fails(3, "");
    t.rcon(["rename", "ev", "ev2"]).ok();
    t.rcon(["rm", "ev2"]).ok();
    t.rcon(["rmi", &format!("ready:{n}")]).ok();
    let got = f.until(&format!("image untag ready:{n}"));
    // (further ready:N tags may precede these if the first ones were slow)
    let from = got.iter().position(|l| l == "container create ev").expect("create");
    assert_eq!(
        got[from..],
        [
            "container create ev",
            "container start ev",
            "container die ev",
            "container rename ev2",
            "container destroy ev2",
            &format!("image untag ready:{n}"),
        ]
    );
});

both_modes!(events_filters_windows_rotation_and_corruption, |t| {
    img(t);
    // Many writers at once, with a small cap so the journal rotates once:
    // every record is still readable (.1 then the current file).
    let mut children = Vec::new();
    for i in 0..16 {
        let mut c = t.cmd(["tag", "busybox", &format!("many:{i}")]);
        c.env("RCON_EVENTS_MAX_BYTES", "4000").stdout(std::process::Stdio::null());
        children.push(c.spawn().unwrap());
    }
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let journal = t.run.join("rcon/events");
    assert!(journal.join("events.log.1").exists(), "no rotation in {}", journal.display());
    let r = past_events(t, "event=tag", "{{.Actor.Attributes.name}}");
    let mut names: Vec<&str> = r.ok().lines().collect();
    names.sort();
    let mut want: Vec<String> = (0..16).map(|i| format!("many:{i}")).collect();
    want.sort();
    assert_eq!(names, want);
    assert_eq!(r.stderr, "");

    // Names that cannot be id prefixes: `container=` matches either.
    t.rcon(["run", "--name", "xa", "busybox", "true"]).ok();
    t.rcon(["run", "--name", "xb", "busybox", "true"]).ok();
    let since = ["events", "--since", "10m", "--until", "0s"];
    let q = |extra: &[&str]| t.rcon(since.iter().chain(extra)).ok().to_string();
    assert_eq!(q(&["--filter", "container=xa", "--format", "{{.Action}}"]), "create\nstart\ndie\n");
    assert_eq!(
        q(&["--filter", "type=container", "--filter", "event=die", "--format", "{{.Actor.Attributes.name}}"]),
        "xa\nxb\n"
    );
    assert_eq!(
        q(&[
            "--filter",
            "event=create",
            "--filter",
            "event=die",
            "--filter",
            "container=xb",
            "--format",
            "{{.Action}}"
        ]),
        "create\ndie\n"
    );
    let json_line = q(&["--filter", "container=xb", "--filter", "event=die", "--format", "json"]);
    let v: Value = serde_json::from_str(json_line.trim()).unwrap();
    assert_eq!(
        (v["Type"].as_str(), v["Action"].as_str(), v["status"].as_str()),
        (Some("container"), Some("die"), Some("die"))
    );
    assert_eq!(v["Actor"]["Attributes"]["exitCode"], "0");
    assert!(v["timeNano"].as_i64().unwrap() / 1_000_000_000 == v["time"].as_i64().unwrap());
    // default format: Docker's line
    let line = q(&["--filter", "container=xa", "--filter", "event=create"]);
    assert!(line.contains(" container create ") && line.trim_end().ends_with("(image=busybox, name=xa)"), "{line}");
    // a window in the past: nothing
    assert_eq!(t.rcon(["events", "--since", "1h", "--until", "30m"]).ok(), "");

    // a corrupted record: skipped, with a warning naming it
    use std::io::Write;
    let log = journal.join("events.log");
    std::fs::OpenOptions::new().append(true).open(&log).unwrap().write_all(b"{\"Type\":\"cont\n").unwrap();
    t.rcon(["run", "--name", "xc", "busybox", "true"]).ok();
    let r =
        t.rcon(["events", "--since", "10m", "--until", "0s", "--filter", "container=xc", "--format", "{{.Action}}"]);
    assert_eq!(r.ok(), "create\nstart\ndie\n");
    assert!(r.stderr.contains("skipping a corrupted record"), "{}", r.stderr);

    t.rcon(["events", "--filter", "colour=red"]).fails(125, "invalid filter");
    t.rcon(["events", "--since", "yesterday-ish"]).fails(125, "--since");
    t.rcon(["events", "--format", "{{.Action"]).fails(125, "");
    t.rcon(["rm", "xa", "xb", "xc"]).ok();
});

both_modes!(stats_from_proc_without_a_daemon, |t| {
    img(t);
    // --network none: the default network (slirp4netns) would count its own traffic.
    t.rcon(["run", "-d", "--name", "busy", "--network", "none", "busybox", "sh", "-c", "while true; do :; done"]).ok();
    t.rcon(["run", "-d", "--name", "idle", "busybox", "sleep", "1000"]).ok();
    t.rcon(["create", "--name", "never", "busybox"]).ok();
    // an exec'd process is the container's too
    t.rcon(["exec", "-d", "idle", "sleep", "999"]).ok();
    wait_for("two processes in idle", Duration::from_secs(20), || {
        let out = t.rcon(["stats", "--no-stream", "--format", "{{.PIDs}}", "idle"]).ok().to_string();
        (out == "2\n").then_some(())
    });
    let out = t.rcon(["stats", "--no-stream"]).ok().to_string();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    for h in ["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"] {
        assert!(lines[0].contains(h), "{out}");
    }
    let fmt = "{{.Name}}|{{.CPUPerc}}|{{.MemUsage}}|{{.MemPerc}}|{{.NetIO}}|{{.BlockIO}}|{{.PIDs}}";
    let busy = t.rcon(["stats", "--no-stream", "--format", fmt, "busy"]).ok().trim().to_string();
    let f: Vec<&str> = busy.split('|').collect();
    assert_eq!(f[0], "busy");
    let cpu: f64 = f[1].trim_end_matches('%').parse().unwrap();
    assert!(cpu > 1.0, "a busy loop uses CPU: {busy}");
    assert!(f[2].contains("iB / ") && f[3].ends_with('%'), "{busy}");
    // only loopback in its network namespace: nothing counted
    assert_eq!(f[4], "0B / 0B", "{busy}");
    assert!(f[5].contains(" / "), "{busy}");
    assert_eq!(f[6], "1", "{busy}");
    // -a adds stopped containers, with nothing to measure
    let all = t.rcon(["stats", "-a", "--no-stream", "--format", "{{.Name}} {{.CPUPerc}} {{.PIDs}}"]).ok().to_string();
    assert!(all.lines().any(|l| l == "never -- --"), "{all}");
    let json_line = t.rcon(["stats", "--no-stream", "--format", "json", "idle"]).ok().to_string();
    let v: Value = serde_json::from_str(json_line.trim()).unwrap();
    assert_eq!((v["Name"].as_str(), v["Container"].as_str()), (Some("idle"), Some("idle")));
    // a stopped container named explicitly: a clear error
    t.rcon(["stats", "--no-stream", "never"]).fails(125, "container never is not running");
    t.rcon(["stats", "--no-stream", "nosuch"]).fails(125, "no such container");
    t.rcon(["rm", "-f", "busy", "idle", "never"]).ok();
});

/// The state letter (R, S, T…) of a host pid.
fn proc_state(pid: i64) -> String {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit_once(')').map(|(_, r)| r.split_whitespace().next().unwrap_or("").to_string()).unwrap_or_default()
}

both_modes!(pause_unpause_stops_the_whole_tree, |t| {
    img(t);
    t.rcon(["run", "-d", "--name", "pz", "busybox", "sh", "-c", "sleep 1000 & sleep 1000"]).ok();
    let pid = inspect(t, "pz")["State"]["Pid"].as_i64().unwrap();
    assert_eq!(t.rcon(["pause", "pz"]).ok(), "pz\n");
    let v = inspect(t, "pz");
    assert_eq!((v["State"]["Status"].as_str(), v["State"]["Paused"].as_bool()), (Some("paused"), Some(true)));
    assert!(status(t, "pz").ends_with("(Paused)"), "{}", status(t, "pz"));
    assert_eq!(proc_state(pid), "T");
    t.rcon(["pause", "pz"]).fails(125, "already paused");
    t.rcon(["unpause", "pz"]).ok();
    assert_ne!(proc_state(pid), "T");
    assert_eq!(inspect(t, "pz")["State"]["Status"], "running");
    t.rcon(["unpause", "pz"]).fails(125, "not paused");
    // stop works on a paused container
    t.rcon(["pause", "pz"]).ok();
    t.rcon(["stop", "-t", "1", "pz"]).ok();
    assert_eq!(inspect(t, "pz")["State"]["Status"], "exited");
    t.rcon(["pause", "pz"]).fails(125, "not running");
    t.rcon(["rm", "pz"]).ok();
});

both_modes!(update_restart_and_wait_conditions, |t| {
    img(t);
    t.rcon(["run", "-d", "--name", "up", "busybox", "sh", "-c", "sleep 1; exit 7"]).ok();
    // the policy reaches the running container's monitor
    t.rcon(["update", "--restart", "on-failure:1", "up"]).ok();
    assert_eq!(inspect(t, "up")["HostConfig"]["RestartPolicy"]["Name"], "on-failure");
    // next-exit: the first run ends with 7 (and is restarted once)
    assert_eq!(t.rcon(["wait", "--condition", "next-exit", "up"]).ok(), "7\n");
    wait_for("the restart", Duration::from_secs(20), || (inspect(t, "up")["RestartCount"] == 1).then_some(()));
    assert_eq!(t.rcon(["wait", "up"]).ok(), "7\n");
    assert_eq!(inspect(t, "up")["RestartCount"], 1);
    t.rcon(["update", "--restart", "bogus", "up"]).fails(125, "invalid restart policy");
    t.rcon(["update", "up"]).fails(125, "--restart");
    t.rcon(["wait", "--condition", "soon", "up"]).fails(125, "invalid condition");
    t.rcon(["rm", "up"]).ok();
    // removed: returns once a --rm container has exited and removed itself
    t.rcon(["run", "-d", "--rm", "--name", "gone", "busybox", "sh", "-c", "sleep 1"]).ok();
    t.rcon(["wait", "--condition", "removed", "gone"]).ok();
    assert_eq!(t.rcon(["ps", "-aq"]).ok(), "");
});

both_modes!(doctor_reports_the_test_hosts_state, |t| {
    let r = t.rcon(["doctor"]);
    assert!(r.code == 0 || r.code == 1, "{r:?}", r = (r.code, &r.stdout, &r.stderr));
    if t.mode == Mode::Rootless {
        // the test user has a range and the setuid tools
        for l in ["ok    newuidmap", "ok    newgidmap", "ok    subuid", "ok    subgid"] {
            assert!(r.stdout.contains(l), "{l:?} in {}", r.stdout);
        }
    }
    assert!(r.stdout.lines().any(|l| l.contains("tun")), "{}", r.stdout);
});

/// A user made for one test (no subordinate ranges), removed afterwards.
struct ThrowawayUser {
    name: String,
    uid: u32,
}

impl Drop for ThrowawayUser {
    fn drop(&mut self) {
        // userdel refuses while a process of the user lives: a container
        // just removed may still be exiting. Retry briefly.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !std::process::Command::new("userdel").arg(&self.name).status().is_ok_and(|s| s.success())
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Create `name` with no subordinate ranges and no home.
fn useradd_bare(name: &str) {
    let st = std::process::Command::new("useradd")
        .args(["-M", "-N", "-s", "/bin/false", "-K", "SUB_UID_COUNT=0", "-K", "SUB_GID_COUNT=0", name])
        .status()
        .unwrap();
    assert!(st.success(), "useradd {name}");
}

#[test]
fn doctor_names_missing_subuid_range_and_0600_tun_with_fixes() {
    if !is_root() {
        eprintln!("note: not run: creating a throwaway user needs root");
        return;
    }
    let t = TestEnv::new(Mode::Root);
    let name = format!("rcondoc{}", std::process::id() % 100_000);
    useradd_bare(&name);
    let uid: u32 = String::from_utf8(std::process::Command::new("id").args(["-u", &name]).output().unwrap().stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let user = ThrowawayUser { name, uid };
    // A copy of the tun device, 0600 root: the real one is left alone for
    // the tests running next to this one.
    let tun = t.path("tun");
    let st = std::process::Command::new("mknod").arg(&tun).args(["c", "10", "200"]).status().unwrap();
    assert!(st.success());
    std::fs::set_permissions(&tun, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let mut c = std::process::Command::new(rcon_bin());
    c.arg("doctor").env_clear().env("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    c.env("HOME", &t.home).env("RCON_TUN_DEVICE", &tun).env("USER", &user.name);
    c.env("RCON_ROOT", t.path("data")).env("RCON_RUNROOT", t.path("run"));
    let uid = user.uid;
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut c, move || {
            let gid = 65534u32;
            if libc::setgroups(0, std::ptr::null()) != 0 || libc::setgid(gid) != 0 || libc::setuid(uid) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = c.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(1), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains(&format!("FAIL  subuid           no subordinate uid range for {}", user.name)), "{text}");
    assert!(text.contains("fix: sudo usermod --add-subuids ") && text.contains(&format!(" {}\n", user.name)), "{text}");
    assert!(text.contains("FAIL  subgid") && text.contains("--add-subgids"), "{text}");
    assert!(
        text.contains(&format!(
            "FAIL  tun              {} is not readable and writable by you (mode 600)",
            tun.display()
        )),
        "{text}"
    );
    assert!(text.contains(&format!("fix: sudo chmod 0666 {}", tun.display())), "{text}");
}

/// Bytes of regular files under a directory (what `du --apparent-size` counts for files).
fn file_bytes(p: &std::path::Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(p) else { return 0 };
    rd.flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => file_bytes(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map(|m| m.len()).unwrap_or(0),
            _ => 0,
        })
        .sum()
}

/// go-units HumanSize with 4 digits, for the expected figures.
fn human4(b: u64) -> String {
    let units = ["B", "kB", "MB", "GB"];
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1000.0 && i < 3 {
        v /= 1000.0;
        i += 1;
    }
    let s = format!("{:.*}", 3usize.saturating_sub((v.log10().floor().max(0.0)) as usize), v);
    let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s };
    format!("{s}{}", units[i])
}

both_modes!(system_df_matches_the_files_on_disk, |t| {
    img(t);
    t.rcon(["run", "--name", "wrote", "busybox", "dd", "if=/dev/zero", "of=/big", "bs=1000", "count=300"]).ok();
    t.rcon(["run", "-d", "--name", "runs", "busybox", "sleep", "1000"]).ok();
    let data = t.data.join("rcon");
    // images: the layers' content, from their records on disk
    let mut layers = 0u64;
    for e in std::fs::read_dir(data.join("layers")).unwrap().flatten() {
        let rec: Value = serde_json::from_slice(&std::fs::read(e.path().join("layer.json")).unwrap()).unwrap();
        layers += rec["size"].as_u64().unwrap();
        assert!(file_bytes(&e.path().join("diff")) > 0);
    }
    let id = |n: &str| inspect(t, n)["Id"].as_str().unwrap().to_string();
    let wrote = file_bytes(&data.join(format!("containers/{}/upper", id("wrote"))));
    let runs = file_bytes(&data.join(format!("containers/{}/upper", id("runs"))));
    assert!(wrote >= 300_000, "{wrote}");
    let fmt = "{{.Type}}|{{.TotalCount}}|{{.Active}}|{{.Size}}|{{.Reclaimable}}";
    let out = t.rcon(["system", "df", "--format", fmt]).ok().to_string();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], format!("Images|1|1|{}|0B (0%)", human4(layers)), "{out}");
    let total = wrote + runs;
    let pct = (wrote as f64 * 100.0 / total as f64) as i64;
    assert_eq!(lines[1], format!("Containers|2|1|{}|{} ({pct}%)", human4(total), human4(wrote)), "{out}");
    assert_eq!(lines[2], "Local Volumes|0|0|0B|0B");
    let table = t.rcon(["system", "df"]).ok().to_string();
    assert!(table.starts_with("TYPE            TOTAL     ACTIVE    SIZE"), "{table}");
    let v = t.rcon(["system", "df", "-v"]).ok().to_string();
    assert!(v.contains("Images space usage:") && v.contains("Containers space usage:"), "{v}");
    assert!(v.lines().any(|l| l.starts_with("busybox ") && l.trim_end().ends_with(" 2")), "{v}");
    assert!(v.lines().any(|l| l.contains(&human4(wrote)) && l.trim_end().ends_with("wrote")), "{v}");
    t.rcon(["rm", "-f", "wrote", "runs"]).ok();
    // unused now: all of the image is reclaimable
    let out = t.rcon(["system", "df", "--format", fmt]).ok().to_string();
    assert_eq!(out.lines().next().unwrap(), format!("Images|1|0|{0}|{0} (100%)", human4(layers)), "{out}");
});

both_modes!(system_prune_and_reset, |t| {
    img(t);
    let two = fixtures::two_layer_archive(&t.dir, &["extra"], "prune-me");
    t.give(&two);
    t.rcon(["load", "-i", two.to_str().unwrap()]).ok();
    t.rcon(["run", "--name", "done", "busybox", "dd", "if=/dev/zero", "of=/f", "bs=1000", "count=50"]).ok();
    t.rcon(["run", "-d", "--name", "live", "busybox", "sleep", "1000"]).ok();
    // no -f and no terminal: the prompt reads EOF, which is no
    let r = t.rcon(["system", "prune"]);
    assert!(r.ok().is_empty() && r.stderr.contains("all stopped containers"), "{}", r.stderr);
    assert_eq!(t.rcon(["ps", "-aq"]).ok().lines().count(), 2);
    let out = t.rcon(["system", "prune", "-a", "-f"]).ok().to_string();
    assert!(out.starts_with("Deleted Containers:\n"), "{out}");
    assert!(out.contains("Deleted Images:\ndeleted: sha256:"), "{out}");
    let reclaimed = out.lines().last().unwrap();
    assert!(reclaimed.starts_with("Total reclaimed space: ") && reclaimed != "Total reclaimed space: 0B", "{out}");
    assert_eq!(t.rcon(["ps", "-a", "--format", "{{.Names}}"]).ok(), "live\n");
    // busybox is used by `live`: kept; `extra` was unused: gone
    assert_eq!(t.rcon(["images", "--format", "{{.Repository}}"]).ok(), "busybox\n");

    // reset: refused without a terminal, unless -f
    t.rcon(["system", "reset"]).fails(125, "use -f");
    let pid = inspect(t, "live")["State"]["Pid"].as_i64().unwrap();
    t.rcon(["system", "reset", "-f"]).ok();
    wait_for("the container's end", Duration::from_secs(10), || {
        (!std::path::Path::new(&format!("/proc/{pid}")).exists() || proc_state(pid) == "Z").then_some(())
    });
    assert!(!t.data.join("rcon").exists(), "data dir left");
    assert_eq!(t.rcon(["ps", "-aq"]).ok(), "");
    assert_eq!(t.rcon(["images", "-q"]).ok(), "");
});

both_modes!(info_counts_containers_and_reports_registries_plugins_and_id, |t| {
    img(t);
    let cfg_dir = if t.mode == Mode::Root { t.config.clone() } else { t.config.join("rcon") };
    std::fs::create_dir_all(&cfg_dir).unwrap();
    std::fs::write(
        cfg_dir.join("registries.json"),
        json!({"registry-mirrors": ["https://mirror.example.com"], "insecure-registries": ["registry.lan:5000", "10.1.0.0/16"]})
            .to_string(),
    )
    .unwrap();
    t.give(&t.config);
    t.rcon(["create", "--name", "made", "busybox", "true"]).ok();
    t.rcon(["run", "--name", "ran", "busybox", "true"]).ok();
    t.rcon(["run", "-d", "--name", "up", "busybox", "sleep", "1000"]).ok();
    t.rcon(["run", "-d", "--name", "held", "busybox", "sleep", "1000"]).ok();
    t.rcon(["pause", "held"]).ok();
    let info: Value = serde_json::from_str(t.rcon(["info", "--format", "json"]).ok()).unwrap();
    t.rcon(["rm", "-f", "up", "held"]).ok();
    let n = |k: &str| info[k].as_u64().unwrap();
    assert_eq!(
        (n("Containers"), n("ContainersRunning"), n("ContainersPaused"), n("ContainersStopped"), n("Images")),
        (4, 1, 1, 2, 1),
        "{info}"
    );
    assert_eq!(info["Rootless"], t.mode == Mode::Rootless);
    let sec: Vec<&str> = info["SecurityOptions"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(sec.contains(&"name=seccomp,profile=builtin"), "{sec:?}");
    assert_eq!(sec.contains(&"name=rootless"), t.mode == Mode::Rootless, "{sec:?}");
    let rc = &info["RegistryConfig"];
    assert_eq!(rc["Mirrors"], json!(["https://mirror.example.com"]));
    assert_eq!(rc["IndexConfigs"]["docker.io"]["Mirrors"], json!(["https://mirror.example.com"]));
    assert_eq!(rc["IndexConfigs"]["registry.lan:5000"]["Secure"], false);
    assert_eq!(rc["InsecureRegistryCIDRs"], json!(["127.0.0.0/8", "10.1.0.0/16"]));
    assert_eq!(info["Plugins"]["Volume"], json!(["local"]));
    let nets = info["Plugins"]["Network"].as_array().unwrap();
    assert!(nets.contains(&json!("host")) && nets.contains(&json!("none")), "{nets:?}");
    // the helpers found are listed with their versions
    if std::path::Path::new("/usr/bin/slirp4netns").exists() {
        assert!(info["NetworkBackends"]["slirp4netns"].as_str().unwrap().starts_with(|c: char| c.is_ascii_digit()));
    }
    assert_eq!(info["NCPU"].as_u64().unwrap() as usize, std::thread::available_parallelism().unwrap().get());
    assert!(info["MemTotal"].as_u64().unwrap() > 0);
    assert_eq!(
        info["CgroupVersion"],
        if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() { "2" } else { "1" }
    );
    assert!(info["Warnings"].is_array());
    // the ID is made once and kept
    let id = info["ID"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 36, "{id}");
    assert_eq!(t.rcon(["info", "--format", "{{.ID}}"]).ok().trim(), id);
    let text = t.rcon(["system", "info"]).ok().to_string();
    for needle in [
        " Containers: 2\n  Running: 0\n  Paused: 0\n  Stopped: 2\n",
        " Plugins:\n  Volume: local\n",
        "Registry Mirrors:\n  https://mirror.example.com\n",
        "Insecure Registries:\n  registry.lan:5000\n  127.0.0.0/8\n  10.1.0.0/16\n",
        &format!(" ID: {id}\n"),
        " Registry: https://index.docker.io/v1/\n",
    ] {
        assert!(text.contains(needle), "{needle:?} in {text}");
    }
});

/// The events of the last ten minutes that pass `filter`.
fn past_events(t: &TestEnv, filter: &str, format: &str) -> Run {
    t.rcon(["events", "--since", "10m", "--until", "0s", "--filter", filter, "--format", format])
}

both_modes!(volume_events_create_mount_unmount_destroy, |t| {
    img(t);
    t.rcon(["volume", "create", "vol"]).ok();
    t.rcon(["run", "--rm", "--name", "vc", "-v", "vol:/data:ro", "-v", "/anon", "busybox", "true"]).ok();
    t.rcon(["volume", "rm", "vol"]).ok();
    let format =
        "{{.Action}} {{.Actor.ID}} {{.Actor.Attributes.destination}} {{index .Actor.Attributes \"read/write\"}}";
    let events = || past_events(t, "type=volume", format).ok().to_string();
    // --rm's removal of the anonymous volume follows the container's end: poll for it
    let out = wait_for("the anonymous volume's destroy", Duration::from_secs(10), || {
        let out = events();
        (out.lines().filter(|l| l.starts_with("destroy ")).count() == 2).then_some(out)
    });
    let lines: Vec<&str> = out.lines().collect();
    let anon =
        lines.iter().find(|l| l.starts_with("mount ") && l.contains("/anon")).unwrap().split(' ').nth(1).unwrap();
    assert_eq!(anon.len(), 64, "{out}");
    let want = [
        "create vol <no value> ".to_string(),
        format!("create {anon} <no value> "),
        "mount vol /data false".to_string(),
        format!("mount {anon} /anon true"),
        "unmount vol <no value> ".to_string(),
        format!("unmount {anon} <no value> "),
    ];
    for w in &want {
        assert!(lines.contains(&w.as_str()), "{w:?} in {out}");
    }
    let pos = |w: &str| lines.iter().position(|l| *l == w).unwrap_or_else(|| panic!("{w:?} in {out}"));
    assert!(
        pos("create vol <no value> ") < pos("mount vol /data false")
            && pos("mount vol /data false") < pos("unmount vol <no value> ")
    );
    assert!(pos("unmount vol <no value> ") < pos("destroy vol <no value> "), "{out}");
    assert!(lines.contains(&format!("destroy {anon} <no value> ").as_str()), "{out}");
    // the container's own events are not volume events; the driver is logged
    assert!(!out.contains("start") && !out.contains("die"), "{out}");
    let drivers = past_events(t, "volume=vol", "{{.Actor.Attributes.driver}}");
    assert_eq!(drivers.ok(), "local\nlocal\nlocal\nlocal\n");
});

both_modes!(stats_streams_refreshes_and_picks_up_new_containers, |t| {
    img(t);
    t.rcon(["run", "-d", "--name", "idle", "busybox", "sleep", "1000"]).ok();
    // Follower's Drop kills and reaps the stream whatever happens below.
    let stream = Follower::spawn(t.cmd(["stats", "--format", "{{.Name}} {{.PIDs}}"]));
    // Each refresh clears the screen, then prints the rows.
    let refresh = |want: &str| -> Vec<String> {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let mut rows = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let l =
                stream.lines.recv_timeout(left).unwrap_or_else(|_| panic!("no refresh with {want:?}; got {rows:?}"));
            if let Some(first) = l.strip_prefix("\x1b[2J\x1b[H") {
                if rows.iter().any(|r: &String| r == want) {
                    return rows;
                }
                rows = vec![first.to_string()];
            } else {
                rows.push(l);
            }
        }
    };
    let first = refresh("idle 1");
    assert!(first.contains(&"idle 1".to_string()), "{first:?}");
    t.rcon(["run", "-d", "--name", "late", "busybox", "sleep", "1000"]).ok();
    let later = refresh("late 1");
    assert!(later.contains(&"idle 1".to_string()), "{later:?}");
    drop(stream);
    t.rcon(["rm", "-f", "idle", "late"]).ok();
});

/// Replace `user`'s lines of /etc/subuid and /etc/subgid (no others: tests
/// run concurrently) by `ranges`, in that order.
fn set_subids(user: &str, ranges: &[(u32, u32)]) {
    for file in ["/etc/subuid", "/etc/subgid"] {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let mut out: String =
            text.lines().filter(|l| l.split(':').next() != Some(user)).map(|l| format!("{l}\n")).collect();
        for (start, count) in ranges {
            out += &format!("{user}:{start}:{count}\n");
        }
        let tmp = format!("{file}.rcon-{}", std::process::id());
        std::fs::write(&tmp, out).unwrap();
        std::fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
        std::fs::rename(&tmp, file).unwrap();
    }
}

/// A throwaway user: its subid lines and the account go at the end, even
/// when the test fails (with `cleanup` run first, while the user exists).
struct SubidUser<'a> {
    /// Dropped after `drop` below: userdel.
    user: ThrowawayUser,
    cleanup: Box<dyn Fn() + 'a>,
    _lock: std::fs::File,
}

impl Drop for SubidUser<'_> {
    fn drop(&mut self) {
        (self.cleanup)();
        set_subids(&self.user.name, &[]);
    }
}

#[test]
fn system_migrate_reowns_the_store_after_the_subuid_range_changed() {
    use std::os::fd::AsRawFd;
    if !is_root() {
        eprintln!("note: system migrate not tested: it needs root to create a user and change its ranges");
        return;
    }
    // Every edit of /etc/subuid and /etc/subgid by tests holds this lock.
    let lock = std::fs::File::create("/tmp/rcon-subid.lock").unwrap();
    assert_eq!(unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) }, 0);
    let pid = std::process::id();
    let name = format!("rcmig{}", pid % 100_000);
    useradd_bare(&name);
    // Ranges far above anyone's (useradd hands out 100000 upwards), per test process.
    let old = 3_000_000_000 + (pid % 1000) * 200_000;
    let extra = old + 100_000;
    set_subids(&name, &[(old, 65536)]);
    // Before any thread starts; test_user() reads it once, in TestEnv::new.
    std::env::set_var("RCON_TEST_USER", &name);
    let t = TestEnv::new(Mode::Rootless);
    let _user = SubidUser {
        user: ThrowawayUser { name: name.clone(), uid: 0 }, // its uid is not needed here
        cleanup: Box::new(|| {
            let _ = t.rcon(["rm", "-f", "up"]);
        }),
        _lock: lock,
    };
    img(&t);
    let cat = ["run", "--rm", "--user", "1000", "busybox", "cat", "/home/user/owned"];
    assert_eq!(t.rcon(cat).ok(), "mine\n");
    t.rcon(["run", "-d", "--name", "up", "busybox", "sleep", "1000"]).ok();
    assert_eq!(t.rcon(["system", "migrate"]).ok(), "No change in your subuid/subgid mapping: nothing to migrate\n");

    // A new first range: every old id now shows 1000 higher.
    set_subids(&name, &[(extra, 1000), (old, 65536)]);
    let r = t.rcon(cat);
    assert!(r.code != 0 && r.stderr.contains("Permission denied"), "{} {}", r.stdout, r.stderr);
    let out = t.rcon(["system", "migrate"]).ok().to_string();
    assert!(out.starts_with("stopped up\nMigrated to the new subuid/subgid mapping: "), "{out}");
    let n: u64 = out.lines().nth(1).unwrap().split(": ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    // busybox's /home/user/owned and more: layer files, the container's upper dir
    assert!(n >= 1, "{out}");
    assert_eq!(status(&t, "up").split(' ').next(), Some("Exited"));
    assert_eq!(t.rcon(cat).ok(), "mine\n");
    // root's files, the user's own id, did not move
    assert_eq!(t.rcon(["run", "--rm", "busybox", "stat", "-c", "%u:%g", "/bin/busybox"]).ok(), "0:0\n");
    assert_eq!(t.rcon(["system", "migrate"]).ok(), "No change in your subuid/subgid mapping: nothing to migrate\n");
    // the container stopped by the migration starts again
    t.rcon(["start", "up"]).ok();
    assert_eq!(status(&t, "up").split(' ').next(), Some("Up"));
}

both_modes!(update_resource_limits_live_as_root_refused_rootless, |t| {
    img(t);
    t.rcon(["run", "-d", "--name", "lim", "busybox", "sleep", "1000"]).ok();
    if t.mode == Mode::Rootless {
        t.rcon(["update", "--memory", "64m", "lim"]).fails(125, "--memory cannot be enforced");
        t.rcon(["update", "--pids-limit", "10", "lim"]).fails(125, "--pids-limit cannot be enforced");
        assert_eq!(inspect(t, "lim")["HostConfig"]["Memory"], 0);
        t.rcon(["rm", "-f", "lim"]).ok();
        return;
    }
    let id = inspect(t, "lim")["Id"].as_str().unwrap().to_string();
    let pid = inspect(t, "lim")["State"]["Pid"].as_i64().unwrap();
    // made without limits: update puts the running container into cgroups
    t.rcon(["update", "--memory", "64m", "--cpus", "0.5", "--pids-limit", "20", "lim"]).ok();
    let hc = inspect(t, "lim")["HostConfig"].clone();
    assert_eq!(
        (hc["Memory"].as_u64(), hc["NanoCpus"].as_u64(), hc["PidsLimit"].as_i64()),
        (Some(64 << 20), Some(500_000_000), Some(20))
    );
    let cg = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    assert!(cg.contains(&format!("rcon/{id}")), "{cg}");
    let v2 = std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    let read = |p: String| std::fs::read_to_string(p).unwrap().trim().to_string();
    let (mem, pids) = if v2 {
        (format!("/sys/fs/cgroup/rcon/{id}/memory.max"), format!("/sys/fs/cgroup/rcon/{id}/pids.max"))
    } else {
        (
            format!("/sys/fs/cgroup/memory/rcon/{id}/memory.limit_in_bytes"),
            format!("/sys/fs/cgroup/pids/rcon/{id}/pids.max"),
        )
    };
    assert_eq!(read(mem.clone()), (64u64 << 20).to_string());
    assert_eq!(read(pids.clone()), "20");
    // a second update changes only what it names
    t.rcon(["update", "-m", "128m", "lim"]).ok();
    assert_eq!(read(mem.clone()), (128u64 << 20).to_string());
    assert_eq!(read(pids.clone()), "20");
    assert_eq!(inspect(t, "lim")["HostConfig"]["NanoCpus"], 500_000_000);
    // stats sees the cgroup's limit
    let lim = t.rcon(["stats", "--no-stream", "--format", "{{.MemUsage}}", "lim"]).ok().to_string();
    assert!(lim.trim().ends_with("/ 128MiB"), "{lim}");
    t.rcon(["update", "--memory", "1m", "lim"]).fails(125, "minimum memory limit");
    t.rcon(["update", "lim"]).fails(125, "you must provide one or more flags");
    t.rcon(["rm", "-f", "lim"]).ok();
    wait_for("cgroup removed", Duration::from_secs(10), || (!std::path::Path::new(&mem).exists()).then_some(()));
    // a stopped container takes its new limits at the next start
    t.rcon(["create", "--name", "later", "busybox", "sleep", "1000"]).ok();
    t.rcon(["update", "--pids-limit", "30", "later"]).ok();
    t.rcon(["start", "later"]).ok();
    let id = inspect(t, "later")["Id"].as_str().unwrap().to_string();
    let pids = if v2 {
        format!("/sys/fs/cgroup/rcon/{id}/pids.max")
    } else {
        format!("/sys/fs/cgroup/pids/rcon/{id}/pids.max")
    };
    assert_eq!(read(pids), "30");
    t.rcon(["rm", "-f", "later"]).ok();
});

both_modes!(root_and_runroot_flags_reach_every_helper, |t| {
    // The store named by the flags, not the one the environment names: the
    // monitor, the healthcheck runner and a restarted monitor must all use it.
    let (root, runroot) = (t.path("flag-root"), t.path("flag-run"));
    for d in [&root, &runroot] {
        std::fs::create_dir_all(d).unwrap();
        t.give(d);
    }
    let (r, rr) = (root.to_str().unwrap(), runroot.to_str().unwrap());
    let rc = |args: &[&str]| t.rcon([&["--root", r, "--runroot", rr][..], args].concat());
    let archive = crate::common::fixtures::busybox_archive(&t.dir, &["busybox"]);
    t.give(&archive);
    rc(&["load", "-i", archive.to_str().unwrap()]).ok();
    assert_eq!(rc(&["run", "--rm", "busybox", "echo", "hi"]).ok(), "hi\n");
    rc(&["run", "-d", "--name", "bg", "busybox", "sleep", "1000"]).ok();
    rc(&[
        "run",
        "-d",
        "--name",
        "hc",
        "--health-cmd",
        "true",
        "--health-interval",
        "100ms",
        "--restart",
        "on-failure:1",
        "busybox",
        "sh",
        "-c",
        "sleep 0.5; exit 3",
    ])
    .ok();
    let state = |name: &str| -> Value {
        serde_json::from_str::<Value>(rc(&["inspect", name]).ok()).unwrap()[0]["State"].clone()
    };
    wait_for("healthy", Duration::from_secs(20), || (state("hc")["Health"]["Status"] == "healthy").then_some(()));
    wait_for("the restart", Duration::from_secs(20), || {
        let v: Value = serde_json::from_str::<Value>(rc(&["inspect", "hc"]).ok()).unwrap()[0].clone();
        (v["RestartCount"] == 1).then_some(())
    });
    assert_eq!(state("bg")["Status"], "running");
    // Nothing went to the store the environment names.
    assert_eq!(t.rcon(["ps", "-aq"]).ok(), "");
    assert!(
        !t.data.join("rcon/containers").exists()
            || std::fs::read_dir(t.data.join("rcon/containers")).unwrap().count() == 0
    );
    rc(&["rm", "-f", "bg", "hc"]).ok();
});
