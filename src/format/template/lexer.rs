//! The lexer (mirrors Go's `text/template/parse/lex.go`): splits a template
//! into text and the tokens of its actions.

use super::strconv::go_quote;

const LEFT: &str = "{{";
const RIGHT: &str = "}}";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kw {
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
pub(super) enum Tok {
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
pub(super) struct Item {
    pub(super) tok: Tok,
    /// Source text of the token.
    pub(super) val: String,
    pub(super) pos: usize,
    pub(super) line: usize,
}

impl Item {
    /// How Go's parser names a token in "unexpected ..." errors.
    pub(super) fn describe(&self) -> String {
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

pub(super) fn lex(src: &str) -> Vec<Item> {
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
