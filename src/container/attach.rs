//! The attach protocol between a container's monitor and its clients (the
//! CLI's `attach`, an attached `run` through the API server, the API's
//! attach and logs endpoints): a stream socket `RUN/containers/ID/attach`.
//!
//! Monitor → client: Docker's stdcopy framing, which the API server
//! forwards byte for byte for non-tty streams: one byte stream (1 stdout,
//! 2 stderr), three zero bytes, the payload's length (big-endian u32), the
//! payload. rcon adds stream 3, the container's exit code as text, sent
//! once at the end (the API server drops it; clients read exit codes
//! through `wait`). Client → monitor: raw bytes for the container's stdin;
//! a half-close is its EOF while output keeps flowing.

use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::Path;

/// Name of the attach socket in the container's runtime directory.
pub const SOCKET: &str = "attach";

pub const STDOUT: u8 = 1;
pub const STDERR: u8 = 2;
/// rcon's own: the exit code, last.
pub const EXIT: u8 = 3;

/// One frame: stream byte, three zeros, big-endian length, payload.
pub fn frame(stream: u8, data: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(data.len() + 8);
    f.extend_from_slice(&[stream, 0, 0, 0]);
    f.extend_from_slice(&(data.len() as u32).to_be_bytes());
    f.extend_from_slice(data);
    f
}

/// Frames out of a byte stream that arrives in pieces.
#[derive(Default)]
pub struct Frames {
    pending: Vec<u8>,
}

impl Frames {
    pub fn push(&mut self, data: &[u8]) {
        self.pending.extend_from_slice(data);
    }

    /// The next whole frame: (stream, payload, the frame's bytes).
    pub fn next_frame(&mut self) -> Option<(u8, Vec<u8>, Vec<u8>)> {
        if self.pending.len() < 8 {
            return None;
        }
        let p = &self.pending;
        let len = u32::from_be_bytes([p[4], p[5], p[6], p[7]]) as usize;
        if p.len() < 8 + len {
            return None;
        }
        let raw: Vec<u8> = self.pending.drain(..8 + len).collect();
        Some((raw[0], raw[8..].to_vec(), raw))
    }
}

/// Connect to the attach socket in `run_dir`, through a directory fd: the
/// socket's full path may not fit sun_path's 108 bytes.
pub fn connect(run_dir: &Path) -> io::Result<UnixStream> {
    let dir = std::fs::File::open(run_dir)?;
    UnixStream::connect(format!("/proc/self/fd/{}/{SOCKET}", dir.as_raw_fd()))
}

/// Detach-key matcher (Docker's default ctrl-p,ctrl-q).
pub struct DetachKeys {
    keys: Vec<u8>,
    matched: usize,
}

impl DetachKeys {
    pub fn parse(spec: &str) -> DetachKeys {
        let spec = if spec.is_empty() { "ctrl-p,ctrl-q" } else { spec };
        let mut keys = Vec::new();
        for k in spec.split(',') {
            if let Some(c) = k.strip_prefix("ctrl-") {
                let ch = c.bytes().next().unwrap_or(b'p');
                keys.push(match ch {
                    b'@' => 0,
                    b'[' => 27,
                    b'\\' => 28,
                    b']' => 29,
                    b'^' => 30,
                    b'_' => 31,
                    c => c.to_ascii_lowercase().wrapping_sub(b'a' - 1),
                });
            } else if k.len() == 1 {
                keys.push(k.as_bytes()[0]);
            }
        }
        DetachKeys { keys, matched: 0 }
    }

    /// Feed input; returns (bytes to pass on, detach requested).
    pub fn feed(&mut self, data: &[u8]) -> (Vec<u8>, bool) {
        let mut out = Vec::with_capacity(data.len());
        for &b in data {
            if !self.keys.is_empty() && b == self.keys[self.matched] {
                self.matched += 1;
                if self.matched == self.keys.len() {
                    return (out, true);
                }
            } else {
                out.extend_from_slice(&self.keys[..self.matched]);
                self.matched = 0;
                out.push(b);
            }
        }
        (out, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_in_pieces() {
        let mut bytes = frame(STDOUT, b"hello");
        bytes.extend(frame(STDERR, b""));
        bytes.extend(frame(EXIT, b"3"));
        let mut f = Frames::default();
        let mut got = Vec::new();
        for chunk in bytes.chunks(3) {
            f.push(chunk);
            while let Some((s, p, raw)) = f.next_frame() {
                assert_eq!(raw, frame(s, &p));
                got.push((s, p));
            }
        }
        assert_eq!(got, [(STDOUT, b"hello".to_vec()), (STDERR, vec![]), (EXIT, b"3".to_vec())]);
    }

    #[test]
    fn detach_keys() {
        let mut k = DetachKeys::parse("");
        assert_eq!(k.feed(b"ab\x10c"), (b"ab\x10c".to_vec(), false));
        assert_eq!(k.feed(b"x\x10\x11y"), (b"x".to_vec(), true));
        let mut k = DetachKeys::parse("ctrl-a,q");
        assert_eq!(k.feed(b"\x01q"), (vec![], true));
    }
}
