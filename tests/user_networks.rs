//! User-defined networks with containers on them: names and aliases as DNS
//! names (containers started later included), TCP and UDP between
//! containers, isolation between networks, `--ip`, `--internal`,
//! `network connect/disconnect`, `--network container:NAME`, and the
//! errors around them.

use std::time::Duration;

use serde_json::Value;

use crate::common::*;

fn udp_ask(host: &str) -> String {
    format!(
        "import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
for _ in range(10):
    try:
        s.sendto(b'hello', ('{host}', 9090))
        print(s.recv(100).decode())
        break
    except OSError:
        pass"
    )
}

/// The container's address on a network, from inspect.
fn ip_of(t: &TestEnv, c: &str, net: &str) -> String {
    t.rcon(["inspect", "-f", &format!("{{{{(index .NetworkSettings.Networks \"{net}\").IPAddress}}}}"), c])
        .ok()
        .trim()
        .to_string()
}

/// `name` on `net`: busybox nc answering `reply` on `port` to every connection.
fn nc_server(t: &TestEnv, name: &str, net: &str, port: &str, reply: &str) {
    t.rcon(["run", "-d", "--name", name, "--network", net, "busybox", "nc", "-ll", "-p", port, "-e", "echo", reply])
        .ok();
}

/// Run a shell script in a throw-away container on `net`.
fn sh_on(t: &TestEnv, net: &str, script: &str) -> Run {
    t.rcon(["run", "--rm", "--network", net, "busybox", "sh", "-c", script])
}

both_modes!(containers_talk_by_name_and_alias_over_tcp_and_udp, |t| {
    t.load_busybox("busybox");
    t.rcon(["network", "create", "front"]).ok();
    let mut args = vec!["run", "-d", "--name", "srv", "--network", "front", "--network-alias", "api"];
    args.extend(HOST_USR);
    let script = format!("nc -ll -p 8080 -e echo tcp-hello & exec python3 -c \"{}\"", udp_echo(9090));
    args.extend(["busybox", "sh", "-c", &script]);
    t.rcon(args).ok();
    let ip = ip_of(t, "srv", "front");
    assert!(ip.starts_with("10.89.0."), "{ip}");

    // TCP by name, alias and short id (the server may still be starting)
    let id = t.rcon(["inspect", "-f", "{{.Id}}", "srv"]).ok()[..12].to_string();
    for name in ["srv", "api", &id] {
        let r =
            sh_on(t, "front", &format!("for i in $(seq 50); do nc {name} 8080 </dev/null && break; sleep 0.1; done"));
        assert_eq!(r.ok(), "tcp-hello\n", "by {name}");
    }
    // the seed notes' workflow: ping the other container by name
    let r = sh_on(t, "front", "busybox ping -c 1 -W 5 srv | grep -c 'bytes from'");
    assert_eq!(r.ok(), "1\n");
    // DNS answers with the address inspect shows
    let r = sh_on(t, "front", "busybox nslookup api");
    assert!(r.ok().contains(&format!("Address: {ip}")), "{}", r.stdout);

    // UDP by name
    let mut args = vec!["run", "--rm", "--network", "front"];
    args.extend(HOST_USR);
    let ask = udp_ask("srv");
    args.extend(["busybox", "python3", "-c", &ask]);
    assert_eq!(t.rcon(args).ok(), "udp-hello\n");

    // a container started later is found by one already running
    t.rcon(["run", "-d", "--name", "early", "--network", "front", "busybox", "sleep", "60"]).ok();
    t.rcon(["exec", "early", "busybox", "nslookup", "late"]).fails(1, "");
    t.rcon(["run", "-d", "--name", "late", "--network", "front", "busybox", "sleep", "60"]).ok();
    let late_ip = ip_of(t, "late", "front");
    let out = t.rcon(["exec", "early", "busybox", "nslookup", "late"]).ok().to_string();
    assert!(out.contains(&format!("Address: {late_ip}")), "{out}");
    // /etc/hosts has the container's own address; resolv.conf the network's resolver
    let hosts = t.rcon(["exec", "late", "cat", "/etc/hosts", "/etc/resolv.conf"]).ok().to_string();
    assert!(hosts.contains(&format!("{late_ip}\t")), "{hosts}");
    assert!(hosts.contains("nameserver 10.89.0.1\n"), "{hosts}");

    // inspect and ps show the attachment
    let v: Value = serde_json::from_str(t.rcon(["network", "inspect", "front"]).ok()).unwrap();
    let members = v[0]["Containers"].as_object().unwrap();
    let names: Vec<&str> = members.values().map(|m| m["Name"].as_str().unwrap()).collect();
    assert_eq!(members.len(), 3, "{names:?}");
    assert!(names.contains(&"srv") && names.contains(&"early") && names.contains(&"late"));
    let v: Value = serde_json::from_str(t.rcon(["inspect", "srv"]).ok()).unwrap();
    let n = &v[0]["NetworkSettings"]["Networks"]["front"];
    assert_eq!(n["Aliases"][0], "api");
    assert_eq!(n["Gateway"], "10.89.0.1");
    assert_eq!(n["IPPrefixLen"], 24);
    assert_eq!(
        n["MacAddress"].as_str().unwrap(),
        &format!("02:42:0a:59:00:{:02x}", ip.rsplit('.').next().unwrap().parse::<u8>().unwrap())
    );
    assert_eq!(t.rcon(["ps", "--format", "{{.Names}} {{.Networks}}", "--filter", "name=srv"]).ok(), "srv front\n");

    // removing a network with running containers is refused; after them it goes
    let r = t.rcon(["network", "rm", "front"]);
    r.fails(125, "network front has active endpoints");
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    t.rcon(["rm", "-f", "srv", "early", "late"]).ok();
    t.rcon(["network", "rm", "front"]).ok();
});

both_modes!(networks_are_isolated_and_internal_has_no_way_out, |t| {
    t.load_busybox("busybox");
    t.rcon(["network", "create", "blue"]).ok();
    t.rcon(["network", "create", "--internal", "red"]).ok();
    nc_server(t, "bluesrv", "blue", "8080", "hi");
    nc_server(t, "redsrv", "red", "8080", "hi");
    let blue_ip = ip_of(t, "bluesrv", "blue");
    let red_ip = ip_of(t, "redsrv", "red");
    // on its own network each is reachable, by address and by name
    let r = sh_on(t, "blue", &format!("for i in $(seq 50); do nc {blue_ip} 8080 </dev/null && break; sleep 0.1; done"));
    assert_eq!(r.ok(), "hi\n");
    let r = sh_on(t, "red", "for i in $(seq 50); do nc redsrv 8080 </dev/null && break; sleep 0.1; done");
    assert_eq!(r.ok(), "hi\n");
    // across networks neither the name nor the address reaches the server
    // (the address may leave through slirp4netns, which answers for any
    // destination and then closes: no "hi" either way)
    for (from, to, ip) in [("red", "bluesrv", &blue_ip), ("blue", "redsrv", &red_ip)] {
        let script =
            format!("busybox nslookup {to} >/dev/null 2>&1 && echo resolved; nc -w 2 {ip} 8080 </dev/null; echo done");
        assert_eq!(sh_on(t, from, &script).ok(), "done\n", "from {from} to {to}");
    }
    // internal: no default route, outside names are not forwarded
    let r = sh_on(t, "red", "ip route; busybox nslookup example.com >/dev/null 2>&1 || echo no-outside-dns");
    let out = r.ok();
    assert!(!out.contains("default"), "{out}");
    assert!(out.ends_with("no-outside-dns\n"), "{out}");
    // the non-internal one has slirp4netns' way out next to the bridge
    let out = sh_on(t, "blue", "ip route").ok().to_string();
    assert!(out.contains("default via 10.0.2.2"), "{out}");
    t.rcon(["rm", "-f", "bluesrv", "redsrv"]).ok();
    // once no container is attached, the holder goes away by itself
    let run = t.run.join("rcon/netns.sock");
    wait_for("the network holder to exit", Duration::from_secs(20), || (!run.exists()).then_some(()));
});

both_modes!(fixed_ip_connect_and_disconnect, |t| {
    t.load_busybox("busybox");
    t.rcon(["network", "create", "--subnet", "10.91.5.0/24", "one"]).ok();
    t.rcon(["network", "create", "two"]).ok();
    t.rcon(["run", "-d", "--name", "box", "--network", "one", "--ip", "10.91.5.77", "busybox", "sleep", "60"]).ok();
    assert_eq!(ip_of(t, "box", "one"), "10.91.5.77");
    let out = t.rcon(["exec", "box", "ip", "-4", "-o", "addr", "show", "eth0"]).ok().to_string();
    assert!(out.contains("10.91.5.77/24"), "{out}");
    // a taken --ip is refused, and nothing is left behind
    let r = t.rcon(["run", "--rm", "--network", "one", "--ip", "10.91.5.77", "busybox", "true"]);
    r.fails(125, "10.91.5.77 is already in use on network one");

    // connect a running container to a second network: eth1, reachable by its alias there
    t.rcon(["network", "connect", "--alias", "second", "two", "box"]).ok();
    let out = t.rcon(["exec", "box", "ip", "-4", "-o", "addr", "show", "eth1"]).ok().to_string();
    assert!(out.contains("10.89.0."), "{out}");
    let two_ip = ip_of(t, "box", "two");
    let r = sh_on(t, "two", "busybox nslookup second");
    assert!(r.ok().contains(&format!("Address: {two_ip}")), "{}", r.stdout);
    t.rcon(["network", "connect", "two", "box"]).fails(125, "already connected to network two");
    assert_eq!(t.rcon(["ps", "--format", "{{.Networks}}"]).ok(), "one,two\n");

    // disconnect: the interface and the name go
    t.rcon(["network", "disconnect", "two", "box"]).ok();
    assert_eq!(t.rcon(["exec", "box", "sh", "-c", "ip link show eth1 2>/dev/null || echo no-eth1"]).ok(), "no-eth1\n");
    let r = sh_on(t, "two", "busybox nslookup second >/dev/null 2>&1 && echo found || echo gone");
    assert_eq!(r.ok(), "gone\n");
    t.rcon(["network", "rm", "two"]).ok();

    // a stopped container is connected for its next start
    t.rcon(["create", "--name", "later", "busybox", "sleep", "60"]).ok();
    t.rcon(["network", "connect", "one", "later"]).ok();
    t.rcon(["start", "later"]).ok();
    let r = sh_on(t, "one", "busybox nslookup later");
    assert!(r.ok().contains(&format!("Address: {}", ip_of(t, "later", "one"))), "{}", r.stdout);
    // a container running on the default network cannot join while it runs (rootless nesting)
    t.rcon(["run", "-d", "--name", "plain", "busybox", "sleep", "60"]).ok();
    t.rcon(["network", "connect", "one", "plain"]).fails(125, "stop it, connect it, then start it");
    t.rcon(["run", "-d", "--name", "hosty", "--network", "none", "busybox", "sleep", "60"]).ok();
    t.rcon(["network", "connect", "one", "hosty"]).fails(125, "cannot be combined with other networks");
    assert!(!t.rcon(["inspect", "-f", "{{json .NetworkSettings.Networks}}", "plain"]).ok().contains("one"));
    t.rcon(["rm", "-f", "box", "later", "plain", "hosty"]).ok();
});

both_modes!(container_network_mode_shares_the_namespace, |t| {
    t.load_busybox("busybox");
    t.rcon(["network", "create", "shared"]).ok();
    t.rcon([
        "run",
        "-d",
        "--name",
        "main",
        "--hostname",
        "mainhost",
        "--network",
        "shared",
        "busybox",
        "nc",
        "-ll",
        "-p",
        "7070",
        "-e",
        "echo",
        "from-main",
    ])
    .ok();
    let ip = ip_of(t, "main", "shared");
    // same interfaces, same address, the other's services on its loopback, its hostname
    let out = t
        .rcon(["run", "--rm", "--network", "container:main", "busybox", "sh", "-c", "ip -4 -o addr show eth0; hostname; for i in $(seq 50); do nc 127.0.0.1 7070 </dev/null && break; sleep 0.1; done"])
        .ok()
        .to_string();
    assert!(out.contains(&format!("{ip}/24")), "{out}");
    assert!(out.contains("mainhost\nfrom-main\n"), "{out}");
    // also next to a default-network container
    t.rcon(["run", "-d", "--name", "dflt", "busybox", "sleep", "60"]).ok();
    let out = t
        .rcon(["run", "--rm", "--network", "container:dflt", "busybox", "ip", "-4", "-o", "addr", "show", "tap0"])
        .ok()
        .to_string();
    assert!(out.contains("10.0.2.100/24"), "{out}");
    // bad input: unknown or stopped container, ports with a shared namespace
    t.rcon(["run", "--rm", "--network", "container:nosuch", "busybox", "true"]).fails(125, "nosuch");
    t.rcon(["create", "--name", "idle", "busybox", "true"]).ok();
    let r = t.rcon(["run", "--rm", "--network", "container:idle", "busybox", "true"]);
    r.fails(125, "cannot join the network of container idle: it is not running");
    t.rcon(["run", "--rm", "-p", "8080", "--network", "container:main", "busybox", "true"])
        .fails(125, "cannot publish ports");
    t.rcon(["rm", "-f", "main", "dflt", "idle"]).ok();
});

both_modes!(user_network_flags_bad_input, |t| {
    t.load_busybox("busybox");
    t.rcon(["network", "create", "--subnet", "10.93.0.0/24", "net"]).ok();
    t.rcon(["run", "--rm", "--network", "net", "--ip", "10.94.0.5", "busybox", "true"])
        .fails(125, "not a usable address of network net");
    t.rcon(["run", "--rm", "--network", "net", "--ip", "10.93.0.1", "busybox", "true"])
        .fails(125, "not a usable address");
    t.rcon(["run", "--rm", "--network-alias", "x", "busybox", "true"]).fails(125, "user-defined networks only");
    t.rcon(["run", "--rm", "--ip", "10.93.0.5", "--network", "none", "busybox", "true"])
        .fails(125, "user-defined networks only");
    t.rcon(["network", "connect", "nonet", "x"]).fails(125, "network nonet not found");
    t.rcon(["network", "connect", "net", "nocontainer"]).fails(125, "nocontainer");
    t.rcon(["network", "disconnect", "net", "nocontainer"]).fails(125, "nocontainer");
    assert_eq!(t.rcon(["ps", "-aq"]).ok(), "", "nothing half-created");
    // a stopped container whose network was removed says so at start
    t.rcon(["create", "--name", "orphan", "--network", "net", "busybox", "true"]).ok();
    t.rcon(["network", "rm", "net"]).ok();
    t.rcon(["start", "orphan"]).fails(125, "network net not found");
    t.rcon(["rm", "orphan"]).ok();
});

both_modes!(parallel_starts_get_distinct_addresses, |t| {
    t.load_busybox("busybox");
    t.rcon(["network", "create", "busy"]).ok();
    // as a script would: `for i in 1..6; do rcon run -d … & done; wait`
    let names: Vec<String> = (0..6).map(|i| format!("p{i}")).collect();
    std::thread::scope(|s| {
        for n in &names {
            s.spawn(move || {
                t.rcon(["run", "-d", "--name", n, "--network", "busy", "busybox", "sleep", "60"]).ok().len()
            });
        }
    });
    let mut ips: Vec<String> = names.iter().map(|n| ip_of(t, n, "busy")).collect();
    ips.sort();
    ips.dedup();
    assert_eq!(ips.len(), names.len(), "{ips:?}");
    // every one is known by name to every other
    let script: String = names.iter().map(|n| format!("busybox nslookup {n} >/dev/null && ")).collect();
    assert_eq!(t.rcon(["exec", "p0", "sh", "-c", &format!("{script}echo all")]).ok(), "all\n");
    let mut args = vec!["rm", "-f"];
    args.extend(names.iter().map(|s| s.as_str()));
    t.rcon(args).ok();
    t.rcon(["network", "rm", "busy"]).ok();
});

both_modes!(gateway_stays_reachable_as_containers_come_and_go, |t| {
    // A bridge without an address of its own takes its lowest port's, which
    // changes as containers join and leave: a container that cached the
    // old one lost its resolver. Each new container here has a fresh random
    // port address, so a few rounds would hit that.
    t.load_busybox("busybox");
    t.rcon(["network", "create", "churn"]).ok();
    t.rcon(["run", "-d", "--name", "watcher", "--network", "churn", "busybox", "sleep", "120"]).ok();
    for i in 0..8 {
        let name = format!("c{i}");
        t.rcon(["run", "-d", "--name", &name, "--network", "churn", "busybox", "sleep", "60"]).ok();
        let out = t.rcon(["exec", "watcher", "busybox", "nslookup", &name]).ok().to_string();
        assert!(out.contains(&format!("Address: {}", ip_of(t, &name, "churn"))), "round {i}: {out}");
        t.rcon(["rm", "-f", &name]).ok();
    }
    t.rcon(["rm", "-f", "watcher"]).ok();
});
