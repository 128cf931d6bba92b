//! Cross-reference checks (compose-go's `checkConsistency`), dependency
//! cycles, and profiles: which services are active for a command.

use std::collections::{BTreeMap, BTreeSet};

use super::model::{Project, Service};
use super::ComposeError;

fn invalid(path: String, msg: impl Into<String>) -> ComposeError {
    ComposeError::Invalid { path, msg: msg.into() }
}

/// Checks every service, enabled or not: a compose file is valid or not
/// whatever profiles are active.
pub fn check(p: &Project) -> Result<(), ComposeError> {
    let all: BTreeMap<&String, &Service> = p.services.iter().chain(&p.disabled_services).collect();
    for (name, s) in &all {
        let path = format!("services.{name}");
        if s.image.is_none() && s.build.is_none() {
            return Err(invalid(path, "neither image nor build is set: add an image to run or a build context"));
        }
        for (dep, d) in &s.depends_on {
            if !all.contains_key(dep) && d.required {
                return Err(invalid(
                    format!("{path}.depends_on"),
                    format!("undefined service {dep:?}: define it or remove the dependency"),
                ));
            }
        }
        for net in s.networks.keys() {
            if !p.networks.contains_key(net) && net != "default" {
                return Err(invalid(
                    format!("{path}.networks"),
                    format!("undefined network {net:?}: declare it under the top-level networks key"),
                ));
            }
        }
        if s.network_mode.is_some() && s.networks.keys().any(|n| n != "default") {
            return Err(invalid(
                format!("{path}.network_mode"),
                "network_mode and networks cannot be combined: keep one",
            ));
        }
        for (field, ns) in [("network_mode", &s.network_mode), ("ipc", &s.ipc), ("pid", &s.pid), ("uts", &s.uts)] {
            if let Some(svc) = ns.as_deref().and_then(|n| n.strip_prefix("service:")) {
                if !all.contains_key(&svc.to_string()) {
                    return Err(invalid(format!("{path}.{field}"), format!("undefined service {svc:?}: define it")));
                }
            }
        }
        for (i, from) in s.volumes_from.iter().enumerate() {
            let svc = from.split(':').next().unwrap_or_default();
            if !from.starts_with("container:") && !all.contains_key(&svc.to_string()) {
                return Err(invalid(
                    format!("{path}.volumes_from[{i}]"),
                    format!("undefined service {svc:?}: name a service, or container:NAME for a container"),
                ));
            }
        }
        for (i, v) in s.volumes.iter().enumerate() {
            if let (true, Some(src)) = (v.kind == "volume", &v.source) {
                if !p.volumes.contains_key(src) {
                    return Err(invalid(
                        format!("{path}.volumes[{i}]"),
                        format!("undefined volume {src:?}: declare it under the top-level volumes key"),
                    ));
                }
            }
        }
        let build_secrets =
            s.build.iter().flat_map(|b| b.secrets.iter().enumerate().map(|(i, r)| ("build.secrets", i, r)));
        for (field, i, r) in s.secrets.iter().enumerate().map(|(i, r)| ("secrets", i, r)).chain(build_secrets) {
            if !p.secrets.contains_key(&r.source) {
                return Err(invalid(
                    format!("{path}.{field}[{i}]"),
                    format!("undefined secret {:?}: declare it under the top-level secrets key", r.source),
                ));
            }
        }
        for (i, r) in s.configs.iter().enumerate() {
            if !p.configs.contains_key(&r.source) {
                return Err(invalid(
                    format!("{path}.configs[{i}]"),
                    format!("undefined config {:?}: declare it under the top-level configs key", r.source),
                ));
            }
        }
    }
    check_cycles(&all)
}

/// Fixed container names must be unique among the services that run
/// together (compose's `CheckContainerNameUnicity`, on enabled services:
/// profile variants of one service may share a name).
pub fn check_container_names(services: &BTreeMap<String, Service>) -> Result<(), ComposeError> {
    let mut container_names: BTreeMap<&str, &str> = BTreeMap::new();
    for (name, s) in services {
        let path = format!("services.{name}");
        if let Some(c) = &s.container_name {
            if let Some(other) = container_names.insert(c, name.as_str()) {
                return Err(invalid(
                    format!("{path}.container_name"),
                    format!("container name {c:?} is already used by service {other}: pick another"),
                ));
            }
            if s.replicas() > 1 {
                return Err(invalid(
                    format!("{path}.container_name"),
                    "a fixed container name allows one replica only: remove container_name or set replicas to 1",
                ));
            }
        }
    }
    Ok(())
}

/// Depth-first search in name order, so the cycle reported is stable.
fn check_cycles(all: &BTreeMap<&String, &Service>) -> Result<(), ComposeError> {
    fn visit<'a>(
        name: &'a str,
        all: &BTreeMap<&String, &'a Service>,
        stack: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Result<(), ComposeError> {
        if let Some(i) = stack.iter().position(|s| *s == name) {
            let mut cycle: Vec<&str> = stack[i..].to_vec();
            cycle.push(name);
            return Err(ComposeError::DependencyCycle(cycle.join(" -> ")));
        }
        if done.contains(name) {
            return Ok(());
        }
        stack.push(name);
        if let Some(s) = all.get(&name.to_string()) {
            for dep in s.depends_on.keys() {
                visit(dep, all, stack, done)?;
            }
        }
        stack.pop();
        done.insert(name);
        Ok(())
    }
    let mut done = BTreeSet::new();
    for name in all.keys() {
        visit(name, all, &mut Vec::new(), &mut done)?;
    }
    Ok(())
}

/// compose-go's `HasProfile`: no profiles means always on; `*` enables all.
pub fn has_profile(s: &Service, enabled: &[String]) -> bool {
    s.profiles.is_empty() || enabled.iter().any(|p| p == "*" || s.profiles.contains(p))
}

impl Project {
    /// Every profile named by a service, sorted (`config --profiles`).
    pub fn all_profiles(&self) -> Vec<String> {
        let set: BTreeSet<&String> =
            self.services.values().chain(self.disabled_services.values()).flat_map(|s| &s.profiles).collect();
        set.into_iter().cloned().collect()
    }

    /// Moves services between `services` and `disabled_services` for `profiles`.
    pub fn apply_profiles(&mut self, profiles: &[String]) {
        let all: Vec<(String, Service)> =
            std::mem::take(&mut self.services).into_iter().chain(std::mem::take(&mut self.disabled_services)).collect();
        for (name, s) in all {
            if has_profile(&s, profiles) {
                self.services.insert(name, s);
            } else {
                self.disabled_services.insert(name, s);
            }
        }
        self.profiles = profiles.to_vec();
    }

    /// The services a command on `targets` acts on, as compose v2 decides:
    /// naming a service enables its profiles (so services sharing them come
    /// along), then the targets and their transitive dependencies are kept.
    /// No targets means every enabled service. A required dependency left
    /// disabled by its profiles is an error; an optional one is dropped.
    pub fn active_services(&self, targets: &[String]) -> Result<BTreeSet<String>, ComposeError> {
        let mut enabled = self.profiles.clone();
        for t in targets {
            match (self.services.get(t), self.disabled_services.get(t)) {
                (Some(_), _) => {}
                (None, Some(s)) => enabled.extend(s.profiles.iter().cloned()),
                (None, None) => return Err(ComposeError::NoSuchService(t.clone())),
            }
        }
        let all = self.services.iter().chain(&self.disabled_services);
        let on: BTreeMap<&String, &Service> = all.filter(|(_, s)| has_profile(s, &enabled)).collect();
        let mut out = BTreeSet::new();
        let mut todo: Vec<String> =
            if targets.is_empty() { on.keys().map(|k| k.to_string()).collect() } else { targets.to_vec() };
        while let Some(name) = todo.pop() {
            if !out.insert(name.clone()) {
                continue;
            }
            for (dep, d) in &on[&name].depends_on {
                if on.contains_key(dep) {
                    todo.push(dep.clone());
                } else if d.required {
                    let profiles = self.disabled_services.get(dep).map(|s| s.profiles.join(", ")).unwrap_or_default();
                    return Err(ComposeError::Invalid {
                        path: format!("services.{name}.depends_on"),
                        msg: format!("service {dep:?} is disabled: enable one of its profiles ({profiles})"),
                    });
                }
            }
        }
        Ok(out)
    }

    /// The project restricted to [`Project::active_services`]: other
    /// services are disabled, dependencies on them dropped, and networks,
    /// volumes, secrets and configs no active service uses are left out
    /// (compose's `WithSelectedServices` + `WithoutUnnecessaryResources`).
    pub fn select(&self, targets: &[String]) -> Result<Project, ComposeError> {
        let active = self.active_services(targets)?;
        let mut p = self.clone();
        let all: Vec<(String, Service)> =
            std::mem::take(&mut p.services).into_iter().chain(std::mem::take(&mut p.disabled_services)).collect();
        for (name, s) in all {
            if active.contains(&name) {
                p.services.insert(name, s);
            } else {
                p.disabled_services.insert(name, s);
            }
        }
        for s in p.services.values_mut() {
            s.depends_on.retain(|d, _| active.contains(d));
        }
        check_container_names(&p.services)?;
        let used =
            |f: &dyn Fn(&Service) -> Vec<String>| -> BTreeSet<String> { p.services.values().flat_map(f).collect() };
        let nets = used(&|s| s.networks.keys().cloned().collect());
        let vols =
            used(&|s| s.volumes.iter().filter(|v| v.kind == "volume").filter_map(|v| v.source.clone()).collect());
        let secrets = used(&|s| {
            let build = s.build.iter().flat_map(|b| b.secrets.iter());
            s.secrets.iter().chain(build).map(|r| r.source.clone()).collect()
        });
        let configs = used(&|s| s.configs.iter().map(|r| r.source.clone()).collect());
        p.networks.retain(|k, _| nets.contains(k));
        p.volumes.retain(|k, _| vols.contains(k));
        p.secrets.retain(|k, _| secrets.contains(k));
        p.configs.retain(|k, _| configs.contains(k));
        Ok(p)
    }
}
