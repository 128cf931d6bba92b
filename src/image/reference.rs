//! Docker image references (distribution/reference grammar).
//!
//! `busybox` means `docker.io/library/busybox:latest`; the first path
//! component is a registry only if it contains `.` or `:` or is `localhost`.
//! Output uses the "familiar" form Docker prints (`busybox:latest`).

use std::fmt;

use crate::error::{Error, Result};

pub const DEFAULT_REGISTRY: &str = "docker.io";
pub const DEFAULT_TAG: &str = "latest";

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    pub registry: String,
    /// Repository path without the registry, e.g. `library/busybox`.
    pub repository: String,
    pub tag: Option<String>,
    /// `sha256:<64 hex>`.
    pub digest: Option<String>,
}

impl Reference {
    /// Parse a reference; a missing tag stays missing (see `with_default_tag`).
    pub fn parse(s: &str) -> Result<Reference> {
        // References come from archives, Dockerfiles and registries too.
        let q = || crate::format::quote::quote(s);
        let bad = || {
            Error::InvalidReference(format!(
                "{}: repository names must be lowercase, like registry:5000/name:tag or name@sha256:<digest>",
                q()
            ))
        };
        if s.is_empty() || s.len() > 4096 {
            return Err(bad());
        }
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => {
                if !is_digest(d) {
                    return Err(Error::InvalidReference(format!(
                        "{}: digest must be sha256: followed by 64 hex characters",
                        q()
                    )));
                }
                (r, Some(d.to_string()))
            }
            None => (s, None),
        };
        // A tag is after the last ':' that follows the last '/'.
        let last_slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(rest[last_slash + i + 1..].to_string())),
            None => (rest, None),
        };
        if let Some(t) = &tag {
            if !is_tag(t) {
                return Err(bad());
            }
        }
        let (registry, repository) = match name.split_once('/') {
            Some((first, path)) if first.contains('.') || first.contains(':') || first == "localhost" => {
                if !is_domain(first) {
                    return Err(bad());
                }
                (first.to_string(), path.to_string())
            }
            _ => (DEFAULT_REGISTRY.to_string(), name.to_string()),
        };
        let registry = if registry == "index.docker.io" { DEFAULT_REGISTRY.to_string() } else { registry };
        if repository.is_empty() || !repository.split('/').all(is_path_component) {
            return Err(bad());
        }
        let repository = if registry == DEFAULT_REGISTRY && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        if registry.len() + 1 + repository.len() > 255 {
            return Err(Error::InvalidReference(format!(
                "{}: repository name must not be longer than 255 characters",
                q()
            )));
        }
        Ok(Reference { registry, repository, tag, digest })
    }

    /// `busybox` → `busybox:latest`; a digest-only reference keeps no tag.
    pub fn with_default_tag(mut self) -> Reference {
        if self.tag.is_none() && self.digest.is_none() {
            self.tag = Some(DEFAULT_TAG.to_string());
        }
        self
    }

    /// `docker.io/library/busybox`.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// `busybox`, `user/app`, `localhost:5000/a/b`.
    pub fn familiar_name(&self) -> String {
        if self.registry == DEFAULT_REGISTRY {
            self.repository.strip_prefix("library/").unwrap_or(&self.repository).to_string()
        } else {
            self.full_name()
        }
    }

    /// `docker.io/library/busybox:latest` (the key stored in image records).
    pub fn full_tagged(&self) -> Option<String> {
        self.tag.as_ref().map(|t| format!("{}:{t}", self.full_name()))
    }

    /// `docker.io/library/busybox:latest` or `…@sha256:…`: the whole reference, full form.
    pub fn full(&self) -> String {
        self.with_tag_and_digest(self.full_name())
    }

    /// `name` followed by `:tag` and `@digest` where present.
    fn with_tag_and_digest(&self, mut s: String) -> String {
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(d);
        }
        s
    }

    pub fn familiar(&self) -> String {
        self.with_tag_and_digest(self.familiar_name())
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.familiar())
    }
}

/// Familiar form of a stored full name such as `docker.io/library/busybox:latest`.
pub fn familiar(full: &str) -> String {
    Reference::parse(full).map(|r| r.familiar()).unwrap_or_else(|_| full.to_string())
}

pub fn is_digest(d: &str) -> bool {
    d.strip_prefix("sha256:").is_some_and(|h| h.len() == 64 && is_hex(h))
}

pub fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn is_tag(t: &str) -> bool {
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`
fn is_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    if b.is_empty() || !is_lower_alnum(b[0]) || !is_lower_alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if is_lower_alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !is_lower_alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        if !(sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-')) {
            return false;
        }
    }
    true
}

fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

fn is_domain(d: &str) -> bool {
    let (host, port) = match d.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || d.starts_with('[') => (h, Some(p)),
        _ => (d, None),
    };
    if let Some(p) = port {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
    }
    if host.starts_with('[') && host.ends_with(']') {
        return true;
    }
    !host.is_empty()
        && host.split('.').all(|l| {
            !l.is_empty()
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(s: &str) -> String {
        let r = Reference::parse(s).unwrap().with_default_tag();
        let mut out = r.full_name();
        if let Some(t) = r.tag {
            out += &format!(":{t}");
        }
        if let Some(d) = r.digest {
            out += &format!("@{d}");
        }
        out
    }

    #[test]
    fn normalises_like_docker() {
        assert_eq!(full("busybox"), "docker.io/library/busybox:latest");
        assert_eq!(full("user/app:1.0"), "docker.io/user/app:1.0");
        assert_eq!(full("localhost:5000/a/b:tag"), "localhost:5000/a/b:tag");
        assert_eq!(full("localhost/a"), "localhost/a:latest");
        assert_eq!(full("quay.io/x/y"), "quay.io/x/y:latest");
        assert_eq!(full("index.docker.io/library/busybox"), "docker.io/library/busybox:latest");
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(full(&format!("busybox@{d}")), format!("docker.io/library/busybox@{d}"));
        assert_eq!(full(&format!("reg:5000/busybox:1@{d}")), format!("reg:5000/busybox:1@{d}"));
    }

    #[test]
    fn familiar_forms() {
        assert_eq!(Reference::parse("docker.io/library/busybox:latest").unwrap().familiar(), "busybox:latest");
        assert_eq!(Reference::parse("docker.io/u/a").unwrap().familiar_name(), "u/a");
        assert_eq!(familiar("localhost:5000/a/b:t"), "localhost:5000/a/b:t");
    }

    #[test]
    fn rejects_invalid() {
        for bad in ["", "UPPER", "a:b:c", "a@sha256:xyz", "-a", "a/", "a//b", "a:", "a:-x", "a..b", "reg:port/x"] {
            assert!(Reference::parse(bad).is_err(), "{bad} should be invalid");
        }
    }
}
