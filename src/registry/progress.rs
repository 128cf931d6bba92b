//! Pull and push progress as Docker shows it: on a terminal, one line per
//! layer redrawn in place with a bar; otherwise one plain line per change of
//! status (`a1b2c3d4e5f6: Pull complete`), which is what CI logs want.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::format::units::human_size;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Quiet,
    Plain,
    Tty,
}

struct Row {
    id: String,
    status: String,
    current: Arc<AtomicU64>,
    total: u64,
    /// Show a byte count while in this status.
    counting: bool,
}

pub struct Progress {
    mode: Mode,
    /// `run` and `create` report a pull on stderr: their stdout is the container's.
    stderr: bool,
    rows: Mutex<Vec<Row>>,
    /// Lines already drawn by the last redraw (terminal mode).
    drawn: Mutex<usize>,
    stop: AtomicBool,
}

/// Handle to one layer's row.
#[derive(Clone)]
pub struct Bar {
    progress: Arc<Progress>,
    index: usize,
    pub bytes: Arc<AtomicU64>,
}

impl Progress {
    pub fn new(quiet: bool) -> Arc<Progress> {
        Self::with_target(quiet, false)
    }

    pub fn on_stderr(quiet: bool) -> Arc<Progress> {
        Self::with_target(quiet, true)
    }

    fn with_target(quiet: bool, stderr: bool) -> Arc<Progress> {
        let tty = if stderr { std::io::stderr().is_terminal() } else { std::io::stdout().is_terminal() };
        let mode = if quiet {
            Mode::Quiet
        } else if tty {
            Mode::Tty
        } else {
            Mode::Plain
        };
        Arc::new(Progress {
            mode,
            stderr,
            rows: Mutex::new(Vec::new()),
            drawn: Mutex::new(0),
            stop: AtomicBool::new(false),
        })
    }

    fn write(&self, s: &str) {
        if self.stderr {
            let mut o = std::io::stderr().lock();
            let _ = o.write_all(s.as_bytes());
        } else {
            let mut o = std::io::stdout().lock();
            let _ = o.write_all(s.as_bytes()).and_then(|_| o.flush());
        }
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// A line outside the per-layer rows (`Digest: …`).
    pub fn line(&self, s: &str) {
        if self.mode == Mode::Quiet {
            return;
        }
        self.redraw();
        self.write(&format!("{s}\n"));
        if self.mode == Mode::Tty {
            // Rows drawn after this line start below it.
            self.rows.lock().unwrap().clear();
            *self.drawn.lock().unwrap() = 0;
        }
    }

    pub fn bar(self: &Arc<Self>, id: &str, status: &str, total: u64) -> Bar {
        let bytes = Arc::new(AtomicU64::new(0));
        let index = {
            let mut rows = self.rows.lock().unwrap();
            rows.push(Row {
                id: id.to_string(),
                status: status.to_string(),
                current: bytes.clone(),
                total,
                counting: false,
            });
            rows.len() - 1
        };
        if self.mode == Mode::Plain {
            self.plain(id, status);
        }
        Bar { progress: self.clone(), index, bytes }
    }

    fn plain(&self, id: &str, status: &str) {
        self.write(&format!("{id}: {status}\n"));
    }

    fn set(&self, index: usize, status: &str, counting: bool) {
        let id = {
            let mut rows = self.rows.lock().unwrap();
            let Some(r) = rows.get_mut(index) else { return };
            r.status = status.to_string();
            r.counting = counting;
            r.id.clone()
        };
        match self.mode {
            // Docker's plain output leaves out the byte-counting states.
            Mode::Plain if !counting => self.plain(&id, status),
            Mode::Plain => {}
            Mode::Tty => self.redraw(),
            Mode::Quiet => {}
        }
    }

    /// Redraw every row in place (terminal mode).
    pub fn redraw(&self) {
        if self.mode != Mode::Tty {
            return;
        }
        let rows = self.rows.lock().unwrap();
        let mut drawn = self.drawn.lock().unwrap();
        let mut buf = String::new();
        if *drawn > 0 {
            buf.push_str(&format!("\x1b[{}A", *drawn));
        }
        for r in rows.iter() {
            buf.push_str("\x1b[2K");
            buf.push_str(&format!("{}: {}", r.id, r.status));
            if r.counting {
                let cur = r.current.load(Ordering::Relaxed);
                if r.total > 0 {
                    let width = 50usize;
                    let filled = ((cur.min(r.total) as f64 / r.total as f64) * width as f64) as usize;
                    let bar: String = (0..width)
                        .map(|i| {
                            if i < filled {
                                '='
                            } else if i == filled {
                                '>'
                            } else {
                                ' '
                            }
                        })
                        .collect();
                    buf.push_str(&format!(" [{bar}]  {}/{}", human_size(cur), human_size(r.total)));
                } else {
                    buf.push_str(&format!("  {}", human_size(cur)));
                }
            }
            buf.push('\n');
        }
        *drawn = rows.len();
        self.write(&buf);
    }

    /// On a terminal, redraw every 100 ms until `finish`.
    pub fn start_ticker(self: &Arc<Self>) -> Option<std::thread::JoinHandle<()>> {
        if self.mode != Mode::Tty {
            return None;
        }
        let p = self.clone();
        Some(std::thread::spawn(move || {
            while !p.stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
                p.redraw();
            }
        }))
    }

    pub fn finish(&self, ticker: Option<std::thread::JoinHandle<()>>) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = ticker {
            let _ = t.join();
        }
        self.redraw();
    }
}

impl Bar {
    pub fn status(&self, s: &str) {
        self.progress.set(self.index, s, false);
    }
    /// A status that shows the byte counter (Downloading, Pushing).
    pub fn counting(&self, s: &str) {
        self.progress.set(self.index, s, true);
    }
}
