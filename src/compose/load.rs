//! Loading a project as `docker compose` v2 does: which files, which
//! environment, which name, then per file parse → interpolate → `include`
//! → `extends`, the files merged in order, and the merged tree typed,
//! normalised and checked. Nothing here reads the process environment:
//! the caller passes it in [`LoadOptions::environment`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::convert::{self, clean, Ctx};
use super::model::{Network, Project};
use super::yaml::{self, Node, Value};
use super::{dotenv, extends, interpolate, merge, normalize_project_name, validate, ComposeError};

/// compose v2's discovery order (compose-go `cli.DefaultFileNames`).
pub const DEFAULT_FILES: [&str; 4] = ["compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"];
pub const OVERRIDE_FILES: [&str; 4] =
    ["compose.override.yml", "compose.override.yaml", "docker-compose.override.yml", "docker-compose.override.yaml"];

/// Everything a load depends on, as data.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `-f` files in merge order; empty: `COMPOSE_FILE`, else discovery. `-` is `stdin`.
    pub files: Vec<PathBuf>,
    /// `--project-directory`; default: the first file's directory.
    pub project_directory: Option<PathBuf>,
    /// `-p`; it must already be a valid name.
    pub project_name: Option<String>,
    /// `--env-file`, replacing the project's `.env`.
    pub env_files: Vec<PathBuf>,
    /// `--profile`; empty: `COMPOSE_PROFILES`.
    pub profiles: Vec<String>,
    /// The caller's environment (`std::env::vars()`).
    pub environment: BTreeMap<String, String>,
    /// The caller's working directory: relative options resolve against it.
    pub working_dir: PathBuf,
    /// The content of `-f -`.
    pub stdin: Option<String>,
}

/// A loaded project and the warnings compose would have printed.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub project: Project,
    pub warnings: Vec<String>,
}

/// Where a compose file comes from.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Source {
    File(PathBuf),
    Stdin,
}

impl Source {
    pub fn name(&self) -> String {
        match self {
            Source::File(p) => p.display().to_string(),
            Source::Stdin => "-".to_string(),
        }
    }
}

/// State shared by the files of one load (and the files they include).
pub(super) struct Loader {
    pub warnings: Vec<String>,
    /// The chain of files being included, to report `include` cycles.
    pub including: Vec<PathBuf>,
}

fn read(path: &Path) -> Result<String, ComposeError> {
    std::fs::read_to_string(path).map_err(|source| ComposeError::Read { path: path.to_path_buf(), source })
}

/// The caller's environment over the dotenv files: `env_files` if given
/// (they must exist), else `dir/.env` if it is a file. The caller wins, as
/// in compose (`WithOsEnv` before `WithDotEnv`).
pub(super) fn environment(
    base: &BTreeMap<String, String>,
    env_files: &[PathBuf],
    dir: &Path,
) -> Result<BTreeMap<String, String>, ComposeError> {
    let default = dir.join(".env");
    let files: Vec<PathBuf> = if !env_files.is_empty() {
        env_files.to_vec()
    } else if default.is_file() {
        vec![default]
    } else {
        Vec::new()
    };
    let mut env = base.clone();
    for f in files {
        if !f.is_file() {
            let msg = "env file not found: check the --env-file path".to_string();
            return Err(ComposeError::EnvFile { path: f, line: 0, msg });
        }
        let vars = dotenv::read(&f, &|k| env.get(k).cloned())?;
        for (k, v) in vars {
            env.entry(k).or_insert(v);
        }
    }
    Ok(env)
}

/// compose's `WithDefaultConfigPath`: the first directory, from `dir` up,
/// holding one of [`DEFAULT_FILES`], plus its override file.
pub fn discover(dir: &Path, warnings: &mut Vec<String>) -> Result<Vec<PathBuf>, ComposeError> {
    let mut d = Some(dir);
    while let Some(cur) = d {
        let found: Vec<PathBuf> = DEFAULT_FILES.iter().map(|f| cur.join(f)).filter(|p| p.is_file()).collect();
        if let Some(first) = found.first() {
            let mut files = vec![first.clone()];
            if found.len() > 1 {
                let names: Vec<String> = found.iter().map(|p| p.display().to_string()).collect();
                warnings.push(format!("found multiple config files with supported names: {}", names.join(", ")));
                warnings.push(format!("using {}", first.display()));
            }
            let overrides: Vec<PathBuf> = OVERRIDE_FILES.iter().map(|f| cur.join(f)).filter(|p| p.is_file()).collect();
            if let Some(o) = overrides.first() {
                if overrides.len() > 1 {
                    let names: Vec<String> = overrides.iter().map(|p| p.display().to_string()).collect();
                    warnings.push(format!("found multiple override files with supported names: {}", names.join(", ")));
                    warnings.push(format!("using {}", o.display()));
                }
                files.push(o.clone());
            }
            return Ok(files);
        }
        d = cur.parent();
    }
    Err(ComposeError::NoConfigFile { dir: dir.to_path_buf() })
}

/// Parses one file's documents (several `---` documents merge in order).
pub(super) fn parse(content: &str, src: &Source) -> Result<Vec<Node>, ComposeError> {
    yaml::parse(content, &src.name())
}

/// The interpolated, merged top-level mapping of one file's documents.
pub(super) fn interpolated(
    docs: Vec<Node>,
    src: &Source,
    env: &BTreeMap<String, String>,
    warnings: &mut Vec<String>,
) -> Result<Node, ComposeError> {
    let mut merged: Option<Node> = None;
    for mut doc in docs {
        if !matches!(doc.value, Value::Map(_)) {
            return Err(ComposeError::Invalid {
                path: src.name(),
                msg: format!("the top level must be a mapping, got {}", doc.kind()),
            });
        }
        interpolate::interpolate(&mut doc, env, warnings)?;
        merged = Some(match merged {
            None => doc,
            Some(m) => merge::merge_files(m, doc)?,
        });
    }
    merged.ok_or_else(|| ComposeError::Invalid { path: src.name(), msg: "empty compose file: add services".into() })
}

impl Loader {
    /// One file after interpolation, with its `include`s imported and its
    /// `extends` applied. `dir` is the file's project directory.
    pub fn file(
        &mut self,
        docs: Vec<Node>,
        src: &Source,
        dir: &Path,
        env: &BTreeMap<String, String>,
    ) -> Result<Node, ComposeError> {
        let mut node = interpolated(docs, src, env, &mut self.warnings)?;
        if let Some(inc) = node.remove("include") {
            super::include::apply(self, &mut node, &inc, dir, env)?;
        }
        extends::apply(self, &mut node, src, dir, env)?;
        Ok(node)
    }
}

fn absolute(wd: &Path, p: &Path) -> PathBuf {
    clean(&wd.join(p))
}

/// Loads the project `opts` describes.
pub fn load(opts: &LoadOptions) -> Result<Loaded, ComposeError> {
    let wd = &opts.working_dir;
    let mut warnings = Vec::new();
    let project_dir_opt = opts.project_directory.as_ref().map(|p| absolute(wd, p));
    let env_files: Vec<PathBuf> = opts.env_files.iter().map(|p| absolute(wd, p)).collect();

    // COMPOSE_FILE and friends may come from the .env of the directory compose starts in
    let boot_dir = project_dir_opt.clone().unwrap_or_else(|| wd.clone());
    let boot_env = environment(&opts.environment, &env_files, &boot_dir)?;
    let sources: Vec<Source> = if !opts.files.is_empty() {
        opts.files
            .iter()
            .map(|f| if f == Path::new("-") { Source::Stdin } else { Source::File(absolute(wd, f)) })
            .collect()
    } else if let Some(cf) = boot_env.get("COMPOSE_FILE").filter(|c| !c.is_empty()) {
        let sep = boot_env.get("COMPOSE_PATH_SEPARATOR").filter(|s| !s.is_empty()).map_or(":", String::as_str);
        cf.split(sep).filter(|f| !f.is_empty()).map(|f| Source::File(absolute(wd, Path::new(f)))).collect()
    } else {
        discover(&boot_dir, &mut warnings)?.into_iter().map(Source::File).collect()
    };
    let first_dir = sources.iter().find_map(|s| match s {
        Source::File(p) => p.parent().map(Path::to_path_buf),
        Source::Stdin => None,
    });
    let project_dir = project_dir_opt.or(first_dir).unwrap_or_else(|| wd.clone());
    let mut env =
        if project_dir == boot_dir { boot_env } else { environment(&opts.environment, &env_files, &project_dir)? };

    let mut parsed = Vec::new();
    for src in &sources {
        let content = match src {
            Source::File(p) => read(p)?,
            Source::Stdin => opts.stdin.clone().unwrap_or_default(),
        };
        parsed.push((src.clone(), parse(&content, src)?));
    }

    let name = project_name(opts, &env, &parsed, &project_dir, &mut warnings)?;
    // compose exposes the name to interpolation when the caller has not set it
    env.entry("COMPOSE_PROJECT_NAME".to_string()).or_insert_with(|| name.clone());
    let profiles: Vec<String> = if !opts.profiles.is_empty() {
        opts.profiles.clone()
    } else {
        let p = env.get("COMPOSE_PROFILES").map(String::as_str).unwrap_or_default();
        p.split(',').map(str::trim).filter(|p| !p.is_empty()).map(str::to_string).collect()
    };

    let mut loader = Loader { warnings, including: Vec::new() };
    let mut model: Option<Node> = None;
    for (src, docs) in parsed.iter().cloned() {
        if let Source::File(p) = &src {
            loader.including = vec![p.clone()];
        }
        let node = loader.file(docs, &src, &project_dir, &env)?;
        model = Some(match model {
            None => node,
            Some(m) => merge::merge_files(m, node)?,
        });
    }
    let mut model = model.unwrap_or_else(|| Node::map(Vec::new(), Default::default()));
    merge::strip_tags(&mut model);
    let mut warnings = loader.warnings;

    let mut ctx = Ctx { dir: &project_dir, env: &env, project: &name, warnings: &mut warnings };
    let mut project = convert::project(&model, &mut ctx)?;
    if project.services.values().any(|s| s.networks.contains_key("default")) {
        project
            .networks
            .entry("default".to_string())
            .or_insert_with(|| Network { name: super::default_network_name(&name), ..Network::default() });
    }
    project.working_dir = project_dir;
    project.compose_files = sources
        .iter()
        .map(|s| match s {
            Source::File(p) => p.clone(),
            Source::Stdin => PathBuf::from("-"),
        })
        .collect();
    validate::check(&project)?;
    project.apply_profiles(&profiles);
    validate::check_container_names(&project.services)?;
    project.environment = env;
    Ok(Loaded { project, warnings })
}

/// compose v2's precedence: `-p`, then `COMPOSE_PROJECT_NAME`, then the
/// files' `name:` (interpolated, normalised), then the project directory's
/// base name, normalised. A name given explicitly must already be valid.
fn project_name(
    opts: &LoadOptions,
    env: &BTreeMap<String, String>,
    parsed: &[(Source, Vec<Node>)],
    project_dir: &Path,
    warnings: &mut Vec<String>,
) -> Result<String, ComposeError> {
    let explicit = opts
        .project_name
        .clone()
        .filter(|n| !n.is_empty())
        .or_else(|| env.get("COMPOSE_PROJECT_NAME").filter(|n| !n.is_empty()).cloned());
    if let Some(n) = explicit {
        if normalize_project_name(&n) != n {
            return Err(ComposeError::InvalidProjectName(n));
        }
        return Ok(n);
    }
    let mut from_file = None;
    for (src, docs) in parsed {
        for doc in docs {
            if let Some(n) = doc.get("name") {
                let mut n = n.clone();
                interpolate::interpolate(&mut n, env, warnings)?;
                let n = convert::text(&n, "name").map_err(|_| ComposeError::Invalid {
                    path: format!("{}: name", src.name()),
                    msg: "must be a string".into(),
                })?;
                let n = normalize_project_name(&n);
                if !n.is_empty() {
                    from_file = Some(n);
                }
            }
        }
    }
    let name = from_file.unwrap_or_else(|| {
        normalize_project_name(&project_dir.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default())
    });
    if name.is_empty() {
        return Err(ComposeError::EmptyProjectName);
    }
    Ok(name)
}
