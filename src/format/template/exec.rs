//! Execution (mirrors Go's `text/template/exec.go`): walks the tree over
//! the data, writing the output.

use std::borrow::Cow;
use std::fmt;

use serde_json::Value;

use super::funcs::{
    fn_compare, fn_eq, fn_index, fn_join, fn_len, fn_pad, fn_slice, fn_split, fn_truncate, go_title, html_escape,
    js_escape, owned_str, query_escape, simple_lower, simple_upper, want_str, FnError,
};
use super::json::write_json;
use super::print::{print_value, sprint, sprint_value, sprintf, sprintln};
use super::strconv::go_quote;
use super::tree::{Cmd, Control, Node, Op, Operand, Pipe};
use super::{Mode, TemplateError, ERR_PREFIX};

/// Execute `root` (parsed from `src`) with `data` as dot and `$`; returns
/// the output written, also when execution stopped at an error.
pub(super) fn execute(root: &[Node], src: &str, data: &Value, mode: Mode<'_>) -> (String, Result<(), TemplateError>) {
    let mut st = State { root: data, mode, vars: Vec::new(), out: String::new() };
    st.vars.push(("$".to_string(), Some(Cow::Borrowed(data))));
    let res = st.walk(root, &Some(Cow::Borrowed(data))).map(|_| ()).map_err(|e| e.into_error(src));
    (st.out, res)
}

/// A value during execution; `None` is Go's invalid reflect.Value, printed
/// as `<no value>` (a missing map key).
pub(super) type V<'a> = Option<Cow<'a, Value>>;

static NULL: Value = Value::Null;

pub(super) fn val<'v>(v: &'v V<'_>) -> &'v Value {
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

struct State<'a, 'h> {
    root: &'a Value,
    mode: Mode<'h>,
    vars: Vec<(String, V<'a>)>,
    out: String,
}

pub(super) fn is_true(v: &V<'_>) -> bool {
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
pub(super) fn go_type(v: &Value) -> &'static str {
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
            "split" => fn_split(&vals),
            "join" => fn_join(&vals),
            "title" => want_str(&vals, 0).map(|s| owned_str(go_title(s))),
            "lower" => want_str(&vals, 0).map(|s| owned_str(s.chars().map(simple_lower).collect())),
            "upper" => want_str(&vals, 0).map(|s| owned_str(s.chars().map(simple_upper).collect())),
            "pad" => fn_pad(&vals),
            "truncate" => fn_truncate(&vals),
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
