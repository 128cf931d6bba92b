//! Container networking, rootless first.
//!
//! Every container except `--network host` gets its own network namespace.
//! The default ("bridge", as Docker calls it) connects it to the outside
//! with slirp4netns, a user-mode TCP/IP stack that needs no privilege:
//! the container sees `tap0` 10.0.2.100/24, gateway 10.0.2.2 (the host, but
//! not its loopback: `--disable-host-loopback`) and a DNS forwarder at
//! 10.0.2.3. `--network pasta` uses passt's pasta instead, which copies the
//! host's addresses and routes into the namespace. The helper process is
//! started by the monitor between the id mapping and the release of the
//! container's init (`helper`), so the network is up before the container's
//! command runs, and it dies with the monitor (PDEATHSIG).

pub mod dns;
pub mod forward;
pub mod helper;
pub mod holder;
pub mod ports;
pub mod resolver;
pub mod rtnl;
pub mod start;
pub mod user;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// slirp4netns' fixed addresses (with `--configure`).
pub const SLIRP_IP: &str = "10.0.2.100";
pub const SLIRP_GATEWAY: &str = "10.0.2.2";
pub const SLIRP_DNS: &str = "10.0.2.3";

/// What `--network` asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// A network namespace with `lo` only.
    None,
    /// The host's network namespace.
    Host,
    /// The default: slirp4netns.
    Slirp,
    Pasta,
    /// User-defined networks (`NetConfig::networks`): a veth on each
    /// network's bridge, plus slirp4netns for the way out unless every one
    /// of them is `--internal`.
    User,
    /// `container:NAME`: the other container's network namespace.
    Container(String),
}

impl Mode {
    pub fn parse(s: &str) -> Result<Mode> {
        Ok(match s {
            "" | "bridge" | "default" | "slirp4netns" => Mode::Slirp,
            "none" => Mode::None,
            "host" => Mode::Host,
            "pasta" => Mode::Pasta,
            n => {
                return Err(Error::NoSuchObject(format!(
                    "network {n} not found: use bridge (default, slirp4netns), pasta, host or none"
                )))
            }
        })
    }

    /// The mode of a container's configuration.
    pub fn of(network_mode: &str, net: &NetConfig) -> Mode {
        if !net.networks.is_empty() {
            return Mode::User;
        }
        if let Some(c) = network_mode.strip_prefix("container:") {
            return Mode::Container(c.to_string());
        }
        Mode::parse(network_mode).unwrap_or(Mode::None)
    }

    /// Whether a user-mode network helper connects the namespace.
    pub fn helper(&self) -> Option<helper::Kind> {
        match self {
            Mode::Slirp | Mode::User => Some(helper::Kind::Slirp4netns),
            Mode::Pasta => Some(helper::Kind::Pasta),
            _ => None,
        }
    }

    /// The container's own address in /etc/hosts (Docker writes its IP).
    pub fn own_address(&self) -> &'static str {
        match self {
            Mode::Slirp => SLIRP_IP,
            _ => "127.0.1.1",
        }
    }

    /// What `--add-host NAME:host-gateway` resolves to.
    pub fn host_gateway(&self) -> Option<&'static str> {
        match self {
            Mode::Slirp | Mode::User => Some(SLIRP_GATEWAY),
            _ => None,
        }
    }
}

/// Network settings of a container beyond its mode (HostConfig.net).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NetConfig {
    /// `-p`, as given (host port 0: choose one at start).
    #[serde(default)]
    pub ports: Vec<ports::PortSpec>,
    /// `-P`: publish every exposed port on a random host port.
    #[serde(default)]
    pub publish_all: bool,
    /// The user-defined networks joined (`--network NAME`, `network connect`).
    #[serde(default)]
    pub networks: Vec<Attachment>,
    /// Set when `network disconnect` took the container off its last
    /// network (its mode is then `none`): unlike a container made with
    /// `--network none`, it may be connected again (compose 1.x
    /// disconnects and reconnects every container before starting it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disconnected: bool,
}

/// A container's membership of a user-defined network.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Attachment {
    pub network: String,
    /// `--network-alias`, `network connect --alias`.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// `--ip`.
    #[serde(default)]
    pub ip: Option<String>,
}

/// Put the container's own address in its /etc/hosts (user networks: known
/// only once it is plugged in), replacing the line of an earlier start.
pub fn set_own_address(hosts: &std::path::Path, ip: &str, hostname: &str) -> std::io::Result<()> {
    let old = std::fs::read_to_string(hosts)?;
    let suffix = format!("\t{hostname}");
    let mut out: String = old.lines().filter(|l| !l.ends_with(&suffix)).map(|l| format!("{l}\n")).collect();
    out.push_str(&format!("{ip}{suffix}\n"));
    std::fs::write(hosts, out)
}

/// resolv.conf for a container: `--dns` servers, else the network's
/// resolver (slirp4netns' forwarder) or the host's non-loopback ones; the
/// host's search and options lines unless `--dns-search`/`--dns-option`.
pub fn resolv_conf(mode: &Mode, host: &str, dns: &[String], search: &[String], options: &[String]) -> String {
    let mut out = String::new();
    let mut servers: Vec<String> = dns.to_vec();
    if servers.is_empty() && *mode == Mode::Slirp {
        servers.push(SLIRP_DNS.into());
    }
    for l in host.lines() {
        let mut words = l.split_whitespace();
        let keep = match words.next() {
            Some("nameserver") => dns.is_empty() && *mode != Mode::Slirp,
            Some("search") | Some("domain") => search.is_empty(),
            Some("options") => options.is_empty(),
            _ => true,
        };
        // A loopback resolver on the host is unreachable from the container.
        let loopback = l.starts_with("nameserver") && (l.contains(" 127.") || l.contains(" ::1"));
        if keep && !(loopback && *mode != Mode::Host) {
            out.push_str(l);
            out.push('\n');
        }
    }
    let mut head = String::new();
    for s in &servers {
        head.push_str(&format!("nameserver {s}\n"));
    }
    if !search.is_empty() {
        out.push_str(&format!("search {}\n", search.join(" ")));
    }
    if !options.is_empty() {
        out.push_str(&format!("options {}\n", options.join(" ")));
    }
    head + &out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_per_mode() {
        let host = "nameserver 127.0.0.53\nnameserver 192.0.2.53\nsearch example.org\noptions edns0\n";
        assert_eq!(
            resolv_conf(&Mode::Slirp, host, &[], &[], &[]),
            "nameserver 10.0.2.3\nsearch example.org\noptions edns0\n"
        );
        assert_eq!(
            resolv_conf(&Mode::None, host, &[], &[], &[]),
            "nameserver 192.0.2.53\nsearch example.org\noptions edns0\n"
        );
        assert_eq!(
            resolv_conf(&Mode::Slirp, host, &["1.1.1.1".into()], &["a.test".into()], &["ndots:2".into()]),
            "nameserver 1.1.1.1\nsearch a.test\noptions ndots:2\n"
        );
    }

    #[test]
    fn modes() {
        assert_eq!(Mode::parse("bridge").unwrap(), Mode::Slirp);
        assert_eq!(Mode::parse("").unwrap(), Mode::Slirp);
        assert_eq!(Mode::parse("pasta").unwrap(), Mode::Pasta);
        assert!(Mode::parse("nosuchnet").unwrap_err().to_string().contains("network nosuchnet not found"));
    }
}
