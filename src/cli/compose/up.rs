//! The verbs that change a project: `up` (detached, or attached with the
//! log view, Ctrl-C stopping the project), `create`, `down`, the
//! lifecycle verbs, `scale`, `wait`, and the images' `build`, `pull`,
//! `push`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::mpsc;
use std::time::Duration;

use clap::Args;

use super::logs::LogView;
use super::{service_containers, Globals};
use crate::cli::{out, CmdResult};
use crate::compose::ops::{self, BuildRequest, Ctx, DownOptions, Recreate, RemoveImages, UpOptions};
use crate::monitor::logs::ReadOptions;

/// What `up` and `create` share.
#[derive(Args)]
pub struct CreateArgs {
    /// Build images before starting containers
    #[arg(long)]
    build: bool,
    /// Don't build an image, even if it's policy
    #[arg(long, conflicts_with = "build")]
    no_build: bool,
    /// Pull image before running ("always"|"missing"|"never"|"build")
    #[arg(long, value_parser = ["always", "missing", "never", "build"])]
    pull: Option<String>,
    /// Pull without printing progress information
    #[arg(long)]
    quiet_pull: bool,
    /// Recreate containers even if their configuration and image haven't changed
    #[arg(long)]
    force_recreate: bool,
    /// If containers already exist, don't recreate them
    #[arg(long, conflicts_with = "force_recreate")]
    no_recreate: bool,
    /// Remove containers for services not defined in the Compose file
    #[arg(long)]
    remove_orphans: bool,
    /// Scale SERVICE to NUM instances. Overrides the `scale` setting in the Compose file if present
    #[arg(long, value_name = "SERVICE=NUM")]
    scale: Vec<String>,
    services: Vec<String>,
}

#[derive(Args)]
pub struct UpArgs {
    #[command(flatten)]
    create: CreateArgs,
    /// Detached mode: Run containers in the background
    #[arg(short, long)]
    detach: bool,
    /// Don't start linked services
    #[arg(long)]
    no_deps: bool,
    /// Don't start the services after creating them
    #[arg(long)]
    no_start: bool,
    /// Use this timeout in seconds for container shutdown when attached or when containers are already running
    #[arg(short, long)]
    timeout: Option<i64>,
    /// Wait for services to be running|healthy. Implies detached mode
    #[arg(long)]
    wait: bool,
    /// Maximum duration in seconds to wait for the project to be running|healthy
    #[arg(long)]
    wait_timeout: Option<u64>,
    /// Stops all containers if any container was stopped. Incompatible with -d
    #[arg(long, conflicts_with = "detach")]
    abort_on_container_exit: bool,
    /// Return the exit code of the selected service container. Implies --abort-on-container-exit
    #[arg(long, value_name = "SERVICE", conflicts_with = "detach")]
    exit_code_from: Option<String>,
    /// Restrict attaching to the specified services
    #[arg(long, value_name = "SERVICE")]
    attach: Vec<String>,
    /// Do not attach (stream logs) to the specified services
    #[arg(long, value_name = "SERVICE")]
    no_attach: Vec<String>,
    /// Automatically attach to log output of dependent services
    #[arg(long)]
    attach_dependencies: bool,
    /// Produce monochrome output
    #[arg(long)]
    no_color: bool,
    /// Don't print prefix in logs
    #[arg(long)]
    no_log_prefix: bool,
    /// Show timestamps
    #[arg(long)]
    timestamps: bool,
    /// Recreate anonymous volumes instead of retrieving data from the previous containers
    #[arg(short = 'V', long)]
    renew_anon_volumes: bool,
    /// Recreate dependent containers
    #[arg(long)]
    always_recreate_deps: bool,
    /// Enable interactive shortcuts when running attached
    #[arg(long)]
    menu: bool,
    /// Assume "yes" as answer to all prompts and run non-interactively
    #[arg(short = 'y', long)]
    yes: bool,
}

fn scale_map(list: &[String]) -> anyhow::Result<BTreeMap<String, u64>> {
    list.iter()
        .map(|s| {
            let (k, v) = s.split_once('=').ok_or_else(|| anyhow::anyhow!("invalid scale {s:?}: use SERVICE=NUM"))?;
            let n = v.parse::<u64>().map_err(|_| anyhow::anyhow!("invalid scale {s:?}: NUM must be a number"))?;
            Ok((k.to_string(), n))
        })
        .collect()
}

fn up_options(a: &CreateArgs) -> anyhow::Result<UpOptions> {
    Ok(UpOptions {
        services: a.services.clone(),
        recreate: if a.force_recreate {
            Recreate::Force
        } else if a.no_recreate {
            Recreate::Never
        } else {
            Recreate::Diverged
        },
        remove_orphans: a.remove_orphans
            || std::env::var("COMPOSE_REMOVE_ORPHANS").is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true")),
        scale: scale_map(&a.scale)?,
        ..Default::default()
    })
}

fn build_request<'a>(g: &Globals, a: &CreateArgs, out: &'a mut dyn std::io::Write) -> BuildRequest<'a> {
    BuildRequest {
        force_build: a.build,
        no_build: a.no_build,
        pull: a.pull.clone(),
        ..BuildRequest::new(out, g.quiet, crate::cli::progress::on_stderr(a.quiet_pull || g.quiet))
    }
}

pub fn create(ctx: &Ctx, g: &Globals, a: CreateArgs) -> CmdResult {
    let o = up_options(&a)?;
    let mut err = std::io::stderr();
    ops::create(ctx, &o, &mut build_request(g, &a, &mut err))?;
    Ok(0)
}

pub fn up(ctx: &Ctx, g: &Globals, a: UpArgs) -> CmdResult {
    if let Some(s) = &a.exit_code_from {
        ctx.service(s)?;
    }
    let mut o = up_options(&a.create)?;
    o.no_deps = a.no_deps;
    o.timeout = a.timeout;
    o.wait = a.wait;
    o.wait_timeout = a.wait_timeout.map(Duration::from_secs);
    let since = crate::format::units::now();
    let mut err = std::io::stderr();
    let mut req = build_request(g, &a.create, &mut err);
    if a.no_start {
        ops::create(ctx, &o, &mut req)?;
        return Ok(0);
    }
    let started = ops::up(ctx, &o, &mut req)?;
    if a.detach || a.wait {
        return Ok(0);
    }
    attached(ctx, g, &a, &started, since)
}

/// The attached `up`: the log view of the attached services until every
/// one of their containers has stopped; Ctrl-C (or SIGTERM) stops the
/// project gracefully, a second one kills it; with
/// `--abort-on-container-exit` the first container to stop stops all.
fn attached(
    ctx: &Ctx,
    g: &Globals,
    a: &UpArgs,
    started: &[crate::container::Container],
    since: (i64, u32),
) -> CmdResult {
    let attach: BTreeSet<String> = if !a.attach.is_empty() {
        a.attach.iter().cloned().collect()
    } else if a.attach_dependencies || a.create.services.is_empty() {
        started.iter().map(|c| ops::label(c, ops::labels::SERVICE).to_string()).collect()
    } else {
        a.create.services.iter().cloned().collect()
    };
    let watched: Vec<crate::container::Container> = started
        .iter()
        .filter(|c| {
            let s = ops::label(c, ops::labels::SERVICE);
            let svc_attach = ctx.project.services.get(s).and_then(|x| x.attach).unwrap_or(true);
            attach.contains(s) && !a.no_attach.iter().any(|n| n == s) && (svc_attach || a.attach.iter().any(|n| n == s))
        })
        .cloned()
        .collect();
    let names: Vec<String> = watched
        .iter()
        .map(|c| c.config.name.strip_prefix(&format!("{}-", ctx.project.name)).unwrap_or(&c.config.name).to_string())
        .collect();
    out(&format!("Attaching to {}\n", names.join(", ")));
    let abort = a.abort_on_container_exit || a.exit_code_from.is_some();
    // Signals are taken on a signalfd, blocked before the log threads
    // start so that every thread inherits the mask.
    let sfd = signals();
    let view = LogView::new(ctx, &watched, g.color && !a.no_color, !a.no_log_prefix, a.timestamps);
    let opts = ReadOptions { since: Some(since), follow: true, timestamps: a.timestamps, ..Default::default() };
    // Containers that had already finished (one-shot dependencies `up`
    // waited for) are shown, but their exit does not abort the others.
    let finished: BTreeSet<String> = watched
        .iter()
        .filter(|c| crate::engine::containers::get(ctx.engine, &c.config.id).is_ok_and(|n| !ops::is_running(&n)))
        .map(|c| c.config.id.clone())
        .collect();
    let (tx, rx) = mpsc::channel::<(String, String, i32)>();
    let all: Vec<String> = ctx.project.services.keys().cloned().collect();
    std::thread::scope(|s| -> CmdResult {
        for c in &watched {
            let (tx, view, opts) = (tx.clone(), &view, &opts);
            s.spawn(move || {
                let code = view.follow(ctx, c, opts).unwrap_or(0);
                view.note(c, &format!("exited with code {code}"));
                let _ = tx.send((c.config.id.clone(), ops::label(c, ops::labels::SERVICE).to_string(), code));
            });
        }
        drop(tx);
        let mut left = watched.len();
        let mut result = 0;
        let mut interrupts = 0;
        let stop_all = |kill: bool| {
            let r = if kill { ops::kill(ctx, &all, "SIGKILL") } else { ops::stop(ctx, &all, a.timeout) };
            if let Err(e) = r {
                eprintln!("{e}");
            }
        };
        while left > 0 {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok((id, svc, code)) => {
                    left -= 1;
                    let target = a.exit_code_from.as_deref() == Some(svc.as_str());
                    // A one-shot dependency that finished before attaching
                    // does not abort (the --exit-code-from service does).
                    if finished.contains(&id) && !target {
                        continue;
                    }
                    if target || (a.exit_code_from.is_none() && abort && result == 0) {
                        result = code;
                    }
                    if abort && left > 0 && interrupts == 0 {
                        interrupts = 1;
                        eprintln!("Aborting on container exit...");
                        s.spawn(move || stop_all(false));
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            if let Some(fd) = &sfd {
                if let Ok(Some(_)) = fd.read_signal() {
                    interrupts += 1;
                    result = 130;
                    if interrupts == 1 {
                        eprintln!("Gracefully stopping... (press Ctrl+C again to force)");
                        s.spawn(move || stop_all(false));
                    } else {
                        s.spawn(move || stop_all(true));
                    }
                }
            }
        }
        Ok(result)
    })
}

/// SIGINT and SIGTERM on a non-blocking signalfd (None without one: the
/// default actions stay).
fn signals() -> Option<nix::sys::signalfd::SignalFd> {
    use nix::sys::signal::{SigSet, Signal};
    use nix::sys::signalfd::{SfdFlags, SignalFd};
    let mut set = SigSet::empty();
    set.add(Signal::SIGINT);
    set.add(Signal::SIGTERM);
    set.thread_block().ok()?;
    SignalFd::with_flags(&set, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC).ok()
}

#[derive(Args)]
pub struct DownArgs {
    /// Remove containers for services not defined in the Compose file
    #[arg(long)]
    remove_orphans: bool,
    /// Remove images used by services. "local" remove only images that don't have a custom tag ("local"|"all")
    #[arg(long, value_parser = ["local", "all"])]
    rmi: Option<String>,
    /// Specify a shutdown timeout in seconds
    #[arg(short, long)]
    timeout: Option<i64>,
    /// Remove named volumes declared in the "volumes" section of the Compose file and anonymous volumes attached to containers
    #[arg(short, long)]
    volumes: bool,
    services: Vec<String>,
}

pub fn down(ctx: &Ctx, a: DownArgs) -> CmdResult {
    let o = DownOptions {
        volumes: a.volumes,
        remove_orphans: a.remove_orphans,
        rmi: a.rmi.as_deref().map(|r| if r == "all" { RemoveImages::All } else { RemoveImages::Local }),
        timeout: a.timeout,
    };
    if !a.services.is_empty() {
        // `down SERVICE…`: only those services' containers.
        ops::remove(ctx, &a.services, true, a.volumes)?;
        return Ok(0);
    }
    ops::down(ctx, &o)?;
    Ok(0)
}

#[derive(Args)]
pub struct ServicesArgs {
    services: Vec<String>,
}

impl ServicesArgs {
    pub fn services(&self) -> &[String] {
        &self.services
    }
}

#[derive(Args)]
pub struct StopArgs {
    /// Specify a shutdown timeout in seconds
    #[arg(short, long)]
    timeout: Option<i64>,
    services: Vec<String>,
}

#[derive(Args)]
pub struct KillArgs {
    /// SIGNAL to send to the container
    #[arg(short, long, default_value = "SIGKILL")]
    signal: String,
    /// Remove containers for services not defined in the Compose file
    #[arg(long)]
    remove_orphans: bool,
    services: Vec<String>,
}

#[derive(Args)]
pub struct RmArgs {
    /// Don't ask to confirm removal
    #[arg(short, long)]
    force: bool,
    /// Stop the containers, if required, before removing
    #[arg(short, long)]
    stop: bool,
    /// Remove any anonymous volumes attached to containers
    #[arg(short, long)]
    volumes: bool,
    services: Vec<String>,
}

pub fn start(ctx: &Ctx, a: ServicesArgs) -> CmdResult {
    ops::start(ctx, &a.services)?;
    Ok(0)
}

pub fn stop(ctx: &Ctx, a: StopArgs) -> CmdResult {
    ops::stop(ctx, &a.services, a.timeout)?;
    Ok(0)
}

pub fn restart(ctx: &Ctx, a: StopArgs) -> CmdResult {
    ops::restart(ctx, &a.services, a.timeout)?;
    Ok(0)
}

pub fn kill(ctx: &Ctx, a: KillArgs) -> CmdResult {
    ops::kill(ctx, &a.services, &a.signal)?;
    Ok(0)
}

pub fn pause(ctx: &Ctx, a: ServicesArgs) -> CmdResult {
    ops::pause(ctx, &a.services)?;
    Ok(0)
}

pub fn unpause(ctx: &Ctx, a: ServicesArgs) -> CmdResult {
    ops::unpause(ctx, &a.services)?;
    Ok(0)
}

/// `rm`: compose asks first ("Going to remove …") unless `-f`; with no
/// terminal to answer, nothing is removed.
pub fn rm(ctx: &Ctx, a: RmArgs) -> CmdResult {
    let list = service_containers(ctx, &a.services, false)?;
    let doomed: Vec<&str> =
        list.iter().filter(|c| a.stop || !ops::is_running(c)).map(|c| c.config.name.as_str()).collect();
    if doomed.is_empty() {
        eprintln!("No stopped containers");
        return Ok(0);
    }
    if !a.force {
        eprintln!("Going to remove {}", doomed.join(", "));
        eprint!("? Are you sure you want to remove these containers? (y/N) ");
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
        if !matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            return Ok(0);
        }
    }
    ops::remove(ctx, &a.services, a.stop, a.volumes)?;
    Ok(0)
}

#[derive(Args)]
pub struct ScaleArgs {
    /// Don't start linked services
    #[arg(long)]
    no_deps: bool,
    #[arg(value_name = "SERVICE=REPLICAS", required = true)]
    scale: Vec<String>,
}

pub fn scale(ctx: &Ctx, g: &Globals, a: ScaleArgs) -> CmdResult {
    let scale = scale_map(&a.scale)?;
    let o = UpOptions {
        services: scale.keys().cloned().collect(),
        no_deps: a.no_deps,
        recreate: Recreate::Never,
        scale,
        ..Default::default()
    };
    let mut err = std::io::stderr();
    let mut req = BuildRequest::new(&mut err, g.quiet, crate::cli::progress::on_stderr(g.quiet));
    ops::up(ctx, &o, &mut req)?;
    Ok(0)
}

#[derive(Args)]
pub struct WaitArgs {
    /// Drops project when the first container stops
    #[arg(long)]
    down_project: bool,
    #[arg(required = true)]
    services: Vec<String>,
}

/// `wait SERVICE…`: block until the first of their containers stops;
/// its exit code is ours.
pub fn wait(ctx: &Ctx, a: WaitArgs) -> CmdResult {
    let list = service_containers(ctx, &a.services, false)?;
    if list.is_empty() {
        anyhow::bail!("no containers for project {:?}", ctx.project.name);
    }
    // One waiter per container; the first to see its container stop
    // decides, and the others are cancelled.
    let first = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (tx, rx) = mpsc::channel();
    let code = std::thread::scope(|s| {
        for c in &list {
            let (tx, first) = (tx.clone(), first.clone());
            s.spawn(move || {
                let cancel = crate::engine::Cancel::when(move || first.load(std::sync::atomic::Ordering::Relaxed));
                let code = crate::engine::lifecycle::wait(ctx.engine, &c.config.id, "not-running", &cancel);
                let _ = tx.send(code.map(|c| c.unwrap_or(0)));
            });
        }
        drop(tx);
        let code = rx.recv();
        first.store(true, std::sync::atomic::Ordering::Relaxed);
        code
    })??;
    if a.down_project {
        ops::down(ctx, &DownOptions::default())?;
    }
    Ok(code)
}

#[derive(Args)]
pub struct BuildArgs {
    /// Set build-time variables for services
    #[arg(long = "build-arg", value_name = "KEY=VAL")]
    build_args: Vec<String>,
    /// Do not use cache when building the image
    #[arg(long)]
    no_cache: bool,
    /// Always attempt to pull a newer version of the image
    #[arg(long)]
    pull: bool,
    /// Don't print anything to STDOUT
    #[arg(short, long)]
    quiet: bool,
    /// Also build dependencies (transitively)
    #[arg(long)]
    with_dependencies: bool,
    services: Vec<String>,
}

pub fn build(ctx: &Ctx, g: &Globals, a: BuildArgs) -> CmdResult {
    let sel = ops::selection(ctx.project, &a.services, !a.with_dependencies)?;
    let mut build_args = BTreeMap::new();
    for kv in &a.build_args {
        match kv.split_once('=') {
            Some((k, v)) => build_args.insert(k.to_string(), v.to_string()),
            None => std::env::var(kv).ok().map(|v| build_args.insert(kv.clone(), v)).unwrap_or_default(),
        };
    }
    let mut err = std::io::stderr();
    let mut sink = std::io::sink();
    let out: &mut dyn std::io::Write = if a.quiet { &mut sink } else { &mut err };
    let quiet = a.quiet || g.quiet;
    let mut req = BuildRequest {
        force_build: true,
        pull: a.pull.then(|| "always".to_string()),
        no_cache: a.no_cache,
        build_args,
        ..BuildRequest::new(out, quiet, crate::cli::progress::on_stderr(quiet))
    };
    ops::build(ctx, &sel, &mut req)?;
    Ok(0)
}

#[derive(Args)]
pub struct PullArgs {
    /// Pull what it can and ignores images with pull failures
    #[arg(long)]
    ignore_pull_failures: bool,
    /// Also pull services declared as dependencies
    #[arg(long)]
    include_deps: bool,
    /// Pull without printing progress information
    #[arg(short, long)]
    quiet: bool,
    services: Vec<String>,
}

pub fn pull(ctx: &Ctx, g: &Globals, a: PullArgs) -> CmdResult {
    let sel = ops::selection(ctx.project, &a.services, !a.include_deps)?;
    ops::pull(ctx, &sel, a.ignore_pull_failures, &crate::cli::progress::on_stderr(a.quiet || g.quiet))?;
    Ok(0)
}

#[derive(Args)]
pub struct PushArgs {
    /// Push what it can and ignores images with push failures
    #[arg(long)]
    ignore_push_failures: bool,
    /// Push without printing progress information
    #[arg(short, long)]
    quiet: bool,
    services: Vec<String>,
}

pub fn push(ctx: &Ctx, g: &Globals, a: PushArgs) -> CmdResult {
    let sel = ops::selection(ctx.project, &a.services, true)?;
    ops::push(ctx, &sel, a.ignore_push_failures, &crate::cli::progress::on_stderr(a.quiet || g.quiet))?;
    Ok(0)
}
