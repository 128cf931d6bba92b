//! `docker compose config` output: the normalised project as YAML, in
//! compose's order (`name`, `services` sorted, `networks`, `volumes`,
//! `secrets`, `configs`; service fields in compose-go's field order), the
//! `--services`/`--volumes`/`--profiles`/`--images` lists, and the config
//! hash compose stores in the `com.docker.compose.config-hash` label. The
//! YAML itself is written by `format::yaml`.

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::model::{Project, Service};

/// The project as `docker compose config` prints it. Render a
/// [`Project::select`]ed project to get compose's view of one command.
pub fn render_config(p: &Project) -> String {
    let mut out = String::new();
    // the model serialises infallibly: plain structs, string keys, finite floats
    if let Ok(Value::Object(m)) = serde_json::to_value(p) {
        crate::format::yaml::emit_map(&m, 0, &mut out);
    }
    out
}

/// `config --services`: the enabled services, sorted.
pub fn config_services(p: &Project) -> Vec<String> {
    p.services.keys().cloned().collect()
}

/// `config --volumes`: the top-level volumes, sorted.
pub fn config_volumes(p: &Project) -> Vec<String> {
    p.volumes.keys().cloned().collect()
}

/// `config --profiles`: every profile a service names, sorted.
pub fn config_profiles(p: &Project) -> Vec<String> {
    p.all_profiles()
}

/// `config --images`: each enabled service's image, built ones as `PROJECT-SERVICE`.
pub fn config_images(p: &Project) -> Vec<String> {
    p.services.values().map(|s| s.image_or_default(&p.name)).collect()
}

/// sha256 (hex) of the service's canonical JSON (field order fixed, maps
/// sorted, empty fields left out). As in compose's `ServiceHash`, what does
/// not change the container is left out: `deploy.replicas` and `scale`
/// (scaling must not recreate containers), `build` and `pull_policy` (a
/// rebuilt or pulled image is detected by its image ID instead).
pub fn config_hash(service: &Service) -> String {
    let mut s = service.clone();
    s.scale = None;
    s.build = None;
    s.pull_policy = None;
    if let Some(d) = &mut s.deploy {
        d.replicas = None;
    }
    let json = serde_json::to_vec(&s).unwrap_or_default();
    Sha256::digest(&json).iter().map(|b| format!("{b:02x}")).collect()
}
