//! The Dockerfile parser: parser directives, comments, line continuations,
//! heredocs, then one typed [`Instruction`] per logical line, grouped into
//! stages. Arguments stay raw (quotes and `$VAR` untouched) where Docker
//! substitutes variables at build time, because the values depend on the ENV
//! and ARG instructions executed before them; [`super::shell`] processes them then.
//! Reference: https://docs.docker.com/reference/dockerfile/

use std::fmt;

/// A parse error at a 1-based line and column of the Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub col: usize,
    pub msg: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "dockerfile parse error on line {}, column {}: {}", self.line, self.col, self.msg)
    }
}

impl std::error::Error for ParseError {}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    pub escape: char,
    pub syntax: Option<String>,
    /// ARG instructions before the first FROM: usable in FROM lines only.
    pub meta_args: Vec<Instruction>,
    pub stages: Vec<Stage>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// Lower-cased `AS` name (Docker's stage names are case-insensitive).
    pub name: Option<String>,
    /// Raw image reference, `scratch`, or another stage's name.
    pub base: String,
    pub platform: Option<String>,
    pub from: Instruction,
    pub instructions: Vec<Instruction>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    pub line: usize,
    /// The instruction as written, continuations joined (for "Step N/M :").
    pub text: String,
    pub cmd: Cmd,
}

/// Exec form (JSON array, run as is) or shell form (run by the SHELL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Exec(Vec<String>),
    Shell(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    pub name: String,
    pub content: String,
    /// `<<"EOF"`/`<<'EOF'`: no expansion inside.
    pub quoted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RunMount {
    /// bind (the default), cache, tmpfs or secret.
    pub kind: String,
    pub target: String,
    pub source: Option<String>,
    pub from: Option<String>,
    pub id: Option<String>,
    pub sharing: Option<String>,
    pub readonly: bool,
    pub required: bool,
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub size: Option<String>,
    /// type=secret,env=VAR: the secret also (or, with no target, only) as
    /// that variable in the RUN's environment.
    pub env: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CopyArgs {
    /// Raw sources (a heredoc source is `<<NAME`, found in `heredocs`).
    pub sources: Vec<String>,
    pub dest: String,
    pub from: Option<String>,
    pub chown: Option<String>,
    pub chmod: Option<String>,
    pub checksum: Option<String>,
    pub link: bool,
    pub heredocs: Vec<Heredoc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    pub test: Command,
    pub interval: Option<u64>,
    pub timeout: Option<u64>,
    pub start_period: Option<u64>,
    pub start_interval: Option<u64>,
    pub retries: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cmd {
    From,
    Run {
        command: Command,
        mounts: Vec<RunMount>,
        network: Option<String>,
        heredocs: Vec<Heredoc>,
    },
    Cmd(Command),
    Entrypoint(Command),
    /// Raw `key`, raw value (quotes and variables processed at build time).
    Env(Vec<(String, String)>),
    Arg(Vec<(String, Option<String>)>),
    Label(Vec<(String, String)>),
    Maintainer(String),
    Expose(String),
    Volume(Vec<String>),
    User(String),
    Workdir(String),
    Copy(CopyArgs),
    Add(CopyArgs),
    /// `None` is `HEALTHCHECK NONE`.
    Healthcheck(Option<Health>),
    /// The trigger as written (`RUN echo hi`), validated at parse time.
    Onbuild(String),
    StopSignal(String),
    Shell(Vec<String>),
}

impl Cmd {
    pub fn name(&self) -> &'static str {
        match self {
            Cmd::From => "FROM",
            Cmd::Run { .. } => "RUN",
            Cmd::Cmd(_) => "CMD",
            Cmd::Entrypoint(_) => "ENTRYPOINT",
            Cmd::Env(_) => "ENV",
            Cmd::Arg(_) => "ARG",
            Cmd::Label(_) => "LABEL",
            Cmd::Maintainer(_) => "MAINTAINER",
            Cmd::Expose(_) => "EXPOSE",
            Cmd::Volume(_) => "VOLUME",
            Cmd::User(_) => "USER",
            Cmd::Workdir(_) => "WORKDIR",
            Cmd::Copy(_) => "COPY",
            Cmd::Add(_) => "ADD",
            Cmd::Healthcheck(_) => "HEALTHCHECK",
            Cmd::Onbuild(_) => "ONBUILD",
            Cmd::StopSignal(_) => "STOPSIGNAL",
            Cmd::Shell(_) => "SHELL",
        }
    }
}

const INSTRUCTIONS: &[&str] = &[
    "FROM",
    "RUN",
    "CMD",
    "ENTRYPOINT",
    "ENV",
    "ARG",
    "LABEL",
    "MAINTAINER",
    "EXPOSE",
    "VOLUME",
    "USER",
    "WORKDIR",
    "COPY",
    "ADD",
    "HEALTHCHECK",
    "ONBUILD",
    "STOPSIGNAL",
    "SHELL",
];

/// One logical line: its first physical line, the text after continuations
/// are joined, and the heredoc bodies that follow it.
struct Logical {
    line: usize,
    text: String,
    heredocs: Vec<Heredoc>,
}

pub fn parse(src: &str) -> Result<Dockerfile, ParseError> {
    let lines: Vec<&str> = src.lines().map(|l| l.strip_suffix('\r').unwrap_or(l)).collect();
    let (escape, syntax, mut i) = directives(&lines)?;
    let mut logical = Vec::new();
    while i < lines.len() {
        let l = lines[i];
        let t = l.trim_start();
        i += 1;
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let line = i;
        let mut text = String::new();
        let mut cur = l;
        loop {
            let trimmed = cur.trim_end();
            match trimmed.strip_suffix(escape) {
                Some(head) => {
                    text.push_str(head);
                    // Comment and empty lines inside a continuation are dropped.
                    while i < lines.len() && {
                        let n = lines[i].trim_start();
                        n.is_empty() || n.starts_with('#')
                    } {
                        i += 1;
                    }
                    if i >= lines.len() {
                        break;
                    }
                    cur = lines[i];
                    i += 1;
                }
                None => {
                    text.push_str(cur);
                    break;
                }
            }
        }
        let text = text.trim().to_string();
        let mut heredocs = Vec::new();
        let kw = text.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
        if matches!(kw.as_str(), "RUN" | "COPY" | "ADD") {
            for (name, strip_tabs, quoted) in heredoc_markers(&text) {
                let mut content = String::new();
                let mut closed = false;
                while i < lines.len() {
                    let body = lines[i];
                    i += 1;
                    let body = if strip_tabs { body.trim_start_matches('\t') } else { body };
                    if body == name {
                        closed = true;
                        break;
                    }
                    content.push_str(body);
                    content.push('\n');
                }
                if !closed {
                    return Err(ParseError {
                        line,
                        col: 1,
                        msg: format!("unterminated heredoc: no line {name:?} found"),
                    });
                }
                heredocs.push(Heredoc { name, content, quoted });
            }
        }
        logical.push(Logical { line, text, heredocs });
    }

    let mut df = Dockerfile { escape, syntax, meta_args: Vec::new(), stages: Vec::new() };
    for l in logical {
        let inst = instruction(&l.text, l.line, escape, l.heredocs)?;
        match &inst.cmd {
            Cmd::From => {
                let (base, name, platform) = from_args(&inst)?;
                if let Some(n) = &name {
                    if df.stages.iter().any(|s| s.name.as_deref() == Some(n)) {
                        return Err(ParseError {
                            line: inst.line,
                            col: 1,
                            msg: format!("duplicate stage name {n:?}: each stage needs its own name"),
                        });
                    }
                }
                df.stages.push(Stage { name, base, platform, from: inst, instructions: Vec::new() });
            }
            Cmd::Arg(_) if df.stages.is_empty() => df.meta_args.push(inst),
            _ => match df.stages.last_mut() {
                Some(s) => s.instructions.push(inst),
                None => {
                    return Err(ParseError {
                        line: inst.line,
                        col: 1,
                        msg: format!("{} before the first FROM: only ARG may come before FROM", inst.cmd.name()),
                    })
                }
            },
        }
    }
    if df.stages.is_empty() {
        return Err(ParseError {
            line: lines.len().max(1),
            col: 1,
            msg: "the Dockerfile has no FROM instruction".into(),
        });
    }
    Ok(df)
}

/// An ONBUILD trigger stored in a base image, parsed for the child build.
pub fn trigger(text: &str, escape: char) -> Result<Instruction, ParseError> {
    instruction(text.trim(), 0, escape, Vec::new())
}

/// Leading `# directive=value` lines; they end at the first other line.
fn directives(lines: &[&str]) -> Result<(char, Option<String>, usize), ParseError> {
    let mut escape = None;
    let mut syntax = None;
    let mut seen = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(rest) = lines[i].trim_start().strip_prefix('#') else { break };
        let Some((k, v)) = rest.split_once('=') else { break };
        let key = k.trim().to_ascii_lowercase();
        if key.is_empty() || key.contains(char::is_whitespace) {
            break;
        }
        let v = v.trim();
        if seen.contains(&key) {
            return Err(ParseError {
                line: i + 1,
                col: 1,
                msg: format!("only one {key} parser directive may be used"),
            });
        }
        match key.as_str() {
            "escape" => {
                escape = Some(match v {
                    "\\" => '\\',
                    "`" => '`',
                    _ => {
                        return Err(ParseError {
                            line: i + 1,
                            col: 1,
                            msg: format!("invalid escape token {v:?}: it must be ` or \\"),
                        })
                    }
                })
            }
            "syntax" => syntax = Some(v.to_string()),
            "check" => {}
            // Unknown directives are comments, and end the directive block.
            _ => break,
        }
        seen.push(key);
        i += 1;
    }
    Ok((escape.unwrap_or('\\'), syntax, i))
}

/// `<<EOF`, `<<-EOF`, `<<"EOF"` markers in a RUN/COPY/ADD line, in order.
fn heredoc_markers(text: &str) -> Vec<(String, bool, bool)> {
    let mut out = Vec::new();
    let mut quote: Option<char> = None;
    let mut prev = ' ';
    let mut idx = 0;
    let chars: Vec<char> = text.chars().collect();
    while idx < chars.len() {
        let c = chars[idx];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == '<' && chars.get(idx + 1) == Some(&'<') && prev != '<' && chars.get(idx + 2) != Some(&'<') => {
                let mut j = idx + 2;
                let strip = chars.get(j) == Some(&'-');
                if strip {
                    j += 1;
                }
                let q = chars.get(j).copied().filter(|c| *c == '"' || *c == '\'');
                if q.is_some() {
                    j += 1;
                }
                let start = j;
                while j < chars.len() && (chars[j].is_ascii_alphanumeric() || chars[j] == '_' || chars[j] == '-') {
                    j += 1;
                }
                if j > start {
                    let name: String = chars[start..j].iter().collect();
                    if q.is_some() && chars.get(j) == q.as_ref() {
                        j += 1;
                    }
                    out.push((name, strip, q.is_some()));
                    idx = j;
                    prev = ' ';
                    continue;
                }
            }
            None => {}
        }
        prev = c;
        idx += 1;
    }
    out
}

fn err(line: usize, col: usize, msg: impl Into<String>) -> ParseError {
    ParseError { line, col, msg: msg.into() }
}

/// A `--name=value` flag and the 1-based column it starts at.
struct Flag {
    name: String,
    value: Option<String>,
    col: usize,
}

/// Split leading `--flags` off the arguments.
fn take_flags(args: &str, base_col: usize) -> (Vec<Flag>, &str, usize) {
    let mut flags = Vec::new();
    let mut rest = args;
    let mut col = base_col;
    while rest.starts_with("--") {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let tok = &rest[2..end];
        let (name, value) = match tok.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (tok.to_string(), None),
        };
        flags.push(Flag { name: name.to_ascii_lowercase(), value, col });
        let after = &rest[end..];
        let trimmed = after.trim_start();
        col += end + (after.len() - trimmed.len());
        rest = trimmed;
    }
    (flags, rest, col)
}

fn instruction(text: &str, line: usize, escape: char, heredocs: Vec<Heredoc>) -> Result<Instruction, ParseError> {
    let (kw, args) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    let upper = kw.to_ascii_uppercase();
    let args_trim = args.trim_start();
    let args_col = kw.len() + 1 + (args.len() - args_trim.len()) + 1;
    let args = args_trim.trim_end();
    if !INSTRUCTIONS.contains(&upper.as_str()) {
        return Err(err(line, 1, format!("unknown instruction: {kw}")));
    }
    let (flags, rest, rest_col) = take_flags(args, args_col);
    let allowed: &[&str] = match upper.as_str() {
        "FROM" => &["platform"],
        "RUN" => &["mount", "network", "security"],
        "COPY" => &["from", "chown", "chmod", "link", "parents", "exclude"],
        "ADD" => &["chown", "chmod", "checksum", "link", "keep-git-dir", "exclude"],
        "HEALTHCHECK" => &["interval", "timeout", "start-period", "start-interval", "retries"],
        _ => &[],
    };
    // Only these instructions take flags; elsewhere `--x` is an argument
    // (`CMD --help` is a command).
    let (flags, rest, rest_col) =
        if allowed.is_empty() { (Vec::new(), args, args_col) } else { (flags, rest, rest_col) };
    for f in &flags {
        if !allowed.contains(&f.name.as_str()) {
            return Err(err(line, f.col, format!("unknown flag: --{} for {upper}", f.name)));
        }
    }
    let flag = |name: &str| -> Result<Option<String>, ParseError> {
        let mut found = None;
        for f in flags.iter().filter(|f| f.name == name) {
            if found.is_some() && name != "mount" && name != "exclude" {
                return Err(err(line, f.col, format!("duplicate flag --{name}")));
            }
            match &f.value {
                Some(v) => found = Some(v.clone()),
                None if name == "link" || name == "parents" || name == "keep-git-dir" => found = Some("true".into()),
                None => return Err(err(line, f.col, format!("flag --{name} needs a value: --{name}=VALUE"))),
            }
        }
        Ok(found)
    };
    let need_args = |what: &str| -> Result<(), ParseError> {
        if rest.is_empty() {
            Err(err(line, rest_col, format!("{upper} requires {what}")))
        } else {
            Ok(())
        }
    };
    let cmd = match upper.as_str() {
        "FROM" => {
            need_args("an image: FROM IMAGE [AS NAME]")?;
            flag("platform")?;
            Cmd::From
        }
        "RUN" => {
            need_args("a command")?;
            let mut mounts = Vec::new();
            for f in flags.iter().filter(|f| f.name == "mount") {
                let v = f.value.as_deref().ok_or_else(|| err(line, f.col, "--mount needs a value"))?;
                mounts.push(parse_mount(v).map_err(|m| err(line, f.col, m))?);
            }
            let network = flag("network")?;
            if let Some(n) = &network {
                if !matches!(n.as_str(), "default" | "none" | "host") {
                    return Err(err(line, args_col, format!("invalid --network={n}: use default, none or host")));
                }
            }
            if let Some(s) = flag("security")? {
                if s != "sandbox" && s != "insecure" {
                    return Err(err(line, args_col, format!("invalid --security={s}: use sandbox or insecure")));
                }
            }
            Cmd::Run { command: command(rest), mounts, network, heredocs }
        }
        "CMD" => {
            need_args("a command")?;
            Cmd::Cmd(command(rest))
        }
        "ENTRYPOINT" => {
            need_args("a command")?;
            Cmd::Entrypoint(command(rest))
        }
        "ENV" | "LABEL" => {
            need_args("KEY=VALUE")?;
            let pairs = raw_pairs(rest, escape).map_err(|(c, m)| err(line, rest_col + c, format!("{upper}: {m}")))?;
            if upper == "ENV" {
                Cmd::Env(pairs)
            } else {
                Cmd::Label(pairs)
            }
        }
        "ARG" => {
            need_args("a name: ARG NAME[=DEFAULT]")?;
            let mut out = Vec::new();
            for (c, w) in raw_split(rest, escape).map_err(|(c, m)| err(line, rest_col + c, m))? {
                let (k, v) = match w.split_once('=') {
                    Some((k, v)) => (k.to_string(), Some(v.to_string())),
                    None => (w.clone(), None),
                };
                if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return Err(err(line, rest_col + c, format!("ARG: invalid name {k:?}")));
                }
                out.push((k, v));
            }
            Cmd::Arg(out)
        }
        "MAINTAINER" => {
            need_args("a name")?;
            Cmd::Maintainer(rest.to_string())
        }
        "EXPOSE" => {
            need_args("at least one port")?;
            Cmd::Expose(rest.to_string())
        }
        "VOLUME" => {
            need_args("at least one path")?;
            let v = json_array(rest).unwrap_or_else(|| rest.split_whitespace().map(String::from).collect());
            if v.is_empty() || v.iter().any(|s| s.trim().is_empty()) {
                return Err(err(line, rest_col, "VOLUME specified can not be an empty string"));
            }
            Cmd::Volume(v)
        }
        "USER" => {
            need_args("a user: USER NAME[:GROUP]")?;
            Cmd::User(rest.to_string())
        }
        "WORKDIR" => {
            need_args("a path")?;
            Cmd::Workdir(rest.to_string())
        }
        "STOPSIGNAL" => {
            need_args("a signal")?;
            Cmd::StopSignal(rest.to_string())
        }
        "COPY" | "ADD" => {
            need_args("at least two arguments: SOURCE... DEST")?;
            let mut list = json_array(rest).unwrap_or_else(|| rest.split_whitespace().map(String::from).collect());
            if list.len() < 2 {
                return Err(err(line, rest_col, format!("{upper} requires at least two arguments: SOURCE... DEST")));
            }
            let dest = list.pop().expect("two");
            let a = CopyArgs {
                sources: list,
                dest,
                from: flag("from")?,
                chown: flag("chown")?,
                chmod: flag("chmod")?,
                checksum: flag("checksum")?,
                link: flag("link")?.is_some_and(|v| v != "false"),
                heredocs,
            };
            if let Some(m) = &a.chmod {
                if !m.contains('$') && u32::from_str_radix(m, 8).map_or(true, |m| m > 0o7777) {
                    let c = flags.iter().find(|f| f.name == "chmod").map_or(1, |f| f.col);
                    return Err(err(line, c, format!("invalid --chmod={m}: use an octal mode such as 0755")));
                }
            }
            if let Some(c) = &a.checksum {
                if !a.sources.iter().all(|s| s.starts_with("http://") || s.starts_with("https://")) {
                    return Err(err(line, rest_col, "--checksum can only be used with HTTP(S) sources"));
                }
                if !c.starts_with("sha256:") {
                    return Err(err(line, rest_col, format!("invalid --checksum={c}: use sha256:HEX")));
                }
            }
            if upper == "COPY" {
                Cmd::Copy(a)
            } else {
                Cmd::Add(a)
            }
        }
        "HEALTHCHECK" => {
            need_args("NONE or CMD COMMAND")?;
            let (first, tail) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            match first.to_ascii_uppercase().as_str() {
                "NONE" if tail.trim().is_empty() && flags.is_empty() => Cmd::Healthcheck(None),
                "NONE" => return Err(err(line, rest_col, "HEALTHCHECK NONE takes no other arguments")),
                "CMD" if !tail.trim().is_empty() => {
                    let dur = |n: &str| -> Result<Option<u64>, ParseError> {
                        match flag(n)? {
                            None => Ok(None),
                            Some(v) => parse_duration(&v).map(Some).ok_or_else(|| {
                                err(line, args_col, format!("invalid --{n}={v}: use a duration like 30s"))
                            }),
                        }
                    };
                    let retries = match flag("retries")? {
                        None => None,
                        Some(v) => Some(
                            v.parse::<u64>()
                                .map_err(|_| err(line, args_col, format!("invalid --retries={v}: use a number")))?,
                        ),
                    };
                    Cmd::Healthcheck(Some(Health {
                        test: command(tail.trim()),
                        interval: dur("interval")?,
                        timeout: dur("timeout")?,
                        start_period: dur("start-period")?,
                        start_interval: dur("start-interval")?,
                        retries,
                    }))
                }
                _ => return Err(err(line, rest_col, "HEALTHCHECK needs NONE or CMD COMMAND")),
            }
        }
        "ONBUILD" => {
            need_args("an instruction")?;
            let inner =
                instruction(rest, line, escape, Vec::new()).map_err(|e| err(line, rest_col + e.col - 1, e.msg))?;
            if matches!(inner.cmd, Cmd::Onbuild(_) | Cmd::From | Cmd::Maintainer(_)) {
                return Err(err(line, rest_col, format!("{} isn't allowed as an ONBUILD trigger", inner.cmd.name())));
            }
            Cmd::Onbuild(rest.to_string())
        }
        "SHELL" => {
            let v = json_array(rest)
                .ok_or_else(|| err(line, rest_col, "SHELL requires the arguments to be in JSON form"))?;
            if v.is_empty() {
                return Err(err(line, rest_col, "SHELL requires at least one argument"));
            }
            Cmd::Shell(v)
        }
        _ => unreachable!("listed in INSTRUCTIONS"),
    };
    Ok(Instruction { line, text: text.to_string(), cmd })
}

/// FROM's arguments: `[--platform=P] IMAGE [AS NAME]`.
fn from_args(inst: &Instruction) -> Result<(String, Option<String>, Option<String>), ParseError> {
    let args = inst.text[4..].trim_start();
    let (flags, rest, _) = take_flags(args, 0);
    // rest is a slice of text: its offset is its column.
    let col = rest.as_ptr() as usize - inst.text.as_ptr() as usize + 1;
    let platform = flags.into_iter().find(|f| f.name == "platform").and_then(|f| f.value);
    let words: Vec<&str> = rest.split_whitespace().collect();
    match words.as_slice() {
        [image] => Ok((image.to_string(), None, platform)),
        [image, as_kw, name] if as_kw.eq_ignore_ascii_case("as") => {
            let name = name.to_ascii_lowercase();
            let ok = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            if !ok {
                return Err(err(
                    inst.line,
                    col,
                    format!("invalid stage name {name:?}: it must start with a letter and contain only letters, digits, -, _ and ."),
                ));
            }
            Ok((image.to_string(), Some(name), platform))
        }
        _ => Err(err(inst.line, col, "FROM requires either one or three arguments: FROM IMAGE [AS NAME]")),
    }
}

fn json_array(s: &str) -> Option<Vec<String>> {
    if !s.starts_with('[') {
        return None;
    }
    serde_json::from_str::<Vec<String>>(s).ok()
}

/// Exec form when the arguments are a JSON array of strings, else shell form
/// (Docker falls back to shell form for malformed JSON too).
fn command(rest: &str) -> Command {
    match json_array(rest) {
        Some(v) => Command::Exec(v),
        None => Command::Shell(rest.to_string()),
    }
}

/// Split on unquoted whitespace keeping quotes and escapes raw; each word
/// with its 0-based offset.
fn raw_split(s: &str, escape: char) -> Result<Vec<(usize, String)>, (usize, String)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut start = None;
    let mut quote = None;
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if quote.is_none() && c.is_whitespace() {
            if let Some(st) = start.take() {
                out.push((st, std::mem::take(&mut cur)));
            }
            continue;
        }
        start.get_or_insert(i);
        cur.push(c);
        if c == escape && quote != Some('\'') {
            if let Some((_, n)) = chars.next() {
                cur.push(n);
            }
            continue;
        }
        match quote {
            Some(q) if q == c => quote = None,
            None if c == '"' || c == '\'' => quote = Some(c),
            _ => {}
        }
    }
    if let Some(q) = quote {
        return Err((s.len(), format!("unterminated {} quote", if q == '"' { "double" } else { "single" })));
    }
    if let Some(st) = start {
        out.push((st, cur));
    }
    Ok(out)
}

/// ENV/LABEL pairs: `k=v k2="v 2"`, or the legacy `k v w` (one pair, the
/// value being the rest of the line).
fn raw_pairs(s: &str, escape: char) -> Result<Vec<(String, String)>, (usize, String)> {
    let words = raw_split(s, escape)?;
    if !words[0].1.contains('=') {
        let (k, v) = s.split_once(char::is_whitespace).ok_or((s.len(), "must have two arguments: KEY VALUE".into()))?;
        return Ok(vec![(k.to_string(), v.trim().to_string())]);
    }
    words
        .into_iter()
        .map(|(c, w)| match w.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err((c, format!("{w:?} is not KEY=VALUE"))),
        })
        .collect()
}

/// `type=cache,target=/root/.cache,sharing=locked`: BuildKit's RUN --mount.
fn parse_mount(v: &str) -> Result<RunMount, String> {
    let mut m = RunMount { kind: "bind".into(), ..Default::default() };
    let mut target = None;
    for field in v.split(',') {
        let (k, val) = match field.split_once('=') {
            Some((k, v)) => (k.trim().to_ascii_lowercase(), Some(v.trim().to_string())),
            None => (field.trim().to_ascii_lowercase(), None),
        };
        let num = |what: &str, radix| -> Result<u32, String> {
            val.as_deref()
                .and_then(|v| u32::from_str_radix(v, radix).ok())
                .ok_or_else(|| format!("invalid --mount {what} in {v:?}"))
        };
        match (k.as_str(), &val) {
            ("type", Some(t)) => {
                if !matches!(t.as_str(), "bind" | "cache" | "tmpfs" | "secret" | "ssh") {
                    return Err(format!("unsupported mount type {t:?}: use bind, cache, tmpfs, secret or ssh"));
                }
                m.kind = t.clone();
            }
            ("target" | "dst" | "destination", Some(t)) => target = Some(t.clone()),
            ("source" | "src", Some(s)) => m.source = Some(s.clone()),
            ("from", Some(f)) => m.from = Some(f.clone()),
            ("id", Some(i)) => m.id = Some(i.clone()),
            ("sharing", Some(s)) => {
                if !matches!(s.as_str(), "shared" | "private" | "locked") {
                    return Err(format!("invalid sharing={s}: use shared, private or locked"));
                }
                m.sharing = Some(s.clone());
            }
            ("ro" | "readonly", None) => m.readonly = true,
            ("ro" | "readonly", Some(b)) => m.readonly = b != "false",
            ("rw" | "readwrite", _) => m.readonly = false,
            ("required", b) => m.required = b.as_deref() != Some("false"),
            ("mode", _) => m.mode = Some(num("mode", 8)?),
            ("uid", _) => m.uid = Some(num("uid", 10)?),
            ("gid", _) => m.gid = Some(num("gid", 10)?),
            ("size", Some(s)) => m.size = Some(s.clone()),
            ("env", Some(e)) => m.env = Some(e.clone()),
            _ => return Err(format!("unknown --mount option {field:?}")),
        }
    }
    m.target = match (target, m.kind.as_str()) {
        (Some(t), _) => t,
        // BuildKit: env= without target= exposes the secret as a variable only.
        (None, "secret") if m.env.is_some() => String::new(),
        (None, "secret") => format!("/run/secrets/{}", m.id.clone().or_else(|| m.source.clone()).unwrap_or_default()),
        (None, "ssh") => "/run/buildkit/ssh_agent.0".into(),
        (None, _) => return Err(format!("--mount {v:?} needs a target=PATH")),
    };
    Ok(m)
}

/// Go's `time.ParseDuration` units (`1m30s`, `500ms`), in nanoseconds.
pub fn parse_duration(s: &str) -> Option<u64> {
    let mut total: f64 = 0.0;
    let mut rest = s;
    if rest.is_empty() {
        return None;
    }
    if rest == "0" {
        return Some(0);
    }
    while !rest.is_empty() {
        let n = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let num: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let mult = match &rest[..u] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += num * mult;
        rest = &rest[u..];
    }
    Some(total as u64)
}

#[cfg(test)]
#[path = "parser_tests.rs"]
mod tests;
