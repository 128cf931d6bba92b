//! `rcon build`: find the context and the Dockerfile the way `docker build`
//! does, parse, run the stages, tag the result only once everything worked
//! (a failed build leaves no half-made image tagged, only its cached steps).

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::Engine;
use crate::build::context::SourceRoot;
use crate::build::dockerignore::DockerIgnore;
use crate::build::executor::{self, Executor};
use crate::build::parser;
use crate::error::{Error, IoContext, Result};
use crate::image::reference::{self, Reference};
use crate::state::TempDir;

#[derive(Default, Clone)]
pub struct BuildOptions {
    /// A directory, a git or http(s) URL (fetched here, as Docker's daemon
    /// fetches remote contexts), or `-`: the bytes in `stdin`, a Dockerfile
    /// or a tar of the context (compressed or not).
    pub context: String,
    /// `-f`: a path (relative to the current directory for a directory
    /// context, inside the context otherwise) or `-`: the text in `stdin`.
    pub file: Option<String>,
    /// What the front end read from its standard input for a `-`.
    pub stdin: Option<Vec<u8>>,
    /// Or, for a `-` context, a file holding those bytes (the API's request
    /// body, kept on disk rather than in memory).
    pub context_file: Option<PathBuf>,
    pub tags: Vec<String>,
    pub build_args: BTreeMap<String, String>,
    pub target: Option<String>,
    pub no_cache: bool,
    pub labels: Vec<(String, String)>,
    pub quiet: bool,
    pub network: Option<String>,
    pub platform: Option<String>,
    /// docker or oci: kept with the image as the manifest format `push` uses
    /// unless told otherwise (the config itself is the same JSON either way).
    pub format: Option<String>,
    pub pull: bool,
    /// `--secret` values by id, read by the front end.
    pub secrets: BTreeMap<String, Vec<u8>>,
    /// `--ssh`: agent sockets by id for RUN --mount=type=ssh.
    pub ssh: BTreeMap<String, PathBuf>,
    /// Where pulls of base images report (None: nowhere).
    pub pull_progress: Option<std::sync::Arc<crate::registry::progress::Progress>>,
    /// Credentials for those pulls, before the saved ones (the API's `X-Registry-Config`).
    pub registry_auth: crate::registry::auth::Supplied,
    /// `--cache-from type=local,src=DIR`: caches exported by `cache_to`,
    /// loaded before the build (see `build_cache.rs`).
    pub cache_from: Vec<PathBuf>,
    /// `--cache-to type=local,dest=DIR`: the target's step images, written there after the build.
    pub cache_to: Vec<PathBuf>,
    /// Told the image id once the build worked, before `Successfully built`
    /// (the API sends Docker's `{"aux":{"ID":…}}` message there).
    pub on_built: Option<OnBuilt>,
}

/// Called with the image id of a finished build.
pub type OnBuilt = std::sync::Arc<dyn Fn(&str) + Send + Sync>;

pub struct Built {
    pub id: String,
    /// Full names now pointing at the image.
    pub tags: Vec<String>,
}

/// The context as the executor wants it, and what keeps it alive.
struct Prepared {
    dockerfile: String,
    context: Option<SourceRoot>,
    _tmp: Option<TempDir>,
}

fn bad(msg: String) -> Error {
    Error::Build(msg)
}

/// The engine as the build executor's host: RUN steps are containers, FROM
/// images are pulled, as `run` would (with the build's credentials).
struct BuildHost<'a> {
    engine: &'a Engine,
    auth: &'a crate::registry::auth::Supplied,
}

impl executor::Host for BuildHost<'_> {
    fn paths(&self) -> &crate::paths::Paths {
        &self.engine.paths
    }
    fn store(&self) -> Result<&crate::image::store::Store> {
        self.engine.store()
    }
    fn image(
        &self,
        reference: &str,
        pull: bool,
        progress: &std::sync::Arc<crate::registry::progress::Progress>,
    ) -> Result<crate::image::store::ImageRecord> {
        use super::registry::PullPolicy;
        let policy = if pull { PullPolicy::Always } else { PullPolicy::Missing };
        super::registry::ensure_image_with(self.engine, reference, policy, None, self.auth, progress)?;
        self.engine.store()?.resolve(reference)
    }
    fn create(&self, spec: &crate::container::spec::ContainerSpec) -> Result<String> {
        super::containers::create(self.engine, spec)
    }
    fn start(&self, id: &str, o: super::containers::StartOptions) -> Result<super::containers::MonitorHandle> {
        super::containers::start(self.engine, id, o)
    }
    fn exit_code(&self, id: &str) -> Option<i32> {
        super::containers::get(self.engine, id).ok().map(|c| c.state.exit_code)
    }
    fn remove(&self, id: &str) -> Result<()> {
        super::containers::remove(self.engine, id, true).map(drop)
    }
}

pub fn build(engine: &Engine, o: &BuildOptions, out: &mut dyn Write) -> Result<Built> {
    // Everything the user typed is checked before any work.
    let mut tags = Vec::new();
    for t in &o.tags {
        let r = Reference::parse(t)?;
        if r.digest.is_some() {
            return Err(Error::InvalidReference(format!("\"{t}\": a build tag cannot contain a digest")));
        }
        tags.push(r.with_default_tag().full_tagged().expect("tag set"));
    }
    if let Some(p) = &o.platform {
        executor::check_platform(p).map_err(Error::InvalidArgument)?;
    }
    if let Some(f) = &o.format {
        if f != "docker" && f != "oci" {
            return Err(Error::InvalidArgument(format!("unrecognized image format {f:?}: use docker or oci")));
        }
    }
    if let Some(n) = &o.network {
        if !matches!(n.as_str(), "default" | "bridge" | "none" | "host") {
            return Err(Error::NoSuchObject(format!("network {n} not found: use default, none or host")));
        }
    }
    let store = engine.store()?;
    let prepared = prepare(store.root(), o)?;
    let df = parser::parse(&prepared.dockerfile).map_err(|e| bad(e.to_string()))?;
    let opts = executor::Options {
        build_args: o.build_args.clone(),
        target: o.target.clone(),
        no_cache: o.no_cache,
        labels: o.labels.clone(),
        network: o.network.clone(),
        quiet: o.quiet,
        pull: o.pull,
        secrets: executor::Secrets(o.secrets.clone()),
        ssh: o.ssh.clone(),
        pull_progress: o.pull_progress.clone().unwrap_or_else(crate::registry::progress::Progress::silent),
    };
    let mut sink = std::io::sink();
    let out: &mut dyn Write = if o.quiet { &mut sink } else { out };
    for dir in &o.cache_from {
        if let Some(note) = super::build_cache::import(store, dir)? {
            let _ = writeln!(out, "note: {note}");
        }
    }
    let host = BuildHost { engine, auth: &o.registry_auth };
    let id = Executor::new(&host, &df, prepared.context, &opts, out)?.run()?;
    for dir in &o.cache_to {
        super::build_cache::export(store, &id, dir)?;
    }
    if let Some(f) = &o.format {
        store.update(|images| {
            if let Some(r) = images.iter_mut().find(|r| r.id == id) {
                r.manifest_format = Some(f.clone());
            }
            Ok(())
        })?;
    }
    if let Some(f) = &o.on_built {
        f(&id);
    }
    let _ = writeln!(out, "Successfully built {}", crate::image::store::short_id(&id));
    for t in &tags {
        store.tag(&id, t)?;
        let _ = writeln!(out, "Successfully tagged {}", reference::familiar(t));
    }
    Ok(Built { id, tags })
}

/// What the front end read from its stdin for a `-` context or `-f -`.
fn stdin_bytes(o: &BuildOptions) -> Result<Vec<u8>> {
    o.stdin.clone().ok_or_else(|| bad("the build reads standard input (\"-\") but none was given".into()))
}

fn read_text(p: &Path) -> Result<String> {
    let b = fs::read(p).map_err(|e| bad(format!("cannot read the Dockerfile {}: {e}", p.display())))?;
    String::from_utf8(b).map_err(|_| bad(format!("the Dockerfile {} is not UTF-8 text", p.display())))
}

fn ignore_for(root: &Path, dockerfile: Option<&Path>) -> Result<DockerIgnore> {
    // BuildKit's rule: Dockerfile.dockerignore next to the Dockerfile wins.
    let mut candidates = Vec::new();
    if let Some(d) = dockerfile {
        let mut s = d.as_os_str().to_owned();
        s.push(".dockerignore");
        candidates.push(PathBuf::from(s));
    }
    candidates.push(root.join(".dockerignore"));
    for c in candidates {
        if let Ok(text) = fs::read_to_string(&c) {
            return DockerIgnore::parse(&text)
                .map_err(|e| bad(format!("{}: {e}: fix or escape that line", c.display())));
        }
    }
    Ok(DockerIgnore::default())
}

fn prepare(data: &Path, o: &BuildOptions) -> Result<Prepared> {
    if o.context == "-" {
        if let Some(p) = &o.context_file {
            let open = || fs::File::open(p).map(|f| Box::new(f) as Box<dyn Read>);
            return prepare_stream(data, o, &open, "in the request");
        }
        return prepare_bytes(data, o, stdin_bytes(o)?, "on stdin");
    }
    if let Some(git) = GitContext::parse(&o.context) {
        return prepare_git(data, o, &git);
    }
    if o.context.starts_with("http://") || o.context.starts_with("https://") {
        // Docker's remote context: a tar archive (compressed or not) is the
        // context, anything else is a Dockerfile without one.
        let resp = ureq::get(&o.context)
            .call()
            .map_err(|e| bad(format!("unable to prepare context: download {}: {e}", o.context)))?;
        let mut body = Vec::new();
        resp.into_reader()
            .read_to_end(&mut body)
            .map_err(|e| bad(format!("unable to prepare context: download {}: {e}", o.context)))?;
        return prepare_bytes(data, o, body, &format!("from {}", o.context));
    }
    let root = fs::canonicalize(&o.context)
        .map_err(|e| bad(format!("unable to prepare context: path {:?} not found: {e}", o.context)))?;
    if !root.is_dir() {
        return Err(bad(format!("unable to prepare context: context must be a directory: {}", root.display())));
    }
    let (dockerfile, df_path) = match o.file.as_deref() {
        Some("-") => {
            let b = stdin_bytes(o)?;
            (String::from_utf8(b).map_err(|_| bad("the Dockerfile on stdin is not UTF-8 text".into()))?, None)
        }
        Some(f) => {
            let p = PathBuf::from(f);
            (read_text(&p)?, Some(p))
        }
        None => {
            let mut p = root.join("Dockerfile");
            if !p.exists() && root.join("dockerfile").exists() {
                p = root.join("dockerfile");
            }
            (read_text(&p)?, Some(p))
        }
    };
    let ignore = ignore_for(&root, df_path.as_deref())?;
    Ok(Prepared { dockerfile, context: Some(SourceRoot { root, ignore }), _tmp: None })
}

/// A context that arrived as bytes (stdin, a URL): a tar archive,
/// compressed or not, is the context; anything else is the Dockerfile.
fn prepare_bytes(data: &Path, o: &BuildOptions, input: Vec<u8>, whence: &str) -> Result<Prepared> {
    let open = || Ok(Box::new(input.as_slice()) as Box<dyn Read + '_>);
    prepare_stream(data, o, &open, whence)
}

/// The same from something that can be read twice (a look at the start, then the whole).
fn prepare_stream<'a>(
    data: &Path,
    o: &BuildOptions,
    open: &dyn Fn() -> std::io::Result<Box<dyn Read + 'a>>,
    whence: &str,
) -> Result<Prepared> {
    let reopen = || open().ctx(|| "read context".into());
    if !crate::build::layer::is_tar(reopen()?) {
        // `rcon build - < Dockerfile`, or a URL to a Dockerfile: no context at all.
        let mut input = Vec::new();
        reopen()?.read_to_end(&mut input).ctx(|| "read context".into())?;
        let text = String::from_utf8(input).map_err(|_| bad(format!("the Dockerfile {whence} is not UTF-8 text")))?;
        return Ok(Prepared { dockerfile: text, context: None, _tmp: None });
    }
    let tmp = TempDir::new(&data.join("tmp"), "context")?;
    let root = tmp.path().join("ctx");
    fs::create_dir_all(&root).ctx(|| format!("create {}", root.display()))?;
    let (_, plain) = crate::storage::compress::decompress(reopen()?).ctx(|| "read context".into())?;
    crate::storage::extract::apply_layer(plain, &root, &crate::storage::extract::ExtractOptions::rootless())
        .map_err(|e| bad(format!("the context {whence} is not a valid tar archive: {e}")))?;
    let name = o.file.clone().unwrap_or_else(|| "Dockerfile".into());
    let df_path = root.join(crate::build::context::clean(&name).join("/"));
    let dockerfile = read_text(&df_path)?;
    let ignore = ignore_for(&root, Some(&df_path))?;
    Ok(Prepared { dockerfile, context: Some(SourceRoot { root, ignore }), _tmp: Some(tmp) })
}

/// A git build context: `URL[#REF][:SUBDIR]` as Docker writes it.
#[derive(Debug, PartialEq, Eq)]
struct GitContext {
    url: String,
    /// Branch, tag or commit; None is the remote's HEAD.
    reference: Option<String>,
    subdir: Option<String>,
}

impl GitContext {
    /// Docker's rule (urlutil.IsGitURL) for remote forms: `git://`, `git@`,
    /// `github.com/`, or http(s) ending in `.git`. Local forms are ours:
    /// `file://`, or an existing path ending in `.git` that holds a
    /// repository (bare, or a work tree's `.git`); a plain directory is
    /// always a directory context, as in Docker.
    fn parse(s: &str) -> Option<GitContext> {
        let (url, fragment) = match s.split_once('#') {
            Some((u, f)) => (u, Some(f)),
            None => (s, None),
        };
        let remote = url.starts_with("git://")
            || url.starts_with("git@")
            || url.starts_with("github.com/")
            || url.starts_with("file://")
            || ((url.starts_with("http://") || url.starts_with("https://")) && url.ends_with(".git"));
        let local = !remote
            && url.trim_end_matches('/').ends_with(".git")
            && (Path::new(url).join("HEAD").is_file() || Path::new(url).join(".git").exists());
        if !remote && !local {
            return None;
        }
        let url = if url.starts_with("github.com/") { format!("https://{url}") } else { url.to_string() };
        let (reference, subdir) = match fragment {
            Some(f) => match f.split_once(':') {
                Some((r, d)) => (r, Some(d)),
                None => (f, None),
            },
            None => ("", None),
        };
        let nonempty = |v: &str| (!v.is_empty()).then(|| v.to_string());
        Some(GitContext { url, reference: nonempty(reference), subdir: subdir.and_then(nonempty) })
    }
}

/// Run git quietly, never prompting (a build must not hang on a password
/// question); its first `fatal:`/`error:` line (else its last line)
/// explains a failure: the advice lines after it do not.
fn git(args: &[&str], dir: &Path, url: &str) -> Result<()> {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| bad(format!("unable to prepare context: cannot run git for {url}: {e}")))?;
    if out.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let why = err
        .lines()
        .find(|l| l.starts_with("fatal:") || l.starts_with("error:"))
        .or_else(|| err.lines().rev().find(|l| !l.trim().is_empty()))
        .unwrap_or("git failed")
        .trim();
    Err(bad(format!("unable to prepare context: git {} of {url} failed: {why}", args[0])))
}

/// Fetch one commit of the repository, shallow, into the build's scratch
/// directory, then use the subdirectory as a directory context. `fetch
/// --depth 1 URL REF` (rather than `clone --branch`) takes branches, tags
/// and, where the server allows it, commit ids, as BuildKit does.
fn prepare_git(data: &Path, o: &BuildOptions, g: &GitContext) -> Result<Prepared> {
    let tmp = TempDir::new(&data.join("tmp"), "context")?;
    let repo = tmp.path().join("git");
    fs::create_dir_all(&repo).ctx(|| format!("create {}", repo.display()))?;
    let url = &g.url;
    // A relative local path is relative to where the user is, not to the scratch dir.
    let source = if url.contains("://") || url.starts_with("git@") {
        url.clone()
    } else {
        let p = fs::canonicalize(url).map_err(|e| bad(format!("unable to prepare context: {url}: {e}")))?;
        p.display().to_string()
    };
    let reference = g.reference.as_deref().unwrap_or("HEAD");
    git(&["init", "-q"], &repo, url)?;
    git(&["fetch", "-q", "--depth", "1", "--no-tags", &source, reference], &repo, url).or_else(|e| {
        // A commit id that the server refuses to serve shallow: fetch it all.
        if reference.len() >= 7 && reference.chars().all(|c| c.is_ascii_hexdigit()) {
            git(&["fetch", "-q", &source], &repo, url)?;
            git(&["rev-parse", "--verify", "-q", &format!("{reference}^{{commit}}")], &repo, url).map_err(|_| e)?;
            return git(&["update-ref", "FETCH_HEAD", reference], &repo, url);
        }
        Err(e)
    })?;
    git(&["-c", "advice.detachedHead=false", "checkout", "-q", "FETCH_HEAD"], &repo, url)?;
    let mut root = repo.clone();
    if let Some(d) = &g.subdir {
        root = fs::canonicalize(repo.join(crate::build::context::clean(d).join("/")))
            .ok()
            .filter(|p| p.starts_with(&repo) && p.is_dir())
            .ok_or_else(|| bad(format!("unable to prepare context: {url}: no directory {d:?} at {reference}")))?;
    }
    // Docker: with a remote context, -f names a file inside the context.
    let df_path = root.join(crate::build::context::clean(o.file.as_deref().unwrap_or("Dockerfile")).join("/"));
    let dockerfile = match o.file.as_deref() {
        Some("-") => {
            String::from_utf8(stdin_bytes(o)?).map_err(|_| bad("the Dockerfile on stdin is not UTF-8 text".into()))?
        }
        _ => read_text(&df_path)?,
    };
    let ignore = ignore_for(&root, Some(&df_path))?;
    Ok(Prepared { dockerfile, context: Some(SourceRoot { root, ignore }), _tmp: Some(tmp) })
}

#[cfg(test)]
mod tests {
    use super::GitContext;

    #[test]
    fn git_context_forms() {
        let g = GitContext::parse("https://example.com/r.git#main:sub/dir").unwrap();
        assert_eq!(g.url, "https://example.com/r.git");
        assert_eq!(g.reference.as_deref(), Some("main"));
        assert_eq!(g.subdir.as_deref(), Some("sub/dir"));
        let g = GitContext::parse("git@host:org/r.git#:docker").unwrap();
        assert_eq!((g.url.as_str(), g.reference, g.subdir.as_deref()), ("git@host:org/r.git", None, Some("docker")));
        let g = GitContext::parse("git://host/r#v1").unwrap();
        assert_eq!((g.reference.as_deref(), g.subdir), (Some("v1"), None));
        assert_eq!(GitContext::parse("github.com/o/r").unwrap().url, "https://github.com/o/r");
        assert!(GitContext::parse("file:///srv/r.git").is_some());
        // A plain https URL, or a directory that is no repository, is not git.
        assert!(GitContext::parse("https://example.com/ctx.tar.gz").is_none());
        assert!(GitContext::parse("/nonexistent/x.git").is_none());
        assert!(GitContext::parse(".").is_none());
    }
}
