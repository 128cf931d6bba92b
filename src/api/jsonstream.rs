//! Docker's JSON message streams (pull, push, build, load, import): one
//! JSON object a line, written by a blocking engine call into a streamed
//! body as it works. As in dockerd, an error before the first message is
//! an ordinary HTTP error (a bad reference is a 400, an unknown image a
//! 404); once a message went out the status is 200 and the error is a last
//! `{"errorDetail":{"message":…},"error":…}` line.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use serde_json::{json, Value};

use super::http::{self, ApiError, Handled};
use super::State;
use crate::format::units::human_size_with_precision;
use crate::registry::progress::{ProgressSink, Row};

/// The writing end, shared by the progress sink, the build output and the handler.
pub struct JsonStream {
    tx: tokio::sync::mpsc::Sender<Bytes>,
    /// Fired by the first message (Ok) or by an error before any (Err).
    started: Mutex<Option<tokio::sync::oneshot::Sender<Result<(), ApiError>>>>,
}

impl JsonStream {
    /// Send one message; false once the client is gone.
    pub fn send(&self, v: &Value) -> bool {
        if let Some(s) = self.started.lock().unwrap().take() {
            let _ = s.send(Ok(()));
        }
        self.tx.blocking_send(http::encode(v)).is_ok()
    }

    pub fn gone(&self) -> bool {
        self.tx.is_closed()
    }

    /// The end of a failed call: the HTTP error if nothing was sent yet,
    /// else Docker's error line.
    pub fn fail(&self, e: ApiError) {
        if let Some(s) = self.started.lock().unwrap().take() {
            let _ = s.send(Err(e));
            return;
        }
        let _ = self.tx.blocking_send(http::encode(&error_line(&e.message, None)));
    }

    /// `{"stream": text}`, the build's and load's output.
    pub fn text(&self, text: &str) -> bool {
        self.send(&json!({ "stream": text }))
    }
}

/// Docker's error message (`code` for a RUN that failed with one).
pub fn error_line(message: &str, code: Option<i32>) -> Value {
    let mut detail = json!({ "message": message });
    if let Some(c) = code {
        detail["code"] = json!(c);
    }
    json!({ "errorDetail": detail, "error": message })
}

/// Run `work` on a blocking thread with a stream to write to; the answer is
/// a 200 `application/json` stream once it sends something, or the error
/// it failed with before that.
pub async fn respond(
    st: &Arc<State>,
    work: impl FnOnce(&crate::engine::Engine, &Arc<JsonStream>) + Send + 'static,
) -> Handled {
    let (tx, resp) = http::stream("application/json");
    let (started_tx, started) = tokio::sync::oneshot::channel();
    let stream = Arc::new(JsonStream { tx, started: Mutex::new(Some(started_tx)) });
    let busy = st.busy();
    let st2 = st.clone();
    tokio::task::spawn_blocking(move || {
        let _busy = busy;
        work(&st2.engine, &stream);
        // Done without a word: an empty 200 answer (dropping the stream ends it).
        if let Some(s) = stream.started.lock().unwrap().take() {
            let _ = s.send(Ok(()));
        }
    });
    match started.await {
        Ok(Err(e)) => Err(e),
        _ => Ok(resp),
    }
}

/// Pull and push progress as Docker's JSON messages: a status message per
/// change of a layer's state, `Downloading`/`Pushing`/`Extracting` with
/// `progressDetail` and Docker's `progress` bar text every tick while the
/// byte count moves.
pub struct JsonProgress {
    stream: Arc<JsonStream>,
    /// The byte count last reported per row.
    sent: Mutex<Vec<Arc<AtomicU64>>>,
}

impl JsonProgress {
    pub fn new(stream: Arc<JsonStream>) -> JsonProgress {
        JsonProgress { stream, sent: Mutex::new(Vec::new()) }
    }

    fn row_message(r: &Row) -> Value {
        if !r.counting {
            return json!({"status": r.status, "progressDetail": {}, "id": r.id});
        }
        json!({
            "status": r.status,
            "progressDetail": {"current": r.current, "total": r.total},
            "progress": progress_text(r.current, r.total),
            "id": r.id,
        })
    }
}

/// go-units `HumanSize` (4 significant digits), which jsonmessage uses.
fn human_size(n: u64) -> String {
    human_size_with_precision(n as f64, 4)
}

/// Docker's `JSONProgress.String()` as the daemon renders it (no terminal,
/// so 200 columns): a 50-column bar, then `current/total` in go-units' sizes.
pub fn progress_text(current: u64, total: u64) -> String {
    if total == 0 {
        return format!("{:>8}", human_size(current));
    }
    let pct = ((current as f64 / total as f64 * 100.0) as usize / 2).min(50);
    format!("[{}>{}] {:>8}/{}", "=".repeat(pct), " ".repeat(50 - pct), human_size(current), human_size(total))
}

impl ProgressSink for JsonProgress {
    fn line(&self, text: &str) {
        self.stream.send(&json!({ "status": text }));
    }

    fn item(&self, id: &str, text: &str) {
        self.stream.send(&json!({ "status": text, "id": id }));
    }

    fn status(&self, rows: &[Row], index: usize) {
        let Some(r) = rows.get(index) else { return };
        {
            let mut sent = self.sent.lock().unwrap();
            while sent.len() <= index {
                sent.push(Arc::new(AtomicU64::new(u64::MAX)));
            }
            sent[index].store(r.current, Ordering::Relaxed);
        }
        self.stream.send(&Self::row_message(r));
    }

    fn tick(&self, rows: &[Row]) {
        for (i, r) in rows.iter().enumerate() {
            if !r.counting {
                continue;
            }
            let moved = {
                let sent = self.sent.lock().unwrap();
                sent.get(i).is_some_and(|s| s.swap(r.current, Ordering::Relaxed) != r.current)
            };
            if moved {
                self.stream.send(&Self::row_message(r));
            }
        }
    }

    fn ticks(&self) -> bool {
        true
    }

    fn pushed(&self, tag: &str, digest: &str, size: usize) {
        self.line(&format!("{tag}: digest: {digest} size: {size}"));
        self.stream.send(&json!({
            "progressDetail": {},
            "aux": {"Tag": tag, "Digest": digest, "Size": size},
        }));
    }

    fn gone(&self) -> bool {
        self.stream.gone()
    }
}

/// The build's output as `{"stream": …}` messages, a message per complete
/// line (so `Successfully built ID` arrives whole, as docker-py's regex
/// wants it), the rest of a line when the builder flushes (a RUN's
/// progress output).
pub struct StreamWriter {
    pub stream: Arc<JsonStream>,
    buf: Vec<u8>,
}

impl StreamWriter {
    pub fn new(stream: Arc<JsonStream>) -> StreamWriter {
        StreamWriter { stream, buf: Vec::new() }
    }

    fn emit(&mut self, upto: usize) -> std::io::Result<()> {
        let chunk: Vec<u8> = self.buf.drain(..upto).collect();
        if chunk.is_empty() {
            return Ok(());
        }
        if self.stream.text(&String::from_utf8_lossy(&chunk)) {
            Ok(())
        } else {
            Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe))
        }
    }
}

impl std::io::Write for StreamWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(b);
        if let Some(last) = self.buf.iter().rposition(|&c| c == b'\n') {
            self.emit(last + 1)?;
        }
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        // A partial UTF-8 character waits for the rest of its bytes.
        let keep = match std::str::from_utf8(&self.buf) {
            Ok(_) => 0,
            Err(e) if e.error_len().is_none() => self.buf.len() - e.valid_up_to(),
            Err(_) => 0,
        };
        let n = self.buf.len() - keep;
        self.emit(n)
    }
}

#[cfg(test)]
mod tests {
    use super::progress_text;

    #[test]
    fn docker_progress_bars() {
        assert_eq!(progress_text(49_152, 4_335_400), format!("[>{}]  49.15kB/4.335MB", " ".repeat(50)));
        assert_eq!(progress_text(4_335_400, 4_335_400), format!("[{}>]  4.335MB/4.335MB", "=".repeat(50)));
        assert_eq!(progress_text(1_000, 0), "     1kB");
    }
}
