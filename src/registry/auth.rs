//! Credentials: `CONFIG/auth.json` (written by `rcon login`, mode 0600) in
//! the format of Docker's config.json, and `~/.docker/config.json` read as a
//! fallback so an existing `docker login` keeps working. Passwords are kept
//! only as Docker keeps them (base64 "user:password"); never printed.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::util::{base64_decode, base64_encode};

#[derive(Clone)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, ***)", self.username)
    }
}

impl Credentials {
    pub fn basic(&self) -> String {
        base64_encode(format!("{}:{}", self.username, self.password).as_bytes())
    }
}

/// The key a registry's credentials are stored under; Docker Hub's is the
/// historical index URL.
pub fn key_for(registry: &str) -> String {
    match registry {
        "docker.io" | "index.docker.io" | "registry-1.docker.io" => "https://index.docker.io/v1/".into(),
        r => r.to_string(),
    }
}

pub fn auth_file(config_dir: &Path) -> PathBuf {
    config_dir.join("auth.json")
}

fn docker_config() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("DOCKER_CONFIG") {
        return Some(PathBuf::from(d).join("config.json"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker/config.json"))
}

fn lookup_in(path: &Path, key: &str) -> Option<Credentials> {
    let v: Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    let auths = v.get("auths")?.as_object()?;
    let entry = auths.get(key).or_else(|| {
        // Entries are sometimes written with a scheme: "https://host".
        auths
            .iter()
            .find(|(k, _)| k.split_once("://").map(|(_, h)| h.trim_end_matches('/')) == Some(key))
            .map(|(_, v)| v)
    })?;
    let raw = base64_decode(entry.get("auth")?.as_str()?)?;
    let text = String::from_utf8(raw).ok()?;
    let (u, p) = text.split_once(':')?;
    Some(Credentials { username: u.to_string(), password: p.to_string() })
}

/// Credentials given with one request instead of the saved ones (the API's
/// `X-Registry-Auth` and `X-Registry-Config` headers: Docker's clients keep
/// credentials and send them along), by registry.
#[derive(Clone, Debug, Default)]
pub struct Supplied(std::collections::BTreeMap<String, Credentials>);

impl Supplied {
    /// The same credentials for whatever registry the request talks to.
    pub fn one(registry: &str, c: Credentials) -> Supplied {
        let mut s = Supplied::default();
        s.add(registry, c);
        s
    }
    /// `registry` as a client writes it: `host[:port]`, a URL, Docker Hub's index URL.
    pub fn add(&mut self, registry: &str, c: Credentials) {
        let host = registry.split_once("://").map(|(_, r)| r).unwrap_or(registry);
        let host = host.split('/').next().unwrap_or(host);
        self.0.insert(key_for(host), c);
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    fn get(&self, registry: &str) -> Option<Credentials> {
        self.0.get(&key_for(registry)).cloned()
    }
}

/// The credentials for a registry: those given with the request, else the saved ones.
pub fn lookup_with(config_dir: &Path, registry: &str, supplied: &Supplied) -> Option<Credentials> {
    supplied.get(registry).or_else(|| lookup(config_dir, registry))
}

/// Saved credentials for a registry: ours first, then Docker's.
pub fn lookup(config_dir: &Path, registry: &str) -> Option<Credentials> {
    let key = key_for(registry);
    lookup_in(&auth_file(config_dir), &key).or_else(|| docker_config().and_then(|p| lookup_in(&p, &key)))
}

fn edit(config_dir: &Path, f: impl FnOnce(&mut Map<String, Value>) -> bool) -> Result<bool> {
    crate::state::ensure_dir(config_dir)?;
    let path = auth_file(config_dir);
    let _lock = crate::state::Lock::exclusive(&config_dir.join("auth.lock"))?;
    let mut root: Value = match std::fs::read(&path) {
        Ok(b) => serde_json::from_slice(&b)
            .map_err(|e| Error::Other(format!("{} is corrupt ({e}): remove it and log in again", path.display())))?,
        Err(_) => Value::Object(Map::new()),
    };
    let obj = root.as_object_mut().ok_or_else(|| Error::Other(format!("{} is not a JSON object", path.display())))?;
    let auths = obj.entry("auths").or_insert_with(|| Value::Object(Map::new()));
    let auths =
        auths.as_object_mut().ok_or_else(|| Error::Other(format!("{}: auths is not an object", path.display())))?;
    let changed = f(auths);
    if changed {
        let bytes = serde_json::to_vec_pretty(&root).map_err(|e| Error::Other(e.to_string()))?;
        crate::state::atomic_write(&path, &bytes)?;
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
    }
    Ok(changed)
}

pub fn store(config_dir: &Path, registry: &str, c: &Credentials) -> Result<()> {
    let key = key_for(registry);
    edit(config_dir, |auths| {
        auths.insert(key, serde_json::json!({ "auth": c.basic() }));
        true
    })
    .map(|_| ())
}

/// Forget a registry's credentials; false when none were saved by rcon.
pub fn remove(config_dir: &Path, registry: &str) -> Result<bool> {
    let key = key_for(registry);
    edit(config_dir, |auths| auths.remove(&key).is_some())
}
