//! Merging compose files, per the compose spec's "Merge and override" and
//! compose-go's `override` package: mappings merge recursively, sequences
//! append, scalars are replaced; some paths have their own rule (listed in
//! [`special`]). `!reset` in the override drops the base value, `!override`
//! replaces it whole. Duplicates created by appending (the same port or
//! variable twice) are removed later, on the typed model, where "the same"
//! can be judged after short and long syntax are both normalised.

use super::yaml::{Node, Tag, Value};
use super::ComposeError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// The override replaces the base (`command`, `entrypoint`, `healthcheck.test`).
    Replace,
    /// Both sides become `KEY=VALUE` lists and are appended
    /// (`environment`, `labels`, `dns`, `sysctls`...); the typed model keeps the last value per key.
    ToSequence,
    /// As `ToSequence`, without the entries already in the base.
    ExtraHosts,
    /// Short lists become mappings, then mappings merge (`depends_on`, service `networks`).
    ToMapping { depends_on: bool },
    /// `build: ./dir` is `build: {context: ./dir}`.
    Build,
    /// Options merge only when both sides use the same driver (or one names none).
    Logging,
    /// Pools merge by subnet.
    IpamConfig,
}

const RULES: &[(&str, Rule)] = &[
    ("services.*.command", Rule::Replace),
    ("services.*.entrypoint", Rule::Replace),
    ("services.*.healthcheck.test", Rule::Replace),
    ("services.*.ulimits.*", Rule::Replace),
    ("services.*.environment", Rule::ToSequence),
    ("services.*.labels", Rule::ToSequence),
    ("services.*.annotations", Rule::ToSequence),
    ("services.*.sysctls", Rule::ToSequence),
    ("services.*.dns", Rule::ToSequence),
    ("services.*.dns_opt", Rule::ToSequence),
    ("services.*.dns_search", Rule::ToSequence),
    ("services.*.env_file", Rule::ToSequence),
    ("services.*.label_file", Rule::ToSequence),
    ("services.*.tmpfs", Rule::ToSequence),
    ("services.*.build.args", Rule::ToSequence),
    ("services.*.build.labels", Rule::ToSequence),
    ("services.*.build.additional_contexts", Rule::ToSequence),
    ("services.*.deploy.labels", Rule::ToSequence),
    ("services.*.volumes.*.volume.labels", Rule::ToSequence),
    ("networks.*.labels", Rule::ToSequence),
    ("volumes.*.labels", Rule::ToSequence),
    ("services.*.extra_hosts", Rule::ExtraHosts),
    ("services.*.build.extra_hosts", Rule::ExtraHosts),
    ("services.*.depends_on", Rule::ToMapping { depends_on: true }),
    ("services.*.networks", Rule::ToMapping { depends_on: false }),
    ("services.*.build", Rule::Build),
    ("services.*.logging", Rule::Logging),
    ("networks.*.ipam.config", Rule::IpamConfig),
];

fn special(path: &[String]) -> Option<Rule> {
    RULES.iter().find(|(pattern, _)| matches(pattern, path)).map(|(_, r)| *r)
}

fn matches(pattern: &str, path: &[String]) -> bool {
    let parts: Vec<&str> = pattern.split('.').collect();
    parts.len() == path.len() && parts.iter().zip(path).all(|(p, s)| *p == "*" || p == s)
}

fn dotted(path: &[String]) -> String {
    path.join(".")
}

/// Merges the override `over` onto `base` (two whole compose files).
pub fn merge_files(base: Node, over: Node) -> Result<Node, ComposeError> {
    merge_at(base, over, &mut Vec::new())
}

/// Merges one service definition onto another: `extends` uses the same
/// rules as an override file (compose-go's `ExtendService`).
pub fn merge_service(base: Node, over: Node, name: &str) -> Result<Node, ComposeError> {
    merge_at(base, over, &mut vec!["services".to_string(), name.to_string()])
}

fn merge_at(base: Node, over: Node, path: &mut Vec<String>) -> Result<Node, ComposeError> {
    if over.tag == Some(Tag::Override) {
        return Ok(untagged(over));
    }
    if let Some(rule) = special(path) {
        return apply(rule, base, over, path);
    }
    if over.is_null() {
        return Ok(base);
    }
    match (base.value, over.value) {
        (Value::Map(b), Value::Map(o)) => merge_maps(b, o, base.pos, path),
        (Value::Seq(mut b), Value::Seq(o)) => {
            b.extend(o);
            Ok(Node::new(Value::Seq(b), base.pos))
        }
        (b @ (Value::Map(_) | Value::Seq(_)), o) => {
            let (bk, ok) = (Node::new(b, base.pos).kind(), Node::new(o, over.pos).kind());
            Err(ComposeError::Invalid {
                path: dotted(path),
                msg: format!("cannot override {bk} with {ok}: use the same syntax in both files or tag it !override"),
            })
        }
        (_, o) => Ok(Node { value: o, pos: over.pos, tag: over.tag }),
    }
}

fn merge_maps(
    mut base: Vec<(String, Node)>,
    over: Vec<(String, Node)>,
    pos: super::yaml::Pos,
    path: &mut Vec<String>,
) -> Result<Node, ComposeError> {
    for (k, v) in over {
        let i = base.iter().position(|(b, _)| *b == k);
        match (i, v.tag) {
            (Some(i), Some(Tag::Reset)) => {
                base.remove(i);
            }
            (Some(i), _) => {
                let b = std::mem::replace(&mut base[i].1, Node::new(Value::Null, pos));
                path.push(k);
                let merged = merge_at(b, v, path);
                path.pop();
                base[i].1 = merged?;
            }
            (None, Some(Tag::Reset)) => {}
            (None, _) => base.push((k, v)),
        }
    }
    Ok(Node::map(base, pos))
}

fn untagged(mut n: Node) -> Node {
    n.tag = None;
    n
}

fn apply(rule: Rule, base: Node, over: Node, path: &mut Vec<String>) -> Result<Node, ComposeError> {
    let pos = base.pos;
    match rule {
        Rule::Replace => Ok(if over.is_null() { base } else { over }),
        Rule::ToSequence => {
            let mut seq = to_sequence(base);
            seq.extend(to_sequence(over));
            Ok(Node::new(Value::Seq(seq), pos))
        }
        Rule::ExtraHosts => {
            let mut seq = to_sequence(base);
            for item in to_sequence(over) {
                if !seq.contains(&item) {
                    seq.push(item);
                }
            }
            Ok(Node::new(Value::Seq(seq), pos))
        }
        Rule::ToMapping { depends_on } => {
            let (b, o) = (to_mapping(base, depends_on), to_mapping(over, depends_on));
            merge_maps(b, o, pos, path)
        }
        Rule::Build => {
            let context = |n: Node| match n.value {
                Value::Str { .. } => vec![("context".to_string(), n)],
                Value::Map(m) => m,
                _ => Vec::new(),
            };
            merge_maps(context(base), context(over), pos, path)
        }
        Rule::Logging => {
            let driver = |n: &Node| n.get("driver").and_then(Node::as_str).map(str::to_string);
            match (driver(&base), driver(&over)) {
                (Some(b), Some(o)) if b != o => Ok(over),
                _ => match (base.value, over.value) {
                    (Value::Map(b), Value::Map(o)) => merge_maps(b, o, pos, path),
                    (_, o) => Ok(Node::new(o, over.pos)),
                },
            }
        }
        Rule::IpamConfig => {
            let subnet = |n: &Node| n.get("subnet").and_then(Node::as_str).map(str::to_string);
            let mut pools = match base.value {
                Value::Seq(s) => s,
                _ => Vec::new(),
            };
            let over = match over.value {
                Value::Seq(s) => s,
                _ => Vec::new(),
            };
            for o in over {
                match pools.iter().position(|p| subnet(p) == subnet(&o)) {
                    Some(i) => {
                        let b = std::mem::replace(&mut pools[i], Node::new(Value::Null, pos));
                        path.push("[]".to_string());
                        let merged = merge_at(b, o, path);
                        path.pop();
                        pools[i] = merged?;
                    }
                    None => pools.push(o),
                }
            }
            Ok(Node::new(Value::Seq(pools), pos))
        }
    }
}

/// A mapping as `KEY=VALUE` items (sorted, as compose does), a list as is,
/// a string as a one-item list.
fn to_sequence(n: Node) -> Vec<Node> {
    let pos = n.pos;
    match n.value {
        Value::Map(m) => {
            let mut items = Vec::new();
            for (k, v) in m {
                match v.value {
                    Value::Null => items.push(k),
                    Value::Str { text, .. } => items.push(format!("{k}={text}")),
                    Value::Seq(s) => items.extend(s.iter().filter_map(Node::as_str).map(|x| format!("{k}={x}"))),
                    Value::Map(_) => items.push(k),
                }
            }
            items.sort();
            items.into_iter().map(|s| Node::string(s, pos)).collect()
        }
        Value::Seq(s) => s,
        Value::Str { .. } => vec![n],
        Value::Null => Vec::new(),
    }
}

/// A list of names as a mapping: `depends_on` entries get compose's defaults
/// so they merge with long-syntax entries, other names map to null.
fn to_mapping(n: Node, depends_on: bool) -> Vec<(String, Node)> {
    let pos = n.pos;
    match n.value {
        Value::Map(m) => m,
        Value::Seq(items) => items
            .into_iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .map(|name| {
                let v = if depends_on {
                    Node::map(
                        vec![
                            ("condition".to_string(), Node::string("service_started", pos)),
                            ("required".to_string(), Node::string("true", pos)),
                        ],
                        pos,
                    )
                } else {
                    Node::new(Value::Null, pos)
                };
                (name, v)
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Drops values still tagged `!reset` (a reset with nothing under it, or in
/// the first file) and clears the tags once every merge is done.
pub fn strip_tags(n: &mut Node) {
    n.tag = None;
    match &mut n.value {
        Value::Map(m) => {
            m.retain(|(_, v)| v.tag != Some(Tag::Reset));
            m.iter_mut().for_each(|(_, v)| strip_tags(v));
        }
        Value::Seq(s) => {
            s.retain(|v| v.tag != Some(Tag::Reset));
            s.iter_mut().for_each(strip_tags);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::super::yaml::parse;
    use super::*;

    fn merged(base: &str, over: &str) -> Node {
        let b = parse(base, "base").unwrap().remove(0);
        let o = parse(over, "over").unwrap().remove(0);
        let mut m = merge_files(b, o).unwrap();
        strip_tags(&mut m);
        m
    }

    fn svc<'a>(n: &'a Node, name: &str) -> &'a Node {
        n.get("services").unwrap().get(name).unwrap()
    }

    fn strs(n: &Node) -> Vec<&str> {
        match &n.value {
            Value::Seq(s) => s.iter().map(|i| i.as_str().unwrap()).collect(),
            _ => panic!("not a list: {n:?}"),
        }
    }

    #[test]
    fn mappings_merge_scalars_replace_sequences_append() {
        let m = merged(
            "services:\n  web:\n    image: a\n    ports: ['80']\n    deploy: {replicas: 1, mode: replicated}\n",
            "services:\n  web:\n    image: b\n    ports: ['443']\n    deploy: {replicas: 2}\n",
        );
        let web = svc(&m, "web");
        assert_eq!(web.get("image").unwrap().as_str(), Some("b"));
        assert_eq!(strs(web.get("ports").unwrap()), ["80", "443"]);
        assert_eq!(web.get("deploy").unwrap().get("replicas").unwrap().as_str(), Some("2"));
        assert_eq!(web.get("deploy").unwrap().get("mode").unwrap().as_str(), Some("replicated"));
    }

    #[test]
    fn command_entrypoint_and_healthcheck_test_are_replaced() {
        let m = merged(
            "services:\n  w:\n    command: [a, b]\n    entrypoint: [x]\n    healthcheck: {test: [CMD, a], retries: 3}\n",
            "services:\n  w:\n    command: [c]\n    entrypoint: y\n    healthcheck: {test: [CMD, b]}\n",
        );
        let w = svc(&m, "w");
        assert_eq!(strs(w.get("command").unwrap()), ["c"]);
        assert_eq!(w.get("entrypoint").unwrap().as_str(), Some("y"));
        assert_eq!(strs(w.get("healthcheck").unwrap().get("test").unwrap()), ["CMD", "b"]);
        assert_eq!(w.get("healthcheck").unwrap().get("retries").unwrap().as_str(), Some("3"));
    }

    #[test]
    fn environment_and_labels_merge_across_syntaxes() {
        let m = merged(
            "services:\n  w:\n    environment: {B: 1, A: x}\n    labels: [l=1]\n",
            "services:\n  w:\n    environment: [A=y, C]\n    labels: {m: 2}\n",
        );
        let w = svc(&m, "w");
        assert_eq!(strs(w.get("environment").unwrap()), ["A=x", "B=1", "A=y", "C"]);
        assert_eq!(strs(w.get("labels").unwrap()), ["l=1", "m=2"]);
    }

    #[test]
    fn depends_on_and_networks_merge_by_name() {
        let m = merged(
            "services:\n  w:\n    depends_on: [db]\n    networks: [front]\n",
            "services:\n  w:\n    depends_on: {db: {condition: service_healthy}, cache: {condition: service_started}}\n    networks: {back: {aliases: [b]}}\n",
        );
        let w = svc(&m, "w");
        let db = w.get("depends_on").unwrap().get("db").unwrap();
        assert_eq!(db.get("condition").unwrap().as_str(), Some("service_healthy"));
        assert_eq!(db.get("required").unwrap().as_str(), Some("true"));
        assert!(w.get("depends_on").unwrap().get("cache").is_some());
        let nets = w.get("networks").unwrap();
        assert!(nets.get("front").unwrap().is_null());
        assert!(nets.get("back").is_some());
    }

    #[test]
    fn build_logging_extra_hosts() {
        let m = merged(
            "services:\n  w:\n    build: ./app\n    logging: {driver: json-file, options: {max-size: 1m}}\n    extra_hosts: ['a:1.1.1.1']\n",
            "services:\n  w:\n    build: {target: dev}\n    logging: {driver: syslog}\n    extra_hosts: ['a:1.1.1.1', 'b:2.2.2.2']\n",
        );
        let w = svc(&m, "w");
        assert_eq!(w.get("build").unwrap().get("context").unwrap().as_str(), Some("./app"));
        assert_eq!(w.get("build").unwrap().get("target").unwrap().as_str(), Some("dev"));
        assert!(w.get("logging").unwrap().get("options").is_none(), "another driver replaces the options");
        assert_eq!(strs(w.get("extra_hosts").unwrap()), ["a:1.1.1.1", "b:2.2.2.2"]);
    }

    #[test]
    fn reset_and_override_tags() {
        let m = merged(
            "services:\n  w:\n    ports: ['80']\n    environment: {A: 1}\n    deploy: {replicas: 2, mode: global}\n",
            "services:\n  w:\n    ports: !reset []\n    environment: !override {B: 2}\n    deploy: !override {replicas: 1}\n    user: !reset x\n",
        );
        let w = svc(&m, "w");
        assert!(w.get("ports").is_none());
        assert!(w.get("user").is_none());
        assert!(w.get("environment").unwrap().get("A").is_none());
        assert_eq!(w.get("environment").unwrap().get("B").unwrap().as_str(), Some("2"));
        assert!(w.get("deploy").unwrap().get("mode").is_none());
    }

    #[test]
    fn ipam_pools_merge_by_subnet() {
        let m = merged(
            "networks:\n  n:\n    ipam:\n      config: [{subnet: 10.0.0.0/24, gateway: 10.0.0.1}]\n",
            "networks:\n  n:\n    ipam:\n      config: [{subnet: 10.0.0.0/24, ip_range: 10.0.0.0/25}, {subnet: 10.1.0.0/24}]\n",
        );
        let pools = m.get("networks").unwrap().get("n").unwrap().get("ipam").unwrap().get("config").unwrap();
        let Value::Seq(p) = &pools.value else { panic!() };
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].get("gateway").unwrap().as_str(), Some("10.0.0.1"));
        assert_eq!(p[0].get("ip_range").unwrap().as_str(), Some("10.0.0.0/25"));
    }

    #[test]
    fn mismatched_types_name_the_path() {
        let b = parse("services:\n  w:\n    ports: ['80']\n", "b").unwrap().remove(0);
        let o = parse("services:\n  w:\n    ports: '80'\n", "o").unwrap().remove(0);
        let e = merge_files(b, o).unwrap_err().to_string();
        assert!(e.starts_with("services.w.ports: cannot override a list with a string"), "{e}");
    }
}
