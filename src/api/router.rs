//! Routing: `/vX.Y` prefixes and version checks, then one handler per
//! route, as Docker's daemon lays them out. Unknown routes answer Docker's
//! 404 `page not found` (without the usual headers, as dockerd does).

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Method, Request};

use super::http::{self, common_headers, error_response, ApiError, Handled, Query, Resp};
use super::{containers, exec, images, networks, system, State};

/// `(major, minor)` of an API version.
fn version(v: &str) -> Option<(u32, u32)> {
    let (a, b) = v.split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

pub async fn handle(st: Arc<State>, req: Request<Incoming>) -> Resp {
    let _busy = st.busy();
    let path = req.uri().path().to_string();
    let query = Query::parse(req.uri().query());
    // An optional /vX.Y prefix, checked against what we serve.
    let mut rest = path.as_str();
    if let Some(after) = path.strip_prefix("/v") {
        if let Some((v, tail)) = after.split_once('/') {
            if let Some(ver) = version(v) {
                if ver > version(http::API_VERSION).expect("ours parses") {
                    let mut r = error_response(&ApiError::bad(format!(
                        "client version {v} is too new. Maximum supported API version is {}",
                        http::API_VERSION
                    )));
                    common_headers(r.headers_mut());
                    return r;
                }
                if ver < version(http::MIN_API_VERSION).expect("ours parses") {
                    return http::text(
                        400,
                        &format!(
                            "client version {v} is too old. Minimum supported API version is {}, please upgrade your client to a newer version",
                            http::MIN_API_VERSION
                        ),
                    );
                }
                rest = &path[2 + v.len()..];
                let _ = tail;
            }
        }
    }
    let segs: Vec<String> = rest.trim_matches('/').split('/').map(http::unescape).collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let method = req.method().clone();
    match dispatch(&st, &method, &segs, query, req).await {
        Some(Ok(mut r)) => {
            // A hijacked attach answers with exactly its own headers.
            if r.status() != hyper::StatusCode::SWITCHING_PROTOCOLS {
                common_headers(r.headers_mut());
            }
            if method == Method::HEAD {
                *r.body_mut() = http::Body::Empty;
            }
            r
        }
        Some(Err(e)) => {
            let mut r = error_response(&e);
            common_headers(r.headers_mut());
            r
        }
        None => http::json(404, &serde_json::json!({"message": "page not found"})),
    }
}

/// None: no such route.
async fn dispatch(st: &Arc<State>, m: &Method, segs: &[&str], q: Query, req: Request<Incoming>) -> Option<Handled> {
    use Method as M;
    let get = *m == M::GET;
    let post = *m == M::POST;
    let head = *m == M::HEAD;
    let delete = *m == M::DELETE;
    Some(match segs {
        ["_ping"] if get || head => system::ping(),
        ["version"] if get => system::version(st).await,
        ["info"] if get => system::info(st).await,
        ["events"] if get => system::events(st, q).await,
        ["system", "df"] if get => system::df(st).await,
        ["auth"] if post => system::auth(st, req).await,

        ["containers", "create"] if post => containers::create(st, q, req).await,
        ["containers", "json"] if get => containers::list(st, q).await,
        ["containers", "prune"] if post => containers::prune(st, q).await,
        ["containers", id, "json"] if get => containers::inspect(st, id, q).await,
        ["containers", id, "top"] if get => containers::top(st, id, q).await,
        ["containers", id, "logs"] if get => containers::logs(st, id, q).await,
        ["containers", id, "changes"] if get => containers::changes(st, id).await,
        ["containers", id, "export"] if get => containers::export(st, id).await,
        ["containers", id, "stats"] if get => containers::stats(st, id, q).await,
        ["containers", id, "resize"] if post => containers::resize(st, id, q).await,
        ["containers", id, "start"] if post => containers::start(st, id).await,
        ["containers", id, "stop"] if post => containers::stop(st, id, q).await,
        ["containers", id, "restart"] if post => containers::restart(st, id, q).await,
        ["containers", id, "kill"] if post => containers::kill(st, id, q).await,
        ["containers", id, "update"] if post => containers::update(st, id, req).await,
        ["containers", id, "rename"] if post => containers::rename(st, id, q).await,
        ["containers", id, "pause"] if post => containers::pause(st, id, true).await,
        ["containers", id, "unpause"] if post => containers::pause(st, id, false).await,
        ["containers", id, "attach"] if post => containers::attach(st, id, q, req).await,
        ["containers", id, "wait"] if post => containers::wait(st, id, q).await,
        ["containers", id, "archive"] if head => containers::archive_stat(st, id, q).await,
        ["containers", id, "archive"] if get => containers::archive_get(st, id, q).await,
        ["containers", id, "archive"] if *m == M::PUT => containers::archive_put(st, id, q, req).await,
        ["containers", id] if delete => containers::remove(st, id, q).await,

        ["containers", id, "exec"] if post => exec::create(st, id, req).await,
        ["exec", id, "start"] if post => exec::start(st, id, req).await,
        ["exec", id, "resize"] if post => exec::resize(st, id, q).await,
        ["exec", id, "json"] if get => exec::inspect(st, id).await,

        ["images", "json"] if get => images::list(st, q).await,
        ["images", "create"] if post => images::create(st, q, req).await,
        ["images", "search"] if get => images::search(st, q).await,
        ["images", "prune"] if post => images::prune(st, q).await,
        ["images", "get"] if get => images::save(st, q.all("names")).await,
        ["images", "load"] if post => images::load(st, q, req).await,
        ["images", name @ .., "json"] if get && !name.is_empty() => images::inspect(st, &name.join("/")).await,
        ["images", name @ .., "history"] if get && !name.is_empty() => images::history(st, &name.join("/")).await,
        ["images", name @ .., "push"] if post && !name.is_empty() => images::push(st, &name.join("/"), q, req).await,
        ["images", name @ .., "tag"] if post && !name.is_empty() => images::tag(st, &name.join("/"), q).await,
        ["images", name @ .., "get"] if get && !name.is_empty() => images::save(st, vec![name.join("/")]).await,
        ["images", name @ ..] if delete && !name.is_empty() => images::remove(st, &name.join("/"), q).await,
        ["build"] if post => images::build(st, q, req).await,
        ["build", "prune"] if post => images::build_prune().await,
        ["commit"] if post => images::commit(st, q, req).await,
        ["distribution", name @ .., "json"] if get && !name.is_empty() => {
            images::distribution(st, &name.join("/"), req).await
        }

        ["networks"] if get => networks::list(st, q).await,
        ["networks", "create"] if post => networks::create(st, req).await,
        ["networks", "prune"] if post => networks::prune(st, q).await,
        ["networks", id] if get => networks::inspect(st, id).await,
        ["networks", id] if delete => networks::remove(st, id).await,
        ["networks", id, "connect"] if post => networks::connect(st, id, req).await,
        ["networks", id, "disconnect"] if post => networks::disconnect(st, id, req).await,

        ["volumes"] if get => networks::volumes_list(st, q).await,
        ["volumes", "create"] if post => networks::volume_create(st, req).await,
        ["volumes", "prune"] if post => networks::volumes_prune(st, q).await,
        ["volumes", name] if get => networks::volume_inspect(st, name).await,
        ["volumes", name] if delete => networks::volume_remove(st, name, q).await,

        ["swarm", ..] | ["services", ..] | ["nodes", ..] | ["tasks", ..] | ["secrets", ..] | ["configs", ..] => {
            system::no_swarm()
        }
        ["plugins"] if get => http::ok_json(&serde_json::json!([])),
        _ => return None,
    })
}
