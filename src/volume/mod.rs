//! Volumes of the local driver, on disk the way Docker lays them out:
//!
//! ```text
//! DATA/volumes/NAME/volume.json   the record (labels, driver options, created, anonymous)
//! DATA/volumes/NAME/_data/        the content, bind-mounted into containers (Docker's Mountpoint)
//! DATA/volumes.lock               held while volumes are created or removed
//! DATA/volumes/.rm-NAME-PID-START-N  a volume being removed by PID (swept when PID is dead)
//! ```
//!
//! Rootless, `_data` belongs to the user, who is root in the containers; what
//! containers write there belongs to mapped ids, so removal goes through the
//! userns helper (as for containers' writable layers).

pub mod mounts;

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Error, IoContext, Result};
use crate::paths::Paths;
use crate::state::{self, Damage, Lock, Record};

/// Docker marks anonymous volumes with this label (moby ≥ 23), and
/// `volume prune` without `-a` removes only those.
pub const ANONYMOUS_LABEL: &str = "com.docker.volume.anonymous";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Volume {
    pub name: String,
    /// RFC 3339, seconds.
    pub created: String,
    pub labels: BTreeMap<String, String>,
    /// The local driver's `-o` options: type, device, o.
    pub options: BTreeMap<String, String>,
    /// The record does not parse: listed, named on stderr, removable only.
    #[serde(skip)]
    pub damaged: Option<Damage>,
}

impl Volume {
    /// The error for any use but listing and removal of a damaged volume.
    pub fn damaged_error(&self) -> Option<Error> {
        Some(self.damaged.as_ref()?.error("volume", &self.name, format!("rcon volume rm {}", self.name)))
    }

    pub fn anonymous(&self) -> bool {
        self.labels.contains_key(ANONYMOUS_LABEL)
    }
}

/// How a volume is mounted, from its driver options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backing {
    /// The `_data` directory.
    Dir(PathBuf),
    /// `-o type=tmpfs,device=tmpfs,o=size=…`: a fresh tmpfs per container.
    /// Docker mounts it once on the host; rootless we cannot, so content is
    /// not shared between containers running at the same time.
    Tmpfs(Vec<String>),
    /// `-o type=none,o=bind,device=/path`: that host directory.
    Bind(PathBuf),
}

/// Docker's rule for local volume names.
pub fn valid_name(n: &str) -> bool {
    let b = n.as_bytes();
    b.len() >= 2
        && b[0].is_ascii_alphanumeric()
        && b[1..].iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// A marker in a container's mount options for mounts given with
/// `--mount` (Docker reports them with an empty Mode, `-v` volumes with
/// "z", and creates a missing bind source only for `-v`). Like `nocopy` and
/// `propagation=MODE`, it never reaches the runtime
/// (`mounts::launch_mounts` strips them).
pub const FROM_MOUNT: &str = "from-mount";

pub fn check_name(n: &str) -> Result<()> {
    if valid_name(n) {
        return Ok(());
    }
    let hint = if n.contains('/') { "; to bind a host directory, give an absolute path" } else { "" };
    Err(Error::InvalidArgument(format!(
        "invalid volume name {n:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed (at least 2 characters){hint}"
    )))
}

/// Validate the local driver's `-o` options (Docker's `type`, `device`, `o`).
fn check_options(name: &str, opts: &BTreeMap<String, String>) -> Result<()> {
    for k in opts.keys() {
        if !matches!(k.as_str(), "type" | "device" | "o") {
            return Err(Error::InvalidArgument(format!(
                "volume {name}: invalid option key {k:?}: the local driver takes type, device and o"
            )));
        }
    }
    match opts.get("type").map(String::as_str) {
        None if opts.is_empty() => Ok(()),
        Some("tmpfs") => Ok(()),
        Some("none") if opts.get("o").is_some_and(|o| o.split(',').any(|x| x == "bind" || x == "rbind")) => {
            match opts.get("device") {
                Some(d) if d.starts_with('/') => Ok(()),
                _ => Err(Error::InvalidArgument(format!(
                    "volume {name}: a bind volume needs an absolute device=/host/path"
                ))),
            }
        }
        t => Err(Error::InvalidArgument(format!(
            "volume {name}: unsupported driver options (type={}): rcon's local driver supports type=tmpfs and type=none,o=bind,device=/path",
            t.unwrap_or("")
        ))),
    }
}

pub struct VolumeStore {
    root: PathBuf,
}

impl VolumeStore {
    pub fn open(paths: &Paths) -> Result<VolumeStore> {
        let root = paths.data.join("volumes");
        state::ensure_dir(&root)?;
        Ok(VolumeStore { root })
    }

    pub fn lock(&self) -> Result<Lock> {
        Lock::exclusive(&self.root.with_extension("lock"))
    }

    pub fn mountpoint(&self, name: &str) -> PathBuf {
        self.root.join(name).join("_data")
    }

    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(&self.root)
            .map(|rd| {
                rd.flatten()
                    // `.rm-…`: being removed (its record went along with the rename)
                    .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                    .filter(|e| e.path().join("volume.json").exists())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    /// A volume whose record is whole; a damaged one is an error that says
    /// how to remove it.
    pub fn get(&self, name: &str) -> Result<Volume> {
        let v = self.get_any(name)?;
        match v.damaged_error() {
            Some(e) => Err(e),
            None => Ok(v),
        }
    }

    /// `get`, a damaged volume as a placeholder with `damaged` set.
    pub fn get_any(&self, name: &str) -> Result<Volume> {
        if !valid_name(name) {
            return Err(Error::NoSuchVolume(name.to_string()));
        }
        let path = self.root.join(name).join("volume.json");
        match state::read_record::<Volume>(&path) {
            Record::Read(v) => Ok(v),
            Record::Missing => Err(Error::NoSuchVolume(name.to_string())),
            Record::Damaged(reason) => {
                Ok(Volume { name: name.to_string(), damaged: Some(Damage { path, reason }), ..Default::default() })
            }
        }
    }

    /// Every volume whose record is whole.
    pub fn all(&self) -> Vec<Volume> {
        self.names().iter().filter_map(|n| self.get(n).ok()).collect()
    }

    /// Every volume, the damaged ones too (`volume ls`).
    pub fn listed(&self) -> Vec<Volume> {
        self.names().iter().filter_map(|n| self.get_any(n).ok()).collect()
    }

    /// Create a volume; an existing one of that name is returned as is
    /// (Docker's `volume create` is idempotent), unless options differ.
    /// Returns the volume and whether this call created it.
    pub fn create(&self, v: Volume) -> Result<(Volume, bool)> {
        check_name(&v.name)?;
        check_options(&v.name, &v.options)?;
        let lock = self.lock()?;
        let claimed = self.claim_leftovers();
        crate::storage::userns::sweeping(lock, claimed, || self.create_locked(v))
    }

    fn create_locked(&self, v: Volume) -> Result<(Volume, bool)> {
        // A damaged volume keeps its name: the error says how to remove it.
        match self.get(&v.name) {
            Ok(old) => {
                if !v.options.is_empty() && old.options != v.options {
                    return Err(Error::Conflict(format!(
                        "volume {} already exists with other driver options: remove it first or choose another name",
                        v.name
                    )));
                }
                return Ok((old, false));
            }
            Err(Error::NoSuchVolume(_)) => {}
            Err(e) => return Err(e),
        }
        let dir = self.root.join(&v.name);
        let data = dir.join("_data");
        fs::create_dir_all(&data).ctx(|| format!("create volume {}", v.name))?;
        // Containers' root (the user, rootless) owns the mount point: 0755 as Docker's.
        use std::os::unix::fs::PermissionsExt;
        let _ = fs::set_permissions(&data, fs::Permissions::from_mode(0o755));
        // volume.json last: until it exists the directory is not a volume.
        state::replace_json(&dir.join("volume.json"), &v)?;
        Ok((v, true))
    }

    /// Remove the record and the content (whose files may belong to mapped
    /// ids): one rename makes the volume vanish whole (a remover killed
    /// after it leaves a trash name with its pid for the next sweep), then
    /// the trash is deleted. The caller holds the lock.
    pub fn remove(&self, name: &str) -> Result<()> {
        let trash = state::trash_path(&self.root, name);
        fs::rename(self.root.join(name), &trash).ctx(|| format!("remove volume {name}"))?;
        crate::storage::userns::remove_trash(&trash)
    }

    /// Sweep what killed commands left (see `state::leftovers`): claimed
    /// under the volumes lock, deleted after it.
    pub fn sweep(&self) -> Result<()> {
        let lock = self.lock()?;
        let claimed = self.claim_leftovers();
        crate::storage::userns::sweeping(lock, claimed, || Ok(()))
    }

    fn claim_leftovers(&self) -> Vec<PathBuf> {
        let found = state::leftovers(&self.root, "volume.json");
        found.dead.iter().filter_map(|p| state::claim(&self.root, p)).collect()
    }

    /// What is left of killed commands now, and why (for `system df`).
    pub fn leftovers(&self) -> Vec<state::Leftover> {
        state::leftovers(&self.root, "volume.json").report()
    }

    /// Where and how a volume is mounted into a container.
    pub fn backing(&self, name: &str) -> Result<Backing> {
        let v = self.get(name)?;
        Ok(match v.options.get("type").map(String::as_str) {
            Some("tmpfs") => Backing::Tmpfs(
                v.options
                    .get("o")
                    .map(|o| o.split(',').filter(|x| !x.is_empty()).map(String::from).collect())
                    .unwrap_or_default(),
            ),
            Some("none") => Backing::Bind(PathBuf::from(v.options.get("device").cloned().unwrap_or_default())),
            _ => Backing::Dir(self.mountpoint(name)),
        })
    }
}

/// Docker's copy-up: an empty volume mounted over a directory of the image
/// gets that directory's content, owners and mode (moby's
/// copyExistingContents). Runs in the container's child before the bind, as
/// the container's root in its user namespace, so owners stay the image's
/// (mapped) ids without a helper process.
pub fn copy_up(image_dir: &std::path::Path, volume: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let md = match fs::symlink_metadata(image_dir) {
        Ok(m) if m.is_dir() => m,
        _ => return Ok(()),
    };
    if fs::read_dir(volume)?.next().is_some() {
        return Ok(());
    }
    for e in fs::read_dir(image_dir)? {
        let e = e?;
        crate::storage::copy::copy_tree(&e.path(), &volume.join(e.file_name()), &|u, g| (u, g))?;
    }
    std::os::unix::fs::lchown(volume, Some(md.uid()), Some(md.gid()))?;
    fs::set_permissions(volume, fs::Permissions::from_mode(md.mode() & 0o7777))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_docker() {
        assert!(valid_name("data"));
        assert!(valid_name("my_vol.1-x"));
        assert!(!valid_name("a"));
        assert!(!valid_name("_x"));
        assert!(!valid_name("a/b"));
        assert!(check_name("a/b").unwrap_err().to_string().contains("absolute path"));
    }

    #[test]
    fn driver_options() {
        let o = |kv: &[(&str, &str)]| kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert!(check_options("v", &o(&[])).is_ok());
        assert!(check_options("v", &o(&[("type", "tmpfs"), ("device", "tmpfs"), ("o", "size=10m")])).is_ok());
        assert!(check_options("v", &o(&[("type", "none"), ("o", "bind"), ("device", "/srv")])).is_ok());
        assert!(check_options("v", &o(&[("type", "nfs")])).is_err());
        assert!(check_options("v", &o(&[("size", "1")])).is_err());
    }
}
