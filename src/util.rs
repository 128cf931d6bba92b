//! Small helpers with no better home.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

static HELPER: OnceLock<PathBuf> = OnceLock::new();
static WARN: OnceLock<fn(&str)> = OnceLock::new();

/// Report a warning that does not stop the work (a device node skipped, no
/// subuid range): to the front end's warning sink, `warning: …` on stderr
/// unless a front end named another with [`set_warning_sink`].
pub fn warn(msg: &str) {
    match WARN.get() {
        Some(f) => f(msg),
        None => eprintln!("warning: {}", crate::format::quote::escape_lines(msg)),
    }
}

/// Where warnings go (the API server's log, say); the first call wins.
pub fn set_warning_sink(f: fn(&str)) {
    let _ = WARN.set(f);
}

/// The rcon binary that helper modes (`__monitor`, `__storage-helper`,
/// `__portfwd`, `__netns`, `__healthcheck`) are run from: this very
/// program, unless a program embedding the library (a test, another front
/// end) named the rcon binary with [`set_helper_binary`].
pub fn helper_binary() -> &'static Path {
    HELPER.get().map(PathBuf::as_path).unwrap_or(Path::new("/proc/self/exe"))
}

/// Name the rcon binary to run helpers from, once, before the first engine
/// call (the first call wins).
pub fn set_helper_binary(p: PathBuf) {
    let _ = HELPER.set(p);
}

/// Find an executable on PATH.
pub fn which(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin".into());
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.metadata().map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false))
}

/// Bytes in the regular files under a directory (directories we may not
/// read are skipped): a container's SizeRw, a volume's size.
pub fn tree_size(p: &std::path::Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(p) else { return 0 };
    let mut total = 0;
    for e in rd.flatten() {
        match e.file_type() {
            Ok(t) if t.is_dir() => total += tree_size(&e.path()),
            Ok(t) if t.is_file() => total += e.metadata().map(|m| m.len()).unwrap_or(0),
            _ => {}
        }
    }
    total
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (registry auth, PEM certificates).
pub fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decode standard or URL-safe base64, padded or not; whitespace ignored.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' | b'\n' | b'\r' | b' ' | b'\t' => continue,
            _ => return None,
        };
        acc = acc << 6 | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

/// In a forked child, before exec: make each target descriptor a copy of its
/// source, not close-on-exec. A plain `dup2(src, dst)` goes wrong when `src`
/// already is `dst` (dup2 then does nothing and the close-on-exec flag
/// stays: the program finds its fd closed) or when one pair's target is
/// another's source; so every source is first copied above all targets.
/// Only async-signal-safe calls, no allocation: at most 8 pairs.
///
/// # Safety
/// Only between fork and exec, with descriptors valid in the child.
pub unsafe fn place_fds(pairs: &[(std::os::fd::RawFd, std::os::fd::RawFd)]) -> std::io::Result<()> {
    assert!(pairs.len() <= 8);
    let above = pairs.iter().map(|&(_, t)| t).max().unwrap_or(0) + 1;
    let mut moved = [-1; 8];
    for (i, &(src, _)) in pairs.iter().enumerate() {
        moved[i] = libc::fcntl(src, libc::F_DUPFD_CLOEXEC, above);
        if moved[i] < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    for (i, &(_, dst)) in pairs.iter().enumerate() {
        if libc::dup2(moved[i], dst) < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Docker's signal names (`SIGTERM`, `TERM`, `term`) and numbers (1–64).
pub fn signal_number(s: &str) -> crate::Result<i32> {
    let up = s.to_ascii_uppercase();
    let name = up.strip_prefix("SIG").unwrap_or(&up);
    if let Ok(n) = name.parse::<i32>() {
        if (1..=64).contains(&n) {
            return Ok(n);
        }
    }
    let n = match name {
        "HUP" => libc::SIGHUP,
        "INT" => libc::SIGINT,
        "QUIT" => libc::SIGQUIT,
        "ILL" => libc::SIGILL,
        "TRAP" => libc::SIGTRAP,
        "ABRT" | "IOT" => libc::SIGABRT,
        "BUS" => libc::SIGBUS,
        "FPE" => libc::SIGFPE,
        "KILL" => libc::SIGKILL,
        "USR1" => libc::SIGUSR1,
        "SEGV" => libc::SIGSEGV,
        "USR2" => libc::SIGUSR2,
        "PIPE" => libc::SIGPIPE,
        "ALRM" => libc::SIGALRM,
        "TERM" => libc::SIGTERM,
        "STKFLT" => libc::SIGSTKFLT,
        "CHLD" | "CLD" => libc::SIGCHLD,
        "CONT" => libc::SIGCONT,
        "STOP" => libc::SIGSTOP,
        "TSTP" => libc::SIGTSTP,
        "TTIN" => libc::SIGTTIN,
        "TTOU" => libc::SIGTTOU,
        "URG" => libc::SIGURG,
        "XCPU" => libc::SIGXCPU,
        "XFSZ" => libc::SIGXFSZ,
        "VTALRM" => libc::SIGVTALRM,
        "PROF" => libc::SIGPROF,
        "WINCH" => libc::SIGWINCH,
        "IO" | "POLL" => libc::SIGIO,
        "PWR" => libc::SIGPWR,
        "SYS" => libc::SIGSYS,
        _ => return Err(crate::Error::InvalidArgument(format!("invalid signal: {s}"))),
    };
    Ok(n)
}

/// path.Match-style glob: `*` and `?` do not cross `/`, `[...]` classes.
pub fn glob(pat: &str, s: &str) -> bool {
    fn m(p: &[char], s: &[char]) -> bool {
        match p.first() {
            None => s.is_empty(),
            Some('*') => (0..=s.len()).take_while(|&i| i == 0 || s[i - 1] != '/').any(|i| m(&p[1..], &s[i..])),
            Some('?') => !s.is_empty() && s[0] != '/' && m(&p[1..], &s[1..]),
            Some('[') => {
                let Some(end) = p.iter().position(|&c| c == ']') else {
                    return !s.is_empty() && s[0] == '[' && m(&p[1..], &s[1..]);
                };
                if s.is_empty() {
                    return false;
                }
                let class = &p[1..end];
                let (neg, class) = if class.first() == Some(&'^') { (true, &class[1..]) } else { (false, class) };
                let mut hit = false;
                let mut i = 0;
                while i < class.len() {
                    if i + 2 < class.len() && class[i + 1] == '-' {
                        hit |= class[i] <= s[0] && s[0] <= class[i + 2];
                        i += 3;
                    } else {
                        hit |= class[i] == s[0];
                        i += 1;
                    }
                }
                hit != neg && m(&p[end + 1..], &s[1..])
            }
            Some('\\') if p.len() > 1 => !s.is_empty() && s[0] == p[1] && m(&p[2..], &s[1..]),
            Some(&c) => !s.is_empty() && s[0] == c && m(&p[1..], &s[1..]),
        }
    }
    let p: Vec<char> = pat.chars().collect();
    let s: Vec<char> = s.chars().collect();
    m(&p, &s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip() {
        for s in ["", "f", "fo", "foo", "foob", "fooba", "foobar", "user:p@ss:word"] {
            let e = base64_encode(s.as_bytes());
            assert_eq!(base64_decode(&e).unwrap(), s.as_bytes());
        }
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert!(base64_decode("a*b").is_none());
    }

    #[test]
    fn globbing() {
        assert!(glob("busy*", "busybox"));
        assert!(!glob("*", "a/b"));
        assert!(glob("*/*", "a/b"));
        assert!(glob("b?sybox", "busybox"));
        assert!(glob("[a-c]usybox", "busybox"));
        assert!(!glob("[^b]usybox", "busybox"));
    }
}
