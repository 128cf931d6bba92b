//! `rcon kube generate`: containers as Kubernetes YAML. Parsing and
//! printing only: the stores are read by `kube::source`, the objects made
//! by `kube::generate`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::CmdResult;
use crate::engine::Engine;
use crate::kube::{self, GenerateOptions, WorkloadKind};

#[derive(Subcommand)]
pub enum KubeCommand {
    /// Generate Kubernetes YAML from pods or containers
    #[command(long_about = GENERATE_ABOUT)]
    Generate(GenerateArgs),
    /// Run Kubernetes YAML (Pods, Deployments, DaemonSets, Jobs, Services, claims, ConfigMaps, Secrets) as pods
    Play(super::kube_play::PlayArgs),
}

const GENERATE_ABOUT: &str = "Generate Kubernetes YAML from pods or containers

Each pod named becomes one pod with its containers (not its infra container); the pod's hostname, labels, \
published ports, --add-host, --dns and network are the pod's. Containers named (no pods among them) become one pod (named after the only container, or the first one with \"-pod\"), written as a \
Pod, Deployment, DaemonSet or Job, with a PersistentVolumeClaim for each named volume and, with --service, a \
Service. What differs from the image is written: image, command (ENTRYPOINT) and args (CMD), env, workingDir; \
ports (containerPort for exposed and published ports, hostPort/hostIP for published ones unless --service), \
resources.limits (--memory, --cpus), securityContext (--user as runAsUser/runAsGroup, --cap-add/--cap-drop, \
--privileged, --read-only, no-new-privileges, seccomp=unconfined), restartPolicy (--restart), livenessProbe \
(the healthcheck: interval, timeout, retries, start period), terminationGracePeriodSeconds (--stop-timeout), \
tty/stdin, labels (invalid label values become annotations), hostAliases (--add-host), hostNetwork \
(--network host), hostPID/hostIPC (--pid/--ipc host), hostname, dnsConfig (--dns, --dns-search, --dns-option); \
bind mounts as hostPath volumes (PATH-host), named volumes as persistentVolumeClaims (NAME-pvc), tmpfs as \
emptyDir (Memory). Names are made valid DNS-1123 labels. Settings with no Kubernetes equivalent are listed in \
one warning on stderr.

--service: a Service selecting the pod, NodePort when a port was published (nodePort is the host port when it \
is in 30000-32767), else ClusterIP; the pod then has no hostPort (podman's rule).";

#[derive(Args)]
pub struct GenerateArgs {
    /// Pods (each generated as one), or containers (names or ids) to put in one pod
    #[arg(required = true, value_name = "CONTAINER|POD")]
    containers: Vec<String>,
    /// Kind of workload: pod, deployment, daemonset or job
    #[arg(short = 't', long = "type", default_value = "pod", value_parser = ["pod", "deployment", "daemonset", "job"])]
    kind: String,
    /// Replicas of a Deployment (--type deployment)
    #[arg(short = 'r', long)]
    replicas: Option<u32>,
    /// Also generate a Service (NodePort for published ports, else ClusterIP)
    #[arg(short = 's', long)]
    service: bool,
    /// Write the YAML to FILE instead of standard output
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    file: Option<PathBuf>,
}

pub fn dispatch(engine: &Engine, c: KubeCommand) -> CmdResult {
    match c {
        KubeCommand::Generate(a) => generate(engine, a),
        KubeCommand::Play(a) => super::kube_play::play(engine, a),
    }
}

fn generate(engine: &Engine, a: GenerateArgs) -> CmdResult {
    let sources = kube::source::sources(engine, &a.containers)?;
    let opts = GenerateOptions {
        kind: WorkloadKind::parse(&a.kind).unwrap_or_default(),
        replicas: a.replicas,
        service: a.service,
    };
    let (mut objects, mut dropped) = (Vec::new(), Vec::new());
    for source in &sources {
        let g = kube::generate(source, &opts)?;
        objects.extend(g.objects);
        dropped.extend(g.dropped);
    }
    dropped_warning(&dropped);
    write(&kube::to_yaml(&objects), a.file.as_deref())?;
    Ok(0)
}

/// One warning line for everything left out.
pub(super) fn dropped_warning(dropped: &[String]) {
    if !dropped.is_empty() {
        crate::util::warn(&format!("no Kubernetes equivalent, left out: {}", dropped.join("; ")));
    }
}

pub(super) fn write(text: &str, file: Option<&std::path::Path>) -> anyhow::Result<()> {
    match file {
        Some(f) => std::fs::write(f, text).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", f.display())),
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            Ok(out.flush()?)
        }
    }
}
