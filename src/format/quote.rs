//! Untrusted text made safe for a terminal. Names from archives (tar
//! entries, manifest tags), images, registries and containers reach error
//! messages; a tar entry named `\e]0;PWN\a` would otherwise retitle the
//! user's terminal, colour it, or worse (issue 12). Docker prints such
//! names with Go's `%q`; so do we, with Go's strconv rules (control bytes,
//! DEL and invalid UTF-8 as `\x..`, `\a \b \f \n \r \t \v`, other
//! non-printable characters as `\u….`).

use super::template::quote_char;

/// Go's `%q` of a name given as bytes (a tar entry's path need not be UTF-8).
pub fn quote(name: impl AsRef<[u8]>) -> String {
    let mut out = String::from("\"");
    push_escaped(&mut out, name.as_ref(), true);
    out.push('"');
    out
}

/// Free text from an untrusted source (a registry's error message, any
/// message as it leaves for the terminal): the same escapes without the
/// quotes; printable text, also a `"` or a `\`, stays as it is.
pub fn escape(text: impl AsRef<[u8]>) -> String {
    let mut out = String::new();
    push_escaped(&mut out, text.as_ref(), false);
    out
}

/// `escape` line by line: for a whole message on its way to the terminal,
/// whose own line breaks are meant.
pub fn escape_lines(text: &str) -> String {
    text.split('\n').map(escape).collect::<Vec<_>>().join("\n")
}

fn push_escaped(out: &mut String, bytes: &[u8], quoted: bool) {
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if !quoted && (c == '"' || c == '\\') {
                out.push(c);
            } else if invisible_format(c) {
                // Go's unicode.IsPrint is false for these (category Cf);
                // a bidi override would reorder what the user reads.
                out.push_str(&format!("\\u{:04x}", c as u32));
            } else {
                quote_char(out, c, '"');
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
}

/// Format characters (Unicode Cf) that change how text around them shows.
fn invisible_format(c: char) -> bool {
    matches!(c, '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{206f}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_as_go_does() {
        // Go: fmt.Sprintf("%q", "\x1b]0;PWN\a\x1b[31mX") == `"\x1b]0;PWN\a\x1b[31mX"`
        assert_eq!(quote("\x1b]0;PWN\x07\x1b[31mX"), r#""\x1b]0;PWN\a\x1b[31mX""#);
        assert_eq!(quote(b"a\xffb\x7f"), r#""a\xffb\x7f""#);
        assert_eq!(quote("say \"hi\"\\"), r#""say \"hi\"\\""#);
        assert_eq!(quote("é\u{202e}"), "\"é\\u202e\"");
        assert_eq!(quote("tab\there\n"), r#""tab\there\n""#);
    }

    #[test]
    fn escapes_free_text() {
        assert_eq!(escape("plain \"text\" C:\\x"), "plain \"text\" C:\\x");
        assert_eq!(escape("bad\x1b[2Jline\r\n"), r"bad\x1b[2Jline\r\n");
        assert_eq!(escape(b"\xc3(\x9b"), r"\xc3(\x9b");
        assert_eq!(escape_lines("one\x07\ntwo"), "one\\a\ntwo");
    }
}
