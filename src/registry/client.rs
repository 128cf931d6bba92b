//! One registry, spoken to over the Docker Registry HTTP API v2 / OCI
//! distribution API: transport (HTTPS with the host's CAs and per-registry
//! CA files, plain HTTP where Docker allows it), authentication (anonymous,
//! HTTP basic, the Bearer token flow), retries with back-off, and the
//! registry's JSON errors turned into one readable line.
//!
//! Credentials are sent only in headers; nothing here prints or logs them.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::auth::Credentials;
use super::config::RegistryConfig;
use super::RegistryError as E;

/// A request body that can be sent again after a broken connection.
pub enum Body<'a> {
    Empty,
    Bytes(&'a [u8]),
    File(&'a Path),
}

/// What to do about TLS (`--tls-verify`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsVerify {
    /// Verify, except where plain HTTP is allowed (loopback, configured insecure registries).
    #[default]
    Default,
    True,
    False,
}

enum Challenge {
    Basic,
    Bearer { realm: String, service: Option<String> },
}

pub struct Client {
    /// `host[:port]` as it appears in image names (docker.io mapped to its API host).
    pub host: String,
    /// `https://host` or `http://host`, decided by the first request.
    base: Mutex<Option<String>>,
    agent: ureq::Agent,
    creds: Option<Credentials>,
    may_use_http: bool,
    challenge: Mutex<Option<Challenge>>,
    /// Bearer tokens by scope.
    tokens: Mutex<HashMap<String, String>>,
}

/// The API host behind docker.io, as Docker maps it.
pub fn api_host(registry: &str) -> &str {
    match registry {
        "docker.io" | "index.docker.io" => "registry-1.docker.io",
        r => r,
    }
}

/// Loopback registries may use plain HTTP, as Docker allows.
pub fn is_loopback(host: &str) -> bool {
    let h = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host
            .rsplit_once(':')
            .map(|(h, p)| if p.chars().all(|c| c.is_ascii_digit()) { h } else { host })
            .unwrap_or(host),
    };
    h == "localhost" || h == "::1" || h.starts_with("127.")
}

fn read_timeout() -> Duration {
    // Overridable so that tests of a stalling server need not wait a minute.
    let secs = std::env::var("RCON_REGISTRY_TIMEOUT").ok().and_then(|s| s.parse().ok()).unwrap_or(60u64);
    Duration::from_secs(secs.max(1))
}

impl Client {
    /// A client for `host` (an image reference's registry part).
    pub fn new(host: &str, cfg: &RegistryConfig, tls: TlsVerify, creds: Option<Credentials>) -> Result<Client, E> {
        let host = api_host(host).to_string();
        let insecure = tls == TlsVerify::False || cfg.is_insecure(&host);
        let may_use_http = tls != TlsVerify::True && (insecure || is_loopback(&host));
        let mut b = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(15))
            .timeout_read(read_timeout())
            .timeout_write(read_timeout())
            .user_agent(&format!("rcon/{}", crate::VERSION))
            .max_idle_connections_per_host(8)
            .redirects(8);
        let cas = cfg.ca_files(&host);
        if insecure || !cas.is_empty() {
            b = b.tls_config(Arc::new(tls_config(&cas, insecure)?));
        }
        Ok(Client {
            host,
            base: Mutex::new(None),
            agent: b.build(),
            creds,
            may_use_http,
            challenge: Mutex::new(None),
            tokens: Mutex::new(HashMap::new()),
        })
    }

    /// `https://host` or, where allowed and HTTPS does not answer, `http://host`.
    fn base(&self) -> Result<String, E> {
        if let Some(b) = self.base.lock().unwrap().clone() {
            return Ok(b);
        }
        let https = format!("https://{}", self.host);
        // Where plain HTTP is a possibility, a failed HTTPS probe is not
        // retried: a plain-HTTP registry answers a TLS hello with garbage
        // every time, and the retries would cost a second per command.
        let chosen = match self.ping(&https, !self.may_use_http) {
            Ok(()) => https,
            // Plain HTTP where allowed, but a server that speaks TLS with a
            // certificate we cannot verify is an error, not a reason to
            // downgrade (stricter than Docker, as podman is).
            Err(e) if self.may_use_http && !e.to_string().contains("certificate") => {
                let http = format!("http://{}", self.host);
                match self.ping(&http, true) {
                    Ok(()) => http,
                    Err(_) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        };
        *self.base.lock().unwrap() = Some(chosen.clone());
        Ok(chosen)
    }

    /// GET /v2/: any HTTP answer means the scheme works; a 401 tells us how
    /// to authenticate.
    fn ping(&self, base: &str, retry: bool) -> Result<(), E> {
        let url = format!("{base}/v2/");
        let mut attempt = 0;
        loop {
            match self.agent.get(&url).call() {
                Ok(_) => return Ok(()),
                Err(ureq::Error::Status(401, r)) => {
                    *self.challenge.lock().unwrap() = parse_challenge(r.header("www-authenticate"));
                    return Ok(());
                }
                Err(ureq::Error::Status(code, _)) if code >= 500 && attempt < 2 => {}
                Err(ureq::Error::Status(_, _)) => return Ok(()),
                Err(ureq::Error::Transport(t)) => {
                    if !retry || attempt >= 2 || !retryable(&t) {
                        return Err(E::Transport(format!("{}: {}", self.host, describe_transport(&t))));
                    }
                }
            }
            attempt += 1;
            std::thread::sleep(backoff(attempt));
        }
    }

    pub fn url(&self, path: &str) -> Result<String, E> {
        Ok(format!("{}{path}", self.base()?))
    }

    /// Authorization header for `scope`, fetching a token if the registry
    /// asked for Bearer.
    fn auth_header(&self, scope: &str, force_refresh: bool) -> Result<Option<String>, E> {
        let ch = self.challenge.lock().unwrap();
        match &*ch {
            None => Ok(None),
            Some(Challenge::Basic) => match &self.creds {
                Some(c) => Ok(Some(format!("Basic {}", c.basic()))),
                None => Err(E::Unauthorized(format!(
                    "{} requires authentication: log in with rcon login {}",
                    self.host, self.host
                ))),
            },
            Some(Challenge::Bearer { realm, service }) => {
                if !force_refresh {
                    if let Some(t) = self.tokens.lock().unwrap().get(scope) {
                        return Ok(Some(format!("Bearer {t}")));
                    }
                }
                let token = self.fetch_token(realm, service.as_deref(), scope)?;
                self.tokens.lock().unwrap().insert(scope.to_string(), token.clone());
                Ok(Some(format!("Bearer {token}")))
            }
        }
    }

    fn fetch_token(&self, realm: &str, service: Option<&str>, scope: &str) -> Result<String, E> {
        let mut req = self.agent.get(realm);
        if let Some(s) = service {
            req = req.query("service", s);
        }
        for s in scope.split(' ').filter(|s| !s.is_empty()) {
            req = req.query("scope", s);
        }
        if let Some(c) = &self.creds {
            req = req.set("Authorization", &format!("Basic {}", c.basic()));
        }
        let resp = match req.call() {
            Ok(r) => r,
            Err(ureq::Error::Status(401, _)) | Err(ureq::Error::Status(403, _)) => {
                return Err(E::Unauthorized(format!(
                    "{}: incorrect username or password (the token server refused the credentials)",
                    self.host
                )))
            }
            Err(ureq::Error::Status(code, _)) => {
                return Err(E::Transport(format!("{}: token server answered HTTP {code}", self.host)))
            }
            Err(ureq::Error::Transport(t)) => {
                return Err(E::Transport(format!("{}: token server: {}", self.host, describe_transport(&t))))
            }
        };
        let v: serde_json::Value = serde_json::from_reader(resp.into_reader().take(1 << 20))
            .map_err(|e| E::Protocol(format!("{}: token server sent invalid JSON: {e}", self.host)))?;
        v.get("token")
            .or_else(|| v.get("access_token"))
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .ok_or_else(|| E::Protocol(format!("{}: token server sent no token", self.host)))
    }

    /// Send a request, authenticating and retrying as needed. `path` is an
    /// API path (`/v2/...`) or an absolute URL (upload locations).
    /// Non-success statuses come back as `RegistryError::Status`.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        scope: &str,
        headers: &[(&str, &str)],
        body: Body,
    ) -> Result<ureq::Response, E> {
        let url = if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            self.url(path)?
        };
        let mut attempt = 0;
        let mut refreshed = false;
        loop {
            let mut req = self.agent.request(method, &url);
            for (k, v) in headers {
                req = req.set(k, v);
            }
            if let Some(a) = self.auth_header(scope, false)? {
                req = req.set("Authorization", &a);
            }
            let res = match &body {
                Body::Empty => req.call(),
                Body::Bytes(b) => req.send_bytes(b),
                Body::File(p) => {
                    let f = std::fs::File::open(p).map_err(|e| E::Local(format!("read {}: {e}", p.display())))?;
                    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
                    req.set("Content-Length", &len.to_string()).send(std::io::BufReader::with_capacity(1 << 20, f))
                }
            };
            match res {
                Ok(r) => return Ok(r),
                Err(ureq::Error::Status(401, r)) if !refreshed => {
                    // First contact, an expired token, or a wider scope:
                    // take the registry's challenge and try once more.
                    let ch = parse_challenge(r.header("www-authenticate"));
                    if ch.is_none() {
                        return Err(E::Unauthorized(format!("{}: authentication required", self.host)));
                    }
                    if matches!(ch, Some(Challenge::Basic)) && self.creds.is_some() && self.had_basic() {
                        return Err(E::Unauthorized(format!(
                            "{}: incorrect username or password: log in again with rcon login {}",
                            self.host, self.host
                        )));
                    }
                    *self.challenge.lock().unwrap() = ch;
                    self.tokens.lock().unwrap().remove(scope);
                    refreshed = true;
                    continue;
                }
                Err(ureq::Error::Status(401, _)) => {
                    return Err(E::Unauthorized(match &self.creds {
                        Some(_) => {
                            format!("{}: access denied (wrong credentials, or no access to this repository)", self.host)
                        }
                        None => format!("{} requires authentication: log in with rcon login {}", self.host, self.host),
                    }))
                }
                Err(ureq::Error::Status(code, r)) if code >= 500 && attempt < 3 => {
                    drop(r);
                }
                Err(ureq::Error::Status(code, r)) => return Err(status_error(code, r)),
                Err(ureq::Error::Transport(t)) => {
                    if attempt >= 3 || !retryable(&t) {
                        return Err(E::Transport(format!("{}: {}", self.host, describe_transport(&t))));
                    }
                }
            }
            attempt += 1;
            std::thread::sleep(backoff(attempt));
        }
    }

    fn had_basic(&self) -> bool {
        matches!(*self.challenge.lock().unwrap(), Some(Challenge::Basic))
    }

    /// Check that the registry accepts our credentials (for `login`).
    pub fn check_login(&self) -> Result<(), E> {
        self.base()?;
        let has_challenge = self.challenge.lock().unwrap().is_some();
        if !has_challenge {
            return Ok(());
        }
        // Basic: /v2/ with the header; Bearer: a token for the empty scope.
        self.send("GET", "/v2/", "", &[], Body::Empty).map(|_| ())
    }
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(200u64 << attempt.min(5))
}

fn retryable(t: &ureq::Transport) -> bool {
    use ureq::ErrorKind::*;
    matches!(t.kind(), Io | ConnectionFailed | ProxyConnect) && !is_refused(t)
}

fn is_refused(t: &ureq::Transport) -> bool {
    t.to_string().contains("Connection refused")
}

/// ureq's transport errors carry the URL; keep just the cause.
fn describe_transport(t: &ureq::Transport) -> String {
    use ureq::ErrorKind::*;
    let msg = t.message().map(str::to_string).unwrap_or_default();
    let src = std::error::Error::source(t).map(|s| s.to_string()).unwrap_or_default();
    let detail = if src.is_empty() { msg.clone() } else { src };
    match t.kind() {
        Dns => "unknown host (name resolution failed)".into(),
        ConnectionFailed if is_refused(t) => "connection refused".into(),
        ConnectionFailed => format!("cannot connect: {detail}"),
        Io if detail.contains("timed out") || detail.contains("WouldBlock") => {
            "the registry stopped answering (timed out)".into()
        }
        _ => {
            if detail.is_empty() {
                t.kind().to_string()
            } else {
                detail
            }
        }
    }
}

/// The registry's error body (`{"errors":[{"code","message"}]}`), one line.
fn status_error(code: u16, r: ureq::Response) -> E {
    let mut text = String::new();
    let _ = r.into_reader().take(64 * 1024).read_to_string(&mut text);
    let msg = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| {
            let errs = v.get("errors")?.as_array()?.clone();
            let parts: Vec<String> = errs
                .iter()
                .map(|e| {
                    let m = e.get("message").and_then(|m| m.as_str()).unwrap_or("");
                    let c = e.get("code").and_then(|m| m.as_str()).unwrap_or("");
                    if m.is_empty() {
                        c.to_ascii_lowercase().replace('_', " ")
                    } else {
                        // The registry's words, not ours: no control bytes through.
                        crate::format::quote::escape(m)
                    }
                })
                .collect();
            (!parts.is_empty()).then(|| parts.join("; "))
        })
        .unwrap_or_else(|| format!("HTTP {code}"));
    E::Status { code, message: msg }
}

fn parse_challenge(h: Option<&str>) -> Option<Challenge> {
    let h = h?.trim();
    let (scheme, rest) = h.split_once(' ').unwrap_or((h, ""));
    match scheme.to_ascii_lowercase().as_str() {
        "basic" => Some(Challenge::Basic),
        "bearer" => {
            let params = parse_params(rest);
            Some(Challenge::Bearer { realm: params.get("realm")?.clone(), service: params.get("service").cloned() })
        }
        _ => None,
    }
}

/// `realm="https://…",service="x",scope="a,b"` (commas inside quotes kept).
fn parse_params(s: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once('=') else { break };
        let key = key.trim().trim_start_matches(',').trim().to_ascii_lowercase();
        let after = after.trim_start();
        let (value, next) = if let Some(q) = after.strip_prefix('"') {
            let end = q.find('"').unwrap_or(q.len());
            (q[..end].to_string(), q.get(end + 1..).unwrap_or(""))
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim().to_string(), &after[end..])
        };
        out.insert(key, value);
        rest = next.trim_start().trim_start_matches(',').trim_start();
    }
    out
}

/// A rustls config with the system's CAs plus `cas`, or one that accepts any
/// certificate (`--tls-verify=false`, configured insecure registries).
fn tls_config(cas: &[PathBuf], insecure: bool) -> Result<ureq::rustls::ClientConfig, E> {
    use ureq::rustls;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS12, &rustls::version::TLS13])
        .map_err(|e| E::Local(format!("TLS setup: {e}")))?;
    if insecure {
        return Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
            .with_no_client_auth());
    }
    let mut roots = rustls::RootCertStore::empty();
    for bundle in ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"] {
        if let Ok(text) = std::fs::read_to_string(bundle) {
            roots.add_parsable_certificates(pem_certs(&text));
            break;
        }
    }
    for ca in cas {
        let text = std::fs::read_to_string(ca).map_err(|e| E::Local(format!("read CA file {}: {e}", ca.display())))?;
        let (ok, _) = roots.add_parsable_certificates(pem_certs(&text));
        if ok == 0 {
            return Err(E::Local(format!("CA file {} holds no usable PEM certificate", ca.display())));
        }
    }
    Ok(builder.with_root_certificates(roots).with_no_client_auth())
}

fn pem_certs(text: &str) -> Vec<ureq::rustls::pki_types::CertificateDer<'static>> {
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if line == "-----BEGIN CERTIFICATE-----" {
            cur = Some(String::new());
        } else if line == "-----END CERTIFICATE-----" {
            if let Some(b) = cur.take().and_then(|b| crate::util::base64_decode(&b)) {
                out.push(b.into());
            }
        } else if let Some(c) = cur.as_mut() {
            c.push_str(line);
        }
    }
    out
}

#[derive(Debug)]
struct NoVerify(Arc<ureq::rustls::crypto::CryptoProvider>);

impl ureq::rustls::client::danger::ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _: &ureq::rustls::pki_types::CertificateDer<'_>,
        _: &[ureq::rustls::pki_types::CertificateDer<'_>],
        _: &ureq::rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: ureq::rustls::pki_types::UnixTime,
    ) -> Result<ureq::rustls::client::danger::ServerCertVerified, ureq::rustls::Error> {
        Ok(ureq::rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &ureq::rustls::pki_types::CertificateDer<'_>,
        d: &ureq::rustls::DigitallySignedStruct,
    ) -> Result<ureq::rustls::client::danger::HandshakeSignatureValid, ureq::rustls::Error> {
        ureq::rustls::crypto::verify_tls12_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &ureq::rustls::pki_types::CertificateDer<'_>,
        d: &ureq::rustls::DigitallySignedStruct,
    ) -> Result<ureq::rustls::client::danger::HandshakeSignatureValid, ureq::rustls::Error> {
        ureq::rustls::crypto::verify_tls13_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<ureq::rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_parsing() {
        match parse_challenge(Some(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull,push""#,
        )) {
            Some(Challenge::Bearer { realm, service }) => {
                assert_eq!(realm, "https://auth.docker.io/token");
                assert_eq!(service.as_deref(), Some("registry.docker.io"));
            }
            _ => panic!("not bearer"),
        }
        assert!(matches!(parse_challenge(Some(r#"Basic realm="x""#)), Some(Challenge::Basic)));
        assert!(parse_challenge(Some("Negotiate")).is_none());
        let p = parse_params(r#"realm="a,b", scope=x,service="s""#);
        assert_eq!(p["realm"], "a,b");
        assert_eq!(p["scope"], "x");
        assert_eq!(p["service"], "s");
    }

    #[test]
    fn loopback_hosts() {
        for h in ["localhost", "localhost:5000", "127.0.0.1:5000", "127.1.2.3", "[::1]:5000"] {
            assert!(is_loopback(h), "{h}");
        }
        for h in ["example.com", "10.0.0.1:5000", "localhost.example.com"] {
            assert!(!is_loopback(h), "{h}");
        }
        assert_eq!(api_host("docker.io"), "registry-1.docker.io");
    }
}
