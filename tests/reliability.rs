//! The reliability suite (issue 12): prune racing starting containers, and
//! SIGKILL at random points of `rm`, `build` and `run -d`, each kill
//! followed by the next state-changing command and a check of the store:
//! every record parses, no directory without its record, no record without
//! its directory, no duplicate name, nothing of a dead process left over.
//! Random points come from a seeded generator (`RCON_SEED` replays a
//! campaign) over the command's typical duration, measured first.

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::*;

const KILLS: u32 = 20;

/// xorshift64*: small, seeded, reproducible.
struct Rng(u64);

impl Rng {
    fn new(salt: u64) -> Rng {
        let seed = std::env::var("RCON_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5eed_0012_u64);
        eprintln!("campaign seed {seed} (RCON_SEED replays it)");
        Rng((seed ^ salt.wrapping_mul(0x9e37_79b9_7f4a_7c15)) | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1)
    }

    /// A point in [0, typical).
    fn point(&mut self, typical: Duration) -> Duration {
        Duration::from_micros(self.below(typical.as_micros() as u64))
    }
}

/// Run rcon with `args`, SIGKILL it at `at` unless it ended before;
/// whether it was killed.
fn kill_at(t: &TestEnv, args: &[&str], at: Duration) -> bool {
    let mut c = t.cmd(args);
    c.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = c.spawn().unwrap();
    let end = Instant::now() + at;
    loop {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        let now = Instant::now();
        if now >= end {
            let _ = child.kill();
            child.wait().unwrap();
            return true;
        }
        std::thread::sleep((end - now).min(Duration::from_millis(1)));
    }
}

/// How long `args` takes when left alone.
fn typical(t: &TestEnv, args: &[&str]) -> Duration {
    let start = Instant::now();
    t.rcon(args).ok();
    start.elapsed()
}

/// The quickest of three runs: points drawn below it mostly land inside a
/// run, also on a loaded machine.
fn quickest(mut run: impl FnMut() -> Duration) -> Duration {
    (0..3).map(|_| run()).min().unwrap()
}

/// The `.rm-NAME-PID-START-N` trash of a process that still runs is a
/// removal in progress, not a leftover.
fn removal_in_progress(name: &str) -> bool {
    let parts: Vec<&str> = name.rsplitn(4, '-').collect();
    parts.len() == 4 && Path::new(&format!("/proc/{}", parts[2])).exists()
}

fn parses(p: &Path) -> Result<serde_json::Value, String> {
    let bytes = std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{} does not parse: {e}", p.display()))
}

fn entries(p: &Path) -> Vec<(String, std::path::PathBuf)> {
    std::fs::read_dir(p)
        .map(|rd| rd.flatten().map(|e| (e.file_name().to_string_lossy().into_owned(), e.path())).collect())
        .unwrap_or_default()
}

/// What is wrong with the store now (empty: nothing).
pub fn store_problems(t: &TestEnv) -> Vec<String> {
    let data = t.data.join("rcon");
    let mut bad = Vec::new();
    if data.join("images.json").exists() {
        bad.extend(parses(&data.join("images.json")).err());
    }
    let mut names: HashMap<String, String> = HashMap::new();
    for (name, dir) in entries(&data.join("containers")) {
        if name.starts_with(".rm-") {
            if !removal_in_progress(&name) {
                bad.push(format!("leftover containers/{name}"));
            }
            continue;
        }
        match parses(&dir.join("container.json")) {
            Err(_) if !dir.join("container.json").exists() => {
                bad.push(format!("containers/{name} has no container.json"))
            }
            Err(e) => bad.push(e),
            Ok(c) => {
                let cname = c["name"].as_str().unwrap_or_default().to_string();
                if let Some(other) = names.insert(cname.clone(), name.clone()) {
                    bad.push(format!("name {cname} on {other} and {name}"));
                }
                if dir.join("state.json").exists() {
                    bad.extend(parses(&dir.join("state.json")).err());
                }
                if !dir.join("userdata").is_dir() {
                    bad.push(format!("container {name} has a record but no userdata directory"));
                }
            }
        }
    }
    for (name, _) in entries(&t.run.join("rcon/containers")) {
        if !data.join("containers").join(&name).exists() {
            bad.push(format!("runtime directory of container {name}, which is gone"));
        }
    }
    for (name, dir) in entries(&data.join("volumes")) {
        if name.starts_with(".rm-") {
            if !removal_in_progress(&name) {
                bad.push(format!("leftover volumes/{name}"));
            }
        } else if let Err(e) = parses(&dir.join("volume.json")) {
            bad.push(e);
        } else if !dir.join("_data").is_dir() {
            bad.push(format!("volume {name} has a record but no _data"));
        }
    }
    for (name, p) in entries(&data.join("networks")) {
        if name.ends_with(".json") && !name.starts_with('.') {
            bad.extend(parses(&p).err());
        }
    }
    bad
}

/// Figures of one campaign, printed for the closing note.
struct Campaign {
    what: &'static str,
    runs: u32,
    kills: u32,
    failures: Vec<String>,
    leftovers: Vec<String>,
}

impl Campaign {
    fn new(what: &'static str) -> Campaign {
        Campaign { what, runs: 0, kills: 0, failures: Vec::new(), leftovers: Vec::new() }
    }

    /// After a kill: the next state-changing command must work and sweep.
    fn next_command(&mut self, t: &TestEnv) {
        let r = t.rcon(["run", "--rm", "busybox", "true"]);
        if r.code != 0 {
            self.failures.push(format!("run --rm after a kill: {}", r.stderr.trim()));
        }
        self.leftovers.extend(store_problems(t));
    }

    /// Until KILLS kills landed (a run may end before its point), at most
    /// five times as many runs: `one` runs one command and kills it at
    /// the point given, saying whether it was killed.
    fn campaign(&mut self, t: &TestEnv, rng: &mut Rng, typical: Duration, mut one: impl FnMut(Duration) -> bool) {
        while self.kills < KILLS && self.runs < 5 * KILLS {
            self.runs += 1;
            if one(rng.point(typical)) {
                self.kills += 1;
            }
            self.next_command(t);
        }
    }

    #[track_caller]
    fn assert_clean(&self) {
        eprintln!(
            "{}: runs {} kills {} failures {} leftovers {}",
            self.what,
            self.runs,
            self.kills,
            self.failures.len(),
            self.leftovers.len()
        );
        assert_eq!(self.kills, KILLS, "kills landed in {} runs", self.runs);
        assert!(self.failures.is_empty(), "failures: {:#?}", self.failures);
        assert!(self.leftovers.is_empty(), "store problems: {:#?}", self.leftovers);
    }
}

/// Remove every container; the store must then be empty.
fn remove_everything(t: &TestEnv) {
    let ids = t.rcon(["ps", "-aq"]).ok().to_string();
    for id in ids.split_whitespace() {
        t.rcon(["rm", "-f", id]).ok();
    }
    // --rm containers of the last commands remove themselves a moment later.
    wait_for("every container gone", Duration::from_secs(20), || {
        (entries(&t.data.join("rcon/containers")).iter().all(|(n, _)| removal_in_progress(n))
            && t.rcon(["ps", "-aq"]).ok().is_empty())
        .then_some(())
    });
    wait_for("the last removals", Duration::from_secs(20), || {
        entries(&t.data.join("rcon/containers")).is_empty().then_some(())
    });
    assert_eq!(store_problems(t), Vec::<String>::new());
}

// Leftovers of killed commands, made by hand the way a SIGKILL leaves them:
// `system df` reports them, the next state-changing command sweeps those of
// dead processes and leaves what a live one is doing (issue 12, item 3).
both_modes!(leftovers_of_dead_processes_are_swept_and_reported, |t| {
    t.load_busybox("busybox");
    let root = t.data.join("rcon/containers");
    let hex = |c: char| c.to_string().repeat(64);
    // A dead remover's trash (pid 1 never has that start time), a create
    // killed before container.json, its runtime dir, a legacy trash with
    // no owner, and a live process's trash (ours).
    let me = std::process::id();
    let my_start: u64 = {
        let stat = std::fs::read_to_string(format!("/proc/{me}/stat")).unwrap();
        stat[stat.rfind(')').unwrap() + 2..].split_whitespace().nth(19).unwrap().parse().unwrap()
    };
    let dead_trash = root.join(format!(".rm-{}-1-999999999-0", hex('a')));
    let half_made = root.join(hex('b'));
    let legacy = root.join(format!(".rm-{}", hex('c')));
    let live_trash = root.join(format!(".rm-{}-{me}-{my_start}-0", hex('d')));
    for d in [&dead_trash, &half_made, &legacy, &live_trash] {
        std::fs::create_dir_all(d.join("upper/usr")).unwrap();
        std::fs::write(d.join("upper/usr/junk"), vec![7u8; 4096]).unwrap();
    }
    std::fs::write(half_made.join("state.json"), "{}").unwrap();
    let run_dir = t.run.join("rcon/containers").join(hex('b'));
    std::fs::create_dir_all(&run_dir).unwrap();
    t.give(&t.data);
    t.give(&t.run);

    // df reports each leftover, on stderr (the table stays Docker's), and
    // not the removal in progress
    let r = t.rcon(["system", "df"]);
    r.ok();
    for d in [&dead_trash, &half_made, &legacy] {
        assert!(r.stderr.contains(&d.display().to_string()), "df names {}: {}", d.display(), r.stderr);
    }
    assert!(!r.stderr.contains(&live_trash.display().to_string()), "{}", r.stderr);
    assert!(r.stderr.contains("remove it by hand"), "{}", r.stderr);
    assert!(r.stdout.starts_with("TYPE"), "{}", r.stdout);

    // the next state-changing command sweeps the dead ones
    t.rcon(["run", "--rm", "busybox", "true"]).ok();
    assert!(!dead_trash.exists() && !half_made.exists() && !run_dir.exists());
    assert!(legacy.exists(), "an unowned trash is not swept");
    assert!(live_trash.exists(), "a live process's removal is not touched");
    let left: Vec<String> = entries(&root).into_iter().map(|(n, _)| n).collect();
    assert_eq!(left.len(), 2, "{left:?}");
    // and df still tells about what it could not sweep
    let r = t.rcon(["system", "df"]);
    assert!(r.stderr.contains(&legacy.display().to_string()), "{}", r.stderr);
    assert!(!r.stderr.contains(&dead_trash.display().to_string()), "{}", r.stderr);

    // volumes: the same for a killed volume rm, swept by system prune
    t.rcon(["volume", "create", "keep"]).ok();
    let vdead = t.data.join("rcon/volumes").join(".rm-gone-1-999999999-0");
    std::fs::create_dir_all(vdead.join("_data")).unwrap();
    let vhalf = t.data.join("rcon/volumes/half");
    std::fs::create_dir_all(vhalf.join("_data")).unwrap();
    t.give(&t.data);
    t.rcon(["system", "prune", "-f"]).ok();
    assert!(!vdead.exists() && !vhalf.exists());
    assert_eq!(t.rcon(["volume", "ls", "-q"]).ok(), "keep\n");
});

// Prune running in a loop while containers are created and started: a
// container being created or started is held, so prune leaves it; every
// run succeeds and nothing is left behind (issue 12, item 2).
both_modes!(prune_loop_never_takes_a_starting_container, |t| {
    t.load_busybox("busybox");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // container prune and system prune, in turn, until the runs are done.
    let pruner = |t: &TestEnv| {
        let mut prunes = 0u32;
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            let which = if prunes.is_multiple_of(2) { ["container", "prune", "-f"] } else { ["system", "prune", "-f"] };
            let r = t.rcon(which);
            assert_eq!(r.code, 0, "prune failed: {}", r.stderr);
            prunes += 1;
        }
        prunes
    };
    let failures = std::thread::scope(|s| {
        let p = s.spawn(|| pruner(t));
        let mut failures = Vec::new();
        for i in 0..40 {
            let r = if i % 2 == 0 {
                t.rcon(["run", "--rm", "busybox", "true"])
            } else {
                let id = t.rcon(["create", "busybox", "true"]);
                if id.code != 0 {
                    id
                } else {
                    let id = id.stdout.trim().to_string();
                    // A plain created container may be pruned (Docker's
                    // behaviour) between the two commands: then start says
                    // so, which is not a failure of the hold.
                    let r = t.rcon(["start", "-a", &id]);
                    if r.code != 0 && r.stderr.contains("no such container") {
                        continue;
                    }
                    r
                }
            };
            if r.code != 0 {
                failures.push(r.stderr.clone());
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let prunes = p.join().unwrap();
        assert!(prunes > 0, "prune ran alongside");
        failures
    });
    assert!(failures.is_empty(), "{} of 40 runs failed: {:?}", failures.len(), failures);
    // Nothing left: no container, no leftover directories.
    wait_for("the last --rm removals", std::time::Duration::from_secs(20), || {
        t.rcon(["container", "prune", "-f"]).ok();
        t.rcon(["ps", "-aq"]).ok().is_empty().then_some(())
    });
    let dirs: Vec<String> = std::fs::read_dir(t.data.join("rcon/containers"))
        .map(|rd| rd.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    assert!(dirs.is_empty(), "left in containers/: {dirs:?}");
    assert_eq!(store_problems(t), Vec::<String>::new());
});

// SIGKILL at random points of `rm` (of running containers with -f, and of
// stopped ones), then the next command and the store check.
both_modes!(killed_rm_leaves_nothing_forever, |t| {
    t.load_busybox("busybox");
    let mut rng = Rng::new(1);
    let victim = |i: u32| {
        if i.is_multiple_of(2) {
            t.rcon(["run", "-d", "busybox", "sleep", "1000"]).ok().trim().to_string()
        } else {
            t.rcon(["create", "busybox", "true"]).ok().trim().to_string()
        }
    };
    let took = [quickest(|| typical(t, &["rm", "-f", &victim(0)])), quickest(|| typical(t, &["rm", &victim(1)]))];
    let mut c = Campaign::new("rm");
    let mut i = 0;
    // running containers with rm -f, stopped ones with rm, in turn
    while c.kills < KILLS && c.runs < 5 * KILLS {
        let id = victim(i);
        let args: &[&str] = if i.is_multiple_of(2) { &["rm", "-f", &id] } else { &["rm", &id] };
        c.runs += 1;
        if kill_at(t, args, rng.point(took[i as usize % 2])) {
            c.kills += 1;
        }
        c.next_command(t);
        i += 1;
    }
    c.assert_clean();
    remove_everything(t);
});

// SIGKILL at random points of `build` (RUN steps make containers, COPY
// stages files, the commit writes the image store).
#[test]
fn killed_build_leaves_nothing_forever() {
    let t = TestEnv::new(Mode::Rootless);
    t.load_busybox("busybox");
    let ctx = t.path("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(ctx.join("Dockerfile"), "FROM busybox\nRUN echo one > /one\nCOPY f /f\nRUN cat /f /one > /two\n")
        .unwrap();
    std::fs::write(ctx.join("f"), vec![b'x'; 64 * 1024]).unwrap();
    t.give(&ctx);
    let build = ["build", "--no-cache", "-q", "-t", "app", ctx.to_str().unwrap()];
    let took = quickest(|| typical(&t, &build));
    let mut rng = Rng::new(2);
    let mut c = Campaign::new("build");
    c.campaign(&t, &mut rng, took, |at| kill_at(&t, &build, at));
    // a build after it all works, and leaves no scratch of dead processes
    t.rcon(build).ok();
    let stale: Vec<String> = entries(&t.data.join("rcon/tmp"))
        .into_iter()
        .map(|(n, _)| n)
        .filter(|n| {
            let parts: Vec<&str> = n.rsplitn(4, '-').collect();
            parts.len() == 4 && !Path::new(&format!("/proc/{}", parts[2])).exists()
        })
        .collect();
    c.leftovers.extend(stale.into_iter().map(|n| format!("scratch tmp/{n}")));
    c.assert_clean();
    remove_everything(&t);
}

// SIGKILL at random points of `run -d`.
#[test]
fn killed_run_detached_leaves_nothing_forever() {
    let t = TestEnv::new(Mode::Rootless);
    t.load_busybox("busybox");
    let run = ["run", "-d", "busybox", "sleep", "1000"];
    let took = quickest(|| typical(&t, &run));
    let mut rng = Rng::new(3);
    let mut c = Campaign::new("run -d");
    c.campaign(&t, &mut rng, took, |at| kill_at(&t, &run, at));
    c.assert_clean();
    remove_everything(&t);
}
