//! `rcon system df` in Docker's layout (summary, or -v per object).

use crate::engine::df::{disk_usage, DiskUsage};
use crate::engine::Engine;
use crate::format::{table, units};
use clap::Args;
use serde_json::{json, Value};

use super::{out, CmdResult};

#[derive(Args)]
pub struct DfArgs {
    /// Show detailed information on space usage
    #[arg(short, long)]
    verbose: bool,
    /// Format output using a custom template: table, table TEMPLATE, json or a Go template
    #[arg(long)]
    format: Option<String>,
}

/// go-units HumanSize (4 significant digits), as `docker system df` prints.
fn size(b: u64) -> String {
    units::human_size_with_precision(b as f64, 4)
}

fn reclaimable(r: u64, total: u64) -> String {
    if total == 0 {
        return size(r);
    }
    format!("{} ({}%)", size(r), (r as f64 * 100.0 / total as f64) as i64)
}

fn summary(d: &DiskUsage) -> Vec<Value> {
    let active_images = d.images.iter().filter(|i| i.containers > 0).count();
    let running = d.containers.iter().filter(|c| c.container.state.status == crate::container::Status::Running).count();
    vec![
        json!({"Type": "Images", "TotalCount": d.images.len().to_string(), "Active": active_images.to_string(),
               "Size": size(d.images_size), "Reclaimable": reclaimable(d.images_reclaimable, d.images_size)}),
        json!({"Type": "Containers", "TotalCount": d.containers.len().to_string(), "Active": running.to_string(),
               "Size": size(d.containers_size()), "Reclaimable": reclaimable(d.containers_reclaimable(), d.containers_size())}),
        // Volumes and build cache are not rcon's yet (other subsystems).
        json!({"Type": "Local Volumes", "TotalCount": "0", "Active": "0", "Size": "0B", "Reclaimable": "0B"}),
        json!({"Type": "Build Cache", "TotalCount": "0", "Active": "0", "Size": "0B", "Reclaimable": "0B"}),
    ]
}

const SUMMARY: &str = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}";
const SUMMARY_HEADERS: &[(&str, &str)] = &[
    ("Type", "TYPE"),
    ("TotalCount", "TOTAL"),
    ("Active", "ACTIVE"),
    ("Size", "SIZE"),
    ("Reclaimable", "RECLAIMABLE"),
];

pub fn df(engine: &Engine, a: DfArgs) -> CmdResult {
    let d = disk_usage(engine)?;
    // Not a row of Docker's table (scripts parse it): one warning each.
    for (l, bytes) in &d.leftovers {
        crate::util::warn(&format!("{} ({}) is left over: {}", l.path.display(), size(*bytes), l.why));
    }
    if !a.verbose {
        out(&table::render_list(a.format.as_deref().unwrap_or(""), SUMMARY, SUMMARY_HEADERS, &summary(&d))?);
        return Ok(0);
    }
    let now = crate::image::store::now_secs();
    let mut images = Vec::new();
    for i in &d.images {
        let names: Vec<String> = i.image.repo_tags.iter().map(|t| crate::image::reference::familiar(t)).collect();
        let (repo, tag) = names
            .first()
            .and_then(|n| n.rsplit_once(':'))
            .map(|(r, t)| (r.to_string(), t.to_string()))
            .unwrap_or(("<none>".into(), "<none>".into()));
        images.push(json!({
            "Repository": repo, "Tag": tag, "ID": i.image.id.trim_start_matches("sha256:")[..12].to_string(),
            "CreatedSince": units::since(i.image.created, now), "Size": size(i.image.size),
            "SharedSize": size(i.shared), "UniqueSize": size(i.unique), "Containers": i.containers.to_string(),
        }));
    }
    let mut containers = Vec::new();
    for c in &d.containers {
        let cfg = &c.container.config;
        let cmd: Vec<String> = cfg.entrypoint.iter().chain(cfg.cmd.iter()).cloned().collect();
        let cmd = cmd.join(" ");
        let cmd =
            if cmd.chars().count() > 20 { format!("{}…", cmd.chars().take(19).collect::<String>()) } else { cmd };
        let created = units::parse_rfc3339(&cfg.created).map(|t| t.0).unwrap_or(now);
        containers.push(json!({
            "ID": cfg.id[..12].to_string(), "Image": cfg.image_name, "Command": format!("\"{cmd}\""),
            "LocalVolumes": "0", "Size": size(c.size), "RunningFor": units::since(created, now),
            "Status": crate::engine::containers::status_text(&c.container), "Names": cfg.name,
        }));
    }
    let img_table = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}";
    let img_headers: &[(&str, &str)] = &[
        ("Repository", "REPOSITORY"),
        ("Tag", "TAG"),
        ("ID", "IMAGE ID"),
        ("CreatedSince", "CREATED"),
        ("Size", "SIZE"),
        ("SharedSize", "SHARED SIZE"),
        ("UniqueSize", "UNIQUE SIZE"),
        ("Containers", "CONTAINERS"),
    ];
    let ctr_table = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}";
    let ctr_headers: &[(&str, &str)] = &[
        ("ID", "CONTAINER ID"),
        ("Image", "IMAGE"),
        ("Command", "COMMAND"),
        ("LocalVolumes", "LOCAL VOLUMES"),
        ("Size", "SIZE"),
        ("RunningFor", "CREATED"),
        ("Status", "STATUS"),
        ("Names", "NAMES"),
    ];
    let mut text = String::from("Images space usage:\n\n");
    text.push_str(&table::render_list("", img_table, img_headers, &images)?);
    text.push_str("\nContainers space usage:\n\n");
    text.push_str(&table::render_list("", ctr_table, ctr_headers, &containers)?);
    text.push_str("\nLocal Volumes space usage:\n\nVOLUME NAME   LINKS     SIZE\n");
    text.push_str(
        "\nBuild cache usage: 0B\n\nCACHE ID   CACHE TYPE   SIZE      CREATED   LAST USED   USAGE     SHARED\n",
    );
    out(&text);
    Ok(0)
}
