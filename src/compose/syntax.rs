//! The string grammars inside compose values: Go durations, byte sizes,
//! shell words (`command: "a 'b c'"`), the short port syntax, the short
//! volume syntax and `extra_hosts` entries. Each parser returns a message
//! without the path; the caller adds where the value was.

use std::collections::BTreeMap;

use super::model::{BindOptions, Duration, Port, ServiceVolume, VolumeOptions};

/// Go's `time.ParseDuration`: `1h2m3.5s`, `300ms`, `-` not allowed (compose
/// durations are never negative), a bare `0` allowed.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration {s:?}: use a number with a unit, e.g. 10s, 1m30s or 500ms");
    if s == "0" {
        return Ok(Duration(0));
    }
    let mut rest = s.strip_prefix('+').unwrap_or(s);
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let n = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(bad)?;
        if n == 0 {
            return Err(bad());
        }
        let number: f64 = rest[..n].parse().map_err(|_| bad())?;
        rest = &rest[n..];
        let u = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let unit = match &rest[..u] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(bad()),
        };
        total += number * unit;
        rest = &rest[u..];
    }
    Ok(Duration(total.round() as u64))
}

/// Go's `time.Duration.String`: `1h0m0s`, `1m30s`, `1.5s`, `500ms`, `0s`.
pub fn format_duration(d: Duration) -> String {
    let ns = d.0;
    if ns == 0 {
        return "0s".to_string();
    }
    let frac = |v: u64, unit: u64| {
        let whole = v / unit;
        let rem = v % unit;
        if rem == 0 {
            return whole.to_string();
        }
        let digits = unit.to_string().len() - 1;
        let f = format!("{rem:0digits$}");
        format!("{whole}.{}", f.trim_end_matches('0'))
    };
    if ns < 1_000 {
        return format!("{ns}ns");
    }
    if ns < 1_000_000 {
        return format!("{}µs", frac(ns, 1_000));
    }
    if ns < 1_000_000_000 {
        return format!("{}ms", frac(ns, 1_000_000));
    }
    let h = ns / 3_600_000_000_000;
    let m = (ns / 60_000_000_000) % 60;
    let s = frac(ns % 60_000_000_000, 1_000_000_000);
    if h > 0 {
        format!("{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

/// go-units `RAMInBytes`: `1024`, `512m`, `1g`, `1.5GB`, `10kib` (binary units).
pub fn parse_size(s: &str) -> Result<i64, String> {
    let bad = || format!("invalid size {s:?}: use bytes or a number with b, k, m, g, t or p");
    let t = s.trim();
    let n = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    if n == 0 {
        return Err(bad());
    }
    let number: f64 = t[..n].parse().map_err(|_| bad())?;
    let unit = t[n..].trim_start().to_ascii_lowercase();
    let unit = unit.strip_suffix('b').unwrap_or(&unit);
    let unit = unit.strip_suffix('i').unwrap_or(unit);
    let mult: f64 = match unit {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024f64.powi(2),
        "g" => 1024f64.powi(3),
        "t" => 1024f64.powi(4),
        "p" => 1024f64.powi(5),
        _ => return Err(bad()),
    };
    Ok((number * mult) as i64)
}

/// Splits a string command as go-shellwords does for compose: whitespace
/// separates words, single quotes are literal, double quotes and
/// backslashes escape; no variable or command expansion.
pub fn shell_split(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            ' ' | '\t' | '\n' | '\r' => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\\' => {
                in_word = true;
                match it.next() {
                    Some('\n') | None => {}
                    Some(n) => cur.push(n),
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match it.next() {
                        Some('\'') => break,
                        Some(n) => cur.push(n),
                        None => return Err(format!("unterminated single quote in {s:?}")),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match it.next() {
                        Some('"') => break,
                        Some('\\') => match it.next() {
                            Some(n @ ('"' | '\\' | '$' | '`')) => cur.push(n),
                            Some('\n') => {}
                            Some(n) => {
                                cur.push('\\');
                                cur.push(n);
                            }
                            None => return Err(format!("unterminated double quote in {s:?}")),
                        },
                        Some(n) => cur.push(n),
                        None => return Err(format!("unterminated double quote in {s:?}")),
                    }
                }
            }
            _ => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

fn port_number(s: &str) -> Option<u16> {
    s.parse::<u16>().ok().filter(|p| *p > 0)
}

/// `a-b` or `a` as an inclusive range.
fn port_range(s: &str) -> Option<(u16, u16)> {
    match s.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (port_number(a)?, port_number(b)?);
            (a <= b).then_some((a, b))
        }
        None => port_number(s).map(|p| (p, p)),
    }
}

/// The short port syntax `[[ip:]host[-range]:]container[-range][/protocol]`,
/// one entry per container port (docker's `nat.ParsePortSpec`).
pub fn parse_port(spec: &str) -> Result<Vec<Port>, String> {
    let bad = || format!("invalid port {spec:?}: use [[ip:]host:]container[/protocol], e.g. 8080:80 or 53:53/udp");
    let (rest, protocol) = match spec.rsplit_once('/') {
        Some((r, p)) => (r, p.to_ascii_lowercase()),
        None => (spec, "tcp".to_string()),
    };
    if !matches!(protocol.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!("invalid port {spec:?}: unknown protocol {protocol:?}, use tcp, udp or sctp"));
    }
    // the container part is last, the host part before it, the IP (maybe IPv6) is the rest
    let (head, container) = match rest.rsplit_once(':') {
        Some((h, c)) => (Some(h), c),
        None => (None, rest),
    };
    let (ip, host) = match head {
        None => (None, None),
        Some(h) => match h.rsplit_once(':') {
            Some((ip, host)) => (Some(ip.trim_start_matches('[').trim_end_matches(']')), Some(host)),
            None => (None, Some(h)),
        },
    };
    let ip = ip.filter(|i| !i.is_empty()).map(str::to_string);
    if let Some(ip) = &ip {
        if ip.parse::<std::net::IpAddr>().is_err() {
            return Err(format!("invalid port {spec:?}: invalid host IP {ip:?}"));
        }
    }
    let (c0, c1) = port_range(container).ok_or_else(bad)?;
    let host = host.filter(|h| !h.is_empty());
    let hosts = match host {
        None => None,
        Some(h) => Some(port_range(h).ok_or_else(bad)?),
    };
    let make = |target: u16, published: Option<String>| Port {
        name: None,
        mode: "ingress".to_string(),
        host_ip: ip.clone(),
        target,
        published,
        protocol: protocol.clone(),
        app_protocol: None,
    };
    match hosts {
        None => Ok((c0..=c1).map(|t| make(t, None)).collect()),
        Some((h0, h1)) if c0 == c1 => {
            let published = if h0 == h1 { h0.to_string() } else { format!("{h0}-{h1}") };
            Ok(vec![make(c0, Some(published))])
        }
        Some((h0, h1)) if h1 - h0 == c1 - c0 => {
            Ok((c0..=c1).map(|t| make(t, Some((h0 + (t - c0)).to_string()))).collect())
        }
        Some(_) => Err(format!("invalid port {spec:?}: the host and container ranges differ in length")),
    }
}

/// compose-go's `isFilePath`: sources starting with `.`, `/` or `~` are host paths.
pub fn is_host_path(source: &str) -> bool {
    source.starts_with(['.', '/', '~'])
}

/// Splits a short volume spec into source (if any), target and mode.
pub fn split_volume(spec: &str) -> (Option<&str>, &str, Option<&str>) {
    let parts: Vec<&str> = spec.splitn(3, ':').collect();
    match parts.as_slice() {
        [target] => (None, target, None),
        [source, target] => (Some(source), target, None),
        [source, target, mode] => (Some(source), target, Some(mode)),
        _ => (None, spec, None),
    }
}

/// The short volume syntax `[source:]target[:mode]`; `source` is already an
/// absolute path for binds (the caller resolves relative paths first).
pub fn parse_volume(spec: &str) -> Result<ServiceVolume, String> {
    let (source, target, mode) = split_volume(spec);
    if target.is_empty() || source == Some("") {
        return Err(format!("invalid volume {spec:?}: use [source:]target[:mode], e.g. ./data:/data:ro"));
    }
    let bind = source.is_some_and(is_host_path);
    let mut v = ServiceVolume {
        kind: if bind { "bind" } else { "volume" }.to_string(),
        source: source.map(str::to_string),
        target: target.to_string(),
        ..ServiceVolume::default()
    };
    let mut b = BindOptions { create_host_path: true, ..BindOptions::default() };
    let mut vo = VolumeOptions::default();
    for opt in mode.unwrap_or("").split(',').filter(|o| !o.is_empty()) {
        match opt {
            "ro" => v.read_only = true,
            "rw" => v.read_only = false,
            "z" | "Z" => b.selinux = Some(opt.to_string()),
            "shared" | "rshared" | "slave" | "rslave" | "private" | "rprivate" => b.propagation = Some(opt.to_string()),
            "nocopy" => vo.nocopy = true,
            "cached" | "delegated" | "consistent" => v.consistency = Some(opt.to_string()),
            _ => {
                return Err(format!(
                    "invalid volume {spec:?}: unknown mode {opt:?}, use ro, rw, z, Z, nocopy or a propagation"
                ))
            }
        }
    }
    if bind {
        v.bind = Some(b);
    } else if source.is_some() {
        v.volume = Some(vo);
    }
    Ok(v)
}

/// `host:ip`, `host=ip` or `host=[ipv6]`, merged into `hosts` (compose-go's `HostsList`).
pub fn parse_extra_host(entry: &str, hosts: &mut BTreeMap<String, Vec<String>>) -> Result<(), String> {
    let (host, ip) = entry
        .split_once('=')
        .or_else(|| entry.split_once(':'))
        .ok_or_else(|| format!("invalid extra host {entry:?}: use host=ip or host:ip"))?;
    let ip = ip.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || ip.is_empty() {
        return Err(format!("invalid extra host {entry:?}: use host=ip or host:ip"));
    }
    let ips = hosts.entry(host.to_string()).or_default();
    if !ips.iter().any(|i| i == ip) {
        ips.push(ip.to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_format_like_go() {
        let d = |s: &str| parse_duration(s).unwrap().0;
        assert_eq!(d("10s"), 10_000_000_000);
        assert_eq!(d("1m30s"), 90_000_000_000);
        assert_eq!(d("1h"), 3_600_000_000_000);
        assert_eq!(d("1.5s"), 1_500_000_000);
        assert_eq!(d("500ms"), 500_000_000);
        assert_eq!(d("0"), 0);
        for bad in ["10", "", "s", "1x", "-1s", "1.2.3s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        let f = |s: &str| format_duration(parse_duration(s).unwrap());
        assert_eq!(f("90s"), "1m30s");
        assert_eq!(f("1h"), "1h0m0s");
        assert_eq!(f("1.5s"), "1.5s");
        assert_eq!(f("500ms"), "500ms");
        assert_eq!(f("1500us"), "1.5ms");
        assert_eq!(f("0s"), "0s");
        assert_eq!(f("2h3m4.25s"), "2h3m4.25s");
    }

    #[test]
    fn sizes_are_binary() {
        assert_eq!(parse_size("1024").unwrap(), 1024);
        assert_eq!(parse_size("1024k").unwrap(), 1024 * 1024);
        assert_eq!(parse_size("512m").unwrap(), 512 << 20);
        assert_eq!(parse_size("1g").unwrap(), 1 << 30);
        assert_eq!(parse_size("1GB").unwrap(), 1 << 30);
        assert_eq!(parse_size("1.5g").unwrap(), 3 << 29);
        assert_eq!(parse_size("64MiB").unwrap(), 64 << 20);
        assert!(parse_size("lots").is_err());
        assert!(parse_size("1x").is_err());
    }

    #[test]
    fn shell_words() {
        let s = |x: &str| shell_split(x).unwrap();
        assert_eq!(s("echo hello  world"), ["echo", "hello", "world"]);
        assert_eq!(s(r#"sh -c 'echo "$A" b' "x y" z\ w"#), ["sh", "-c", "echo \"$A\" b", "x y", "z w"]);
        assert_eq!(s(r#"a "b\"c" ''"#), ["a", "b\"c", ""]);
        assert!(s("").is_empty());
        assert!(shell_split("echo 'open").is_err());
    }

    fn short(spec: &str) -> Vec<(Option<String>, u16, Option<String>, String)> {
        parse_port(spec).unwrap().into_iter().map(|p| (p.host_ip, p.target, p.published, p.protocol)).collect()
    }

    #[test]
    fn short_ports() {
        let s = |x: &str| Some(x.to_string());
        assert_eq!(short("80"), [(None, 80, None, "tcp".into())]);
        assert_eq!(short("8080:80"), [(None, 80, s("8080"), "tcp".into())]);
        assert_eq!(short("127.0.0.1:8080:80/udp"), [(s("127.0.0.1"), 80, s("8080"), "udp".into())]);
        assert_eq!(short("127.0.0.1::80"), [(s("127.0.0.1"), 80, None, "tcp".into())]);
        assert_eq!(short("[::1]:53:53/udp"), [(s("::1"), 53, s("53"), "udp".into())]);
        assert_eq!(short("3000-3001:4000-4001").len(), 2);
        assert_eq!(short("3000-3001:4000-4001")[1], (None, 4001, s("3001"), "tcp".into()));
        assert_eq!(short("8000-8010:80"), [(None, 80, s("8000-8010"), "tcp".into())]);
        assert_eq!(short("5000-5002").len(), 3);
        for bad in ["abc", "0", "70000", "80/icmp", "1.2.3:80:80", "80-79", "1-3:4-5", ""] {
            assert!(parse_port(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_port("abc").unwrap_err(),
            "invalid port \"abc\": use [[ip:]host:]container[/protocol], e.g. 8080:80 or 53:53/udp"
        );
    }

    #[test]
    fn short_volumes() {
        let v = parse_volume("/data:/srv:ro,z").unwrap();
        assert_eq!(
            (v.kind.as_str(), v.source.as_deref(), v.target.as_str(), v.read_only),
            ("bind", Some("/data"), "/srv", true)
        );
        let b = v.bind.unwrap();
        assert!(b.create_host_path);
        assert_eq!(b.selinux.as_deref(), Some("z"));
        let v = parse_volume("db:/var/lib/db:nocopy").unwrap();
        assert_eq!(v.kind, "volume");
        assert!(v.volume.unwrap().nocopy);
        let v = parse_volume("/anon").unwrap();
        assert_eq!((v.kind.as_str(), v.source, v.volume), ("volume", None, None));
        assert!(parse_volume("a:/b:bogus").is_err());
        assert!(parse_volume(":/b").is_err());
    }

    #[test]
    fn extra_hosts() {
        let mut h = BTreeMap::new();
        parse_extra_host("db:10.0.0.2", &mut h).unwrap();
        parse_extra_host("db=10.0.0.3", &mut h).unwrap();
        parse_extra_host("v6=[::1]", &mut h).unwrap();
        parse_extra_host("v6b:::1", &mut h).unwrap();
        assert_eq!(h["db"], ["10.0.0.2", "10.0.0.3"]);
        assert_eq!(h["v6"], ["::1"]);
        assert_eq!(h["v6b"], ["::1"]);
        assert!(parse_extra_host("nohost", &mut h).is_err());
    }
}
