//! The template functions' implementations (Go's `text/template/funcs.go`
//! and docker/cli's `templates`); `exec` dispatches to them by name.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::exec::{go_type, val, V};
use super::print::sprint_value;

/// Error from a function: an argument of the wrong type (reported at that
/// argument, as is) or an error of the function itself (reported at the
/// command as "error calling NAME: ..."), like Go.
pub(super) enum FnError {
    Arg(usize, String),
    Call(String),
}

pub(super) type FResult<'a> = Result<V<'a>, FnError>;

fn call_err<'a>(msg: impl Into<String>) -> FResult<'a> {
    Err(FnError::Call(msg.into()))
}

pub(super) fn owned_str<'a>(s: String) -> V<'a> {
    Some(Cow::Owned(Value::String(s)))
}

/// Argument `i` as a string.
pub(super) fn want_str<'v>(vals: &'v [V<'_>], i: usize) -> Result<&'v str, FnError> {
    match vals[i].as_deref() {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(FnError::Arg(i, format!("wrong type for value; expected string; got {}", go_type(other)))),
        None => Err(FnError::Arg(i, "invalid value; expected string".into())),
    }
}

/// An int argument; integral floats are accepted like Go's integral
/// float constants (`truncate . 2.0`).
pub(super) fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            let f = n.as_f64()?;
            (f.fract() == 0.0 && f.abs() < 9.2e18).then_some(f as i64)
        }),
        _ => None,
    }
}

/// Argument `i` as an int.
fn want_int(vals: &[V<'_>], i: usize) -> Result<i64, FnError> {
    match vals[i].as_deref() {
        Some(x) => {
            as_int(x).ok_or_else(|| FnError::Arg(i, format!("wrong type for value; expected int; got {}", go_type(x))))
        }
        None => Err(FnError::Arg(i, "invalid value; expected int".into())),
    }
}

pub(super) fn fn_len<'a>(v: &V<'a>) -> FResult<'a> {
    let n = match v.as_deref() {
        None => return call_err("len of nil pointer"),
        // A JSON null is usually a nil Go slice or map, whose len is 0.
        Some(Value::Null) => 0,
        Some(Value::String(s)) => s.len(),
        Some(Value::Array(a)) => a.len(),
        Some(Value::Object(m)) => m.len(),
        Some(other) => return call_err(format!("len of type {}", go_type(other))),
    };
    Ok(Some(Cow::Owned(Value::from(n))))
}

pub(super) fn fn_index<'a>(mut vals: Vec<V<'a>>) -> FResult<'a> {
    let indexes = vals.split_off(1);
    let mut item = vals.pop().unwrap();
    for idx in &indexes {
        let idx_v = val(idx);
        item = match item {
            None => return call_err("index of untyped nil"),
            Some(cur) => {
                let int_index = |len: usize| -> Result<usize, FnError> {
                    match idx_v {
                        Value::Null => Err(FnError::Call("cannot index slice/array with nil".into())),
                        x => match as_int(x) {
                            Some(i) if i >= 0 && (i as usize) < len => Ok(i as usize),
                            Some(i) => Err(FnError::Call(format!("index out of range: {i}"))),
                            None => Err(FnError::Call(format!("cannot index slice/array with type {}", go_type(x)))),
                        },
                    }
                };
                match cur {
                    Cow::Borrowed(Value::Array(a)) => Some(Cow::Borrowed(&a[int_index(a.len())?])),
                    Cow::Owned(Value::Array(mut a)) => {
                        let i = int_index(a.len())?;
                        Some(Cow::Owned(a.swap_remove(i)))
                    }
                    Cow::Borrowed(Value::String(s)) => {
                        // Go indexes the bytes of a string.
                        Some(Cow::Owned(Value::from(s.as_bytes()[int_index(s.len())?])))
                    }
                    Cow::Owned(Value::String(s)) => Some(Cow::Owned(Value::from(s.as_bytes()[int_index(s.len())?]))),
                    Cow::Borrowed(Value::Object(m)) => match idx_v {
                        Value::String(k) => match m.get(k) {
                            Some(e) => Some(Cow::Borrowed(e)),
                            None => missing_index(m),
                        },
                        x => return call_err(format!("value has type {}; should be string", go_type(x))),
                    },
                    Cow::Owned(Value::Object(mut m)) => match idx_v {
                        Value::String(k) => match m.remove(k) {
                            Some(e) => Some(Cow::Owned(e)),
                            None => missing_index(&m),
                        },
                        x => return call_err(format!("value has type {}; should be string", go_type(x))),
                    },
                    // A JSON null is usually a nil map[string]string (empty
                    // Labels): indexing it by key gives "" in Docker.
                    Cow::Borrowed(Value::Null) | Cow::Owned(Value::Null) => match idx_v {
                        Value::String(_) => Some(Cow::Owned(Value::String(String::new()))),
                        _ => {
                            int_index(0)?;
                            None
                        }
                    },
                    other => return call_err(format!("can't index item of type {}", go_type(&other))),
                }
            }
        };
    }
    Ok(item)
}

/// The zero value Go's `index` returns for a missing key. Docker's string
/// maps (Labels, Options, ...) are map[string]string, whose zero value is
/// ""; for other maps it is a nil interface (printed as `<no value>`).
fn missing_index<'a>(m: &Map<String, Value>) -> V<'a> {
    if m.values().all(Value::is_string) {
        Some(Cow::Owned(Value::String(String::new())))
    } else {
        None
    }
}

pub(super) fn fn_slice<'a>(mut vals: Vec<V<'a>>) -> FResult<'a> {
    let idx_vals = vals.split_off(1);
    let item = vals.pop().unwrap();
    let Some(item) = item else { return call_err("slice of untyped nil") };
    let len = match &*item {
        Value::String(s) => s.len(),
        Value::Array(a) => a.len(),
        Value::Null => 0,
        other => return call_err(format!("can't slice item of type {}", go_type(other))),
    };
    if idx_vals.len() > 3 {
        return call_err(format!("too many slice indexes: {}", idx_vals.len()));
    }
    if idx_vals.len() == 3 && item.is_string() {
        return call_err("cannot 3-index slice a string");
    }
    let mut idx = [0usize, len, len];
    for (i, v) in idx_vals.iter().enumerate() {
        let x = val(v);
        let n = as_int(x).ok_or_else(|| FnError::Call(format!("cannot index slice/array with type {}", go_type(x))))?;
        if n < 0 || n as usize > len {
            return call_err(format!("index out of range: {n}"));
        }
        idx[i] = n as usize;
    }
    if idx[0] > idx[1] {
        return call_err(format!("invalid slice index: {} > {}", idx[0], idx[1]));
    }
    if idx_vals.len() == 3 && idx[1] > idx[2] {
        return call_err(format!("invalid slice index: {} > {}", idx[1], idx[2]));
    }
    let (lo, hi) = (idx[0], idx[1]);
    Ok(Some(Cow::Owned(match &*item {
        Value::String(s) => Value::String(String::from_utf8_lossy(&s.as_bytes()[lo..hi]).into_owned()),
        Value::Array(a) => Value::Array(a[lo..hi].to_vec()),
        _ => Value::Null,
    })))
}

/// Numbers as Go would compare them: integers exactly, otherwise as floats.
/// (Go refuses to compare an int with a float64; JSON erases that
/// distinction, so we compare numerically.)
fn num_cmp(a: &serde_json::Number, b: &serde_json::Number) -> Option<std::cmp::Ordering> {
    match (int_of(a), int_of(b)) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

pub(super) fn int_of(n: &serde_json::Number) -> Option<i128> {
    n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from))
}

pub(super) fn fn_eq<'a>(vals: &[V<'a>]) -> FResult<'a> {
    if vals.len() < 2 {
        return call_err("missing argument for comparison");
    }
    let a = vals[0].as_deref();
    for b in &vals[1..] {
        let b = b.as_deref();
        let truth = match (a, b) {
            (None | Some(Value::Null), None | Some(Value::Null)) => true,
            (None | Some(Value::Null), _) | (_, None | Some(Value::Null)) => false,
            (Some(Value::Bool(x)), Some(Value::Bool(y))) => x == y,
            (Some(Value::String(x)), Some(Value::String(y))) => x == y,
            (Some(Value::Number(x)), Some(Value::Number(y))) => num_cmp(x, y) == Some(std::cmp::Ordering::Equal),
            (Some(x @ (Value::Array(_) | Value::Object(_))), _)
            | (_, Some(x @ (Value::Array(_) | Value::Object(_)))) => {
                return call_err(format!("non-comparable type {}: {}", sprint_value(x), go_type(x)))
            }
            _ => return call_err("incompatible types for comparison"),
        };
        if truth {
            return Ok(Some(Cow::Owned(Value::Bool(true))));
        }
    }
    Ok(Some(Cow::Owned(Value::Bool(false))))
}

pub(super) fn fn_compare<'a>(name: &str, a: &V<'a>, b: &V<'a>) -> FResult<'a> {
    use std::cmp::Ordering;
    let ord = match (val(a), val(b)) {
        (Value::Number(x), Value::Number(y)) => num_cmp(x, y),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (x, y) if std::mem::discriminant(x) == std::mem::discriminant(y) => {
            return call_err("invalid type for comparison")
        }
        _ => return call_err("incompatible types for comparison"),
    };
    let r = match (name, ord) {
        (_, None) => false,
        ("lt", Some(o)) => o == Ordering::Less,
        ("le", Some(o)) => o != Ordering::Greater,
        ("gt", Some(o)) => o == Ordering::Greater,
        (_, Some(o)) => o != Ordering::Less,
    };
    Ok(Some(Cow::Owned(Value::Bool(r))))
}

// ---------------------------------------------------------------------------
// String functions

/// Go's strings.Title: upper-case the first letter of each word.
pub(super) fn go_title(s: &str) -> String {
    let is_sep = |c: char| {
        if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else if c.is_alphabetic() || c.is_numeric() {
            false
        } else {
            c.is_whitespace()
        }
    };
    let mut prev = ' ';
    s.chars()
        .map(|c| {
            let r = if is_sep(prev) { simple_upper(c) } else { c };
            prev = c;
            r
        })
        .collect()
}

/// Go's unicode.ToUpper: one-to-one mapping only (ß stays ß).
pub(super) fn simple_upper(c: char) -> char {
    let mut it = c.to_uppercase();
    match (it.next(), it.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

pub(super) fn simple_lower(c: char) -> char {
    let mut it = c.to_lowercase();
    match (it.next(), it.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

/// Go's template.HTMLEscapeString.
pub(super) fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '\'' => out.push_str("&#39;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&#34;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Go's template.JSEscapeString.
pub(super) fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 || c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Go's url.QueryEscape.
pub(super) fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Docker's `split`: strings.Split (an empty separator splits into characters).
pub(super) fn fn_split<'a>(vals: &[V<'_>]) -> FResult<'a> {
    let s = want_str(vals, 0)?;
    let sep = want_str(vals, 1)?;
    let parts: Vec<Value> = if sep.is_empty() {
        s.chars().map(|c| Value::String(c.to_string())).collect()
    } else {
        s.split(sep).map(|p| Value::String(p.to_string())).collect()
    };
    Ok(Some(Cow::Owned(Value::Array(parts))))
}

/// Docker's `join`: strings.Join of a list printed with %v.
pub(super) fn fn_join<'a>(vals: &[V<'_>]) -> FResult<'a> {
    let sep = want_str(vals, 1)?;
    let items: Vec<String> = match vals[0].as_deref() {
        Some(Value::Array(a)) => a.iter().map(sprint_value).collect(),
        Some(Value::Null) => Vec::new(),
        Some(other) => {
            return Err(FnError::Arg(0, format!("wrong type for value; expected []string; got {}", go_type(other))))
        }
        None => return Err(FnError::Arg(0, "invalid value; expected []string".into())),
    };
    Ok(owned_str(items.join(sep)))
}

/// Docker's `pad`: spaces before and after a non-empty string.
pub(super) fn fn_pad<'a>(vals: &[V<'_>]) -> FResult<'a> {
    let s = want_str(vals, 0)?;
    let before = want_int(vals, 1)?;
    let after = want_int(vals, 2)?;
    if s.is_empty() {
        return Ok(owned_str(String::new()));
    }
    let (b, a) = (before.max(0) as usize, after.max(0) as usize);
    Ok(owned_str(format!("{}{}{}", " ".repeat(b), s, " ".repeat(a))))
}

/// Docker's `truncate`: the first n bytes of a string.
pub(super) fn fn_truncate<'a>(vals: &[V<'_>]) -> FResult<'a> {
    let s = want_str(vals, 0)?;
    let n = want_int(vals, 1)?;
    if n < 0 {
        return call_err("slice bounds out of range");
    }
    // Go slices bytes; we back off to a char boundary to stay valid UTF-8.
    let mut n = (n as usize).min(s.len());
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    Ok(owned_str(s[..n].to_string()))
}
