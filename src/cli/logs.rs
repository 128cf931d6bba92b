//! `logs`: Docker's flags turned into the engine's read options; entries
//! rendered to our stdout and stderr as the container wrote them.

use clap::Args;

use super::CmdResult;
use crate::engine::containers as eng;
use crate::engine::Engine;
use crate::format::units;
use crate::monitor::logs;

#[derive(Args)]
pub struct LogsArgs {
    /// Follow log output
    #[arg(short, long)]
    follow: bool,
    /// Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)
    #[arg(long)]
    since: Option<String>,
    /// Show logs before a timestamp or relative time
    #[arg(long)]
    until: Option<String>,
    /// Number of lines to show from the end of the logs
    #[arg(short = 'n', long, default_value = "all")]
    tail: String,
    /// Show timestamps
    #[arg(short, long)]
    timestamps: bool,
    /// Show extra details provided to logs
    #[arg(long)]
    details: bool,
    container: String,
}

/// `--since`, `--until` (timestamps or durations), `--tail N|all`, `-t`
/// and `-f` as the engine's read options; `rcon logs` and `compose logs`.
pub(super) fn read_options(
    since: &Option<String>,
    until: &Option<String>,
    tail: &str,
    timestamps: bool,
    follow: bool,
) -> anyhow::Result<logs::ReadOptions> {
    let now = crate::image::store::now_secs();
    let when = |s: &Option<String>, what: &str| -> anyhow::Result<Option<(i64, u32)>> {
        match s {
            None => Ok(None),
            Some(v) => units::parse_since_until(v, now).map(|t| Some((t, 0))).ok_or_else(|| {
                anyhow::anyhow!(
                    "invalid value for --{what}: {v:?}: use a timestamp (2013-01-02T13:23:37Z) or a duration (42m)"
                )
            }),
        }
    };
    let tail = match tail {
        "all" | "-1" => None,
        t => Some(
            t.parse::<usize>().map_err(|_| anyhow::anyhow!("invalid value for --tail: {t:?}: use a number or all"))?,
        ),
    };
    Ok(logs::ReadOptions { since: when(since, "since")?, until: when(until, "until")?, tail, timestamps, follow })
}

pub fn logs_cmd(engine: &Engine, a: LogsArgs) -> CmdResult {
    let opts = read_options(&a.since, &a.until, &a.tail, a.timestamps, a.follow)?;
    let mut emit = |e: &logs::LogEntry| -> std::io::Result<()> {
        use std::io::Write;
        let bytes = logs::render(e, a.timestamps);
        match e.stream {
            logs::Stream::Stdout => {
                let mut o = std::io::stdout().lock();
                o.write_all(&bytes)?;
                o.flush()
            }
            logs::Stream::Stderr => std::io::stderr().write_all(&bytes),
        }
    };
    eng::logs(engine, &a.container, &opts, &mut emit, &crate::engine::Cancel::never())?;
    Ok(0)
}
