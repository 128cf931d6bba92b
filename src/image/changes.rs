//! Dockerfile-style `--change` instructions for `import` and `commit`
//! (Docker accepts CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL,
//! USER, VOLUME and WORKDIR there).

use serde_json::{Map, Value};

use super::config::ContainerConfig;
use crate::error::{Error, Result};

pub fn apply(cfg: &mut ContainerConfig, change: &str) -> Result<()> {
    let change = change.trim();
    let (inst, rest) = change.split_once(char::is_whitespace).unwrap_or((change, ""));
    let rest = rest.trim();
    let bad = |why: &str| Error::InvalidArgument(format!("invalid --change \"{change}\": {why}"));
    match inst.to_ascii_uppercase().as_str() {
        "CMD" => cfg.cmd = Some(command(rest)),
        "ENTRYPOINT" => cfg.entrypoint = Some(command(rest)),
        "ENV" => {
            let env = cfg.env.get_or_insert_with(Vec::new);
            for (k, v) in pairs(rest).map_err(|e| bad(&e))? {
                env.retain(|e| e.split_once('=').map(|(ek, _)| ek) != Some(k.as_str()));
                env.push(format!("{k}={v}"));
            }
        }
        "LABEL" => {
            let labels = cfg.labels.get_or_insert_with(Map::new);
            for (k, v) in pairs(rest).map_err(|e| bad(&e))? {
                labels.insert(k, Value::String(v));
            }
        }
        "EXPOSE" => {
            let ports = cfg.exposed_ports.get_or_insert_with(Map::new);
            for p in rest.split_whitespace() {
                let (num, proto) = p.split_once('/').unwrap_or((p, "tcp"));
                if num.split('-').any(|n| n.parse::<u16>().is_err()) || !matches!(proto, "tcp" | "udp" | "sctp") {
                    return Err(bad("expected PORT[/tcp|udp|sctp]"));
                }
                ports.insert(format!("{num}/{proto}"), Value::Object(Map::new()));
            }
        }
        "VOLUME" => {
            let vols = cfg.volumes.get_or_insert_with(Map::new);
            let list = match serde_json::from_str::<Vec<String>>(rest) {
                Ok(v) => v,
                Err(_) => rest.split_whitespace().map(String::from).collect(),
            };
            for v in list {
                vols.insert(v, Value::Object(Map::new()));
            }
        }
        "USER" if !rest.is_empty() => cfg.user = rest.to_string(),
        "WORKDIR" if !rest.is_empty() => cfg.working_dir = rest.to_string(),
        "STOPSIGNAL" if !rest.is_empty() => cfg.stop_signal = Some(rest.to_string()),
        "ONBUILD" if !rest.is_empty() => cfg.on_build.get_or_insert_with(Vec::new).push(rest.to_string()),
        "USER" | "WORKDIR" | "STOPSIGNAL" | "ONBUILD" => return Err(bad("missing value")),
        other => {
            return Err(bad(&format!(
                "{other} is not allowed here; use CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME or WORKDIR"
            )))
        }
    }
    Ok(())
}

/// Exec form (`["a","b"]`) or shell form (`a b` → `/bin/sh -c "a b"`).
fn command(rest: &str) -> Vec<String> {
    if rest.starts_with('[') {
        if let Ok(v) = serde_json::from_str::<Vec<String>>(rest) {
            return v;
        }
    }
    vec!["/bin/sh".into(), "-c".into(), rest.into()]
}

/// `k=v k2="v 2"`, or the legacy single pair `k v w`.
pub fn pairs(s: &str) -> std::result::Result<Vec<(String, String)>, String> {
    let words = split_words(s)?;
    if words.is_empty() {
        return Err("missing key=value".into());
    }
    if !words[0].contains('=') {
        let (k, v) = s.split_once(char::is_whitespace).ok_or("missing value")?;
        return Ok(vec![(k.to_string(), v.trim().to_string())]);
    }
    words
        .into_iter()
        .map(|w| match w.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(format!("\"{w}\" is not key=value")),
        })
        .collect()
}

/// Split on whitespace, honouring double and single quotes and backslashes.
fn split_words(s: &str) -> std::result::Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' => {
                in_word = true;
                let q = c;
                loop {
                    match chars.next() {
                        Some(x) if x == q => break,
                        Some('\\') if q == '"' => cur.extend(chars.next()),
                        Some(x) => cur.push(x),
                        None => return Err("unterminated quote".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                cur.extend(chars.next());
            }
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_changes() {
        let mut c = ContainerConfig::default();
        apply(&mut c, "CMD [\"/bin/sh\",\"-c\",\"echo hi\"]").unwrap();
        apply(&mut c, "ENTRYPOINT top -b").unwrap();
        apply(&mut c, "ENV A=1 B=\"two words\"").unwrap();
        apply(&mut c, "ENV A=3").unwrap();
        apply(&mut c, "EXPOSE 80 53/udp").unwrap();
        apply(&mut c, "LABEL k=v").unwrap();
        apply(&mut c, "WORKDIR /srv").unwrap();
        apply(&mut c, "USER 1000:1000").unwrap();
        assert_eq!(c.cmd.unwrap(), ["/bin/sh", "-c", "echo hi"]);
        assert_eq!(c.entrypoint.unwrap(), ["/bin/sh", "-c", "top -b"]);
        assert_eq!(c.env.unwrap(), ["B=two words", "A=3"]);
        assert!(c.exposed_ports.as_ref().unwrap().contains_key("53/udp"));
        assert!(c.exposed_ports.unwrap().contains_key("80/tcp"));
        assert_eq!(c.working_dir, "/srv");
        assert_eq!(c.user, "1000:1000");
        assert!(apply(&mut ContainerConfig::default(), "RUN echo").is_err());
        assert!(apply(&mut ContainerConfig::default(), "EXPOSE http").is_err());
    }
}
