//! Kubernetes' name rules (k8s.io/apimachinery validation): DNS-1123
//! labels (container, volume and port-less names), DNS-1123 subdomains
//! (most object names), DNS-1035 labels (Service names), label keys and
//! values; and the sanitising that turns a Docker name (`My_App.1`) into a
//! name kubectl accepts (`my-app-1`), unique within its scope.

use std::collections::BTreeSet;

pub const LABEL_MAX: usize = 63;
pub const SUBDOMAIN_MAX: usize = 253;

fn alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 characters.
pub fn is_dns1123_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= LABEL_MAX
        && s.chars().all(|c| alnum(c) || c == '-')
        && s.starts_with(alnum)
        && s.ends_with(alnum)
}

/// Labels joined by dots, at most 253 characters.
pub fn is_dns1123_subdomain(s: &str) -> bool {
    s.len() <= SUBDOMAIN_MAX
        && s.split('.').all(|l| {
            !l.is_empty() && l.chars().all(|c| alnum(c) || c == '-') && l.starts_with(alnum) && l.ends_with(alnum)
        })
}

/// A DNS-1123 label that starts with a letter (Service names).
pub fn is_dns1035_label(s: &str) -> bool {
    is_dns1123_label(s) && s.starts_with(|c: char| c.is_ascii_lowercase())
}

/// A label or annotation key: `[prefix/]name`, the prefix a DNS-1123
/// subdomain, the name 1–63 of `[A-Za-z0-9_.-]` starting and ending alphanumeric.
pub fn is_qualified_name(s: &str) -> bool {
    let (prefix, name) = match s.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    prefix.is_none_or(is_dns1123_subdomain) && is_label_value(name) && !name.is_empty()
}

/// A label value: empty, or up to 63 of `[A-Za-z0-9_.-]` starting and ending alphanumeric.
pub fn is_label_value(s: &str) -> bool {
    s.is_empty()
        || (s.len() <= LABEL_MAX
            && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            && s.starts_with(|c: char| c.is_ascii_alphanumeric())
            && s.ends_with(|c: char| c.is_ascii_alphanumeric()))
}

/// `s` as a DNS-1123 label: lower case, every other character `-`, runs of
/// `-` collapsed, trimmed, at most 63 characters; `fallback` when nothing is left.
pub fn sanitize(s: &str, fallback: &str) -> String {
    let mut out = String::new();
    for c in s.to_lowercase().chars() {
        let c = if alnum(c) { c } else { '-' };
        if c == '-' && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        out.push(c);
    }
    out.truncate(LABEL_MAX);
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() {
        fallback.to_string()
    } else {
        out
    }
}

/// A sanitised DNS-1035 label (a Service's name): a leading digit gets `s-`.
pub fn sanitize_service(s: &str) -> String {
    let n = sanitize(s, "service");
    if n.starts_with(|c: char| c.is_ascii_digit()) {
        sanitize(&format!("s-{n}"), "service")
    } else {
        n
    }
}

/// Names handed out in one scope (a pod's volumes, its containers):
/// a name taken gets `-2`, `-3`, … (shortened to stay within 63).
#[derive(Debug, Default)]
pub struct Scope {
    taken: BTreeSet<String>,
}

impl Scope {
    pub fn unique(&mut self, base: &str) -> String {
        let mut name = base.to_string();
        let mut n = 1;
        while self.taken.contains(&name) {
            n += 1;
            let suffix = format!("-{n}");
            let mut stem = base.to_string();
            stem.truncate(LABEL_MAX - suffix.len());
            name = format!("{}{suffix}", stem.trim_end_matches('-'));
        }
        self.taken.insert(name.clone());
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        for ok in ["a", "web-1", "0abc", &"x".repeat(63)] {
            assert!(is_dns1123_label(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "A", "a_b", "a.b", &"x".repeat(64)] {
            assert!(!is_dns1123_label(bad), "{bad}");
        }
        assert!(is_dns1123_subdomain("my.app-1.example"));
        assert!(!is_dns1123_subdomain("my..app"));
        assert!(!is_dns1035_label("1web"));
        assert!(is_qualified_name("app.kubernetes.io/name"));
        assert!(is_qualified_name("com.example.Version_2"));
        assert!(!is_qualified_name("a b"));
        assert!(!is_qualified_name("a/b/c"));
        assert!(is_label_value("1.0-beta_2"));
        assert!(!is_label_value("a web app"));
    }

    #[test]
    fn sanitising() {
        assert_eq!(sanitize("My_App.1", "x"), "my-app-1");
        assert_eq!(sanitize("/srv/data//x/", "x"), "srv-data-x");
        assert_eq!(sanitize("__", "root"), "root");
        let long = sanitize(&format!("{}-tail", "a".repeat(70)), "x");
        assert_eq!(long.len(), 63);
        assert!(is_dns1123_label(&long));
        assert_eq!(sanitize_service("8080web"), "s-8080web");
        let mut s = Scope::default();
        assert_eq!(s.unique("data"), "data");
        assert_eq!(s.unique("data"), "data-2");
        assert_eq!(s.unique("data"), "data-3");
        let l = "b".repeat(63);
        assert_eq!(s.unique(&l), l);
        let second = s.unique(&l);
        assert!(second.len() <= 63 && second.ends_with("-2"), "{second}");
    }
}
