//! `-u user[:group]` resolved from the container's own /etc/passwd and
//! /etc/group, as Docker does (never the host's).

use std::ffi::CString;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecUser {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
    pub home: String,
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Resolve `spec` ("", "name", "uid", "name:group", "uid:gid") against the
/// passwd/group files under `/` (call after pivot_root). `extra` are
/// `--group-add` values.
pub fn resolve(spec: &str, extra: &[String]) -> Result<ExecUser, String> {
    resolve_in(&read("/etc/passwd"), &read("/etc/group"), spec, extra)
}

pub fn resolve_in(passwd: &str, group: &str, spec: &str, extra: &[String]) -> Result<ExecUser, String> {
    let (u, g) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let u = if u.is_empty() { "0" } else { u };
    let pw: Vec<Vec<&str>> =
        passwd.lines().map(|l| l.split(':').collect()).filter(|f: &Vec<&str>| f.len() >= 7).collect();
    let gr: Vec<Vec<&str>> =
        group.lines().map(|l| l.split(':').collect()).filter(|f: &Vec<&str>| f.len() >= 3).collect();
    let entry = pw.iter().find(|f| f[0] == u || (u.parse::<u32>().is_ok() && f[2] == u));
    let (uid, mut gid, home, name) = match (entry, u.parse::<u32>()) {
        (Some(f), _) => (f[2].parse().unwrap_or(0), f[3].parse().unwrap_or(0), f[5].to_string(), f[0].to_string()),
        (None, Ok(n)) => (n, 0, "/".to_string(), String::new()),
        (None, Err(_)) => return Err(format!("unable to find user {u}: no matching entries in passwd file")),
    };
    let lookup_group = |g: &str| -> Result<u32, String> {
        if let Some(f) = gr.iter().find(|f| f[0] == g) {
            return Ok(f[2].parse().unwrap_or(0));
        }
        g.parse().map_err(|_| format!("unable to find group {g}: no matching entries in group file"))
    };
    if let Some(g) = g {
        gid = lookup_group(g)?;
    }
    let mut groups = vec![];
    if g.is_none() && !name.is_empty() {
        // Supplementary groups listing the user, as initgroups would.
        for f in &gr {
            if f.len() >= 4 && f[3].split(',').any(|m| m == name) {
                groups.push(f[2].parse().unwrap_or(0));
            }
        }
    }
    for e in extra {
        groups.push(lookup_group(e)?);
    }
    groups.retain(|&x| x != gid);
    groups.insert(0, gid);
    groups.dedup();
    Ok(ExecUser { uid, gid, groups, home })
}

pub fn cstr(s: &str) -> CString {
    CString::new(s.replace('\0', "")).expect("no NUL")
}

#[cfg(test)]
mod tests {
    use super::*;
    const PW: &str = "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:u:/home/user:/bin/sh\n";
    const GR: &str = "root:x:0:\nuser:x:1000:\nwheel:x:10:user\n";

    #[test]
    fn resolves_like_docker() {
        assert_eq!(resolve_in(PW, GR, "", &[]).unwrap().uid, 0);
        let u = resolve_in(PW, GR, "user", &[]).unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str()), (1000, 1000, "/home/user"));
        assert_eq!(u.groups, vec![1000, 10]);
        assert_eq!(resolve_in(PW, GR, "1000:10", &[]).unwrap().gid, 10);
        assert_eq!(resolve_in(PW, GR, "4242", &[]).unwrap().uid, 4242);
        assert_eq!(resolve_in(PW, GR, "user:wheel", &[]).unwrap().gid, 10);
        assert!(resolve_in(PW, GR, "nosuch", &[]).unwrap_err().contains("unable to find user nosuch"));
        assert!(resolve_in(PW, GR, "user:nogroup", &[]).is_err());
        assert_eq!(resolve_in(PW, GR, "root", &["wheel".into()]).unwrap().groups, vec![0, 10]);
    }
}
