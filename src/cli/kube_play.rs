//! `rcon kube play FILE… [--down]`: parse, report unsupported fields,
//! hand the objects to `kube::play`, print podman's summary.

use std::path::PathBuf;

use clap::Args;

use super::{flags, out, CmdResult};
use crate::engine::Engine;
use crate::kube::{self, play};

#[derive(Args)]
pub struct PlayArgs {
    /// Kubernetes YAML files (Pod, Deployment, DaemonSet, Job, Service, PersistentVolumeClaim, ConfigMap, Secret; several documents each)
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Remove the pods, volumes and files an earlier play of the files created
    #[arg(long)]
    down: bool,
    /// Remove what an earlier play of the files created first
    #[arg(long)]
    replace: bool,
    /// Start the pods' containers (false: create only)
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    start: bool,
    /// Build images from DIR/IMAGE/Containerfile (or Dockerfile) next to the file
    #[arg(long)]
    build: bool,
    /// ConfigMap YAML files the objects refer to
    #[arg(long = "configmap", value_name = "FILE", value_delimiter = ',')]
    configmap: Vec<PathBuf>,
    /// The network the pods join (default: the rcon-kube user network)
    #[arg(long = "network", alias = "net")]
    network: Option<String>,
    /// Publish more ports of the first pod ([IP:]HOST:CONTAINER[/PROTO])
    #[arg(long = "publish", value_name = "PORT")]
    publish: Vec<String>,
}

fn read(p: &std::path::Path) -> anyhow::Result<(String, kube::Parsed)> {
    let abs = std::fs::canonicalize(p)
        .map_err(|e| crate::Error::InvalidArgument(format!("kube play: cannot open {}: {e}", p.display())))?;
    let text = std::fs::read_to_string(&abs)
        .map_err(|e| crate::Error::InvalidArgument(format!("kube play: cannot read {}: {e}", p.display())))?;
    let parsed =
        kube::parse(&text, &p.display().to_string()).map_err(|e| crate::Error::InvalidArgument(e.to_string()))?;
    Ok((abs.display().to_string(), parsed))
}

pub fn play(engine: &Engine, a: PlayArgs) -> CmdResult {
    let mut configmaps = Vec::new();
    for f in &a.configmap {
        let (_, parsed) = read(f)?;
        for o in parsed.objects {
            if !matches!(o, kube::Object::ConfigMap(_)) {
                anyhow::bail!(crate::Error::InvalidArgument(format!(
                    "--configmap {}: {} {} is not a ConfigMap",
                    f.display(),
                    o.kind(),
                    o.name()
                )));
            }
            configmaps.push(o);
        }
    }
    let mut publish = Vec::new();
    for p in &a.publish {
        publish.extend(flags::ports(p)?);
    }
    let mut text = String::new();
    for f in &a.files {
        let (file, parsed) = read(f)?;
        if a.down {
            let gone = play::down(engine, &file, &parsed.objects)?;
            text.push_str("Pods stopped:\n");
            gone.iter().for_each(|id| text.push_str(&format!("{id}\n")));
            text.push_str("Pods removed:\n");
            gone.iter().for_each(|id| text.push_str(&format!("{id}\n")));
            continue;
        }
        for w in &parsed.warnings {
            crate::util::warn(&format!("kube play: not supported, ignored: {w}"));
        }
        let o = play::PlayOptions {
            start: a.start,
            replace: a.replace,
            build: a.build,
            network: a.network.clone(),
            publish: publish.clone(),
            configmaps: configmaps.clone(),
            dir: std::path::Path::new(&file).parent().map(PathBuf::from).unwrap_or_default(),
        };
        let rec = play::play(engine, &file, &parsed.objects, &o, &super::progress::on_stderr(false))?;
        for w in &rec.warnings {
            crate::util::warn(&format!("kube play: {w}"));
        }
        for (id, _, ctrs) in &rec.pods {
            text.push_str(&format!("Pod:\n{id}\nContainers:\n"));
            ctrs.iter().for_each(|c| text.push_str(&format!("{c}\n")));
            text.push('\n');
        }
    }
    out(&text);
    Ok(0)
}
