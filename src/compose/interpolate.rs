//! Variable substitution, as the compose spec's "Interpolation" section and
//! compose-go's `template` package define it: `$V`, `${V}`, `${V:-d}`,
//! `${V-d}`, `${V:?e}`, `${V?e}`, `${V:+a}`, `${V+a}`, defaults nested to
//! any depth, and `$$` for a literal `$`. Names are `[A-Za-z_][A-Za-z0-9_]*`.
//! A `$` followed by anything else is an error, as in compose. Values are
//! interpolated, keys never; the tree is still text here, so typed fields
//! (`ports`, `cpus: ${CPUS}`) are converted after substitution.

use std::collections::BTreeMap;

use super::yaml::{Node, Value};
use super::ComposeError;

/// Why a template could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateError {
    /// A `$` not followed by `$`, a name or a well-formed `{...}`.
    Invalid,
    /// `${V:?msg}` or `${V?msg}` with V missing.
    Required { name: String, msg: String },
}

/// A variable source plus the sink for "not set" warnings.
pub struct Env<'a> {
    pub vars: &'a dyn Fn(&str) -> Option<String>,
    pub unset: &'a mut dyn FnMut(&str),
}

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_name(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Expands every variable reference in `s`.
pub fn substitute(s: &str, env: &mut Env) -> Result<String, TemplateError> {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        let Some(k) = s[i..].find('$') else {
            out.push_str(&s[i..]);
            break;
        };
        out.push_str(&s[i..i + k]);
        i += k;
        match b.get(i + 1) {
            Some(b'$') => {
                out.push('$');
                i += 2;
            }
            Some(&c) if is_name_start(c) => {
                let mut j = i + 1;
                while j < b.len() && is_name(b[j]) {
                    j += 1;
                }
                out.push_str(&lookup(&s[i + 1..j], env));
                i = j;
            }
            Some(b'{') => {
                let end = closing_brace(s, i + 2).ok_or(TemplateError::Invalid)?;
                out.push_str(&braced(&s[i + 2..end], env)?);
                i = end + 1;
            }
            _ => return Err(TemplateError::Invalid),
        }
    }
    Ok(out)
}

/// The index of the `}` closing a `${` whose content starts at `from`,
/// skipping nested `${...}` (compose's `getFirstBraceClosingIndex`).
fn closing_brace(s: &str, from: usize) -> Option<usize> {
    let b = s.as_bytes();
    let mut depth = 1;
    let mut k = from;
    while k < b.len() {
        if b[k] == b'$' && b.get(k + 1) == Some(&b'{') {
            depth += 1;
            k += 2;
            continue;
        }
        if b[k] == b'}' {
            depth -= 1;
            if depth == 0 {
                return Some(k);
            }
        }
        k += 1;
    }
    None
}

fn lookup(name: &str, env: &mut Env) -> String {
    match (env.vars)(name) {
        Some(v) => v,
        None => {
            (env.unset)(name);
            String::new()
        }
    }
}

/// Evaluates the inside of `${...}`. The operand of an operator is expanded
/// only when it is used, so an unused default raises no warning.
fn braced(inner: &str, env: &mut Env) -> Result<String, TemplateError> {
    let b = inner.as_bytes();
    if b.is_empty() || !is_name_start(b[0]) {
        return Err(TemplateError::Invalid);
    }
    let n = b.iter().position(|&c| !is_name(c)).unwrap_or(b.len());
    let (name, rest) = inner.split_at(n);
    if rest.is_empty() {
        return Ok(lookup(name, env));
    }
    let (op, arg) = if rest.starts_with(":-") || rest.starts_with(":?") || rest.starts_with(":+") {
        rest.split_at(2)
    } else if rest.starts_with('-') || rest.starts_with('?') || rest.starts_with('+') {
        rest.split_at(1)
    } else {
        return Err(TemplateError::Invalid);
    };
    let value = (env.vars)(name);
    let empty = value.as_deref().is_none_or(str::is_empty);
    match op {
        ":-" if empty => substitute(arg, env),
        "-" if value.is_none() => substitute(arg, env),
        ":?" | "?" if (op == ":?" && empty) || value.is_none() => {
            Err(TemplateError::Required { name: name.to_string(), msg: substitute(arg, env)? })
        }
        ":+" => {
            if empty {
                Ok(String::new())
            } else {
                substitute(arg, env)
            }
        }
        "+" => {
            if value.is_some() {
                substitute(arg, env)
            } else {
                Ok(String::new())
            }
        }
        _ => Ok(value.unwrap_or_default()),
    }
}

/// Turns a template error at `path` into the loader's error.
pub fn template_error(path: &str, template: &str, e: TemplateError) -> ComposeError {
    let msg = match e {
        TemplateError::Invalid => {
            format!("invalid interpolation format {template:?}: escape a literal $ as $$")
        }
        TemplateError::Required { name, msg } if msg.is_empty() => {
            format!("required variable {name} is missing a value")
        }
        TemplateError::Required { name, msg } => format!("required variable {name} is missing a value: {msg}"),
    };
    ComposeError::Invalid { path: path.to_string(), msg }
}

/// The warning compose prints for a variable used without a default.
pub fn unset_warning(name: &str) -> String {
    format!("the \"{name}\" variable is not set, defaulting to a blank string")
}

/// Interpolates every scalar value of `node` (never keys) with `vars`;
/// warnings for unset variables are appended once each to `warnings`.
pub fn interpolate(
    node: &mut Node,
    vars: &BTreeMap<String, String>,
    warnings: &mut Vec<String>,
) -> Result<(), ComposeError> {
    let get = |k: &str| vars.get(k).cloned();
    let mut unset = |k: &str| {
        let w = unset_warning(k);
        if !warnings.contains(&w) {
            warnings.push(w);
        }
    };
    let mut env = Env { vars: &get, unset: &mut unset };
    walk(node, &mut String::new(), &mut env)
}

fn walk(node: &mut Node, path: &mut String, env: &mut Env) -> Result<(), ComposeError> {
    let len = path.len();
    match &mut node.value {
        Value::Str { text, .. } if text.contains('$') => {
            *text = substitute(text, env).map_err(|e| template_error(path, text, e))?;
        }
        Value::Seq(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                path.push_str(&format!("[{i}]"));
                walk(item, path, env)?;
                path.truncate(len);
            }
        }
        Value::Map(entries) => {
            for (k, v) in entries.iter_mut() {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                walk(v, path, env)?;
                path.truncate(len);
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(s: &str, vars: &[(&str, &str)]) -> (Result<String, TemplateError>, Vec<String>) {
        let map: BTreeMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let get = |k: &str| map.get(k).cloned();
        let mut warned = Vec::new();
        let mut unset = |k: &str| warned.push(k.to_string());
        let r = substitute(s, &mut Env { vars: &get, unset: &mut unset });
        (r, warned)
    }

    fn ok(s: &str, vars: &[(&str, &str)]) -> String {
        sub(s, vars).0.unwrap()
    }

    #[test]
    fn plain_and_braced() {
        let v = [("A", "1"), ("E", "")];
        assert_eq!(ok("$A-${A}x", &v), "1-1x");
        assert_eq!(ok("a$$b $${A}", &v), "a$b ${A}");
        assert_eq!(ok("no vars", &v), "no vars");
        assert_eq!(ok("ünï $A ç", &v), "ünï 1 ç");
    }

    #[test]
    fn defaults_and_alternatives() {
        let v = [("A", "1"), ("E", "")];
        assert_eq!(ok("${U:-d}|${E:-d}|${A:-d}", &v), "d|d|1");
        assert_eq!(ok("${U-d}|${E-d}|${A-d}", &v), "d||1");
        assert_eq!(ok("${U:+x}|${E:+x}|${A:+x}", &v), "||x");
        assert_eq!(ok("${U+x}|${E+x}|${A+x}", &v), "|x|x");
        assert_eq!(ok("${U:-a:b-c}", &v), "a:b-c");
    }

    #[test]
    fn nested_defaults() {
        assert_eq!(ok("${A:-${B:-x}}", &[]), "x");
        assert_eq!(ok("${A:-${B:-x}}", &[("B", "b")]), "b");
        assert_eq!(ok("${A:-${B:-${C}}}-end", &[("C", "c")]), "c-end");
        assert_eq!(ok("${A:-x}}", &[]), "x}");
    }

    #[test]
    fn required_variables() {
        let (r, _) = sub("${V:?set V to the tag}", &[]);
        assert_eq!(r, Err(TemplateError::Required { name: "V".into(), msg: "set V to the tag".into() }));
        assert!(sub("${V:?x}", &[("V", "")]).0.is_err());
        assert_eq!(sub("${V?x}", &[("V", "")]).0.unwrap(), "");
        assert!(sub("${V?x}", &[]).0.is_err());
        assert_eq!(ok("${V:?x}", &[("V", "v")]), "v");
        let e = template_error("services.web.image", "${V:?need V}", sub("${V:?need V}", &[]).0.unwrap_err());
        assert_eq!(e.to_string(), "services.web.image: required variable V is missing a value: need V");
    }

    #[test]
    fn unset_variables_warn_and_become_empty() {
        let (r, w) = sub("a${U}b$W", &[]);
        assert_eq!(r.unwrap(), "ab");
        assert_eq!(w, vec!["U", "W"]);
        // an unused default raises no warning
        assert!(sub("${A:-${B}}", &[("A", "1")]).1.is_empty());
    }

    #[test]
    fn invalid_templates() {
        for t in ["$", "a $ b", "${", "${}", "${A", "${1A}", "${A:x}", "$1"] {
            assert_eq!(sub(t, &[]).0, Err(TemplateError::Invalid), "{t}");
        }
    }

    #[test]
    fn tree_interpolation_touches_values_not_keys() {
        let mut n =
            super::super::yaml::parse("services:\n  $K:\n    image: ${IMG:-x}\n    x: [$A]\n", "f").unwrap().remove(0);
        let vars: BTreeMap<String, String> = [("A".to_string(), "1".to_string())].into();
        let mut w = Vec::new();
        interpolate(&mut n, &vars, &mut w).unwrap();
        let svc = n.get("services").unwrap().get("$K").unwrap();
        assert_eq!(svc.get("image").unwrap().as_str(), Some("x"));
        let mut bad = super::super::yaml::parse("services:\n  web:\n    command: echo $ x\n", "f").unwrap().remove(0);
        let e = interpolate(&mut bad, &vars, &mut w).unwrap_err().to_string();
        assert_eq!(e, "services.web.command: invalid interpolation format \"echo $ x\": escape a literal $ as $$");
    }
}
