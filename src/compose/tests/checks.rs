//! Syntaxes to long form, errors with their paths, and the `config` output.

use super::*;

#[test]
fn yaml_errors_name_file_line_and_column() {
    let t = TempDir::new("compose-yerr");
    let f = write(&t.0, "compose.yaml", "services:\n  web:\n    image: a\n   ports: [80]\n");
    let e = load(&opts(&t.0)).unwrap_err().to_string();
    assert!(e.starts_with(&format!("{}: line 4, column ", f.display())), "{e}");
    write(&t.0, "compose.yaml", "- a\n- b\n");
    let e = load(&opts(&t.0)).unwrap_err().to_string();
    assert!(e.ends_with("the top level must be a mapping, got a list"), "{e}");
}

#[test]
fn validation_errors_name_the_path() {
    let e = err("services:\n  web:\n    image: a\n    ports: [abc]\n");
    assert!(e.starts_with("services.web.ports[0]: invalid port \"abc\""), "{e}");
    let e = err("services:\n  web:\n    image: a\n    imagee: b\n");
    assert!(e.starts_with("services.web.imagee: unknown field"), "{e}");
    let e = err("services:\n  web:\n    image: a\n    ports: 80\n");
    assert_eq!(e, "services.web.ports: must be a list, got a string");
    let e = err("services:\n  web:\n    image: a\n    healthcheck: {interval: 10}\n");
    assert!(e.starts_with("services.web.healthcheck.interval: invalid duration \"10\""), "{e}");
    let e = err("services:\n  web:\n    build: {context: ., nocache: true}\n");
    assert!(e.starts_with("services.web.build.nocache: unknown field"), "{e}");
    assert_eq!(
        err("services:\n  web:\n    restart: sometimes\n    image: a\n"),
        "services.web.restart: invalid restart policy \"sometimes\": use no, always, unless-stopped or on-failure[:max-retries]"
    );
    assert_eq!(
        err("services:\n  web:\n    command: [a]\n"),
        "services.web: neither image nor build is set: add an image to run or a build context"
    );
    assert!(err("servces:\n  web: {}\n").starts_with("servces: unknown top-level field"));
    assert_eq!(
        err("services:\n  web:\n    image: a\n    depends_on: [db]\n"),
        "services.web.depends_on: undefined service \"db\": define it or remove the dependency"
    );
    assert_eq!(
        err("services:\n  web:\n    image: a\n    networks: [front]\n"),
        "services.web.networks: undefined network \"front\": declare it under the top-level networks key"
    );
    assert_eq!(
        err("services:\n  web:\n    image: a\n    volumes: ['data:/data']\n"),
        "services.web.volumes[0]: undefined volume \"data\": declare it under the top-level volumes key"
    );
    assert_eq!(
        err("services:\n  web:\n    image: a\n    secrets: [token]\n"),
        "services.web.secrets[0]: undefined secret \"token\": declare it under the top-level secrets key"
    );
    assert!(err("services:\n  web:\n    image: a\n    volumes: ['./x:rel']\n").contains("must be an absolute path"));
    assert_eq!(
        err("services:\n  web:\n    image: a\n    depends_on:\n      db: {condition: service_ready}\n  db:\n    image: b\n"),
        "services.web.depends_on.db.condition: invalid condition \"service_ready\": use service_started, service_healthy or service_completed_successfully"
    );
    // external resources still have to be declared, as external
    let (l, _t) = load_yaml(
        "services:\n  web:\n    image: a\n    networks: [ext]\n    volumes: ['data:/d']\nnetworks:\n  ext: {external: true}\nvolumes:\n  data: {external: true}\n",
    )
    .unwrap();
    assert_eq!(l.project.networks["ext"].name, "ext");
    assert_eq!(l.project.volumes["data"].name, "data");
}

#[test]
fn dependency_cycles_are_named() {
    let e = err("services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [c]}\n  c: {image: x, depends_on: [a]}\n");
    assert_eq!(e, "dependency cycle detected: a -> b -> c -> a");
    let e = err("services:\n  a: {image: x, depends_on: [a]}\n");
    assert_eq!(e, "dependency cycle detected: a -> a");
}

#[test]
fn ports_short_and_long() {
    let (l, _t) = load_yaml(
        "services:\n  web:\n    image: a\n    ports:\n      - 80\n      - '127.0.0.1:8080:80/udp'\n      - '9000-9001:9000-9001'\n      - target: 443\n        published: 8443\n        host_ip: 0.0.0.0\n        mode: host\n        name: https\n      - '8080:80'\n      - {target: 80, published: '8080'}\n",
    )
    .unwrap();
    let ports = &svc(&l, "web").ports;
    let short: Vec<(u16, Option<&str>, &str, Option<&str>)> =
        ports.iter().map(|p| (p.target, p.published.as_deref(), p.protocol.as_str(), p.host_ip.as_deref())).collect();
    assert_eq!(
        short,
        [
            (80, None, "tcp", None),
            (80, Some("8080"), "udp", Some("127.0.0.1")),
            (9000, Some("9000"), "tcp", None),
            (9001, Some("9001"), "tcp", None),
            (443, Some("8443"), "tcp", Some("0.0.0.0")),
            (80, Some("8080"), "tcp", None),
        ],
        "the long form of 8080:80 is the same port: de-duplicated"
    );
    assert_eq!(ports[4].mode, "host");
    assert_eq!(ports[4].name.as_deref(), Some("https"));
    assert_eq!(ports[0].mode, "ingress");
}

#[test]
fn volumes_short_and_long() {
    let (l, t) = load_yaml(
        "services:\n  web:\n    image: a\n    volumes:\n      - .:/src\n      - ./data:/data:ro\n      - ../up:/up\n      - ~/cfg:/cfg\n      - /abs:/abs:rw,rshared\n      - db:/var/lib/db\n      - /anon\n      - type: bind\n        source: ./long\n        target: /long\n        read_only: true\n        bind: {propagation: rslave, create_host_path: true}\n      - type: volume\n        source: db\n        target: /sub\n        volume: {nocopy: true, subpath: x}\n      - type: tmpfs\n        target: /tmp\n        tmpfs: {size: 64m, mode: 1777}\nvolumes:\n  db: {}\n",
    )
    .unwrap();
    let dir = t.0.display().to_string();
    let parent = t.0.parent().unwrap().display().to_string();
    let v = &svc(&l, "web").volumes;
    let summary: Vec<(&str, Option<&str>, &str, bool)> =
        v.iter().map(|v| (v.kind.as_str(), v.source.as_deref(), v.target.as_str(), v.read_only)).collect();
    let data = format!("{dir}/data");
    let up = format!("{parent}/up");
    let long = format!("{dir}/long");
    assert_eq!(
        summary,
        [
            ("bind", Some(dir.as_str()), "/src", false),
            ("bind", Some(data.as_str()), "/data", true),
            ("bind", Some(up.as_str()), "/up", false),
            ("bind", Some("/home/u/cfg"), "/cfg", false),
            ("bind", Some("/abs"), "/abs", false),
            ("volume", Some("db"), "/var/lib/db", false),
            ("volume", None, "/anon", false),
            ("bind", Some(long.as_str()), "/long", true),
            ("volume", Some("db"), "/sub", false),
            ("tmpfs", None, "/tmp", false),
        ]
    );
    assert!(v[0].bind.as_ref().unwrap().create_host_path);
    assert_eq!(v[4].bind.as_ref().unwrap().propagation.as_deref(), Some("rshared"));
    assert_eq!(v[5].volume, Some(VolumeOptions::default()));
    assert_eq!(v[7].bind.as_ref().unwrap().propagation.as_deref(), Some("rslave"));
    assert_eq!(v[8].volume.as_ref().unwrap().subpath.as_deref(), Some("x"));
    let tmpfs = v[9].tmpfs.as_ref().unwrap();
    assert_eq!((tmpfs.size, tmpfs.mode), (Some(Bytes(64 << 20)), Some(FileMode(1777))));
    assert_eq!(l.project.volumes["db"].name, format!("{}_db", l.project.name));
}

#[test]
fn depends_on_short_long_and_implicit() {
    let (l, _t) = load_yaml(
        "services:\n  web:\n    image: a\n    depends_on: [db]\n    volumes_from: [files:ro]\n    network_mode: service:net\n  worker:\n    image: a\n    depends_on:\n      db: {condition: service_healthy, restart: true}\n      migrate: {condition: service_completed_successfully, required: false}\n  db: {image: b}\n  files: {image: b}\n  net: {image: b}\n  migrate: {image: b}\n",
    )
    .unwrap();
    let web = svc(&l, "web");
    assert_eq!(web.depends_on["db"], Dependency::default());
    assert_eq!(web.depends_on["files"], Dependency { restart: false, ..Dependency::default() });
    assert_eq!(web.depends_on["net"], Dependency { restart: true, ..Dependency::default() });
    assert!(web.networks.is_empty(), "network_mode: no default network");
    let worker = svc(&l, "worker");
    assert_eq!(
        worker.depends_on["db"],
        Dependency { condition: "service_healthy".into(), restart: true, required: true }
    );
    assert!(!worker.depends_on["migrate"].required);
    assert_eq!(worker.networks.keys().collect::<Vec<_>>(), ["default"]);
}

#[test]
fn env_file_and_environment() {
    let t = TempDir::new("compose-envfile");
    write(&t.0, "a.env", "A=from_a\nB=from_a\nREF=${OS_VAR}\n");
    write(&t.0, "b.env", "B=from_b\nC=from_b\n");
    write(
        &t.0,
        "compose.yaml",
        "services:\n  web:\n    image: a\n    env_file: [a.env, {path: b.env}, {path: missing.env, required: false}]\n    environment:\n      C: from_environment\n      OS_VAR:\n      NOT_SET:\n  one:\n    image: a\n    env_file: a.env\n    environment: [A=x, EMPTY=]\n",
    );
    let l = load(&with_env(opts(&t.0), &[("OS_VAR", "os")])).unwrap();
    let env = |s: &str, k: &str| svc(&l, s).environment.get(k).cloned();
    assert_eq!(env("web", "A"), Some(Some("from_a".into())));
    assert_eq!(env("web", "B"), Some(Some("from_b".into())), "later env files win");
    assert_eq!(env("web", "C"), Some(Some("from_environment".into())), "environment wins over env_file");
    assert_eq!(env("web", "REF"), Some(Some("os".into())));
    assert_eq!(env("web", "OS_VAR"), Some(Some("os".into())), "a bare variable takes the caller's value");
    assert_eq!(env("web", "NOT_SET"), Some(None));
    assert_eq!(env("one", "A"), Some(Some("x".into())));
    assert_eq!(env("one", "EMPTY"), Some(Some("".into())));
    assert_eq!(svc(&l, "web").env_file[2], EnvFile { path: t.join("missing.env"), required: false, format: None });

    write(&t.0, "compose.yaml", "services:\n  web:\n    image: a\n    env_file: nope.env\n");
    let e = load(&opts(&t.0)).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "services.web.env_file[0]: env file {} not found: create it or set required: false",
            t.join("nope.env").display()
        )
    );
}

#[test]
fn healthcheck_command_and_other_syntaxes() {
    let (l, t) = load_yaml(
        "services:\n  web:\n    build: ./app\n    command: sh -c 'echo \"hi there\"'\n    entrypoint: [/bin/tini, --]\n    healthcheck:\n      test: curl -f http://localhost\n      interval: 1m30s\n      timeout: 10s\n      start_period: 5s\n      retries: 3\n    ulimits:\n      nofile: {soft: 1024, hard: 2048}\n      nproc: 65535\n    extra_hosts: ['db:10.0.0.2', 'v6=::1']\n    sysctls: [net.core.somaxconn=1024]\n    labels: [a=1, b]\n    mem_limit: 1g\n    shm_size: 64m\n    stop_grace_period: 1m\n    secrets: [token, {source: cert, target: /etc/cert, mode: 0440}]\n    pull_policy: if_not_present\n    deploy:\n      replicas: 2\n      resources: {limits: {cpus: '0.5', memory: 512m, pids: 100}}\n      restart_policy: {condition: on-failure, max_attempts: 3}\n    logging: {driver: json-file, options: {max-size: 10m}}\n    cpu_shares: 512\n    x-ignored: true\n  db:\n    image: postgres\n    healthcheck:\n      test: [CMD, pg_isready]\n  off:\n    image: a\n    healthcheck: {disable: true}\nsecrets:\n  token: {file: ./token.txt}\n  cert: {environment: CERT}\n",
    )
    .unwrap();
    let web = svc(&l, "web");
    let b = web.build.as_ref().unwrap();
    assert_eq!(b.context, t.join("app").display().to_string());
    assert_eq!(b.dockerfile.as_deref(), Some("Dockerfile"));
    assert_eq!(web.command.as_ref().unwrap(), &["sh", "-c", "echo \"hi there\""]);
    assert_eq!(web.entrypoint.as_ref().unwrap(), &["/bin/tini", "--"]);
    let h = web.healthcheck.as_ref().unwrap();
    assert_eq!(h.test.as_ref().unwrap(), &["CMD-SHELL", "curl -f http://localhost"]);
    assert_eq!(h.interval, Some(Duration(90_000_000_000)));
    assert_eq!(h.retries, Some(3));
    assert_eq!(svc(&l, "db").healthcheck.as_ref().unwrap().test.as_ref().unwrap(), &["CMD", "pg_isready"]);
    assert!(svc(&l, "off").healthcheck.as_ref().unwrap().disable);
    assert_eq!(web.ulimits["nofile"], Ulimit { soft: 1024, hard: 2048, single: false });
    assert_eq!(web.ulimits["nproc"], Ulimit { soft: 65535, hard: 65535, single: true });
    assert_eq!(web.extra_hosts["db"], ["10.0.0.2"]);
    assert_eq!(web.extra_hosts["v6"], ["::1"]);
    assert_eq!(web.sysctls["net.core.somaxconn"], "1024");
    assert_eq!(web.labels["b"], "");
    assert_eq!(web.mem_limit, Some(Bytes(1 << 30)));
    assert_eq!(web.stop_grace_period, Some(Duration(60_000_000_000)));
    assert_eq!(web.secrets[1].mode, Some(FileMode(0o440)));
    assert_eq!(web.secrets[0].mount_path(true), "/run/secrets/token");
    assert_eq!(web.pull_policy.as_deref(), Some("missing"));
    assert_eq!(web.replicas(), 2);
    let limits = web.deploy.as_ref().unwrap().resources.as_ref().unwrap().limits.as_ref().unwrap();
    assert_eq!((limits.cpus, limits.memory, limits.pids), (Some(0.5), Some(Bytes(512 << 20)), Some(100)));
    assert_eq!(web.logging.as_ref().unwrap().options["max-size"], "10m");
    assert_eq!(web.extra["cpu_shares"], serde_json::json!(512));
    assert!(!web.extra.contains_key("x-ignored"));
    assert_eq!(l.project.secrets["token"].file.as_deref(), Some(t.join("token.txt").to_str().unwrap()));
    assert_eq!(l.project.secrets["cert"].name, format!("{}_cert", l.project.name));
}

const REALISTIC: &str = r#"name: shop
x-common: &common
  restart: unless-stopped
  logging:
    driver: json-file
    options:
      max-size: 10m
services:
  web:
    <<: *common
    build:
      context: ./web
      args:
        VERSION: "1.2"
    image: shop/web:${TAG:-dev}
    ports:
      - "8080:80"
      - target: 443
        published: "8443"
    environment:
      DATABASE_URL: postgres://shop:secret@db/shop
      DEBUG: "false"
    depends_on:
      db:
        condition: service_healthy
      worker:
        condition: service_started
    volumes:
      - ./static:/srv/static:ro
      - uploads:/srv/uploads
    networks:
      front:
      back:
        aliases: [app]
    command: gunicorn app:wsgi --bind 0.0.0.0:80
  db:
    <<: *common
    image: postgres:16
    environment:
      - POSTGRES_USER=shop
      - POSTGRES_PASSWORD_FILE=/run/secrets/db_password
    secrets: [db_password]
    volumes:
      - pgdata:/var/lib/postgresql/data
    healthcheck:
      test: pg_isready -U shop
      interval: 10s
      timeout: 5s
      retries: 5
      start_period: 30s
    networks: [back]
  worker:
    image: shop/web:${TAG:-dev}
    command: ["celery", "-A", "app", "worker"]
    depends_on: [db]
    deploy:
      replicas: 2
    networks: [back]
networks:
  front: {}
  back:
    internal: true
volumes:
  pgdata: {}
  uploads:
    name: shop-uploads
secrets:
  db_password:
    file: ./secrets/db_password.txt
"#;

#[test]
fn config_round_trip_of_a_realistic_project() {
    let t = TempDir::new("compose-rt");
    write(&t.0, "compose.yaml", REALISTIC);
    let first = load(&opts(&t.0)).unwrap();
    let out = render_config(&first.project);
    let d = t.0.display();
    let expected_web = format!(
        "  web:
    build:
      context: {d}/web
      dockerfile: Dockerfile
      args:
        VERSION: \"1.2\"
    command:
      - gunicorn
      - app:wsgi
      - --bind
      - 0.0.0.0:80
    depends_on:
      db:
        condition: service_healthy
        required: true
      worker:
        condition: service_started
        required: true
    environment:
      DATABASE_URL: postgres://shop:secret@db/shop
      DEBUG: \"false\"
    image: shop/web:dev
    logging:
      driver: json-file
      options:
        max-size: 10m
    networks:
      back:
        aliases:
          - app
      front: null
    ports:
      - mode: ingress
        target: 80
        published: \"8080\"
        protocol: tcp
      - mode: ingress
        target: 443
        published: \"8443\"
        protocol: tcp
    restart: unless-stopped
    volumes:
      - type: bind
        source: {d}/static
        target: /srv/static
        read_only: true
        bind:
          create_host_path: true
      - type: volume
        source: uploads
        target: /srv/uploads
        volume: {{}}
"
    );
    assert!(out.starts_with("name: shop\nservices:\n  db:\n"), "{out}");
    assert!(out.contains(&expected_web), "{out}");
    assert!(out.contains("    healthcheck:\n      test:\n        - CMD-SHELL\n        - pg_isready -U shop\n      timeout: 5s\n      interval: 10s\n      retries: 5\n      start_period: 30s\n"), "{out}");
    assert!(
        out.contains("networks:\n  back:\n    name: shop_back\n    internal: true\n  front:\n    name: shop_front\n"),
        "{out}"
    );
    assert!(out.contains("volumes:\n  pgdata:\n    name: shop_pgdata\n  uploads:\n    name: shop-uploads\n"), "{out}");
    assert!(
        out.ends_with(&format!(
            "secrets:\n  db_password:\n    name: shop_db_password\n    file: {d}/secrets/db_password.txt\n"
        )),
        "{out}"
    );

    // the output loads back to the same project, and renders the same
    let again = TempDir::new("compose-rt2");
    write(&again.0, "compose.yaml", &out);
    let second = load(&opts(&again.0)).unwrap();
    assert_eq!(render_config(&second.project), out);
    let (mut a, mut b) = (first.project.clone(), second.project.clone());
    for p in [&mut a, &mut b] {
        p.working_dir = PathBuf::new();
        p.compose_files.clear();
        p.environment.clear();
    }
    assert_eq!(a, b);

    assert_eq!(config_images(&first.project), ["postgres:16", "shop/web:dev", "shop/web:dev"]);
    assert_eq!(config_volumes(&first.project), ["pgdata", "uploads"]);
}

#[test]
fn config_hash_is_stable_and_ignores_scaling() {
    let (l, _t) = load_yaml(REALISTIC.replace("./", "/").as_str()).unwrap();
    let worker = svc(&l, "worker");
    let h = config_hash(worker);
    assert_eq!(h.len(), 64);
    assert_eq!(h, config_hash(&worker.clone()));
    let mut scaled = worker.clone();
    scaled.deploy.as_mut().unwrap().replicas = Some(5);
    scaled.scale = Some(3);
    assert_eq!(config_hash(&scaled), h);
    let mut rebuilt = worker.clone();
    rebuilt.build = Some(Build { context: "/elsewhere".into(), ..Build::default() });
    assert_eq!(config_hash(&rebuilt), h);
    let mut changed = worker.clone();
    changed.image = Some("other".into());
    assert_ne!(config_hash(&changed), h);
    assert_ne!(config_hash(svc(&l, "web")), h);
}

#[test]
fn lists_merged_from_several_files_are_deduplicated_on_the_long_form() {
    let t = TempDir::new("compose-dedup");
    write(
        &t.0,
        "compose.yaml",
        "services:\n  web:\n    image: a\n    volumes: ['./a:/data', 'cache:/cache']\n    ports: ['8080:80']\n    environment: {A: '1', B: '1'}\n    secrets: [s]\n    expose: ['3000']\n    cpus: 2\nvolumes: {cache: {}}\nsecrets: {s: {file: ./s}}\n",
    );
    write(
        &t.0,
        "compose.override.yaml",
        "services:\n  web:\n    volumes: ['./b:/data']\n    ports: [{target: 80, published: 8080}]\n    environment: [B=2]\n    secrets: [{source: s, uid: '1000'}]\n    expose: [3000, 4000]\n",
    );
    let l = load(&opts(&t.0)).unwrap();
    let web = svc(&l, "web");
    let vols: Vec<(&str, Option<String>)> = web.volumes.iter().map(|v| (v.target.as_str(), v.source.clone())).collect();
    assert_eq!(vols, [("/data", Some(t.join("b").display().to_string())), ("/cache", Some("cache".into()))]);
    assert_eq!(web.ports.len(), 1);
    assert_eq!(web.environment["A"].as_deref(), Some("1"));
    assert_eq!(web.environment["B"].as_deref(), Some("2"));
    assert_eq!(web.secrets.len(), 1);
    assert_eq!(web.secrets[0].uid.as_deref(), Some("1000"));
    assert_eq!(web.expose, ["3000", "4000"]);
    assert!(render_config(&l.project).contains("    cpus: 2\n"));
}

#[test]
fn reset_override_multiple_documents_and_extensions() {
    let t = TempDir::new("compose-reset");
    write(
        &t.0,
        "compose.yaml",
        "x-defaults: &defaults\n  image: a\n  ports: ['80']\nservices:\n  web:\n    <<: *defaults\n    environment: [A=1]\n    x-note: ignored\n---\nservices:\n  web:\n    labels: {second: document}\n",
    );
    write(&t.0, "compose.override.yaml", "services:\n  web:\n    ports: !reset []\n    environment: !override [B=2]\n");
    let l = load(&opts(&t.0)).unwrap();
    let web = svc(&l, "web");
    assert!(web.ports.is_empty());
    assert_eq!(web.environment.keys().collect::<Vec<_>>(), ["B"]);
    assert_eq!(web.labels["second"], "document");
    assert!(web.extra.is_empty());
}

#[test]
fn select_drops_resources_no_active_service_uses() {
    let (l, _t) = load_yaml(
        "services:\n  web: {image: a, networks: [front], volumes: ['data:/d']}\n  tool: {image: b, profiles: [tools], volumes: ['toolvol:/t']}\nnetworks: {front: {}, unused: {}}\nvolumes: {data: {}, toolvol: {}}\n",
    )
    .unwrap();
    let p = l.project.select(&[]).unwrap();
    assert_eq!(p.networks.keys().collect::<Vec<_>>(), ["front"]);
    assert_eq!(p.volumes.keys().collect::<Vec<_>>(), ["data"]);
    assert!(!render_config(&p).contains("tool"));
    let p = l.project.select(&["tool".into()]).unwrap();
    assert_eq!(config_services(&p), ["tool"]);
    assert_eq!(p.volumes.keys().collect::<Vec<_>>(), ["toolvol"]);
    assert!(p.networks.contains_key("default"));
}

#[test]
fn container_names_are_unique_among_services_running_together() {
    let yaml = "services:\n  dev: {image: a, container_name: app, profiles: [dev]}\n  prod: {image: a, container_name: app, profiles: [prod]}\n";
    let (l, _t) = load_yaml(yaml).unwrap();
    assert!(l.project.select(&["dev".into()]).is_ok());
    let e = l.project.select(&["dev".into(), "prod".into()]).unwrap_err().to_string();
    assert_eq!(e, "services.prod.container_name: container name \"app\" is already used by service dev: pick another");
    let e = err("services:\n  a: {image: x, container_name: c}\n  b: {image: x, container_name: c}\n");
    assert!(e.starts_with("services.b.container_name: container name \"c\" is already used"), "{e}");
}
