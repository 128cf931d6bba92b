//! Go's strconv: quoting strings and runes, and formatting floats, the
//! way `fmt` and `encoding/json` use them.

// ---------------------------------------------------------------------------
// Quoting

/// Go's strconv.Quote.
pub(super) fn go_quote(s: &str) -> String {
    quote_with(s, false)
}

/// strconv.Quote, or strconv.QuoteToASCII when `ascii`.
pub(super) fn quote_with(s: &str, ascii: bool) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if ascii && !c.is_ascii() {
            if (c as u32) < 0x10000 {
                out.push_str(&format!("\\u{:04x}", c as u32));
            } else {
                out.push_str(&format!("\\U{:08x}", c as u32));
            }
        } else {
            quote_char(&mut out, c, '"');
        }
    }
    out.push('"');
    out
}

pub(super) fn go_quote_rune(c: char) -> String {
    let mut out = String::from("'");
    quote_char(&mut out, c, '\'');
    out.push('\'');
    out
}

pub(crate) fn quote_char(out: &mut String, c: char, quote: char) {
    match c {
        c if c == quote => {
            out.push('\\');
            out.push(c);
        }
        '\\' => out.push_str("\\\\"),
        '\x07' => out.push_str("\\a"),
        '\x08' => out.push_str("\\b"),
        '\x0c' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\x0b' => out.push_str("\\v"),
        c if (c as u32) < 0x20 || c == '\x7f' => out.push_str(&format!("\\x{:02x}", c as u32)),
        c if c.is_control() || (c.is_whitespace() && c != ' ') || c == '\u{FEFF}' => {
            if (c as u32) < 0x10000 {
                out.push_str(&format!("\\u{:04x}", c as u32));
            } else {
                out.push_str(&format!("\\U{:08x}", c as u32));
            }
        }
        c => out.push(c),
    }
}

// ---------------------------------------------------------------------------
// Go's strconv float formatting

/// Decimal digits of |f| without trailing zeros, and the decimal point
/// position: |f| = 0.d1d2...dn × 10^dp. `sig` rounds to that many
/// significant digits (round half to even, like Go); `None` is the shortest
/// representation that reads back to the same float.
fn decimal_digits(f: f64, sig: Option<usize>) -> (Vec<u8>, i32) {
    let f = f.abs();
    if f == 0.0 {
        return (Vec::new(), 0);
    }
    let s = match sig {
        Some(n) => format!("{:.*e}", n.max(1) - 1, f),
        None => {
            // The shortest digit count that reads back, then those digits
            // correctly rounded: when two candidates are equally close Go
            // picks the even one, where Rust's shortest formatter rounds up.
            let shortest = format!("{f:e}");
            let n = shortest.split('e').next().unwrap().bytes().filter(u8::is_ascii_digit).count();
            format!("{:.*e}", n - 1, f)
        }
    };
    let (mant, exp) = s.split_once('e').unwrap();
    let exp: i32 = exp.parse().unwrap();
    let mut digits: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
    while digits.last() == Some(&b'0') {
        digits.pop();
    }
    if digits.is_empty() {
        return (Vec::new(), 0);
    }
    (digits, exp + 1)
}

/// %e from digits: d.ddde±dd with `prec` digits after the point.
fn fmt_e(neg: bool, digits: &[u8], dp: i32, prec: usize) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    out.push(digits.first().map(|&d| d as char).unwrap_or('0'));
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            out.push(digits.get(i).map(|&d| d as char).unwrap_or('0'));
        }
    }
    let exp = if digits.is_empty() { 0 } else { dp - 1 };
    out.push('e');
    out.push(if exp < 0 { '-' } else { '+' });
    let e = exp.unsigned_abs();
    if e < 10 {
        out.push('0');
    }
    out.push_str(&e.to_string());
    out
}

/// %f from digits with `prec` digits after the point.
fn fmt_f(neg: bool, digits: &[u8], dp: i32, prec: usize) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if dp > 0 {
        for i in 0..dp as usize {
            out.push(digits.get(i).map(|&d| d as char).unwrap_or('0'));
        }
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for i in 1..=prec as i32 {
            let idx = dp + i - 1;
            let d = if idx >= 0 { digits.get(idx as usize).copied() } else { None };
            out.push(d.map(|d| d as char).unwrap_or('0'));
        }
    }
    out
}

/// Go's strconv.FormatFloat(f, fmt, prec, 64) for fmt in 'e', 'f', 'g'
/// (prec -1 = shortest).
pub(crate) fn format_float(f: f64, fmt: char, prec: i32) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    let neg = f.is_sign_negative() && f != 0.0;
    let shortest = prec < 0;
    match fmt {
        'e' => {
            let (d, dp) = decimal_digits(f, if shortest { None } else { Some(prec as usize + 1) });
            let p = if shortest { d.len().saturating_sub(1) } else { prec as usize };
            fmt_e(neg, &d, dp, p)
        }
        'f' => {
            if shortest {
                let (d, dp) = decimal_digits(f, None);
                fmt_f(neg, &d, dp, (d.len() as i32 - dp).max(0) as usize)
            } else {
                let s = format!("{:.*}", prec as usize, f.abs());
                if neg {
                    format!("-{s}")
                } else {
                    s
                }
            }
        }
        _ => {
            let mut p = if shortest { 0 } else { prec.max(1) as usize };
            let (d, dp) = decimal_digits(f, if shortest { None } else { Some(p) });
            let nd = d.len();
            let mut eprec = p as i32;
            if shortest {
                // Shortest %g (fmt's %v) uses %e from exponent 6 on.
                p = nd;
                eprec = 6;
            } else if eprec > nd as i32 && nd as i32 >= dp {
                eprec = nd as i32;
            }
            let exp = dp - 1;
            if exp < -4 || exp >= eprec {
                let p = p.min(nd);
                fmt_e(neg, &d, dp, p.saturating_sub(1))
            } else {
                let p = if p as i32 > dp { nd as i32 } else { p as i32 };
                fmt_f(neg, &d, dp, (p - dp).max(0) as usize)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_float_formatting() {
        assert_eq!(format_float(4.26155, 'g', 3), "4.26");
        assert_eq!(format_float(999.999, 'g', 3), "1e+03");
        assert_eq!(format_float(100.0, 'g', 3), "100");
        assert_eq!(format_float(1.125, 'g', 3), "1.12");
        assert_eq!(format_float(0.0, 'g', 3), "0");
        assert_eq!(format_float(0.0, 'g', -1), "0");
        assert_eq!(format_float(1e21, 'g', -1), "1e+21");
        assert_eq!(format_float(123456.0, 'g', -1), "123456");
        assert_eq!(format_float(1234567.0, 'g', -1), "1.234567e+06");
        assert_eq!(format_float(-2.5, 'e', 2), "-2.50e+00");
        assert_eq!(format_float(0.1, 'f', -1), "0.1");
        assert_eq!(format_float(1e20, 'f', -1), "100000000000000000000");
        assert_eq!(format_float(0.000001234, 'f', -1), "0.000001234");
    }

    #[test]
    fn go_quote_matches_strconv() {
        assert_eq!(go_quote("a\"b\\c\n\t\x01é"), r#""a\"b\\c\n\t\x01é""#);
        assert_eq!(go_quote("\u{a0}"), r#""\u00a0""#);
    }
}
