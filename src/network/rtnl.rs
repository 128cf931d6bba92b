//! The two network changes on every start of a container on a user network,
//! made with system calls instead of running iproute2's `ip` (about 4 ms an
//! exec here, twice per container): one rtnetlink request creates the veth
//! pair with its peer already in the container's namespace, on the bridge,
//! up; then ioctls from a thread inside that namespace give the peer its
//! address and bring it up (the kernel adds the subnet's route). Bridges
//! and deletions are single requests too, so no iproute2 is needed.

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MASTER: u16 = 10;
const IFLA_LINKINFO: u16 = 18;
const IFLA_NET_NS_PID: u16 = 19;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const VETH_INFO_PEER: u16 = 1;
const NLA_F_NESTED: u16 = 1 << 15;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;

/// A netlink message under construction: attributes, nested ones closed by
/// patching their length once their content is written.
struct Msg(Vec<u8>);

impl Msg {
    fn align(&mut self) {
        while !self.0.len().is_multiple_of(4) {
            self.0.push(0);
        }
    }

    fn attr(&mut self, kind: u16, data: &[u8]) {
        self.0.extend_from_slice(&((4 + data.len()) as u16).to_ne_bytes());
        self.0.extend_from_slice(&kind.to_ne_bytes());
        self.0.extend_from_slice(data);
        self.align();
    }

    fn begin(&mut self, kind: u16) -> usize {
        let at = self.0.len();
        self.0.extend_from_slice(&[0, 0]);
        self.0.extend_from_slice(&(kind | NLA_F_NESTED).to_ne_bytes());
        at
    }

    fn end(&mut self, at: usize) {
        let len = (self.0.len() - at) as u16;
        self.0[at..at + 2].copy_from_slice(&len.to_ne_bytes());
    }

    /// struct ifinfomsg: family, pad, type, index, flags, change.
    fn ifinfo(&mut self, flags: u32, change: u32) {
        self.0.extend_from_slice(&[libc::AF_UNSPEC as u8, 0, 0, 0]);
        self.0.extend_from_slice(&0i32.to_ne_bytes());
        self.0.extend_from_slice(&flags.to_ne_bytes());
        self.0.extend_from_slice(&change.to_ne_bytes());
    }
}

fn cstr(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

fn mac_bytes(mac: &str) -> io::Result<Vec<u8>> {
    let v: Vec<u8> = mac.split(':').filter_map(|b| u8::from_str_radix(b, 16).ok()).collect();
    if v.len() != 6 {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("bad MAC {mac}")));
    }
    Ok(v)
}

/// The RTM_NEWLINK request of `create_veth`, without its netlink header.
fn veth_request(host_if: &str, master: u32, peer: &str, peer_mac: &str, peer_pid: u32) -> io::Result<Vec<u8>> {
    let mut m = Msg(Vec::new());
    m.ifinfo(libc::IFF_UP as u32, libc::IFF_UP as u32);
    m.attr(IFLA_IFNAME, &cstr(host_if));
    m.attr(IFLA_MASTER, &master.to_ne_bytes());
    let info = m.begin(IFLA_LINKINFO);
    m.attr(IFLA_INFO_KIND, b"veth");
    let data = m.begin(IFLA_INFO_DATA);
    let p = m.begin(VETH_INFO_PEER);
    m.ifinfo(0, 0);
    m.attr(IFLA_IFNAME, &cstr(peer));
    m.attr(IFLA_ADDRESS, &mac_bytes(peer_mac)?);
    m.attr(IFLA_NET_NS_PID, &peer_pid.to_ne_bytes());
    m.end(p);
    m.end(data);
    m.end(info);
    Ok(m.0)
}

/// A veth pair: `host_if` on the bridge `master` (an ifindex in our
/// namespace), up; its peer `peer` with `peer_mac` in the network
/// namespace of process `peer_pid`, down.
pub fn create_veth(host_if: &str, master: u32, peer: &str, peer_mac: &str, peer_pid: u32) -> io::Result<()> {
    let body = veth_request(host_if, master, peer, peer_mac, peer_pid)?;
    request(libc::RTM_NEWLINK, (libc::NLM_F_CREATE | libc::NLM_F_EXCL) as u16, &body)
}

/// A bridge `name` with a fixed `mac` (a bridge without one takes its lowest
/// port's, which changes as ports come and go), holding `gateway/prefix`,
/// up.
pub fn create_bridge(name: &str, mac: &str, gateway: Ipv4Addr, prefix: u8) -> io::Result<()> {
    let mut m = Msg(Vec::new());
    m.ifinfo(libc::IFF_UP as u32, libc::IFF_UP as u32);
    m.attr(IFLA_IFNAME, &cstr(name));
    m.attr(IFLA_ADDRESS, &mac_bytes(mac)?);
    let info = m.begin(IFLA_LINKINFO);
    m.attr(IFLA_INFO_KIND, b"bridge");
    m.end(info);
    request(libc::RTM_NEWLINK, (libc::NLM_F_CREATE | libc::NLM_F_EXCL) as u16, &m.0)?;
    let index = index_of(name)?;
    // struct ifaddrmsg: family, prefixlen, flags, scope, index.
    let mut a = Msg(vec![libc::AF_INET as u8, prefix, 0, 0]);
    a.0.extend_from_slice(&index.to_ne_bytes());
    a.attr(IFA_LOCAL, &gateway.octets());
    a.attr(IFA_ADDRESS, &gateway.octets());
    let res = request(libc::RTM_NEWADDR, (libc::NLM_F_CREATE | libc::NLM_F_EXCL) as u16, &a.0);
    if res.is_err() {
        let _ = delete_link(name);
    }
    res
}

/// Remove the interface `name` (a veth takes its peer along).
pub fn delete_link(name: &str) -> io::Result<()> {
    let mut m = Msg(Vec::new());
    m.ifinfo(0, 0);
    m.attr(IFLA_IFNAME, &cstr(name));
    request(libc::RTM_DELLINK, 0, &m.0)
}

/// The index of interface `name` in our namespace.
pub fn index_of(name: &str) -> io::Result<u32> {
    let c = std::ffi::CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    match unsafe { libc::if_nametoindex(c.as_ptr()) } {
        0 => Err(io::Error::last_os_error()),
        i => Ok(i),
    }
}

/// Send one request on a fresh NETLINK_ROUTE socket and wait for its ACK.
fn request(kind: u16, flags: u16, body: &[u8]) -> io::Result<()> {
    let fd = unsafe { libc::socket(libc::AF_NETLINK, libc::SOCK_RAW | libc::SOCK_CLOEXEC, libc::NETLINK_ROUTE) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut msg = Vec::with_capacity(16 + body.len());
    msg.extend_from_slice(&((16 + body.len()) as u32).to_ne_bytes());
    msg.extend_from_slice(&kind.to_ne_bytes());
    msg.extend_from_slice(&((libc::NLM_F_REQUEST | libc::NLM_F_ACK) as u16 | flags).to_ne_bytes());
    msg.extend_from_slice(&1u32.to_ne_bytes());
    msg.extend_from_slice(&0u32.to_ne_bytes());
    msg.extend_from_slice(body);
    if unsafe { libc::send(sock.as_raw_fd(), msg.as_ptr().cast(), msg.len(), 0) } < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut buf = [0u8; 4096];
    let n = unsafe { libc::recv(sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    // NLMSG_ERROR (2): an int error (0 = the ACK) after the 16-byte header.
    if n >= 20 && u16::from_ne_bytes([buf[4], buf[5]]) == libc::NLMSG_ERROR as u16 {
        let err = i32::from_ne_bytes([buf[16], buf[17], buf[18], buf[19]]);
        return if err == 0 { Ok(()) } else { Err(io::Error::from_raw_os_error(-err)) };
    }
    Err(io::Error::other("unexpected netlink answer"))
}

/// In the network namespace `netns` (a thread enters it; sockets keep the
/// namespace they were made in): give `ifname` `ip` with `netmask` and
/// bring it up.
pub fn configure_in(netns: RawFd, ifname: &str, ip: Ipv4Addr, netmask: Ipv4Addr) -> io::Result<()> {
    let ifname = ifname.to_string();
    std::thread::scope(|s| {
        s.spawn(move || {
            if unsafe { libc::setns(netns, libc::CLONE_NEWNET) } != 0 {
                return Err(io::Error::last_os_error());
            }
            set_address(&ifname, ip, netmask)
        })
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("configuring thread panicked")))
    })
}

/// An AF_INET socket and an ifreq naming `ifname`, for the interface ioctls.
fn ifreq_for(ifname: &str) -> io::Result<(OwnedFd, libc::ifreq)> {
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    if ifname.len() >= req.ifr_name.len() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "interface name too long"));
    }
    for (i, b) in ifname.bytes().enumerate() {
        req.ifr_name[i] = b as libc::c_char;
    }
    Ok((sock, req))
}

fn ioctl(sock: &OwnedFd, req: &mut libc::ifreq, op: libc::c_ulong) -> io::Result<()> {
    if unsafe { libc::ioctl(sock.as_raw_fd(), op, req as *mut libc::ifreq) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Bring `ifname` up, in the calling thread's network namespace.
pub fn link_up(ifname: &str) -> io::Result<()> {
    let (sock, mut req) = ifreq_for(ifname)?;
    up(&sock, &mut req)
}

fn up(sock: &OwnedFd, req: &mut libc::ifreq) -> io::Result<()> {
    ioctl(sock, req, libc::SIOCGIFFLAGS)?;
    unsafe { req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    ioctl(sock, req, libc::SIOCSIFFLAGS)
}

fn set_address(ifname: &str, ip: Ipv4Addr, netmask: Ipv4Addr) -> io::Result<()> {
    let (sock, mut req) = ifreq_for(ifname)?;
    let sin = |a: Ipv4Addr| {
        let mut s: libc::sockaddr_in = unsafe { std::mem::zeroed() };
        s.sin_family = libc::AF_INET as libc::sa_family_t;
        s.sin_addr.s_addr = u32::from(a).to_be();
        unsafe { std::mem::transmute::<libc::sockaddr_in, libc::sockaddr>(s) }
    };
    req.ifr_ifru.ifru_addr = sin(ip);
    ioctl(&sock, &mut req, libc::SIOCSIFADDR)?;
    req.ifr_ifru.ifru_netmask = sin(netmask);
    ioctl(&sock, &mut req, libc::SIOCSIFNETMASK)?;
    up(&sock, &mut req)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn veth_request_layout() {
        let b = veth_request("rv0", 7, "eth0", "02:42:0a:59:00:02", 4242).unwrap();
        // ifinfomsg with IFF_UP in flags and change
        assert_eq!(&b[8..12], &(libc::IFF_UP as u32).to_ne_bytes());
        assert_eq!(&b[12..16], &(libc::IFF_UP as u32).to_ne_bytes());
        // first attribute: IFLA_IFNAME "rv0\0", 8 bytes
        assert_eq!(&b[16..24], &[8, 0, 3, 0, b'r', b'v', b'0', 0]);
        // then IFLA_MASTER 7
        assert_eq!(&b[24..32], &[8, 0, 10, 0, 7, 0, 0, 0]);
        // the nested IFLA_LINKINFO spans the rest of the message
        let len = u16::from_ne_bytes([b[32], b[33]]) as usize;
        assert_eq!(32 + len, b.len());
        assert_eq!(u16::from_ne_bytes([b[34], b[35]]), IFLA_LINKINFO | NLA_F_NESTED);
        // the peer's MAC and pid are in there
        let find = |needle: &[u8]| b.windows(needle.len()).any(|w| w == needle);
        assert!(find(&[10, 0, 1, 0, 0x02, 0x42, 0x0a, 0x59, 0x00, 0x02]));
        assert!(find(&[8, 0, 19, 0]) && find(&4242u32.to_ne_bytes()));
        assert!(veth_request("rv0", 7, "eth0", "nonsense", 1).is_err());
    }
}
