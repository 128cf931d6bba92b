//! Kubernetes: rcon's work handed to the distributed engine its users move
//! to. `model` is the typed subset of the API rcon reads and writes,
//! `parse` reads multi-document YAML into it (for `kube play`),
//! `generate` turns containers (and later pods) into Pods, Deployments,
//! DaemonSets or Jobs with their Services and claims (`kube generate`),
//! `compose` turns a compose project into Deployments, Services, claims,
//! ConfigMaps and Secrets (`compose convert --format kube`), and `source`
//! gathers what `generate` needs from the stores. Everything but `source`
//! is pure: values in, objects and warnings out.

pub mod compose;
pub mod generate;
pub mod model;
pub mod names;
pub mod parse;
pub mod play;
pub mod source;

pub use generate::{generate, GenerateOptions, Generated, Member, PodSettings, PodSource, WorkloadKind};
pub use model::{to_yaml, Object};
pub use parse::{parse, Parsed};

#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    /// Input Kubernetes would reject, or that rcon cannot express.
    #[error("{0}")]
    Invalid(String),
}

/// Standard base64 (with padding): Secret `data` values.
pub fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(A[((n >> shift) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Standard (or URL-safe) base64, padding optional: Secret and
/// ConfigMap `binaryData` values; None for anything else.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = 0u32;
    let mut bits = 0;
    for c in s.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        } as u32;
        buf = (buf << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_decodes_what_it_encodes() {
        assert_eq!(super::base64_decode("czNjcjN0Cg==").unwrap(), b"s3cr3t\n");
        assert_eq!(super::base64_decode(&super::base64(b"\x00\xffab")).unwrap(), b"\x00\xffab");
        assert!(super::base64_decode("not base64!").is_none());
    }

    #[test]
    fn base64() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("s3cr3t\n", "czNjcjN0Cg=="),
        ] {
            assert_eq!(super::base64(i.as_bytes()), o);
        }
    }
}
