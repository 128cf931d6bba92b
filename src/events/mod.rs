//! The events journal: what a daemon would broadcast, written by every rcon
//! process to `RUN/events/events.log`, one JSON record per line in Docker's
//! `events.Message` shape (so `--format '{{json .}}'` prints what Docker does).
//!
//! Writers append each record with one write(2) on an O_APPEND descriptor
//! (atomic for regular files, so concurrent writers never interleave) while
//! holding `events.lock` shared; the writer that finds the file over the size
//! cap takes the lock exclusively and renames it to `events.log.1` (the
//! previous `.1` goes), so no writer is mid-record in a file being rotated.
//! Readers never lock: they read `.1` then the current file, skip (and name)
//! records they cannot parse, and notice a rotation by the inode changing.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use crate::format::units;
use crate::paths::Paths;

/// Rotate past this size; `RCON_EVENTS_MAX_BYTES` overrides it (tests).
pub const MAX_BYTES: u64 = 1 << 20;

fn dir(paths: &Paths) -> PathBuf {
    paths.runtime.join("events")
}

pub fn log_path(paths: &Paths) -> PathBuf {
    dir(paths).join("events.log")
}

fn max_bytes() -> u64 {
    std::env::var("RCON_EVENTS_MAX_BYTES").ok().and_then(|v| v.parse().ok()).unwrap_or(MAX_BYTES)
}

/// Record an event: `kind` is Docker's Type (container, image, volume,
/// network…), `action` its Action (start, die, tag…), `id` the object's id,
/// `attributes` its Actor.Attributes (name, image, exitCode…). Never fails the
/// caller: an event that cannot be written is lost, the operation is not.
pub fn emit(paths: &Paths, kind: &str, action: &str, id: &str, attributes: &[(&str, &str)]) {
    let _ = write(paths, &record(kind, action, id, attributes, units::now()));
}

/// A container's event, with Docker's attributes: image, name and labels.
pub fn container(paths: &Paths, cfg: &crate::container::ContainerConfig, action: &str, extra: &[(&str, &str)]) {
    let mut attrs: Vec<(&str, &str)> = vec![("image", &cfg.image_name), ("name", &cfg.name)];
    for (k, v) in &cfg.labels {
        attrs.push((k, v.as_str().unwrap_or_default()));
    }
    attrs.extend_from_slice(extra);
    emit(paths, "container", action, &cfg.id, &attrs);
}

fn record(kind: &str, action: &str, id: &str, attributes: &[(&str, &str)], (secs, nanos): (i64, u32)) -> String {
    let attrs: Map<String, Value> =
        attributes.iter().map(|(k, v)| (k.to_string(), Value::String(v.to_string()))).collect();
    let mut v = json!({
        "status": action,
        "id": id,
        "Type": kind,
        "Action": action,
        "Actor": {"ID": id, "Attributes": attrs},
        "scope": "local",
        "time": secs,
        "timeNano": secs as i128 * 1_000_000_000 + nanos as i128,
    });
    // Docker's deprecated fields: `from` (the image) on container events only.
    if kind == "container" {
        if let Some(img) = attributes.iter().find(|(k, _)| *k == "image") {
            v["from"] = Value::String(img.1.to_string());
        }
    } else if kind != "image" {
        let o = v.as_object_mut().expect("object");
        o.remove("status");
        o.remove("id");
    }
    let mut line = serde_json::to_string(&v).unwrap_or_default();
    line.push('\n');
    line
}

fn flock(f: &File, op: i32) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    loop {
        if unsafe { libc::flock(f.as_raw_fd(), op) } == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

fn open_log(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().create(true).append(true).mode(0o600).open(path)
}

fn write(paths: &Paths, line: &str) -> std::io::Result<()> {
    let dir = dir(paths);
    std::fs::create_dir_all(&dir)?;
    let lock = OpenOptions::new().create(true).append(true).mode(0o600).open(dir.join("events.lock"))?;
    flock(&lock, libc::LOCK_SH)?;
    let path = dir.join("events.log");
    let mut f = open_log(&path)?;
    if f.metadata()?.len() + line.len() as u64 > max_bytes() {
        drop(f);
        // Converting the lock may let another rotator in first: check again.
        flock(&lock, libc::LOCK_EX)?;
        if std::fs::metadata(&path).map(|m| m.len() + line.len() as u64 > max_bytes()).unwrap_or(false) {
            std::fs::rename(&path, dir.join("events.log.1"))?;
        }
        f = open_log(&path)?;
    }
    // One write(2) per record: O_APPEND makes it atomic among writers.
    f.write_all(line.as_bytes())
}

/// `--filter` for events: Docker's keys; values of one key are alternatives,
/// different keys must all match.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pairs: Vec<(String, String)>,
}

impl Filter {
    pub fn parse(specs: &[String]) -> crate::Result<Filter> {
        let mut pairs = Vec::new();
        for s in specs {
            let (k, v) = s.split_once('=').ok_or_else(|| {
                crate::Error::InvalidArgument(format!("bad format of filter {s:?}: expected name=value"))
            })?;
            if !["type", "event", "container", "image", "label", "volume", "network"].contains(&k) {
                return Err(crate::Error::InvalidArgument(format!(
                    "invalid filter '{k}': events accepts type, event, container, image, label, volume and network"
                )));
            }
            pairs.push((k.to_string(), v.to_string()));
        }
        Ok(Filter { pairs })
    }

    pub fn matches(&self, ev: &Value) -> bool {
        let kind = ev["Type"].as_str().unwrap_or("");
        let action = ev["Action"].as_str().unwrap_or("");
        let id = ev["Actor"]["ID"].as_str().unwrap_or("");
        let attr = |k: &str| ev["Actor"]["Attributes"][k].as_str().unwrap_or("").to_string();
        let one = |k: &str, v: &str| -> bool {
            match k {
                "type" => kind == v,
                // "health_status: healthy" matches event=health_status too
                "event" => action == v || action.split(':').next() == Some(v),
                "container" => kind == "container" && (id.starts_with(v) || attr("name") == v),
                "image" => match kind {
                    "image" => id == v || id.trim_start_matches("sha256:").starts_with(v) || attr("name") == v,
                    "container" => {
                        let img = attr("image");
                        img == v || img.split(':').next() == Some(v)
                    }
                    _ => false,
                },
                "label" => match v.split_once('=') {
                    Some((lk, lv)) => attr(lk) == lv,
                    None => ev["Actor"]["Attributes"].get(v).is_some(),
                },
                "volume" | "network" => kind == k && (id == v || attr("name") == v),
                _ => false,
            }
        };
        let mut keys: Vec<&str> = self.pairs.iter().map(|(k, _)| k.as_str()).collect();
        keys.dedup();
        keys.iter().all(|k| self.pairs.iter().filter(|(pk, _)| pk == k).any(|(_, v)| one(k, v)))
    }
}

/// Docker's default line: time, type, action, id, then the sorted attributes.
pub fn default_line(ev: &Value) -> String {
    let nano = ev["timeNano"].as_i64().unwrap_or(0);
    let time = units::rfc3339_nano(nano.div_euclid(1_000_000_000), nano.rem_euclid(1_000_000_000) as u32);
    let mut attrs: Vec<String> = ev["Actor"]["Attributes"]
        .as_object()
        .map(|o| o.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default())).collect())
        .unwrap_or_default();
    attrs.sort();
    let mut line = format!(
        "{time} {} {} {}",
        ev["Type"].as_str().unwrap_or(""),
        ev["Action"].as_str().unwrap_or(""),
        ev["Actor"]["ID"].as_str().unwrap_or("")
    );
    if !attrs.is_empty() {
        line.push_str(&format!(" ({})", attrs.join(", ")));
    }
    line
}

/// The exit code in the journal's last `die` event of container `id`: what
/// a waiter needs when the container removed itself (`--rm`) before the
/// waiter saw its exited state.
pub fn last_exit_code(paths: &Paths, id: &str) -> Option<i32> {
    let mut r = Reader::open(paths);
    let mut code = None;
    loop {
        let batch = r.poll(&mut |_| {});
        if batch.is_empty() {
            return code;
        }
        for ev in batch {
            if ev["Type"] == "container" && ev["Action"] == "die" && ev["Actor"]["ID"] == id {
                code = ev["Actor"]["Attributes"]["exitCode"].as_str().and_then(|c| c.parse().ok());
            }
        }
    }
}

/// Reads the journal from the start (`.1` first) and then follows it.
pub struct Reader {
    dir: PathBuf,
    /// The file being read, its inode and our position; None before it exists.
    file: Option<(File, u64)>,
    pending: Vec<u8>,
    /// Where the current file's records come from, for warnings.
    source: PathBuf,
    line_no: usize,
}

impl Reader {
    pub fn open(paths: &Paths) -> Reader {
        let dir = dir(paths);
        let mut r = Reader { dir, file: None, pending: Vec::new(), source: PathBuf::new(), line_no: 0 };
        let old = r.dir.join("events.log.1");
        // The rotated file first, unless the current one is missing (then
        // there is nothing older to show either).
        if let (Ok(f), true) = (File::open(&old), r.dir.join("events.log").exists()) {
            let ino = f.metadata().map(|m| m.ino()).unwrap_or(0);
            r.file = Some((f, ino));
            r.source = old;
        }
        r
    }

    /// Every complete record written since the last call, parsed; `warn`
    /// hears about records that are not JSON (corruption, truncation).
    pub fn poll(&mut self, warn: &mut dyn FnMut(String)) -> Vec<Value> {
        let mut out = Vec::new();
        let current = self.dir.join("events.log");
        loop {
            if self.file.is_none() {
                match File::open(&current) {
                    Ok(f) => {
                        let ino = f.metadata().map(|m| m.ino()).unwrap_or(0);
                        self.file = Some((f, ino));
                        self.source = current.clone();
                        self.line_no = 0;
                    }
                    Err(_) => return out,
                }
            }
            let (f, ino) = self.file.as_mut().expect("opened");
            let ino = *ino;
            let mut buf = Vec::new();
            let _ = f.read_to_end(&mut buf);
            self.pending.extend_from_slice(&buf);
            while let Some(nl) = self.pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=nl).collect();
                self.line_no += 1;
                self.take(&line[..line.len() - 1], &mut out, warn);
            }
            // Reading the rotated file, or the file was rotated under us:
            // move on to the current one once this one is drained.
            let now_ino = std::fs::metadata(&current).map(|m| m.ino()).ok();
            if self.source != current || now_ino.is_some_and(|i| i != ino) {
                if !self.pending.is_empty() {
                    let rest = std::mem::take(&mut self.pending);
                    self.line_no += 1;
                    self.take(&rest, &mut out, warn);
                }
                self.file = None;
                continue;
            }
            return out;
        }
    }

    fn take(&self, line: &[u8], out: &mut Vec<Value>, warn: &mut dyn FnMut(String)) {
        if line.is_empty() {
            return;
        }
        match serde_json::from_slice::<Value>(line) {
            Ok(v) if v["timeNano"].is_i64() || v["timeNano"].is_u64() => out.push(v),
            _ => warn(format!("skipping a corrupted record at line {} of {}", self.line_no, self.source.display())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(dir: &Path) -> Paths {
        Paths { data: dir.join("data"), runtime: dir.join("run"), config: dir.join("cfg"), rootless: true }
    }

    #[test]
    fn records_filters_and_rotation() {
        let tmp = crate::testutil::TempDir::new("events");
        let p = paths(&tmp.0);
        emit(&p, "container", "start", "abc123", &[("name", "web"), ("image", "busybox:latest")]);
        emit(&p, "image", "tag", "sha256:ff", &[("name", "busybox:2")]);
        let mut warnings = Vec::new();
        let mut r = Reader::open(&p);
        let evs = r.poll(&mut |w| warnings.push(w));
        assert_eq!(evs.len(), 2);
        assert_eq!(evs[0]["from"], "busybox:latest");
        assert!(default_line(&evs[0]).ends_with(" container start abc123 (image=busybox:latest, name=web)"));
        let f = Filter::parse(&["container=web".into()]).unwrap();
        assert!(f.matches(&evs[0]) && !f.matches(&evs[1]));
        let f = Filter::parse(&["image=busybox".into(), "type=container".into(), "type=image".into()]).unwrap();
        assert!(f.matches(&evs[0]) && !f.matches(&evs[1]));
        assert!(Filter::parse(&["colour=red".into()]).is_err());

        // a corrupted record is skipped with a warning, the next one is read
        let mut f = OpenOptions::new().append(true).open(log_path(&p)).unwrap();
        f.write_all(b"{\"Type\": trunc\n").unwrap();
        emit(&p, "container", "die", "abc123", &[]);
        let evs = r.poll(&mut |w| warnings.push(w));
        assert_eq!(evs.len(), 1);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("line 3"), "{warnings:?}");

        // rotation: the follower moves to the new file without losing records
        std::env::set_var("RCON_EVENTS_MAX_BYTES", "1000");
        for i in 0..6 {
            emit(&p, "container", "exec_start", &format!("id{i}"), &[]);
        }
        std::env::remove_var("RCON_EVENTS_MAX_BYTES");
        assert!(dir(&p).join("events.log.1").exists());
        let evs = r.poll(&mut |w| warnings.push(w));
        let ids: Vec<&str> = evs.iter().map(|e| e["Actor"]["ID"].as_str().unwrap()).collect();
        assert_eq!(ids, ["id0", "id1", "id2", "id3", "id4", "id5"]);
    }
}
