//! Container log drivers: writing what a container prints to its log file, and
//! reading it back for `rcon logs`.
//!
//! The per-container monitor owns a [`LogWriter`] and feeds it the raw bytes it
//! reads from the container's stdout and stderr pipes. Two on-disk formats are
//! supported, plus "none":
//!
//! * `json-file` (Docker's default): one JSON object per line,
//!   `{"log":"hello\n","stream":"stdout","time":"2023-05-19T20:19:32.123456789Z"}`,
//!   escaped exactly as dockerd's json-file driver does (which is Go's
//!   `encoding/json` with HTML escaping, except that `\t` is written `\u0009`),
//!   the time in Go's `time.RFC3339Nano` (UTC, trailing zeros trimmed). A line
//!   that did not end in a newline (a 16 KiB chunk of a longer line, or the
//!   last output of a container that exited mid-line) is written without the
//!   `\n` in `"log"`.
//! * `k8s-file` (podman/conmon, CRI): `2023-05-19T20:19:32.123456789Z stdout F hello`,
//!   one record per line, `F` for a full line (the newline is implied), `P` for
//!   a partial chunk; the reader joins `P` chunks to the next `F` of the same
//!   stream, as podman does.
//! * `none`: nothing is written; reading fails like Docker's
//!   "configured logging driver does not support reading".
//!
//! Rotation follows dockerd's json-file: with `max-size` set, when a record
//! would make the file exceed it, `ctr.log.(N-2)` … `ctr.log.1` shift up one,
//! `ctr.log` becomes `ctr.log.1`, and a new `ctr.log` is started; with
//! `max-file=1` the full file is unlinked and a new one started (dockerd unlinks
//! rather than truncates so that readers in the middle of it are not disturbed).
//!
//! Self-contained on purpose: std, serde_json and thiserror only.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Docker's copier splits lines longer than this into partial messages.
pub const MAX_LINE_CHUNK: usize = 16 * 1024;

/// How often `read` with `follow` polls the log file for new data.
const FOLLOW_POLL: Duration = Duration::from_millis(50);

/// Permissions of a new log file (dockerd uses 0640).
const LOG_FILE_MODE: u32 = 0o640;

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("logger: no log driver named '{0}' is registered (supported drivers: json-file, k8s-file, none)")]
    UnknownDriver(String),

    /// A bad `--log-opt`; the message is Docker's where Docker has one.
    #[error("{0}")]
    InvalidOption(String),

    #[error("configured logging driver does not support reading")]
    ReadNotSupported,

    /// An I/O error on a log file.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: io::Error,
    },

    /// The `emit` callback of [`read`] failed (typically EPIPE when the
    /// consumer went away); reading stopped there.
    #[error("writing log output: {0}")]
    Emit(#[source] io::Error),
}

impl LogError {
    fn io(what: impl Into<String>, source: io::Error) -> LogError {
        LogError::Io { what: what.into(), source }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }

    fn parse(s: &[u8]) -> Option<Stream> {
        match s {
            b"stdout" => Some(Stream::Stdout),
            b"stderr" => Some(Stream::Stderr),
            _ => None,
        }
    }

    fn index(self) -> usize {
        match self {
            Stream::Stdout => 0,
            Stream::Stderr => 1,
        }
    }

    fn from_index(i: usize) -> Stream {
        if i == 0 {
            Stream::Stdout
        } else {
            Stream::Stderr
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Driver {
    #[default]
    JsonFile,
    K8sFile,
    None,
}

impl Driver {
    /// Parse a `--log-driver` value. The empty string means the default,
    /// json-file, as with Docker.
    pub fn parse(name: &str) -> Result<Driver, LogError> {
        match name {
            "json-file" | "" => Ok(Driver::JsonFile),
            "k8s-file" => Ok(Driver::K8sFile),
            "none" => Ok(Driver::None),
            other => Err(LogError::UnknownDriver(other.to_string())),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Driver::JsonFile => "json-file",
            Driver::K8sFile => "k8s-file",
            Driver::None => "none",
        }
    }
}

/// The `--log-opt` values that change what the writer does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogOptions {
    /// `max-size`, in bytes (Docker parses it with go-units' FromHumanSize:
    /// decimal units, `1k` = 1000, `10m` = 10,000,000).
    pub max_size: Option<u64>,
    /// `max-file`, at least 1 (the default). Only has an effect with
    /// `max-size`, as Docker documents.
    pub max_file: u32,
}

impl Default for LogOptions {
    fn default() -> LogOptions {
        LogOptions { max_size: None, max_file: 1 }
    }
}

impl LogOptions {
    /// Parse `--log-opt key=value` strings for the json-file driver (Docker's
    /// default). See [`LogOptions::parse_for`].
    pub fn parse(opts: &[String]) -> Result<LogOptions, LogError> {
        LogOptions::parse_for(&Driver::JsonFile, opts)
    }

    /// Parse `--log-opt key=value` strings for `driver`, validating keys like
    /// dockerd does. json-file accepts (and, apart from max-size and max-file,
    /// ignores) Docker's keys: max-size, max-file, compress, labels,
    /// labels-regex, env, env-regex, tag. k8s-file accepts max-size, max-file
    /// and tag. `none` takes no options at all (Docker's CLI: "invalid logging
    /// opts for driver none"). A later duplicate key wins; a string without `=`
    /// is a key with an empty value, as in Docker's CLI.
    pub fn parse_for(driver: &Driver, opts: &[String]) -> Result<LogOptions, LogError> {
        if *driver == Driver::None {
            if opts.is_empty() {
                return Ok(LogOptions::default());
            }
            return Err(LogError::InvalidOption("invalid logging opts for driver none".to_string()));
        }
        let valid: &[&str] = match driver {
            Driver::JsonFile => {
                &["max-file", "max-size", "compress", "labels", "labels-regex", "env", "env-regex", "tag"]
            }
            Driver::K8sFile => &["max-file", "max-size", "tag"],
            Driver::None => &[],
        };
        // Last value of each key wins, like Docker's map.
        let mut kv: Vec<(&str, &str)> = Vec::new();
        for opt in opts {
            let (k, v) = match opt.split_once('=') {
                Some((k, v)) => (k, v),
                None => (opt.as_str(), ""),
            };
            if !valid.contains(&k) {
                return Err(LogError::InvalidOption(format!(
                    "unknown log opt '{}' for {} log driver",
                    k,
                    driver.name()
                )));
            }
            kv.retain(|(key, _)| *key != k);
            kv.push((k, v));
        }
        let get = |key: &str| kv.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);

        let mut out = LogOptions::default();
        if let Some(v) = get("max-size") {
            let n = from_human_size(v)?;
            if n <= 0 {
                return Err(LogError::InvalidOption("max-size must be a positive number".to_string()));
            }
            out.max_size = Some(n as u64);
        }
        if let Some(v) = get("max-file") {
            let n = go_atoi(v)?;
            if n < 1 {
                return Err(LogError::InvalidOption("max-file cannot be less than 1".to_string()));
            }
            out.max_file = u32::try_from(n).unwrap_or(u32::MAX);
        }
        if let Some(v) = get("compress") {
            let compress = go_parse_bool(v)?;
            if compress && (out.max_file == 1 || out.max_size.is_none()) {
                return Err(LogError::InvalidOption(
                    "compress cannot be true when max-file is less than 2 or max-size is not set".to_string(),
                ));
            }
            // Rotated files are kept uncompressed; reading handles only plain files.
        }
        Ok(out)
    }
}

/// go-units' FromHumanSize: `(?i)^(\d+(\.\d+)*) ?([kmgtp])?i?b?$`, decimal
/// multipliers, result truncated toward zero.
fn from_human_size(s: &str) -> Result<i64, LogError> {
    let bad = || LogError::InvalidOption(format!("invalid size: '{s}'"));
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i == 0 {
        return Err(bad());
    }
    let mut dots = 0;
    while i < b.len() && b[i] == b'.' {
        let start = i + 1;
        let mut j = start;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j == start {
            return Err(bad());
        }
        dots += 1;
        i = j;
    }
    let number = &s[..i];
    let mut rest = &b[i..];
    if rest.first() == Some(&b' ') {
        rest = &rest[1..];
    }
    let mut mul: f64 = 1.0;
    if let Some(c) = rest.first() {
        let m = match c.to_ascii_lowercase() {
            b'k' => Some(1e3),
            b'm' => Some(1e6),
            b'g' => Some(1e9),
            b't' => Some(1e12),
            b'p' => Some(1e15),
            _ => None,
        };
        if let Some(m) = m {
            mul = m;
            rest = &rest[1..];
        }
    }
    if matches!(rest.first(), Some(b'i' | b'I')) {
        rest = &rest[1..];
    }
    if matches!(rest.first(), Some(b'b' | b'B')) {
        rest = &rest[1..];
    }
    if !rest.is_empty() {
        return Err(bad());
    }
    if dots > 1 {
        // The regexp accepts "1.2.3" but strconv.ParseFloat then rejects it.
        return Err(LogError::InvalidOption(format!("strconv.ParseFloat: parsing \"{number}\": invalid syntax")));
    }
    let n: f64 = number.parse().map_err(|_| bad())?;
    let v = n * mul;
    Ok(if v >= i64::MAX as f64 { i64::MAX } else { v as i64 })
}

/// Go's strconv.Atoi, with its error text (what dockerd reports).
fn go_atoi(s: &str) -> Result<i64, LogError> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return Err(LogError::InvalidOption(format!("strconv.Atoi: parsing \"{s}\": invalid syntax")));
    }
    s.parse::<i64>().map_err(|_| LogError::InvalidOption(format!("strconv.Atoi: parsing \"{s}\": value out of range")))
}

/// Go's strconv.ParseBool.
fn go_parse_bool(s: &str) -> Result<bool, LogError> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(LogError::InvalidOption(format!("strconv.ParseBool: parsing \"{s}\": invalid syntax"))),
    }
}

// ---------------------------------------------------------------------------
// Time formatting and parsing (UTC, proleptic Gregorian).

/// Days since 1970-01-01 → (year, month 1-12, day 1-31).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) → days since 1970-01-01.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Format a UTC instant as RFC 3339 with nanoseconds. `fixed`: always nine
/// fractional digits (Docker's `RFC3339NanoFixed`, used by `docker logs -t`,
/// and conmon's k8s-file timestamps); otherwise Go's `time.RFC3339Nano`
/// (trailing zeros trimmed, no fraction at all for a whole second), used in
/// json-file records.
pub fn format_time(secs: i64, nanos: u32, fixed: bool) -> String {
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, mo, d) = civil_from_days(days);
    let mut s = format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", y, mo, d, sod / 3600, sod / 60 % 60, sod % 60);
    if fixed {
        s.push_str(&format!(".{:09}", nanos));
    } else if nanos != 0 {
        let frac = format!("{:09}", nanos);
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// Parse an RFC 3339 timestamp with optional fraction (any number of digits,
/// extra ones truncated) and a `Z` or `±HH:MM` offset, as written by Docker,
/// podman/conmon (local offsets) and us.
pub fn parse_time(s: &str) -> Option<(i64, u32)> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = b.get(from..from + len)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(part.iter().fold(0i64, |a, c| a * 10 + (c - b'0') as i64))
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (y, mo, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (h, mi, sec) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut nanos: u32 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        let mut scale = 100_000_000u32;
        while i < b.len() && b[i].is_ascii_digit() {
            nanos += (b[i] - b'0') as u32 * scale;
            scale /= 10;
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    let offset = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        c @ (b'+' | b'-') if i + 6 == b.len() && b[i + 3] == b':' => {
            let (oh, om) = (num(i + 1, 2)?, num(i + 4, 2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let o = oh * 3600 + om * 60;
            if *c == b'-' {
                -o
            } else {
                o
            }
        }
        _ => return None,
    };
    let secs = days_from_civil(y, mo as u32, d as u32) * 86_400 + h * 3600 + mi * 60 + sec - offset;
    Some((secs, nanos))
}

fn now() -> (i64, u32) {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => (d.as_secs() as i64, d.subsec_nanos()),
        Err(e) => {
            let d = e.duration();
            if d.subsec_nanos() == 0 {
                (-(d.as_secs() as i64), 0)
            } else {
                (-(d.as_secs() as i64) - 1, 1_000_000_000 - d.subsec_nanos())
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Encoding.

/// Append `s` as a JSON string the way dockerd's json-file driver does
/// (jsonlog's ffjsonWriteJSONBytesAsString): `\"`, `\\`, `\n`, `\r`; every
/// other control byte and `<`, `>`, `&` as `\u00xx`; each byte that does not
/// start a valid UTF-8 sequence as `\ufffd`; U+2028/U+2029 as `\u2028`/`\u2029`.
pub fn append_json_string(out: &mut Vec<u8>, s: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let mut start = 0;
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        if b < 0x80 {
            if b >= 0x20 && b != b'\\' && b != b'"' && b != b'<' && b != b'>' && b != b'&' {
                i += 1;
                continue;
            }
            out.extend_from_slice(&s[start..i]);
            match b {
                b'\\' | b'"' => out.extend_from_slice(&[b'\\', b]),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                _ => out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[(b >> 4) as usize], HEX[(b & 0xf) as usize]]),
            }
            i += 1;
            start = i;
            continue;
        }
        match decode_utf8_char(&s[i..]) {
            None => {
                out.extend_from_slice(&s[start..i]);
                out.extend_from_slice(b"\\ufffd");
                i += 1;
                start = i;
            }
            Some((c, size)) => {
                if c == '\u{2028}' || c == '\u{2029}' {
                    out.extend_from_slice(&s[start..i]);
                    out.extend_from_slice(if c == '\u{2028}' { b"\\u2028" } else { b"\\u2029" });
                    start = i + size;
                }
                i += size;
            }
        }
    }
    out.extend_from_slice(&s[start..]);
    out.push(b'"');
}

/// The non-ASCII character at the start of `s`, if the bytes there are a
/// complete, valid UTF-8 sequence (Go's utf8.DecodeRune rules, which match
/// Rust's: no overlongs, no surrogates, nothing above U+10FFFF).
fn decode_utf8_char(s: &[u8]) -> Option<(char, usize)> {
    let width = match s[0] {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return None,
    };
    let seq = s.get(..width)?;
    let st = std::str::from_utf8(seq).ok()?;
    st.chars().next().map(|c| (c, width))
}

/// One json-file record, newline-terminated.
fn encode_json_record(out: &mut Vec<u8>, stream: Stream, content: &[u8], full: bool, time: (i64, u32)) {
    out.push(b'{');
    // `log` has omitempty in dockerd; an empty partial chunk is never written.
    if !content.is_empty() || full {
        out.extend_from_slice(b"\"log\":");
        if full {
            let mut line = Vec::with_capacity(content.len() + 1);
            line.extend_from_slice(content);
            line.push(b'\n');
            append_json_string(out, &line);
        } else {
            append_json_string(out, content);
        }
        out.push(b',');
    }
    out.extend_from_slice(b"\"stream\":\"");
    out.extend_from_slice(stream.name().as_bytes());
    out.extend_from_slice(b"\",\"time\":\"");
    out.extend_from_slice(format_time(time.0, time.1, false).as_bytes());
    out.extend_from_slice(b"\"}\n");
}

/// One k8s-file record: `TIME STREAM F|P CONTENT\n`.
fn encode_k8s_record(out: &mut Vec<u8>, stream: Stream, content: &[u8], full: bool, time: (i64, u32)) {
    out.extend_from_slice(format_time(time.0, time.1, true).as_bytes());
    out.push(b' ');
    out.extend_from_slice(stream.name().as_bytes());
    out.extend_from_slice(if full { b" F " } else { b" P " });
    out.extend_from_slice(content);
    out.push(b'\n');
}

// ---------------------------------------------------------------------------
// Writer.

/// Writes one container's log file. Not thread-safe by itself: the monitor
/// owns it and feeds both streams from one thread (or behind a mutex).
pub struct LogWriter {
    path: PathBuf,
    driver: Driver,
    opts: LogOptions,
    file: Option<File>,
    /// Size of the current file, including what is in `out`.
    size: u64,
    /// Encoded records not yet written.
    out: Vec<u8>,
    /// Per stream: bytes of a line whose newline has not arrived yet.
    partial: [Vec<u8>; 2],
}

impl LogWriter {
    /// Open (append to, or create) the log file at `path`. For driver `none`
    /// nothing is created and everything written is discarded.
    pub fn open(path: &Path, driver: Driver, opts: LogOptions) -> Result<LogWriter, LogError> {
        let (file, size) = if driver == Driver::None {
            (None, 0)
        } else {
            let f = open_append(path, false)?;
            let size = f.metadata().map_err(|e| LogError::io(format!("stat {}", path.display()), e))?.len();
            (Some(f), size)
        };
        Ok(LogWriter {
            path: path.to_path_buf(),
            driver,
            opts,
            file,
            size,
            out: Vec::new(),
            partial: [Vec::new(), Vec::new()],
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn driver(&self) -> &Driver {
        &self.driver
    }

    /// Feed raw bytes read from the container's `stream` pipe. Complete lines
    /// are written at once, each with the current time; the tail without a
    /// newline is kept until its newline arrives, or written as a partial
    /// record once 16 KiB of it has accumulated (Docker's copier split), or by
    /// [`flush_partial`](Self::flush_partial).
    pub fn write(&mut self, stream: Stream, data: &[u8]) -> Result<(), LogError> {
        if self.file.is_none() {
            return Ok(());
        }
        let idx = stream.index();
        let mut rest = data;
        while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
            let (line, tail) = (&rest[..nl], &rest[nl + 1..]);
            rest = tail;
            if self.partial[idx].is_empty() {
                self.emit_line(stream, line)?;
            } else {
                let mut buf = std::mem::take(&mut self.partial[idx]);
                buf.extend_from_slice(line);
                let r = self.emit_line(stream, &buf);
                buf.clear();
                self.partial[idx] = buf;
                r?;
            }
        }
        if !rest.is_empty() {
            let mut buf = std::mem::take(&mut self.partial[idx]);
            buf.extend_from_slice(rest);
            let mut consumed = 0;
            let mut result = Ok(());
            while buf.len() - consumed >= MAX_LINE_CHUNK {
                result = self.push_record(stream, &buf[consumed..consumed + MAX_LINE_CHUNK], false);
                consumed += MAX_LINE_CHUNK;
                if result.is_err() {
                    break;
                }
            }
            buf.drain(..consumed);
            self.partial[idx] = buf;
            result?;
        }
        self.flush_out()
    }

    /// Write out whatever is buffered of unfinished lines, as partial records
    /// (json-file: no newline in "log"; k8s-file: tag P). Call it when the
    /// container exits. Also done, best effort, on drop.
    pub fn flush_partial(&mut self) -> Result<(), LogError> {
        if self.file.is_none() {
            return Ok(());
        }
        for idx in 0..2 {
            if !self.partial[idx].is_empty() {
                let buf = std::mem::take(&mut self.partial[idx]);
                self.push_record(Stream::from_index(idx), &buf, false)?;
            }
        }
        self.flush_out()
    }

    /// A complete line (without its newline): split into 16 KiB partial
    /// chunks if it is longer, the last chunk carrying the newline.
    fn emit_line(&mut self, stream: Stream, line: &[u8]) -> Result<(), LogError> {
        let mut line = line;
        while line.len() >= MAX_LINE_CHUNK {
            self.push_record(stream, &line[..MAX_LINE_CHUNK], false)?;
            line = &line[MAX_LINE_CHUNK..];
        }
        self.push_record(stream, line, true)
    }

    fn push_record(&mut self, stream: Stream, content: &[u8], full: bool) -> Result<(), LogError> {
        let mut rec = Vec::with_capacity(content.len() + 96);
        let t = now();
        match self.driver {
            Driver::JsonFile => encode_json_record(&mut rec, stream, content, full, t),
            Driver::K8sFile => encode_k8s_record(&mut rec, stream, content, full, t),
            Driver::None => return Ok(()),
        }
        if let Some(max) = self.opts.max_size {
            if self.size > 0 && self.size + rec.len() as u64 > max {
                self.flush_out()?;
                self.rotate()?;
            }
        }
        self.size += rec.len() as u64;
        self.out.extend_from_slice(&rec);
        if self.out.len() >= 64 * 1024 {
            self.flush_out()?;
        }
        Ok(())
    }

    fn flush_out(&mut self) -> Result<(), LogError> {
        if self.out.is_empty() {
            return Ok(());
        }
        let file = match self.file.as_mut() {
            Some(f) => f,
            None => {
                self.out.clear();
                return Ok(());
            }
        };
        let r = file.write_all(&self.out);
        self.out.clear();
        r.map_err(|e| LogError::io(format!("writing {}", self.path.display()), e))
    }

    fn rotate(&mut self) -> Result<(), LogError> {
        let max_file = self.opts.max_file.max(1);
        let path = self.path.clone();
        let ignore_missing = |r: io::Result<()>, what: String| match r {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(LogError::io(what, e)),
            _ => Ok(()),
        };
        self.file = None;
        if max_file >= 2 {
            let oldest = numbered(&path, max_file - 1);
            ignore_missing(std::fs::remove_file(&oldest), format!("removing {}", oldest.display()))?;
            for i in (2..max_file).rev() {
                let (from, to) = (numbered(&path, i - 1), numbered(&path, i));
                ignore_missing(std::fs::rename(&from, &to), format!("renaming {}", from.display()))?;
            }
            let first = numbered(&path, 1);
            ignore_missing(std::fs::rename(&path, &first), format!("renaming {}", path.display()))?;
        } else {
            ignore_missing(std::fs::remove_file(&path), format!("removing {}", path.display()))?;
        }
        self.file = Some(open_append(&path, true)?);
        self.size = 0;
        Ok(())
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        let _ = self.flush_partial();
        let _ = self.flush_out();
    }
}

fn open_append(path: &Path, truncate: bool) -> Result<File, LogError> {
    let mut o = OpenOptions::new();
    o.create(true).append(true).mode(LOG_FILE_MODE);
    let f = o.open(path).map_err(|e| LogError::io(format!("opening log file {}", path.display()), e))?;
    if truncate {
        // In case the rename or unlink before did not work out.
        f.set_len(0).map_err(|e| LogError::io(format!("truncating log file {}", path.display()), e))?;
    }
    Ok(f)
}

/// `ctr.log` → `ctr.log.N`.
fn numbered(path: &Path, n: u32) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

// ---------------------------------------------------------------------------
// Reading.

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// Only entries at or after this instant (`--since`).
    pub since: Option<(i64, u32)>,
    /// Only entries at or before this instant (`--until`).
    pub until: Option<(i64, u32)>,
    /// `--tail N`: None = all. As in dockerd, the last N entries are taken
    /// first and since/until then filter those.
    pub tail: Option<usize>,
    /// `-t`; not used by `read` itself, for the caller's `render`.
    pub timestamps: bool,
    /// `-f`.
    pub follow: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    pub stream: Stream,
    pub time: (i64, u32),
    /// The bytes the container wrote, including the trailing '\n' when the
    /// line had one (a partial chunk or a last line without newline has none).
    pub line: Vec<u8>,
}

/// What `docker logs` prints for one entry: the line, prefixed with the time
/// in RFC 3339 with nine fractional digits and a space when `timestamps`
/// (dockerd's `RFC3339NanoFixed`). Write stdout entries to stdout and stderr
/// entries to stderr.
pub fn render(entry: &LogEntry, timestamps: bool) -> Vec<u8> {
    if !timestamps {
        return entry.line.clone();
    }
    let ts = format_time(entry.time.0, entry.time.1, true);
    let mut out = Vec::with_capacity(ts.len() + 1 + entry.line.len());
    out.extend_from_slice(ts.as_bytes());
    out.push(b' ');
    out.extend_from_slice(&entry.line);
    out
}

/// One record as found in the file.
struct Record {
    stream: Stream,
    time: (i64, u32),
    content: Vec<u8>,
    /// k8s-file `P`: to be joined with the next record of the stream.
    partial: bool,
}

#[derive(serde::Deserialize)]
struct JsonRecord {
    #[serde(default)]
    log: String,
    #[serde(default)]
    stream: String,
    time: String,
}

fn parse_json_record(line: &[u8]) -> Option<Record> {
    let try_parse = |l: &[u8]| -> Option<Record> {
        let r: JsonRecord = serde_json::from_slice(l).ok()?;
        Some(Record {
            stream: Stream::parse(r.stream.as_bytes())?,
            time: parse_time(&r.time)?,
            content: r.log.into_bytes(),
            partial: false,
        })
    };
    if let Some(r) = try_parse(line) {
        return Some(r);
    }
    // A writer that died mid-record leaves a fragment without newline, and the
    // next record is appended to it on the same line: recover that record.
    let mut from = 1;
    while let Some(off) = line.get(from..)?.windows(2).position(|w| w == b"{\"") {
        let at = from + off;
        if let Some(r) = try_parse(&line[at..]) {
            return Some(r);
        }
        from = at + 1;
    }
    None
}

fn parse_k8s_record(line: &[u8]) -> Option<Record> {
    let mut parts = line.splitn(4, |&b| b == b' ');
    let ts = std::str::from_utf8(parts.next()?).ok()?;
    let stream = Stream::parse(parts.next()?)?;
    let tag = parts.next()?;
    let msg = parts.next().unwrap_or(b"");
    let time = parse_time(ts)?;
    // conmon's tags: "F" full, "P" partial (possibly with more flags after a
    // colon in future CRI versions); anything else is treated as full.
    let partial = tag.split(|&b| b == b':').next() == Some(b"P");
    let mut content = msg.to_vec();
    if !partial {
        content.push(b'\n');
    }
    Some(Record { stream, time, content, partial })
}

enum Flow {
    Continue,
    Stop,
}

/// Turns records into filtered entries and hands them to `emit`.
struct Pipeline<'a> {
    driver: Driver,
    since: Option<(i64, u32)>,
    until: Option<(i64, u32)>,
    /// While reading history with `tail`: the last entries seen (and the cap).
    ring: Option<(VecDeque<LogEntry>, usize)>,
    /// k8s-file: pending `P` chunks per stream.
    pending: [Option<LogEntry>; 2],
    emit: &'a mut dyn FnMut(&LogEntry) -> io::Result<()>,
}

impl Pipeline<'_> {
    fn on_line(&mut self, line: &[u8]) -> Result<Flow, LogError> {
        let rec = match self.driver {
            Driver::JsonFile => parse_json_record(line),
            Driver::K8sFile => parse_k8s_record(line),
            Driver::None => None,
        };
        let Some(rec) = rec else {
            return Ok(Flow::Continue); // corrupt or truncated: skipped
        };
        let idx = rec.stream.index();
        if self.driver == Driver::K8sFile {
            if rec.partial {
                match &mut self.pending[idx] {
                    Some(p) => {
                        p.line.extend_from_slice(&rec.content);
                        p.time = rec.time;
                    }
                    None => {
                        self.pending[idx] = Some(LogEntry { stream: rec.stream, time: rec.time, line: rec.content })
                    }
                }
                return Ok(Flow::Continue);
            }
            if let Some(mut p) = self.pending[idx].take() {
                // podman keeps the time of the final chunk.
                p.line.extend_from_slice(&rec.content);
                p.time = rec.time;
                return self.deliver(p);
            }
        }
        self.deliver(LogEntry { stream: rec.stream, time: rec.time, line: rec.content })
    }

    fn deliver(&mut self, e: LogEntry) -> Result<Flow, LogError> {
        if let Some((ring, cap)) = &mut self.ring {
            if *cap > 0 {
                if ring.len() == *cap {
                    ring.pop_front();
                }
                ring.push_back(e);
            }
            return Ok(Flow::Continue);
        }
        self.filter_emit(&e)
    }

    fn filter_emit(&mut self, e: &LogEntry) -> Result<Flow, LogError> {
        if let Some(since) = self.since {
            if e.time < since {
                return Ok(Flow::Continue);
            }
        }
        if let Some(until) = self.until {
            if e.time > until {
                return Ok(Flow::Stop);
            }
        }
        (self.emit)(e).map_err(LogError::Emit)?;
        Ok(Flow::Continue)
    }

    /// End of the history part: emit what `tail` kept.
    fn end_history(&mut self) -> Result<Flow, LogError> {
        if let Some((ring, _)) = self.ring.take() {
            for e in ring {
                if let Flow::Stop = self.filter_emit(&e)? {
                    return Ok(Flow::Stop);
                }
            }
        }
        Ok(Flow::Continue)
    }

    /// End of everything: k8s-file chunks that never got their final part.
    fn flush_pending(&mut self) -> Result<Flow, LogError> {
        let mut pend: Vec<LogEntry> = self.pending.iter_mut().filter_map(Option::take).collect();
        pend.sort_by_key(|e| e.time);
        for e in pend {
            if let Flow::Stop = self.deliver(e)? {
                return Ok(Flow::Stop);
            }
        }
        Ok(Flow::Continue)
    }
}

/// An open log file being consumed line by line.
struct Source {
    path: PathBuf,
    file: File,
    id: (u64, u64),
    pos: u64,
    /// Bytes after the last newline read so far.
    rest: Vec<u8>,
}

impl Source {
    fn open(path: &Path) -> Result<Option<Source>, LogError> {
        match File::open(path) {
            Ok(file) => {
                let md = file.metadata().map_err(|e| LogError::io(format!("stat {}", path.display()), e))?;
                Ok(Some(Source { path: path.to_path_buf(), file, id: (md.dev(), md.ino()), pos: 0, rest: Vec::new() }))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(LogError::io(format!("opening {}", path.display()), e)),
        }
    }

    /// Read everything currently in the file, feeding complete lines to `p`.
    /// Returns whether any bytes were read, and whether to stop.
    fn pump(&mut self, p: &mut Pipeline<'_>, chunk: &mut [u8]) -> Result<(bool, Flow), LogError> {
        let mut got = false;
        loop {
            let n = match self.file.read(chunk) {
                Ok(0) => return Ok((got, Flow::Continue)),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(LogError::io(format!("reading {}", self.path.display()), e)),
            };
            got = true;
            self.pos += n as u64;
            let data = &chunk[..n];
            let mut start = 0;
            while let Some(off) = data[start..].iter().position(|&b| b == b'\n') {
                let end = start + off;
                let flow = if self.rest.is_empty() {
                    p.on_line(&data[start..end])?
                } else {
                    let mut line = std::mem::take(&mut self.rest);
                    line.extend_from_slice(&data[start..end]);
                    let f = p.on_line(&line)?;
                    line.clear();
                    self.rest = line;
                    f
                };
                start = end + 1;
                if let Flow::Stop = flow {
                    return Ok((true, Flow::Stop));
                }
            }
            self.rest.extend_from_slice(&data[start..]);
        }
    }

    fn seek_start(&mut self) -> Result<(), LogError> {
        self.file.seek(SeekFrom::Start(0)).map_err(|e| LogError::io(format!("seeking {}", self.path.display()), e))?;
        self.pos = 0;
        self.rest.clear();
        Ok(())
    }

    fn seek_end(&mut self) -> Result<(), LogError> {
        let end = self
            .file
            .seek(SeekFrom::End(0))
            .map_err(|e| LogError::io(format!("seeking {}", self.path.display()), e))?;
        self.pos = end;
        self.rest.clear();
        Ok(())
    }
}

/// The rotated files next to `path` (`ctr.log.1`, `ctr.log.2`, …), newest first.
fn rotated_files(path: &Path) -> Result<Vec<PathBuf>, LogError> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Ok(Vec::new());
    };
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    let prefix = {
        let mut p = name.as_encoded_bytes().to_vec();
        p.push(b'.');
        p
    };
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(LogError::io(format!("listing {}", dir.display()), e)),
    };
    let mut found: Vec<(u64, PathBuf)> = Vec::new();
    for ent in rd {
        let Ok(ent) = ent else { continue };
        let fname = ent.file_name();
        let b = fname.as_encoded_bytes();
        if let Some(num) = b.strip_prefix(prefix.as_slice()) {
            if !num.is_empty() && num.len() < 10 && num.iter().all(u8::is_ascii_digit) && num[0] != b'0' {
                let n: u64 = std::str::from_utf8(num).ok().and_then(|s| s.parse().ok()).unwrap_or(0);
                found.push((n, dir.join(&fname)));
            }
        }
    }
    found.sort_by_key(|(n, _)| *n);
    Ok(found.into_iter().map(|(_, p)| p).collect())
}

/// Read a container's log: the rotated files oldest first, then the current
/// one, giving each entry to `emit` after since/until/tail selection (dockerd's
/// semantics: `tail` takes the last N entries, then since/until filter them;
/// reading stops at the first entry after `until`). Corrupt or truncated
/// records are skipped. A missing log file is an empty log.
///
/// With `opts.follow`, after the history the current file is polled every
/// 50 ms for new records, coping with rotation (the path's inode changes: the
/// old file is drained, then the new one read from its start) and truncation
/// (the file shrinks: read again from its start), until `keep_following()`
/// returns false (or the wall clock passes `until`); what has been written by
/// then is drained before returning. `keep_following` is only called while
/// no new data is arriving.
pub fn read(
    path: &Path,
    driver: Driver,
    opts: &ReadOptions,
    emit: &mut dyn FnMut(&LogEntry) -> io::Result<()>,
    keep_following: &mut dyn FnMut() -> bool,
) -> Result<(), LogError> {
    read_opened(path, driver, opts, emit, keep_following, &mut || {})
}

/// [`read`], calling `opened` once the files are open.
pub fn read_opened(
    path: &Path,
    driver: Driver,
    opts: &ReadOptions,
    emit: &mut dyn FnMut(&LogEntry) -> io::Result<()>,
    keep_following: &mut dyn FnMut() -> bool,
    opened: &mut dyn FnMut(),
) -> Result<(), LogError> {
    if driver == Driver::None {
        return Err(LogError::ReadNotSupported);
    }
    let mut chunk = vec![0u8; 64 * 1024];
    let history = opts.tail != Some(0);
    let mut pipe = Pipeline {
        driver,
        since: opts.since,
        until: opts.until,
        ring: match opts.tail {
            Some(n) if n > 0 => Some((VecDeque::with_capacity(n.min(4096)), n)),
            _ => None,
        },
        pending: [None, None],
        emit,
    };

    let (mut current, older) = open_set(path, history, None)?;
    // The files are open: they stay readable if the container is removed now.
    opened();
    // In follow mode, with no log at all yet, files rotated before the first
    // poll notices them are all new.
    let started_empty = current.is_none() && older.is_empty() && rotated_files(path)?.is_empty();

    if history {
        for mut s in older.into_iter().rev() {
            if let (_, Flow::Stop) = s.pump(&mut pipe, &mut chunk)? {
                return Ok(());
            }
        }
        if let Some(cur) = current.as_mut() {
            if let (_, Flow::Stop) = cur.pump(&mut pipe, &mut chunk)? {
                return Ok(());
            }
        }
        if !opts.follow {
            // k8s-file chunks that never got their final part count as entries.
            if let Flow::Stop = pipe.flush_pending()? {
                return Ok(());
            }
        }
        if let Flow::Stop = pipe.end_history()? {
            return Ok(());
        }
    } else if let Some(cur) = current.as_mut() {
        cur.seek_end()?;
    }

    if !opts.follow {
        return Ok(());
    }

    let until_passed = |until: Option<(i64, u32)>| until.is_some_and(|u| now() > u);
    let mut last_check = Instant::now();
    loop {
        let mut got = false;
        if let Some(cur) = current.as_mut() {
            let (g, flow) = cur.pump(&mut pipe, &mut chunk)?;
            if let Flow::Stop = flow {
                return Ok(());
            }
            got = g;
        }
        if let Flow::Stop = check_rotation(path, &mut current, &mut pipe, &mut chunk, started_empty)? {
            return Ok(());
        }
        if got && last_check.elapsed() < Duration::from_secs(1) {
            continue;
        }
        last_check = Instant::now();
        if !keep_following() || until_passed(opts.until) {
            // Drain what was written before the producer went away.
            if let Some(cur) = current.as_mut() {
                if let (_, Flow::Stop) = cur.pump(&mut pipe, &mut chunk)? {
                    return Ok(());
                }
            }
            if let Flow::Stop = check_rotation(path, &mut current, &mut pipe, &mut chunk, started_empty)? {
                return Ok(());
            }
            pipe.flush_pending()?;
            return Ok(());
        }
        if !got {
            std::thread::sleep(FOLLOW_POLL);
        }
    }
}

/// The current log file (if any) and, if `with_rotated`, the rotated ones,
/// newest first, stopping before the one whose identity is `stop_at`, opened
/// as one consistent set: if a rotation moved files around while they were
/// being opened (some path no longer names the file opened through it), the
/// set is opened again.
fn open_set(
    path: &Path,
    with_rotated: bool,
    stop_at: Option<(u64, u64)>,
) -> Result<(Option<Source>, Vec<Source>), LogError> {
    let still = |p: &Path, id: (u64, u64)| std::fs::metadata(p).is_ok_and(|m| (m.dev(), m.ino()) == id);
    let mut attempt = 0;
    loop {
        let current = Source::open(path)?;
        let mut rotated = Vec::new();
        let mut stopped_at = None;
        if with_rotated {
            for p in rotated_files(path)? {
                if let Some(s) = Source::open(&p)? {
                    if Some(s.id) == stop_at {
                        stopped_at = Some(s);
                        break;
                    }
                    rotated.push(s);
                }
            }
        }
        let consistent = match &current {
            Some(c) => still(path, c.id),
            None => std::fs::symlink_metadata(path).is_err(),
        } && rotated.iter().chain(stopped_at.iter()).all(|s| still(&s.path, s.id));
        attempt += 1;
        if consistent || attempt >= 100 {
            return Ok((current, rotated));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// In follow mode: if `path` now names another file (rotated, or created
/// after we started), finish the old one, read the files rotated since (when
/// several rotations happened between two polls), and switch to the new
/// one; if the file shrank (truncated in place), start over from its
/// beginning.
fn check_rotation(
    path: &Path,
    current: &mut Option<Source>,
    pipe: &mut Pipeline<'_>,
    chunk: &mut [u8],
    started_empty: bool,
) -> Result<Flow, LogError> {
    let md = match std::fs::metadata(path) {
        Ok(md) => md,
        // Missing: in the middle of a rotation, or not created yet.
        Err(_) => return Ok(Flow::Continue),
    };
    if let Some(cur) = current.as_mut() {
        if cur.id == (md.dev(), md.ino()) {
            if md.len() < cur.pos {
                cur.seek_start()?;
            }
            return Ok(Flow::Continue);
        }
        if let (_, Flow::Stop) = cur.pump(pipe, chunk)? {
            return Ok(Flow::Stop);
        }
    }
    // The old file is still open here, so its inode number cannot have been
    // reused: the rotated files before it (newest first) are the new ones. If
    // it is gone (deleted past max-file), every rotated file is newer.
    let (new, newer) = match current.as_ref() {
        Some(old) => open_set(path, true, Some(old.id))?,
        None => open_set(path, started_empty, None)?,
    };
    let mut last = None;
    for mut s in newer.into_iter().rev() {
        if let (_, Flow::Stop) = s.pump(pipe, chunk)? {
            return Ok(Flow::Stop);
        }
        last = Some(s);
    }
    match (new, last) {
        (Some(n), _) => *current = Some(n),
        // Caught between a rename and the new file's creation: keep the
        // newest file read (open, so its identity stays unique) as our
        // place, or files rotated before the next poll would be skipped.
        (None, Some(l)) => *current = Some(l),
        (None, None) => {}
    }
    if let Some(cur) = current.as_mut() {
        if let (_, Flow::Stop) = cur.pump(pipe, chunk)? {
            return Ok(Flow::Stop);
        }
    }
    Ok(Flow::Continue)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempDir;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    fn read_all(path: &Path, driver: Driver, opts: &ReadOptions) -> Vec<LogEntry> {
        let mut v = Vec::new();
        read(
            path,
            driver,
            opts,
            &mut |e| {
                v.push(e.clone());
                Ok(())
            },
            &mut || false,
        )
        .unwrap();
        v
    }

    fn lines(entries: &[LogEntry]) -> Vec<(Stream, String)> {
        entries.iter().map(|e| (e.stream, String::from_utf8_lossy(&e.line).into_owned())).collect()
    }

    fn json(s: &[u8]) -> String {
        let mut v = Vec::new();
        append_json_string(&mut v, s);
        String::from_utf8(v).unwrap()
    }

    use Stream::{Stderr, Stdout};

    #[test]
    fn driver_names() {
        assert_eq!(Driver::parse("json-file").unwrap(), Driver::JsonFile);
        assert_eq!(Driver::parse("").unwrap(), Driver::JsonFile);
        assert_eq!(Driver::parse("k8s-file").unwrap(), Driver::K8sFile);
        assert_eq!(Driver::parse("none").unwrap(), Driver::None);
        let e = Driver::parse("journald").unwrap_err().to_string();
        assert!(e.contains("'journald'") && e.contains("json-file, k8s-file, none"), "{e}");
        for d in [Driver::JsonFile, Driver::K8sFile, Driver::None] {
            assert_eq!(Driver::parse(d.name()).unwrap(), d);
        }
    }

    #[test]
    fn options() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(LogOptions::parse(&[]).unwrap(), LogOptions { max_size: None, max_file: 1 });
        let o = LogOptions::parse(&s(&["max-size=10m", "max-file=3"])).unwrap();
        assert_eq!(o, LogOptions { max_size: Some(10_000_000), max_file: 3 });
        assert_eq!(LogOptions::parse(&s(&["max-size=1k"])).unwrap().max_size, Some(1000));
        assert_eq!(LogOptions::parse(&s(&["max-size=1.5KB"])).unwrap().max_size, Some(1500));
        assert_eq!(LogOptions::parse(&s(&["max-size=2 MiB"])).unwrap().max_size, Some(2_000_000));
        assert_eq!(LogOptions::parse(&s(&["max-size=123"])).unwrap().max_size, Some(123));
        assert_eq!(LogOptions::parse(&s(&["max-size=1g"])).unwrap().max_size, Some(1_000_000_000));
        // max-file alone is accepted (Docker: "only effective when max-size is also set").
        assert_eq!(LogOptions::parse(&s(&["max-file=5"])).unwrap().max_file, 5);
        assert_eq!(
            LogOptions::parse(&s(&["tag={{.Name}}", "labels=a,b", "env=X", "compress=false"])).unwrap().max_file,
            1
        );
        assert_eq!(LogOptions::parse(&s(&["max-size=1m", "max-file=2", "compress=true"])).unwrap().max_file, 2);

        let err = |v: &[&str]| LogOptions::parse(&s(v)).unwrap_err().to_string();
        assert_eq!(err(&["foo=bar"]), "unknown log opt 'foo' for json-file log driver");
        assert_eq!(err(&["foo"]), "unknown log opt 'foo' for json-file log driver");
        assert_eq!(err(&["max-size=abc"]), "invalid size: 'abc'");
        assert_eq!(err(&["max-size="]), "invalid size: ''");
        assert_eq!(err(&["max-size=10x"]), "invalid size: '10x'");
        assert_eq!(err(&["max-size=0"]), "max-size must be a positive number");
        assert_eq!(err(&["max-size=-1"]), "invalid size: '-1'");
        assert_eq!(err(&["max-file=0"]), "max-file cannot be less than 1");
        assert_eq!(err(&["max-file=x"]), "strconv.Atoi: parsing \"x\": invalid syntax");
        assert_eq!(err(&["compress=yes"]), "strconv.ParseBool: parsing \"yes\": invalid syntax");
        assert!(err(&["compress=true"]).starts_with("compress cannot be true"));

        let k8s = LogOptions::parse_for(&Driver::K8sFile, &s(&["max-size=2k"])).unwrap();
        assert_eq!(k8s.max_size, Some(2000));
        assert_eq!(
            LogOptions::parse_for(&Driver::K8sFile, &s(&["labels=x"])).unwrap_err().to_string(),
            "unknown log opt 'labels' for k8s-file log driver"
        );
        assert_eq!(
            LogOptions::parse_for(&Driver::None, &s(&["max-size=1k"])).unwrap_err().to_string(),
            "invalid logging opts for driver none"
        );
        assert!(LogOptions::parse_for(&Driver::None, &[]).is_ok());
    }

    #[test]
    fn time_format_and_parse() {
        assert_eq!(format_time(0, 0, false), "1970-01-01T00:00:00Z");
        assert_eq!(format_time(0, 0, true), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(format_time(1_684_527_572, 123_456_789, false), "2023-05-19T20:19:32.123456789Z");
        assert_eq!(format_time(1_684_527_572, 120_000_000, false), "2023-05-19T20:19:32.12Z");
        assert_eq!(format_time(1_684_527_572, 120_000_000, true), "2023-05-19T20:19:32.120000000Z");
        assert_eq!(format_time(951_782_400, 5, false), "2000-02-29T00:00:00.000000005Z");
        assert_eq!(format_time(-1, 0, false), "1969-12-31T23:59:59Z");
        assert_eq!(parse_time("2023-05-19T20:19:32.123456789Z"), Some((1_684_527_572, 123_456_789)));
        assert_eq!(parse_time("2023-05-19T20:19:32Z"), Some((1_684_527_572, 0)));
        assert_eq!(parse_time("2023-05-19T22:19:32.5+02:00"), Some((1_684_527_572, 500_000_000)));
        assert_eq!(parse_time("2023-05-19T15:19:32.000000001-05:00"), Some((1_684_527_572, 1)));
        assert_eq!(parse_time("2023-05-19T20:19:32.1234567891Z"), Some((1_684_527_572, 123_456_789)));
        assert_eq!(parse_time("2023-05-19 20:19:32Z"), None);
        assert_eq!(parse_time("2023-05-19T20:19:32"), None);
        assert_eq!(parse_time("2023-05-19T20:19:32.Z"), None);
        assert_eq!(parse_time("garbage"), None);
        for (s, n) in [(0i64, 0u32), (1_700_000_000, 999_999_999), (-86_401, 3), (253_402_300_799, 1)] {
            assert_eq!(parse_time(&format_time(s, n, false)), Some((s, n)));
            assert_eq!(parse_time(&format_time(s, n, true)), Some((s, n)));
        }
    }

    #[test]
    fn json_escaping_matches_dockerd() {
        // Expected strings are what dockerd's jsonlog encoder (Go) produces.
        assert_eq!(json(b"hello\n"), r#""hello\n""#);
        assert_eq!(json(b"say \"hi\" \\ back\r\n"), r#""say \"hi\" \\ back\r\n""#);
        assert_eq!(json(b"a\tb"), r#""a\u0009b""#);
        assert_eq!(json(b"\x00\x01\x08\x0c\x1b\x1f\x7f"), "\"\\u0000\\u0001\\u0008\\u000c\\u001b\\u001f\x7f\"");
        assert_eq!(json(b"<a href=\"x\">&</a>"), r#""\u003ca href=\"x\"\u003e\u0026\u003c/a\u003e""#);
        assert_eq!(json("héllo wörld ✓ 😀".as_bytes()), "\"héllo wörld ✓ 😀\"");
        assert_eq!(json("a\u{2028}b\u{2029}c".as_bytes()), r#""a\u2028b\u2029c""#);
        // Invalid UTF-8: one \ufffd per byte that does not start a valid sequence (Go's DecodeRune).
        assert_eq!(json(b"a\xffb"), r#""a\ufffdb""#);
        assert_eq!(json(b"\xe2\x82x"), r#""\ufffd\ufffdx""#);
        assert_eq!(json(b"\xed\xa0\x80"), r#""\ufffd\ufffd\ufffd""#); // surrogate
        assert_eq!(json(b"\xc0\xaf"), r#""\ufffd\ufffd""#); // overlong
        assert_eq!(json(b"end\xf0\x9f\x98"), r#""end\ufffd\ufffd\ufffd""#); // truncated
        assert_eq!(json("\u{fffd}".as_bytes()), "\"\u{fffd}\""); // a real U+FFFD stays raw
        assert_eq!(json(b""), r#""""#);

        // And the whole record, byte for byte.
        let mut rec = Vec::new();
        encode_json_record(&mut rec, Stdout, b"hello", true, (1_684_527_572, 123_456_780));
        assert_eq!(
            String::from_utf8(rec).unwrap(),
            "{\"log\":\"hello\\n\",\"stream\":\"stdout\",\"time\":\"2023-05-19T20:19:32.12345678Z\"}\n"
        );
        let mut rec = Vec::new();
        encode_json_record(&mut rec, Stderr, b"part", false, (1_684_527_572, 0));
        assert_eq!(
            String::from_utf8(rec).unwrap(),
            "{\"log\":\"part\",\"stream\":\"stderr\",\"time\":\"2023-05-19T20:19:32Z\"}\n"
        );
        let mut rec = Vec::new();
        encode_k8s_record(&mut rec, Stdout, b"hello", true, (1_684_527_572, 120_000_000));
        assert_eq!(String::from_utf8(rec).unwrap(), "2023-05-19T20:19:32.120000000Z stdout F hello\n");
    }

    #[test]
    fn json_escapes_round_trip_through_reader() {
        let d = TempDir::new("esc");
        let p = d.join("ctr.log");
        let payload: &[u8] = b"q\"b\\s\tc\x01<>&\xff\xe2\x82 \xe2\x9c\x93 \xe2\x80\xa8";
        {
            let mut w = LogWriter::open(&p, Driver::JsonFile, LogOptions::default()).unwrap();
            let mut data = payload.to_vec();
            data.push(b'\n');
            w.write(Stdout, &data).unwrap();
        }
        let raw = std::fs::read_to_string(&p).unwrap();
        assert!(
            raw.starts_with(
                r#"{"log":"q\"b\\s\u0009c\u0001\u003c\u003e\u0026\ufffd\ufffd\ufffd ✓ \u2028\n","stream":"stdout","time":""#
            ),
            "{raw}"
        );
        let got = read_all(&p, Driver::JsonFile, &ReadOptions::default());
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].line, "q\"b\\s\tc\u{1}<>&\u{fffd}\u{fffd}\u{fffd} ✓ \u{2028}\n".as_bytes());
    }

    fn write_mixed(p: &Path, driver: Driver) {
        let mut w = LogWriter::open(p, driver, LogOptions::default()).unwrap();
        w.write(Stdout, b"one\ntw").unwrap();
        w.write(Stderr, b"err1\n").unwrap();
        w.write(Stdout, b"o\nthree\n").unwrap();
        w.write(Stderr, b"err").unwrap();
        w.write(Stderr, b"2\nerr3 no newline").unwrap();
        w.write(Stdout, b"last without newline").unwrap();
        w.flush_partial().unwrap();
    }

    /// What `write_mixed` wrote, as read back.
    fn mixed_lines() -> Vec<(Stream, String)> {
        vec![
            (Stdout, "one\n".into()),
            (Stderr, "err1\n".into()),
            (Stdout, "two\n".into()),
            (Stdout, "three\n".into()),
            (Stderr, "err2\n".into()),
            (Stdout, "last without newline".into()),
            (Stderr, "err3 no newline".into()),
        ]
    }

    #[test]
    fn json_round_trip_with_partials() {
        let d = TempDir::new("json");
        let p = d.join("ctr.log");
        write_mixed(&p, Driver::JsonFile);
        let got = read_all(&p, Driver::JsonFile, &ReadOptions::default());
        assert_eq!(lines(&got), mixed_lines());
        let raw = std::fs::read_to_string(&p).unwrap();
        assert_eq!(raw.lines().count(), 7);
        assert!(raw.lines().nth(5).unwrap().starts_with(r#"{"log":"last without newline","stream":"stdout","time":"#));
        for w in got.windows(2) {
            assert!(w[0].time <= w[1].time);
        }
        // Rendering.
        assert_eq!(render(&got[0], false), b"one\n");
        let r = String::from_utf8(render(&got[0], true)).unwrap();
        assert_eq!(r.len(), "2023-05-19T20:19:32.123456789Z one\n".len(), "{r}");
        assert!(r.ends_with("Z one\n"));
        assert_eq!(parse_time(r.split(' ').next().unwrap()), Some(got[0].time));
    }

    #[test]
    fn k8s_round_trip_with_partials() {
        let d = TempDir::new("k8s");
        let p = d.join("ctr.log");
        write_mixed(&p, Driver::K8sFile);
        let raw = std::fs::read_to_string(&p).unwrap();
        let tags: Vec<&str> = raw.lines().map(|l| l.split(' ').nth(2).unwrap()).collect();
        assert_eq!(tags, ["F", "F", "F", "F", "F", "P", "P"]);
        let first = raw.lines().next().unwrap();
        assert!(first.ends_with(" stdout F one"), "{first}");
        assert_eq!(first.split(' ').next().unwrap().len(), "2023-05-19T20:19:32.123456789Z".len());
        let got = read_all(&p, Driver::K8sFile, &ReadOptions::default());
        assert_eq!(lines(&got), mixed_lines());
    }

    #[test]
    fn long_lines_are_split_at_16k() {
        for driver in [Driver::JsonFile, Driver::K8sFile] {
            let d = TempDir::new("long");
            let p = d.join("ctr.log");
            let long: Vec<u8> = (0..40_000).map(|i| b'a' + (i % 26) as u8).collect();
            {
                let mut w = LogWriter::open(&p, driver.clone(), LogOptions::default()).unwrap();
                // Fed in small pieces: buffered until 16 KiB, then written as partials.
                for c in long.chunks(1000) {
                    w.write(Stdout, c).unwrap();
                }
                w.write(Stdout, b"\nshort\n").unwrap();
                let exact = vec![b'x'; MAX_LINE_CHUNK];
                w.write(Stderr, &exact).unwrap();
                w.write(Stderr, b"\n").unwrap();
            }
            let raw = std::fs::read(&p).unwrap();
            let records = raw.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count();
            // 40000 = 16384 + 16384 + 7232; then "short"; then 16384 partial + "" full.
            assert_eq!(records, 3 + 1 + 2, "{driver:?}");
            let got = read_all(&p, driver.clone(), &ReadOptions::default());
            let mut out: Vec<u8> = Vec::new();
            let mut err: Vec<u8> = Vec::new();
            for e in &got {
                match e.stream {
                    Stdout => out.extend_from_slice(&e.line),
                    Stderr => err.extend_from_slice(&e.line),
                }
            }
            let mut want = long.clone();
            want.extend_from_slice(b"\nshort\n");
            assert_eq!(out, want, "{driver:?}");
            let mut want_err = vec![b'x'; MAX_LINE_CHUNK];
            want_err.push(b'\n');
            assert_eq!(err, want_err);
            match driver {
                // json-file: one entry per record, as `docker logs` gives them.
                Driver::JsonFile => assert_eq!(got.len(), 6),
                // k8s-file: partials joined, as podman does.
                _ => assert_eq!(got.len(), 3),
            }
        }
    }

    #[test]
    fn rotation_keeps_max_files_and_reads_in_order() {
        for driver in [Driver::JsonFile, Driver::K8sFile] {
            let d = TempDir::new("rot");
            let p = d.join("ctr.log");
            let opts = LogOptions::parse_for(&driver, &["max-size=1k".into(), "max-file=3".into()]).unwrap();
            let n = 200;
            {
                let mut w = LogWriter::open(&p, driver.clone(), opts).unwrap();
                for i in 0..n {
                    let s = if i % 2 == 0 { Stdout } else { Stderr };
                    w.write(s, format!("line {i:04}\n").as_bytes()).unwrap();
                }
            }
            let mut names: Vec<String> =
                std::fs::read_dir(&d.0).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
            names.sort();
            assert_eq!(names, ["ctr.log", "ctr.log.1", "ctr.log.2"], "{driver:?}");
            for name in &names {
                let len = std::fs::metadata(d.join(name)).unwrap().len();
                assert!(len <= 1000 && len > 0, "{name} is {len} bytes");
            }
            let got = read_all(&p, driver.clone(), &ReadOptions::default());
            assert!(got.len() > 10 && got.len() < n, "{}", got.len());
            // The retained lines are the last ones, contiguous and in order.
            let first = n - got.len();
            for (k, e) in got.iter().enumerate() {
                let i = first + k;
                assert_eq!(e.line, format!("line {i:04}\n").as_bytes());
                assert_eq!(e.stream, if i.is_multiple_of(2) { Stdout } else { Stderr });
            }
            // tail across files
            let t = read_all(&p, driver.clone(), &ReadOptions { tail: Some(2), ..Default::default() });
            assert_eq!(lines(&t), vec![(Stdout, "line 0198\n".into()), (Stderr, "line 0199\n".into())]);
        }
    }

    #[test]
    fn rotation_with_one_file_starts_over() {
        let d = TempDir::new("rot1");
        let p = d.join("ctr.log");
        let opts = LogOptions::parse(&["max-size=300".into()]).unwrap();
        {
            let mut w = LogWriter::open(&p, Driver::JsonFile, opts).unwrap();
            for i in 0..20 {
                w.write(Stdout, format!("l{i}\n").as_bytes()).unwrap();
            }
        }
        let names: Vec<_> = std::fs::read_dir(&d.0).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["ctr.log"]);
        let got = read_all(&p, Driver::JsonFile, &ReadOptions::default());
        assert!(!got.is_empty() && got.len() < 20);
        assert_eq!(got.last().unwrap().line, b"l19\n");
    }

    #[test]
    fn reopen_appends() {
        let d = TempDir::new("append");
        let p = d.join("ctr.log");
        LogWriter::open(&p, Driver::JsonFile, LogOptions::default()).unwrap().write(Stdout, b"a\n").unwrap();
        LogWriter::open(&p, Driver::JsonFile, LogOptions::default()).unwrap().write(Stdout, b"b\n").unwrap();
        assert_eq!(lines(&read_all(&p, Driver::JsonFile, &ReadOptions::default())).len(), 2);
    }

    fn write_fixture(p: &Path) {
        // Hand-written records with known times (1000.0, 1001.0, ... 1009.5).
        let mut f = File::create(p).unwrap();
        for i in 0..10u32 {
            let mut rec = Vec::new();
            let s = if i % 3 == 0 { Stderr } else { Stdout };
            encode_json_record(&mut rec, s, format!("m{i}").as_bytes(), true, (1000 + i as i64, 500_000_000 * (i % 2)));
            f.write_all(&rec).unwrap();
        }
    }

    fn msgs(v: &[LogEntry]) -> Vec<String> {
        v.iter().map(|e| String::from_utf8_lossy(&e.line).trim_end().to_string()).collect()
    }

    #[test]
    fn tail_since_until() {
        let d = TempDir::new("filter");
        let p = d.join("ctr.log");
        write_fixture(&p);
        let r = |o: ReadOptions| msgs(&read_all(&p, Driver::JsonFile, &o));
        assert_eq!(r(ReadOptions::default()).len(), 10);
        assert_eq!(r(ReadOptions { tail: Some(2), ..Default::default() }), ["m8", "m9"]);
        assert_eq!(r(ReadOptions { tail: Some(0), ..Default::default() }), Vec::<String>::new());
        assert_eq!(r(ReadOptions { tail: Some(100), ..Default::default() }).len(), 10);
        // since is inclusive.
        assert_eq!(r(ReadOptions { since: Some((1007, 500_000_000)), ..Default::default() }), ["m7", "m8", "m9"]);
        assert_eq!(r(ReadOptions { since: Some((1007, 500_000_001)), ..Default::default() }), ["m8", "m9"]);
        // until is inclusive.
        assert_eq!(r(ReadOptions { until: Some((1002, 0)), ..Default::default() }), ["m0", "m1", "m2"]);
        assert_eq!(
            r(ReadOptions { since: Some((1003, 0)), until: Some((1005, 0)), ..Default::default() }),
            ["m3", "m4"]
        );
        // dockerd: tail picks the last N, then since/until filter them.
        assert_eq!(r(ReadOptions { tail: Some(3), since: Some((1008, 0)), ..Default::default() }), ["m8", "m9"]);
        assert_eq!(
            r(ReadOptions { tail: Some(3), until: Some((1005, 0)), ..Default::default() }),
            Vec::<String>::new()
        );
        let all = read_all(&p, Driver::JsonFile, &ReadOptions::default());
        assert_eq!(all[0].stream, Stderr);
        assert_eq!(all[1].stream, Stdout);
        assert_eq!(all[1].time, (1001, 500_000_000));
    }

    #[test]
    fn corrupt_lines_are_skipped() {
        let d = TempDir::new("corrupt");
        let p = d.join("ctr.log");
        let mut data = Vec::new();
        encode_json_record(&mut data, Stdout, b"good1", true, (10, 0));
        data.extend_from_slice(b"not json at all\n");
        data.extend_from_slice(b"{\"log\":\"trunc"); // crash mid-record, then the next record
        encode_json_record(&mut data, Stdout, b"good2", true, (11, 0));
        data.extend_from_slice(b"{\"log\":\"x\\n\",\"stream\":\"weird\",\"time\":\"1970-01-01T00:00:12Z\"}\n");
        data.extend_from_slice(b"{\"log\":\"x\\n\",\"stream\":\"stdout\",\"time\":\"yesterday\"}\n");
        data.extend_from_slice(b"\n");
        encode_json_record(&mut data, Stderr, b"good3", true, (13, 0));
        data.extend_from_slice(b"{\"log\":\"half a rec"); // truncated at the end
        std::fs::write(&p, &data).unwrap();
        assert_eq!(msgs(&read_all(&p, Driver::JsonFile, &ReadOptions::default())), ["good1", "good2", "good3"]);

        let k = d.join("k8s.log");
        std::fs::write(
            &k,
            b"1970-01-01T00:00:10.000000000Z stdout F a\nbad line\n1970-01-01T00:00:11Z stderr F \n\
              1970-01-01T00:00:12+01:00 stdout F with  spaces \nxx stdout F no\n1970-01-01T00:00:13Z stdout F trunc",
        )
        .unwrap();
        let got = read_all(&k, Driver::K8sFile, &ReadOptions::default());
        assert_eq!(
            lines(&got),
            vec![(Stdout, "a\n".into()), (Stderr, "\n".into()), (Stdout, "with  spaces \n".into())]
        );
        assert_eq!(got[2].time, (12 - 3600, 0));
    }

    #[test]
    fn missing_file_and_none_driver() {
        let d = TempDir::new("missing");
        assert!(read_all(&d.join("nope.log"), Driver::JsonFile, &ReadOptions::default()).is_empty());
        let e = read(&d.join("x"), Driver::None, &ReadOptions::default(), &mut |_| Ok(()), &mut || false).unwrap_err();
        assert_eq!(e.to_string(), "configured logging driver does not support reading");
        let mut w = LogWriter::open(&d.join("none.log"), Driver::None, LogOptions::default()).unwrap();
        w.write(Stdout, b"dropped\n").unwrap();
        w.flush_partial().unwrap();
        assert!(!d.join("none.log").exists());
    }

    #[test]
    fn emit_error_stops_reading() {
        let d = TempDir::new("emit");
        let p = d.join("ctr.log");
        write_fixture(&p);
        let mut n = 0;
        let e = read(
            &p,
            Driver::JsonFile,
            &ReadOptions::default(),
            &mut |_| {
                n += 1;
                if n == 3 {
                    Err(io::Error::from(io::ErrorKind::BrokenPipe))
                } else {
                    Ok(())
                }
            },
            &mut || false,
        )
        .unwrap_err();
        assert!(matches!(e, LogError::Emit(ref io) if io.kind() == io::ErrorKind::BrokenPipe));
        assert_eq!(n, 3);
    }

    /// Follow: another thread writes (with rotation), the reader picks the
    /// lines up, and stops once keep_following says so, after draining.
    #[test]
    fn follow_picks_up_appends_and_rotation() {
        for driver in [Driver::JsonFile, Driver::K8sFile] {
            let d = TempDir::new("follow");
            let p = d.join("ctr.log");
            let opts = LogOptions::parse_for(&driver, &["max-size=2k".into(), "max-file=2".into()]).unwrap();
            let mut w = LogWriter::open(&p, driver.clone(), opts).unwrap();
            w.write(Stdout, b"before 0\nbefore 1\n").unwrap();

            let running = Arc::new(AtomicBool::new(true));
            let total = 150;
            let writer = {
                let running = running.clone();
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(120));
                    for i in 0..total {
                        let s = if i % 5 == 0 { Stderr } else { Stdout };
                        // A line written in two pieces.
                        w.write(s, format!("follow {i:03}").as_bytes()).unwrap();
                        w.write(s, b"\n").unwrap();
                        if i % 10 == 0 {
                            std::thread::sleep(Duration::from_millis(15));
                        }
                    }
                    w.write(Stdout, b"the end, no newline").unwrap();
                    w.flush_partial().unwrap();
                    running.store(false, Ordering::SeqCst);
                })
            };
            let mut got = Vec::new();
            let mut polls = 0;
            read(
                &p,
                driver.clone(),
                &ReadOptions { follow: true, tail: Some(1), ..Default::default() },
                &mut |e| {
                    got.push(e.clone());
                    Ok(())
                },
                &mut || {
                    polls += 1;
                    running.load(Ordering::SeqCst) && polls < 400
                },
            )
            .unwrap();
            writer.join().unwrap();
            assert!(polls > 1);
            let mut want = vec!["before 1\n".to_string()];
            want.extend((0..total).map(|i| format!("follow {i:03}\n")));
            want.push("the end, no newline".into());
            let got_s: Vec<String> = got.iter().map(|e| String::from_utf8_lossy(&e.line).into_owned()).collect();
            assert_eq!(got_s, want, "{driver:?}");
            assert_eq!(got[1].stream, Stderr);
            assert_eq!(got[2].stream, Stdout);
            assert!(p.with_extension("log.1").exists(), "rotation happened");
        }
    }

    /// Many rotations between two polls: the files rotated in between are
    /// read too, nothing is lost or repeated.
    #[test]
    fn follow_survives_fast_rotation() {
        let d = TempDir::new("follow-fast");
        let p = d.join("ctr.log");
        let opts = LogOptions::parse(&["max-size=1k".into(), "max-file=500".into()]).unwrap();
        let mut w = LogWriter::open(&p, Driver::JsonFile, opts).unwrap();
        let running = Arc::new(AtomicBool::new(true));
        let total = 3000;
        let writer = {
            let running = running.clone();
            std::thread::spawn(move || {
                for i in 0..total {
                    w.write(Stdout, format!("{i}\n").as_bytes()).unwrap();
                    if i % 500 == 0 {
                        std::thread::sleep(Duration::from_millis(60));
                    }
                }
                running.store(false, Ordering::SeqCst);
            })
        };
        let mut got = Vec::new();
        let t0 = Instant::now();
        read(
            &p,
            Driver::JsonFile,
            // All entries, not tail 0: the writer may be ahead of us already.
            &ReadOptions { follow: true, ..Default::default() },
            &mut |e| {
                got.push(String::from_utf8_lossy(&e.line).trim_end().parse::<usize>().unwrap());
                Ok(())
            },
            &mut || running.load(Ordering::SeqCst) && t0.elapsed() < Duration::from_secs(20),
        )
        .unwrap();
        writer.join().unwrap();
        let n = std::fs::read_dir(&d.0).unwrap().count();
        assert!(n > 20, "{n} files");
        let first_bad = got.iter().enumerate().find(|(k, v)| *k != **v).map(|(k, _)| k);
        if let Some(k) = first_bad {
            panic!(
                "{} entries, first mismatch at {k}: {:?}",
                got.len(),
                &got[k.saturating_sub(3)..(k + 5).min(got.len())]
            );
        }
        assert_eq!(got, (0..total).collect::<Vec<_>>());
    }

    #[test]
    fn follow_with_tail_zero_and_until() {
        let d = TempDir::new("follow0");
        let p = d.join("ctr.log");
        let mut w = LogWriter::open(&p, Driver::JsonFile, LogOptions::default()).unwrap();
        w.write(Stdout, b"old\n").unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let writer = std::thread::spawn(move || {
            rx.recv().unwrap(); // the reader is following
            w.write(Stderr, b"new\n").unwrap();
            w
        });
        let mut got = Vec::new();
        let mut sent = false;
        let mut calls = 0;
        read(
            &p,
            Driver::JsonFile,
            &ReadOptions { follow: true, tail: Some(0), ..Default::default() },
            &mut |e| {
                got.push(e.clone());
                Ok(())
            },
            &mut || {
                calls += 1;
                if !sent {
                    sent = true;
                    tx.send(()).unwrap();
                }
                calls < 20
            },
        )
        .unwrap();
        let _w = writer.join().unwrap();
        assert_eq!(lines(&got), vec![(Stderr, "new\n".into())]);

        // until in the past: follow ends by itself.
        let t0 = Instant::now();
        let mut n = 0;
        read(
            &p,
            Driver::JsonFile,
            &ReadOptions { follow: true, until: Some((1, 0)), ..Default::default() },
            &mut |_| {
                n += 1;
                Ok(())
            },
            &mut || true,
        )
        .unwrap();
        assert_eq!(n, 0);
        assert!(t0.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn follow_waits_for_file_creation_and_truncation() {
        let d = TempDir::new("follow-create");
        let p = d.join("ctr.log");
        let p2 = p.clone();
        let done = Arc::new(AtomicBool::new(false));
        let done2 = done.clone();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            let mut w = LogWriter::open(&p2, Driver::K8sFile, LogOptions::default()).unwrap();
            w.write(Stdout, b"first file line 1\nfirst file line 2\n").unwrap();
            std::thread::sleep(Duration::from_millis(200));
            drop(w);
            // Truncate in place (what an external `truncate -s0` would do).
            std::fs::OpenOptions::new().write(true).truncate(true).open(&p2).unwrap();
            std::thread::sleep(Duration::from_millis(200));
            let mut w = LogWriter::open(&p2, Driver::K8sFile, LogOptions::default()).unwrap();
            w.write(Stderr, b"after\n").unwrap();
            std::thread::sleep(Duration::from_millis(200));
            done2.store(true, Ordering::SeqCst);
        });
        let mut got = Vec::new();
        read(
            &p,
            Driver::K8sFile,
            &ReadOptions { follow: true, ..Default::default() },
            &mut |e| {
                got.push(e.clone());
                Ok(())
            },
            &mut || !done.load(Ordering::SeqCst),
        )
        .unwrap();
        writer.join().unwrap();
        assert_eq!(
            lines(&got),
            vec![
                (Stdout, "first file line 1\n".into()),
                (Stdout, "first file line 2\n".into()),
                (Stderr, "after\n".into())
            ]
        );
    }
}
