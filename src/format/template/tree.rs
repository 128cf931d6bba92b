//! The parse tree (Go's `text/template/parse/node.go`), printed back as
//! source in execution errors (`at <.A.B>`).

use std::fmt;

use serde_json::Value;

#[derive(Debug, Clone)]
pub(super) enum Node {
    Text(String),
    Action(Pipe),
    If(Box<Control>),
    With(Box<Control>),
    Range(Box<Control>),
    Break,
    Continue,
}

#[derive(Debug, Clone)]
pub(super) struct Control {
    pub(super) pipe: Pipe,
    pub(super) list: Vec<Node>,
    pub(super) else_list: Option<Vec<Node>>,
}

#[derive(Debug, Clone)]
pub(super) struct Pipe {
    pub(super) decl: Vec<String>,
    pub(super) is_assign: bool,
    pub(super) cmds: Vec<Cmd>,
}

#[derive(Debug, Clone)]
pub(super) struct Cmd {
    pub(super) pos: usize,
    pub(super) args: Vec<Operand>,
}

#[derive(Debug, Clone)]
pub(super) struct Operand {
    pub(super) pos: usize,
    pub(super) op: Op,
}

#[derive(Debug, Clone)]
pub(super) enum Op {
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
