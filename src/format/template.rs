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

use std::borrow::Cow;
use std::fmt;

use serde_json::{Map, Value};

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
// Lexer (mirrors text/template/parse/lex.go)

const LEFT: &str = "{{";
const RIGHT: &str = "}}";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kw {
    Block,
    Break,
    Continue,
    Define,
    Else,
    End,
    If,
    Range,
    Template,
    With,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Text(String),
    LeftDelim,
    RightDelim,
    Space,
    Field,
    Variable,
    Dot,
    Ident,
    Keyword(Kw),
    Bool,
    Nil,
    Str,
    RawStr,
    CharConst,
    Number,
    Pipe,
    LParen,
    RParen,
    Declare,
    Assign,
    /// Any other printable ASCII character inside an action (Go's itemChar).
    Char,
    Error(String),
    Eof,
}

#[derive(Debug, Clone)]
struct Item {
    tok: Tok,
    /// Source text of the token.
    val: String,
    pos: usize,
    line: usize,
}

impl Item {
    /// How Go's parser names a token in "unexpected ..." errors.
    fn describe(&self) -> String {
        match &self.tok {
            Tok::Eof => "EOF".into(),
            Tok::Error(m) => m.clone(),
            Tok::Keyword(_) | Tok::Dot | Tok::Nil => format!("<{}>", self.val),
            _ if self.val.chars().count() > 10 => {
                let head: String = self.val.chars().take(10).collect();
                format!("{}...", go_quote(&head))
            }
            _ => go_quote(&self.val),
        }
    }
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphabetic() || c.is_numeric()
}

fn has_left_trim_marker(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0] == b'-' && is_space(b[1] as char)
}

fn has_right_trim_marker(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && is_space(b[0] as char) && b[1] == b'-'
}

/// Go's `%#U`: `U+007D '}'`.
fn fmt_unicode(c: char) -> String {
    if c.is_control() {
        format!("U+{:04X}", c as u32)
    } else {
        format!("U+{:04X} '{}'", c as u32, c)
    }
}

struct Lexer<'s> {
    src: &'s str,
    pos: usize,
    start: usize,
    line: usize,
    start_line: usize,
    paren_depth: usize,
    items: Vec<Item>,
}

fn lex(src: &str) -> Vec<Item> {
    let mut lx = Lexer { src, pos: 0, start: 0, line: 1, start_line: 1, paren_depth: 0, items: Vec::new() };
    lx.run();
    lx.items
}

impl<'s> Lexer<'s> {
    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn backup(&mut self, c: char) {
        self.pos -= c.len_utf8();
        if c == '\n' {
            self.line -= 1;
        }
    }

    fn accept(&mut self, valid: &str) -> bool {
        match self.peek() {
            Some(c) if valid.contains(c) => {
                self.next();
                true
            }
            _ => false,
        }
    }

    fn accept_run(&mut self, valid: &str) {
        while self.accept(valid) {}
    }

    /// Emit the token spanning `start..pos`.
    fn emit(&mut self, tok: Tok) {
        let val = self.src[self.start..self.pos].to_string();
        self.items.push(Item { tok, val, pos: self.start, line: self.start_line });
        self.ignore();
    }

    fn ignore(&mut self) {
        self.start = self.pos;
        self.start_line = self.line;
    }

    fn error(&mut self, msg: String) {
        self.items.push(Item { tok: Tok::Error(msg.clone()), val: msg, pos: self.start, line: self.line });
    }

    fn advance_to(&mut self, pos: usize) {
        self.line += self.src[self.pos..pos].matches('\n').count();
        self.pos = pos;
    }

    fn run(&mut self) {
        loop {
            let rest = &self.src[self.pos..];
            let Some(x) = rest.find(LEFT) else {
                self.advance_to(self.src.len());
                if self.pos > self.start {
                    let text = self.src[self.start..self.pos].to_string();
                    self.emit(Tok::Text(text));
                }
                self.items.push(Item { tok: Tok::Eof, val: String::new(), pos: self.pos, line: self.line });
                return;
            };
            let delim = self.pos + x;
            self.advance_to(delim);
            // `{{- ` trims the whitespace before the action.
            let trim = has_left_trim_marker(&self.src[delim + LEFT.len()..]);
            let mut text = &self.src[self.start..delim];
            if trim {
                text = text.trim_end_matches(is_space);
            }
            if !text.is_empty() {
                let text = text.to_string();
                self.items.push(Item {
                    tok: Tok::Text(text.clone()),
                    val: text,
                    pos: self.start,
                    line: self.start_line,
                });
            }
            self.ignore();
            if !self.lex_left_delim(trim) {
                return;
            }
        }
    }

    /// Returns (at a right delimiter, with trim marker).
    fn at_right_delim(&self) -> (bool, bool) {
        let rest = &self.src[self.pos..];
        if has_right_trim_marker(rest) && rest[2..].starts_with(RIGHT) {
            return (true, true);
        }
        (rest.starts_with(RIGHT), false)
    }

    fn skip_leading_space(&mut self) {
        let rest = &self.src[self.pos..];
        let n = rest.len() - rest.trim_start_matches(is_space).len();
        self.advance_to(self.pos + n);
        self.ignore();
    }

    /// Lex from `{{` to the matching `}}`. Returns false after an error.
    fn lex_left_delim(&mut self, trim: bool) -> bool {
        let after_marker = if trim { 2 } else { 0 };
        let body = self.pos + LEFT.len() + after_marker;
        if self.src[body..].starts_with("/*") {
            // A comment: `{{/* ... */}}`, produces no token.
            self.advance_to(body);
            self.ignore();
            let Some(end) = self.src[body + 2..].find("*/") else {
                self.error("unclosed comment".into());
                return false;
            };
            self.advance_to(body + 2 + end + 2);
            let (delim, trim_right) = self.at_right_delim();
            if !delim {
                self.error("comment ends before closing delimiter".into());
                return false;
            }
            self.advance_to(self.pos + if trim_right { 2 } else { 0 } + RIGHT.len());
            self.ignore();
            if trim_right {
                self.skip_leading_space();
            }
            return true;
        }
        self.pos += LEFT.len();
        self.emit(Tok::LeftDelim);
        self.pos += after_marker;
        self.ignore();
        self.paren_depth = 0;
        self.lex_inside_action()
    }

    fn lex_inside_action(&mut self) -> bool {
        loop {
            let (delim, trim_right) = self.at_right_delim();
            if delim {
                if self.paren_depth > 0 {
                    self.error("unclosed left paren".into());
                    return false;
                }
                if trim_right {
                    self.pos += 2;
                    self.ignore();
                }
                self.pos += RIGHT.len();
                self.emit(Tok::RightDelim);
                if trim_right {
                    self.skip_leading_space();
                }
                return true;
            }
            let Some(c) = self.next() else {
                self.error("unclosed action".into());
                return false;
            };
            let ok = match c {
                c if is_space(c) => {
                    self.lex_space();
                    true
                }
                '=' => {
                    self.emit(Tok::Assign);
                    true
                }
                ':' => {
                    if self.next() != Some('=') {
                        self.error("expected :=".into());
                        false
                    } else {
                        self.emit(Tok::Declare);
                        true
                    }
                }
                '|' => {
                    self.emit(Tok::Pipe);
                    true
                }
                '"' => self.lex_quote(),
                '`' => self.lex_raw_quote(),
                '$' => self.lex_field_or_variable(Tok::Variable),
                '\'' => self.lex_char(),
                '.' => {
                    if matches!(self.peek(), Some('0'..='9')) {
                        self.backup('.');
                        self.lex_number()
                    } else {
                        self.lex_field_or_variable(Tok::Field)
                    }
                }
                '+' | '-' | '0'..='9' => {
                    self.backup(c);
                    self.lex_number()
                }
                c if is_alnum(c) => {
                    self.backup(c);
                    self.lex_identifier()
                }
                '(' => {
                    self.emit(Tok::LParen);
                    self.paren_depth += 1;
                    true
                }
                ')' => {
                    if self.paren_depth == 0 {
                        self.error("unexpected right paren".into());
                        false
                    } else {
                        self.paren_depth -= 1;
                        self.emit(Tok::RParen);
                        true
                    }
                }
                c if c.is_ascii() && !c.is_ascii_control() => {
                    self.emit(Tok::Char);
                    true
                }
                c => {
                    self.error(format!("unrecognized character in action: {}", fmt_unicode(c)));
                    false
                }
            };
            if !ok {
                return false;
            }
        }
    }

    fn lex_space(&mut self) {
        let mut n = 1;
        while let Some(c) = self.peek() {
            if !is_space(c) {
                break;
            }
            self.next();
            n += 1;
        }
        // Leave the space of a trim-marked closing delimiter (" -}}") alone.
        let rest = &self.src[self.pos - 1..];
        if has_right_trim_marker(rest) && rest[2..].starts_with(RIGHT) {
            let last = self.src[..self.pos].chars().next_back().unwrap();
            self.backup(last);
            if n == 1 {
                return;
            }
        }
        self.emit(Tok::Space);
    }

    fn lex_quote(&mut self) -> bool {
        loop {
            match self.next() {
                Some('\\') => match self.next() {
                    None | Some('\n') => {
                        self.error("unterminated quoted string".into());
                        return false;
                    }
                    _ => {}
                },
                None | Some('\n') => {
                    self.error("unterminated quoted string".into());
                    return false;
                }
                Some('"') => break,
                _ => {}
            }
        }
        self.emit(Tok::Str);
        true
    }

    fn lex_raw_quote(&mut self) -> bool {
        loop {
            match self.next() {
                None => {
                    self.error("unterminated raw quoted string".into());
                    return false;
                }
                Some('`') => break,
                _ => {}
            }
        }
        self.emit(Tok::RawStr);
        true
    }

    fn lex_char(&mut self) -> bool {
        loop {
            match self.next() {
                Some('\\') => match self.next() {
                    None | Some('\n') => {
                        self.error("unterminated character constant".into());
                        return false;
                    }
                    _ => {}
                },
                None | Some('\n') => {
                    self.error("unterminated character constant".into());
                    return false;
                }
                Some('\'') => break,
                _ => {}
            }
        }
        self.emit(Tok::CharConst);
        true
    }

    fn at_terminator(&self) -> bool {
        match self.peek() {
            None => true,
            Some(c) if is_space(c) => true,
            Some('.' | ',' | '|' | ':' | ')' | '(') => true,
            _ => self.src[self.pos..].starts_with(RIGHT),
        }
    }

    fn lex_field_or_variable(&mut self, tok: Tok) -> bool {
        if self.at_terminator() {
            // Nothing follows: "." or "$".
            self.emit(if tok == Tok::Variable { Tok::Variable } else { Tok::Dot });
            return true;
        }
        let mut last = None;
        while let Some(c) = self.peek() {
            if !is_alnum(c) {
                last = Some(c);
                break;
            }
            self.next();
        }
        if !self.at_terminator() {
            let c = last.unwrap_or('\0');
            self.error(format!("bad character {}", fmt_unicode(c)));
            return false;
        }
        self.emit(tok);
        true
    }

    fn lex_identifier(&mut self) -> bool {
        while let Some(c) = self.peek() {
            if !is_alnum(c) {
                break;
            }
            self.next();
        }
        if !self.at_terminator() {
            let c = self.peek().unwrap_or('\0');
            self.error(format!("bad character {}", fmt_unicode(c)));
            return false;
        }
        let tok = match &self.src[self.start..self.pos] {
            "block" => Tok::Keyword(Kw::Block),
            "break" => Tok::Keyword(Kw::Break),
            "continue" => Tok::Keyword(Kw::Continue),
            "define" => Tok::Keyword(Kw::Define),
            "else" => Tok::Keyword(Kw::Else),
            "end" => Tok::Keyword(Kw::End),
            "if" => Tok::Keyword(Kw::If),
            "range" => Tok::Keyword(Kw::Range),
            "template" => Tok::Keyword(Kw::Template),
            "with" => Tok::Keyword(Kw::With),
            "nil" => Tok::Nil,
            "true" | "false" => Tok::Bool,
            _ => Tok::Ident,
        };
        self.emit(tok);
        true
    }

    fn lex_number(&mut self) -> bool {
        // Go's scanNumber: sign, base prefix, digits, fraction, exponent.
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if digits.len() == 23 && self.accept("pP") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        self.accept("i");
        if matches!(self.peek(), Some(c) if is_alnum(c)) {
            self.next();
            let text = self.src[self.start..self.pos].to_string();
            self.error(format!("bad number syntax: {}", go_quote(&text)));
            return false;
        }
        self.emit(Tok::Number);
        true
    }
}

// ---------------------------------------------------------------------------
// Parse tree

#[derive(Debug, Clone)]
enum Node {
    Text(String),
    Action(Pipe),
    If(Box<Control>),
    With(Box<Control>),
    Range(Box<Control>),
    Break,
    Continue,
}

#[derive(Debug, Clone)]
struct Control {
    pipe: Pipe,
    list: Vec<Node>,
    else_list: Option<Vec<Node>>,
}

#[derive(Debug, Clone)]
struct Pipe {
    decl: Vec<String>,
    is_assign: bool,
    cmds: Vec<Cmd>,
}

#[derive(Debug, Clone)]
struct Cmd {
    pos: usize,
    args: Vec<Operand>,
}

#[derive(Debug, Clone)]
struct Operand {
    pos: usize,
    op: Op,
}

#[derive(Debug, Clone)]
enum Op {
    Dot,
    Nil,
    Bool(bool),
    /// Source text and value (an integer or a float, as Go's ideal constant).
    Number(String, Value),
    /// Source text (quoted) and unquoted value.
    Str(String, String),
    /// `.A.B`: fields looked up on dot.
    Field(Vec<String>),
    /// `$x.A.B`: a variable and fields looked up on it.
    Variable(String, Vec<String>),
    /// A function name.
    Ident(String),
    /// A parenthesised pipeline.
    Pipe(Box<Pipe>),
    /// `(pipeline).A.B` or `ident.A`: fields looked up on a term.
    Chain(Box<Operand>, Vec<String>),
}

impl fmt::Display for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.decl.is_empty() {
            f.write_str(&self.decl.join(", "))?;
            f.write_str(if self.is_assign { " = " } else { " := " })?;
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            match &a.op {
                Op::Pipe(p) => write!(f, "({p})")?,
                _ => write!(f, "{a}")?,
            }
        }
        Ok(())
    }
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.op {
            Op::Dot => f.write_str("."),
            Op::Nil => f.write_str("nil"),
            Op::Bool(b) => write!(f, "{b}"),
            Op::Number(text, _) | Op::Str(text, _) => f.write_str(text),
            Op::Field(idents) => write!(f, ".{}", idents.join(".")),
            Op::Variable(name, idents) => {
                f.write_str(name)?;
                for i in idents {
                    write!(f, ".{i}")?;
                }
                Ok(())
            }
            Op::Ident(name) => f.write_str(name),
            Op::Pipe(p) => write!(f, "{p}"),
            Op::Chain(node, idents) => {
                match &node.op {
                    Op::Pipe(p) => write!(f, "({p})")?,
                    _ => write!(f, "{node}")?,
                }
                for i in idents {
                    write!(f, ".{i}")?;
                }
                Ok(())
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Parser (mirrors text/template/parse/parse.go)

/// Functions known to the parser: Go's builtins and Docker's additions.
const FUNCTIONS: &[&str] = &[
    "and", "or", "not", "len", "index", "slice", "print", "printf", "println", "eq", "ne", "lt", "le", "gt", "ge",
    "html", "js", "urlquery", "json", "split", "join", "title", "lower", "upper", "pad", "truncate",
];

enum Parsed {
    Node(Node),
    End,
    Else,
}

struct Parser {
    items: Vec<Item>,
    idx: usize,
    line: usize,
    vars: Vec<String>,
    range_depth: usize,
}

type PResult<T> = Result<T, TemplateError>;

impl Parser {
    fn item(&self, i: usize) -> &Item {
        &self.items[i.min(self.items.len() - 1)]
    }

    fn next(&mut self) -> PResult<Item> {
        let it = self.item(self.idx).clone();
        self.idx += 1;
        self.line = it.line;
        if let Tok::Error(msg) = &it.tok {
            return Err(parse_error(it.line, msg));
        }
        Ok(it)
    }

    fn backup(&mut self) {
        self.idx -= 1;
    }

    fn peek(&self) -> &Item {
        self.item(self.idx)
    }

    fn next_non_space(&mut self) -> PResult<Item> {
        loop {
            let it = self.next()?;
            if it.tok != Tok::Space {
                return Ok(it);
            }
        }
    }

    fn peek_non_space(&mut self) -> PResult<Item> {
        let it = self.next_non_space()?;
        self.backup();
        Ok(it)
    }

    fn errorf(&self, msg: impl fmt::Display) -> TemplateError {
        parse_error(self.line, msg)
    }

    fn unexpected(&self, it: &Item, context: &str) -> TemplateError {
        parse_error(it.line, format!("unexpected {} in {}", it.describe(), context))
    }

    fn expect(&mut self, tok: Tok, context: &str) -> PResult<Item> {
        let it = self.next_non_space()?;
        if it.tok != tok {
            return Err(self.unexpected(&it, context));
        }
        Ok(it)
    }

    fn parse(&mut self) -> PResult<Vec<Node>> {
        let mut list = Vec::new();
        while self.peek().tok != Tok::Eof {
            match self.text_or_action()? {
                Parsed::Node(n) => list.push(n),
                Parsed::End => return Err(self.errorf("unexpected {{end}}")),
                Parsed::Else => return Err(self.errorf("unexpected {{else}}")),
            }
        }
        // A trailing lexer error (e.g. "unclosed action") comes as the last item.
        self.next()?;
        Ok(list)
    }

    fn item_list(&mut self) -> PResult<(Vec<Node>, Parsed)> {
        let mut list = Vec::new();
        while self.peek_non_space()?.tok != Tok::Eof {
            match self.text_or_action()? {
                Parsed::Node(n) => list.push(n),
                end => return Ok((list, end)),
            }
        }
        Err(self.errorf("unexpected EOF"))
    }

    fn text_or_action(&mut self) -> PResult<Parsed> {
        let it = self.next_non_space()?;
        match it.tok {
            Tok::Text(text) => Ok(Parsed::Node(Node::Text(text))),
            Tok::LeftDelim => self.action(),
            _ => Err(self.unexpected(&it, "input")),
        }
    }

    fn action(&mut self) -> PResult<Parsed> {
        let it = self.next_non_space()?;
        match it.tok {
            Tok::Keyword(Kw::Break) | Tok::Keyword(Kw::Continue) => {
                let is_break = it.tok == Tok::Keyword(Kw::Break);
                let name = if is_break { "{{break}}" } else { "{{continue}}" };
                let t = self.next_non_space()?;
                if t.tok != Tok::RightDelim {
                    return Err(self.unexpected(&t, name));
                }
                if self.range_depth == 0 {
                    return Err(self.errorf(format!("{name} outside {{{{range}}}}")));
                }
                Ok(Parsed::Node(if is_break { Node::Break } else { Node::Continue }))
            }
            Tok::Keyword(Kw::Else) => {
                // "{{else if ...}}" and "{{else with ...}}" leave the keyword
                // pending; parse_control turns them into a nested if/with.
                let peek = self.peek_non_space()?;
                if !matches!(peek.tok, Tok::Keyword(Kw::If) | Tok::Keyword(Kw::With)) {
                    self.expect(Tok::RightDelim, "else")?;
                }
                Ok(Parsed::Else)
            }
            Tok::Keyword(Kw::End) => {
                self.expect(Tok::RightDelim, "end")?;
                Ok(Parsed::End)
            }
            Tok::Keyword(Kw::If) => Ok(Parsed::Node(Node::If(Box::new(self.parse_control("if")?)))),
            Tok::Keyword(Kw::With) => Ok(Parsed::Node(Node::With(Box::new(self.parse_control("with")?)))),
            Tok::Keyword(Kw::Range) => Ok(Parsed::Node(Node::Range(Box::new(self.parse_control("range")?)))),
            Tok::Keyword(Kw::Block) | Tok::Keyword(Kw::Define) | Tok::Keyword(Kw::Template) => {
                Err(self.errorf(format!("{{{{{}}}}} is not supported", it.val)))
            }
            _ => {
                self.backup();
                // Variables declared here persist until the enclosing "end".
                Ok(Parsed::Node(Node::Action(self.pipeline("command", &Tok::RightDelim)?)))
            }
        }
    }

    fn parse_control(&mut self, context: &str) -> PResult<Control> {
        let saved_vars = self.vars.len();
        let pipe = self.pipeline(context, &Tok::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let (list, next) = self.item_list()?;
        if context == "range" {
            self.range_depth -= 1;
        }
        let mut else_list = None;
        if let Parsed::Else = next {
            let peek = self.peek().tok.clone();
            if context == "if" && peek == Tok::Keyword(Kw::If) {
                // {{if a}}_{{else if b}}_{{end}} == {{if a}}_{{else}}{{if b}}_{{end}}{{end}}
                self.next()?;
                else_list = Some(vec![Node::If(Box::new(self.parse_control("if")?))]);
            } else if context == "with" && peek == Tok::Keyword(Kw::With) {
                self.next()?;
                else_list = Some(vec![Node::With(Box::new(self.parse_control("with")?))]);
            } else {
                let (list, next) = self.item_list()?;
                if !matches!(next, Parsed::End) {
                    return Err(self.errorf("expected end; found {{else}}"));
                }
                else_list = Some(list);
            }
        }
        self.vars.truncate(saved_vars);
        Ok(Control { pipe, list, else_list })
    }

    fn pipeline(&mut self, context: &str, end: &Tok) -> PResult<Pipe> {
        let mut pipe = Pipe { decl: Vec::new(), is_assign: false, cmds: Vec::new() };
        // Declarations or assignments: `$x :=`, `$x =`, `$i, $e :=` (range only).
        loop {
            let v = self.peek_non_space()?;
            if v.tok != Tok::Variable {
                break;
            }
            let at_variable = self.idx;
            self.next()?;
            let next = self.peek_non_space()?;
            match next.tok {
                Tok::Assign | Tok::Declare => {
                    pipe.is_assign = next.tok == Tok::Assign;
                    self.next_non_space()?;
                    pipe.decl.push(v.val.clone());
                    self.vars.push(v.val.clone());
                    break;
                }
                Tok::Char if next.val == "," => {
                    self.next_non_space()?;
                    pipe.decl.push(v.val.clone());
                    self.vars.push(v.val.clone());
                    if context == "range" && pipe.decl.len() < 2 {
                        let p = self.peek_non_space()?;
                        if matches!(p.tok, Tok::Variable | Tok::RightDelim | Tok::RParen) {
                            continue; // the second variable of a range
                        }
                        return Err(self.errorf("range can only initialize variables"));
                    }
                    return Err(self.errorf(format!("too many declarations in {context}")));
                }
                _ => {
                    // Not a declaration: "$x" is the first operand.
                    self.idx = at_variable;
                    break;
                }
            }
        }
        loop {
            let it = self.next_non_space()?;
            if &it.tok == end {
                if pipe.cmds.is_empty() {
                    return Err(self.errorf(format!("missing value for {context}")));
                }
                // Only the first command may start with a non-executable operand.
                for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
                    if matches!(c.args[0].op, Op::Bool(_) | Op::Dot | Op::Nil | Op::Number(..) | Op::Str(..)) {
                        return Err(self.errorf(format!("non executable command in pipeline stage {}", i + 1)));
                    }
                }
                return Ok(pipe);
            }
            match it.tok {
                Tok::Bool
                | Tok::CharConst
                | Tok::Dot
                | Tok::Field
                | Tok::Ident
                | Tok::Number
                | Tok::Nil
                | Tok::RawStr
                | Tok::Str
                | Tok::Variable
                | Tok::LParen => {
                    self.backup();
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return Err(self.unexpected(&it, context)),
            }
        }
    }

    fn command(&mut self) -> PResult<Cmd> {
        let pos = self.peek_non_space()?.pos;
        let mut args = Vec::new();
        loop {
            self.peek_non_space()?;
            if let Some(op) = self.operand()? {
                args.push(op);
            }
            let it = self.next()?;
            match it.tok {
                Tok::Space => continue,
                Tok::RightDelim | Tok::RParen => self.backup(),
                Tok::Pipe => {}
                _ => return Err(self.unexpected(&it, "operand")),
            }
            break;
        }
        if args.is_empty() {
            return Err(self.errorf("empty command"));
        }
        Ok(Cmd { pos, args })
    }

    fn operand(&mut self) -> PResult<Option<Operand>> {
        let Some(node) = self.term()? else { return Ok(None) };
        if self.peek().tok != Tok::Field {
            return Ok(Some(node));
        }
        // Like Go, the chain is positioned at its first added field.
        let pos = self.peek().pos;
        let mut fields = Vec::new();
        while self.peek().tok == Tok::Field {
            let f = self.next()?;
            fields.push(f.val[1..].to_string());
        }
        let op = match node.op {
            Op::Field(mut idents) => {
                idents.extend(fields);
                Op::Field(idents)
            }
            Op::Variable(name, mut idents) => {
                idents.extend(fields);
                Op::Variable(name, idents)
            }
            Op::Bool(_) | Op::Str(..) | Op::Number(..) | Op::Nil | Op::Dot => {
                return Err(self.errorf(format!("unexpected . after term {}", go_quote(&node.to_string()))));
            }
            _ => Op::Chain(Box::new(node), fields),
        };
        Ok(Some(Operand { pos, op }))
    }

    fn term(&mut self) -> PResult<Option<Operand>> {
        let it = self.next_non_space()?;
        let pos = it.pos;
        let op = match it.tok {
            Tok::Ident => {
                if !FUNCTIONS.contains(&it.val.as_str()) {
                    return Err(self.errorf(format!("function {} not defined", go_quote(&it.val))));
                }
                Op::Ident(it.val)
            }
            Tok::Dot => Op::Dot,
            Tok::Nil => Op::Nil,
            Tok::Variable => {
                if !self.vars.contains(&it.val) {
                    return Err(self.errorf(format!("undefined variable {}", go_quote(&it.val))));
                }
                Op::Variable(it.val, Vec::new())
            }
            Tok::Field => Op::Field(vec![it.val[1..].to_string()]),
            Tok::Bool => Op::Bool(it.val == "true"),
            Tok::CharConst | Tok::Number => {
                let value = parse_number(&it).map_err(|m| self.errorf(m))?;
                Op::Number(it.val, value)
            }
            Tok::LParen => Op::Pipe(Box::new(self.pipeline("parenthesized pipeline", &Tok::RParen)?)),
            Tok::Str | Tok::RawStr => {
                let s = unquote(&it.val).map_err(|m| self.errorf(m))?;
                Op::Str(it.val, s)
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        };
        Ok(Some(Operand { pos, op }))
    }
}

/// Go's strconv.Unquote for "..." and `...` literals (and '...' char constants).
fn unquote(text: &str) -> Result<String, String> {
    let bad = || "invalid syntax".to_string();
    if text.len() >= 2 && text.starts_with('`') && text.ends_with('`') {
        return Ok(text[1..text.len() - 1].replace('\r', ""));
    }
    let quote = text.chars().next().ok_or_else(bad)?;
    if text.len() < 2 || !text.ends_with(quote) || !(quote == '"' || quote == '\'') {
        return Err(bad());
    }
    let body = &text[1..text.len() - 1];
    let mut out: Vec<u8> = Vec::new();
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let e = chars.next().ok_or_else(bad)?;
        let simple = match e {
            'a' => Some(7u8),
            'b' => Some(8),
            'f' => Some(12),
            'n' => Some(b'\n'),
            'r' => Some(b'\r'),
            't' => Some(b'\t'),
            'v' => Some(11),
            '\\' => Some(b'\\'),
            '"' if quote == '"' => Some(b'"'),
            '\'' if quote == '\'' => Some(b'\''),
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            continue;
        }
        let take = |chars: &mut std::iter::Peekable<std::str::Chars>, n: usize, radix: u32| -> Result<u32, String> {
            let mut v = 0u32;
            for _ in 0..n {
                let d = chars.next().and_then(|c| c.to_digit(radix)).ok_or_else(bad)?;
                v = v * radix + d;
            }
            Ok(v)
        };
        match e {
            'x' => out.push(take(&mut chars, 2, 16)? as u8),
            '0'..='7' => {
                let rest = take(&mut chars, 2, 8)?;
                let v = e.to_digit(8).unwrap() * 64 + rest;
                if v > 255 {
                    return Err(bad());
                }
                out.push(v as u8);
            }
            'u' | 'U' => {
                let v = take(&mut chars, if e == 'u' { 4 } else { 8 }, 16)?;
                let c = char::from_u32(v).ok_or_else(bad)?;
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            _ => return Err(bad()),
        }
    }
    let s = String::from_utf8_lossy(&out).into_owned();
    if quote == '\'' && s.chars().count() != 1 {
        return Err(bad());
    }
    Ok(s)
}

/// Parse a number literal into the value Go's template engine would use for
/// an `interface{}` argument: floats when written with `.`/exponent, ints
/// otherwise (char constants are ints).
fn parse_number(it: &Item) -> Result<Value, String> {
    let text = it.val.as_str();
    let illegal = || format!("illegal number syntax: {}", go_quote(text));
    if it.tok == Tok::CharConst {
        let s = unquote(text).map_err(|_| format!("malformed character constant: {text}"))?;
        return Ok(Value::from(s.chars().next().unwrap() as u32 as i64));
    }
    if text.ends_with('i') {
        return Err("complex numbers are not supported".into());
    }
    if !underscores_ok(text) {
        return Err(illegal());
    }
    let hex = text.trim_start_matches(['+', '-']).to_ascii_lowercase().starts_with("0x");
    if hex && text.contains(['p', 'P']) {
        return parse_hex_float(text).and_then(serde_json::Number::from_f64).map(Value::Number).ok_or_else(illegal);
    }
    let is_float_text = !hex && text.contains(['.', 'e', 'E']) || hex && text.contains(['.', 'p', 'P']);
    if !is_float_text {
        return match parse_go_int(text) {
            Some(i) if i64::try_from(i).is_ok() => Ok(Value::from(i as i64)),
            // Fits a uint64 but not an int: Go fails when it is used.
            Some(i) if u64::try_from(i).is_ok() => Err(format!("{text} overflows int")),
            _ if text.replace('_', "").parse::<f64>().is_ok() => Err(format!("integer overflow: {}", go_quote(text))),
            _ => Err(illegal()),
        };
    }
    let f: f64 = text.replace('_', "").parse().map_err(|_| illegal())?;
    if !f.is_finite() {
        return Err(illegal());
    }
    serde_json::Number::from_f64(f).map(Value::Number).ok_or_else(illegal)
}

/// Go's rule for `_` in number literals: it must separate digits (or a
/// base prefix and a digit).
fn underscores_ok(text: &str) -> bool {
    let b = text.trim_start_matches(['+', '-']).as_bytes();
    let base_prefix = b.len() >= 2 && b[0] == b'0' && matches!(b[1] | 0x20, b'x' | b'o' | b'b');
    (0..b.len()).filter(|&i| b[i] == b'_').all(|i| {
        let prev_ok = i > 0 && (b[i - 1].is_ascii_hexdigit() || (base_prefix && i == 2));
        let next_ok = i + 1 < b.len() && b[i + 1].is_ascii_hexdigit();
        prev_ok && next_ok
    })
}

/// A hexadecimal float literal such as `0x1p-2` or `0x1.8p1`.
fn parse_hex_float(text: &str) -> Option<f64> {
    let (neg, body) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let body = body.replace('_', "");
    let body = body.get(2..)?; // "0x"
    let (mant, exp) = body.split_once(['p', 'P'])?;
    let exp: i32 = exp.parse().ok()?;
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut v = 0f64;
    for c in int.chars().chain(frac.chars()) {
        v = v * 16.0 + f64::from(c.to_digit(16)?);
    }
    let v = v * 2f64.powi(exp - 4 * frac.len() as i32);
    Some(if neg { -v } else { v })
}

/// strconv.ParseInt(text, 0, 64) without the range check (done by the caller).
fn parse_go_int(text: &str) -> Option<i128> {
    let (neg, body) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    let digits = digits.replace('_', "");
    if digits.is_empty() {
        return None;
    }
    let v = i128::from_str_radix(&digits, radix).ok()?;
    Some(if neg { -v } else { v })
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
        let items = lex(src);
        let mut p = Parser { items, idx: 0, line: 1, vars: vec!["$".to_string()], range_depth: 0 };
        let root = p.parse()?;
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
        let mut st = State { root: data, mode, vars: Vec::new(), out: String::new() };
        st.vars.push(("$".to_string(), Some(Cow::Borrowed(data))));
        let res = st.walk(&self.root, &Some(Cow::Borrowed(data))).map(|_| ()).map_err(|e| e.into_error(&self.src));
        (st.out, res)
    }
}

// ---------------------------------------------------------------------------
// Execution (mirrors text/template/exec.go)

/// A value during execution; `None` is Go's invalid reflect.Value, printed
/// as `<no value>` (a missing map key).
type V<'a> = Option<Cow<'a, Value>>;

static NULL: Value = Value::Null;

fn val<'v>(v: &'v V<'_>) -> &'v Value {
    v.as_deref().unwrap_or(&NULL)
}

enum Flow {
    Normal,
    Break,
    Continue,
}

struct ExecError {
    pos: usize,
    context: String,
    msg: String,
}

impl ExecError {
    fn into_error(self, src: &str) -> TemplateError {
        let before = &src[..self.pos.min(src.len())];
        let line = 1 + before.matches('\n').count();
        let col = match before.rfind('\n') {
            Some(nl) => self.pos - nl - 1,
            None => self.pos,
        };
        let mut context = self.context;
        if context.len() > 20 {
            let cut: String = context.chars().take(20).collect();
            context = format!("{cut}...");
        }
        TemplateError::new(format!("{ERR_PREFIX}template: :{line}:{col}: executing \"\" at <{context}>: {}", self.msg))
    }
}

type R<T> = Result<T, ExecError>;

fn exec_err(pos: usize, context: impl fmt::Display, msg: impl Into<String>) -> ExecError {
    ExecError { pos, context: context.to_string(), msg: msg.into() }
}

/// Error from a function: an argument of the wrong type (reported at that
/// argument, as is) or an error of the function itself (reported at the
/// command as "error calling NAME: ..."), like Go.
enum FnError {
    Arg(usize, String),
    Call(String),
}

type FResult<'a> = Result<V<'a>, FnError>;

fn call_err<'a>(msg: impl Into<String>) -> FResult<'a> {
    Err(FnError::Call(msg.into()))
}

struct State<'a, 'h> {
    root: &'a Value,
    mode: Mode<'h>,
    vars: Vec<(String, V<'a>)>,
    out: String,
}

fn is_true(v: &V<'_>) -> bool {
    match v.as_deref() {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().map(|f| f != 0.0).unwrap_or(true),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(m)) => !m.is_empty(),
    }
}

/// The Go type name Docker users see in error messages.
fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

impl<'t, 'a, 'h> State<'a, 'h> {
    fn walk(&mut self, list: &'t [Node], dot: &V<'a>) -> R<Flow> {
        for node in list {
            match node {
                Node::Text(t) => self.out.push_str(t),
                Node::Action(pipe) => {
                    let v = self.eval_pipeline(dot, pipe)?;
                    if pipe.decl.is_empty() {
                        print_value(&mut self.out, &v);
                    }
                }
                Node::If(c) | Node::With(c) => {
                    let mark = self.vars.len();
                    let v = self.eval_pipeline(dot, &c.pipe)?;
                    let flow = if is_true(&v) {
                        if matches!(node, Node::With(_)) {
                            self.walk(&c.list, &v)?
                        } else {
                            self.walk(&c.list, dot)?
                        }
                    } else if let Some(else_list) = &c.else_list {
                        self.walk(else_list, dot)?
                    } else {
                        Flow::Normal
                    };
                    self.vars.truncate(mark);
                    if !matches!(flow, Flow::Normal) {
                        return Ok(flow);
                    }
                }
                Node::Range(c) => {
                    let mark = self.vars.len();
                    self.walk_range(dot, c)?;
                    self.vars.truncate(mark);
                }
                Node::Break => return Ok(Flow::Break),
                Node::Continue => return Ok(Flow::Continue),
            }
        }
        Ok(Flow::Normal)
    }

    fn walk_range(&mut self, dot: &V<'a>, c: &'t Control) -> R<()> {
        let v = self.eval_pipeline(dot, &c.pipe)?;
        // (index or key, element) pairs.
        type Items<'a> = Box<dyn Iterator<Item = (Value, V<'a>)> + 'a>;
        let items: Items<'a> = match v {
            None | Some(Cow::Borrowed(Value::Null)) | Some(Cow::Owned(Value::Null)) => Box::new(std::iter::empty()),
            Some(Cow::Borrowed(Value::Array(a))) => {
                Box::new(a.iter().enumerate().map(|(i, e)| (Value::from(i), Some(Cow::Borrowed(e)))))
            }
            Some(Cow::Owned(Value::Array(a))) => {
                Box::new(a.into_iter().enumerate().map(|(i, e)| (Value::from(i), Some(Cow::Owned(e)))))
            }
            // Go ranges over maps in sorted key order.
            Some(Cow::Borrowed(Value::Object(m))) => {
                let mut keys: Vec<&'a String> = m.keys().collect();
                keys.sort();
                Box::new(keys.into_iter().map(move |k| (Value::from(k.as_str()), Some(Cow::Borrowed(&m[k])))))
            }
            Some(Cow::Owned(Value::Object(m))) => {
                let mut pairs: Vec<(String, Value)> = m.into_iter().collect();
                pairs.sort_by(|a, b| a.0.cmp(&b.0));
                Box::new(pairs.into_iter().map(|(k, e)| (Value::from(k), Some(Cow::Owned(e)))))
            }
            // Go 1.22: range over an integer n iterates 0..n.
            Some(ref n) if n.as_i64().is_some() => {
                if c.pipe.decl.len() > 1 {
                    let pos = c.pipe.cmds.first().map(|c| c.pos).unwrap_or(0);
                    let msg = format!("can't use {} to iterate over more than one variable", sprint_value(n));
                    return Err(exec_err(pos, &c.pipe.cmds[0], msg));
                }
                let n = n.as_i64().unwrap_or(0).max(0);
                Box::new((0..n).map(|i| (Value::from(i), Some(Cow::Owned(Value::from(i))))))
            }
            Some(other) => {
                let pos = c.pipe.cmds.first().map(|c| c.pos).unwrap_or(0);
                return Err(exec_err(pos, &c.pipe, format!("range can't iterate over {}", sprint_value(&other))));
            }
        };
        let mut items = items.peekable();
        if items.peek().is_none() {
            if let Some(else_list) = &c.else_list {
                self.walk(else_list, dot)?;
            }
            return Ok(());
        }
        let decl = &c.pipe.decl;
        for (index, elem) in items {
            if c.pipe.is_assign {
                if decl.len() > 1 {
                    self.set_var(&decl[0], Some(Cow::Owned(index)));
                    self.set_var(&decl[1], elem.clone());
                } else if let Some(d) = decl.first() {
                    self.set_var(d, elem.clone());
                }
            } else if decl.len() > 1 {
                // eval_pipeline pushed both variables; set them in place.
                let n = self.vars.len();
                self.vars[n - 1].1 = elem.clone();
                self.vars[n - 2].1 = Some(Cow::Owned(index));
            } else if !decl.is_empty() {
                let n = self.vars.len();
                self.vars[n - 1].1 = elem.clone();
            }
            let mark = self.vars.len();
            let flow = self.walk(&c.list, &elem)?;
            self.vars.truncate(mark);
            if let Flow::Break = flow {
                break;
            }
        }
        Ok(())
    }

    fn set_var(&mut self, name: &str, v: V<'a>) {
        if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == name) {
            slot.1 = v;
        }
    }

    fn eval_pipeline(&mut self, dot: &V<'a>, pipe: &'t Pipe) -> R<V<'a>> {
        let mut value: Option<V<'a>> = None;
        for cmd in &pipe.cmds {
            value = Some(self.eval_command(dot, cmd, value)?);
        }
        let value = value.unwrap_or(None);
        for name in &pipe.decl {
            if pipe.is_assign {
                self.set_var(name, value.clone());
            } else {
                self.vars.push((name.clone(), value.clone()));
            }
        }
        Ok(value)
    }

    /// `final_` is the value piped in from the previous command, if any.
    fn eval_command(&mut self, dot: &V<'a>, cmd: &'t Cmd, final_: Option<V<'a>>) -> R<V<'a>> {
        let first = &cmd.args[0];
        if let Op::Ident(name) = &first.op {
            return self.eval_function(dot, name, (cmd.pos, cmd), &cmd.args[1..], final_);
        }
        if cmd.args.len() > 1 || final_.is_some() {
            let msg = match &first.op {
                Op::Field(f) | Op::Variable(_, f) | Op::Chain(_, f) if !f.is_empty() => {
                    format!("{} is not a method but has arguments", f.last().unwrap())
                }
                _ => format!("can't give argument to non-function {first}"),
            };
            return Err(exec_err(first.pos, first, msg));
        }
        if let Op::Nil = first.op {
            return Err(exec_err(first.pos, first, "nil is not a command"));
        }
        self.eval_arg(dot, first)
    }

    fn eval_arg(&mut self, dot: &V<'a>, arg: &'t Operand) -> R<V<'a>> {
        Ok(match &arg.op {
            Op::Dot => dot.clone(),
            Op::Nil => Some(Cow::Owned(Value::Null)),
            Op::Bool(b) => Some(Cow::Owned(Value::Bool(*b))),
            Op::Number(_, v) => Some(Cow::Owned(v.clone())),
            Op::Str(_, s) => Some(Cow::Owned(Value::String(s.clone()))),
            Op::Field(idents) => self.eval_fields(dot.clone(), idents, arg)?,
            Op::Variable(name, idents) => {
                let v = self.var_value(name, arg)?;
                self.eval_fields(v, idents, arg)?
            }
            // A function used as an argument is called without arguments.
            Op::Ident(name) => self.eval_function(dot, name, (arg.pos, arg), &[], None)?,
            Op::Pipe(p) => self.eval_pipeline(dot, p)?,
            Op::Chain(node, idents) => {
                if let Op::Nil = node.op {
                    return Err(exec_err(arg.pos, arg, format!("indirection through explicit nil in {arg}")));
                }
                let v = self.eval_arg(dot, node)?;
                self.eval_fields(v, idents, arg)?
            }
        })
    }

    fn var_value(&self, name: &str, node: &Operand) -> R<V<'a>> {
        match self.vars.iter().rev().find(|(n, _)| n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => Err(exec_err(node.pos, node, format!("undefined variable: {name}"))),
        }
    }

    fn eval_fields(&self, mut v: V<'a>, idents: &[String], node: &Operand) -> R<V<'a>> {
        if idents.is_empty() {
            return Ok(v);
        }
        if let Mode::Header(headers) = self.mode {
            // Every field renders as its column title in the header row.
            let name = idents.last().unwrap();
            let title = headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, t)| t.to_string())
                .unwrap_or_else(|| name.to_uppercase());
            return Ok(Some(Cow::Owned(Value::String(title))));
        }
        for name in idents {
            v = match v {
                None => None,
                Some(Cow::Borrowed(Value::Object(m))) => m.get(name).map(Cow::Borrowed),
                Some(Cow::Owned(Value::Object(mut m))) => m.remove(name).map(Cow::Owned),
                // Lenient: a field of null is no value (Go: nil pointer error).
                Some(Cow::Borrowed(Value::Null)) | Some(Cow::Owned(Value::Null)) => None,
                Some(other) => {
                    return Err(exec_err(
                        node.pos,
                        node,
                        format!("can't evaluate field {name} in type {}", go_type(&other)),
                    ))
                }
            };
        }
        Ok(v)
    }

    fn eval_function(
        &mut self,
        dot: &V<'a>,
        name: &str,
        (pos, node): (usize, &'t dyn fmt::Display),
        args: &'t [Operand],
        final_: Option<V<'a>>,
    ) -> R<V<'a>> {
        let nargs = args.len() + usize::from(final_.is_some());
        // Errors from the call point at the command, arity errors at the
        // function name (Go's contexts).
        let err_at = |msg: String| exec_err(pos, node, msg);
        let ident_err = |msg: String| exec_err(pos, name, msg);
        // and/or evaluate their arguments lazily and return one of them.
        if name == "and" || name == "or" {
            if nargs < 1 {
                return Err(ident_err(format!("wrong number of args for {name}: want at least 1 got 0")));
            }
            let want = name == "or";
            let mut v = None;
            for a in args {
                v = self.eval_arg(dot, a)?;
                if is_true(&v) == want {
                    return Ok(v);
                }
            }
            if let Some(f) = final_ {
                v = f;
            }
            return Ok(v);
        }
        let mut vals: Vec<V<'a>> = Vec::with_capacity(nargs);
        for a in args {
            vals.push(self.eval_arg(dot, a)?);
        }
        if let Some(f) = final_ {
            vals.push(f);
        }
        let arity = |min: usize, max: Option<usize>| -> R<()> {
            let n = vals.len();
            if n < min || max.is_some_and(|m| n > m) {
                let msg = match max {
                    Some(m) if m == min => format!("wrong number of args for {name}: want {min} got {n}"),
                    _ => format!("wrong number of args for {name}: want at least {min} got {n}"),
                };
                return Err(ident_err(msg));
            }
            Ok(())
        };
        match name {
            "not" | "len" | "json" | "title" | "lower" | "upper" => arity(1, Some(1))?,
            "split" | "join" | "truncate" | "ne" | "lt" | "le" | "gt" | "ge" => arity(2, Some(2))?,
            "pad" => arity(3, Some(3))?,
            "index" | "printf" | "eq" => arity(1, None)?,
            "slice" => arity(1, Some(4))?,
            _ => {}
        }
        if let Mode::Header(_) = self.mode {
            // docker/cli templates.HeaderFunctions: keep the column title intact.
            if matches!(name, "json" | "split" | "join" | "title" | "lower" | "upper" | "truncate") {
                return Ok(vals.swap_remove(0));
            }
        }
        let res = match name {
            "not" => Ok(Some(Cow::Owned(Value::Bool(!is_true(&vals[0]))))),
            "len" => fn_len(&vals[0]),
            "index" => fn_index(vals),
            "slice" => fn_slice(vals),
            "print" => Ok(owned_str(sprint(&vals))),
            "println" => Ok(owned_str(sprintln(&vals))),
            "printf" => want_str(&vals, 0).map(|f| owned_str(sprintf(f, &vals[1..]))),
            "eq" => fn_eq(&vals),
            "ne" => fn_eq(&vals).map(|v| Some(Cow::Owned(Value::Bool(!is_true(&v))))),
            "lt" | "le" | "gt" | "ge" => fn_compare(name, &vals[0], &vals[1]),
            "html" => Ok(owned_str(html_escape(&sprint(&vals)))),
            "js" => Ok(owned_str(js_escape(&sprint(&vals)))),
            "urlquery" => Ok(owned_str(query_escape(&sprint(&vals)))),
            "json" => {
                // Docker's `json` uses an Encoder with SetEscapeHTML(false),
                // except that a list row (a formatter context) marshals itself
                // with json.Marshal: map keys sorted, <>& escaped.
                let is_row = matches!(self.mode, Mode::Row)
                    && matches!(&vals[0], Some(Cow::Borrowed(r)) if std::ptr::eq(*r, self.root));
                let mut s = String::new();
                write_json(&mut s, val(&vals[0]), is_row, is_row);
                Ok(owned_str(s))
            }
            "split" => (|| {
                let s = want_str(&vals, 0)?;
                let sep = want_str(&vals, 1)?;
                let parts: Vec<Value> = if sep.is_empty() {
                    s.chars().map(|c| Value::String(c.to_string())).collect()
                } else {
                    s.split(sep).map(|p| Value::String(p.to_string())).collect()
                };
                Ok(Some(Cow::Owned(Value::Array(parts))))
            })(),
            "join" => (|| {
                let sep = want_str(&vals, 1)?;
                let items: Vec<String> = match vals[0].as_deref() {
                    Some(Value::Array(a)) => a.iter().map(sprint_value).collect(),
                    Some(Value::Null) => Vec::new(),
                    Some(other) => {
                        return Err(FnError::Arg(
                            0,
                            format!("wrong type for value; expected []string; got {}", go_type(other)),
                        ))
                    }
                    None => return Err(FnError::Arg(0, "invalid value; expected []string".into())),
                };
                Ok(owned_str(items.join(sep)))
            })(),
            "title" => want_str(&vals, 0).map(|s| owned_str(go_title(s))),
            "lower" => want_str(&vals, 0).map(|s| owned_str(s.chars().map(simple_lower).collect())),
            "upper" => want_str(&vals, 0).map(|s| owned_str(s.chars().map(simple_upper).collect())),
            "pad" => (|| {
                let s = want_str(&vals, 0)?;
                let before = want_int(&vals, 1)?;
                let after = want_int(&vals, 2)?;
                if s.is_empty() {
                    return Ok(owned_str(String::new()));
                }
                let (b, a) = (before.max(0) as usize, after.max(0) as usize);
                Ok(owned_str(format!("{}{}{}", " ".repeat(b), s, " ".repeat(a))))
            })(),
            "truncate" => (|| {
                let s = want_str(&vals, 0)?;
                let n = want_int(&vals, 1)?;
                if n < 0 {
                    return call_err("slice bounds out of range");
                }
                // Go slices bytes; we back off to a char boundary to stay valid UTF-8.
                let mut n = (n as usize).min(s.len());
                while !s.is_char_boundary(n) {
                    n -= 1;
                }
                Ok(owned_str(s[..n].to_string()))
            })(),
            _ => return Err(err_at(format!("{} is not a defined function", go_quote(name)))),
        };
        res.map_err(|e| match e {
            // The piped-in final argument has no node of its own: Go points
            // at the last argument evaluated, or the function name.
            FnError::Arg(i, m) => match args.get(i).or(args.last()) {
                Some(a) => exec_err(a.pos, a, m),
                None => ident_err(m),
            },
            FnError::Call(m) => err_at(format!("error calling {name}: {m}")),
        })
    }
}

fn owned_str<'a>(s: String) -> V<'a> {
    Some(Cow::Owned(Value::String(s)))
}

/// Argument `i` as a string.
fn want_str<'v>(vals: &'v [V<'_>], i: usize) -> Result<&'v str, FnError> {
    match vals[i].as_deref() {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(FnError::Arg(i, format!("wrong type for value; expected string; got {}", go_type(other)))),
        None => Err(FnError::Arg(i, "invalid value; expected string".into())),
    }
}

/// An int argument; integral floats are accepted like Go's integral
/// float constants (`truncate . 2.0`).
fn as_int(v: &Value) -> Option<i64> {
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

fn fn_len<'a>(v: &V<'a>) -> FResult<'a> {
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

fn fn_index<'a>(mut vals: Vec<V<'a>>) -> FResult<'a> {
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

fn fn_slice<'a>(mut vals: Vec<V<'a>>) -> FResult<'a> {
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

fn int_of(n: &serde_json::Number) -> Option<i128> {
    n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from))
}

fn fn_eq<'a>(vals: &[V<'a>]) -> FResult<'a> {
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

fn fn_compare<'a>(name: &str, a: &V<'a>, b: &V<'a>) -> FResult<'a> {
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
fn go_title(s: &str) -> String {
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
fn simple_upper(c: char) -> char {
    let mut it = c.to_uppercase();
    match (it.next(), it.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

fn simple_lower(c: char) -> char {
    let mut it = c.to_lowercase();
    match (it.next(), it.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

/// Go's template.HTMLEscapeString.
fn html_escape(s: &str) -> String {
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
fn js_escape(s: &str) -> String {
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
fn query_escape(s: &str) -> String {
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

// ---------------------------------------------------------------------------
// Go's fmt: printing values as Docker's Go code would

/// Print the result of an action: `<no value>` for a missing value, else %v.
fn print_value(out: &mut String, v: &V<'_>) {
    match v {
        None => out.push_str("<no value>"),
        Some(v) => fmt_value(out, &Spec::default(), 'v', v, 0),
    }
}

/// fmt.Sprint of one value (%v).
pub(crate) fn sprint_value(v: &Value) -> String {
    let mut out = String::new();
    fmt_value(&mut out, &Spec::default(), 'v', v, 0);
    out
}

/// fmt.Sprint: spaces between operands when neither is a string.
fn sprint(args: &[V<'_>]) -> String {
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
fn sprintln(args: &[V<'_>]) -> String {
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
pub(crate) fn sprintf(format: &str, args: &[V<'_>]) -> String {
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

/// Go's strconv.Quote.
pub(crate) fn go_quote(s: &str) -> String {
    quote_with(s, false)
}

/// strconv.Quote, or strconv.QuoteToASCII when `ascii`.
fn quote_with(s: &str, ascii: bool) -> String {
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

fn go_quote_rune(c: char) -> String {
    let mut out = String::from("'");
    quote_char(&mut out, c, '\'');
    out.push('\'');
    out
}

fn quote_char(out: &mut String, c: char, quote: char) {
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

// ---------------------------------------------------------------------------
// Go's encoding/json

/// Compact JSON as Go's encoding/json writes it. `escape_html` escapes
/// `<`, `>`, `&` as \u003c, \u003e, \u0026 (json.Marshal); `sort_keys`
/// sorts object keys (Go maps), otherwise keys keep their order (structs).
pub(crate) fn write_json(out: &mut String, v: &Value, escape_html: bool, sort_keys: bool) {
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

// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn r(t: &str, data: &Value) -> String {
        Template::parse(t)
            .unwrap_or_else(|e| panic!("parse {t:?}: {e}"))
            .render(data)
            .unwrap_or_else(|e| panic!("render {t:?}: {e}"))
    }

    fn parse_err(t: &str) -> String {
        Template::parse(t).unwrap_err().to_string()
    }

    fn exec_err(t: &str, data: &Value) -> String {
        Template::parse(t).unwrap().render(data).unwrap_err().to_string()
    }

    #[test]
    fn text_and_fields() {
        let d = json!({"Name": "web", "State": {"Status": "running", "Pid": 42}, "name": "lower"});
        assert_eq!(r("hello", &d), "hello");
        assert_eq!(r("", &d), "");
        assert_eq!(r("{{.Name}}", &d), "web");
        assert_eq!(r("{{.State.Status}}/{{.State.Pid}}", &d), "running/42");
        assert_eq!(r("{{ .Name }}", &d), "web");
        assert_eq!(r("{{.name}}", &d), "lower");
        // Case-sensitive like Go struct fields; missing keys are <no value>.
        assert_eq!(r("{{.NAME}}", &d), "<no value>");
        assert_eq!(r("{{.State.Nope}}", &d), "<no value>");
        assert_eq!(r("{{.Nope.Deeper}}", &d), "<no value>");
        assert_eq!(r("{{$.Name}}", &d), "web");
        assert_eq!(r("{{$}}", &json!("x")), "x");
        assert_eq!(r("{{.}}", &json!(3)), "3");
    }

    #[test]
    fn null_values() {
        let d = json!({"Health": null, "List": [1, null]});
        assert_eq!(r("{{.Health}}", &d), "<nil>");
        assert_eq!(r("{{.Health.Status}}", &d), "<no value>");
        assert_eq!(r("{{.List}}", &d), "[1 <nil>]");
        assert_eq!(r("{{print .Health}}", &d), "<nil>");
        assert_eq!(r("{{print .Missing}}", &d), "<nil>");
        assert_eq!(r("{{if .Health}}y{{else}}n{{end}}", &d), "n");
    }

    #[test]
    fn field_on_scalar_is_an_error() {
        let d = json!({"Name": "web"});
        assert_eq!(
            exec_err("{{.Name.First}}", &d),
            "template parsing error: template: :1:7: executing \"\" at <.Name.First>: can't evaluate field First in type string"
        );
    }

    #[test]
    fn printing_go_values() {
        let d = json!({
            "s": "str", "i": 42, "neg": -7, "u": 18446744073709551615u64, "f": 1.5, "big": 1e21,
            "whole": 2.0, "million": 1000000.0, "small": 0.0001, "tiny": 0.00001,
            "t": true, "n": null, "a": ["a", "b", 3], "e": [], "o": {"b": 2, "a": [1, 2], "c": {"x": "y"}}, "eo": {}
        });
        assert_eq!(r("{{.s}} {{.i}} {{.neg}} {{.u}}", &d), "str 42 -7 18446744073709551615");
        assert_eq!(r("{{.f}} {{.big}} {{.whole}} {{.million}}", &d), "1.5 1e+21 2 1e+06");
        assert_eq!(r("{{.small}} {{.tiny}}", &d), "0.0001 1e-05");
        assert_eq!(r("{{.t}} {{.n}}", &d), "true <nil>");
        assert_eq!(r("{{.a}} {{.e}}", &d), "[a b 3] []");
        assert_eq!(r("{{.o}}", &d), "map[a:[1 2] b:2 c:map[x:y]]");
        assert_eq!(r("{{.eo}}", &d), "map[]");
        assert_eq!(
            r("{{123456789.0}} {{1e3}} {{0x1F}} {{017}} {{'a'}} {{-5}} {{1_000}}", &d),
            "1.23456789e+08 1000 31 15 97 -5 1000"
        );
    }

    #[test]
    fn trim_markers_and_comments() {
        let d = json!({"A": "a", "B": "b"});
        assert_eq!(r("x  \n {{- .A -}} \n  y", &d), "xay");
        assert_eq!(r("{{.A}} {{- .B}}", &d), "ab");
        assert_eq!(r("{{.A -}}   {{.B}}", &d), "ab");
        assert_eq!(r("a {{/* a comment */}} b", &d), "a  b");
        assert_eq!(r("a {{- /* c */ -}} b", &d), "ab");
        // "{{-3}}" is the number -3, not a trim marker.
        assert_eq!(r("{{-3}}", &d), "-3");
        assert_eq!(r("{{3 -}} x", &d), "3x");
    }

    #[test]
    fn if_else_chains() {
        let d = json!({"Running": true, "Paused": false, "Code": 0, "Name": "", "List": [], "Map": {}});
        assert_eq!(r("{{if .Running}}up{{end}}", &d), "up");
        assert_eq!(r("{{if .Paused}}p{{else}}np{{end}}", &d), "np");
        assert_eq!(r("{{if .Paused}}p{{else if .Running}}r{{else}}x{{end}}", &d), "r");
        assert_eq!(r("{{if .Paused}}p{{else if .Code}}c{{else}}x{{end}}", &d), "x");
        assert_eq!(
            r("{{if .Name}}a{{else}}b{{end}}{{if .List}}a{{else}}b{{end}}{{if .Map}}a{{else}}b{{end}}", &d),
            "bbb"
        );
        assert_eq!(r("{{if .Missing}}a{{else}}b{{end}}", &d), "b");
        assert_eq!(r("{{if and .Running (not .Paused)}}ok{{end}}", &d), "ok");
        assert_eq!(r("{{if or .Paused .Code .Running}}ok{{end}}", &d), "ok");
        assert_eq!(r("{{if $x := .Running}}{{$x}}{{end}}", &d), "true");
    }

    #[test]
    fn with_blocks() {
        let d = json!({"State": {"Status": "exited", "ExitCode": 1}, "Empty": ""});
        assert_eq!(r("{{with .State}}{{.Status}} ({{.ExitCode}}){{end}}", &d), "exited (1)");
        assert_eq!(r("{{with .Empty}}x{{else}}none{{end}}", &d), "none");
        assert_eq!(r("{{with .Empty}}x{{else with .State}}{{.Status}}{{end}}", &d), "exited");
        assert_eq!(r("{{with $s := .State}}{{$s.Status}}/{{.ExitCode}}{{end}}", &d), "exited/1");
    }

    #[test]
    fn range_arrays_objects_and_else() {
        let d = json!({
            "Ports": ["80/tcp", "443/tcp"],
            "Labels": {"z": "last", "a": "first", "m": "mid"},
            "None": [],
            "Null": null,
            "Mounts": [{"Source": "/a", "Destination": "/x"}, {"Source": "/b", "Destination": "/y"}]
        });
        assert_eq!(r("{{range .Ports}}[{{.}}]{{end}}", &d), "[80/tcp][443/tcp]");
        assert_eq!(r("{{range $i, $p := .Ports}}{{$i}}={{$p}} {{end}}", &d), "0=80/tcp 1=443/tcp ");
        assert_eq!(r("{{range $p := .Ports}}{{$p}},{{end}}", &d), "80/tcp,443/tcp,");
        // Objects iterate in sorted key order, like Go maps.
        assert_eq!(r("{{range $k, $v := .Labels}}{{$k}}={{$v}};{{end}}", &d), "a=first;m=mid;z=last;");
        assert_eq!(r("{{range .None}}x{{else}}empty{{end}}", &d), "empty");
        assert_eq!(r("{{range .Null}}x{{else}}empty{{end}}", &d), "empty");
        assert_eq!(r("{{range .Missing}}x{{else}}empty{{end}}", &d), "empty");
        assert_eq!(r("{{range .Mounts}}{{.Source}}:{{.Destination}} {{end}}", &d), "/a:/x /b:/y ");
        // $ stays the root inside range.
        assert_eq!(r("{{range .Ports}}{{len $.Ports}}{{end}}", &d), "22");
        assert_eq!(r("{{range $i, $e := .Ports}}{{if $i}}, {{end}}{{$e}}{{end}}", &d), "80/tcp, 443/tcp");
        assert_eq!(r("{{range 3}}{{.}}{{end}}", &d), "012");
        // Ranging over a huge integer is lazy, so break ends it at once.
        assert_eq!(r("{{range 9000000000000000000}}{{.}}{{break}}{{end}}", &d), "0");
    }

    #[test]
    fn range_break_continue_and_scoping() {
        let d = json!({"N": [1, 2, 3, 4]});
        assert_eq!(r("{{range .N}}{{if eq . 3}}{{break}}{{end}}{{.}}{{end}}", &d), "12");
        assert_eq!(r("{{range .N}}{{if eq . 2}}{{continue}}{{end}}{{.}}{{end}}", &d), "134");
        // Assignment updates the outer variable.
        assert_eq!(r("{{$sum := 0}}{{range .N}}{{$sum = .}}{{end}}{{$sum}}", &d), "4");
        assert_eq!(r("{{$x := 1}}{{if true}}{{$x := 2}}{{$x}}{{end}}{{$x}}", &d), "21");
        assert!(exec_err("{{range .N}}{{end}}{{range 1.5}}{{end}}", &d).contains("range can't iterate over 1.5"));
    }

    #[test]
    fn variables() {
        let d = json!({"A": "a", "B": {"C": "c"}});
        assert_eq!(r("{{$x := .A}}{{$x}}{{$x}}", &d), "aa");
        assert_eq!(r("{{$b := .B}}{{$b.C}}", &d), "c");
        assert_eq!(r("{{$x := .A}}{{$x = \"z\"}}{{$x}}", &d), "z");
        assert!(parse_err("{{$y}}").contains("undefined variable \"$y\""));
        // A variable declared in a block is gone after its end.
        assert!(parse_err("{{if true}}{{$v := 1}}{{end}}{{$v}}").contains("undefined variable \"$v\""));
    }

    #[test]
    fn pipelines_and_parens() {
        let d = json!({"Name": "web", "Tags": ["a", "b"]});
        assert_eq!(r("{{.Name | upper}}", &d), "WEB");
        assert_eq!(r("{{.Name | printf \"%s-%s\" \"x\"}}", &d), "x-web");
        assert_eq!(r("{{(index .Tags 1) | upper}}", &d), "B");
        assert_eq!(r("{{len (index .Tags 0)}}", &d), "1");
        assert_eq!(r("{{(.Tags)}}", &d), "[a b]");
        assert_eq!(r("{{with $x := \"hi\" | upper}}{{$x}}{{end}}", &d), "HI");
    }

    #[test]
    fn chain_on_parenthesised_pipeline() {
        let d = json!({"Nets": {"bridge": {"IPAddress": "172.17.0.2"}}});
        assert_eq!(r("{{(index .Nets \"bridge\").IPAddress}}", &d), "172.17.0.2");
        assert_eq!(r("{{range $k, $v := .Nets}}{{$k}} {{$v.IPAddress}}{{end}}", &d), "bridge 172.17.0.2");
    }

    #[test]
    fn string_literals() {
        let d = json!({});
        assert_eq!(r(r#"{{"a\tb\n\"q\" \u00e9 \x41"}}"#, &d), "a\tb\n\"q\" é A");
        assert_eq!(r("{{`raw \\n {{x}}`}}", &d), "raw \\n {{x}}");
        assert_eq!(r("{{print true false}}", &d), "true false");
    }

    #[test]
    fn index_function() {
        let d = json!({
            "Labels": {"com.example.a": "1", "maintainer": "me"},
            "Arr": [[1, 2], [3, 4]],
            "Mixed": {"x": 1},
            "NilLabels": null,
            "S": "abc"
        });
        assert_eq!(r(r#"{{index .Labels "com.example.a"}}"#, &d), "1");
        // Missing keys of string maps are "", like Go's map[string]string.
        assert_eq!(r(r#"[{{index .Labels "nope"}}]"#, &d), "[]");
        assert_eq!(r(r#"[{{index .NilLabels "nope"}}]"#, &d), "[]");
        assert_eq!(r(r#"[{{index .Mixed "nope"}}]"#, &d), "[<no value>]");
        assert_eq!(r("{{index .Arr 1 0}}", &d), "3");
        assert_eq!(r("{{index .Arr 0}}", &d), "[1 2]");
        assert_eq!(r("{{index .S 0}}", &d), "97");
        assert_eq!(r("{{index .Arr}}", &d), "[[1 2] [3 4]]");
        assert_eq!(
            exec_err("{{index .Arr 5}}", &d),
            "template parsing error: template: :1:2: executing \"\" at <index .Arr 5>: error calling index: index out of range: 5"
        );
    }

    #[test]
    fn len_slice_and_comparisons() {
        let d = json!({"A": [1, 2, 3], "S": "hello", "M": {"a": 1}, "N": null, "I": 5});
        assert_eq!(r("{{len .A}} {{len .S}} {{len .M}} {{len .N}}", &d), "3 5 1 0");
        assert_eq!(r("{{slice .A 1}} {{slice .A 1 2}} {{slice .S 1 3}} {{slice .S}}", &d), "[2 3] [2] el hello");
        assert_eq!(r("{{eq .I 5}} {{eq .I 4 5}} {{ne .I 5}} {{eq .S \"hello\"}}", &d), "true true false true");
        assert_eq!(
            r("{{lt .I 6}} {{le .I 5}} {{gt .I 5}} {{ge .I 5}} {{lt \"a\" \"b\"}}", &d),
            "true true false true true"
        );
        assert_eq!(r("{{eq .N nil}} {{eq .Missing nil}}", &d), "true true");
        assert!(exec_err("{{eq .S 1}}", &d).ends_with("error calling eq: incompatible types for comparison"));
        assert!(exec_err("{{lt true false}}", &d).ends_with("error calling lt: invalid type for comparison"));
        assert!(exec_err("{{len .I}}", &d).ends_with("error calling len: len of type int"));
    }

    #[test]
    fn and_or_return_values_and_short_circuit() {
        let d = json!({"E": "", "X": "x"});
        assert_eq!(r("{{or .E .X}}", &d), "x");
        assert_eq!(r("{{and .X .E}}", &d), "");
        assert_eq!(r("{{and .X 7}}", &d), "7");
        // The failing index is never evaluated.
        assert_eq!(r("{{or .X (index .E 99)}}", &d), "x");
        assert_eq!(r("{{not .E}}", &d), "true");
    }

    #[test]
    fn print_functions() {
        let d = json!({"A": "a", "N": 1, "M": 2});
        assert_eq!(r("{{print .A .N .M .A}}", &d), "a1 2a");
        assert_eq!(r("{{println .A .N}}", &d), "a 1\n");
        assert_eq!(r("{{print}}", &d), "");
    }

    #[test]
    fn printf_verbs() {
        let d = json!({"S": "web", "N": 42, "F": 2.34567, "B": true, "A": ["x", "y"], "Neg": -5});
        assert_eq!(r(r#"{{printf "%s|%d|%v|%t" .S .N .F .B}}"#, &d), "web|42|2.34567|true");
        assert_eq!(r(r#"{{printf "%-10s|%10s|" .S .S}}"#, &d), "web       |       web|");
        assert_eq!(
            r(r#"{{printf "%5d|%-5d|%05d|%+d|%x|%X|%#x|%o|%b" .N .N .N .N .N .N .N .N .N}}"#, &d),
            "   42|42   |00042|+42|2a|2A|0x2a|52|101010"
        );
        assert_eq!(r(r#"{{printf "%05d" .Neg}}"#, &d), "-0005");
        assert_eq!(r(r#"{{printf "%q %q" .S .A}}"#, &d), r#""web" ["x" "y"]"#);
        assert_eq!(r(r#"{{printf "%x %X" .S .S}}"#, &d), "776562 776562");
        assert_eq!(
            r(r#"{{printf "%.2f|%8.3f|%e|%g|%.3g" .F .F .F .F .F}}"#, &d),
            "2.35|   2.346|2.345670e+00|2.34567|2.35"
        );
        assert_eq!(r(r#"{{printf "%.2s|%c|%U" .S 65 65}}"#, &d), "we|A|U+0041");
        assert_eq!(r(r#"{{printf "%v %s" .A .A}}"#, &d), "[x y] [x y]");
        assert_eq!(r(r#"{{printf "100%%"}}"#, &d), "100%");
        assert_eq!(r(r#"{{printf "%*d|%-*d|" 4 .N 4 .N}}"#, &d), "  42|42  |");
        // Go's error notations.
        assert_eq!(r(r#"{{printf "%d" .S}}"#, &d), "%!d(string=web)");
        assert_eq!(r(r#"{{printf "%s" .N}}"#, &d), "%!s(int=42)");
        assert_eq!(r(r#"{{printf "%s %s" .S}}"#, &d), "web %!s(MISSING)");
        assert_eq!(r(r#"{{printf "%s" .S .N}}"#, &d), "web%!(EXTRA int=42)");
        assert_eq!(r(r#"{{printf "%s" .Missing}}"#, &d), "%!s(<nil>)");
        assert_eq!(r(r#"{{printf "%v" .Missing}}"#, &d), "<nil>");
        assert_eq!(r(r#"{{printf "%d" 1.5}}"#, &d), "%!d(float64=1.5)");
        assert_eq!(r(r#"{{printf "%99999999999d" .N}}"#, &d), "42");
    }

    #[test]
    fn json_function() {
        let d = json!({"Ports": "0.0.0.0:80->80/tcp", "Cmd": ["sh", "-c", "a && b < c"], "Z": 1, "A": {"k": null, "f": 1.5, "big": 1e21, "tiny": 1e-7}});
        // Docker's `json` does not HTML-escape (docker/cli #32120).
        assert_eq!(r("{{json .Ports}}", &d), r#""0.0.0.0:80->80/tcp""#);
        assert_eq!(r("{{json .Cmd}}", &d), r#"["sh","-c","a && b < c"]"#);
        assert_eq!(r("{{json .A}}", &d), r#"{"k":null,"f":1.5,"big":1e+21,"tiny":1e-7}"#);
        // Struct-like objects keep their field order.
        assert_eq!(r("{{json .}}", &json!({"b": 1, "a": 2})), r#"{"b":1,"a":2}"#);
        assert_eq!(r("{{json .Missing}}", &d), "null");
        assert_eq!(r("{{json \"\\u2028\\x01\\b\"}}", &d), r#""\u2028\u0001\b""#);
    }

    #[test]
    fn json_of_a_list_row_is_sorted_and_escaped() {
        let t = Template::parse("{{json .}}").unwrap();
        let row = json!({"Tag": "<none>", "ID": "abc", "Size": "1&2"});
        let (out, res) = t.execute(&row, Mode::Row);
        res.unwrap();
        assert_eq!(out, r#"{"ID":"abc","Size":"1\u00262","Tag":"\u003cnone\u003e"}"#);
        // Only the row itself marshals that way; its fields don't.
        let t = Template::parse("{{json .Tag}}").unwrap();
        assert_eq!(t.execute(&row, Mode::Row).0, r#""<none>""#);
    }

    #[test]
    fn docker_string_functions() {
        let d = json!({"S": "text:with:colon", "L": ["a", "b", "c"], "T": "hello wORLD-x_y", "E": "", "Id": "tupx5xzf6hvsrhnruz5cr8gwp"});
        assert_eq!(r(r#"{{join (split .S ":") "/"}}"#, &d), "text/with/colon");
        assert_eq!(r(r#"{{split .S ":"}}"#, &d), "[text with colon]");
        assert_eq!(r(r#"{{join .L ", "}}"#, &d), "a, b, c");
        assert_eq!(r("{{title .T}}", &d), "Hello WORLD-X_y");
        assert_eq!(r("{{lower .T}}|{{upper .T}}", &d), "hello world-x_y|HELLO WORLD-X_Y");
        assert_eq!(
            r("{{truncate .Id 5}}|{{truncate .Id 25}}|{{truncate .Id 30}}", &d),
            "tupx5|tupx5xzf6hvsrhnruz5cr8gwp|tupx5xzf6hvsrhnruz5cr8gwp"
        );
        assert_eq!(r("{{pad .Id 3 3}}|", &d), "   tupx5xzf6hvsrhnruz5cr8gwp   |");
        assert_eq!(r("[{{pad .E 3 3}}]", &d), "[]");
        assert!(exec_err("{{upper .L}}", &d).ends_with("wrong type for value; expected string; got []interface {}"));
        assert!(exec_err("{{truncate .Nope 2}}", &d).ends_with("invalid value; expected string"));
    }

    #[test]
    fn go_escaping_functions() {
        let d = json!({"S": "<a href='x'>&"});
        assert_eq!(r("{{html .S}}", &d), "&lt;a href=&#39;x&#39;&gt;&amp;");
        assert_eq!(r("{{js .S}}", &d), "\\u003Ca href\\u003D\\'x\\'\\u003E\\u0026");
        assert_eq!(r(r#"{{urlquery "a b&c"}}"#, &d), "a+b%26c");
    }

    #[test]
    fn header_mode() {
        let t = Template::parse(
            "{{.ID}}\t{{.Repository | upper}}\t{{json .Labels}}\t{{.Foo}}\t{{truncate .Tag 1}}\t{{pad .ID 1 1}}",
        )
        .unwrap();
        let headers = [("ID", "IMAGE ID"), ("Repository", "REPOSITORY"), ("Tag", "TAG")];
        let ctx = header_context(&headers);
        let (out, res) = t.execute(&ctx, Mode::Header(&headers));
        res.unwrap();
        assert_eq!(out, "IMAGE ID\tREPOSITORY\tLABELS\tFOO\tTAG\t IMAGE ID ");
    }

    #[test]
    fn parse_errors() {
        assert_eq!(parse_err("{{.Foo }x}}"), "template parsing error: template: :1: unexpected \"}\" in operand");
        assert_eq!(parse_err("{{.Foo}"), "template parsing error: template: :1: bad character U+007D '}'");
        assert_eq!(parse_err("{{.Foo"), "template parsing error: template: :1: unclosed action");
        assert_eq!(parse_err("{{nope .}}"), "template parsing error: template: :1: function \"nope\" not defined");
        assert_eq!(parse_err("{{if .A}}x"), "template parsing error: template: :1: unexpected EOF");
        assert_eq!(parse_err("x{{end}}"), "template parsing error: template: :1: unexpected {{end}}");
        assert_eq!(parse_err("{{else}}"), "template parsing error: template: :1: unexpected {{else}}");
        assert_eq!(parse_err("{{}}"), "template parsing error: template: :1: missing value for command");
        assert_eq!(parse_err("{{\"abc}}"), "template parsing error: template: :1: unterminated quoted string");
        assert_eq!(
            parse_err("a\n{{.A | \"x\"}}"),
            "template parsing error: template: :2: non executable command in pipeline stage 2"
        );
        assert_eq!(parse_err("{{break}}"), "template parsing error: template: :1: {{break}} outside {{range}}");
        assert_eq!(parse_err("{{(.A}}"), "template parsing error: template: :1: unclosed left paren");
        assert_eq!(parse_err("{{.A)}}"), "template parsing error: template: :1: unexpected right paren");
        assert_eq!(
            parse_err("{{template \"x\"}}"),
            "template parsing error: template: :1: {{template}} is not supported"
        );
        assert_eq!(parse_err("{{/* x }}"), "template parsing error: template: :1: unclosed comment");
        assert_eq!(parse_err("{{3x}}"), "template parsing error: template: :1: bad number syntax: \"3x\"");
        assert_eq!(
            parse_err("{{if $a, $b := .}}{{end}}"),
            "template parsing error: template: :1: too many declarations in if"
        );
        assert_eq!(
            parse_err("{{\"x\".A}}"),
            "template parsing error: template: :1: unexpected . after term \"\\\"x\\\"\""
        );
    }

    #[test]
    fn exec_errors_name_position_and_node() {
        let d = json!({"A": "x"});
        assert_eq!(
            exec_err("ab\ncd {{.A 1}}", &d),
            "template parsing error: template: :2:5: executing \"\" at <.A>: A is not a method but has arguments"
        );
        assert_eq!(
            exec_err("{{nil}}", &d),
            "template parsing error: template: :1:2: executing \"\" at <nil>: nil is not a command"
        );
        assert_eq!(
            exec_err("{{len}}", &d),
            "template parsing error: template: :1:2: executing \"\" at <len>: wrong number of args for len: want 1 got 0"
        );
        assert_eq!(
            exec_err("{{printf \"%s %s %s %s\" .A .A .A .A | len | upper}}", &d),
            "template parsing error: template: :1:43: executing \"\" at <upper>: wrong type for value; expected string; got int"
        );
    }

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

    #[test]
    fn multi_line_actions_and_positions() {
        let d = json!({"A": "a", "B": {"C": 1}});
        assert_eq!(r("{{\n  .A\n}}", &d), "a");
        assert_eq!(r("{{if\n.A}}yes{{end}}", &d), "yes");
        assert_eq!(
            exec_err("line1\nline2 {{.B.C.D}}", &d),
            "template parsing error: template: :2:10: executing \"\" at <.B.C.D>: can't evaluate field D in type int"
        );
        let long = exec_err("{{printf \"%s\" .A | printf \"%s %s %s\" .A .A | len | not | upper}}", &d);
        assert!(long.contains("at <upper>"), "{long}");
    }

    #[test]
    fn range_over_objects_and_nested_dots() {
        let d = json!({"Nets": {"web": {"IP": "10.0.0.2"}, "db": {"IP": "10.0.0.3"}}, "Name": "c1"});
        assert_eq!(r("{{range .Nets}}{{.IP}} {{end}}", &d), "10.0.0.3 10.0.0.2 ");
        assert_eq!(
            r("{{range $n, $c := .Nets}}{{$.Name}}@{{$n}}={{$c.IP}};{{end}}", &d),
            "c1@db=10.0.0.3;c1@web=10.0.0.2;"
        );
        assert_eq!(r("{{range $i, $e := .Nets}}{{$i}}{{else}}none{{end}}", &d), "dbweb");
    }

    #[test]
    fn printf_table_columns() {
        let d = json!([{"N": "web", "S": "Up 2 hours"}, {"N": "database", "S": "Exited (0)"}]);
        assert_eq!(
            r(r#"{{range .}}{{printf "%-10s|%12s|" .N .S}}{{println}}{{end}}"#, &d),
            "web       |  Up 2 hours|\ndatabase  |  Exited (0)|\n"
        );
    }

    #[test]
    fn strings_are_measured_in_bytes_like_go() {
        let d = json!({"S": "é日"});
        assert_eq!(r("{{len .S}}", &d), "5");
        assert_eq!(r("{{truncate .S 3}}", &d), "é");
        assert_eq!(r("{{upper .S}} {{title \"élan vital\"}}", &d), "É日 Élan Vital");
        assert_eq!(r(r#"{{printf "%-4s|" .S}}"#, &d), "é日  |");
    }

    #[test]
    fn literals_in_function_arguments() {
        let d = json!({});
        assert_eq!(r("{{eq 1 1.0}} {{lt 1 1.5}} {{printf \"%v %v\" 1.0 2.5e-3}}", &d), "true true 1 0.0025");
        assert_eq!(r("{{truncate \"abcdef\" 2.0}}", &d), "ab");
        assert_eq!(r("{{index \"abc\" 1}}", &d), "98");
        assert_eq!(r("{{print nil}}", &d), "<nil>");
        assert_eq!(
            r("{{0x1p-2}} {{0x_1F}} {{printf \"%T %T %T %T\" 1 1.5 \"s\" nil}}", &d),
            "0.25 31 int float64 string <nil>"
        );
        assert!(parse_err("{{1__0}}").ends_with("illegal number syntax: \"1__0\""));
        assert!(exec_err("{{range $i, $j := 3}}{{end}}", &d)
            .ends_with("can't use 3 to iterate over more than one variable"));
        // 1297651195387467.25 lies exactly between two 17-digit decimals: Go picks the even one.
        assert_eq!(r("{{.}}", &json!(5190604781549869.0 / 4.0)), "1.2976511953874672e+15");
        assert!(parse_err("{{99999999999999999999}}").ends_with("integer overflow: \"99999999999999999999\""));
        assert!(parse_err("{{18446744073709551615}}").ends_with("18446744073709551615 overflows int"));
    }
}
