//! Listing containers as `docker ps` and `GET /containers/json` do: which
//! ones (running, or all), Docker's filters, newest first, `-n`/`--latest`.
//! Filters with the same key are alternatives, except labels, which must
//! all hold; different keys must all hold (the daemon's rules).

use std::collections::BTreeMap;

use serde_json::Value;

use super::Engine;
use crate::container::{Container, ContainerStore, Status};
use crate::error::{Error, Result};

fn bad(msg: String) -> Error {
    Error::InvalidArgument(msg)
}

/// One of Docker's `ps` filters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    Id(String),
    /// A substring of the name (Docker matches a regular expression; a
    /// plain name is the common case).
    Name(String),
    Label {
        key: String,
        value: Option<String>,
    },
    Status(Status),
    Exited(i32),
    /// An image name, name:tag or id prefix.
    Ancestor(String),
    Health(String),
    /// A user network (name) the container is on.
    Network(String),
    /// A volume name or a mount destination.
    Volume(String),
    /// Created before / after this container (name or id).
    Before(String),
    Since(String),
    /// A published or exposed port key ("80", "80/tcp").
    Publish(String),
    Expose(String),
    /// A pod's name or id (prefix): its containers, the infra's too.
    Pod(String),
}

impl Filter {
    /// `KEY=VALUE` as Docker's filters name them.
    pub fn new(key: &str, v: &str) -> Result<Filter> {
        Ok(match key {
            "id" => Filter::Id(v.into()),
            "name" => Filter::Name(v.trim_start_matches('/').into()),
            "label" => match v.split_once('=') {
                Some((k, val)) => Filter::Label { key: k.into(), value: Some(val.into()) },
                None => Filter::Label { key: v.into(), value: None },
            },
            "status" => Filter::Status(match v {
                "created" => Status::Created,
                "restarting" => Status::Restarting,
                "running" => Status::Running,
                "removing" => Status::Removing,
                "paused" => Status::Paused,
                "exited" => Status::Exited,
                "dead" => Status::Dead,
                _ => {
                    return Err(bad(format!(
                    "invalid filter 'status={v}': use created, restarting, running, removing, paused, exited or dead"
                )))
                }
            }),
            "exited" => Filter::Exited(
                v.parse().map_err(|_| bad(format!("invalid filter 'exited={v}': the exit code must be a number")))?,
            ),
            "ancestor" => Filter::Ancestor(v.into()),
            "health" => {
                if !["starting", "healthy", "unhealthy", "none"].contains(&v) {
                    return Err(bad(format!("invalid filter 'health={v}': use starting, healthy, unhealthy or none")));
                }
                Filter::Health(v.into())
            }
            "network" => Filter::Network(v.into()),
            "volume" => Filter::Volume(v.into()),
            "before" => Filter::Before(v.into()),
            "since" => Filter::Since(v.into()),
            "publish" => Filter::Publish(v.into()),
            "expose" => Filter::Expose(v.into()),
            "pod" => Filter::Pod(v.into()),
            // The daemon's message (moby's filters.invalidFilter).
            _ => return Err(bad(format!("invalid filter '{key}'"))),
        })
    }

    /// `KEY=VALUE` (the CLI's `--filter`).
    pub fn parse(f: &str) -> Result<Filter> {
        let (k, v) = f.split_once('=').ok_or_else(|| {
            bad(format!(
                "invalid argument \"{f}\" for \"-f, --filter\" flag: bad format of filter (expected name=value)"
            ))
        })?;
        Filter::new(k, v)
    }

    /// The API's `filters` JSON: `{"KEY": ["VALUE", …]}` (or the old
    /// `{"KEY": {"VALUE": true}}`).
    pub fn from_json(v: &Value) -> Result<Vec<Filter>> {
        let mut out = Vec::new();
        let Some(m) = v.as_object() else { return Err(bad("invalid filters: a JSON object is expected".into())) };
        for (k, vals) in m {
            let list: Vec<String> = match vals {
                Value::Array(a) => a.iter().filter_map(|x| x.as_str().map(String::from)).collect(),
                Value::Object(o) => {
                    o.iter().filter(|(_, b)| b.as_bool() != Some(false)).map(|(s, _)| s.clone()).collect()
                }
                Value::String(s) => vec![s.clone()],
                _ => return Err(bad(format!("invalid filter {k:?}"))),
            };
            for val in list {
                out.push(Filter::new(k, &val)?);
            }
        }
        Ok(out)
    }

    fn key(&self) -> &'static str {
        match self {
            Filter::Id(_) => "id",
            Filter::Name(_) => "name",
            Filter::Label { .. } => "label",
            Filter::Status(_) => "status",
            Filter::Exited(_) => "exited",
            Filter::Ancestor(_) => "ancestor",
            Filter::Health(_) => "health",
            Filter::Network(_) => "network",
            Filter::Volume(_) => "volume",
            Filter::Before(_) => "before",
            Filter::Since(_) => "since",
            Filter::Publish(_) => "publish",
            Filter::Expose(_) => "expose",
            Filter::Pod(_) => "pod",
        }
    }

    fn matches(
        &self,
        c: &Container,
        created_of: &dyn Fn(&str) -> Option<String>,
        pods: &BTreeMap<String, String>,
    ) -> bool {
        let cfg = &c.config;
        let port_is = |key: &str, p: &str| key == p || (!p.contains('/') && key == format!("{p}/tcp"));
        match self {
            Filter::Id(v) => cfg.id.starts_with(v.as_str()),
            Filter::Name(v) => cfg.name.contains(v.as_str()),
            Filter::Label { key, value } => match value {
                Some(v) => cfg.labels.get(key).and_then(Value::as_str) == Some(v.as_str()),
                None => cfg.labels.contains_key(key),
            },
            Filter::Status(s) => c.state.status == *s,
            Filter::Exited(code) => c.state.status == Status::Exited && c.state.exit_code == *code,
            Filter::Ancestor(v) => {
                cfg.image_name == *v
                    || cfg.image.trim_start_matches("sha256:").starts_with(v.trim_start_matches("sha256:"))
                    || cfg.image_name.split(':').next() == Some(v.as_str())
            }
            Filter::Health(v) => c.health.as_ref().map_or("none", |h| h.status.as_str()) == v,
            Filter::Network(v) => cfg.host.network_mode == *v || cfg.host.net.networks.iter().any(|a| a.network == *v),
            Filter::Volume(v) => cfg.host.mounts.iter().any(|m| m.source == *v || m.target == *v),
            Filter::Before(other) => created_of(other).is_some_and(|t| cfg.created < t),
            Filter::Since(other) => created_of(other).is_some_and(|t| cfg.created > t),
            Filter::Publish(p) => {
                cfg.host.net.ports.iter().any(|s| port_is(&s.key(), p) || port_is(&s.host_port.to_string(), p))
            }
            Filter::Expose(p) => cfg.exposed_ports.keys().any(|k| port_is(k, p)),
            Filter::Pod(p) => {
                !cfg.host.pod.is_empty()
                    && (cfg.host.pod.starts_with(p.as_str()) || pods.get(&cfg.host.pod).is_some_and(|n| n == p))
            }
        }
    }
}

#[derive(Debug, Default, Clone)]
pub struct ListOptions {
    /// Stopped containers too (`-a`).
    pub all: bool,
    pub filters: Vec<Filter>,
    /// `-n N` / the API's `limit`: the N newest, in every state.
    pub last: Option<usize>,
    /// `-l`.
    pub latest: bool,
}

/// The containers `o` selects, newest first.
pub fn list(engine: &Engine, o: &ListOptions) -> Result<Vec<Container>> {
    let mut all = ContainerStore::open(&engine.paths)?.listed();
    // A damaged container is listed (Dead) and named on stderr, not hidden
    // (issue 12: hidden, it still ran and its name could be taken again).
    for e in all.iter().filter_map(Container::damaged_error) {
        crate::util::warn(&e.to_string());
    }
    all.sort_by(|x, y| y.config.created.cmp(&x.config.created));
    let created: BTreeMap<String, (String, String)> =
        all.iter().map(|c| (c.config.id.clone(), (c.config.name.clone(), c.config.created.clone()))).collect();
    let created_of = |key: &str| {
        created.iter().find(|(id, (name, _))| *name == key || id.starts_with(key)).map(|(_, (_, t))| t.clone())
    };
    let mut by_key: BTreeMap<&str, Vec<&Filter>> = BTreeMap::new();
    for f in &o.filters {
        by_key.entry(f.key()).or_default().push(f);
    }
    // A status filter looks at every state (Docker's daemon sets All).
    let every_state = o.all || o.last.is_some() || o.latest || by_key.contains_key("status");
    // Pods' infra containers are the pods' business (`pod ps`): listed
    // only when a pod filter asks for a pod's containers.
    let with_infra = by_key.contains_key("pod");
    let pods: BTreeMap<String, String> = if with_infra {
        crate::pod::PodStore::open(&engine.paths)?.all().into_iter().map(|p| (p.id, p.name)).collect()
    } else {
        BTreeMap::new()
    };
    let mut out: Vec<Container> = all
        .into_iter()
        .filter(|c| with_infra || !c.config.infra)
        .filter(|c| every_state || matches!(c.state.status, Status::Running | Status::Paused | Status::Restarting))
        .filter(|c| {
            by_key.iter().all(|(k, fs)| {
                // Labels must all hold (moby's MatchKVList); other keys are alternatives.
                if *k == "label" {
                    fs.iter().all(|f| f.matches(c, &created_of, &pods))
                } else {
                    fs.iter().any(|f| f.matches(c, &created_of, &pods))
                }
            })
        })
        .collect();
    if o.latest {
        out.truncate(1);
    } else if let Some(n) = o.last {
        out.truncate(n);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_grammar() {
        assert_eq!(Filter::parse("status=exited").unwrap(), Filter::Status(Status::Exited));
        assert_eq!(Filter::parse("label=a=b").unwrap(), Filter::Label { key: "a".into(), value: Some("b".into()) });
        assert!(Filter::parse("status=sleeping").unwrap_err().to_string().contains("use created"));
        assert_eq!(Filter::parse("colour=red").unwrap_err().to_string(), "invalid filter 'colour'");
        assert!(Filter::parse("nokey")
            .unwrap_err()
            .to_string()
            .ends_with("bad format of filter (expected name=value)"));
        let j: Value = serde_json::json!({"label": ["x", "y=1"], "status": {"running": true}});
        assert_eq!(Filter::from_json(&j).unwrap().len(), 3);
    }
}
