//! Pull and push progress as Docker's CLI shows it: on a terminal, one line
//! per layer redrawn in place with a bar; otherwise one plain line per
//! change of status (`a1b2c3d4e5f6: Pull complete`), which is what CI logs
//! want.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};

use crate::format::units::human_size;
use crate::registry::progress::{Progress, ProgressSink, Row};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Quiet,
    Plain,
    Tty,
}

struct Render {
    mode: Mode,
    /// `run` and `create` report a pull on stderr: their stdout is the container's.
    stderr: bool,
    /// Lines already drawn by the last redraw (terminal mode), and since
    /// which row (rows drawn before a free line stay above it).
    drawn: Mutex<(usize, usize)>,
}

/// Progress on our stdout (`pull`, `push`).
pub fn on_stdout(quiet: bool) -> Arc<Progress> {
    render(quiet, false)
}

/// Progress on our stderr (`run` and `create` pulling an image).
pub fn on_stderr(quiet: bool) -> Arc<Progress> {
    render(quiet, true)
}

fn render(quiet: bool, stderr: bool) -> Arc<Progress> {
    let tty = if stderr { std::io::stderr().is_terminal() } else { std::io::stdout().is_terminal() };
    let mode = if quiet {
        Mode::Quiet
    } else if tty {
        Mode::Tty
    } else {
        Mode::Plain
    };
    Progress::new(Box::new(Render { mode, stderr, drawn: Mutex::new((0, 0)) }))
}

impl Render {
    fn write(&self, s: &str) {
        if self.stderr {
            let _ = std::io::stderr().lock().write_all(s.as_bytes());
        } else {
            let mut o = std::io::stdout().lock();
            let _ = o.write_all(s.as_bytes()).and_then(|_| o.flush());
        }
    }

    /// Redraw every row since the last free line in place (terminal mode).
    fn redraw(&self, rows: &[Row]) {
        let mut drawn = self.drawn.lock().unwrap();
        let (lines, first) = *drawn;
        let mut buf = String::new();
        if lines > 0 {
            buf.push_str(&format!("\x1b[{lines}A"));
        }
        for r in rows.iter().skip(first) {
            buf.push_str("\x1b[2K");
            buf.push_str(&format!("{}: {}", r.id, r.status));
            if r.counting {
                if r.total > 0 {
                    let width = 50usize;
                    let filled = ((r.current.min(r.total) as f64 / r.total as f64) * width as f64) as usize;
                    let bar: String = (0..width)
                        .map(|i| match i.cmp(&filled) {
                            std::cmp::Ordering::Less => '=',
                            std::cmp::Ordering::Equal => '>',
                            std::cmp::Ordering::Greater => ' ',
                        })
                        .collect();
                    buf.push_str(&format!(" [{bar}]  {}/{}", human_size(r.current), human_size(r.total)));
                } else {
                    buf.push_str(&format!("  {}", human_size(r.current)));
                }
            }
            buf.push('\n');
        }
        *drawn = (rows.len() - first.min(rows.len()), first);
        self.write(&buf);
    }
}

impl ProgressSink for Render {
    fn line(&self, text: &str) {
        if self.mode == Mode::Quiet {
            return;
        }
        self.write(&format!("{text}\n"));
        if self.mode == Mode::Tty {
            // Rows drawn after this line start below it.
            let mut d = self.drawn.lock().unwrap();
            *d = (0, usize::MAX);
        }
    }

    fn status(&self, rows: &[Row], index: usize) {
        match self.mode {
            // Docker's plain output leaves out the byte-counting states.
            Mode::Plain if !rows[index].counting => {
                self.write(&format!("{}: {}\n", rows[index].id, rows[index].status))
            }
            Mode::Tty => {
                {
                    let mut d = self.drawn.lock().unwrap();
                    if d.1 == usize::MAX {
                        *d = (0, index);
                    }
                }
                self.redraw(rows)
            }
            _ => {}
        }
    }

    fn tick(&self, rows: &[Row]) {
        let first = self.drawn.lock().unwrap().1;
        if first != usize::MAX {
            self.redraw(rows);
        }
    }

    fn ticks(&self) -> bool {
        self.mode == Mode::Tty
    }
}
