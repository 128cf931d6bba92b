//! Published ports: Docker's `-p` grammar, the host-side check that a port
//! is free, random host ports, and the ways Docker prints them (`ps` PORTS,
//! `port`, inspect's PortBindings and Ports).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PortSpec {
    /// "" for every address (Docker's HostIp "").
    pub host_ip: String,
    /// 0: a random free port, chosen when the container starts.
    pub host_port: u16,
    pub container_port: u16,
    /// "tcp" or "udp".
    pub proto: String,
}

impl PortSpec {
    /// "80/tcp", the key Docker uses everywhere.
    pub fn key(&self) -> String {
        format!("{}/{}", self.container_port, self.proto)
    }

    /// The address the host side binds.
    pub fn bind_ip(&self) -> &str {
        if self.host_ip.is_empty() {
            "0.0.0.0"
        } else {
            &self.host_ip
        }
    }
}

fn bad(msg: String) -> Error {
    Error::InvalidArgument(msg)
}

/// The image's EXPOSE keys ("80/tcp", "53/udp", "8080") as specs for `-P`.
pub fn exposed(keys: &[String]) -> Vec<PortSpec> {
    keys.iter()
        .filter_map(|k| {
            let (p, proto) = k.split_once('/').unwrap_or((k, "tcp"));
            Some(PortSpec {
                host_ip: String::new(),
                host_port: 0,
                container_port: p.parse().ok()?,
                proto: proto.to_string(),
            })
        })
        .collect()
}

/// Bind the host side for a moment: a taken port is an error before the
/// container starts; port 0 gets a free one.
pub fn reserve(p: &PortSpec) -> Result<u16> {
    let ip: IpAddr = p.bind_ip().parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let addr = SocketAddr::new(ip, p.host_port);
    let res = if p.proto == "udp" {
        UdpSocket::bind(addr).and_then(|s| s.local_addr())
    } else {
        TcpListener::bind(addr).and_then(|s| s.local_addr())
    };
    match res {
        Ok(a) => Ok(a.port()),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Err(Error::Conflict(format!(
            "cannot publish {}:{} for {}: the host port is already in use: choose another host port",
            p.bind_ip(),
            p.host_port,
            p.key()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Err(bad(format!(
            "cannot publish {}:{} for {}: ports below {} need root here: choose a higher host port (or, as root, lower sysctl net.ipv4.ip_unprivileged_port_start)",
            p.bind_ip(),
            p.host_port,
            p.key(),
            std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start").unwrap_or_default().trim()
        ))),
        Err(e) => Err(bad(format!("cannot publish {}:{} for {}: {e}", p.bind_ip(), p.host_port, p.key()))),
    }
}

/// Docker's PORTS column (docker/cli DisplayablePorts): sorted by container
/// port; runs of ports published on the same number grouped
/// (`0.0.0.0:80-81->80-81/tcp`), exposed-only ones as `80/tcp`, mappings to
/// another number listed last (`0.0.0.0:8080->80/tcp`).
pub fn display(published: &[PortSpec], exposed_keys: &[String]) -> String {
    let mut items: Vec<(u16, String, u16, String)> =
        published.iter().map(|p| (p.container_port, p.bind_ip().to_string(), p.host_port, p.proto.clone())).collect();
    for e in exposed(exposed_keys) {
        if !published.iter().any(|p| p.container_port == e.container_port && p.proto == e.proto) {
            items.push((e.container_port, String::new(), 0, e.proto));
        }
    }
    items.sort();
    let join = |ip: &str, port: &str| if ip.contains(':') { format!("[{ip}]:{port}") } else { format!("{ip}:{port}") };
    let form = |key: &str, first: u16, last: u16| {
        let group = if first == last { first.to_string() } else { format!("{first}-{last}") };
        match key.rsplit_once('/') {
            Some((ip, proto)) => format!("{}->{group}/{proto}", join(ip, &group)),
            None => format!("{group}/{key}"),
        }
    };
    let mut result = Vec::new();
    let mut mappings = Vec::new();
    let mut groups: Vec<(String, u16, u16)> = Vec::new();
    for (private, ip, public, proto) in items {
        let key = if ip.is_empty() {
            proto.clone()
        } else if public != private {
            mappings.push(format!("{}->{private}/{proto}", join(&ip, &public.to_string())));
            continue;
        } else {
            format!("{ip}/{proto}")
        };
        match groups.iter_mut().find(|g| g.0 == key) {
            Some(g) if private == g.2 + 1 => g.2 = private,
            Some(g) => {
                result.push(form(&g.0, g.1, g.2));
                (g.1, g.2) = (private, private);
            }
            None => groups.push((key, private, private)),
        }
    }
    result.extend(groups.iter().map(|g| form(&g.0, g.1, g.2)));
    result.extend(mappings);
    result.join(", ")
}

/// HostConfig.PortBindings: what was asked (`HostPort` "" for random).
pub fn bindings_json(specs: &[PortSpec]) -> Value {
    let mut m: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for p in specs {
        let port = if p.host_port == 0 { String::new() } else { p.host_port.to_string() };
        m.entry(p.key()).or_default().push(json!({"HostIp": p.host_ip, "HostPort": port}));
    }
    Value::Object(m.into_iter().map(|(k, v)| (k, Value::Array(v))).collect())
}

/// NetworkSettings.Ports of a running container: every exposed or
/// published port, with the host side it got (null if unpublished).
pub fn ports_json(published: &[PortSpec], exposed_keys: &[String]) -> Value {
    let mut m = Map::new();
    for k in exposed_keys {
        let k = if k.contains('/') { k.clone() } else { format!("{k}/tcp") };
        m.insert(k, Value::Null);
    }
    for p in published {
        let entry = m.entry(p.key()).or_insert(Value::Array(vec![]));
        if !entry.is_array() {
            *entry = Value::Array(vec![]);
        }
        if let Value::Array(a) = entry {
            a.push(json!({"HostIp": p.bind_ip(), "HostPort": p.host_port.to_string()}));
        }
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ps_column_like_docker() {
        let p = |ip: &str, h: u16, c: u16, proto: &str| PortSpec {
            host_ip: ip.into(),
            host_port: h,
            container_port: c,
            proto: proto.into(),
        };
        let v = vec![
            p("", 8000, 8000, "tcp"),
            p("", 8001, 8001, "tcp"),
            p("127.0.0.1", 5353, 53, "udp"),
            p("", 8080, 80, "tcp"),
        ];
        assert_eq!(
            display(&v, &["80/tcp".into(), "443/tcp".into()]),
            "443/tcp, 0.0.0.0:8000-8001->8000-8001/tcp, 127.0.0.1:5353->53/udp, 0.0.0.0:8080->80/tcp"
        );
        assert_eq!(display(&[], &["80/tcp".into()]), "80/tcp");
    }
}
