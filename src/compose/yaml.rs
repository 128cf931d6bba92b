//! The YAML layer: a small node tree built from `saphyr-parser` events.
//!
//! Compose needs more than a plain value tree: every value keeps its
//! position (syntax errors name the line and column), scalars stay text
//! until the typed conversion (the compose spec interpolates *before* type
//! conversion, so `ports: ["${PORT}:80"]` and `cpus: ${CPUS}` must both be
//! strings first), and the compose-specific tags `!reset` and `!override`
//! survive until the merge. Anchors, aliases and merge keys (`<<`) are
//! resolved here, while building the tree, as YAML 1.1 merge keys are not
//! part of YAML 1.2 and no parser resolves them for us.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use super::ComposeError;

/// A 1-based line and column in the source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

/// The compose spec's merge tags ("Merge and override": `!reset` removes a
/// value inherited from a base file, `!override` replaces it whole).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    Reset,
    Override,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    /// A scalar as written. `plain` is false for quoted and block scalars,
    /// which the YAML core schema never resolves to a number or boolean.
    Str {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    /// Entries in document order; keys are unique.
    Map(Vec<(String, Node)>),
}

#[derive(Debug, Clone)]
pub struct Node {
    pub value: Value,
    pub pos: Pos,
    pub tag: Option<Tag>,
}

/// Nodes compare by content: where they were written does not matter (an
/// included resource defined identically in two files is no conflict).
impl PartialEq for Node {
    fn eq(&self, other: &Node) -> bool {
        self.value == other.value && self.tag == other.tag
    }
}

impl Node {
    pub fn new(value: Value, pos: Pos) -> Node {
        Node { value, pos, tag: None }
    }

    pub fn string(text: impl Into<String>, pos: Pos) -> Node {
        Node::new(Value::Str { text: text.into(), plain: false }, pos)
    }

    pub fn map(entries: Vec<(String, Node)>, pos: Pos) -> Node {
        Node::new(Value::Map(entries), pos)
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str { text, .. } => Some(text),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(String, Node)]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_map_mut(&mut self) -> Option<&mut Vec<(String, Node)>> {
        match &mut self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        self.as_map_mut()?.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Removes and returns `key` of a mapping.
    pub fn remove(&mut self, key: &str) -> Option<Node> {
        let m = self.as_map_mut()?;
        let i = m.iter().position(|(k, _)| k == key)?;
        Some(m.remove(i).1)
    }

    /// Sets `key` of a mapping, keeping its place if it exists.
    pub fn set(&mut self, key: &str, value: Node) {
        if let Some(m) = self.as_map_mut() {
            match m.iter_mut().find(|(k, _)| k == key) {
                Some(slot) => slot.1 = value,
                None => m.push((key.to_string(), value)),
            }
        }
    }

    /// How the node reads in an error message ("must be a list, got a mapping").
    pub fn kind(&self) -> &'static str {
        match &self.value {
            Value::Null => "null",
            Value::Str { .. } => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// YAML core schema null: `~`, `null` and the empty plain scalar.
fn is_null_text(s: &str) -> bool {
    matches!(s, "" | "~" | "null" | "Null" | "NULL")
}

enum Frame {
    Seq {
        items: Vec<Node>,
        pos: Pos,
        anchor: usize,
        tag: Option<Tag>,
    },
    Map {
        entries: Vec<(String, Node)>,
        /// The key waiting for its value, and where it was written.
        key: Option<(String, Pos)>,
        /// Values of `<<` merge keys, applied when the mapping ends.
        merges: Vec<Node>,
        pos: Pos,
        anchor: usize,
        tag: Option<Tag>,
    },
}

struct Builder<'a> {
    file: &'a str,
    anchors: HashMap<usize, Node>,
    stack: Vec<Frame>,
    root: Option<Node>,
    docs: Vec<Node>,
}

fn pos_of(span: &Span) -> Pos {
    Pos { line: span.start.line(), col: span.start.col() + 1 }
}

impl Builder<'_> {
    fn err(&self, pos: Pos, msg: impl Into<String>) -> ComposeError {
        ComposeError::Yaml { file: self.file.to_string(), line: pos.line, col: pos.col, msg: msg.into() }
    }

    fn event(&mut self, ev: Event, span: Span) -> Result<(), ComposeError> {
        let pos = pos_of(&span);
        match ev {
            Event::DocumentStart(_) => self.anchors.clear(),
            Event::DocumentEnd => {
                if let Some(root) = self.root.take() {
                    self.docs.push(root);
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                let tag_name = tag.as_ref().map(|t| t.to_string());
                let plain = style == ScalarStyle::Plain && tag_name.as_deref() != Some("tag:yaml.org,2002:str");
                let mut node = Node::new(Value::Str { text: text.into_owned(), plain }, pos);
                node.tag = compose_tag(tag_name.as_deref());
                self.push(node, anchor, pos)?;
            }
            Event::SequenceStart(anchor, tag) => {
                let tag = compose_tag(tag.map(|t| t.to_string()).as_deref());
                self.stack.push(Frame::Seq { items: Vec::new(), pos, anchor, tag });
            }
            Event::MappingStart(anchor, tag) => {
                let tag = compose_tag(tag.map(|t| t.to_string()).as_deref());
                self.stack.push(Frame::Map { entries: Vec::new(), key: None, merges: Vec::new(), pos, anchor, tag });
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq { items, pos, anchor, tag }) = self.stack.pop() {
                    let mut node = Node::new(Value::Seq(items), pos);
                    node.tag = tag;
                    self.push(node, anchor, pos)?;
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map { mut entries, merges, pos, anchor, tag, .. }) = self.stack.pop() {
                    // YAML merge keys: explicit keys win, then earlier merged maps win over later ones.
                    for merged in merges {
                        for (k, v) in merged.as_map().unwrap_or_default() {
                            if !entries.iter().any(|(e, _)| e == k) {
                                entries.push((k.clone(), v.clone()));
                            }
                        }
                    }
                    let mut node = Node::map(entries, pos);
                    node.tag = tag;
                    self.push(node, anchor, pos)?;
                }
            }
            Event::Alias(id) => {
                let node = self.anchors.get(&id).cloned().ok_or_else(|| self.err(pos, "unknown anchor"))?;
                self.push(node, 0, pos)?;
            }
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
        }
        Ok(())
    }

    /// Places a finished node: as a mapping key, a mapping value, a list
    /// item or the document root.
    fn push(&mut self, mut node: Node, anchor: usize, pos: Pos) -> Result<(), ComposeError> {
        let is_key = matches!(self.stack.last(), Some(Frame::Map { key: None, .. }));
        if !is_key {
            if let Value::Str { text, plain: true } = &node.value {
                if is_null_text(text) {
                    node.value = Value::Null;
                }
            }
        }
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, merges, .. }) => match key.take() {
                None => match node.value {
                    Value::Str { text, .. } => *key = Some((text, pos)),
                    Value::Null => *key = Some(("null".to_string(), pos)),
                    _ => return Err(self.err(pos, "mapping keys must be strings")),
                },
                Some((k, kpos)) => {
                    if k == "<<" {
                        match &node.value {
                            Value::Map(_) => merges.push(node),
                            Value::Seq(items) if items.iter().all(|i| matches!(i.value, Value::Map(_))) => {
                                merges.extend(items.iter().cloned())
                            }
                            _ => return Err(self.err(kpos, "merge key << needs a mapping or a list of mappings")),
                        }
                    } else if entries.iter().any(|(e, _)| *e == k) {
                        return Err(self.err(kpos, format!("mapping key \"{k}\" already defined")));
                    } else {
                        entries.push((k, node));
                    }
                }
            },
        }
        Ok(())
    }
}

fn compose_tag(tag: Option<&str>) -> Option<Tag> {
    match tag? {
        "!reset" => Some(Tag::Reset),
        "!override" => Some(Tag::Override),
        _ => None,
    }
}

/// Parses every document of a YAML stream. `file` names the source in errors.
pub fn parse(src: &str, file: &str) -> Result<Vec<Node>, ComposeError> {
    let mut parser = Parser::new_from_str(src);
    let mut b = Builder { file, anchors: HashMap::new(), stack: Vec::new(), root: None, docs: Vec::new() };
    while let Some(ev) = parser.next_event() {
        let (ev, span) = ev.map_err(|e| ComposeError::Yaml {
            file: file.to_string(),
            line: e.marker().line(),
            col: e.marker().col() + 1,
            msg: e.info().to_string(),
        })?;
        b.event(ev, span)?;
    }
    if let Some(root) = b.root.take() {
        b.docs.push(root);
    }
    Ok(b.docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(src: &str) -> Node {
        let mut docs = parse(src, "compose.yaml").unwrap();
        assert_eq!(docs.len(), 1);
        docs.remove(0)
    }

    #[test]
    fn scalars_stay_text_and_null_is_resolved() {
        let n = one("a: 1\nb: \"2\"\nc:\nd: ~\ne: true\n");
        assert_eq!(n.get("a").unwrap().value, Value::Str { text: "1".into(), plain: true });
        assert_eq!(n.get("b").unwrap().value, Value::Str { text: "2".into(), plain: false });
        assert!(n.get("c").unwrap().is_null());
        assert!(n.get("d").unwrap().is_null());
        assert_eq!(n.get("e").unwrap().as_str(), Some("true"));
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let n = one("x-base: &base\n  image: busybox\n  restart: always\nx-env: &env\n  restart: 'no'\n  tty: true\n\
             services:\n  a:\n    <<: [*base, *env]\n    restart: unless-stopped\n  b: *base\n");
        let a = n.get("services").unwrap().get("a").unwrap();
        assert_eq!(a.get("image").unwrap().as_str(), Some("busybox"));
        assert_eq!(a.get("restart").unwrap().as_str(), Some("unless-stopped"));
        assert_eq!(a.get("tty").unwrap().as_str(), Some("true"));
        let b = n.get("services").unwrap().get("b").unwrap();
        assert_eq!(b.get("restart").unwrap().as_str(), Some("always"));
    }

    #[test]
    fn merge_key_earlier_map_wins() {
        let n = one("x: &x {a: 1}\ny: &y {a: 2, b: 2}\nz:\n  <<: [*x, *y]\n");
        let z = n.get("z").unwrap();
        assert_eq!(z.get("a").unwrap().as_str(), Some("1"));
        assert_eq!(z.get("b").unwrap().as_str(), Some("2"));
    }

    #[test]
    fn compose_tags_are_kept() {
        let n = one("ports: !reset []\ncommand: !override [a]\n");
        assert_eq!(n.get("ports").unwrap().tag, Some(Tag::Reset));
        assert_eq!(n.get("command").unwrap().tag, Some(Tag::Override));
    }

    #[test]
    fn syntax_error_names_file_line_and_column() {
        let e = parse("services:\n  web:\n    image: [a\n", "/p/compose.yaml").unwrap_err().to_string();
        assert!(e.starts_with("/p/compose.yaml: line "), "{e}");
        assert!(e.contains(", column "), "{e}");
        let e = parse("a: 1\nb: 2\na: 3\n", "f.yaml").unwrap_err().to_string();
        assert_eq!(e, "f.yaml: line 3, column 1: mapping key \"a\" already defined");
    }

    #[test]
    fn multiple_documents() {
        let docs = parse("a: 1\n---\nb: 2\n", "f").unwrap();
        assert_eq!(docs.len(), 2);
        assert!(parse("# only a comment\n", "f").unwrap().is_empty());
    }
}
