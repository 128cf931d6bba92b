//! The library's layers run one way (docs/ARCHITECTURE.md, "Layers"):
//! front ends → engine → {monitor, runtime, build, registry, launch} →
//! {container, image, network, volume, events} → {state, storage, format,
//! util, paths}. A module may use modules of its own layer and the ones
//! below; this test fails when one names a module above it.

use std::path::Path;

/// Layer of each top-level module (0 is the top).
const LAYERS: &[(&str, usize)] = &[
    ("cli", 0),
    ("compose", 0),
    ("api", 0),
    ("kube", 0),
    ("engine", 1),
    ("monitor", 2),
    ("runtime", 2),
    ("build", 2),
    ("registry", 2),
    ("launch", 2),
    ("container", 3),
    ("image", 3),
    ("network", 3),
    ("volume", 3),
    ("pod", 3),
    ("events", 3),
    ("state", 4),
    ("storage", 4),
    ("format", 4),
    ("util", 4),
    ("paths", 4),
];

/// Outside the layering: the crate's error type wraps every module's error
/// enum, and the crate root and test helpers see everything.
const EXEMPT: &[&str] = &["error", "lib", "main", "testutil"];

fn layer(m: &str) -> Option<usize> {
    LAYERS.iter().find(|(n, _)| *n == m).map(|(_, l)| *l)
}

/// The modules a line names as `crate::NAME` (also inside `use crate::{…}`).
fn named(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let code = line.split("//").next().unwrap_or("");
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let after = &rest[i + 7..];
        if let Some(inner) = after.strip_prefix('{') {
            let end = inner.find('}').unwrap_or(inner.len());
            for part in inner[..end].split(',') {
                let name: String = part.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                out.push(name);
            }
        } else {
            out.push(after.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect());
        }
        rest = after;
    }
    out
}

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn modules_import_only_their_layer_and_below() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&src, &mut all);
    let mut wrong = Vec::new();
    let mut unknown = Vec::new();
    for f in &all {
        let rel = f.strip_prefix(&src).unwrap();
        let top = rel.components().next().unwrap().as_os_str().to_string_lossy().trim_end_matches(".rs").to_string();
        if EXEMPT.contains(&top.as_str()) {
            continue;
        }
        let Some(mine) = layer(&top) else {
            unknown.push(top);
            continue;
        };
        let text = std::fs::read_to_string(f).unwrap();
        for (n, line) in text.lines().enumerate() {
            // Unit tests may reach anywhere (they build fixtures).
            if line.trim_start().starts_with("#[cfg(test)]") {
                break;
            }
            if line.trim_start().starts_with("//") {
                continue;
            }
            for m in named(line) {
                if let Some(theirs) = layer(&m) {
                    if theirs < mine {
                        wrong.push(format!(
                            "{}:{}: {top} (layer {mine}) uses {m} (layer {theirs})",
                            rel.display(),
                            n + 1
                        ));
                    }
                }
            }
        }
    }
    unknown.sort();
    unknown.dedup();
    assert!(unknown.is_empty(), "modules with no layer (add them to LAYERS and docs/ARCHITECTURE.md): {unknown:?}");
    assert!(wrong.is_empty(), "imports that go up a layer:\n{}", wrong.join("\n"));
}

#[test]
fn the_check_sees_an_upward_import() {
    assert_eq!(named("use crate::engine::Engine;"), ["engine"]);
    assert_eq!(named("use crate::{engine, format::units};"), ["engine", "format"]);
    assert_eq!(named("let x = crate::cli::flags::ports(p); // crate::api"), ["cli"]);
}
