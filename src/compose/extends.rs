//! `extends` (compose spec "Extends"): a service starts from another
//! service, of the same file or of `file:`, and the merge rules of override
//! files apply on top. Bases are resolved recursively; a base from another
//! file has its relative paths resolved against that file's directory.
//! As in compose-go, each file's `extends` are applied before the files are
//! merged, so a service can only extend one of its own file or of `file:`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::convert::{child, entries, invalid, resolve_path, text, unknown};
use super::include::resolve_service_paths;
use super::load::{interpolated, parse, Loader, Source};
use super::yaml::{Node, Value};
use super::{merge, ComposeError};

/// Applies `extends` to every service of the file `src`.
pub(super) fn apply(
    loader: &mut Loader,
    node: &mut Node,
    src: &Source,
    dir: &Path,
    env: &BTreeMap<String, String>,
) -> Result<(), ComposeError> {
    let Some(services) = node.get("services").cloned() else { return Ok(()) };
    let names: Vec<String> = match &services.value {
        Value::Map(m) => m.iter().filter(|(_, s)| s.get("extends").is_some()).map(|(k, _)| k.clone()).collect(),
        _ => return Ok(()),
    };
    for name in names {
        let svc = resolve(loader, &services, src, dir, env, &name, &mut Vec::new())?;
        if let Some(s) = node.get_mut("services") {
            s.set(&name, svc);
        }
    }
    Ok(())
}

/// `extends: base` or `extends: {service: base, file: other.yaml}`.
fn reference(n: &Node, path: &str) -> Result<(String, Option<String>), ComposeError> {
    if let Value::Str { text, .. } = &n.value {
        return Ok((text.clone(), None));
    }
    let (mut service, mut file) = (None, None);
    for (k, v) in entries(n, path)? {
        let p = child(path, k);
        match k.as_str() {
            "service" => service = Some(text(v, &p)?),
            "file" => file = Some(text(v, &p)?),
            _ => return Err(unknown(&p)),
        }
    }
    let service = service.ok_or_else(|| invalid(path, "missing service: name the service to extend"))?;
    Ok((service, file))
}

fn resolve(
    loader: &mut Loader,
    services: &Node,
    src: &Source,
    dir: &Path,
    env: &BTreeMap<String, String>,
    name: &str,
    chain: &mut Vec<String>,
) -> Result<Node, ComposeError> {
    let here = format!("{name} in {}", src.name());
    if chain.contains(&here) {
        chain.push(here);
        return Err(ComposeError::ExtendsCycle(chain.join(" -> ")));
    }
    let Some(mut svc) = services.get(name).cloned() else {
        return Err(invalid(&format!("services.{name}"), format!("service not found in {}", src.name())));
    };
    let Some(ext) = svc.remove("extends") else { return Ok(svc) };
    chain.push(here);
    let path = format!("services.{name}.extends");
    let (base_name, file) = reference(&ext, &path)?;
    let base = match file {
        None => {
            if services.get(&base_name).is_none() {
                let msg = format!("service {base_name:?} not found in {}: define it or name its file", src.name());
                return Err(invalid(&path, msg));
            }
            resolve(loader, services, src, dir, env, &base_name, chain)?
        }
        Some(f) => {
            let fpath = PathBuf::from(resolve_path(dir, env.get("HOME").map(String::as_str), &f));
            let content =
                std::fs::read_to_string(&fpath).map_err(|source| ComposeError::Read { path: fpath.clone(), source })?;
            let fsrc = Source::File(fpath.clone());
            let other = interpolated(parse(&content, &fsrc)?, &fsrc, env, &mut loader.warnings)?;
            let other_services = other.get("services").cloned().unwrap_or_else(|| Node::map(Vec::new(), other.pos));
            if other_services.get(&base_name).is_none() {
                let msg = format!("service {base_name:?} not found in {}", fpath.display());
                return Err(invalid(&path, msg));
            }
            let fdir = fpath.parent().unwrap_or(dir).to_path_buf();
            let mut base = resolve(loader, &other_services, &fsrc, &fdir, env, &base_name, chain)?;
            resolve_service_paths(&mut base, &fdir, env.get("HOME").map(String::as_str));
            base
        }
    };
    chain.pop();
    merge::merge_service(base, svc, name)
}
