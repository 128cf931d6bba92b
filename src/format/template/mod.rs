//! A subset of Go's `text/template`, evaluated over `serde_json::Value`.
//!
//! This is the language of Docker's `--format` flags. The lexer and parser
//! follow Go's `text/template/parse` closely (same tokens, grammar and error
//! messages, e.g. `template: :1: unexpected "}" in operand`) so that
//! templates copied from Docker documentation and scripts behave the same.
//! The data are JSON values standing for Docker's Go structs, so:
//!
//! * a field `.X` is a lookup of key `X` in a JSON object (case-sensitive, as
//!   Go's struct field lookup is); a missing key is Go's "no value", printed
//!   `<no value>` like a missing key of a Go map;
//! * a field of `null` or of a missing value is again "no value" (Go stops
//!   with "nil pointer evaluating ..." there; we are lenient on purpose);
//! * values print as `fmt.Print` prints the Go values Docker holds: integers
//!   without a decimal point, floats like a `float64` (`1.5`, `1e+21`),
//!   objects as maps (`map[a:1 b:2]`, keys sorted), arrays as slices
//!   (`[a b c]`), `null` as `<nil>` (a nil pointer);
//! * `index` of a missing key gives `""` when the object holds only strings
//!   (Docker's `map[string]string` labels and options), else "no value";
//!   `len` and `index` treat `null` as an empty (nil) slice or map;
//! * numbers compare by value across int and float (Go refuses to compare an
//!   int with a float64; JSON has no such distinction);
//! * object keys keep their order in `json` output (struct fields), except a
//!   list row itself, which Docker marshals as a sorted, HTML-escaped map.
//!
//! Functions: Go's builtins (`and or not len index slice print printf
//! println eq ne lt le gt ge html js urlquery`) and Docker's (`json join
//! split title lower upper pad truncate`, docker/cli `templates`). Control:
//! `if`/`else if`/`else`, `range` (with `else`, `break`, `continue`, over
//! arrays, objects in key order, and integers), `with`/`else with`,
//! variables, comments and trim markers. Not supported: `define`,
//! `template` and `block` (one template per format), method calls with
//! arguments (`.Label "x"` on Docker's Go structs), `call`, and complex
//! numbers.
//!
//! How a template goes through: `lexer` splits the source into text and
//! action tokens; `parser` builds a tree of `tree` nodes, checking function
//! names and variables as Go does at parse time; `exec` walks that tree over
//! the data, calling the functions of `funcs`. Values print through `print`
//! (Go's fmt), `json` writes through `json` (Go's encoding/json), and both
//! quote and format floats with `strconv`. Every stage reports a
//! [`TemplateError`].

mod exec;
mod funcs;
mod json;
mod lexer;
mod parser;
mod print;
mod strconv;
#[cfg(test)]
mod tests;
mod tree;

use std::fmt;

use serde_json::{Map, Value};

pub use json::{to_go_compact, to_go_pretty};
pub(crate) use strconv::{format_float, quote_char};
use tree::Node;

// ---------------------------------------------------------------------------
// Errors

/// A template parse or execution error. The message reads like Docker's,
/// e.g. `template parsing error: template: :1: unexpected "}" in operand`
/// (Docker wraps both parse and execution errors as "template parsing error").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    message: String,
}

impl TemplateError {
    pub fn new(message: impl Into<String>) -> Self {
        TemplateError { message: message.into() }
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TemplateError {}

const ERR_PREFIX: &str = "template parsing error: ";

fn parse_error(line: usize, msg: impl fmt::Display) -> TemplateError {
    TemplateError::new(format!("{ERR_PREFIX}template: :{line}: {msg}"))
}

// ---------------------------------------------------------------------------
// Template

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    src: String,
    root: Vec<Node>,
}

/// How to execute a template; the list renderer needs two special modes.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) enum Mode<'h> {
    #[default]
    Normal,
    /// Rendering one row of a list command: `json` of the row itself is
    /// Docker's formatter-context MarshalJSON (keys sorted, HTML escaped).
    Row,
    /// Rendering the table header: every field renders as its column title
    /// (the upper-cased field name when unknown) and Docker's
    /// `HeaderFunctions` replace json/split/join/title/lower/upper/truncate
    /// by the identity.
    Header(&'h [(&'h str, &'h str)]),
}

impl Template {
    /// Parse a template.
    pub fn parse(src: &str) -> Result<Template, TemplateError> {
        let root = parser::parse(src)?;
        Ok(Template { src: src.to_string(), root })
    }

    /// Execute the template with `data` as dot (and `$`).
    pub fn render(&self, data: &Value) -> Result<String, TemplateError> {
        let (out, res) = self.execute(data, Mode::Normal);
        res.map(|()| out)
    }

    /// Execute, returning whatever was written before an error too (Docker
    /// prints the partial table header when its execution fails).
    pub(crate) fn execute(&self, data: &Value, mode: Mode<'_>) -> (String, Result<(), TemplateError>) {
        exec::execute(&self.root, &self.src, data, mode)
    }
}

/// Keys of a header map are looked up by field name; this builds the
/// context object Docker executes the header row against.
pub(crate) fn header_context(headers: &[(&str, &str)]) -> Value {
    let mut m = Map::new();
    for (k, t) in headers {
        if !m.contains_key(*k) {
            m.insert(k.to_string(), Value::String(t.to_string()));
        }
    }
    Value::Object(m)
}
