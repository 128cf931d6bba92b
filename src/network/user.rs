//! User-defined networks, the records:
//!
//! ```text
//! DATA/networks/NAME.json   the record (id, subnet, gateway, internal, labels, created)
//! DATA/networks.lock        held while networks are created or removed, so two
//!                           concurrent creates never get one subnet or one name
//! ```
//!
//! Subnets given with `--subnet` must not overlap another network's (nor
//! slirp4netns' 10.0.2.0/24, which every default-network container sees);
//! without one, the first free /24 of 10.89.0.0/16 is taken, as podman does.

use std::collections::BTreeMap;
use std::fs;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Error, IoContext, Result};
use crate::paths::Paths;
use crate::state::{self, Damage, Lock, Record};

/// Docker's predefined networks, listed by `network ls` and never removable.
pub const BUILTIN: &[(&str, &str)] = &[("bridge", "bridge"), ("host", "host"), ("none", "null")];

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Network {
    pub name: String,
    /// 64 hex digits, as Docker's.
    pub id: String,
    /// RFC 3339 with nanoseconds.
    pub created: String,
    pub driver: String,
    /// `a.b.c.d/len`, the network address.
    pub subnet: String,
    pub gateway: String,
    #[serde(default)]
    pub internal: bool,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The record does not parse: listed, named on stderr, removable only.
    #[serde(skip)]
    pub damaged: Option<Damage>,
}

impl Network {
    /// A damaged record as a placeholder: its name from the file name, an
    /// id made from it (stable, so `ls` and `rm ID` agree).
    fn damaged(name: &str, damage: Damage) -> Network {
        let id = crate::storage::compress::sha256_digest(format!("rcon-damaged-network-{name}").as_bytes());
        Network {
            name: name.to_string(),
            id: id.trim_start_matches("sha256:").to_string(),
            created: String::new(),
            driver: "bridge".into(),
            subnet: String::new(),
            gateway: String::new(),
            internal: false,
            labels: BTreeMap::new(),
            damaged: Some(damage),
        }
    }

    /// The error for any use but listing and removal of a damaged network.
    pub fn damaged_error(&self) -> Option<Error> {
        Some(self.damaged.as_ref()?.error("network", &self.name, format!("rcon network rm {}", self.name)))
    }

    /// Whether a container may have `ip` here: inside the subnet, and
    /// neither its network nor its broadcast address nor the gateway.
    pub fn usable(&self, ip: Ipv4Addr) -> bool {
        let Ok(sub) = Subnet::parse(&self.subnet) else { return false };
        let a = u32::from(ip);
        sub.contains(a) && a != sub.addr && a != sub.broadcast() && ip.to_string() != self.gateway
    }

    /// The addresses containers may have, lowest first.
    pub fn hosts(&self) -> impl Iterator<Item = Ipv4Addr> + '_ {
        let range = Subnet::parse(&self.subnet).map(|s| s.addr + 1..s.broadcast()).unwrap_or(0..0);
        range.map(Ipv4Addr::from).filter(|a| self.usable(*a))
    }
}

/// An IPv4 subnet: network address and prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet {
    pub addr: u32,
    pub len: u8,
}

impl Subnet {
    pub fn parse(s: &str) -> Result<Subnet> {
        let bad = || {
            Error::InvalidArgument(format!(
                "invalid subnet {s:?}: use an IPv4 CIDR such as 10.90.0.0/24 (IPv6 is not supported)"
            ))
        };
        let (a, l) = s.split_once('/').ok_or_else(bad)?;
        let addr: Ipv4Addr = a.parse().map_err(|_| bad())?;
        let len: u8 = l.parse().map_err(|_| bad())?;
        // Narrower than /30 leaves no room for a gateway and a container.
        if len > 30 {
            return Err(bad());
        }
        let sub = Subnet { addr: u32::from(addr), len };
        if sub.addr & !sub.mask() != 0 {
            return Err(Error::InvalidArgument(format!(
                "invalid subnet {s:?}: host bits are set; the network address is {}",
                Subnet { addr: sub.addr & sub.mask(), len }
            )));
        }
        Ok(sub)
    }

    pub fn mask(&self) -> u32 {
        if self.len == 0 {
            0
        } else {
            u32::MAX << (32 - self.len)
        }
    }

    pub fn broadcast(&self) -> u32 {
        self.addr | !self.mask()
    }

    pub fn contains(&self, ip: u32) -> bool {
        ip & self.mask() == self.addr
    }

    pub fn overlaps(&self, other: &Subnet) -> bool {
        self.contains(other.addr) || other.contains(self.addr)
    }

    /// The first host address, Docker's default gateway.
    pub fn first_host(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.addr + 1)
    }
}

impl std::fmt::Display for Subnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", Ipv4Addr::from(self.addr), self.len)
    }
}

/// The subnet slirp4netns gives default-network containers.
const SLIRP_SUBNET: Subnet = Subnet { addr: 0x0a00_0200, len: 24 };

/// The first /24 of 10.89.0.0/16 that overlaps none of `taken`.
pub fn allocate(taken: &[Subnet]) -> Option<Subnet> {
    (0..=255u32)
        .map(|n| Subnet { addr: 0x0a59_0000 | (n << 8), len: 24 })
        .find(|s| !taken.iter().any(|t| t.overlaps(s)))
}

/// Docker's rule for network names (as for containers).
pub fn valid_name(n: &str) -> bool {
    let b = n.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[1..].iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

pub struct NetworkStore {
    root: PathBuf,
}

impl NetworkStore {
    pub fn open(paths: &Paths) -> Result<NetworkStore> {
        let root = paths.data.join("networks");
        state::ensure_dir(&root)?;
        Ok(NetworkStore { root })
    }

    pub fn lock(&self) -> Result<Lock> {
        Lock::exclusive(&self.root.with_extension("lock"))
    }

    /// Every user network whose record is whole, by name.
    pub fn all(&self) -> Vec<Network> {
        self.listed().into_iter().filter(|n| n.damaged.is_none()).collect()
    }

    /// Every user network, the damaged ones as placeholders (`network ls`).
    pub fn listed(&self) -> Vec<Network> {
        let mut v: Vec<Network> = fs::read_dir(&self.root)
            .map(|rd| {
                rd.flatten()
                    .filter_map(|e| {
                        let file = e.file_name().to_string_lossy().into_owned();
                        // Temp files of writes (`.NAME.json.tmp-PID`) start with a dot.
                        let name = file.strip_suffix(".json").filter(|n| !n.starts_with('.'))?.to_string();
                        match state::read_record::<Network>(&e.path()) {
                            Record::Read(n) => Some(n),
                            Record::Missing => None,
                            Record::Damaged(reason) => Some(Network::damaged(&name, Damage { path: e.path(), reason })),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// A network by name or id, a damaged one too (for `network rm`).
    pub fn find_any(&self, key: &str) -> Result<Network> {
        match self.listed().into_iter().find(|n| n.damaged.is_some() && (n.name == key || n.id == key)) {
            Some(n) => Ok(n),
            None => self.find(key),
        }
    }

    /// A network by name, full id or unique id prefix (as Docker resolves them).
    /// A damaged one is an error that says how to remove it.
    pub fn find(&self, key: &str) -> Result<Network> {
        let (all, damaged): (Vec<Network>, Vec<Network>) = self.listed().into_iter().partition(|n| n.damaged.is_none());
        if let Some(e) = damaged.iter().find(|n| n.name == key || n.id == key).and_then(Network::damaged_error) {
            return Err(e);
        }
        if let Some(n) = all.iter().find(|n| n.name == key || n.id == key) {
            return Ok(n.clone());
        }
        let by_prefix: Vec<&Network> = all.iter().filter(|n| !key.is_empty() && n.id.starts_with(key)).collect();
        match by_prefix.as_slice() {
            [n] => Ok((*n).clone()),
            [] => Err(Error::NoSuchObject(format!("network {key} not found: see rcon network ls"))),
            _ => Err(Error::InvalidArgument(format!(
                "network id prefix {key} is ambiguous: give more of the id or the name"
            ))),
        }
    }

    /// Write a new record. The caller holds the lock and has checked the name
    /// and subnet against `all()` under it.
    pub fn insert(&self, n: &Network) -> Result<()> {
        state::replace_json(&self.root.join(format!("{}.json", n.name)), n)
    }

    pub fn remove(&self, name: &str) -> Result<()> {
        fs::remove_file(self.root.join(format!("{name}.json"))).ctx(|| format!("remove network {name}"))
    }

    /// The subnets new networks must not overlap.
    pub fn taken(&self) -> Vec<Subnet> {
        let mut v: Vec<Subnet> = self.all().iter().filter_map(|n| Subnet::parse(&n.subnet).ok()).collect();
        v.push(SLIRP_SUBNET);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets() {
        let s = Subnet::parse("10.90.0.0/16").unwrap();
        assert_eq!(s.to_string(), "10.90.0.0/16");
        assert_eq!(s.first_host().to_string(), "10.90.0.1");
        assert!(s.overlaps(&Subnet::parse("10.90.3.0/24").unwrap()));
        assert!(!s.overlaps(&Subnet::parse("10.91.0.0/24").unwrap()));
        assert!(Subnet::parse("10.90.0.1/16").unwrap_err().to_string().contains("10.90.0.0/16"));
        assert!(Subnet::parse("fd00::/64").is_err());
        assert!(Subnet::parse("10.0.0.0/31").is_err());
    }

    #[test]
    fn container_addresses() {
        let n = Network {
            name: "n".into(),
            id: String::new(),
            created: String::new(),
            driver: "bridge".into(),
            subnet: "10.90.0.0/29".into(),
            gateway: "10.90.0.3".into(),
            internal: false,
            labels: BTreeMap::new(),
            damaged: None,
        };
        let hosts: Vec<String> = n.hosts().map(|a| a.to_string()).collect();
        assert_eq!(hosts, ["10.90.0.1", "10.90.0.2", "10.90.0.4", "10.90.0.5", "10.90.0.6"]);
        for bad in ["10.90.0.0", "10.90.0.3", "10.90.0.7", "10.90.0.8"] {
            assert!(!n.usable(bad.parse().unwrap()), "{bad}");
        }
    }

    #[test]
    fn allocation_skips_taken() {
        let taken = [Subnet::parse("10.89.0.0/24").unwrap(), Subnet::parse("10.89.1.0/25").unwrap()];
        assert_eq!(allocate(&taken).unwrap().to_string(), "10.89.2.0/24");
        assert_eq!(allocate(&[]).unwrap().to_string(), "10.89.0.0/24");
        assert!(allocate(&[Subnet::parse("10.89.0.0/16").unwrap()]).is_none());
    }
}
