//! What a service publishes and mounts, short syntax to long: `ports`,
//! `volumes` (relative host paths resolved against the project
//! directory), `devices`, and its `secrets` and `configs`.

use super::convert::{
    boolean, child, entries, idx, invalid, items, labels, mode, opt_text, size, text, unknown, Ctx, R,
};
use super::model::*;
use super::syntax;
use super::yaml::{Node, Value};

pub fn file_refs(n: &Node, path: &str) -> R<Vec<FileRef>> {
    let mut out = Vec::new();
    for (i, item) in items(n, path)?.iter().enumerate() {
        let p = idx(path, i);
        let mut f = FileRef::default();
        match &item.value {
            Value::Str { text, .. } => f.source = text.clone(),
            _ => {
                for (k, v) in entries(item, &p)? {
                    let pk = child(&p, k);
                    match k.as_str() {
                        "source" => f.source = text(v, &pk)?,
                        "target" => f.target = opt_text(v, &pk)?,
                        "uid" => f.uid = opt_text(v, &pk)?,
                        "gid" => f.gid = opt_text(v, &pk)?,
                        "mode" => f.mode = Some(FileMode(mode(v, &pk)?)),
                        _ if k.starts_with("x-") => {}
                        _ => return Err(unknown(&pk)),
                    }
                }
                if f.source.is_empty() {
                    return Err(invalid(&p, "missing source: name the top-level secret or config"));
                }
            }
        }
        out.push(f);
    }
    Ok(out)
}

/// `host[:container[:permissions]]` or `{source, target, permissions}`.
pub fn devices(n: &Node, path: &str) -> R<Vec<Device>> {
    let mut out = Vec::new();
    for (i, item) in items(n, path)?.iter().enumerate() {
        let p = idx(path, i);
        let d = match &item.value {
            Value::Str { text, .. } => {
                let mut parts = text.splitn(3, ':');
                let source = parts.next().unwrap_or_default().to_string();
                let target = parts.next().filter(|t| !t.is_empty()).map_or_else(|| source.clone(), str::to_string);
                Device { source, target, permissions: parts.next().map(str::to_string) }
            }
            _ => {
                let mut d = Device::default();
                for (k, v) in entries(item, &p)? {
                    let pk = child(&p, k);
                    match k.as_str() {
                        "source" => d.source = text(v, &pk)?,
                        "target" => d.target = text(v, &pk)?,
                        "permissions" => d.permissions = opt_text(v, &pk)?,
                        _ => return Err(unknown(&pk)),
                    }
                }
                if d.target.is_empty() {
                    d.target = d.source.clone();
                }
                d
            }
        };
        if d.source.is_empty() {
            return Err(invalid(&p, "missing device path: use host[:container[:permissions]]"));
        }
        out.push(d);
    }
    Ok(out)
}

pub fn ports(n: &Node, path: &str) -> R<Vec<Port>> {
    let mut out = Vec::new();
    for (i, item) in items(n, path)?.iter().enumerate() {
        let p = idx(path, i);
        match &item.value {
            Value::Str { text, .. } => out.extend(syntax::parse_port(text).map_err(|m| invalid(&p, m))?),
            _ => out.push(long_port(item, &p)?),
        }
    }
    Ok(out)
}

fn long_port(n: &Node, path: &str) -> R<Port> {
    let mut port = Port {
        name: None,
        mode: "ingress".to_string(),
        host_ip: None,
        target: 0,
        published: None,
        protocol: "tcp".to_string(),
        app_protocol: None,
    };
    for (k, v) in entries(n, path)? {
        let p = child(path, k);
        match k.as_str() {
            "target" => {
                port.target = text(v, &p)?
                    .parse()
                    .ok()
                    .filter(|t| *t > 0)
                    .ok_or_else(|| invalid(&p, "invalid port: use a number from 1 to 65535"))?
            }
            "published" => {
                port.published = opt_text(v, &p)?;
                if let Some(pubd) = &port.published {
                    let ok = pubd.split('-').count() <= 2 && pubd.split('-').all(|x| x.parse::<u16>().is_ok());
                    if !ok {
                        return Err(invalid(
                            &p,
                            format!("invalid port {pubd:?}: use a port or a range, e.g. 8080 or 8000-8010"),
                        ));
                    }
                }
            }
            "host_ip" => port.host_ip = opt_text(v, &p)?,
            "protocol" => port.protocol = text(v, &p)?.to_ascii_lowercase(),
            "mode" => {
                port.mode = text(v, &p)?;
                if port.mode != "ingress" && port.mode != "host" {
                    return Err(invalid(&p, format!("invalid mode {:?}: use ingress or host", port.mode)));
                }
            }
            "name" => port.name = opt_text(v, &p)?,
            "app_protocol" => port.app_protocol = opt_text(v, &p)?,
            _ if k.starts_with("x-") => {}
            _ => return Err(unknown(&p)),
        }
    }
    if port.target == 0 {
        return Err(invalid(path, "missing target: name the container port"));
    }
    Ok(port)
}

pub fn volumes(n: &Node, path: &str, ctx: &Ctx) -> R<Vec<ServiceVolume>> {
    let mut out = Vec::new();
    for (i, item) in items(n, path)?.iter().enumerate() {
        let p = idx(path, i);
        let v = match &item.value {
            Value::Str { text, .. } => short_volume(text, ctx).map_err(|m| invalid(&p, m))?,
            _ => long_volume(item, &p, ctx)?,
        };
        if v.kind != "npipe" && !v.target.starts_with('/') {
            return Err(invalid(&p, format!("invalid mount target {:?}: must be an absolute path", v.target)));
        }
        out.push(v);
    }
    Ok(out)
}

fn short_volume(spec: &str, ctx: &Ctx) -> Result<ServiceVolume, String> {
    let mut v = syntax::parse_volume(spec)?;
    if v.kind == "bind" {
        v.source = v.source.map(|s| ctx.host_path(&s));
    }
    Ok(v)
}

fn long_volume(n: &Node, path: &str, ctx: &Ctx) -> R<ServiceVolume> {
    let mut v = ServiceVolume::default();
    for (k, x) in entries(n, path)? {
        let p = child(path, k);
        let p = p.as_str();
        match k.as_str() {
            "type" => v.kind = text(x, p)?,
            "source" => v.source = opt_text(x, p)?,
            "target" => v.target = text(x, p)?,
            "read_only" => v.read_only = boolean(x, p)?,
            "consistency" => v.consistency = opt_text(x, p)?,
            "bind" => {
                let mut b = BindOptions::default();
                for (bk, bv) in entries(x, p)? {
                    let pb = child(p, bk);
                    match bk.as_str() {
                        "propagation" => b.propagation = opt_text(bv, &pb)?,
                        "create_host_path" => b.create_host_path = boolean(bv, &pb)?,
                        "selinux" => b.selinux = opt_text(bv, &pb)?,
                        "recursive" => b.recursive = opt_text(bv, &pb)?,
                        _ => return Err(unknown(&pb)),
                    }
                }
                v.bind = Some(b);
            }
            "volume" => {
                let mut o = VolumeOptions::default();
                for (vk, vv) in entries(x, p)? {
                    let pv = child(p, vk);
                    match vk.as_str() {
                        "nocopy" => o.nocopy = boolean(vv, &pv)?,
                        "subpath" => o.subpath = opt_text(vv, &pv)?,
                        "labels" => o.labels = labels(vv, &pv)?,
                        _ => return Err(unknown(&pv)),
                    }
                }
                v.volume = Some(o);
            }
            "tmpfs" => {
                let mut t = TmpfsOptions::default();
                for (tk, tv) in entries(x, p)? {
                    let pt = child(p, tk);
                    match tk.as_str() {
                        "size" => t.size = Some(size(tv, &pt)?),
                        "mode" => t.mode = Some(FileMode(mode(tv, &pt)?)),
                        _ => return Err(unknown(&pt)),
                    }
                }
                v.tmpfs = Some(t);
            }
            "image" => {
                let mut o = ImageOptions::default();
                for (ik, iv) in entries(x, p)? {
                    match ik.as_str() {
                        "subpath" => o.subpath = opt_text(iv, &child(p, ik))?,
                        _ => return Err(unknown(&child(p, ik))),
                    }
                }
                v.image = Some(o);
            }
            _ if k.starts_with("x-") => {}
            _ => return Err(unknown(p)),
        }
    }
    match v.kind.as_str() {
        "" => return Err(invalid(path, "missing type: use bind, volume, tmpfs, npipe, image or cluster")),
        "bind" => match &v.source {
            Some(s) => v.source = Some(ctx.host_path(s)),
            None => return Err(invalid(path, "missing source: a bind mount needs a host path")),
        },
        "volume" | "tmpfs" | "npipe" | "image" | "cluster" => {}
        k => {
            return Err(invalid(
                &child(path, "type"),
                format!("invalid mount type {k:?}: use bind, volume, tmpfs, npipe, image or cluster"),
            ))
        }
    }
    if v.target.is_empty() {
        return Err(invalid(path, "missing target: name the path in the container"));
    }
    Ok(v)
}
