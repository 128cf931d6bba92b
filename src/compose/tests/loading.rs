//! Files, environment, names, interpolation, extends, include, profiles.

use super::*;

#[test]
fn discovery_walks_up_and_merges_the_override() {
    let t = TempDir::new("compose-disc");
    write(&t.0, "compose.yaml", "name: disc\nservices:\n  web:\n    image: a\n");
    write(&t.0, "compose.override.yaml", "services:\n  web:\n    image: b\n");
    let sub = t.join("sub/dir");
    std::fs::create_dir_all(&sub).unwrap();
    let l = load(&opts(&sub)).unwrap();
    assert_eq!(svc(&l, "web").image.as_deref(), Some("b"));
    assert_eq!(l.project.working_dir, t.0);
    assert_eq!(l.project.compose_files, [t.join("compose.yaml"), t.join("compose.override.yaml")]);
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);

    // compose.yaml wins over docker-compose.yaml, with a warning
    write(&t.0, "docker-compose.yaml", "services:\n  web:\n    image: c\n");
    let l = load(&opts(&t.0)).unwrap();
    assert_eq!(svc(&l, "web").image.as_deref(), Some("b"));
    assert!(l.warnings[0].starts_with("found multiple config files with supported names: "), "{:?}", l.warnings);

    let empty = TempDir::new("compose-none");
    let e = load(&opts(&empty.0)).unwrap_err().to_string();
    assert!(e.starts_with("no configuration file provided: no compose.yaml"), "{e}");
}

#[test]
fn compose_file_variables_and_dotenv_precedence() {
    let t = TempDir::new("compose-env");
    write(&t.0, "a.yml", "services:\n  web:\n    image: ${IMG}\n    environment: [\"FROM=${FROM}\"]\n");
    write(&t.0, "b.yml", "services:\n  web:\n    labels: {p: $COMPOSE_PROJECT_NAME}\n");
    write(&t.0, ".env", "COMPOSE_FILE=a.yml;b.yml\nCOMPOSE_PATH_SEPARATOR=;\nCOMPOSE_PROJECT_NAME=fromdotenv\nIMG=dotenv\nFROM=dotenv\n");
    let l = load(&with_env(opts(&t.0), &[("FROM", "os")])).unwrap();
    let web = svc(&l, "web");
    assert_eq!(l.project.name, "fromdotenv");
    assert_eq!(web.image.as_deref(), Some("dotenv"));
    assert_eq!(web.environment["FROM"].as_deref(), Some("os"), "the caller's environment wins over .env");
    assert_eq!(web.labels["p"], "fromdotenv");

    // --env-file replaces .env
    write(&t.0, "other.env", "COMPOSE_FILE=a.yml\nIMG=other\n");
    let mut o = opts(&t.0);
    o.env_files = vec!["other.env".into()];
    let l = load(&o).unwrap();
    assert_eq!(svc(&l, "web").image.as_deref(), Some("other"));
    assert!(svc(&l, "web").labels.is_empty());
    assert_eq!(svc(&l, "web").environment["FROM"].as_deref(), Some(""));
    assert!(l.warnings.contains(&"the \"FROM\" variable is not set, defaulting to a blank string".to_string()));
    o.env_files = vec!["missing.env".into()];
    assert!(load(&o).unwrap_err().to_string().contains("missing.env: env file not found"));
}

#[test]
fn files_merge_in_order_and_stdin() {
    let t = TempDir::new("compose-f");
    write(&t.0, "base.yml", "name: merge\nservices:\n  web:\n    image: a\n    ports: ['80:80']\n");
    write(
        &t.0,
        "sub/over.yml",
        "services:\n  web:\n    ports: ['443:443']\n    env_file: [{path: x.env, required: false}]\n",
    );
    let mut o = opts(&t.0);
    o.files = vec!["base.yml".into(), "sub/over.yml".into(), "-".into()];
    o.stdin = Some("services:\n  web:\n    image: fromstdin\n".into());
    let l = load(&o).unwrap();
    let web = svc(&l, "web");
    assert_eq!(web.image.as_deref(), Some("fromstdin"));
    assert_eq!(web.ports.iter().map(|p| p.target).collect::<Vec<_>>(), [80, 443]);
    // paths of override files are relative to the project directory, the first file's
    assert_eq!(web.env_file[0].path, t.join("x.env"));
    assert_eq!(l.project.compose_files[2], PathBuf::from("-"));

    o.files = vec!["nope.yml".into()];
    let e = load(&o).unwrap_err().to_string();
    assert_eq!(e, format!("cannot read {}: no such file or directory", t.join("nope.yml").display()));
}

#[test]
fn project_names() {
    assert_eq!(normalize_project_name("My App.v2!"), "myappv2");
    assert_eq!(normalize_project_name("__-x_Y-1"), "x_y-1");
    assert_eq!(normalize_project_name("---"), "");
    assert_eq!(container_name("p", "web", 1), "p-web-1");
    assert_eq!(default_network_name("p"), "p_default");
    assert_eq!(volume_name("p", "data"), "p_data");
    assert_eq!(image_name("p", "web"), "p-web");

    let t = TempDir::new("compose-name");
    let dir = t.join("My Project");
    write(&dir, "compose.yaml", "services:\n  web:\n    image: a\n");
    assert_eq!(load(&opts(&dir)).unwrap().project.name, "myproject");
    write(&dir, "compose.yaml", "name: ${N:-From_File}\nservices:\n  web:\n    image: a\n");
    assert_eq!(load(&opts(&dir)).unwrap().project.name, "from_file");
    let env = with_env(opts(&dir), &[("COMPOSE_PROJECT_NAME", "fromenv")]);
    assert_eq!(load(&env).unwrap().project.name, "fromenv");
    let mut o = env.clone();
    o.project_name = Some("opt".into());
    assert_eq!(load(&o).unwrap().project.name, "opt");
    o.project_name = Some("Bad Name".into());
    assert_eq!(
        load(&o).unwrap_err().to_string(),
        "invalid project name \"Bad Name\": use only lowercase letters, digits, '-' and '_', starting with a letter or digit"
    );
    let empty = t.join("---");
    write(&empty, "compose.yaml", "services:\n  web:\n    image: a\n");
    assert!(matches!(load(&opts(&empty)), Err(ComposeError::EmptyProjectName)));
}

#[test]
fn interpolation_in_files() {
    let (l, _t) = load_yaml(
        "name: interp\nx-tag: &tag ${TAG:-latest}\nservices:\n  web:\n    image: \"nginx:${TAG:-1.25}\"\n    command: echo $${HOME} ${UNSET}\n    cpus: ${CPUS:-0.5}\n    labels:\n      tag: *tag\n",
    )
    .unwrap();
    let web = svc(&l, "web");
    assert_eq!(web.image.as_deref(), Some("nginx:1.25"));
    assert_eq!(web.command.as_ref().unwrap(), &["echo", "${HOME}"]);
    assert_eq!(web.cpus, Some(0.5));
    assert_eq!(web.labels["tag"], "latest");
    assert_eq!(l.warnings, ["the \"UNSET\" variable is not set, defaulting to a blank string"]);
    let e = err("services:\n  web:\n    image: ${IMAGE:?set IMAGE to the image to run}\n");
    assert_eq!(e, "services.web.image: required variable IMAGE is missing a value: set IMAGE to the image to run");
}

#[test]
fn extends_same_file_and_other_files() {
    let t = TempDir::new("compose-ext");
    write(
        &t.0,
        "common/base.yml",
        "services:\n  root:\n    image: base\n    environment: [ROOT=1]\n  base:\n    extends: root\n    build: ./ctx\n    env_file: base.env\n    volumes: [./data:/data]\n    labels: {from: base}\n    command: [base]\n",
    );
    write(&t.0, "common/base.env", "FROM_BASE_ENV=1\n");
    write(
        &t.0,
        "compose.yaml",
        "name: ext\nservices:\n  web:\n    extends: {file: common/base.yml, service: base}\n    labels: {own: web}\n    command: [web]\n  worker:\n    extends: web\n    environment: [ROOT=2]\n",
    );
    let l = load(&opts(&t.0)).unwrap();
    let web = svc(&l, "web");
    let common = t.join("common");
    assert_eq!(web.build.as_ref().unwrap().context, common.join("ctx").display().to_string());
    assert_eq!(web.volumes[0].source.as_deref(), Some(common.join("data").to_str().unwrap()));
    assert_eq!(web.environment["FROM_BASE_ENV"].as_deref(), Some("1"), "env_file of the base, from its directory");
    assert_eq!(web.environment["ROOT"].as_deref(), Some("1"));
    assert_eq!(web.labels.len(), 2);
    assert_eq!(web.command.as_ref().unwrap(), &["web"]);
    let worker = svc(&l, "worker");
    assert_eq!(worker.environment["ROOT"].as_deref(), Some("2"));
    assert_eq!(worker.image.as_deref(), Some("base"));

    write(&t.0, "compose.yaml", "services:\n  a: {extends: b, image: x}\n  b: {extends: a}\n");
    let e = load(&opts(&t.0)).unwrap_err().to_string();
    let f = t.join("compose.yaml").display().to_string();
    assert_eq!(
        e,
        format!("extends cycle detected: a in {f} -> b in {f} -> a in {f}: make one of these services stop extending the other")
    );
    write(&t.0, "compose.yaml", "services:\n  a: {extends: nope, image: x}\n");
    let e = load(&opts(&t.0)).unwrap_err().to_string();
    assert!(e.starts_with("services.a.extends: service \"nope\" not found in "), "{e}");
}

#[test]
fn include_short_long_and_conflicts() {
    let t = TempDir::new("compose-inc");
    write(
        &t.0,
        "db/compose.yaml",
        "services:\n  db:\n    image: postgres:${PG:-15}\n    env_file: db.env\nvolumes:\n  pg: {}\n",
    );
    write(&t.0, "db/db.env", "X=1\n");
    write(&t.0, "db/.env", "PG=16\n");
    write(&t.0, "cache/c.yaml", "services:\n  cache:\n    image: redis:${REDIS}\n    build: .\n");
    write(&t.0, "vars.env", "REDIS=7\n");
    write(
        &t.0,
        "compose.yaml",
        "name: inc\ninclude:\n  - db/compose.yaml\n  - path: [cache/c.yaml]\n    project_directory: cache\n    env_file: vars.env\nservices:\n  web:\n    image: a\n    depends_on: [db, cache]\n",
    );
    let l = load(&opts(&t.0)).unwrap();
    assert_eq!(svc(&l, "db").image.as_deref(), Some("postgres:16"), "the included project's .env");
    assert_eq!(svc(&l, "db").environment["X"].as_deref(), Some("1"));
    assert_eq!(svc(&l, "cache").image.as_deref(), Some("redis:7"));
    assert_eq!(svc(&l, "cache").build.as_ref().unwrap().context, t.join("cache").display().to_string());
    assert_eq!(l.project.volumes["pg"].name, "inc_pg");

    // the including project's variables win
    let l = load(&with_env(opts(&t.0), &[("PG", "17")])).unwrap();
    assert_eq!(svc(&l, "db").image.as_deref(), Some("postgres:17"));

    write(&t.0, "compose.yaml", "include: [db/compose.yaml]\nservices:\n  db:\n    image: mysql\n");
    let e = load(&opts(&t.0)).unwrap_err().to_string();
    assert!(e.starts_with("services.db: conflicts with the definition imported from "), "{e}");

    write(&t.0, "loop/a.yaml", "include: [b.yaml]\nservices: {a: {image: x}}\n");
    write(&t.0, "loop/b.yaml", "include: [a.yaml]\nservices: {b: {image: x}}\n");
    let mut o = opts(&t.0);
    o.files = vec!["loop/a.yaml".into()];
    let e = load(&o).unwrap_err().to_string();
    assert!(e.starts_with("include cycle detected: "), "{e}");
}

#[test]
fn profiles_and_selection() {
    let yaml = "services:\n  web: {image: a, depends_on: [db]}\n  db: {image: b}\n  debug: {image: c, profiles: [debug], depends_on: [db]}\n  tools: {image: c, profiles: [debug, tools]}\n  mock: {image: d, profiles: [dev], depends_on: [dbdev]}\n  dbdev: {image: d, profiles: [dev2]}\n";
    let t = TempDir::new("compose-prof");
    write(&t.0, "compose.yaml", yaml);
    let l = load(&opts(&t.0)).unwrap();
    let p = &l.project;
    assert_eq!(config_services(p), ["db", "web"]);
    assert_eq!(config_profiles(p), ["debug", "dev", "dev2", "tools"]);
    let names = |v: BTreeSet| v.into_iter().collect::<Vec<_>>();
    type BTreeSet = std::collections::BTreeSet<String>;
    assert_eq!(names(p.active_services(&[]).unwrap()), ["db", "web"]);
    // naming a service enables its profiles and pulls in its dependencies
    assert_eq!(names(p.active_services(&["debug".into()]).unwrap()), ["db", "debug"]);
    let e = p.active_services(&["mock".into()]).unwrap_err().to_string();
    assert_eq!(e, "services.mock.depends_on: service \"dbdev\" is disabled: enable one of its profiles (dev2)");
    assert!(matches!(p.active_services(&["nope".into()]), Err(ComposeError::NoSuchService(_))));
    let l = load(&with_env(opts(&t.0), &[("COMPOSE_PROFILES", "dev")])).unwrap();
    let e = l.project.select(&[]).unwrap_err().to_string();
    assert_eq!(e, "services.mock.depends_on: service \"dbdev\" is disabled: enable one of its profiles (dev2)");

    let mut o = opts(&t.0);
    o.profiles = vec!["debug".into()];
    let l = load(&o).unwrap();
    assert_eq!(config_services(&l.project), ["db", "debug", "tools", "web"]);
    let l = load(&with_env(opts(&t.0), &[("COMPOSE_PROFILES", "dev,dev2")])).unwrap();
    assert_eq!(config_services(&l.project), ["db", "dbdev", "mock", "web"]);
    let l = load(&with_env(opts(&t.0), &[("COMPOSE_PROFILES", "*")])).unwrap();
    assert_eq!(l.project.services.len(), 6);

    let sel = p.select(&["web".into()]).unwrap();
    assert_eq!(config_services(&sel), ["db", "web"]);
    assert_eq!(sel.networks.keys().collect::<Vec<_>>(), ["default"]);
}
