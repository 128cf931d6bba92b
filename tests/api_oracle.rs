//! Docker itself as the oracle (issue 14): the same requests go to dockerd
//! 20.10 (API 1.41, rootful, on its private socket; contrib/test-setup/oracle.sh,
//! which `make test` starts) and to `rcon system service`, and the answers are
//! compared field by field: the same keys, the same JSON types (`{}`, `[]` and
//! `null` as Docker sends them) and the same values, after the legitimately
//! variable ones (ids, times, sizes, pids, host paths, ports) are normalised.
//! What may still differ is listed in `ALLOWED`, each with its reason
//! (docs/ARCHITECTURE.md, "Known differences from dockerd").

use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;

use crate::common::api::Service;
use crate::common::*;

const ORACLE: &str = "/run/rcon-oracle/docker.sock";

/// Differences we accept: a path pattern (`.`-separated, `*` is any one
/// key or index) covering that field and everything below it, and why.
const ALLOWED: &[(&str, &str)] = &[
    ("create.Warnings", "the oracle runs with --ip-forward=false and warns that networking will not work"),
    ("*.Driver", "rcon's storage is native overlay (or fuse-overlayfs) with its own layout, not overlay2"),
    ("*.GraphDriver", "the same: other driver name, other directories (no -init layer, no MergedDir for images)"),
    ("*.HostConfig.Runtime", "rcon is its own OCI runtime (no runc)"),
    ("*.HostConfig.MaskedPaths", "rcon also masks /sys/devices/virtual/powercap, as later Docker releases do"),
    ("*.Config.AttachStdout", "rcon does not keep the create body's Attach* flags: it reports true"),
    ("*.Config.AttachStderr", "the same"),
    ("*.NetworkSettings.Networks.*.DNSNames", "an API 1.44 field rcon sends already"),
    ("*.*.NetworkSettings.Networks.*.DNSNames", "the same, in the container list"),
    ("logs.*.type", "dockerd 20.10 sends no Content-Type with logs; API 1.42+ engines send the stream type, as rcon"),
    ("version.Platform.Name", "rcon names itself"),
    ("error image.body.message", "dockerd 20.10 wraps it: \"no such image: X: No such image: X:latest\"; newer engines and rcon say the second part"),
    ("error bad filters", "dockerd 20.10 answers malformed filters with 500; rcon (as newer engines) with 400"),
];

/// rcon's own `/info` fields, beyond Docker's.
const RCON_INFO_EXTRAS: &[&str] =
    &["ConfigDir", "IDMappings", "NetworkBackends", "Rootless", "RuntimeDir", "SubordinateIDs"];

/// Values that legitimately vary between two engines: compared by presence
/// and JSON type only (ids and times are normalised inside strings, `Norm`).
const VARIABLE: &[&str] = &[
    "*.State.Pid",
    // The list's creation time in seconds: the two creates may straddle a second.
    "*.*.Created",
    "*.ResolvConfPath",
    "*.HostnamePath",
    "*.HostsPath",
    "*.LogPath",
    "*.NetworkSettings.SandboxID",
    "*.NetworkSettings.SandboxKey",
    "*.NetworkSettings.Ports.*.*.HostPort",
    "*.NetworkSettings.Networks.*.EndpointID",
    "*.NetworkSettings.Networks.*.Gateway",
    "*.NetworkSettings.Networks.*.IPAddress",
    "*.NetworkSettings.Networks.*.IPPrefixLen",
    "*.NetworkSettings.Networks.*.MacAddress",
    "*.*.Ports.*.PublicPort",
    "*.*.NetworkSettings.Networks.*.EndpointID",
    "*.*.NetworkSettings.Networks.*.Gateway",
    "*.*.NetworkSettings.Networks.*.IPAddress",
    "*.*.NetworkSettings.Networks.*.IPPrefixLen",
    "*.*.NetworkSettings.Networks.*.MacAddress",
    "*.IPAM.Config",
    "*.Mountpoint",
    "*.Volumes.*.Mountpoint",
    "*.Metadata.LastTagTime",
    "*.VirtualSize",
    "*.Size",
    "version",
];

// ---- the oracle -------------------------------------------------------------

/// dockerd on its socket, as a client of the test; what a test made there
/// (named with its unique prefix) is removed when it is dropped.
struct Oracle<'a> {
    api: Service<'a>,
    prefix: String,
}

impl<'a> Oracle<'a> {
    fn new(t: &'a TestEnv) -> Oracle<'a> {
        let api = Service::attach(t, Path::new(ORACLE));
        let answers =
            std::os::unix::net::UnixStream::connect(ORACLE).is_ok() && api.http("GET", "/_ping", b"").0 == 200;
        assert!(
            answers,
            "the Docker oracle does not answer on {ORACLE}: start it as root with \
             `bash contrib/test-setup/oracle.sh start` (`make test` does)"
        );
        let mode = match t.mode {
            Mode::Rootless => "u",
            Mode::Root => "r",
        };
        let n = t.dir.file_name().unwrap().to_string_lossy().replace('-', "");
        Oracle { api, prefix: format!("orc{mode}{n}") }
    }

    fn docker(&self, args: &[&str]) -> String {
        let bin = if Path::new("/usr/bin/docker").exists() { "/usr/bin/docker" } else { "docker" };
        let o = Command::new(bin).arg("-H").arg(format!("unix://{ORACLE}")).args(args).output().unwrap();
        assert!(o.status.success(), "oracle docker {args:?}: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// The busybox test image under `tag` in dockerd and in rcon.
    fn load_busybox(&self, t: &TestEnv, tag: &str) {
        let archive = fixtures::busybox_archive(&t.dir, &[tag]);
        self.docker(&["load", "-q", "-i", archive.to_str().unwrap()]);
        t.load_busybox(tag);
    }
}

impl Drop for Oracle<'_> {
    fn drop(&mut self) {
        let q = |args: &[&str]| -> Vec<String> {
            let bin = if Path::new("/usr/bin/docker").exists() { "/usr/bin/docker" } else { "docker" };
            let o = Command::new(bin).arg("-H").arg(format!("unix://{ORACLE}")).args(args).output();
            o.map(|o| String::from_utf8_lossy(&o.stdout).lines().map(String::from).collect()).unwrap_or_default()
        };
        let p = &self.prefix;
        let filter = format!("name={p}");
        let ids = q(&["ps", "-aq", "--filter", &filter]);
        if !ids.is_empty() {
            q(&[&["rm", "-f", "-v"][..], &ids.iter().map(String::as_str).collect::<Vec<_>>()].concat());
        }
        for n in q(&["network", "ls", "-q", "--filter", &filter]) {
            q(&["network", "rm", &n]);
        }
        for v in q(&["volume", "ls", "-q", "--filter", &filter]) {
            q(&["volume", "rm", "-f", &v]);
        }
        for i in q(&["images", "--format", "{{.Repository}}:{{.Tag}}"]) {
            if i.starts_with(p.as_str()) {
                q(&["rmi", &i]);
            }
        }
    }
}

/// One request to both: (status, content type, body) of each.
struct Both {
    docker: (u16, String, Vec<u8>),
    rcon: (u16, String, Vec<u8>),
}

fn content_type(head: &str) -> String {
    head.lines()
        .find_map(|l| {
            l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("content-type")).map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_default()
}

fn send(o: &Oracle, s: &Service, method: &str, path: &str, body: &Value) -> Both {
    let b = if body.is_null() { Vec::new() } else { serde_json::to_vec(body).unwrap() };
    let path = format!("/v1.41{path}");
    let (ds, dh, db) = o.api.http(method, &path, &b);
    let (rs, rh, rb) = s.http(method, &path, &b);
    Both { docker: (ds, content_type(&dh), db), rcon: (rs, content_type(&rh), rb) }
}

fn parse(what: &str, b: &[u8]) -> Value {
    serde_json::from_slice(b).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {}", String::from_utf8_lossy(b)))
}

/// The two JSON answers of a request both must answer with `status`.
fn json_both(o: &Oracle, s: &Service, method: &str, path: &str, body: &Value, status: u16) -> (Value, Value) {
    let r = send(o, s, method, path, body);
    assert_eq!(r.docker.0, status, "dockerd {method} {path}: {}", String::from_utf8_lossy(&r.docker.2));
    assert_eq!(r.rcon.0, status, "rcon {method} {path}: {}", String::from_utf8_lossy(&r.rcon.2));
    (parse("dockerd", &r.docker.2), parse("rcon", &r.rcon.2))
}

// ---- normalising and comparing --------------------------------------------

/// Per side: strings that stand for the same thing on both (an id, a
/// host path) become one token.
#[derive(Default)]
struct Norm {
    subst: Vec<(String, String)>,
}

impl Norm {
    fn id(&mut self, id: &str, token: &str) {
        self.subst.push((id.to_string(), format!("<{token}>")));
        self.subst.push((id[..12].to_string(), format!("<{token}12>")));
    }

    fn apply(&self, v: &Value) -> Value {
        match v {
            Value::String(s) => {
                if is_time(s) {
                    return Value::String("<TIME>".into());
                }
                let mut s = s.clone();
                for (from, to) in &self.subst {
                    s = s.replace(from.as_str(), to);
                }
                Value::String(s)
            }
            Value::Array(a) => Value::Array(a.iter().map(|x| self.apply(x)).collect()),
            Value::Object(m) => Value::Object(m.iter().map(|(k, x)| (k.clone(), self.apply(x))).collect()),
            x => x.clone(),
        }
    }
}

/// An RFC 3339 time other than Go's zero time (which Docker sends for
/// "never" and we compare as it is).
fn is_time(s: &str) -> bool {
    let b = s.as_bytes();
    s.len() >= 20
        && !s.starts_with("0001-01-01")
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[..4].iter().all(u8::is_ascii_digit)
}

fn matches(pattern: &str, path: &[String]) -> bool {
    let p: Vec<&str> = pattern.split('.').collect();
    p.len() <= path.len() && p.iter().zip(path).all(|(a, b)| *a == "*" || a == b)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every difference between dockerd's `d` and rcon's `r` under `root`,
/// outside `ALLOWED` (values under `VARIABLE` compared by type only).
fn diff(root: &str, d: &Value, r: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(&mut vec![root.to_string()], d, r, &mut out);
    out
}

fn walk(path: &mut Vec<String>, d: &Value, r: &Value, out: &mut Vec<String>) {
    if ALLOWED.iter().any(|(p, _)| matches(p, path)) {
        return;
    }
    let at = path.join(".");
    if kind(d) != kind(r) {
        out.push(format!("{at}: dockerd {} {d}, rcon {} {r}", kind(d), kind(r)));
        return;
    }
    let variable = VARIABLE.iter().any(|p| matches(p, path));
    match (d, r) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, x) in a {
                path.push(k.clone());
                match b.get(k) {
                    Some(y) => walk(path, x, y, out),
                    None if !ALLOWED.iter().any(|(p, _)| matches(p, path)) => {
                        out.push(format!("{}: rcon lacks it (dockerd: {x})", path.join(".")))
                    }
                    None => {}
                }
                path.pop();
            }
            for (k, y) in b {
                if !a.contains_key(k) {
                    path.push(k.clone());
                    if !ALLOWED.iter().any(|(p, _)| matches(p, path)) {
                        out.push(format!("{}: dockerd lacks it (rcon: {y})", path.join(".")));
                    }
                    path.pop();
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() && !variable {
                out.push(format!("{at}: dockerd {d}, rcon {r}"));
                return;
            }
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                path.push(i.to_string());
                walk(path, x, y, out);
                path.pop();
            }
        }
        // A list entry's Status carries a duration ("Up 1 second", "Up Less
        // than a second"): its state part must agree.
        (Value::String(a), Value::String(b)) if path.last().is_some_and(|k| k == "Status") => {
            // (equal shapes must not fall through to the exact comparison)
            out.extend((status_shape(a) != status_shape(b)).then(|| format!("{at}: dockerd {d}, rcon {r}")));
        }
        _ if !variable && d != r => out.push(format!("{at}: dockerd {d}, rcon {r}")),
        _ => {}
    }
}

/// "Up 3 seconds (healthy)" → "Up (healthy)", "Exited (0) 2 seconds ago" →
/// "Exited (0)": the state words without the duration.
fn status_shape(s: &str) -> String {
    let keep = |w: &&str| {
        w.starts_with('(') || matches!(*w, "Up" | "Exited" | "Created" | "Paused" | "Restarting" | "Removal" | "Dead")
    };
    s.split(' ').filter(keep).collect::<Vec<_>>().join(" ")
}

/// The differences found in a test, all reported at its end.
#[derive(Default)]
struct Report {
    diffs: Vec<String>,
}

impl Report {
    fn same(&mut self, what: &str, d: &Value, r: &Value) {
        self.diffs.extend(diff(what, d, r));
    }

    #[track_caller]
    fn finish(self) {
        assert!(
            self.diffs.is_empty(),
            "rcon differs from dockerd in {} place(s):\n  {}",
            self.diffs.len(),
            self.diffs.join("\n  ")
        );
    }
}

// ---- the tests --------------------------------------------------------------

fn create_body(image: &str, prefix: &str, net: &str, bind: &Path, cmd: &[&str]) -> Value {
    json!({
        "Image": image,
        "Cmd": cmd,
        "Env": ["GREETING=hello world", "EMPTY="],
        "Labels": {"tier": "front", prefix: "1"},
        "ExposedPorts": {"80/tcp": {}, "53/udp": {}},
        "HostConfig": {
            "NetworkMode": net,
            "PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]},
            "Binds": [format!("{}:/data:ro", bind.display())],
            "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 2},
        },
    })
}

/// A user network `{prefix}-net` on both; its id is a token in both norms.
fn network(o: &Oracle, s: &Service, rep: &mut Report, dn: &mut Norm, rn: &mut Norm) -> String {
    let name = format!("{}-net", o.prefix);
    let body = json!({"Name": name, "CheckDuplicate": true, "Labels": {"purpose": "oracle"}});
    let (d, r) = json_both(o, s, "POST", "/networks/create", &body, 201);
    dn.id(d["Id"].as_str().unwrap(), "net");
    rn.id(r["Id"].as_str().unwrap(), "net");
    rep.same("network create", &dn.apply(&d), &rn.apply(&r));
    name
}

both_modes!(containers_inspect_and_list_agree, |t| {
    let o = Oracle::new(t);
    let p = o.prefix.clone();
    let image = format!("{p}-busybox:latest");
    o.load_busybox(t, &image);
    let s = Service::start(t);
    let bind = t.path("bind");
    std::fs::create_dir_all(&bind).unwrap();
    t.give(&bind);
    let (mut dn, mut rn) = (Norm::default(), Norm::default());
    let mut rep = Report::default();
    let net = network(&o, &s, &mut rep, &mut dn, &mut rn);
    for (name, cmd) in [("created", &["sh", "-c", "exit 3"][..]), ("running", &["sleep", "1000"][..])] {
        let body = create_body(&image, &p, &net, &bind, cmd);
        let (d, r) = json_both(&o, &s, "POST", &format!("/containers/create?name={p}-{name}"), &body, 201);
        dn.id(d["Id"].as_str().unwrap(), name);
        rn.id(r["Id"].as_str().unwrap(), name);
        rep.same("create", &dn.apply(&d), &rn.apply(&r));
    }
    // A created container.
    let (d, r) = json_both(&o, &s, "GET", &format!("/containers/{p}-created/json"), &Value::Null, 200);
    rep.same("inspect created", &dn.apply(&d), &rn.apply(&r));
    // A running one.
    let r0 = send(&o, &s, "POST", &format!("/containers/{p}-running/start"), &Value::Null);
    assert_eq!((r0.docker.0, r0.rcon.0), (204, 204), "start: {:?} {:?}", r0.docker.2, r0.rcon.2);
    let (d, r) = json_both(&o, &s, "GET", &format!("/containers/{p}-running/json"), &Value::Null, 200);
    assert_eq!(d["State"]["Running"], true);
    rep.same("inspect running", &dn.apply(&d), &rn.apply(&r));
    // Lists: all, and running only, of this test's containers (by label).
    let sort = |v: Value| {
        let mut a = v.as_array().unwrap().clone();
        a.sort_by_key(|c| c["Names"][0].as_str().unwrap_or("").to_string());
        // Docker's port order is a Go map's (random).
        for c in &mut a {
            if let Some(p) = c["Ports"].as_array_mut() {
                p.sort_by_key(|x| (x["PrivatePort"].as_u64(), x["Type"].as_str().map(String::from)));
            }
        }
        Value::Array(a)
    };
    let f = urlencode(&json!({"label": [p]}).to_string());
    let (d, r) = json_both(&o, &s, "GET", &format!("/containers/json?all=1&filters={f}"), &Value::Null, 200);
    assert_eq!(d.as_array().unwrap().len(), 2, "{d}");
    rep.same("list all", &dn.apply(&sort(d)), &rn.apply(&sort(r)));
    let f = urlencode(&json!({"label": [format!("{p}=1"), "tier=front"]}).to_string());
    let (d, r) = json_both(&o, &s, "GET", &format!("/containers/json?filters={f}"), &Value::Null, 200);
    assert_eq!(d.as_array().unwrap().len(), 1, "{d}");
    rep.same("list running", &dn.apply(&sort(d)), &rn.apply(&sort(r)));
    // Errors: a name in use (409), start of a started container (304).
    let body = create_body(&image, &p, &net, &bind, &["true"]);
    let (d, r) = json_both(&o, &s, "POST", &format!("/containers/create?name={p}-running"), &body, 409);
    rep.same("create conflict", &dn.apply(&d), &rn.apply(&r));
    let b = send(&o, &s, "POST", &format!("/containers/{p}-running/start"), &Value::Null);
    rep.same(
        "start started",
        &json!([b.docker.0, String::from_utf8_lossy(&b.docker.2)]),
        &json!([b.rcon.0, String::from_utf8_lossy(&b.rcon.2)]),
    );
    for id in ["created", "running"] {
        let b = send(&o, &s, "DELETE", &format!("/containers/{p}-{id}?force=1"), &Value::Null);
        assert_eq!((b.docker.0, b.rcon.0), (204, 204));
    }
    let b = send(&o, &s, "DELETE", &format!("/networks/{net}"), &Value::Null);
    assert_eq!((b.docker.0, b.rcon.0), (204, 204));
    rep.finish();
});

both_modes!(images_networks_volumes_agree, |t| {
    let o = Oracle::new(t);
    let p = o.prefix.clone();
    let image = format!("{p}-busybox:latest");
    o.load_busybox(t, &image);
    let s = Service::start(t);
    let (mut dn, mut rn) = (Norm::default(), Norm::default());
    let mut rep = Report::default();
    let (d, r) = json_both(&o, &s, "GET", &format!("/images/{image}/json"), &Value::Null, 200);
    assert_eq!(d["Id"], r["Id"], "the same archive gives the same image id");
    // Other tests' tags of the same image on dockerd.
    let ours = |mut v: Value| {
        v["RepoTags"] =
            json!(v["RepoTags"].as_array().unwrap().iter().filter(|x| *x == image.as_str()).collect::<Vec<_>>());
        v
    };
    rep.same("image inspect", &ours(d), &ours(r));
    // A network: inspect and its entry in the list (the lists hold other
    // tests' networks on dockerd).
    let net = network(&o, &s, &mut rep, &mut dn, &mut rn);
    let (d, r) = json_both(&o, &s, "GET", &format!("/networks/{net}"), &Value::Null, 200);
    rep.same("network inspect", &dn.apply(&d), &rn.apply(&r));
    let mine =
        |v: &Value| v.as_array().unwrap().iter().find(|n| n["Name"] == net.as_str()).cloned().unwrap_or(Value::Null);
    let (d, r) = json_both(&o, &s, "GET", "/networks", &Value::Null, 200);
    rep.same("network list", &dn.apply(&mine(&d)), &rn.apply(&mine(&r)));
    // A volume.
    let vol = format!("{p}-vol");
    let body = json!({"Name": vol, "Labels": {"purpose": "oracle"}, "Driver": "local"});
    let (d, r) = json_both(&o, &s, "POST", "/volumes/create", &body, 201);
    rep.same("volume create", &d, &r);
    let (d, r) = json_both(&o, &s, "GET", &format!("/volumes/{vol}"), &Value::Null, 200);
    rep.same("volume inspect", &d, &r);
    let (d, r) = json_both(&o, &s, "GET", "/volumes", &Value::Null, 200);
    let mine = |v: &Value| {
        let mut v = v.clone();
        let list: Vec<Value> =
            v["Volumes"].as_array().unwrap().iter().filter(|x| x["Name"] == vol.as_str()).cloned().collect();
        v["Volumes"] = Value::Array(list);
        v
    };
    rep.same("volume list", &mine(&d), &mine(&r));
    for path in [format!("/volumes/{vol}"), format!("/networks/{net}")] {
        let b = send(&o, &s, "DELETE", &path, &Value::Null);
        assert_eq!((b.docker.0, b.rcon.0), (204, 204), "DELETE {path}");
    }
    rep.finish();
});

both_modes!(system_and_errors_agree, |t| {
    let o = Oracle::new(t);
    let s = Service::start(t);
    let mut rep = Report::default();
    // /info: the top-level keys; /version: the keys, recursively.
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        json!(k)
    };
    let (d, r) = json_both(&o, &s, "GET", "/info", &Value::Null, 200);
    let (dk, rk) = (keys(&d), keys(&r));
    let only = |a: &Value, b: &Value| -> Vec<Value> {
        a.as_array().unwrap().iter().filter(|k| !b.as_array().unwrap().contains(k)).cloned().collect()
    };
    rep.same("info keys", &json!({"missing in rcon": only(&dk, &rk), "extra in rcon": only(&rk, &dk).into_iter().filter(|k| !RCON_INFO_EXTRAS.contains(&k.as_str().unwrap())).collect::<Vec<_>>()}), &json!({"missing in rcon": [], "extra in rcon": []}));
    let (d, r) = json_both(&o, &s, "GET", "/version", &Value::Null, 200);
    rep.same("version", &d, &r);
    // Error bodies and statuses.
    let p = &o.prefix;
    for (what, method, path, body) in [
        ("error container", "GET", format!("/containers/{p}-nope/json"), Value::Null),
        ("error image", "GET", format!("/images/{p}-nope/json"), Value::Null),
        ("error image", "GET", format!("/images/{p}-nope:v1/json"), Value::Null),
        ("error network", "GET", format!("/networks/{p}-nope"), Value::Null),
        ("error volume", "GET", format!("/volumes/{p}-nope"), Value::Null),
        ("error start", "POST", format!("/containers/{p}-nope/start"), Value::Null),
        ("error remove", "DELETE", format!("/containers/{p}-nope"), Value::Null),
        ("error create image", "POST", "/containers/create".into(), json!({"Image": format!("{p}-nope:latest")})),
        ("error logs", "GET", format!("/containers/{p}-nope/logs"), Value::Null),
        ("error bad filters", "GET", "/containers/json?filters=%7Bnot-json".into(), Value::Null),
        ("error bad name", "POST", "/containers/create?name=bad%20name".into(), json!({"Image": format!("{p}-nope")})),
        ("error endpoint", "GET", "/nope".into(), Value::Null),
        ("error method", "POST", "/containers/json".into(), Value::Null),
    ] {
        let b = send(&o, &s, method, &path, &body);
        let text = |b: &[u8]| serde_json::from_slice::<Value>(b).unwrap_or_else(|_| json!(String::from_utf8_lossy(b)));
        let (mut d, mut r) = (
            json!({"status": b.docker.0, "type": b.docker.1, "body": text(&b.docker.2)}),
            json!({"status": b.rcon.0, "type": b.rcon.1, "body": text(&b.rcon.2)}),
        );
        d["request"] = json!(format!("{method} {path}"));
        r["request"] = d["request"].clone();
        rep.same(what, &d, &r);
    }
    rep.finish();
});

/// The frames of a multiplexed stream: (stream, payload), checking each header.
fn frames(b: &[u8]) -> Vec<(u8, String)> {
    let mut out = Vec::new();
    let mut rest = b;
    while !rest.is_empty() {
        assert!(rest.len() >= 8, "a short frame header: {rest:?}");
        assert!(matches!(rest[0], 1 | 2) && rest[1..4] == [0, 0, 0], "a bad frame header: {:?}", &rest[..8]);
        let n = u32::from_be_bytes(rest[4..8].try_into().unwrap()) as usize;
        assert!(rest.len() >= 8 + n, "a frame longer than the body");
        out.push((rest[0], String::from_utf8_lossy(&rest[8..8 + n]).into_owned()));
        rest = &rest[8 + n..];
    }
    out
}

both_modes!(logs_framing_agrees, |t| {
    let o = Oracle::new(t);
    let p = o.prefix.clone();
    let image = format!("{p}-busybox:latest");
    o.load_busybox(t, &image);
    let s = Service::start(t);
    let mut rep = Report::default();
    let body = json!({"Image": image, "Cmd": ["sh", "-c", "echo out1; echo err1 >&2; echo out2; printf 'no newline' >&2"],
        "HostConfig": {"NetworkMode": "none"}});
    let name = format!("{p}-logs");
    json_both(&o, &s, "POST", &format!("/containers/create?name={name}"), &body, 201);
    let b = send(&o, &s, "POST", &format!("/containers/{name}/start"), &Value::Null);
    assert_eq!((b.docker.0, b.rcon.0), (204, 204));
    let (d, r) = json_both(&o, &s, "POST", &format!("/containers/{name}/wait"), &Value::Null, 200);
    rep.same("wait", &d, &r);
    for q in ["stdout=1&stderr=1", "stdout=1", "stderr=1&tail=1"] {
        let b = send(&o, &s, "GET", &format!("/containers/{name}/logs?{q}"), &Value::Null);
        assert_eq!((b.docker.0, b.rcon.0), (200, 200), "logs?{q}");
        // Lines of one stream keep their order; the two streams may interleave.
        let split = |f: Vec<(u8, String)>| {
            let (o, e): (Vec<_>, Vec<_>) = f.into_iter().partition(|(s, _)| *s == 1);
            json!({"stdout": o.into_iter().map(|x| x.1).collect::<Vec<_>>(), "stderr": e.into_iter().map(|x| x.1).collect::<Vec<_>>()})
        };
        rep.same(
            "logs",
            &json!({ q: {"type": b.docker.1, "frames": split(frames(&b.docker.2))} }),
            &json!({ q: {"type": b.rcon.1, "frames": split(frames(&b.rcon.2))} }),
        );
    }
    let b = send(&o, &s, "GET", &format!("/containers/{name}/logs"), &Value::Null);
    rep.same(
        "logs without streams",
        &json!([b.docker.0, parse("dockerd", &b.docker.2)]),
        &json!([b.rcon.0, parse("rcon", &b.rcon.2)]),
    );
    let b = send(&o, &s, "DELETE", &format!("/containers/{name}"), &Value::Null);
    assert_eq!((b.docker.0, b.rcon.0), (204, 204));
    rep.finish();
});

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
