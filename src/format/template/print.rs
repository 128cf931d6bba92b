//! Go's fmt: printing values as Docker's Go code would (`%v`, `Sprintf`).

use std::borrow::Cow;

use serde_json::Value;

use super::exec::{go_type, val, V};
use super::funcs::{as_int, int_of};
use super::strconv::{format_float, go_quote, go_quote_rune, quote_with};

/// Print the result of an action: `<no value>` for a missing value, else %v.
pub(super) fn print_value(out: &mut String, v: &V<'_>) {
    match v {
        None => out.push_str("<no value>"),
        Some(v) => fmt_value(out, &Spec::default(), 'v', v, 0),
    }
}

/// fmt.Sprint of one value (%v).
pub(super) fn sprint_value(v: &Value) -> String {
    let mut out = String::new();
    fmt_value(&mut out, &Spec::default(), 'v', v, 0);
    out
}

/// fmt.Sprint: spaces between operands when neither is a string.
pub(super) fn sprint(args: &[V<'_>]) -> String {
    let mut out = String::new();
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        let is_string = matches!(a.as_deref(), Some(Value::String(_)));
        if i > 0 && !is_string && !prev_string {
            out.push(' ');
        }
        fmt_value(&mut out, &Spec::default(), 'v', val(a), 0);
        prev_string = is_string;
    }
    out
}

/// fmt.Sprintln: spaces between all operands, newline at the end.
pub(super) fn sprintln(args: &[V<'_>]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        fmt_value(&mut out, &Spec::default(), 'v', val(a), 0);
    }
    out.push('\n');
    out
}

#[derive(Debug, Clone, Copy, Default)]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// fmt.Sprintf with Go's verbs and flags (%v %s %d %q %t %x %X %o %b %c %e
/// %f %g %U, width, precision, `-+# 0`, `*`), including Go's error
/// notations (`%!d(string=x)`, `%!s(MISSING)`, `%!(EXTRA ...)`).
pub(super) fn sprintf(format: &str, args: &[V<'_>]) -> String {
    let mut out = String::new();
    let mut arg_num = 0;
    let mut chars = format.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        // Flags.
        while let Some(&(_, f)) = chars.peek() {
            match f {
                '#' => spec.sharp = true,
                '0' => spec.zero = !spec.minus,
                '+' => spec.plus = true,
                '-' => {
                    spec.minus = true;
                    spec.zero = false;
                }
                ' ' => spec.space = true,
                _ => break,
            }
            chars.next();
        }
        // Width.
        if let Some(&(_, '*')) = chars.peek() {
            chars.next();
            match args.get(arg_num).and_then(|a| a.as_deref()).and_then(as_int) {
                Some(w) => {
                    if w < 0 {
                        spec.minus = true;
                        spec.zero = false;
                    }
                    spec.width = Some((w.unsigned_abs() as usize).min(1_000_000));
                }
                None => out.push_str("%!(BADWIDTH)"),
            }
            arg_num += 1;
        } else {
            spec.width = take_number(&mut chars);
        }
        // Precision.
        if let Some(&(_, '.')) = chars.peek() {
            chars.next();
            if let Some(&(_, '*')) = chars.peek() {
                chars.next();
                match args.get(arg_num).and_then(|a| a.as_deref()).and_then(as_int) {
                    Some(p) if p >= 0 => spec.prec = Some((p as usize).min(1_000_000)),
                    _ => out.push_str("%!(BADPREC)"),
                }
                arg_num += 1;
            } else {
                spec.prec = Some(take_number(&mut chars).unwrap_or(0));
            }
        }
        let Some((_, verb)) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(arg_num) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        arg_num += 1;
        let mut verb = verb;
        if verb == 'v' {
            // %+v and %#v are struct and Go-syntax forms: for our values only
            // strings differ (%#v quotes them).
            spec.plus = false;
            if spec.sharp && val(arg).is_string() {
                verb = 'q';
            }
            spec.sharp = false;
        }
        fmt_value(&mut out, &spec, verb, val(arg), 0);
    }
    if arg_num < args.len() {
        out.push_str("%!(EXTRA ");
        for (i, a) in args[arg_num..].iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            match val(a) {
                Value::Null => out.push_str("<nil>"),
                v => {
                    out.push_str(go_type(v));
                    out.push('=');
                    fmt_value(&mut out, &Spec::default(), 'v', v, 0);
                }
            }
        }
        out.push(')');
    }
    out
}

fn take_number(chars: &mut std::iter::Peekable<std::str::CharIndices>) -> Option<usize> {
    let mut n: Option<usize> = None;
    while let Some(&(_, d)) = chars.peek() {
        let Some(d) = d.to_digit(10) else { break };
        n = Some(n.unwrap_or(0).saturating_mul(10).saturating_add(d as usize));
        chars.next();
    }
    // Like Go, a width or precision over 1e6 is ignored.
    n.filter(|&n| n <= 1_000_000)
}

fn pad(out: &mut String, spec: &Spec, s: &str) {
    let w = spec.width.unwrap_or(0);
    let n = s.chars().count();
    if n >= w {
        out.push_str(s);
        return;
    }
    let fill = if spec.zero { '0' } else { ' ' };
    if spec.minus {
        out.push_str(s);
        out.extend(std::iter::repeat_n(' ', w - n));
    } else {
        out.extend(std::iter::repeat_n(fill, w - n));
        out.push_str(s);
    }
}

fn bad_verb(out: &mut String, verb: char, v: &Value) {
    out.push_str("%!");
    out.push(verb);
    out.push('(');
    if v.is_null() {
        out.push_str("<nil>");
    } else {
        out.push_str(go_type(v));
        out.push('=');
        fmt_value(out, &Spec::default(), 'v', v, 0);
    }
    out.push(')');
}

fn fmt_value(out: &mut String, spec: &Spec, verb: char, v: &Value, depth: usize) {
    if verb == 'T' && depth == 0 {
        return pad(out, spec, go_type(v));
    }
    match v {
        Value::Null => {
            if verb == 'v' || depth > 0 {
                pad(out, spec, "<nil>");
            } else {
                bad_verb(out, verb, v);
            }
        }
        Value::Bool(b) => match verb {
            'v' | 't' => pad(out, spec, if *b { "true" } else { "false" }),
            _ => bad_verb(out, verb, v),
        },
        Value::Number(n) => match int_of(n) {
            Some(i) => fmt_int(out, spec, verb, i, v),
            None => fmt_float(out, spec, verb, n.as_f64().unwrap_or(0.0), v),
        },
        Value::String(s) => fmt_str(out, spec, verb, s, v),
        Value::Array(a) => {
            out.push('[');
            for (i, e) in a.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                fmt_value(out, spec, verb, e, depth + 1);
            }
            out.push(']');
        }
        Value::Object(m) => {
            // fmt prints maps with sorted keys.
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push_str("map[");
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                fmt_str(out, spec, verb, k, &Value::Null);
                out.push(':');
                fmt_value(out, spec, verb, &m[k], depth + 1);
            }
            out.push(']');
        }
    }
}

fn fmt_int(out: &mut String, spec: &Spec, verb: char, i: i128, orig: &Value) {
    let (base, upper) = match verb {
        'v' | 'd' => (10, false),
        'b' => (2, false),
        'o' | 'O' => (8, false),
        'x' => (16, false),
        'X' => (16, true),
        'c' => {
            let c = u32::try_from(i).ok().and_then(char::from_u32).unwrap_or('\u{FFFD}');
            return pad(out, spec, &c.to_string());
        }
        'q' => {
            let c = u32::try_from(i).ok().and_then(char::from_u32).unwrap_or('\u{FFFD}');
            return pad(out, spec, &go_quote_rune(c));
        }
        'U' => {
            let s = format!("U+{:04X}", i);
            return pad(out, spec, &s);
        }
        _ => return bad_verb(out, verb, orig),
    };
    let neg = i < 0;
    let u = i.unsigned_abs();
    let mut digits = match base {
        2 => format!("{u:b}"),
        8 => format!("{u:o}"),
        16 if upper => format!("{u:X}"),
        16 => format!("{u:x}"),
        _ => u.to_string(),
    };
    // Minimum digits: an explicit precision, or the width with the 0 flag.
    let mut prec = 0;
    if let Some(p) = spec.prec {
        prec = p;
        if p == 0 && u == 0 {
            let blank = Spec { zero: false, ..*spec };
            return pad(out, &blank, "");
        }
    } else if spec.zero && !spec.minus {
        if let Some(w) = spec.width {
            prec = w;
            if neg || spec.plus || spec.space {
                prec = prec.saturating_sub(1);
            }
        }
    }
    if digits.len() < prec {
        digits = "0".repeat(prec - digits.len()) + &digits;
    }
    let mut prefix = String::new();
    if neg {
        prefix.push('-');
    } else if spec.plus {
        prefix.push('+');
    } else if spec.space {
        prefix.push(' ');
    }
    if spec.sharp {
        match base {
            2 => prefix.push_str("0b"),
            8 if !digits.starts_with('0') => prefix.push('0'),
            16 => prefix.push_str(if upper { "0X" } else { "0x" }),
            _ => {}
        }
    }
    if verb == 'O' {
        prefix.push_str("0o");
    }
    let no_zero = Spec { zero: false, ..*spec };
    pad(out, &no_zero, &(prefix + &digits));
}

fn fmt_float(out: &mut String, spec: &Spec, verb: char, f: f64, orig: &Value) {
    let (fmt, prec) = match verb {
        'v' | 'g' | 'G' => (if verb == 'v' { 'g' } else { verb }, spec.prec.map(|p| p as i32).unwrap_or(-1)),
        'e' | 'E' | 'f' | 'F' => (verb, spec.prec.map(|p| p as i32).unwrap_or(6)),
        _ => return bad_verb(out, verb, orig),
    };
    let mut num = format_float(f, fmt.to_ascii_lowercase(), prec);
    if fmt.is_ascii_uppercase() {
        num = num.to_uppercase();
    }
    let (sign, body) = match num.strip_prefix('-') {
        Some(b) => ("-", b.to_string()),
        None if spec.plus => ("+", num.clone()),
        None if spec.space => (" ", num.clone()),
        None => ("", num.clone()),
    };
    if body.starts_with(['I', 'N', 'i', 'n']) {
        let s = format!("{sign}{body}");
        return pad(out, &Spec { zero: false, ..*spec }, &s);
    }
    let total = sign.len() + body.chars().count();
    match spec.width {
        // Zero padding goes between the sign and the digits.
        Some(w) if spec.zero && !spec.minus && w > total => {
            out.push_str(sign);
            out.extend(std::iter::repeat_n('0', w - total));
            out.push_str(&body);
        }
        _ => pad(out, &Spec { zero: false, ..*spec }, &format!("{sign}{body}")),
    }
}

fn fmt_str(out: &mut String, spec: &Spec, verb: char, s: &str, orig: &Value) {
    // Precision limits the runes of a string (bytes for %x).
    let limited: Cow<str> = match spec.prec {
        Some(p) if verb != 'x' && verb != 'X' => Cow::Owned(s.chars().take(p).collect()),
        _ => Cow::Borrowed(s),
    };
    match verb {
        'v' | 's' => pad(out, spec, &limited),
        'q' => {
            if spec.sharp && !limited.contains('`') && !limited.chars().any(|c| c.is_control() && c != '\t') {
                pad(out, spec, &format!("`{limited}`"));
            } else if spec.plus {
                pad(out, spec, &quote_with(&limited, true));
            } else {
                pad(out, spec, &go_quote(&limited));
            }
        }
        'x' | 'X' => {
            let bytes = s.as_bytes();
            let bytes = &bytes[..spec.prec.unwrap_or(bytes.len()).min(bytes.len())];
            let mut h = String::new();
            for (i, b) in bytes.iter().enumerate() {
                if spec.space && i > 0 {
                    h.push(' ');
                }
                if spec.sharp && (spec.space || i == 0) {
                    h.push_str(if verb == 'x' { "0x" } else { "0X" });
                }
                if verb == 'x' {
                    h.push_str(&format!("{b:02x}"));
                } else {
                    h.push_str(&format!("{b:02X}"));
                }
            }
            pad(out, spec, &h);
        }
        _ => {
            let o = if orig.is_null() { Value::String(s.to_string()) } else { orig.clone() };
            bad_verb(out, verb, &o)
        }
    }
}
