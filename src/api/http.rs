//! The HTTP side of the API: requests as handlers see them, responses in
//! Docker's shapes (Go's JSON encoding, `{"message": …}` errors, the
//! headers every answer carries), bodies streamed from blocking engine
//! calls, and hijacked connections for attach and exec.

use std::collections::HashMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Frame, Incoming};
use hyper::header::{HeaderMap, HeaderValue};
use hyper::{Response, StatusCode};
use serde_json::Value;

use crate::error::Error;

/// The API version rcon speaks, and the oldest it accepts in a path.
pub const API_VERSION: &str = crate::API_VERSION;
pub const MIN_API_VERSION: &str = "1.24";

/// The largest request body read into memory (a JSON body; build contexts,
/// archives and image tarballs stream to disk instead).
pub const MAX_JSON_BODY: usize = 16 << 20;

/// A response body: nothing, bytes, or a stream fed by a blocking task.
pub enum Body {
    Empty,
    Full(Option<Bytes>),
    Stream(tokio::sync::mpsc::Receiver<Bytes>),
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            Body::Empty => Poll::Ready(None),
            Body::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            Body::Stream(rx) => rx.poll_recv(cx).map(|o| o.map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Body::Empty | Body::Full(None))
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        match self {
            Body::Empty => hyper::body::SizeHint::with_exact(0),
            Body::Full(Some(b)) => hyper::body::SizeHint::with_exact(b.len() as u64),
            Body::Full(None) => hyper::body::SizeHint::with_exact(0),
            Body::Stream(_) => hyper::body::SizeHint::default(),
        }
    }
}

pub type Resp = Response<Body>;

/// A failed request: Docker's status and `{"message": …}` body.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: u16, message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            message: message.into(),
        }
    }
    pub fn bad(message: impl Into<String>) -> ApiError {
        ApiError::new(400, message)
    }
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(404, message)
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        // Docker's wording of the usual not-found errors, which clients
        // (docker-py's NotFound, compose) show as they are.
        let message = match &e {
            Error::NoSuchContainer(id) => format!("No such container: {id}"),
            Error::NoSuchImage(id) => format!("No such image: {id}"),
            Error::NoSuchVolume(v) => format!("get {v}: no such volume"),
            Error::NameInUse { name, id } => format!(
                "Conflict. The container name \"/{name}\" is already in use by container \"{id}\". You have to remove (or rename) that container to be able to reuse that name."
            ),
            e => e.to_string(),
        };
        ApiError::new(e.kind().http_status(), message)
    }
}

pub type Handled = Result<Resp, ApiError>;

/// Go's `json.Marshal`: `<`, `>`, `&` escaped (they only ever appear inside
/// strings, so escaping them in the encoded text is exact), a newline at
/// the end as Go's `json.Encoder` writes it.
pub fn encode(v: &Value) -> Bytes {
    let text = serde_json::to_string(v).unwrap_or_else(|_| "null".into());
    let mut out = String::with_capacity(text.len() + 1);
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            c => out.push(c),
        }
    }
    out.push('\n');
    Bytes::from(out)
}

/// The headers of every routed answer.
pub fn common_headers(h: &mut HeaderMap) {
    h.insert("Api-Version", HeaderValue::from_static(API_VERSION));
    h.insert("Docker-Experimental", HeaderValue::from_static("false"));
    h.insert("Ostype", HeaderValue::from_static("linux"));
    h.insert("Server", HeaderValue::from_str(&format!("rcon/{} (linux)", crate::VERSION)).expect("ascii"));
}

pub fn json(status: u16, v: &Value) -> Resp {
    let mut r = Response::new(Body::Full(Some(encode(v))));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    r.headers_mut().insert("Content-Type", HeaderValue::from_static("application/json"));
    r
}

pub fn ok_json(v: &Value) -> Handled {
    Ok(json(200, v))
}

pub fn empty(status: u16) -> Resp {
    let mut r = Response::new(Body::Empty);
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::NO_CONTENT);
    r
}

pub fn no_content() -> Handled {
    Ok(empty(204))
}

pub fn text(status: u16, s: &str) -> Resp {
    let mut r = Response::new(Body::Full(Some(Bytes::copy_from_slice(s.as_bytes()))));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    r.headers_mut().insert("Content-Type", HeaderValue::from_static("text/plain; charset=utf-8"));
    r
}

pub fn error_response(e: &ApiError) -> Resp {
    if e.status == StatusCode::NOT_MODIFIED {
        return empty(304);
    }
    json(e.status.as_u16(), &serde_json::json!({ "message": e.message }))
}

/// A streamed answer: the sender feeds it from a blocking task; the
/// headers go out at once (a `wait` client sees them before the exit).
pub fn stream(content_type: &str) -> (tokio::sync::mpsc::Sender<Bytes>, Resp) {
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let mut r = Response::new(Body::Stream(rx));
    if !content_type.is_empty() {
        r.headers_mut().insert("Content-Type", HeaderValue::from_str(content_type).expect("ascii"));
    }
    (tx, r)
}

/// Cancelled once the receiving end of a streamed body is gone (hyper
/// drops it when the client disconnects): the engine call feeding it stops
/// at its next poll instead of holding a thread, and the service's idle
/// clock, until the container next does something. A weak sender, so the
/// check never keeps the body open.
pub fn cancel_on_close(tx: &tokio::sync::mpsc::Sender<Bytes>) -> crate::engine::Cancel {
    let weak = tx.downgrade();
    crate::engine::Cancel::when(move || weak.upgrade().is_none_or(|tx| tx.is_closed()))
}

/// A request's query string as Docker's handlers read it.
#[derive(Debug, Default, Clone)]
pub struct Query(pub HashMap<String, Vec<String>>);

impl Query {
    pub fn parse(q: Option<&str>) -> Query {
        let mut m: HashMap<String, Vec<String>> = HashMap::new();
        for pair in q.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            m.entry(unescape(k)).or_default().push(unescape(v));
        }
        Query(m)
    }

    pub fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).and_then(|v| v.first()).map(String::as_str)
    }

    pub fn all(&self, k: &str) -> Vec<String> {
        self.0.get(k).cloned().unwrap_or_default()
    }

    /// Docker's boolean: anything but "", 0, no, false, none (any case) is
    /// true (the CLI sends 1/0, docker-py True/False).
    pub fn flag(&self, k: &str) -> bool {
        self.get(k).is_some_and(|v| !matches!(v.to_ascii_lowercase().as_str(), "" | "0" | "no" | "false" | "none"))
    }

    pub fn flag_or(&self, k: &str, default: bool) -> bool {
        if self.get(k).is_some() {
            self.flag(k)
        } else {
            default
        }
    }

    pub fn int(&self, k: &str) -> Result<Option<i64>, ApiError> {
        match self.get(k) {
            None | Some("") => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| ApiError::bad(format!("invalid value for {k}: {v:?}"))),
        }
    }

    /// The `filters` parameter (JSON), `{}` when absent.
    pub fn filters(&self) -> Result<Value, ApiError> {
        match self.get("filters") {
            None | Some("") => Ok(Value::Object(Default::default())),
            Some(f) => serde_json::from_str(f).map_err(|e| ApiError::bad(format!("invalid filters: {e}"))),
        }
    }
}

/// `%XX` and `+` in a query component.
pub fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Read a request body into memory, refusing more than `limit` bytes.
pub async fn read_body(body: Incoming, limit: usize) -> Result<Bytes, ApiError> {
    let limited = http_body_util::Limited::new(body, limit);
    match limited.collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
            Err(ApiError::new(413, format!("request body too large (over {} bytes)", limit)))
        }
        Err(e) => Err(ApiError::bad(format!("read the request body: {e}"))),
    }
}

/// A JSON request body (`{}` for an empty one, as Docker's optional
/// bodies); unknown fields are the handler's to ignore.
pub async fn read_json(body: Incoming) -> Result<Value, ApiError> {
    let b = read_body(body, MAX_JSON_BODY).await?;
    if b.iter().all(|c| c.is_ascii_whitespace()) {
        return Ok(Value::Object(Default::default()));
    }
    serde_json::from_slice(&b).map_err(|e| ApiError::bad(format!("invalid JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_json_and_queries() {
        assert_eq!(
            &encode(&serde_json::json!({"a": "<none> & more"}))[..],
            b"{\"a\":\"\\u003cnone\\u003e \\u0026 more\"}\n"
        );
        let q = Query::parse(Some("all=1&filters=%7B%22label%22%3A%5B%22a%3Db%22%5D%7D&t=x&t=y&rm=False&q=a+b"));
        assert!(q.flag("all"));
        assert!(!q.flag("rm"));
        assert!(!q.flag("missing"));
        assert_eq!(q.all("t"), ["x", "y"]);
        assert_eq!(q.get("q"), Some("a b"));
        assert_eq!(q.filters().unwrap(), serde_json::json!({"label": ["a=b"]}));
        assert_eq!(unescape("100%"), "100%");
        assert_eq!(unescape("%2"), "%2");
    }
}
