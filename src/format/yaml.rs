//! A block-style YAML emitter for JSON values: what `compose config` and
//! `kube generate` print. Maps and sequences in block style (the first key
//! of a map in a list on the dash's line), empty ones in flow style (`[]`,
//! `{}`), strings plain unless YAML would read them back as something else.

use serde_json::{Map, Value};

/// One document: `v`'s keys at the top level (a non-object is one scalar line).
pub fn to_yaml(v: &Value) -> String {
    let mut out = String::new();
    match v {
        Value::Object(m) if !m.is_empty() => emit_map(m, 0, &mut out),
        Value::Array(a) if !a.is_empty() => emit_seq(a, 0, &mut out),
        v => {
            out.push_str(&inline(v));
            out.push('\n');
        }
    }
    out
}

/// A multi-document stream: the documents separated by `---` lines.
pub fn documents(docs: &[Value]) -> String {
    docs.iter().map(to_yaml).collect::<Vec<_>>().join("---\n")
}

fn pad(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

pub fn emit_map(m: &Map<String, Value>, indent: usize, out: &mut String) {
    for (k, v) in m {
        pad(out, indent);
        out.push_str(&if k == "<<" { quote(k) } else { string(k) });
        out.push(':');
        match v {
            Value::Object(m) if !m.is_empty() => {
                out.push('\n');
                emit_map(m, indent + 2, out);
            }
            Value::Array(a) if !a.is_empty() => {
                out.push('\n');
                emit_seq(a, indent + 2, out);
            }
            _ => {
                out.push(' ');
                out.push_str(&inline(v));
                out.push('\n');
            }
        }
    }
}

pub fn emit_seq(a: &[Value], indent: usize, out: &mut String) {
    for item in a {
        pad(out, indent);
        match item {
            Value::Object(m) if !m.is_empty() => {
                // the first key goes on the dash's line, the others align under it
                let mut block = String::new();
                emit_map(m, indent + 2, &mut block);
                out.push_str("- ");
                out.push_str(&block[indent + 2..]);
            }
            Value::Array(x) if !x.is_empty() => {
                out.push_str("-\n");
                emit_seq(x, indent + 2, out);
            }
            _ => {
                out.push_str("- ");
                out.push_str(&inline(item));
                out.push('\n');
            }
        }
    }
}

fn inline(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        // Go prints a whole float without a fraction (`cpus: 2`)
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            _ => n.to_string(),
        },
        Value::String(s) => string(s),
        Value::Array(_) => "[]".to_string(),
        Value::Object(_) => "{}".to_string(),
    }
}

/// A string plain when YAML reads it back as the same string, else double-quoted.
pub fn string(s: &str) -> String {
    if needs_quotes(s) {
        quote(s)
    } else {
        s.to_string()
    }
}

fn needs_quotes(s: &str) -> bool {
    let Some(first) = s.chars().next() else { return true };
    let lower = s.to_ascii_lowercase();
    // YAML 1.1 and 1.2 spellings of null, booleans and numbers
    if matches!(lower.as_str(), "~" | "null" | "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n")
        || lower.parse::<f64>().is_ok()
        || lower.starts_with("0x")
        || lower.starts_with("0o")
        || matches!(lower.as_str(), ".inf" | "-.inf" | "+.inf" | ".nan")
    {
        return true;
    }
    let second = s.chars().nth(1);
    let indicator = match first {
        '-' | '?' | ':' => second.is_none_or(|c| c == ' ' || first != '-'),
        ',' | '[' | ']' | '{' | '}' | '#' | '&' | '*' | '!' | '|' | '>' | '\'' | '"' | '%' | '@' | '`' => true,
        _ => false,
    };
    indicator
        || first.is_whitespace()
        || s.ends_with(char::is_whitespace)
        || s.ends_with(':')
        || s.contains(": ")
        || s.contains(" #")
        || s.chars().any(char::is_control)
}

fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_quoted_only_when_yaml_would_misread_them() {
        for plain in
            ["busybox:1.36", "CMD-SHELL", "--flag", "-c", "/data", "127.0.0.1", "a b", "http://x", "1g", "say \"hi\""]
        {
            assert_eq!(string(plain), plain, "{plain}");
        }
        for (s, q) in [
            ("", "\"\""),
            ("8080", "\"8080\""),
            ("true", "\"true\""),
            ("no", "\"no\""),
            ("0440", "\"0440\""),
            ("1.5", "\"1.5\""),
            ("a: b", "\"a: b\""),
            ("*", "\"*\""),
            ("- x", "\"- x\""),
            ("x #y", "\"x #y\""),
            ("two\nlines", "\"two\\nlines\""),
            (" lead", "\" lead\""),
            ("\"hi\"", "\"\\\"hi\\\"\""),
        ] {
            assert_eq!(string(s), q, "{s}");
        }
    }

    #[test]
    fn block_layout() {
        let v: Value = serde_json::json!({
            "a": {"b": [1, {"c": "d", "e": []}], "f": {}},
            "g": null,
            "h": [["x"]]
        });
        let Value::Object(m) = v else { panic!() };
        let mut out = String::new();
        emit_map(&m, 0, &mut out);
        assert_eq!(out, "a:\n  b:\n    - 1\n    - c: d\n      e: []\n  f: {}\ng: null\nh:\n  -\n    - x\n");
    }
}
