//! From the merged node tree to the typed model: type checks naming the
//! path of the bad value, unknown fields rejected (the compose schema has
//! `additionalProperties: false` everywhere but allows `x-*`), and the
//! top-level resources with compose-go's naming (`PROJECT_KEY` unless
//! `name:` is given; external resources are named by their key).

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use super::model::{Any, Bytes, Duration, FileObject, Ipam, IpamPool, Network, Project, Volume};
use super::syntax;
use super::yaml::{Node, Value};
use super::ComposeError;

pub type R<T> = Result<T, ComposeError>;

/// What the conversion needs besides the tree.
pub struct Ctx<'a> {
    /// The project directory: relative paths resolve against it.
    pub dir: &'a Path,
    /// The interpolation variables; bare `environment` keys resolve here too.
    pub env: &'a BTreeMap<String, String>,
    pub project: &'a str,
    pub warnings: &'a mut Vec<String>,
}

impl Ctx<'_> {
    /// Resolves a host path as compose does: `~` is the caller's HOME,
    /// relative paths are relative to the project directory.
    pub fn host_path(&self, p: &str) -> String {
        resolve_path(self.dir, self.env.get("HOME").map(String::as_str), p)
    }
}

/// `dir`-relative and `~` paths made absolute and lexically clean.
pub fn resolve_path(dir: &Path, home: Option<&str>, p: &str) -> String {
    let joined = match (p, home) {
        ("~", Some(h)) => PathBuf::from(h),
        (p, Some(h)) if p.starts_with("~/") => Path::new(h).join(&p[2..]),
        (p, _) => dir.join(p),
    };
    clean(&joined).to_string_lossy().into_owned()
}

/// Go's `filepath.Clean` for absolute paths: no `.`, `..` resolved lexically.
pub fn clean(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() || out.as_os_str().is_empty() {
                    out.push("/");
                }
            }
            c => out.push(c),
        }
    }
    out
}

pub fn invalid(path: &str, msg: impl Into<String>) -> ComposeError {
    ComposeError::Invalid { path: path.to_string(), msg: msg.into() }
}

pub fn unknown(path: &str) -> ComposeError {
    invalid(path, "unknown field: remove it or fix its name (extension fields start with x-)")
}

pub fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

pub fn idx(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

fn type_error(n: &Node, path: &str, want: &str) -> ComposeError {
    invalid(path, format!("must be {want}, got {}", n.kind()))
}

/// A mapping's entries (null reads as an empty mapping, as in compose).
pub fn entries<'a>(n: &'a Node, path: &str) -> R<&'a [(String, Node)]> {
    match &n.value {
        Value::Map(m) => Ok(m),
        Value::Null => Ok(&[]),
        _ => Err(type_error(n, path, "a mapping")),
    }
}

pub fn items<'a>(n: &'a Node, path: &str) -> R<&'a [Node]> {
    match &n.value {
        Value::Seq(s) => Ok(s),
        Value::Null => Ok(&[]),
        _ => Err(type_error(n, path, "a list")),
    }
}

/// A scalar as text: numbers and booleans read as strings where a string is wanted.
pub fn text(n: &Node, path: &str) -> R<String> {
    n.as_str().map(str::to_string).ok_or_else(|| type_error(n, path, "a string"))
}

/// An optional string: null and "" are unset.
pub fn opt_text(n: &Node, path: &str) -> R<Option<String>> {
    if n.is_null() {
        return Ok(None);
    }
    Ok(Some(text(n, path)?).filter(|s| !s.is_empty()))
}

/// compose-go casts interpolated strings with Go's boolean spellings plus YAML 1.1's.
pub fn boolean(n: &Node, path: &str) -> R<bool> {
    match text(n, path)?.to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "on" | "1" => Ok(true),
        "false" | "no" | "n" | "off" | "0" => Ok(false),
        other => Err(invalid(path, format!("invalid boolean {other:?}: use true or false"))),
    }
}

pub fn int(n: &Node, path: &str) -> R<i64> {
    let t = text(n, path)?;
    t.parse().map_err(|_| invalid(path, format!("invalid integer {t:?}")))
}

pub fn uint(n: &Node, path: &str) -> R<u64> {
    let t = text(n, path)?;
    t.parse().map_err(|_| invalid(path, format!("invalid non-negative integer {t:?}")))
}

pub fn float(n: &Node, path: &str) -> R<f64> {
    let t = text(n, path)?;
    t.parse().ok().filter(|f: &f64| f.is_finite()).ok_or_else(|| invalid(path, format!("invalid number {t:?}")))
}

/// Octal as written (`0440`, `0o440`), else decimal, as YAML 1.1 reads modes.
pub fn mode(n: &Node, path: &str) -> R<u32> {
    let t = text(n, path)?;
    let parsed = match t.strip_prefix("0o").or_else(|| t.strip_prefix('0').filter(|r| !r.is_empty())) {
        Some(oct) => u32::from_str_radix(oct, 8),
        None => t.parse(),
    };
    parsed.map_err(|_| invalid(path, format!("invalid file mode {t:?}: use octal, e.g. 0440")))
}

pub fn duration(n: &Node, path: &str) -> R<Duration> {
    syntax::parse_duration(&text(n, path)?).map_err(|m| invalid(path, m))
}

pub fn size(n: &Node, path: &str) -> R<Bytes> {
    let t = text(n, path)?;
    if t == "-1" {
        return Ok(Bytes(-1));
    }
    syntax::parse_size(&t).map(Bytes).map_err(|m| invalid(path, m))
}

/// A list of scalars.
pub fn list(n: &Node, path: &str) -> R<Vec<String>> {
    items(n, path)?.iter().enumerate().map(|(i, x)| text(x, &idx(path, i))).collect()
}

/// A string or a list of strings (compose-go's `StringList`).
pub fn string_list(n: &Node, path: &str) -> R<Vec<String>> {
    match &n.value {
        Value::Str { text, .. } => Ok(vec![text.clone()]),
        _ => list(n, path),
    }
}

/// `[K=V, K]` or `{K: V, K: null}` (compose-go's `MappingWithEquals`). In a
/// list a later entry wins, as compose's de-duplication keeps the last one.
pub fn kv(n: &Node, path: &str) -> R<BTreeMap<String, Option<String>>> {
    let mut out = BTreeMap::new();
    match &n.value {
        Value::Seq(s) => {
            for (i, item) in s.iter().enumerate() {
                let t = text(item, &idx(path, i))?;
                match t.split_once('=') {
                    Some((k, v)) => out.insert(k.to_string(), Some(v.to_string())),
                    None => out.insert(t, None),
                };
            }
        }
        Value::Map(m) => {
            for (k, v) in m {
                let value = match &v.value {
                    Value::Null => None,
                    Value::Str { text, .. } => Some(text.clone()),
                    _ => return Err(type_error(v, &child(path, k), "a string, number or boolean")),
                };
                out.insert(k.clone(), value);
            }
        }
        Value::Null => {}
        Value::Str { .. } => return Err(type_error(n, path, "a mapping or a list of KEY=VALUE")),
    }
    Ok(out)
}

/// Labels and the like: `kv` where a bare key means an empty value.
pub fn labels(n: &Node, path: &str) -> R<BTreeMap<String, String>> {
    Ok(kv(n, path)?.into_iter().map(|(k, v)| (k, v.unwrap_or_default())).collect())
}

/// A node kept untyped: plain scalars resolve per the YAML core schema.
pub fn any(n: &Node) -> Any {
    match &n.value {
        Value::Null => Any::Null,
        Value::Str { text, plain: true } => match text.as_str() {
            "true" | "True" | "TRUE" => Any::Bool(true),
            "false" | "False" | "FALSE" => Any::Bool(false),
            t => t
                .parse::<i64>()
                .map(Any::from)
                .ok()
                .or_else(|| t.parse::<f64>().ok().filter(|f| f.is_finite()).map(Any::from))
                .unwrap_or_else(|| Any::String(t.to_string())),
        },
        Value::Str { text, .. } => Any::String(text.clone()),
        Value::Seq(s) => Any::Array(s.iter().map(any).collect()),
        Value::Map(m) => Any::Object(m.iter().map(|(k, v)| (k.clone(), any(v))).collect()),
    }
}

/// Keeps the last of the items sharing a key, at the place of the first
/// (compose-go's `EnforceUnicity`), for lists merged by appending.
pub fn dedup_by<T, K: PartialEq>(v: Vec<T>, key: impl Fn(&T) -> K) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(v.len());
    for item in v {
        match out.iter().position(|o| key(o) == key(&item)) {
            Some(i) => out[i] = item,
            None => out.push(item),
        }
    }
    out
}

/// The top-level sections (services are converted by [`super::service`]).
pub fn project(root: &Node, ctx: &mut Ctx) -> R<Project> {
    let mut p = Project { name: ctx.project.to_string(), ..Project::default() };
    for (k, v) in entries(root, "")? {
        match k.as_str() {
            "name" | "include" => {}
            "version" => ctx.warnings.push(
                "the attribute `version` is obsolete, it will be ignored, please remove it to avoid potential confusion"
                    .to_string(),
            ),
            "services" => {
                for (name, s) in entries(v, k)? {
                    let path = child(k, name);
                    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
                        return Err(invalid(&path, "invalid service name: use only letters, digits, '.', '_' and '-'"));
                    }
                    p.services.insert(name.clone(), super::service::service(name, s, &path, ctx)?);
                }
            }
            "networks" => {
                for (name, n) in entries(v, k)? {
                    p.networks.insert(name.clone(), network(name, n, &child(k, name), ctx.project)?);
                }
            }
            "volumes" => {
                for (name, n) in entries(v, k)? {
                    p.volumes.insert(name.clone(), volume(name, n, &child(k, name), ctx)?);
                }
            }
            "secrets" | "configs" => {
                for (name, n) in entries(v, k)? {
                    let obj = file_object(name, n, &child(k, name), k == "configs", ctx)?;
                    if k == "secrets" {
                        p.secrets.insert(name.clone(), obj);
                    } else {
                        p.configs.insert(name.clone(), obj);
                    }
                }
            }
            "models" => ctx.warnings.push("top-level models are not supported by rcon, ignoring them".to_string()),
            _ if k.starts_with("x-") => {}
            _ => return Err(invalid(k, "unknown top-level field: use name, services, networks, volumes, secrets, configs, include or x-*")),
        }
    }
    Ok(p)
}

/// `external: true`, or the deprecated `external: {name: N}` (returns N).
fn external(n: &Node, path: &str) -> R<(bool, Option<String>)> {
    match &n.value {
        Value::Map(m) => {
            let mut name = None;
            for (k, v) in m {
                match k.as_str() {
                    "name" => name = opt_text(v, &child(path, k))?,
                    _ => return Err(unknown(&child(path, k))),
                }
            }
            Ok((true, name))
        }
        _ => Ok((boolean(n, path)?, None)),
    }
}

/// compose-go's `setNameFromKey`: external resources keep their key.
fn resource_name(given: Option<String>, legacy: Option<String>, ext: bool, key: &str, project: &str) -> String {
    given.or(legacy).unwrap_or_else(|| if ext { key.to_string() } else { format!("{project}_{key}") })
}

fn network(key: &str, n: &Node, path: &str, project: &str) -> R<Network> {
    let mut net = Network::default();
    let (mut name, mut legacy, mut ext) = (None, None, false);
    for (k, v) in entries(n, path)? {
        let p = child(path, k);
        match k.as_str() {
            "name" => name = opt_text(v, &p)?,
            "driver" => net.driver = opt_text(v, &p)?,
            "driver_opts" => net.driver_opts = labels(v, &p)?,
            "ipam" => net.ipam = Some(ipam(v, &p)?),
            "external" => (ext, legacy) = external(v, &p)?,
            "internal" => net.internal = boolean(v, &p)?,
            "attachable" => net.attachable = boolean(v, &p)?,
            "labels" => net.labels = labels(v, &p)?,
            "enable_ipv4" => net.enable_ipv4 = Some(boolean(v, &p)?),
            "enable_ipv6" => net.enable_ipv6 = Some(boolean(v, &p)?),
            _ if k.starts_with("x-") => {}
            _ => return Err(unknown(&p)),
        }
    }
    net.external = ext;
    net.name = resource_name(name, legacy, ext, key, project);
    Ok(net)
}

fn ipam(n: &Node, path: &str) -> R<Ipam> {
    let mut ipam = Ipam::default();
    for (k, v) in entries(n, path)? {
        let p = child(path, k);
        match k.as_str() {
            "driver" => ipam.driver = opt_text(v, &p)?,
            "options" => ipam.options = labels(v, &p)?,
            "config" => {
                for (i, pool) in items(v, &p)?.iter().enumerate() {
                    let pp = idx(&p, i);
                    let mut out = IpamPool::default();
                    for (pk, pv) in entries(pool, &pp)? {
                        let ppk = child(&pp, pk);
                        match pk.as_str() {
                            "subnet" => out.subnet = opt_text(pv, &ppk)?,
                            "ip_range" => out.ip_range = opt_text(pv, &ppk)?,
                            "gateway" => out.gateway = opt_text(pv, &ppk)?,
                            "aux_addresses" => out.aux_addresses = labels(pv, &ppk)?,
                            _ => return Err(unknown(&ppk)),
                        }
                    }
                    ipam.config.push(out);
                }
            }
            _ if k.starts_with("x-") => {}
            _ => return Err(unknown(&p)),
        }
    }
    Ok(ipam)
}

fn volume(key: &str, n: &Node, path: &str, ctx: &Ctx) -> R<Volume> {
    let mut vol = Volume::default();
    let (mut name, mut legacy, mut ext) = (None, None, false);
    for (k, v) in entries(n, path)? {
        let p = child(path, k);
        match k.as_str() {
            "name" => name = opt_text(v, &p)?,
            "driver" => vol.driver = opt_text(v, &p)?,
            "driver_opts" => vol.driver_opts = labels(v, &p)?,
            "external" => (ext, legacy) = external(v, &p)?,
            "labels" => vol.labels = labels(v, &p)?,
            _ if k.starts_with("x-") => {}
            _ => return Err(unknown(&p)),
        }
    }
    // a local volume with `o: bind` is a bind mount of `device`, relative to the project (compose-go's Normalize)
    if vol.driver.as_deref().unwrap_or("local") == "local"
        && vol.driver_opts.get("o").is_some_and(|o| o.split(',').any(|x| x == "bind"))
    {
        if let Some(dev) = vol.driver_opts.get_mut("device") {
            *dev = ctx.host_path(dev);
        }
    }
    vol.external = ext;
    vol.name = resource_name(name, legacy, ext, key, ctx.project);
    Ok(vol)
}

fn file_object(key: &str, n: &Node, path: &str, config: bool, ctx: &Ctx) -> R<FileObject> {
    let mut obj = FileObject::default();
    let (mut name, mut legacy) = (None, None);
    for (k, v) in entries(n, path)? {
        let p = child(path, k);
        match k.as_str() {
            "name" => name = opt_text(v, &p)?,
            "file" => obj.file = opt_text(v, &p)?.map(|f| ctx.host_path(&f)),
            "environment" => obj.environment = opt_text(v, &p)?,
            "content" if config => obj.content = Some(text(v, &p)?),
            "external" => (obj.external, legacy) = external(v, &p)?,
            "labels" => obj.labels = labels(v, &p)?,
            "driver" | "driver_opts" | "template_driver" => {
                obj.extra.insert(k.clone(), any(v));
            }
            _ if k.starts_with("x-") => {}
            _ => return Err(unknown(&p)),
        }
    }
    let sources = [obj.file.is_some(), obj.environment.is_some(), obj.content.is_some(), obj.external];
    if sources.iter().filter(|s| **s).count() != 1 {
        let fields = if config { "file, environment, content or external" } else { "file, environment or external" };
        return Err(invalid(path, format!("must set exactly one of {fields}")));
    }
    obj.name = resource_name(name, legacy, obj.external, key, ctx.project);
    Ok(obj)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_against_the_project_and_home() {
        let d = Path::new("/p/app");
        assert_eq!(resolve_path(d, Some("/home/u"), "."), "/p/app");
        assert_eq!(resolve_path(d, Some("/home/u"), "./data"), "/p/app/data");
        assert_eq!(resolve_path(d, Some("/home/u"), "../x/./y"), "/p/x/y");
        assert_eq!(resolve_path(d, Some("/home/u"), "~"), "/home/u");
        assert_eq!(resolve_path(d, Some("/home/u"), "~/c"), "/home/u/c");
        assert_eq!(resolve_path(d, None, "/abs/../b"), "/b");
        assert_eq!(resolve_path(Path::new("/"), None, "../.."), "/");
    }

    #[test]
    fn scalars_convert_with_paths_in_errors() {
        let n = Node::string("abc", Default::default());
        assert_eq!(
            int(&n, "services.w.pids_limit").unwrap_err().to_string(),
            "services.w.pids_limit: invalid integer \"abc\""
        );
        assert!(boolean(&Node::string("Yes", Default::default()), "x").unwrap());
        let m = Node::map(vec![], Default::default());
        assert_eq!(
            text(&m, "services.w.image").unwrap_err().to_string(),
            "services.w.image: must be a string, got a mapping"
        );
        assert_eq!(mode(&Node::string("0440", Default::default()), "m").unwrap(), 0o440);
        assert_eq!(mode(&Node::string("288", Default::default()), "m").unwrap(), 288);
    }

    #[test]
    fn dedup_keeps_last_value_at_first_place() {
        let v = dedup_by(vec![("a", 1), ("b", 2), ("a", 3)], |x| x.0);
        assert_eq!(v, [("a", 3), ("b", 2)]);
    }
}
