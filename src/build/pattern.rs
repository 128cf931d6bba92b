//! The one wildcard matcher of the builder: Go's `filepath.Match` for a path
//! element, which BuildKit uses for COPY/ADD sources (fsutil's copy) and
//! moby/patternmatcher for `.dockerignore`; plus `**` across elements for
//! the latter.
//!
//! Syntax (Go's): `*` any run of characters, `?` one character, `[…]` a
//! class of characters and `lo-hi` ranges, `[^…]` its complement, `\c` the
//! character c (also inside a class). A malformed pattern (an unclosed or
//! empty class, a bad range, a trailing `\`) is an error, whatever name it
//! meets, as in Go since 1.16; what it means is the caller's (Docker fails
//! a `.dockerignore` over it, while COPY drops Go's error: no match). `[!…]` is *not* a complement in Go (nor in
//! BuildKit): `!` is then a member of the class, as here.

/// Go's `filepath.ErrBadPattern`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("syntax error in pattern")]
pub struct BadPattern;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Char(char),
    Any,
    Star,
    Class { negated: bool, ranges: Vec<(char, char)> },
}

/// A compiled pattern for one path element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    toks: Vec<Tok>,
}

/// BuildKit's `containsWildcards`: an unescaped `*`, `?` or `[`. A source
/// without one is a literal path, used as written.
pub fn has_wildcards(p: &str) -> bool {
    let mut it = p.chars();
    while let Some(c) = it.next() {
        match c {
            '\\' => {
                it.next();
            }
            '*' | '?' | '[' => return true,
            _ => {}
        }
    }
    false
}

impl Glob {
    pub fn new(pattern: &str) -> Result<Glob, BadPattern> {
        let p: Vec<char> = pattern.chars().collect();
        let mut toks = Vec::new();
        let mut i = 0;
        // Go's getEsc: one class member, possibly escaped; `-` and `]` must be escaped.
        let esc = |i: &mut usize| -> Result<char, BadPattern> {
            match p.get(*i) {
                None | Some('-') | Some(']') => Err(BadPattern),
                Some('\\') => {
                    let c = *p.get(*i + 1).ok_or(BadPattern)?;
                    *i += 2;
                    Ok(c)
                }
                Some(&c) => {
                    *i += 1;
                    Ok(c)
                }
            }
        };
        while i < p.len() {
            match p[i] {
                '*' => {
                    if toks.last() != Some(&Tok::Star) {
                        toks.push(Tok::Star);
                    }
                    i += 1;
                }
                '?' => {
                    toks.push(Tok::Any);
                    i += 1;
                }
                '\\' => {
                    toks.push(Tok::Char(*p.get(i + 1).ok_or(BadPattern)?));
                    i += 2;
                }
                '[' => {
                    i += 1;
                    let negated = p.get(i) == Some(&'^');
                    if negated {
                        i += 1;
                    }
                    let mut ranges = Vec::new();
                    loop {
                        if p.get(i) == Some(&']') && !ranges.is_empty() {
                            i += 1;
                            break;
                        }
                        let lo = esc(&mut i)?;
                        let hi = if p.get(i) == Some(&'-') {
                            i += 1;
                            esc(&mut i)?
                        } else {
                            lo
                        };
                        ranges.push((lo, hi));
                    }
                    toks.push(Tok::Class { negated, ranges });
                }
                c => {
                    toks.push(Tok::Char(c));
                    i += 1;
                }
            }
        }
        Ok(Glob { toks })
    }

    /// Does the whole of `name` (one path element) match?
    pub fn matches(&self, name: &str) -> bool {
        let s: Vec<char> = name.chars().collect();
        // Iterative wildcard matching with one backtrack point per star
        // (linear in practice, no exponential blow-up on `*a*a*a…`).
        let (mut ti, mut si) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        while si < s.len() {
            let ok = match self.toks.get(ti) {
                Some(Tok::Star) => {
                    star = Some((ti, si));
                    ti += 1;
                    continue;
                }
                Some(Tok::Char(c)) => *c == s[si],
                Some(Tok::Any) => s[si] != '/',
                Some(Tok::Class { negated, ranges }) => {
                    s[si] != '/' && ranges.iter().any(|&(lo, hi)| lo <= s[si] && s[si] <= hi) != *negated
                }
                None => false,
            };
            if ok {
                ti += 1;
                si += 1;
            } else if let Some((st, ss)) = star.filter(|&(_, ss)| s[ss] != '/') {
                // Let the last star take one more character and retry.
                star = Some((st, ss + 1));
                ti = st + 1;
                si = ss + 1;
            } else {
                return false;
            }
        }
        self.toks[ti..].iter().all(|t| *t == Tok::Star)
    }
}

/// Go's `filepath.Match(pattern, name)` for one element.
pub fn matches(pattern: &str, name: &str) -> Result<bool, BadPattern> {
    Ok(Glob::new(pattern)?.matches(name))
}

/// One element of a path pattern: a glob, or `**` (any number of elements).
#[derive(Debug, Clone)]
pub enum Part {
    AnyDepth,
    Elem(Glob),
}

/// A pattern over whole paths (already cleaned and split on `/`), as
/// `.dockerignore` lines are.
#[derive(Debug, Clone)]
pub struct PathPattern {
    parts: Vec<Part>,
}

impl PathPattern {
    pub fn new<S: AsRef<str>>(elements: &[S]) -> Result<PathPattern, BadPattern> {
        let parts = elements
            .iter()
            .map(|e| match e.as_ref() {
                "**" => Ok(Part::AnyDepth),
                e => Glob::new(e).map(Part::Elem),
            })
            .collect::<Result<_, _>>()?;
        Ok(PathPattern { parts })
    }

    pub fn matches(&self, path: &[&str]) -> bool {
        fn m(pat: &[Part], path: &[&str]) -> bool {
            match pat.first() {
                None => path.is_empty(),
                Some(Part::AnyDepth) => (0..=path.len()).any(|i| m(&pat[1..], &path[i..])),
                Some(Part::Elem(g)) => !path.is_empty() && g.matches(path[0]) && m(&pat[1..], &path[1..]),
            }
        }
        m(&self.parts, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(p: &str, s: &str) -> bool {
        matches(p, s).unwrap_or_else(|_| panic!("{p:?} is a valid pattern"))
    }

    /// Go's own table (path/filepath match_test.go), the cases without `/`.
    #[test]
    fn go_match_table() {
        for (p, s, want) in [
            ("abc", "abc", true),
            ("*", "abc", true),
            ("*c", "abc", true),
            ("a*", "a", true),
            ("a*", "abc", true),
            ("a*", "ab/c", false),
            ("ab[c]", "abc", true),
            ("ab[b-d]", "abc", true),
            ("ab[e-g]", "abc", false),
            ("ab[^c]", "abc", false),
            ("ab[^b-d]", "abc", false),
            ("ab[^e-g]", "abc", true),
            ("a\\*b", "a*b", true),
            ("a\\*b", "ab", false),
            ("a?b", "a☺b", true),
            ("a[^a]b", "a☺b", true),
            ("a???b", "a☺b", false),
            ("a[^a][^a][^a]b", "a☺b", false),
            ("[a-ζ]*", "α", true),
            ("*[a-ζ]", "A", false),
            ("a?b", "a/b", false),
            ("a*b", "a/b", false),
            ("[\\]a]", "]", true),
            ("[\\-]", "-", true),
            ("[x\\-]", "x", true),
            ("[x\\-]", "-", true),
            ("[x\\-]", "z", false),
            ("[\\-x]", "x", true),
            ("[\\-x]", "-", true),
            ("[\\-x]", "a", false),
            ("*x", "xxx", true),
            ("a*b*c*d*e*/f", "axbxcxdxe/f", true),
            ("a*b?c*x", "abxbbxdbxebxczzx", true),
            ("a*b?c*x", "abxbbxdbxebxczzy", false),
        ] {
            assert_eq!(ok(p, s), want, "Match({p:?}, {s:?})");
        }
    }

    #[test]
    fn bad_patterns_are_errors_whatever_the_name() {
        for p in
            ["[]a]", "[-]", "[x-]", "[-x]", "\\", "[a-b-c]", "[", "[^", "[^bc", "a[", "ab[", "*x\\", "[a", "[]", "[^]"]
        {
            assert_eq!(matches(p, "a"), Err(BadPattern), "{p:?}");
            assert_eq!(matches(p, ""), Err(BadPattern), "{p:?}");
        }
    }

    #[test]
    fn classes_escapes_and_bang() {
        assert!(ok("hom?.txt", "home.txt"));
        assert!(!ok("hom?.txt", "hom.txt"));
        assert!(ok("[a-c]*.log", "b1.log"));
        assert!(!ok("[a-c]*.log", "d1.log"));
        assert!(ok("[^a]x", "bx"));
        assert!(!ok("[^a]x", "ax"));
        // Go (and so BuildKit) has no `[!…]` complement: `!` is a member.
        assert!(ok("[!a]x", "!x"));
        assert!(ok("[!a]x", "ax"));
        assert!(!ok("[!a]x", "bx"));
        assert!(ok("\\[x\\]", "[x]"));
        assert!(ok("a\\?", "a?"));
        assert!(!ok("a\\?", "ab"));
        assert!(ok("*", ""));
        assert!(!ok("?", ""));
        assert!(ok("**", "abc"));
        assert!(ok(&"*a".repeat(20), &"a".repeat(40)));
        assert!(!ok(&format!("{}b", "*a".repeat(20)), &"a".repeat(40)));
    }

    #[test]
    fn wildcards_outside_escapes() {
        assert!(has_wildcards("a*"));
        assert!(has_wildcards("a?"));
        assert!(has_wildcards("[ab]"));
        assert!(!has_wildcards("plain.txt"));
        assert!(!has_wildcards("a\\*"));
        assert!(has_wildcards("a\\\\*"));
    }

    #[test]
    fn path_patterns() {
        let p = |s: &str| PathPattern::new(&s.split('/').collect::<Vec<_>>()).unwrap();
        let path = |s: &'static str| s.split('/').collect::<Vec<_>>();
        assert!(p("**/*.log").matches(&path("a.log")));
        assert!(p("**/*.log").matches(&path("x/y/a.log")));
        assert!(!p("**/*.log").matches(&path("x/y/a.txt")));
        assert!(p("src/**/t?st").matches(&path("src/a/b/test")));
        assert!(p("*/[^t]*").matches(&path("a/x")));
        assert!(!p("*/[^t]*").matches(&path("a/tx")));
        assert!(PathPattern::new(&["ok", "[z-"]).is_err());
    }
}
