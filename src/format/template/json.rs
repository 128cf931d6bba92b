//! Go's encoding/json: JSON written the way Docker's Go code writes it.

use serde_json::Value;

use super::funcs::int_of;
use super::strconv::format_float;

/// Compact JSON as Go's encoding/json writes it. `escape_html` escapes
/// `<`, `>`, `&` as \u003c, \u003e, \u0026 (json.Marshal); `sort_keys`
/// sorts object keys (Go maps), otherwise keys keep their order (structs).
pub(super) fn write_json(out: &mut String, v: &Value, escape_html: bool, sort_keys: bool) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&json_number(n)),
        Value::String(s) => write_json_string(out, s, escape_html),
        Value::Array(a) => {
            out.push('[');
            for (i, e) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, e, escape_html, sort_keys);
            }
            out.push(']');
        }
        Value::Object(m) => {
            out.push('{');
            let mut keys: Vec<&String> = m.keys().collect();
            if sort_keys {
                keys.sort();
            }
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(out, k, escape_html);
                out.push(':');
                write_json(out, &m[k], escape_html, sort_keys);
            }
            out.push('}');
        }
    }
}

/// Indented JSON like Go's json.Indent(dst, src, "", "    ") over the
/// daemon's output (which is not HTML-escaped): `docker inspect`'s default.
pub fn to_go_pretty(v: &Value) -> String {
    fn go(out: &mut String, v: &Value, depth: usize) {
        let indent = |out: &mut String, d: usize| {
            out.push('\n');
            out.push_str(&"    ".repeat(d));
        };
        match v {
            Value::Array(a) if !a.is_empty() => {
                out.push('[');
                for (i, e) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    indent(out, depth + 1);
                    go(out, e, depth + 1);
                }
                indent(out, depth);
                out.push(']');
            }
            Value::Object(m) if !m.is_empty() => {
                out.push('{');
                for (i, (k, e)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    indent(out, depth + 1);
                    write_json_string(out, k, false);
                    out.push_str(": ");
                    go(out, e, depth + 1);
                }
                indent(out, depth);
                out.push('}');
            }
            other => write_json(out, other, false, false),
        }
    }
    let mut out = String::new();
    go(&mut out, v, 0);
    out
}

/// Compact JSON without HTML escaping, keys in their order.
pub fn to_go_compact(v: &Value) -> String {
    let mut out = String::new();
    write_json(&mut out, v, false, false);
    out
}

fn write_json_string(out: &mut String, s: &str, escape_html: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // Go 1.22+ writes \b and \f in short form.
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            '<' | '>' | '&' if escape_html => out.push_str(&format!("\\u{:04x}", c as u32)),
            // Go always escapes the JavaScript line terminators.
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A number as Go's encoding/json writes a float64 ('f' format, 'e' below
/// 1e-6 or from 1e21, with e-07 cleaned to e-7), integers as is.
fn json_number(n: &serde_json::Number) -> String {
    if let Some(i) = int_of(n) {
        return i.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let mut s = format_float(f, 'e', -1);
        // e-07 -> e-7
        if let Some(i) = s.find("e-0") {
            s.remove(i + 2);
        }
        s
    } else {
        format_float(f, 'f', -1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pretty_json_like_docker_inspect() {
        let v = json!([{"Id": "sha256:abc", "RepoTags": [], "Config": {"Env": ["A=<b>"], "Labels": {}}, "Size": 5}]);
        assert_eq!(
            to_go_pretty(&v),
            "[\n    {\n        \"Id\": \"sha256:abc\",\n        \"RepoTags\": [],\n        \"Config\": {\n            \"Env\": [\n                \"A=<b>\"\n            ],\n            \"Labels\": {}\n        },\n        \"Size\": 5\n    }\n]"
        );
        assert_eq!(to_go_pretty(&json!([])), "[]");
        assert_eq!(to_go_compact(&json!({"b": [1, "<"], "a": null})), r#"{"b":[1,"<"],"a":null}"#);
    }
}
