//! Kubernetes YAML in: a multi-document stream (the compose YAML layer,
//! so anchors and merge keys work) into typed [`Object`]s. A document that
//! is not an object, a kind rcon does not run, a wrong `apiVersion`, a
//! value of the wrong type or a name Kubernetes would reject is an error
//! naming the document and the path; a field rcon does not model is a
//! warning naming its path (`spec.containers[0].lifecycle`).

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::model::*;
use super::names;
use super::KubeError;

/// What a stream held: its objects, and the fields rcon ignores.
#[derive(Debug, Default)]
pub struct Parsed {
    pub objects: Vec<Object>,
    /// `document N (Kind name): PATH` for each field not supported.
    pub warnings: Vec<String>,
}

/// Fields the API server sets: ignored without a warning (they are in any
/// `kubectl get -o yaml`).
const SERVER_SET: &[&str] = &[
    "status",
    "metadata.creationTimestamp",
    "metadata.uid",
    "metadata.resourceVersion",
    "metadata.generation",
    "metadata.managedFields",
    "metadata.selfLink",
];

pub fn parse(text: &str, file: &str) -> Result<Parsed, KubeError> {
    let docs = crate::compose::yaml_documents(text, file).map_err(|e| KubeError::Invalid(e.to_string()))?;
    let mut out = Parsed::default();
    // documents are counted without the empty ones (the YAML layer drops them)
    for (i, doc) in docs.into_iter().enumerate() {
        if doc.is_null() {
            continue;
        }
        let (obj, warnings) = document(doc, &format!("{file}: document {}", i + 1))?;
        out.warnings.extend(warnings);
        out.objects.push(obj);
    }
    Ok(out)
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn document(mut doc: Value, at: &str) -> Result<(Object, Vec<String>), KubeError> {
    let bad = |msg: String| KubeError::Invalid(format!("{at}: {msg}"));
    let Value::Object(map) = &mut doc else {
        return Err(bad(format!(
            "not a Kubernetes object ({}): expected a mapping with apiVersion and kind",
            kind_of(&doc)
        )));
    };
    let kind = match map.remove("kind") {
        Some(Value::String(k)) => k,
        Some(v) => return Err(bad(format!("kind is {}, not a string", kind_of(&v)))),
        None => return Err(bad("not a Kubernetes object: no kind".into())),
    };
    let supported = KINDS.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ");
    let Some(want) = api_version(&kind) else {
        return Err(bad(format!("unsupported kind {kind}: rcon supports {supported}")));
    };
    match map.remove("apiVersion") {
        Some(Value::String(v)) if v == want => {}
        Some(v) => return Err(bad(format!("{kind} has apiVersion {v}: use {want}"))),
        None => return Err(bad(format!("{kind} has no apiVersion: use {want}"))),
    }
    let name = map.get("metadata").and_then(|m| m.get("name")).and_then(Value::as_str).unwrap_or("").to_string();
    let at = if name.is_empty() { format!("{at} ({kind})") } else { format!("{at} ({kind} {name})") };
    let obj = match kind.as_str() {
        "Pod" => Object::Pod(typed(&doc, &at)?),
        "Deployment" => Object::Deployment(typed(&doc, &at)?),
        "DaemonSet" => Object::DaemonSet(typed(&doc, &at)?),
        "Job" => Object::Job(typed(&doc, &at)?),
        "Service" => Object::Service(typed(&doc, &at)?),
        "PersistentVolumeClaim" => Object::PersistentVolumeClaim(typed(&doc, &at)?),
        "ConfigMap" => Object::ConfigMap(typed(&doc, &at)?),
        _ => Object::Secret(typed(&doc, &at)?),
    };
    check(&obj).map_err(|msg| KubeError::Invalid(format!("{at}: {msg}")))?;
    let mut back = obj.to_value();
    if let Value::Object(m) = &mut back {
        m.remove("apiVersion");
        m.remove("kind");
    }
    let mut unsupported = Vec::new();
    diff(&doc, &back, "", &mut unsupported);
    Ok((obj, unsupported.into_iter().map(|p| format!("{at}: {p}")).collect()))
}

fn typed<T: DeserializeOwned>(doc: &Value, at: &str) -> Result<T, KubeError> {
    serde_path_to_error::deserialize(doc).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        KubeError::Invalid(format!("{at}: {path}: {inner}"))
    })
}

/// Every path of `input` that the typed object did not keep (and that is
/// not empty: `hostNetwork: false` is what leaving it out means).
fn diff(input: &Value, kept: &Value, path: &str, out: &mut Vec<String>) {
    match (input, kept) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                match b.get(k) {
                    Some(w) => diff(v, w, &p, out),
                    None if empty(v) || SERVER_SET.contains(&p.as_str()) => {}
                    None => out.push(p),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for (i, (v, w)) in a.iter().zip(b).enumerate() {
                diff(v, w, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

fn empty(v: &Value) -> bool {
    match v {
        Value::Null | Value::Bool(false) => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

/// The checks Kubernetes' API server makes that a local run depends on.
fn check(obj: &Object) -> Result<(), String> {
    let meta = obj.metadata();
    let name = &meta.name;
    if name.is_empty() {
        return Err("metadata.name is missing".into());
    }
    let ok = match obj {
        Object::Service(_) => names::is_dns1035_label(name),
        // pods become containers named after them: a label keeps that simple
        _ => names::is_dns1123_subdomain(name),
    };
    if !ok {
        let rule = if matches!(obj, Object::Service(_)) {
            "a DNS-1035 label (lower-case letters, digits and '-', starting with a letter, at most 63)"
        } else {
            "a DNS-1123 subdomain (lower-case letters, digits, '-' and '.', starting and ending alphanumeric)"
        };
        return Err(format!("metadata.name {name:?} is not valid: use {rule}"));
    }
    for (k, v) in &meta.labels {
        if !names::is_qualified_name(k) || !names::is_label_value(v) {
            return Err(format!("metadata.labels: {k}={v:?} is not a valid label"));
        }
    }
    if let Some(spec) = obj.pod_spec() {
        let prefix = match obj {
            Object::Pod(_) => "spec",
            _ => "spec.template.spec",
        };
        check_pod(spec, prefix)?;
    }
    Ok(())
}

fn check_pod(spec: &PodSpec, at: &str) -> Result<(), String> {
    if spec.containers.is_empty() {
        return Err(format!("{at}.containers: a pod needs at least one container"));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (list, field) in [(&spec.init_containers, "initContainers"), (&spec.containers, "containers")] {
        for (i, c) in list.iter().enumerate() {
            let p = format!("{at}.{field}[{i}]");
            if !names::is_dns1123_label(&c.name) {
                return Err(format!("{p}.name {:?} is not a valid DNS-1123 label", c.name));
            }
            if !seen.insert(c.name.clone()) {
                return Err(format!("{p}.name {:?} is used twice", c.name));
            }
            if c.image.is_empty() {
                return Err(format!("{p}.image is missing"));
            }
            for (j, m) in c.volume_mounts.iter().enumerate() {
                if !spec.volumes.iter().any(|v| v.name == m.name) {
                    return Err(format!("{p}.volumeMounts[{j}]: no volume named {:?} in {at}.volumes", m.name));
                }
            }
        }
    }
    for (i, v) in spec.volumes.iter().enumerate() {
        if !names::is_dns1123_label(&v.name) {
            return Err(format!("{at}.volumes[{i}].name {:?} is not a valid DNS-1123 label", v.name));
        }
        let sources = [
            v.host_path.is_some(),
            v.persistent_volume_claim.is_some(),
            v.config_map.is_some(),
            v.secret.is_some(),
            v.empty_dir.is_some(),
        ];
        if sources.iter().filter(|s| **s).count() != 1 {
            return Err(format!(
                "{at}.volumes[{i}] ({}): give exactly one of hostPath, persistentVolumeClaim, configMap, secret, emptyDir",
                v.name
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const POD: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
  creationTimestamp: null
spec:
  hostAliases:
    - ip: 10.0.0.1
      hostnames: [db.local]
  containers:
    - name: web
      image: busybox
      command: [httpd]
      args: ["-f", "-p", "8080"]
      env:
        - {name: A, value: "1"}
        - name: B
          valueFrom: {configMapKeyRef: {name: cfg, key: b}}
        - name: C
          valueFrom: {secretKeyRef: {name: sec, key: c}}
      envFrom: [{configMapRef: {name: cfg}}]
      ports: [{containerPort: 8080, hostPort: 8080}]
      lifecycle: {preStop: {exec: {command: [x]}}}
      livenessProbe:
        httpGet: {path: /, port: 8080}
        periodSeconds: 5
      readinessProbe:
        tcpSocket: {port: http}
      volumeMounts: [{name: data, mountPath: /data}]
      resources: {limits: {memory: 64Mi, cpu: 0.5}}
  volumes:
    - name: data
      persistentVolumeClaim: {claimName: data}
status: {phase: Running}
---
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  replicas: 3
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers: [{name: api, image: busybox, stdin: false}]
      nodeSelector: {disk: ssd}
"#;

    #[test]
    fn objects_and_unsupported_fields() {
        let p = parse(POD, "f.yaml").unwrap();
        assert_eq!(p.objects.len(), 2);
        let Object::Pod(pod) = &p.objects[0] else { panic!() };
        let c = &pod.spec.containers[0];
        assert_eq!(c.args, ["-f", "-p", "8080"]);
        assert_eq!(c.env[1].value_from.as_ref().unwrap().config_map_key_ref.as_ref().unwrap().key, "b");
        assert_eq!(c.ports[0].host_port, Some(8080));
        assert_eq!(c.resources.as_ref().unwrap().limits["cpu"], Quantity("0.5".into()));
        assert_eq!(
            c.readiness_probe.as_ref().unwrap().tcp_socket.as_ref().unwrap().port,
            IntOrString::String("http".into())
        );
        assert_eq!(pod.spec.host_aliases[0].hostnames, ["db.local"]);
        let Object::Deployment(d) = &p.objects[1] else { panic!() };
        assert_eq!(d.spec.replicas, Some(3));
        assert_eq!(
            p.warnings,
            [
                "f.yaml: document 1 (Pod web): spec.containers[0].lifecycle",
                "f.yaml: document 3 (Deployment api): spec.template.spec.nodeSelector"
            ]
        );
    }

    #[test]
    fn bad_input_is_one_line_naming_document_and_path() {
        let err = |text: &str| parse(text, "f").unwrap_err().to_string();
        assert_eq!(
            err("- a\n- b\n"),
            "f: document 1: not a Kubernetes object (a list): expected a mapping with apiVersion and kind"
        );
        assert!(err("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: x}\n")
            .starts_with("f: document 1: unsupported kind Ingress: rcon supports Pod, Deployment"));
        assert_eq!(
            err("apiVersion: extensions/v1beta1\nkind: Deployment\n"),
            "f: document 1: Deployment has apiVersion \"extensions/v1beta1\": use apps/v1"
        );
        let e = err("apiVersion: v1\nkind: Pod\nmetadata: {name: My_Pod}\nspec: {containers: [{name: a, image: b}]}\n");
        assert!(e.starts_with("f: document 1 (Pod My_Pod): metadata.name \"My_Pod\" is not valid"), "{e}");
        let e = err("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: b, ports: [{containerPort: x}]}]}\n");
        assert!(e.starts_with("f: document 1 (Pod p): spec.containers[0].ports[0].containerPort: invalid type"), "{e}");
        let e = err("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: b, volumeMounts: [{name: v, mountPath: /v}]}]}\n");
        assert_eq!(
            e,
            "f: document 1 (Pod p): spec.containers[0].volumeMounts[0]: no volume named \"v\" in spec.volumes"
        );
        let e = err("apiVersion: v1\nkind: Service\nmetadata: {name: 1svc}\n");
        assert!(e.contains("DNS-1035"), "{e}");
        assert!(!e.contains('\n'));
    }
}
