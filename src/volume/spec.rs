//! Docker's mount syntaxes, parsed into `container::Mount` records without
//! touching the disk: `-v SRC:DST[:OPTS]`, `-v DST`, `--mount k=v,…` and
//! `--tmpfs DST[:OPTS]`. The engine then creates volumes and bind sources.
//!
//! In a record, `source` is the host path (bind), the volume name (volume,
//! empty for an anonymous one until the engine names it) or "tmpfs". Options
//! are kernel tmpfs options for tmpfs, plus these markers the runtime never
//! sees (stripped by `engine::volumes::launch_mounts`):
//! `nocopy` (no copy-up), `propagation=MODE`, and [`FROM_MOUNT`].

use crate::container::Mount;
use crate::error::{Error, Result};

/// Set on mounts given with `--mount`: Docker reports them with an empty
/// Mode, and `-v` volumes with "z".
pub const FROM_MOUNT: &str = "from-mount";

const PROPAGATIONS: &[&str] = &["private", "rprivate", "shared", "rshared", "slave", "rslave"];

fn bad(msg: String) -> Error {
    Error::InvalidArgument(msg)
}

fn check_target(spec: &str, dst: &str) -> Result<()> {
    if !dst.starts_with('/') {
        return Err(bad(format!("invalid mount spec {spec:?}: the container path {dst:?} must be absolute")));
    }
    if dst.split('/').any(|p| p == "..") || dst == "/" {
        return Err(bad(format!("invalid mount spec {spec:?}: the container path cannot be / or contain '..'")));
    }
    Ok(())
}

/// `-v`: `/host:/ctr[:opts]` (bind), `name:/ctr[:opts]` (named volume),
/// `/ctr` (anonymous volume).
pub fn parse_volume(v: &str) -> Result<Mount> {
    let parts: Vec<&str> = v.split(':').collect();
    let (src, dst, opts) = match parts.as_slice() {
        [d] => ("", *d, ""),
        [s, d] => (*s, *d, ""),
        [s, d, o] => (*s, *d, *o),
        _ => return Err(bad(format!("invalid volume specification {v:?}: use SRC:DST[:ro|rw] or DST"))),
    };
    check_target(v, dst)?;
    let kind = if src.starts_with('/') {
        "bind"
    } else {
        if !src.is_empty() {
            super::check_name(src)?;
        }
        "volume"
    };
    let mut m = Mount { kind: kind.into(), source: src.into(), target: dst.into(), ..Default::default() };
    for o in opts.split(',').filter(|o| !o.is_empty()) {
        match o {
            "ro" => m.readonly = true,
            "rw" | "z" | "Z" | "rbind" | "bind" => {}
            "nocopy" if kind == "volume" => m.options.push("nocopy".into()),
            p if PROPAGATIONS.contains(&p) && kind == "bind" => m.options.push(format!("propagation={p}")),
            _ => return Err(bad(format!("invalid mode {o:?} in volume {v:?}: use ro, rw, nocopy or a propagation"))),
        }
    }
    Ok(m)
}

/// `--mount type=volume|bind|tmpfs,source=…,target=…,…` with Docker's keys.
pub fn parse_mount(s: &str) -> Result<Mount> {
    let mut m = Mount { kind: "volume".into(), options: vec![FROM_MOUNT.into()], ..Default::default() };
    let mut keys = Vec::new();
    for kv in s.split(',').filter(|kv| !kv.is_empty()) {
        let (k, v) = kv.split_once('=').unwrap_or((kv, "true"));
        let truth = || match v {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err(bad(format!("invalid value {v:?} for {k} in --mount {s:?}: use true or false"))),
        };
        match k {
            "type" => m.kind = v.into(),
            "source" | "src" => m.source = v.into(),
            "target" | "destination" | "dst" => m.target = v.into(),
            "readonly" | "ro" => m.readonly = truth()?,
            "volume-nocopy" => {
                if truth()? {
                    m.options.push("nocopy".into())
                }
            }
            "tmpfs-size" => m.options.push(format!("size={v}")),
            "tmpfs-mode" => {
                u32::from_str_radix(v, 8)
                    .map_err(|_| bad(format!("invalid tmpfs-mode {v:?}: use octal, e.g. 1770")))?;
                m.options.push(format!("mode={v}"))
            }
            "bind-propagation" if PROPAGATIONS.contains(&v) => m.options.push(format!("propagation={v}")),
            "bind-propagation" => {
                return Err(bad(format!("invalid bind-propagation {v:?}: use one of {}", PROPAGATIONS.join(", "))))
            }
            "consistency" | "volume-driver" if v == "local" || k == "consistency" => {}
            _ => return Err(bad(format!("unexpected key {k:?} in --mount {s:?}"))),
        }
        keys.push(k);
    }
    if m.target.is_empty() {
        return Err(bad(format!("--mount {s:?}: target is required")));
    }
    check_target(s, &m.target)?;
    let only = |allowed: &[&str]| -> Result<()> {
        for k in &keys {
            let generic = ["type", "source", "src", "target", "destination", "dst", "readonly", "ro", "consistency"];
            if !generic.contains(k) && !allowed.contains(k) {
                return Err(bad(format!("--mount {s:?}: {k} does not apply to type={}", m.kind)));
            }
        }
        Ok(())
    };
    match m.kind.as_str() {
        "bind" => {
            only(&["bind-propagation"])?;
            if !m.source.starts_with('/') {
                return Err(bad(format!(
                    "invalid mount config for type \"bind\": source must be an absolute path: {s:?}"
                )));
            }
            // Unlike -v, --mount never creates a missing host path.
            if !std::path::Path::new(&m.source).exists() {
                return Err(bad(format!(
                    "invalid mount config for type \"bind\": bind source path does not exist: {}",
                    m.source
                )));
            }
        }
        "volume" => {
            only(&["volume-nocopy", "volume-driver"])?;
            if !m.source.is_empty() {
                super::check_name(&m.source)?;
            }
        }
        "tmpfs" => {
            only(&["tmpfs-size", "tmpfs-mode"])?;
            if !m.source.is_empty() {
                return Err(bad(format!("invalid mount config for type \"tmpfs\": source must be empty: {s:?}")));
            }
            m.source = "tmpfs".into();
        }
        t => return Err(bad(format!("--mount {s:?}: unknown type {t:?}: use bind, volume or tmpfs"))),
    }
    Ok(m)
}

/// `--tmpfs /path[:opts]`.
pub fn parse_tmpfs(s: &str) -> Result<Mount> {
    let (target, opts) = s.split_once(':').unwrap_or((s, ""));
    check_target(s, target)?;
    Ok(Mount {
        kind: "tmpfs".into(),
        source: "tmpfs".into(),
        target: target.into(),
        readonly: opts.split(',').any(|o| o == "ro"),
        options: opts.split(',').filter(|o| !o.is_empty() && *o != "ro" && *o != "rw").map(String::from).collect(),
    })
}

/// `--volumes-from CONTAINER[:ro|rw]`: the container name and the mode override.
pub fn parse_volumes_from(s: &str) -> Result<(&str, Option<bool>)> {
    match s.split_once(':') {
        None => Ok((s, None)),
        Some((c, "ro")) => Ok((c, Some(true))),
        Some((c, "rw")) => Ok((c, Some(false))),
        Some((_, m)) => Err(bad(format!("invalid mode {m:?} in --volumes-from {s:?}: use ro or rw"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_flag_forms() {
        let m = parse_volume("/h:/c:ro").unwrap();
        assert_eq!((m.kind.as_str(), m.source.as_str(), m.target.as_str(), m.readonly), ("bind", "/h", "/c", true));
        let m = parse_volume("data:/c").unwrap();
        assert_eq!((m.kind.as_str(), m.source.as_str()), ("volume", "data"));
        let m = parse_volume("/c").unwrap();
        assert_eq!((m.kind.as_str(), m.source.as_str()), ("volume", ""));
        assert!(parse_volume("a/b:/c").unwrap_err().to_string().contains("absolute path"));
        assert!(parse_volume("data:rel").is_err());
        assert!(parse_volume("data:/c:bogus").is_err());
    }

    #[test]
    fn mount_flag_keys() {
        let m = parse_mount("type=volume,src=v1,dst=/d,ro,volume-nocopy").unwrap();
        assert_eq!((m.source.as_str(), m.target.as_str(), m.readonly), ("v1", "/d", true));
        assert!(m.options.contains(&"nocopy".to_string()));
        let m = parse_mount("type=tmpfs,destination=/t,tmpfs-size=1m,tmpfs-mode=1770").unwrap();
        assert_eq!(m.options, ["from-mount", "size=1m", "mode=1770"]);
        assert!(parse_mount("type=bind,source=/nonexistent-rcon,target=/x")
            .unwrap_err()
            .to_string()
            .contains("does not exist"));
        assert!(parse_mount("type=bind,source=/,target=/x,bind-propagation=rshared").is_ok());
        assert!(parse_mount("type=tmpfs,target=/x,volume-nocopy").is_err());
        assert!(parse_mount("type=volume,source=v").is_err());
    }
}
