//! Pull and push progress as typed events: one row per layer with its
//! status and byte counters, and free lines (`Digest: …`). A front end
//! renders them through a [`ProgressSink`]: the CLI as Docker's terminal
//! bars or plain lines (`cli::progress`), the API server as Docker's JSON
//! progress messages.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A layer's row as a sink sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub id: String,
    pub status: String,
    /// Bytes moved so far, of `total` (0: unknown).
    pub current: u64,
    pub total: u64,
    /// A status in which bytes move (Downloading, Pushing, Extracting).
    pub counting: bool,
}

/// Where progress goes.
pub trait ProgressSink: Send + Sync {
    /// A line outside the layer rows.
    fn line(&self, text: &str);
    /// A line about one thing (`latest: Pulling from library/busybox`):
    /// Docker's JSON messages carry the id apart from the text.
    fn item(&self, id: &str, text: &str) {
        self.line(&format!("{id}: {text}"));
    }
    /// A tag was pushed (`TAG: digest: D size: N`; the API adds Docker's aux message).
    fn pushed(&self, tag: &str, digest: &str, size: usize) {
        self.line(&format!("{tag}: digest: {digest} size: {size}"));
    }
    /// Nobody reads any more (an API client went away): transfers stop.
    fn gone(&self) -> bool {
        false
    }
    /// Row `index` is new or has a new status.
    fn status(&self, rows: &[Row], index: usize);
    /// Every 100 ms while a transfer runs, if [`ProgressSink::ticks`].
    fn tick(&self, _rows: &[Row]) {}
    fn ticks(&self) -> bool {
        false
    }
}

/// Progress nobody reads.
pub struct Silent;

impl ProgressSink for Silent {
    fn line(&self, _: &str) {}
    fn status(&self, _: &[Row], _: usize) {}
}

struct RowState {
    id: String,
    status: String,
    current: Arc<AtomicU64>,
    total: u64,
    counting: bool,
}

pub struct Progress {
    sink: Box<dyn ProgressSink>,
    rows: Mutex<Vec<RowState>>,
    stop: AtomicBool,
}

/// Handle to one layer's row.
#[derive(Clone)]
pub struct Bar {
    progress: Arc<Progress>,
    index: usize,
    pub bytes: Arc<AtomicU64>,
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress")
    }
}

impl Default for Progress {
    fn default() -> Self {
        Progress { sink: Box::new(Silent), rows: Mutex::new(Vec::new()), stop: AtomicBool::new(false) }
    }
}

impl Progress {
    pub fn new(sink: Box<dyn ProgressSink>) -> Arc<Progress> {
        Arc::new(Progress { sink, rows: Mutex::new(Vec::new()), stop: AtomicBool::new(false) })
    }

    pub fn silent() -> Arc<Progress> {
        Arc::new(Progress::default())
    }

    fn snapshot(rows: &[RowState]) -> Vec<Row> {
        rows.iter()
            .map(|r| Row {
                id: r.id.clone(),
                status: r.status.clone(),
                current: r.current.load(Ordering::Relaxed),
                total: r.total,
                counting: r.counting,
            })
            .collect()
    }

    /// A line outside the per-layer rows (`Digest: …`).
    pub fn line(&self, s: &str) {
        self.sink.line(s);
    }

    /// A line about one thing (`TAG: Pulling from REPO`).
    pub fn item(&self, id: &str, text: &str) {
        self.sink.item(id, text);
    }

    pub fn pushed(&self, tag: &str, digest: &str, size: usize) {
        self.sink.pushed(tag, digest, size);
    }

    /// Whether the reader went away (transfers poll this and stop).
    pub fn gone(&self) -> bool {
        self.sink.gone()
    }

    pub fn bar(self: &Arc<Self>, id: &str, status: &str, total: u64) -> Bar {
        let bytes = Arc::new(AtomicU64::new(0));
        let (index, rows) = {
            let mut rows = self.rows.lock().unwrap();
            rows.push(RowState {
                id: id.to_string(),
                status: status.to_string(),
                current: bytes.clone(),
                total,
                counting: false,
            });
            (rows.len() - 1, Self::snapshot(&rows))
        };
        self.sink.status(&rows, index);
        Bar { progress: self.clone(), index, bytes }
    }

    fn set(&self, index: usize, status: &str, counting: bool) {
        let rows = {
            let mut rows = self.rows.lock().unwrap();
            let Some(r) = rows.get_mut(index) else { return };
            r.status = status.to_string();
            r.counting = counting;
            Self::snapshot(&rows)
        };
        self.sink.status(&rows, index);
    }

    /// While a transfer runs: a tick every 100 ms, until `finish`.
    pub fn start_ticker(self: &Arc<Self>) -> Option<std::thread::JoinHandle<()>> {
        if !self.sink.ticks() {
            return None;
        }
        let p = self.clone();
        Some(std::thread::spawn(move || {
            while !p.stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
                let rows = Self::snapshot(&p.rows.lock().unwrap());
                p.sink.tick(&rows);
            }
        }))
    }

    pub fn finish(&self, ticker: Option<std::thread::JoinHandle<()>>) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = ticker {
            let _ = t.join();
        }
        if self.sink.ticks() {
            let rows = Self::snapshot(&self.rows.lock().unwrap());
            self.sink.tick(&rows);
        }
    }
}

impl Bar {
    pub fn gone(&self) -> bool {
        self.progress.gone()
    }
    pub fn status(&self, s: &str) {
        self.progress.set(self.index, s, false);
    }
    /// A status that shows the byte counter (Downloading, Pushing).
    pub fn counting(&self, s: &str) {
        self.progress.set(self.index, s, true);
    }
}
