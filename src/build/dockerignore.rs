//! `.dockerignore` with Docker's rules (moby/patternmatcher): one pattern a
//! line, `#` comments, paths cleaned and relative to the context root, `*`
//! `?` `[…]` within a path element, `**` across any number of elements, `!`
//! for exceptions, the last matching line wins, and a pattern that matches a
//! directory excludes everything below it. Elements match as Go's
//! `filepath.Match` (the builder's one matcher, [`super::pattern`]).

use super::pattern::{BadPattern, PathPattern};

#[derive(Debug, Clone, Default)]
pub struct DockerIgnore {
    patterns: Vec<Pattern>,
}

#[derive(Debug, Clone)]
struct Pattern {
    exception: bool,
    pattern: PathPattern,
}

/// A `.dockerignore` line that is no valid pattern.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line:?}: {err}")]
pub struct BadLine {
    pub line: String,
    pub err: BadPattern,
}

impl DockerIgnore {
    pub fn parse(text: &str) -> Result<DockerIgnore, BadLine> {
        let mut patterns = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (exception, p) = match line.strip_prefix('!') {
                Some(p) => (true, p.trim()),
                None => (false, line),
            };
            let parts = clean(p);
            if parts.is_empty() {
                continue;
            }
            let pattern = PathPattern::new(&parts).map_err(|err| BadLine { line: line.to_string(), err })?;
            patterns.push(Pattern { exception, pattern });
        }
        Ok(DockerIgnore { patterns })
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// True if some exception could re-include something below `dir`: then
    /// an excluded directory must still be walked.
    pub fn has_exceptions(&self) -> bool {
        self.patterns.iter().any(|p| p.exception)
    }

    /// Is `rel` (a cleaned path relative to the context root) excluded?
    pub fn excluded(&self, rel: &str) -> bool {
        let parts: Vec<&str> = rel.split('/').filter(|s| !s.is_empty()).collect();
        let mut excluded = false;
        for p in &self.patterns {
            // The pattern matches the path or one of its parent directories.
            let hit = (1..=parts.len()).any(|n| p.pattern.matches(&parts[..n]));
            if hit {
                excluded = !p.exception;
            }
        }
        excluded
    }
}

/// Go's filepath.Clean of a pattern, leading `/` dropped, split into elements.
fn clean(p: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s.to_string()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_rules() {
        let d =
            DockerIgnore::parse("# comment\n*/temp*\n*/*/temp*\ntemp?\n**/*.log\n!keep.log\n/secret/\nnode_modules\n")
                .unwrap();
        assert!(d.excluded("a/temporary.txt"));
        assert!(d.excluded("a/b/temp"));
        assert!(!d.excluded("temporary"));
        assert!(d.excluded("temp1"));
        assert!(d.excluded("x.log"));
        assert!(d.excluded("deep/er/x.log"));
        assert!(!d.excluded("keep.log"));
        assert!(d.excluded("secret"));
        assert!(d.excluded("secret/key"));
        assert!(d.excluded("node_modules/a/b.js"));
        assert!(!d.excluded("src/main.rs"));
    }

    #[test]
    fn last_match_wins_and_exceptions() {
        let d = DockerIgnore::parse("*.md\n!README*.md\nREADME-secret.md\n").unwrap();
        assert!(d.excluded("CHANGES.md"));
        assert!(!d.excluded("README.md"));
        assert!(d.excluded("README-secret.md"));
        assert!(d.has_exceptions());
        let d = DockerIgnore::parse("**\n!src\n").unwrap();
        assert!(d.excluded("Dockerfile"));
        assert!(!d.excluded("src"));
        assert!(!d.excluded("src/a.c"));
        let d = DockerIgnore::parse("./a/../b\n").unwrap();
        assert!(d.excluded("b"));
        assert!(!d.excluded("a"));
        assert!(DockerIgnore::parse("\n# x\n").unwrap().is_empty());
    }

    #[test]
    fn go_match_syntax() {
        let d = DockerIgnore::parse("hom?.txt\n[a-c]*.log\nx[^0-9]\nlit\\*\n").unwrap();
        assert!(d.excluded("home.txt"));
        assert!(!d.excluded("hom.txt"));
        assert!(d.excluded("b.log"));
        assert!(!d.excluded("d.log"));
        assert!(d.excluded("xa"));
        assert!(!d.excluded("x1"));
        assert!(d.excluded("lit*"));
        assert!(!d.excluded("lit1"));
        let e = DockerIgnore::parse("ok\n  [z-\n").unwrap_err();
        assert_eq!(e.to_string(), "\"[z-\": syntax error in pattern");
    }
}
