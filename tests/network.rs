//! Networking: the default slirp4netns network (egress, DNS), pasta, the
//! generated /etc files, published ports (`-p`, `-P`, `port`, `ps`,
//! inspect) and bad input.

use std::io::{Read, Write};
use std::net::{IpAddr, TcpListener, TcpStream, UdpSocket};
use std::time::Duration;

use serde_json::Value;

use crate::common::*;

fn img(t: &TestEnv) {
    t.load_busybox("busybox");
}

/// The host's address on its default route (not loopback), if it has one:
/// a UDP "connect" picks it without sending anything.
fn host_address() -> Option<IpAddr> {
    let s = UdpSocket::bind("0.0.0.0:0").ok()?;
    s.connect("203.0.113.1:9").ok()?;
    let ip = s.local_addr().ok()?.ip();
    (!ip.is_loopback()).then_some(ip)
}

/// An HTTP server on the host for the rest of the test; returns its port.
fn serve(ip: IpAddr, body: &'static str) -> u16 {
    let l = TcpListener::bind((ip, 0)).unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            // Answer at once, then drain: pasta (2023-02, Debian 12) drops
            // what comes back after the client half-closed its side.
            let _ = s.write_all(format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{body}", body.len()).as_bytes());
            let _ = s.shutdown(std::net::Shutdown::Write);
            let _ = std::io::copy(&mut s, &mut std::io::sink());
        }
    });
    port
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// An HTTP GET from inside a container, printing the body's last line.
/// (Not busybox wget: the static Debian build crashes on glibc's NSS in
/// an image without libnss.)
fn get(host: &str, port: u16) -> String {
    format!("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox timeout 20 nc {host} {port} | tail -n 1; echo")
}

/// busybox httpd serving "hello" on container port 80.
const HTTPD: &str = "mkdir -p /www && echo hello > /www/index.html && exec httpd -f -p 80 -h /www";

both_modes!(default_network_has_egress_and_dns, |t| {
    img(t);
    let Some(ip) = host_address() else {
        eprintln!("note: no non-loopback host address: egress not tested");
        return;
    };
    let port = serve(ip, "from-the-host");
    let out = t
        .rcon([
            "run",
            "--rm",
            "busybox",
            "sh",
            "-c",
            &format!(
                "ip -4 addr show tap0 | grep -o 'inet [0-9./]*'; {}; cat /etc/resolv.conf",
                get(&ip.to_string(), port)
            ),
        ])
        .ok()
        .to_string();
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("inet 10.0.2.100/24"), "{out}");
    assert_eq!(lines.next(), Some("from-the-host"), "{out}");
    assert_eq!(lines.next(), Some("nameserver 10.0.2.3"), "slirp4netns' DNS forwarder: {out}");
    // names resolve through it when the host resolves them
    let host_resolves = std::process::Command::new("getent")
        .args(["hosts", "deb.debian.org"])
        .output()
        .is_ok_and(|o| o.status.success());
    if host_resolves {
        let r = t.rcon(["run", "--rm", "busybox", "busybox", "nslookup", "deb.debian.org"]);
        assert!(r.stdout.contains("Address") && r.stdout.contains("deb.debian.org"), "{} {}", r.stdout, r.stderr);
    }
    // the host's loopback stays out of reach (--disable-host-loopback)
    let r =
        t.rcon(["run", "--rm", "busybox", "sh", "-c", "nc -w 2 10.0.2.2 22 </dev/null && echo open || echo closed"]);
    assert_eq!(r.ok(), "closed\n");
    // --network none: lo only
    let r = t.rcon(["run", "--rm", "--network", "none", "busybox", "sh", "-c", "ls /sys/class/net"]);
    assert_eq!(r.ok(), "lo\n");
    // no helper outlives its container
    assert_eq!(t.rcon(["ps", "-aq"]).ok(), "");
});

both_modes!(pasta_network_has_egress, |t| {
    img(t);
    // pasta maps the gateway address to the host
    let port = serve("0.0.0.0".parse().unwrap(), "via-pasta");
    let out = t
        .rcon([
            "run",
            "--rm",
            "--network",
            "pasta",
            "busybox",
            "sh",
            "-c",
            &format!("gw=$(ip route | grep default | cut -d' ' -f3); {}", get("$gw", port)),
        ])
        .ok()
        .to_string();
    assert_eq!(out, "via-pasta\n");
    // pasta as the configured default network (podman's containers.conf key)
    std::fs::create_dir_all(t.config.join("rcon")).unwrap();
    let conf = if t.mode == Mode::Root { t.config.join("network.json") } else { t.config.join("rcon/network.json") };
    std::fs::write(&conf, r#"{"default_rootless_network_cmd": "pasta"}"#).unwrap();
    t.give(&conf);
    let out =
        t.rcon(["run", "--rm", "busybox", "sh", "-c", "ip -4 -o addr | grep -c 10.0.2.100; true"]).ok().to_string();
    assert_eq!(out, "0\n", "not slirp4netns' address");
    t.rcon(["create", "--name", "conf", "busybox", "true"]).ok();
    assert_eq!(t.rcon(["inspect", "-f", "{{.HostConfig.NetworkMode}}", "conf"]).ok(), "pasta\n");
    std::fs::write(&conf, r#"{"default_rootless_network_cmd": "vpnkit"}"#).unwrap();
    t.rcon(["run", "--rm", "busybox", "true"]).fails(125, "default_rootless_network_cmd \"vpnkit\" is not known");
    t.rcon(["rm", "conf"]).ok();
});

both_modes!(dns_and_hosts_flags, |t| {
    img(t);
    let out = t
        .rcon([
            "run",
            "--rm",
            "--hostname",
            "web1",
            "--dns",
            "192.0.2.53",
            "--dns-search",
            "corp.test",
            "--dns-option",
            "ndots:2",
            "--add-host",
            "db:10.1.2.3",
            "--add-host",
            "host.docker.internal:host-gateway",
            "busybox",
            "sh",
            "-c",
            "hostname; cat /etc/resolv.conf /etc/hosts",
        ])
        .ok()
        .to_string();
    assert_eq!(
        out,
        "web1\nnameserver 192.0.2.53\nsearch corp.test\noptions ndots:2\n\
         127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n10.1.2.3\tdb\n\
         10.0.2.2\thost.docker.internal\n10.0.2.100\tweb1\n"
    );
    t.rcon(["run", "--rm", "--network", "none", "--add-host", "h:host-gateway", "busybox", "true"])
        .fails(125, "host-gateway needs the default network");
    assert_eq!(t.rcon(["ps", "-aq"]).ok(), "");
});

both_modes!(published_ports_reach_httpd, |t| {
    img(t);
    let hp = free_port();
    let id = t
        .rcon(["run", "-d", "--name", "web", "-p", &format!("{hp}:80"), "busybox", "sh", "-c", HTTPD])
        .ok()
        .trim()
        .to_string();
    assert_eq!(id.len(), 64);
    assert_eq!(http_get(hp, "/index.html", Duration::from_secs(20)), "hello\n");
    assert_eq!(t.rcon(["port", "web"]).ok(), format!("80/tcp -> 0.0.0.0:{hp}\n"));
    assert_eq!(t.rcon(["port", "web", "80"]).ok(), format!("0.0.0.0:{hp}\n"));
    t.rcon(["port", "web", "81/tcp"]).fails(125, "no public port '81/tcp' published for web");
    assert_eq!(t.rcon(["ps", "--format", "{{.Ports}}"]).ok(), format!("0.0.0.0:{hp}->80/tcp\n"));
    let ps = t.rcon(["ps"]).ok().to_string();
    assert!(ps.lines().next().unwrap().contains("   PORTS   "), "{ps}");
    let v: Value = serde_json::from_str(t.rcon(["inspect", "web"]).ok()).unwrap();
    assert_eq!(v[0]["HostConfig"]["PortBindings"]["80/tcp"][0]["HostPort"], hp.to_string());
    assert_eq!(v[0]["HostConfig"]["PortBindings"]["80/tcp"][0]["HostIp"], "");
    assert_eq!(v[0]["NetworkSettings"]["Ports"]["80/tcp"][0]["HostIp"], "0.0.0.0");
    assert_eq!(v[0]["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"], hp.to_string());
    assert_eq!(v[0]["NetworkSettings"]["IPAddress"], "10.0.2.100");
    assert_eq!(v[0]["NetworkSettings"]["Networks"]["bridge"]["Gateway"], "10.0.2.2");
    // a taken host port: a clear error before anything is created
    t.rcon(["run", "-d", "--name", "web2", "-p", &format!("{hp}:80"), "busybox", "true"])
        .fails(125, &format!("0.0.0.0:{hp} for 80/tcp: the host port is already in use"));
    t.rcon(["run", "--rm", "-p", "70000:80", "busybox", "true"]).fails(125, "port numbers are 1-65535");
    let low_ports_free = std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
        .is_ok_and(|s| s.trim().parse::<u32>().unwrap_or(0) <= 1);
    if t.mode == Mode::Rootless && !low_ports_free {
        t.rcon(["run", "--rm", "-p", "1:80", "busybox", "true"]).fails(125, "ports below");
    }
    t.rcon(["run", "--rm", "--network", "none", "-p", "80", "busybox", "true"]).fails(125, "cannot publish ports");
    assert_eq!(t.rcon(["ps", "-aq"]).ok().lines().count(), 1);
    // after the stop the port is free again and nothing is shown
    t.rcon(["stop", "-t", "0", "web"]).ok();
    assert_eq!(t.rcon(["ps", "-a", "--format", "{{.Ports}}"]).ok(), "\n");
    TcpListener::bind(("0.0.0.0", hp)).expect("the host port is released with the container");
    // -P publishes EXPOSEd ports (--expose here) on random host ports, with a start each time
    t.rcon(["run", "-d", "--name", "webp", "-P", "--expose", "80", "busybox", "sh", "-c", HTTPD]).ok();
    let mapping = t.rcon(["port", "webp", "80/tcp"]).ok().trim().to_string();
    let port: u16 = mapping.strip_prefix("0.0.0.0:").unwrap().parse().unwrap();
    assert_eq!(http_get(port, "/index.html", Duration::from_secs(20)), "hello\n");
    assert_eq!(t.rcon(["ps", "-f", "name=webp", "--format", "{{.Ports}}"]).ok(), format!("{mapping}->80/tcp\n"));
    t.rcon(["rm", "-f", "web", "webp"]).ok();
});

#[test]
fn missing_slirp4netns_is_a_clear_error() {
    let t = TestEnv::new(Mode::Rootless);
    img(&t);
    // newuidmap and newgidmap, but no slirp4netns
    let bin = t.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for tool in ["newuidmap", "newgidmap"] {
        std::os::unix::fs::symlink(format!("/usr/bin/{tool}"), bin.join(tool)).unwrap();
    }
    let mut c = t.cmd(["run", "--rm", "busybox", "true"]);
    c.env("PATH", &bin);
    let r = Run::from(c.output().unwrap());
    r.fails(125, "slirp4netns not found: install the slirp4netns package, or run with --network none or host");
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert_eq!(t.rcon(["ps", "-aq"]).ok(), "", "nothing half-created");
}

/// `rcon ARGS` in a mount namespace of its own where `prep` (shell, run as
/// root) has changed /dev first; then as the test's user.
fn rcon_with_dev(t: &TestEnv, prep: &str, args: &[&str]) -> Run {
    let mut script = format!("{prep} && exec ");
    if let (Mode::Rootless, Some(u)) = (t.mode, test_user()) {
        script.push_str(&format!("setpriv --reuid={} --regid={} --clear-groups ", u.uid, u.gid));
    }
    script.push_str("\"$@\"");
    let like = t.cmd(args);
    let mut c = std::process::Command::new("unshare");
    c.args(["-m", "--propagation", "private", "sh", "-c", &script, "sh"]);
    c.arg(like.get_program()).args(like.get_args()).env_clear().current_dir(&t.dir);
    for (k, v) in like.get_envs() {
        if let Some(v) = v {
            c.env(k, v);
        }
    }
    Run::from(c.stdin(std::process::Stdio::null()).output().unwrap())
}

both_modes!(missing_or_closed_tun_is_a_clear_error, |t| {
    if !is_root() {
        eprintln!("note: not run: hiding /dev/net/tun needs a mount namespace made by root");
        return;
    }
    img(t);
    // no tun device at all
    let r = rcon_with_dev(t, "mount -t tmpfs none /dev/net", &["run", "--name", "tunless", "busybox", "true"]);
    r.fails(125, "slirp4netns needs /dev/net/tun, which does not exist: as root, modprobe tun");
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    // Docker keeps a container whose start failed, with the error; no
    // slirp4netns or forwarder is left running for it.
    assert_eq!(t.rcon(["ps", "-a", "--format", "{{.Names}} {{.State}}"]).ok(), "tunless exited\n");
    let ps = std::process::Command::new("pgrep").args(["-f", &t.dir.display().to_string()]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&ps.stdout).trim().is_empty(),
        "left running: {}",
        String::from_utf8_lossy(&ps.stdout)
    );
    t.rcon(["rm", "tunless"]).ok();
    // a device the user may not open (root may open anything)
    if t.mode == Mode::Rootless {
        let fake = t.path("tun");
        std::fs::write(&fake, "").unwrap();
        let prep = format!("mount --bind {} /dev/net/tun", fake.display());
        let r = rcon_with_dev(t, &prep, &["run", "--rm", "busybox", "true"]);
        r.fails(125, "slirp4netns needs /dev/net/tun, which this user cannot open: as root, chmod 0666 /dev/net/tun");
        assert_eq!(t.rcon(["ps", "-aq"]).ok(), "", "--rm: nothing left");
    }
});

/// Two consecutive free host ports.
fn free_pair() -> u16 {
    loop {
        let p = free_port();
        if p < 65535 && TcpListener::bind(("0.0.0.0", p + 1)).is_ok() && TcpListener::bind(("0.0.0.0", p)).is_ok() {
            return p;
        }
    }
}

both_modes!(published_udp_ranges_and_pasta, |t| {
    img(t);
    // UDP is listed as Docker does (its datagrams: published_udp_reaches_the_container)
    let up = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    t.rcon(["run", "-d", "--name", "udp", "-p", &format!("{up}:9999/udp"), "busybox", "sleep", "1000"]).ok();
    assert_eq!(t.rcon(["port", "udp"]).ok(), format!("9999/udp -> 0.0.0.0:{up}\n"));
    UdpSocket::bind(("0.0.0.0", up)).expect_err("the host port is held for the container");
    // a range: each port maps to its partner, both listed
    let p = free_pair();
    t.rcon(["run", "-d", "--name", "rng", "-p", &format!("{p}-{}:80-81", p + 1), "busybox", "sleep", "1000"]).ok();
    assert_eq!(t.rcon(["port", "rng"]).ok(), format!("80/tcp -> 0.0.0.0:{p}\n81/tcp -> 0.0.0.0:{}\n", p + 1));
    // pasta publishes with -t
    let hp = free_port();
    t.rcon([
        "run",
        "-d",
        "--name",
        "pweb",
        "--network",
        "pasta",
        "-p",
        &format!("{hp}:80"),
        "busybox",
        "sh",
        "-c",
        HTTPD,
    ])
    .ok();
    assert_eq!(http_get(hp, "/index.html", Duration::from_secs(20)), "hello\n");
    assert_eq!(t.rcon(["ps", "-f", "name=pweb", "--format", "{{.Ports}}"]).ok(), format!("0.0.0.0:{hp}->80/tcp\n"));
    t.rcon(["rm", "-f", "udp", "rng", "pweb"]).ok();
});

both_modes!(user_networks_create_ls_inspect_rm_prune, |t| {
    // create: a default subnet from 10.89.0.0/16, or the given one and gateway
    let id = t.rcon(["network", "create", "--label", "team=a", "front"]).ok().trim().to_string();
    assert_eq!(id.len(), 64, "{id}");
    t.rcon(["network", "create", "--subnet", "10.90.0.0/16", "--gateway", "10.90.0.254", "--internal", "back"]).ok();
    let v: Value = serde_json::from_str(t.rcon(["network", "inspect", "front", "back"]).ok()).unwrap();
    assert_eq!(v[0]["Name"], "front");
    assert_eq!(v[0]["Id"], id.as_str());
    assert_eq!(v[0]["Driver"], "bridge");
    assert_eq!(v[0]["Scope"], "local");
    assert_eq!(v[0]["EnableIPv6"], false);
    assert_eq!(v[0]["IPAM"]["Config"][0]["Subnet"], "10.89.0.0/24");
    assert_eq!(v[0]["IPAM"]["Config"][0]["Gateway"], "10.89.0.1");
    assert_eq!(v[0]["Labels"]["team"], "a");
    assert_eq!(v[0]["Internal"], false);
    assert_eq!(v[1]["IPAM"]["Config"][0]["Subnet"], "10.90.0.0/16");
    assert_eq!(v[1]["IPAM"]["Config"][0]["Gateway"], "10.90.0.254");
    assert_eq!(v[1]["Internal"], true);
    assert!(v[1]["Containers"].as_object().unwrap().is_empty());
    // the next default subnet skips the taken one; an id prefix finds a network
    t.rcon(["network", "create", "third"]).ok();
    assert_eq!(
        t.rcon(["network", "inspect", "-f", "{{(index .IPAM.Config 0).Subnet}}", "third"]).ok(),
        "10.89.1.0/24\n"
    );
    assert_eq!(t.rcon(["network", "inspect", "-f", "{{.Name}}", &id[..12]]).ok(), "front\n");

    // ls: Docker's columns, built-in networks included, filters, -q, --format
    let ls = t.rcon(["network", "ls"]).ok().to_string();
    let lines: Vec<&str> = ls.lines().collect();
    assert_eq!(lines[0].split_whitespace().collect::<Vec<_>>(), ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE"]);
    let names: Vec<&str> = lines[1..].iter().map(|l| l.split_whitespace().nth(1).unwrap()).collect();
    assert_eq!(names, ["back", "bridge", "front", "host", "none", "third"]);
    assert!(ls.contains(&format!("{}   front     bridge    local", &id[..12])), "{ls}");
    assert_eq!(t.rcon(["network", "ls", "-q", "--filter", "label=team=a"]).ok(), format!("{}\n", &id[..12]));
    assert_eq!(t.rcon(["network", "ls", "--filter", "name=ront", "--format", "{{.Name}}"]).ok(), "front\n");
    assert_eq!(
        t.rcon(["network", "ls", "--filter", "driver=bridge", "--format", "{{.Name}} {{.Internal}}"]).ok(),
        "back true\nbridge false\nfront false\nthird false\n"
    );
    assert_eq!(t.rcon(["network", "ls", "--filter", "driver=null", "-q"]).ok().lines().count(), 1);

    // events: create and destroy
    t.rcon(["network", "rm", "third"]).ok();
    let ev = t
        .rcon(["events", "--since", "10m", "--until", "0s", "--filter", "type=network", "--format", "{{.Action}}"])
        .ok()
        .to_string();
    assert_eq!(ev, "create\ncreate\ncreate\ndestroy\n");

    // prune removes user networks, never the built-in ones
    assert_eq!(t.rcon(["network", "prune", "-f"]).ok(), "Deleted Networks:\nback\nfront\n\n");
    assert_eq!(t.rcon(["network", "ls", "--format", "{{.Name}}"]).ok(), "bridge\nhost\nnone\n");
});

both_modes!(user_network_bad_input, |t| {
    // the network is checked before a missing image is pulled
    t.rcon(["run", "--rm", "--network", "nope", "nosuchimage"]).fails(125, "network nope not found");
    img(t);
    t.rcon(["network", "create", "--subnet", "10.90.0.0/16", "a"]).ok();
    // overlapping subnets, also with slirp4netns' own, are refused; nothing is created
    t.rcon(["network", "create", "--subnet", "10.90.3.0/24", "b"])
        .fails(125, "overlaps 10.90.0.0/16, which network a uses");
    t.rcon(["network", "create", "--subnet", "10.0.2.128/25", "b"]).fails(125, "the default network (slirp4netns)");
    t.rcon(["network", "create", "--subnet", "10.91.0.1/16", "b"]).fails(125, "host bits are set");
    t.rcon(["network", "create", "--subnet", "10.91.0.0/16", "--gateway", "10.92.0.1", "b"])
        .fails(125, "not a host address");
    t.rcon(["network", "create", "--gateway", "10.92.0.1", "b"]).fails(125, "--gateway needs --subnet");
    t.rcon(["network", "create", "-d", "macvlan", "b"]).fails(125, "bridge driver only");
    t.rcon(["network", "create", "a"]).fails(125, "network with name a already exists");
    t.rcon(["network", "create", "host"]).fails(125, "predefined");
    t.rcon(["network", "create", "a!b"]).fails(125, "invalid network name");
    assert_eq!(t.rcon(["network", "ls", "--filter", "type=custom", "-q"]).ok().lines().count(), 1);
    // unknown networks
    t.rcon(["network", "inspect", "nope"]).fails(125, "network nope not found");
    t.rcon(["network", "rm", "nope"]).fails(125, "network nope not found");
    t.rcon(["network", "rm", "-f", "nope"]).ok();
    t.rcon(["network", "rm", "bridge"]).fails(125, "pre-defined network and cannot be removed");
    t.rcon(["network", "ls", "--filter", "colour=red"]).fails(125, "invalid filter");
    t.rcon(["run", "--rm", "--network", "nope", "busybox", "true"]).fails(125, "network nope not found");
    assert_eq!(t.rcon(["ps", "-aq"]).ok(), "", "nothing half-created");
    t.rcon(["network", "rm", "a"]).ok();
});

both_modes!(published_udp_reaches_the_container, |t| {
    img(t);
    // busybox has no UDP server: python3 from the host's /usr, read-only
    let echo = udp_echo(9999);
    for net in ["bridge", "pasta"] {
        let port = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let name = format!("udp-{net}");
        let publish = format!("127.0.0.1:{port}:9999/udp");
        let mut args = vec!["run", "-d", "--name", &name, "--network", net, "-p", &publish];
        args.extend(HOST_USR);
        args.extend(["busybox", "python3", "-c", &echo]);
        t.rcon(args).ok();
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        // datagrams sent before the server binds are lost: ask until it answers
        let got = wait_for(&format!("a UDP answer through {publish} ({net})"), Duration::from_secs(20), || {
            s.send_to(b"hello", ("127.0.0.1", port)).ok()?;
            let mut buf = [0u8; 64];
            let n = s.recv(&mut buf).ok()?;
            Some(String::from_utf8_lossy(&buf[..n]).to_string())
        });
        assert_eq!(got, "udp-hello", "{net}");
        t.rcon(["rm", "-f", &name]).ok();
    }
});

both_modes!(published_port_keeps_a_reply_after_the_server_exits, |t| {
    img(t);
    // A server that answers and exits at once (a one-shot `nc -l -e`, a
    // job that prints a result) to a client slower than it: the end of the
    // answer is still in the forwarder's buffers when the container exits,
    // and must still arrive.
    let port = free_port();
    let send = "import socket\nl = socket.socket(); l.bind(('0.0.0.0', 80)); l.listen(1)\n\
                c, _ = l.accept(); c.sendall(b'y' * 16000000); c.close()";
    let publish = format!("127.0.0.1:{port}:80");
    let mut args = vec!["run", "-d", "--name", "oneshot", "-p", &publish];
    args.extend(HOST_USR);
    args.extend(["busybox", "python3", "-c", send]);
    t.rcon(args).ok();
    // The forwarder accepts before the server listens: connect until data comes.
    let mut s = wait_for("the server's first byte", Duration::from_secs(20), || {
        let s = TcpStream::connect(("127.0.0.1", port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        let mut b = [0u8; 1];
        (s.peek(&mut b).ok()? == 1).then_some(s)
    });
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let (mut total, mut buf) = (0, vec![0u8; 65536]);
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n,
        }
        // ~60 MB/s: the server is done long before we are
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(total, 16000000, "bytes received");
    t.rcon(["rm", "-f", "oneshot"]).ok();
});
