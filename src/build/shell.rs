//! Docker's word processing for Dockerfile arguments: quotes, the escape
//! character and variable substitution (`$VAR`, `${VAR}`, `${VAR:-word}`,
//! `${VAR:+word}`, `${VAR:?msg}`), as moby's `shell.Lex` does it. Only the
//! instructions Docker lists (ADD COPY ENV EXPOSE FROM LABEL STOPSIGNAL USER
//! VOLUME WORKDIR, ARG defaults, ONBUILD triggers when run) go through it; RUN,
//! CMD and ENTRYPOINT leave `$` to the shell in the container.

/// A substitution error; `col` is the 0-based offset in the processed word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WordError {
    pub col: usize,
    pub msg: String,
}

type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Process one word: quotes removed, escapes applied, variables substituted.
pub fn word(s: &str, escape: char, env: Env) -> Result<String, WordError> {
    let mut lx = Lexer { chars: s.chars().collect(), pos: 0, escape, env };
    let words = lx.run(false)?;
    Ok(words.into_iter().next().unwrap_or_default())
}

/// Process and split on unquoted whitespace (EXPOSE, VOLUME, ONBUILD args…).
pub fn words(s: &str, escape: char, env: Env) -> Result<Vec<String>, WordError> {
    let mut lx = Lexer { chars: s.chars().collect(), pos: 0, escape, env };
    lx.run(true)
}

struct Lexer<'a> {
    chars: Vec<char>,
    pos: usize,
    escape: char,
    env: Env<'a>,
}

impl Lexer<'_> {
    fn err(&self, msg: impl Into<String>) -> WordError {
        WordError { col: self.pos, msg: msg.into() }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn run(&mut self, split: bool) -> Result<Vec<String>, WordError> {
        let mut out = Vec::new();
        let mut cur = String::new();
        let mut in_word = false;
        while let Some(c) = self.peek() {
            if split && c.is_whitespace() {
                self.pos += 1;
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
                continue;
            }
            in_word = true;
            if c == '\'' {
                self.pos += 1;
                self.single(&mut cur)?;
            } else if c == '"' {
                self.pos += 1;
                self.double(&mut cur)?;
            } else if c == '$' {
                let v = self.dollar()?;
                if split {
                    // An unquoted expansion splits into words, as in a shell.
                    let mut parts = v.split(char::is_whitespace).peekable();
                    if let Some(first) = parts.next() {
                        cur.push_str(first);
                    }
                    for p in parts {
                        if !cur.is_empty() {
                            out.push(std::mem::take(&mut cur));
                        }
                        cur.push_str(p);
                    }
                } else {
                    cur.push_str(&v);
                }
            } else if c == self.escape {
                self.pos += 1;
                match self.peek() {
                    Some(n) => {
                        cur.push(n);
                        self.pos += 1;
                    }
                    // A trailing escape stays (moby does the same).
                    None => cur.push(c),
                }
            } else {
                cur.push(c);
                self.pos += 1;
            }
        }
        if in_word || !split {
            out.push(cur);
        }
        Ok(out)
    }

    fn single(&mut self, cur: &mut String) -> Result<(), WordError> {
        loop {
            match self.peek() {
                None => return Err(self.err("unexpected end of statement while looking for matching single-quote")),
                Some('\'') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(c) => {
                    cur.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn double(&mut self, cur: &mut String) -> Result<(), WordError> {
        loop {
            match self.peek() {
                None => return Err(self.err("unexpected end of statement while looking for matching double-quote")),
                Some('"') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some('$') => {
                    let v = self.dollar()?;
                    cur.push_str(&v);
                }
                Some(c) if c == self.escape => {
                    self.pos += 1;
                    match self.peek() {
                        // Inside double quotes the escape only escapes these.
                        Some(n @ ('"' | '$')) => {
                            cur.push(n);
                            self.pos += 1;
                        }
                        Some(n) if n == self.escape => {
                            cur.push(n);
                            self.pos += 1;
                        }
                        _ => cur.push(c),
                    }
                }
                Some(c) => {
                    cur.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn name(&mut self) -> String {
        let mut n = String::new();
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == '_' {
                n.push(c);
                self.pos += 1;
            } else {
                break;
            }
        }
        n
    }

    /// At a `$`: the substituted value (the `$` itself when no name follows).
    fn dollar(&mut self) -> Result<String, WordError> {
        self.pos += 1;
        match self.peek() {
            Some('{') => {
                self.pos += 1;
                let start = self.pos;
                let name = self.name();
                if name.is_empty() {
                    self.pos = start;
                    return Err(self.err("bad substitution: missing variable name"));
                }
                match self.peek() {
                    Some('}') => {
                        self.pos += 1;
                        Ok((self.env)(&name).unwrap_or_default())
                    }
                    Some(':') => {
                        self.pos += 1;
                        let op = self.peek();
                        self.pos += 1;
                        let w = self.until_brace()?;
                        let val = (self.env)(&name).filter(|v| !v.is_empty());
                        match op {
                            Some('-') => Ok(val.unwrap_or(w)),
                            Some('+') => Ok(if val.is_some() { w } else { String::new() }),
                            Some('?') => val.ok_or_else(|| {
                                let msg = if w.is_empty() { "is not allowed to be unset".to_string() } else { w };
                                WordError { col: start, msg: format!("{name}: {msg}") }
                            }),
                            _ => Err(WordError {
                                col: start + name.len(),
                                msg: format!("unsupported modifier in ${{{name}:…}}: use :- :+ or :?"),
                            }),
                        }
                    }
                    Some(_) => Err(self.err(format!("bad substitution: unexpected character after ${{{name}"))),
                    None => Err(self.err("missing '}' in variable substitution")),
                }
            }
            Some(c) if c.is_ascii_alphanumeric() || c == '_' => {
                let name = self.name();
                Ok((self.env)(&name).unwrap_or_default())
            }
            _ => Ok("$".into()),
        }
    }

    /// The word of a `${VAR:-word}` up to the closing brace, itself processed.
    fn until_brace(&mut self) -> Result<String, WordError> {
        let mut cur = String::new();
        loop {
            match self.peek() {
                None => return Err(self.err("missing '}' in variable substitution")),
                Some('}') => {
                    self.pos += 1;
                    return Ok(cur);
                }
                Some('$') => {
                    let v = self.dollar()?;
                    cur.push_str(&v);
                }
                Some('\'') => {
                    self.pos += 1;
                    self.single(&mut cur)?;
                }
                Some('"') => {
                    self.pos += 1;
                    self.double(&mut cur)?;
                }
                Some(c) if c == self.escape => {
                    self.pos += 1;
                    if let Some(n) = self.peek() {
                        cur.push(n);
                        self.pos += 1;
                    }
                }
                Some(c) => {
                    cur.push(c);
                    self.pos += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(k: &str) -> Option<String> {
        match k {
            "A" => Some("a".into()),
            "SP" => Some("x y".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    fn w(s: &str) -> String {
        word(s, '\\', &env).unwrap()
    }

    #[test]
    fn substitution_forms() {
        assert_eq!(w("$A"), "a");
        assert_eq!(w("${A}b"), "ab");
        assert_eq!(w("$Ab"), "");
        assert_eq!(w("${NOPE:-def}"), "def");
        assert_eq!(w("${EMPTY:-def}"), "def");
        assert_eq!(w("${A:-def}"), "a");
        assert_eq!(w("${A:+set}"), "set");
        assert_eq!(w("${NOPE:+set}"), "");
        assert_eq!(w("${NOPE:-$A}"), "a");
        assert_eq!(w("a$"), "a$");
        assert_eq!(w("${A:?}"), "a");
        assert_eq!(word("${NOPE:?need it}", '\\', &env).unwrap_err().msg, "NOPE: need it");
    }

    #[test]
    fn quotes_and_escapes() {
        assert_eq!(w("'$A'"), "$A");
        assert_eq!(w("\"$A b\""), "a b");
        assert_eq!(w("\\$A"), "$A");
        assert_eq!(w("\"a\\\"b\""), "a\"b");
        assert_eq!(w("\"a\\nb\""), "a\\nb");
        assert_eq!(w("a\\ b"), "a b");
        assert_eq!(word("`$A", '`', &env).unwrap(), "$A");
        assert_eq!(word("c:\\dir", '`', &env).unwrap(), "c:\\dir");
    }

    #[test]
    fn errors_have_columns() {
        let e = word("ab ${A", '\\', &env).unwrap_err();
        assert!(e.msg.contains("missing '}'"), "{e:?}");
        let e = word("x\"open", '\\', &env).unwrap_err();
        assert!(e.msg.contains("double-quote"));
        let e = word("${}", '\\', &env).unwrap_err();
        assert_eq!(e.col, 2);
        assert!(word("${A%x}", '\\', &env).is_err());
    }

    #[test]
    fn splitting() {
        assert_eq!(words("80 $A \"x y\"", '\\', &env).unwrap(), ["80", "a", "x y"]);
        assert_eq!(words("$SP z", '\\', &env).unwrap(), ["x", "y", "z"]);
        assert_eq!(words("  ", '\\', &env).unwrap(), Vec::<String>::new());
    }
}
