//! The parser (mirrors Go's `text/template/parse/parse.go`): tokens to a
//! tree of nodes, with Go's grammar and error messages.

use std::fmt;

use serde_json::Value;

use super::lexer::{lex, Item, Kw, Tok};
use super::strconv::go_quote;
use super::tree::{Cmd, Control, Node, Op, Operand, Pipe};
use super::{parse_error, TemplateError};

/// Parse a whole template into its list of nodes.
pub(super) fn parse(src: &str) -> Result<Vec<Node>, TemplateError> {
    let items = lex(src);
    let mut p = Parser { items, idx: 0, line: 1, vars: vec!["$".to_string()], range_depth: 0 };
    p.parse()
}

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
