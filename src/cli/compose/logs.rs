//! `compose logs` and the log view of an attached `up`: every container's
//! lines, as they come, behind compose's `web-1  | ` prefix (padded to the
//! widest name, coloured per service on a terminal).

use std::io::Write;
use std::sync::Mutex;

use clap::Args;

use super::{service_containers, Globals};
use crate::cli::CmdResult;
use crate::compose::ops::{self, Ctx};
use crate::container::{Container, Status};
use crate::engine::containers as eng;
use crate::monitor::logs::{self, LogEntry, ReadOptions, Stream};

#[derive(Args)]
pub struct LogsArgs {
    /// Follow log output
    #[arg(short, long)]
    follow: bool,
    /// Number of lines to show from the end of the logs for each container
    #[arg(short = 'n', long, default_value = "all")]
    tail: String,
    /// Show timestamps
    #[arg(short, long)]
    timestamps: bool,
    /// Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)
    #[arg(long)]
    since: Option<String>,
    /// Show logs before a timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)
    #[arg(long)]
    until: Option<String>,
    /// Produce monochrome output
    #[arg(long)]
    no_color: bool,
    /// Don't print prefix in logs
    #[arg(long)]
    no_log_prefix: bool,
    /// index of the container if service has multiple replicas
    #[arg(long)]
    index: Option<u32>,
    services: Vec<String>,
}

pub fn logs(ctx: &Ctx, g: &Globals, a: LogsArgs) -> CmdResult {
    let mut list = service_containers(ctx, &a.services, false)?;
    if let Some(i) = a.index {
        list.retain(|c| ops::number(c) == i);
    }
    let opts = crate::cli::logs::read_options(&a.since, &a.until, &a.tail, a.timestamps, a.follow)?;
    let view = LogView::new(ctx, &list, g.color && !a.no_color, !a.no_log_prefix, a.timestamps);
    std::thread::scope(|s| {
        for c in &list {
            let (view, opts) = (&view, &opts);
            s.spawn(move || view.follow(ctx, c, opts));
        }
    });
    Ok(0)
}

/// Where the log lines of several containers meet: one writer, each line
/// whole, behind its container's prefix.
pub(super) struct LogView {
    /// (container id, name shown, colour).
    names: Vec<(String, String, &'static str)>,
    width: usize,
    color: bool,
    prefix: bool,
    timestamps: bool,
    lock: Mutex<()>,
}

/// compose's palette (`formatter.colors`): the service's index picks one.
const COLORS: [&str; 12] = ["36", "33", "32", "35", "34", "31", "36;1", "33;1", "32;1", "35;1", "34;1", "31;1"];

impl LogView {
    pub fn new(ctx: &Ctx, list: &[Container], color: bool, prefix: bool, timestamps: bool) -> LogView {
        let services: Vec<&String> = ctx.project.services.keys().collect();
        let names: Vec<(String, String, &'static str)> = list
            .iter()
            .map(|c| {
                let svc = ops::label(c, ops::labels::SERVICE);
                let i = services.iter().position(|s| *s == svc).unwrap_or(0);
                (c.config.id.clone(), short_name(&ctx.project.name, &c.config.name), COLORS[i % COLORS.len()])
            })
            .collect();
        let width = names.iter().map(|n| n.1.chars().count()).max().unwrap_or(0);
        LogView { names, width, color, prefix, timestamps, lock: Mutex::new(()) }
    }

    fn name_of<'a>(&'a self, c: &'a Container) -> (&'a str, &'a str) {
        match self.names.iter().find(|n| n.0 == c.config.id) {
            Some((_, name, color)) => (name, color),
            None => (&c.config.name, ""),
        }
    }

    /// `web-1  | ` (coloured when asked).
    fn head(&self, c: &Container) -> String {
        if !self.prefix {
            return String::new();
        }
        let (name, code) = self.name_of(c);
        let pad = " ".repeat(self.width.saturating_sub(name.chars().count()));
        if self.color {
            format!("\x1b[{code}m{name}{pad}  |\x1b[0m ")
        } else {
            format!("{name}{pad}  | ")
        }
    }

    pub fn line(&self, c: &Container, e: &LogEntry) -> std::io::Result<()> {
        let mut text = self.head(c).into_bytes();
        text.extend_from_slice(&logs::render(e, self.timestamps));
        if !text.ends_with(b"\n") {
            text.push(b'\n');
        }
        let _g = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        match e.stream {
            Stream::Stdout => {
                let mut o = std::io::stdout().lock();
                o.write_all(&text)?;
                o.flush()
            }
            Stream::Stderr => std::io::stderr().write_all(&text),
        }
    }

    /// A line of compose's own in the log view (`web-1 exited with code 0`).
    pub fn note(&self, c: &Container, text: &str) {
        let (name, code) = self.name_of(c);
        let _g = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut o = std::io::stdout().lock();
        let _ = if self.color { writeln!(o, "\x1b[{code}m{name} {text}\x1b[0m") } else { writeln!(o, "{name} {text}") };
        let _ = o.flush();
    }

    /// One container's lines; following, across restarts, until it stops
    /// for good. Its exit code when it stopped, None when not following.
    pub fn follow(&self, ctx: &Ctx, c: &Container, opts: &ReadOptions) -> Option<i32> {
        let mut opts = opts.clone();
        let mut last = opts.since;
        loop {
            let mut emit = |e: &LogEntry| {
                last = Some(e.time);
                self.line(c, e)
            };
            let read = eng::logs(ctx.engine, &c.config.id, &opts, &mut emit, &crate::engine::Cancel::never());
            if let Err(e) = read {
                self.note(c, &format!("cannot read the logs: {e}"));
                return None;
            }
            if !opts.follow {
                return None;
            }
            let now = eng::get(ctx.engine, &c.config.id).ok()?;
            match now.state.status {
                // Restarting (its policy brings it back): keep following
                // from the last line shown.
                Status::Restarting | Status::Running => {
                    opts.tail = None;
                    opts.since = last.map(|(s, n)| if n == 999_999_999 { (s + 1, 0) } else { (s, n + 1) });
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                _ => return Some(now.state.exit_code),
            }
        }
    }
}

/// The name compose shows: the container name without `PROJECT-`.
fn short_name(project: &str, name: &str) -> String {
    name.strip_prefix(&format!("{project}-")).unwrap_or(name).to_string()
}
