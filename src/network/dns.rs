//! DNS messages for the embedded resolver of user-defined networks (RFC 1035 subset).
//!
//! Containers on a user network get a resolver (like Docker's 127.0.0.11) that knows the names and
//! aliases of their peers and forwards every other query to the host's resolvers. Only what that
//! needs is here: one-question queries, A answers, error replies, id rewriting for relaying. All
//! are pure functions on bytes, so hostile packets from containers are testable without sockets.
use std::net::{Ipv4Addr, SocketAddr};

/// A query's single question, as needed to answer or forward it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub id: u16,
    /// Lower-cased, without the trailing dot ("web", "db.example.org").
    pub name: String,
    pub qtype: u16,
    pub qclass: u16,
    /// Byte offset just after the question section in the query (where answers go).
    pub end: usize,
}

pub const TYPE_A: u16 = 1;
pub const TYPE_AAAA: u16 = 28;
pub const TYPE_ANY: u16 = 255;
pub const NXDOMAIN: u8 = 3;
pub const SERVFAIL: u8 = 2;
pub const REFUSED: u8 = 5;

const HEADER_LEN: usize = 12;
const CLASS_IN: u16 = 1;
/// Replies never carry EDNS, so clients only promise to accept classic UDP size.
const MAX_UDP_REPLY: usize = 512;

fn be16(pkt: &[u8], at: usize) -> Option<u16> {
    pkt.get(at..at.checked_add(2)?).map(|b| u16::from_be_bytes([b[0], b[1]]))
}

/// Parse a query: QR bit clear, opcode 0 (QUERY), exactly one question; any
/// answer/authority/additional records after it (e.g. an EDNS OPT record) are
/// allowed and ignored. Labels must not use compression pointers in a query's
/// question (refuse them: return None); reject labels > 63 bytes, names > 255
/// bytes, truncated packets. Names are lower-cased ASCII; non-printable bytes make it None.
pub fn parse_query(pkt: &[u8]) -> Option<Question> {
    let id = id(pkt)?;
    let flags = *pkt.get(2)?;
    // Answering a reply (QR) would reflect it back at its sender: that is how resolver loops start.
    if flags & 0x80 != 0 || (flags >> 3) & 0x0f != 0 || be16(pkt, 4)? != 1 {
        return None;
    }
    let mut pos = HEADER_LEN;
    let mut name = String::new();
    loop {
        let len = usize::from(*pkt.get(pos)?);
        pos += 1;
        if len == 0 {
            break;
        }
        // 0xC0 is a pointer, 0x40/0x80 reserved types: a client has no reason to compress its only name.
        if len > 63 {
            return None;
        }
        let label = pkt.get(pos..pos + len)?;
        pos += len;
        // Wire length of the name so far, counting the root label still to come.
        if pos - HEADER_LEN + 1 > 255 {
            return None;
        }
        // A dot inside a label would make "a.b" (one label) match "a"."b".
        if !label.iter().all(|&b| b.is_ascii_graphic() && b != b'.') {
            return None;
        }
        if !name.is_empty() {
            name.push('.');
        }
        name.extend(label.iter().map(|b| char::from(b.to_ascii_lowercase())));
    }
    let qtype = be16(pkt, pos)?;
    let qclass = be16(pkt, pos + 2)?;
    Some(Question { id, name, qtype, qclass, end: pos + 4 })
}

/// Header plus the query's question; RD is echoed because clients check it, RA set since we forward.
fn reply_head(pkt: &[u8], q: &Question, aa: bool, rcode: u8, ancount: u16) -> Vec<u8> {
    let question = pkt.get(HEADER_LEN..q.end).unwrap_or_default();
    let rd = pkt.get(2).map_or(0, |f| f & 0x01);
    let mut out = Vec::with_capacity(HEADER_LEN + question.len() + 16 * usize::from(ancount));
    out.extend(q.id.to_be_bytes());
    out.extend([0x80 | if aa { 0x04 } else { 0 } | rd, 0x80 | (rcode & 0x0f), 0, u8::from(!question.is_empty())]);
    out.extend(ancount.to_be_bytes());
    out.extend([0, 0, 0, 0]);
    out.extend_from_slice(question);
    out
}

/// A reply to `pkt` (whose question is `q`): same id, QR=1, opcode 0, AA=1,
/// RD copied from the query, RA=1, rcode 0; the question section copied
/// verbatim from the query (bytes 12..q.end); for qtype A or ANY (class IN=1)
/// one A record per address (name as a compression pointer to offset 12, type A,
/// class IN, the given ttl, rdlength 4); for other types no answers (NOERROR,
/// "no data"). ancount set accordingly, nscount = arcount = 0 (the EDNS record
/// of the query is dropped).
pub fn answer(pkt: &[u8], q: &Question, addrs: &[Ipv4Addr], ttl: u32) -> Vec<u8> {
    let wants_a = q.qclass == CLASS_IN && (q.qtype == TYPE_A || q.qtype == TYPE_ANY);
    let addrs = if wants_a { addrs } else { &[] };
    // Drop surplus addresses rather than exceed what a non-EDNS client reads: a partial list still works.
    let room = MAX_UDP_REPLY.saturating_sub(q.end.max(HEADER_LEN)) / 16;
    let addrs = &addrs[..addrs.len().min(room)];
    let count = u16::try_from(addrs.len()).unwrap_or(u16::MAX);
    let mut out = reply_head(pkt, q, true, 0, count);
    for addr in addrs {
        // The name is a pointer to the question's: it is the only name in the message.
        out.extend([0xc0, 0x0c, 0, TYPE_A as u8, 0, CLASS_IN as u8]);
        out.extend(ttl.to_be_bytes());
        out.extend([0, 4]);
        out.extend(addr.octets());
    }
    out
}

/// An error reply (NXDOMAIN, SERVFAIL, REFUSED…): header + question, no records, AA=0, RA=1, RD copied.
pub fn error(pkt: &[u8], q: &Question, rcode: u8) -> Vec<u8> {
    reply_head(pkt, q, false, rcode, 0)
}

/// The id of any DNS message (query or reply), None if shorter than a header.
pub fn id(pkt: &[u8]) -> Option<u16> {
    pkt.get(..HEADER_LEN).and_then(|header| be16(header, 0))
}

/// Overwrite the id of a message (used to relay forwarded queries under our own ids).
pub fn set_id(pkt: &mut [u8], id: u16) {
    if let Some(b) = pkt.get_mut(..2) {
        b.copy_from_slice(&id.to_be_bytes());
    }
}

/// The IPv4 nameservers of a resolv.conf text, as port-53 socket addresses, in
/// order ("nameserver 127.0.0.53" included: the forwarder's socket lives in the
/// host's network namespace, where loopback resolvers work). IPv6 and malformed
/// lines are skipped; comments (# and ;) ignored.
pub fn upstream_servers(resolv_conf: &str) -> Vec<SocketAddr> {
    resolv_conf
        .lines()
        .filter_map(|line| {
            let mut words = line.split(['#', ';']).next().unwrap_or_default().split_whitespace();
            if words.next() != Some("nameserver") {
                return None;
            }
            let ip: Ipv4Addr = words.next()?.parse().ok()?;
            Some(SocketAddr::from((ip, 53)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A query as dig sends it: RD set, one question, optionally an EDNS OPT record.
    fn query(labels: &[&str], qtype: u16, edns: bool) -> Vec<u8> {
        let mut p = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, u8::from(edns)];
        for l in labels {
            p.push(l.len() as u8);
            p.extend_from_slice(l.as_bytes());
        }
        let [hi, lo] = qtype.to_be_bytes();
        p.extend_from_slice(&[0, hi, lo, 0, 1]); // root label, qtype, class IN
        if edns {
            p.extend_from_slice(&[0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0]); // root, OPT, 4096, no data
        }
        p
    }

    #[test]
    fn parses_query_with_edns() {
        let q = parse_query(&query(&["web"], TYPE_A, true)).expect("valid query");
        assert_eq!(q, Question { id: 0x1234, name: "web".into(), qtype: 1, qclass: 1, end: 21 });
        let q = parse_query(&query(&["Db", "Example", "ORG"], TYPE_A, false)).expect("valid");
        assert_eq!(q.name, "db.example.org");
    }

    #[test]
    fn answers_two_addresses() {
        let p = query(&["web"], TYPE_A, true);
        let q = parse_query(&p).expect("valid");
        let r = answer(&p, &q, &[Ipv4Addr::new(10, 88, 0, 2), Ipv4Addr::new(10, 88, 0, 3)], 600);
        assert_eq!(&r[..12], &[0x12, 0x34, 0x85, 0x80, 0, 1, 0, 2, 0, 0, 0, 0]);
        assert_eq!(&r[12..q.end], &p[12..q.end]);
        let rec = |last| [0xc0, 12, 0, 1, 0, 1, 0, 0, 0x02, 0x58, 0, 4, 10, 88, 0, last];
        assert_eq!(&r[q.end..q.end + 16], &rec(2));
        assert_eq!(&r[q.end + 16..], &rec(3));
        let r = answer(&p, &q, &[Ipv4Addr::LOCALHOST; 100], 1);
        assert!(r.len() <= 512);
        assert_eq!(usize::from(be16(&r, 6).unwrap_or(0)), (r.len() - q.end) / 16);
    }

    #[test]
    fn aaaa_no_data_and_nxdomain() {
        let p = query(&["web"], TYPE_AAAA, true);
        let q = parse_query(&p).expect("valid");
        let r = answer(&p, &q, &[Ipv4Addr::new(10, 88, 0, 2)], 600);
        assert_eq!((be16(&r, 6), r[3] & 0x0f, r.len()), (Some(0), 0, q.end));
        let r = error(&p, &q, NXDOMAIN);
        assert_eq!(&r[2..4], &[0x81, 0x83]);
        assert_eq!(&r[4..12], &[0, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&r[12..], &p[12..q.end]);
    }

    #[test]
    fn rejects_replies_pointers_and_truncation() {
        let mut reply = query(&["web"], TYPE_A, false);
        reply[2] |= 0x80;
        assert_eq!(parse_query(&reply), None);
        let mut ptr = query(&[], TYPE_A, false);
        ptr.splice(12..12, [0xc0, 12]);
        assert_eq!(parse_query(&ptr), None);
        let p = query(&["web"], TYPE_A, false);
        assert_eq!(parse_query(&p[..p.len() - 1]), None);
        assert_eq!(parse_query(&query(&["a\x01"], TYPE_A, false)), None);
        assert_eq!(parse_query(&query(&[&"x".repeat(64)], TYPE_A, false)), None);
        let label = "x".repeat(63);
        assert_eq!(parse_query(&query(&[label.as_str(); 4], TYPE_A, false)), None);
    }

    #[test]
    fn never_panics() {
        let p = query(&["web", "example"], TYPE_A, true);
        for n in 0..=p.len() {
            // The question ends at 12 + 13 + 4; the OPT record after it is not needed.
            assert_eq!(parse_query(&p[..n]).is_some(), n >= 29);
        }
        // Xorshift noise: whole random buffers, and the valid query with bytes flipped.
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for round in 0..20_000usize {
            let mut buf = if round % 2 == 0 { p.clone() } else { vec![0; round % 300] };
            for b in &mut buf {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                if round % 2 == 1 || seed & 7 == 0 {
                    *b = seed as u8;
                }
            }
            if let Some(q) = parse_query(&buf) {
                assert!(q.end <= buf.len());
                let _ = (answer(&buf, &q, &[Ipv4Addr::LOCALHOST], 1), error(&buf, &q, SERVFAIL));
            }
        }
        let q = Question { id: 1, name: String::new(), qtype: 1, qclass: 1, end: 99 };
        assert_eq!(error(&[0; 3], &q, REFUSED)[4..6], [0, 0]);
    }

    #[test]
    fn id_round_trip() {
        let mut p = query(&["web"], TYPE_A, false);
        set_id(&mut p, 0xbeef);
        assert_eq!(id(&p), Some(0xbeef));
        assert_eq!(id(&p[..11]), None);
        set_id(&mut [0u8; 1], 7);
    }

    #[test]
    fn reads_resolv_conf() {
        let conf = "# generated\nsearch lan\nnameserver 127.0.0.53\n; old\n;nameserver 9.9.9.9\n\
                    nameserver ::1\nnameserver 1.1.1.1 # cloudflare\noptions edns0 trust-ad\n\
                    nameserver bogus\n  nameserver\t8.8.8.8\n";
        let want = [[127, 0, 0, 53], [1, 1, 1, 1], [8, 8, 8, 8]].map(|ip| SocketAddr::from((ip, 53)));
        assert_eq!(upstream_servers(conf), want);
    }
}
