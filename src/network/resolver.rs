//! The resolver of user networks: a thread of the holder (`holder.rs`)
//! listening on each bridge's gateway, port 53/udp. Its own thread because
//! the holder's plumbing (rtnetlink) waits for the kernel's rtnl lock, which a
//! busy machine tearing down network namespaces holds for seconds: name
//! lookups must not wait behind that.
//!
//! It answers A queries for the names, aliases and short ids of the
//! containers on the network the query came to (other types of a known
//! name: an empty answer) from the table the holder publishes after every
//! change, and relays anything else to the host's resolvers through a
//! socket opened in the host's network namespace.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::dns;
use super::holder::Endpoint;

enum Msg {
    Add { network: String, internal: bool, sock: UdpSocket },
    Remove(String),
}

pub struct Resolver {
    tx: Sender<Msg>,
    /// A byte here wakes the thread to read `tx`'s messages.
    wake: OwnedFd,
    table: Arc<Mutex<Vec<Endpoint>>>,
}

impl Resolver {
    /// `upstream`: a socket in the host's namespace; `servers`: where to relay.
    pub fn start(upstream: UdpSocket, servers: Vec<SocketAddr>) -> std::io::Result<Resolver> {
        let mut fds = [0; 2];
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let (wake_r, wake) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        let (tx, rx) = channel();
        let table = Arc::new(Mutex::new(Vec::new()));
        let mut t = Thread {
            rx,
            wake: wake_r,
            table: table.clone(),
            upstream,
            servers,
            nets: BTreeMap::new(),
            pending: BTreeMap::new(),
            next_id: 1,
        };
        std::thread::Builder::new().name("resolver".into()).spawn(move || t.run())?;
        Ok(Resolver { tx, wake, table })
    }

    fn send(&self, m: Msg) {
        let _ = self.tx.send(m);
        unsafe { libc::write(self.wake.as_raw_fd(), b"w".as_ptr().cast(), 1) };
    }

    /// Serve `network` on `sock` (bound to its gateway, port 53).
    pub fn add(&self, network: &str, internal: bool, sock: UdpSocket) {
        self.send(Msg::Add { network: network.into(), internal, sock });
    }

    pub fn remove(&self, network: &str) {
        self.send(Msg::Remove(network.into()));
    }

    /// The containers attached now.
    pub fn publish(&self, endpoints: &[Endpoint]) {
        if let Ok(mut t) = self.table.lock() {
            *t = endpoints.to_vec();
        }
    }
}

struct Thread {
    rx: Receiver<Msg>,
    wake: OwnedFd,
    table: Arc<Mutex<Vec<Endpoint>>>,
    upstream: UdpSocket,
    servers: Vec<SocketAddr>,
    /// network -> (its socket, internal)
    nets: BTreeMap<String, (UdpSocket, bool)>,
    /// Our query id -> (network, client, its id, when).
    pending: BTreeMap<u16, (String, SocketAddr, u16, Instant)>,
    next_id: u16,
}

impl Thread {
    fn run(&mut self) {
        loop {
            self.pending.retain(|_, p| p.3.elapsed() < Duration::from_secs(10));
            let names: Vec<String> = self.nets.keys().cloned().collect();
            let mut fds = vec![
                libc::pollfd { fd: self.wake.as_raw_fd(), events: libc::POLLIN, revents: 0 },
                libc::pollfd { fd: self.upstream.as_raw_fd(), events: libc::POLLIN, revents: 0 },
            ];
            fds.extend(self.nets.values().map(|(s, _)| libc::pollfd {
                fd: s.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            }));
            if unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 1000) } <= 0 {
                continue;
            }
            if fds[0].revents != 0 {
                let mut b = [0u8; 64];
                while unsafe { libc::read(self.wake.as_raw_fd(), b.as_mut_ptr().cast(), b.len()) } > 0 {}
                while let Ok(m) = self.rx.try_recv() {
                    match m {
                        Msg::Add { network, internal, sock } => {
                            let _ = sock.set_nonblocking(true);
                            self.nets.insert(network, (sock, internal));
                        }
                        Msg::Remove(n) => {
                            self.nets.remove(&n);
                        }
                    }
                }
            }
            if fds[1].revents != 0 {
                self.relay_upstream();
            }
            for (j, name) in names.iter().enumerate() {
                if fds[2 + j].revents != 0 {
                    self.answer(name);
                }
            }
        }
    }

    fn answer(&mut self, network: &str) {
        let mut buf = [0u8; 1500];
        let Some((sock, internal)) = self.nets.get(network) else { return };
        while let Ok((n, from)) = sock.recv_from(&mut buf) {
            let pkt = &buf[..n];
            let Some(q) = dns::parse_query(pkt) else { continue };
            let addrs = lookup(&self.table, network, &q.name);
            let reply = if !addrs.is_empty() {
                dns::answer(pkt, &q, &addrs, 600)
            } else if *internal || self.servers.is_empty() {
                dns::error(pkt, &q, if *internal { dns::NXDOMAIN } else { dns::SERVFAIL })
            } else {
                let id = self.next_id;
                self.next_id = self.next_id.wrapping_add(1).max(1);
                let mut fwd = pkt.to_vec();
                dns::set_id(&mut fwd, id);
                if self.upstream.send_to(&fwd, self.servers[0]).is_ok() {
                    self.pending.insert(id, (network.to_string(), from, q.id, Instant::now()));
                }
                continue;
            };
            let _ = sock.send_to(&reply, from);
        }
    }

    fn relay_upstream(&mut self) {
        let mut buf = [0u8; 4096];
        while let Ok((n, _)) = self.upstream.recv_from(&mut buf) {
            let Some(id) = dns::id(&buf[..n]) else { continue };
            let Some((net, client, orig, _)) = self.pending.remove(&id) else { continue };
            dns::set_id(&mut buf[..n], orig);
            if let Some((sock, _)) = self.nets.get(&net) {
                let _ = sock.send_to(&buf[..n], client);
            }
        }
    }
}

/// The addresses `name` has on `network`: containers by name, alias or
/// 12-digit short id.
fn lookup(table: &Mutex<Vec<Endpoint>>, network: &str, name: &str) -> Vec<Ipv4Addr> {
    let Ok(t) = table.lock() else { return Vec::new() };
    t.iter()
        .filter(|e| e.network == network)
        .filter(|e| {
            e.name.eq_ignore_ascii_case(name)
                || e.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
                || (name.len() == 12 && e.container.starts_with(name))
        })
        .filter_map(|e| e.ip.parse().ok())
        .collect()
}
