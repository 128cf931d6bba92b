//! `include` (compose spec "Include"): each entry loads other compose files
//! as a project of their own, with their own project directory and env
//! files, and imports their services, networks, volumes, secrets and
//! configs. Relative paths in the included files are resolved against the
//! included project's directory before import. Redefining an imported
//! resource differently is an error, as in compose (use `extends` or an
//! override file to change one).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::convert::{child, entries, idx, invalid, items, resolve_path, string_list, text, unknown};
use super::load::{environment, parse, Loader, Source};
use super::syntax::{is_host_path, split_volume};
use super::yaml::{Node, Value};
use super::{merge, ComposeError};

struct Entry {
    paths: Vec<PathBuf>,
    project_directory: Option<PathBuf>,
    env_files: Vec<PathBuf>,
}

fn entry(n: &Node, path: &str, dir: &Path, home: Option<&str>) -> Result<Entry, ComposeError> {
    let abs = |p: &str| PathBuf::from(resolve_path(dir, home, p));
    if let Value::Str { text, .. } = &n.value {
        return Ok(Entry { paths: vec![abs(text)], project_directory: None, env_files: Vec::new() });
    }
    let mut e = Entry { paths: Vec::new(), project_directory: None, env_files: Vec::new() };
    for (k, v) in entries(n, path)? {
        let p = child(path, k);
        match k.as_str() {
            "path" => e.paths = string_list(v, &p)?.iter().map(|s| abs(s)).collect(),
            "project_directory" => e.project_directory = Some(abs(&text(v, &p)?)),
            "env_file" => e.env_files = string_list(v, &p)?.iter().map(|s| abs(s)).collect(),
            _ if k.starts_with("x-") => {}
            _ => return Err(unknown(&p)),
        }
    }
    if e.paths.is_empty() {
        return Err(invalid(path, "missing path: name the compose file to include"));
    }
    Ok(e)
}

/// Imports every `include` entry of the file `src` into `node`.
pub(super) fn apply(
    loader: &mut Loader,
    node: &mut Node,
    inc: &Node,
    dir: &Path,
    env: &BTreeMap<String, String>,
) -> Result<(), ComposeError> {
    let home = env.get("HOME").cloned();
    for (i, e) in items(inc, "include")?.iter().enumerate() {
        let path = idx("include", i);
        let e = entry(e, &path, dir, home.as_deref())?;
        let first = &e.paths[0];
        let inc_dir = e.project_directory.clone().unwrap_or_else(|| first.parent().unwrap_or(dir).to_path_buf());
        // the including project's variables win over the included project's .env
        let inc_env = environment(env, &e.env_files, &inc_dir)?;
        let mut model: Option<Node> = None;
        for file in &e.paths {
            if loader.including.contains(file) {
                let mut chain: Vec<String> = loader.including.iter().map(|p| p.display().to_string()).collect();
                chain.push(file.display().to_string());
                return Err(ComposeError::IncludeCycle(chain.join(" -> ")));
            }
            let content =
                std::fs::read_to_string(file).map_err(|source| ComposeError::Read { path: file.clone(), source })?;
            let src = Source::File(file.clone());
            let docs = parse(&content, &src)?;
            loader.including.push(file.clone());
            let n = loader.file(docs, &src, &inc_dir, &inc_env);
            loader.including.pop();
            let n = n?;
            model = Some(match model {
                None => n,
                Some(m) => merge::merge_files(m, n)?,
            });
        }
        let Some(mut model) = model else { continue };
        merge::strip_tags(&mut model);
        resolve_model_paths(&mut model, &inc_dir, home.as_deref());
        import(node, model, first)?;
    }
    Ok(())
}

fn import(node: &mut Node, model: Node, from: &Path) -> Result<(), ComposeError> {
    let Value::Map(sections) = model.value else { return Ok(()) };
    for (section, content) in sections {
        if !matches!(section.as_str(), "services" | "networks" | "volumes" | "secrets" | "configs") {
            continue;
        }
        let Value::Map(resources) = content.value else { continue };
        if node.get(&section).is_none_or(Node::is_null) {
            node.set(&section, Node::map(Vec::new(), content.pos));
        }
        let target = node.get_mut(&section).and_then(Node::as_map_mut);
        let Some(target) = target else {
            return Err(invalid(&section, "must be a mapping"));
        };
        for (k, v) in resources {
            match target.iter().find(|(t, _)| *t == k) {
                Some((_, existing)) if *existing != v => {
                    return Err(invalid(
                        &format!("{section}.{k}"),
                        format!(
                            "conflicts with the definition imported from {}: remove one, or change it with extends or an override file",
                            from.display()
                        ),
                    ))
                }
                Some(_) => {}
                None => target.push((k, v)),
            }
        }
    }
    Ok(())
}

fn set_path(n: &mut Node, dir: &Path, home: Option<&str>) {
    if let Value::Str { text, .. } = &n.value {
        if !text.starts_with('/') {
            let abs = resolve_path(dir, home, text);
            n.value = Value::Str { text: abs, plain: false };
        }
    }
}

fn is_remote(context: &str) -> bool {
    context.contains("://") || context.starts_with("git@") || context.starts_with("github.com/")
}

/// Makes the relative paths of one service absolute against `dir`: for a
/// service coming from another directory (an `extends: file:` base or an
/// included project), which the project directory would resolve wrongly.
pub(super) fn resolve_service_paths(svc: &mut Node, dir: &Path, home: Option<&str>) {
    let pos = svc.pos;
    match svc.get_mut("build") {
        Some(b) if matches!(b.value, Value::Str { .. }) && !b.as_str().is_some_and(is_remote) => set_path(b, dir, home),
        Some(b) if matches!(b.value, Value::Str { .. }) => {}
        Some(b) if matches!(b.value, Value::Map(_)) => {
            match b.get_mut("context") {
                Some(c) if !c.as_str().is_some_and(is_remote) => set_path(c, dir, home),
                Some(_) => {}
                None => b.set("context", Node::string(dir.display().to_string(), pos)),
            }
            if let Some(Value::Map(m)) = b.get_mut("additional_contexts").map(|a| &mut a.value) {
                for (_, c) in m.iter_mut() {
                    if c.as_str().is_some_and(|s| s.starts_with('.') || s.starts_with('~')) {
                        set_path(c, dir, home);
                    }
                }
            }
        }
        _ => {}
    }
    for key in ["env_file", "label_file"] {
        match svc.get_mut(key) {
            Some(n) if matches!(n.value, Value::Str { .. }) => set_path(n, dir, home),
            Some(Node { value: Value::Seq(items), .. }) => {
                for item in items.iter_mut() {
                    match item.get_mut("path") {
                        Some(p) => set_path(p, dir, home),
                        None => set_path(item, dir, home),
                    }
                }
            }
            _ => {}
        }
    }
    if let Some(Node { value: Value::Seq(vols), .. }) = svc.get_mut("volumes") {
        for v in vols.iter_mut() {
            if let Some(spec) = v.as_str() {
                if let (Some(src), _, _) = split_volume(spec) {
                    if is_host_path(src) && !src.starts_with('/') {
                        let rest = &spec[src.len()..];
                        let abs = format!("{}{rest}", resolve_path(dir, home, src));
                        v.value = Value::Str { text: abs, plain: false };
                    }
                }
            } else if v.get("type").and_then(Node::as_str) == Some("bind") {
                if let Some(s) = v.get_mut("source") {
                    set_path(s, dir, home);
                }
            }
        }
    }
}

/// [`resolve_service_paths`] for every service, plus secret and config files.
fn resolve_model_paths(model: &mut Node, dir: &Path, home: Option<&str>) {
    if let Some(Value::Map(services)) = model.get_mut("services").map(|s| &mut s.value) {
        for (_, svc) in services.iter_mut() {
            resolve_service_paths(svc, dir, home);
        }
    }
    for section in ["secrets", "configs"] {
        if let Some(Value::Map(objs)) = model.get_mut(section).map(|s| &mut s.value) {
            for (_, obj) in objs.iter_mut() {
                if let Some(f) = obj.get_mut("file") {
                    set_path(f, dir, home);
                }
            }
        }
    }
}
