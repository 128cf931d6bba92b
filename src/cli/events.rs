//! `rcon events`: read the events journal (see crate::events), and follow it
//! until interrupted unless `--until` ends the window.

use crate::engine::Engine;
use crate::events::{default_line, Filter};
use crate::format::{table, units};
use clap::Args;

use super::{out, CmdResult};

#[derive(Args)]
pub struct EventsArgs {
    /// Show all events created since timestamp
    #[arg(long)]
    since: Option<String>,
    /// Stream events until this timestamp
    #[arg(long)]
    until: Option<String>,
    /// Filter output based on conditions provided (type, event, container, image, label)
    #[arg(short, long = "filter")]
    filter: Vec<String>,
    /// Format the output using the given Go template, or json
    #[arg(long)]
    format: Option<String>,
}

pub fn events(engine: &Engine, a: EventsArgs) -> CmdResult {
    let now = units::now();
    let since = a.since.as_deref().map(|v| super::flags::event_time("--since", v, now)).transpose()?;
    let until = a.until.as_deref().map(|v| super::flags::event_time("--until", v, now)).transpose()?;
    let filter = Filter::parse(&a.filter)?;
    if let Some(f) = a.format.as_deref().filter(|f| *f != "json") {
        // A bad template fails now, not at the first event.
        crate::format::template::Template::parse(f)?;
    }
    let o = crate::engine::events::EventsOptions { since, until, filter, cancel: crate::engine::Cancel::never() };
    let mut failed = None;
    crate::engine::events::follow(engine, &o, &mut |ev| {
        let line = match &a.format {
            None => default_line(ev) + "\n",
            Some(f) => match table::render_one(f, ev) {
                Ok(l) => l,
                Err(e) => {
                    failed = Some(e);
                    return Err(std::io::Error::other("template"));
                }
            },
        };
        out(&line);
        Ok(())
    });
    match failed {
        Some(e) => Err(e.into()),
        None => Ok(0),
    }
}
