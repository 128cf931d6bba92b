//! `.env` and `env_file` parsing, following compose-go's `dotenv` package:
//! `KEY=VALUE` lines, an optional `export ` prefix, `#` comments (inline
//! only after whitespace on unquoted values), single quotes taken literally,
//! double quotes with `\n` `\r` `\t` `\\` `\"` `\$` escapes, both quotes may
//! span lines, and `${VAR}` interpolation in unquoted and double-quoted
//! values. A bare `KEY` takes its value from the lookup, or is skipped.

use std::collections::BTreeMap;
use std::path::Path;

use super::interpolate::{substitute, Env, TemplateError};
use super::ComposeError;

/// Parses `content`. Variables in values resolve through `lookup` first,
/// then through the keys defined earlier in the same file.
pub fn parse(
    content: &str,
    file: &Path,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<(String, String)>, ComposeError> {
    let err = |line: usize, msg: String| ComposeError::EnvFile { path: file.to_path_buf(), line, msg };
    let mut out: Vec<(String, String)> = Vec::new();
    let chars: Vec<char> = content.chars().collect();
    let mut i = 0;
    let mut line = 1;
    while i < chars.len() {
        // skip blank space and comment lines
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
            continue;
        }
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        let start_line = line;
        let eol = chars[i..].iter().position(|&c| c == '\n').map_or(chars.len(), |p| i + p);
        let rest: String = chars[i..eol].iter().collect();
        let rest = rest.strip_prefix("export ").map(str::trim_start).unwrap_or(&rest);
        let key_len = rest.find(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '.' | '-'))).unwrap_or(rest.len());
        let key = rest[..key_len].to_string();
        let after = rest[key_len..].trim_start();
        if key.is_empty() {
            return Err(err(start_line, format!("invalid line {:?}: expected KEY=VALUE", rest.trim_end())));
        }
        if after.is_empty() {
            // `KEY` alone: inherited from the environment
            if let Some(v) = lookup(&key) {
                set(&mut out, key, v);
            }
            i = eol;
            continue;
        }
        let Some(value_src) = after.strip_prefix('=') else {
            return Err(err(start_line, format!("unexpected character in variable name {:?}", rest.trim_end())));
        };
        let value_src = value_src.trim_start_matches([' ', '\t']);
        // where the value starts, in `chars`
        let offset = eol - value_src.chars().count();
        let resolve = |s: &str, out: &Vec<(String, String)>| -> Result<String, ComposeError> {
            let get = |k: &str| lookup(k).or_else(|| out.iter().rev().find(|(n, _)| n == k).map(|(_, v)| v.clone()));
            let mut ignore = |_: &str| {};
            substitute(s, &mut Env { vars: &get, unset: &mut ignore }).map_err(|e| match e {
                TemplateError::Invalid => err(start_line, format!("invalid interpolation format {s:?}")),
                TemplateError::Required { name, msg } => {
                    err(start_line, format!("required variable {name} is missing a value: {msg}"))
                }
            })
        };
        match value_src.chars().next() {
            Some(q @ ('\'' | '"')) => {
                let mut j = offset + 1;
                let mut raw = String::new();
                while j < chars.len() && chars[j] != q {
                    if chars[j] == '\\' && q == '"' && j + 1 < chars.len() {
                        raw.push(chars[j]);
                        j += 1;
                    }
                    if chars[j] == '\n' {
                        line += 1;
                    }
                    raw.push(chars[j]);
                    j += 1;
                }
                if j >= chars.len() {
                    return Err(err(start_line, format!("unterminated quoted value for {key}")));
                }
                let value = if q == '"' { resolve(&unescape(&raw), &out)? } else { raw };
                set(&mut out, key, value);
                // the rest of the line may only hold a comment
                i = chars[j..].iter().position(|&c| c == '\n').map_or(chars.len(), |p| j + p);
            }
            _ => {
                let mut v = value_src;
                if let Some(p) = v.find(" #").or_else(|| v.find("\t#")) {
                    v = &v[..p];
                }
                let value = resolve(v.trim_end(), &out)?;
                set(&mut out, key, value);
                i = eol;
            }
        }
    }
    Ok(out)
}

/// `env_file` with `format: raw`: `KEY=VALUE` lines taken literally, no
/// quotes, escapes or interpolation (compose-go's raw format).
pub fn parse_raw(content: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in content.lines() {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let (k, v) = line.split_once('=').unwrap_or((line, ""));
        set(&mut out, k.trim().to_string(), v.to_string());
    }
    out
}

fn set(out: &mut Vec<(String, String)>, key: String, value: String) {
    match out.iter_mut().find(|(k, _)| *k == key) {
        Some(slot) => slot.1 = value,
        None => out.push((key, value)),
    }
}

/// Double-quote escapes; `\$` stays escaped as `$$` for the interpolation.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('$') => out.push_str("$$"),
            Some(c @ ('"' | '\\')) => out.push(c),
            Some(c) => {
                out.push('\\');
                out.push(c);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Reads a dotenv file into a map, for `.env` and `--env-file`.
pub fn read(path: &Path, lookup: &dyn Fn(&str) -> Option<String>) -> Result<BTreeMap<String, String>, ComposeError> {
    let content =
        std::fs::read_to_string(path).map_err(|source| ComposeError::Read { path: path.to_path_buf(), source })?;
    Ok(parse(&content, path, lookup)?.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str, env: &[(&str, &str)]) -> Vec<(String, String)> {
        let env: BTreeMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        parse(s, Path::new(".env"), &|k| env.get(k).cloned()).unwrap()
    }

    fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn plain_lines_comments_and_export() {
        let got = p("# comment\nA=1\n\nexport B = two words  # note\nC=x#y\nD=\n", &[]);
        assert_eq!(got, kv(&[("A", "1"), ("B", "two words"), ("C", "x#y"), ("D", "")]));
    }

    #[test]
    fn quotes_and_escapes() {
        let got = p("A='lit $X \\n'\nB=\"a\\nb \\\"q\\\" \\$X\"\nC=\"multi\nline\" # c\nD=after\n", &[("X", "x")]);
        assert_eq!(got, kv(&[("A", "lit $X \\n"), ("B", "a\nb \"q\" $X"), ("C", "multi\nline"), ("D", "after")]));
    }

    #[test]
    fn interpolation_and_inherited_keys() {
        let got = p("A=${X}\nB=$A-${Y:-d}\nX\nZ\n", &[("X", "x")]);
        assert_eq!(got, kv(&[("A", "x"), ("B", "x-d"), ("X", "x")]));
    }

    #[test]
    fn raw_format_is_literal() {
        assert_eq!(parse_raw("# c\nA='q' $X\nB=x=y\n\n"), kv(&[("A", "'q' $X"), ("B", "x=y")]));
    }

    #[test]
    fn errors_name_the_line() {
        let env = |_: &str| None;
        let e = parse("A=1\nB C=2\n", Path::new("/p/.env"), &env).unwrap_err().to_string();
        assert_eq!(e, "/p/.env: line 2: unexpected character in variable name \"B C=2\"");
        let e = parse("A=\"open\n", Path::new("/p/.env"), &env).unwrap_err().to_string();
        assert_eq!(e, "/p/.env: line 1: unterminated quoted value for A");
    }
}
