#!/bin/sh
# The README's demo: a real image workflow with rcon, start to finish.
# Grows with every feature. Runs with its own throw-away store.
set -eu
RCON=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
work=$(mktemp -d /tmp/rcon-demo.XXXXXX)
export XDG_DATA_HOME="$work/data" XDG_RUNTIME_DIR="$work/run" XDG_CONFIG_HOME="$work/config"
unset RCON_ROOT RCON_RUNROOT
[ "$(id -u)" = 0 ] && export RCON_ROOT="$work/data/rcon" RCON_RUNROOT="$work/run/rcon"
mkdir -p "$work/run" && chmod 700 "$work/run"
registry_pid=""
service_pid=""
cleanup() {
    [ -n "$registry_pid" ] && kill "$registry_pid" 2>/dev/null || true
    [ -n "$service_pid" ] && kill "$service_pid" 2>/dev/null || true
    "$RCON" rm -f demo-box demo-web demo-db >/dev/null 2>&1 || true
    "$RCON" pod rm -f demo-pod >/dev/null 2>&1 || true
    [ -f "$work/shop.yaml" ] && "$RCON" kube play --down "$work/shop.yaml" >/dev/null 2>&1 || true
    "$RCON" network rm demo-net >/dev/null 2>&1 || true
    "$RCON" volume rm demo-data >/dev/null 2>&1 || true
    "$RCON" image prune -a -f >/dev/null 2>&1 || true
    rm -rf "$work" 2>/dev/null || true
}
trap cleanup EXIT
step() { printf '\n\033[1m$ rcon %s\033[0m\n' "$*"; "$RCON" "$@"; }

# A root file system from Debian's static busybox.
root="$work/rootfs"
mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/www"
cp "$(command -v busybox)" "$root/bin/busybox"
for a in sh ls cat echo id hostname sleep tr httpd nc seq mkdir nslookup wget grep sed; do ln -s busybox "$root/bin/$a"; done
echo 'hello from a published port' > "$root/www/index.html"
echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"

printf '\n\033[1m$ tar -C rootfs -c . | rcon import -c "CMD [\\"sh\\"]" - busybox:demo\033[0m\n'
tar -C "$root" -c . | "$RCON" import -c 'CMD ["sh"]' -m "demo image" - busybox:demo
step images
step tag busybox:demo localhost:5000/demo/busybox:1.0
step images --format 'table {{.Repository}}\t{{.Tag}}\t{{.Size}}'
step history busybox:demo
step inspect --format '{{.Os}}/{{.Architecture}} cmd={{json .Config.Cmd}} layers={{len .RootFS.Layers}}' busybox:demo
step save -o "$work/busybox.tar" busybox:demo
step rmi busybox:demo localhost:5000/demo/busybox:1.0
step load -i "$work/busybox.tar"
step images
step info --format 'driver={{.Driver}} rootless={{.Rootless}}'

# Containers: foreground, background, exec, logs, stop.
step run --rm busybox:demo sh -c 'echo "hello from $(hostname), pid $$, uid $(id -u)"'
step run -d --name demo-box busybox:demo sh -c 'echo started; trap "echo bye; exit 0" TERM; while :; do sleep 1; done'
step ps
step exec demo-box sh -c 'echo "exec sees pid 1: $(cat /proc/1/cmdline | tr "\0" " ")"'
step stop -t 5 demo-box
step logs demo-box
step ps -a --format '{{.Names}}: {{.Status}}'
step rm demo-box

# Networking and volumes: a published port, reached from the host; data kept in a volume.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 18080)
step run -d --name demo-web -p "$port:80" -v demo-data:/www busybox:demo httpd -f -p 80 -h /www
step port demo-web
printf '\n\033[1m$ curl http://127.0.0.1:%s/\033[0m\n' "$port"
i=0; until out=$(printf 'GET / HTTP/1.0\r\n\r\n' | busybox nc 127.0.0.1 "$port" 2>/dev/null) && [ -n "$out" ]; do
    i=$((i + 1)); [ $i -lt 200 ] || { echo "no answer on port $port"; exit 1; }; sleep 0.05; done
if command -v curl >/dev/null 2>&1; then curl -s "http://127.0.0.1:$port/"; else printf '%s\n' "$out" | tail -n 1; fi
step ps --format 'table {{.Names}}\t{{.Ports}}'
step rm -f demo-web
step volume ls
step run --rm -v demo-data:/data busybox:demo cat /data/index.html

# A user-defined network: containers find each other by name and alias.
step network create demo-net
step run -d --name demo-db --network demo-net --network-alias database busybox:demo nc -ll -p 5432 -e echo "db says hello"
step run --rm --network demo-net busybox:demo sh -c 'for i in $(seq 50); do nc database 5432 </dev/null && break; sleep 0.1; done'
step network inspect demo-net --format '{{range .Containers}}{{.Name}} {{.IPv4Address}}{{end}}'
step rm -f demo-db
step network rm demo-net

# A registry on loopback (Debian's docker-registry): push, forget, pull back.
if command -v docker-registry >/dev/null 2>&1; then
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 5099)
    printf 'version: 0.1\nlog: {level: error, accesslog: {disabled: true}}\nstorage: {filesystem: {rootdirectory: %s}}\nhttp: {addr: 127.0.0.1:%s}\n' \
        "$work/registry" "$port" > "$work/registry.yml"
    docker-registry serve "$work/registry.yml" >/dev/null 2>&1 &
    registry_pid=$!
    i=0; until "$RCON" manifest inspect "127.0.0.1:$port/none:x" 2>&1 | grep -q "no such manifest"; do
        i=$((i+1)); [ $i -lt 100 ] || break; sleep 0.1; done
    reg="127.0.0.1:$port"
    printf '\n\033[1m# a registry on %s (docker-registry serve)\033[0m\n' "$reg"
    step tag busybox:demo "$reg/demo/busybox:1.0"
    step push "$reg/demo/busybox:1.0"
    step rmi busybox:demo "$reg/demo/busybox:1.0"
    step pull "$reg/demo/busybox:1.0"
    step run --rm "$reg/demo/busybox:1.0" echo "pulled back and running"
    step manifest inspect "$reg/demo/busybox:1.0"
fi

"$RCON" image inspect busybox:demo >/dev/null 2>&1 || "$RCON" load -q -i "$work/busybox.tar" >/dev/null

# `docker` as a program: a link to rcon (make install-docker-links) works
# where aliases do not reach, in scripts and Makefiles.
mkdir -p "$work/bin" && ln -s "$RCON" "$work/bin/docker"
printf '\n\033[1m$ ln -s rcon docker && docker run --rm busybox:demo echo ...\033[0m\n'
"$work/bin/docker" run --rm busybox:demo echo "rcon answering to the name docker"

# Compose: a web service, its database and two workers, natively.
mkdir -p "$work/shop"
cat > "$work/shop/compose.yaml" <<'YAML'
services:
  db:
    image: busybox:demo
    command: ["sh", "-c", "trap 'exit 0' TERM; echo db ready > /tmp/ready; sleep 1000 & wait"]
    healthcheck:
      test: ["CMD", "cat", "/tmp/ready"]
      interval: 1s
  web:
    image: busybox:demo
    command: ["sh", "-c", "mkdir -p /www; echo hello from the web service > /www/index.html; exec httpd -f -p 8080 -h /www"]
    stop_grace_period: 1s
    ports: ["8080"]
    depends_on:
      db:
        condition: service_healthy
  worker:
    image: busybox:demo
    command: ["sh", "-c", "trap 'exit 0' TERM; echo worker $$HOSTNAME saw ${GREETING:-nothing}; sleep 1000 & wait"]
    deploy:
      replicas: 2
YAML
printf 'GREETING=the .env file\n' > "$work/shop/.env"
cstep() { printf '\n\033[1m$ rcon compose %s\033[0m\n' "$*"; (cd "$work/shop" && "$RCON" compose "$@"); }
printf '\n\033[1m$ cat compose.yaml\033[0m\n'; cat "$work/shop/compose.yaml"
cstep up -d
cstep ps
cstep logs worker
printf '\n\033[1m$ rcon compose exec -T web nslookup worker | grep Address:\033[0m   (one answer per replica)\n'
(cd "$work/shop" && "$RCON" compose exec -T web nslookup worker) | grep '^Address: '
cstep port web 8080
cstep exec -T worker wget -q -O- http://web:8080/
cstep down

# Pods: containers that share localhost, with the ports published on the pod.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 18081)
step pod create --name demo-pod -p "$port:80"
step run -d --pod demo-pod --name demo-pod-web busybox:demo httpd -f -p 80 -h /www
step run --rm --pod demo-pod busybox:demo sh -c 'for i in $(seq 50); do wget -qO- http://127.0.0.1:80/ && break; sleep 0.1; done'
step pod ps
# ... and the way to Kubernetes: a pod as YAML, the compose project as YAML, played back.
step kube generate demo-pod --service
step pod rm -f demo-pod
step tag busybox:demo busybox:1.36
printf '\n\033[1m$ rcon compose convert --format kube > shop.yaml\033[0m\n'
(cd "$work/shop" && "$RCON" compose convert --format kube) > "$work/shop.yaml"
grep -E '^kind:|^  name:' "$work/shop.yaml" | paste - - | sed 's/  */ /g'
step kube play "$work/shop.yaml"
step pod ps
port=$("$RCON" pod inspect web-pod --format '{{range $p, $b := .InfraConfig.PortBindings}}{{range $b}}{{.HostPort}}{{end}}{{end}}')
printf '\n\033[1m$ curl http://127.0.0.1:%s/   (the web Service'"'"'s nodePort)\033[0m\n' "$port"
i=0; until out=$(printf 'GET / HTTP/1.0\r\n\r\n' | busybox nc 127.0.0.1 "$port" 2>/dev/null) && [ -n "$out" ]; do
    i=$((i + 1)); [ $i -lt 200 ] || { echo "no answer on port $port"; exit 1; }; sleep 0.05; done
printf '%s\n' "$out" | tail -n 1
step kube play --down "$work/shop.yaml"

# The Docker Engine API: the tools that speak it drive the same containers.
printf '\n\033[1m$ rcon system service unix://%s/api.sock &\033[0m\n' "$work"
"$RCON" system service --time 0 "unix://$work/api.sock" &
service_pid=$!
i=0; until [ -S "$work/api.sock" ]; do i=$((i+1)); [ $i -lt 200 ] || { echo "no API socket"; exit 1; }; sleep 0.02; done
export DOCKER_HOST="unix://$work/api.sock"
api() { printf '\n\033[1m$ curl --unix-socket api.sock http://d%s\033[0m\n' "$1"; curl -s --unix-socket "$work/api.sock" "http://d$1"; echo; }
if command -v curl >/dev/null 2>&1; then
    api /_ping
    api /version | head -c 300; echo
fi
real_docker=$(command -v /usr/local/bin/docker /usr/bin/docker 2>/dev/null | head -1 || true)
if [ -n "$real_docker" ]; then
    dstep() { printf '\n\033[1m$ docker %s\033[0m   (Docker'"'"'s own CLI, DOCKER_HOST=unix://.../api.sock)\n' "$*"; "$real_docker" "$@"; }
    dstep version --format 'client {{.Client.Version}}, server {{.Server.Platform.Name}} API {{.Server.APIVersion}}'
    dstep run --rm busybox:demo sh -c 'echo "hello through the Docker API, from $(hostname)"'
    dstep run -d --name demo-box busybox:demo sleep 30
    dstep ps --format '{{.Names}} {{.Status}}'
    dstep exec demo-box echo "exec through the API"
    dstep rm -f demo-box
    if command -v docker-compose >/dev/null 2>&1; then
        mkdir -p "$work/proj"
        printf 'version: "2.4"\nservices:\n  hello:\n    image: busybox:demo\n    command: echo hello from docker-compose\n' > "$work/proj/docker-compose.yml"
        printf '\n\033[1m$ docker-compose up   (docker-compose 1.29 through the API)\033[0m\n'
        (cd "$work/proj" && docker-compose up --no-color 2>&1 | tail -n 3 && docker-compose down >/dev/null 2>&1)
    fi
fi
kill "$service_pid"; wait "$service_pid" 2>/dev/null || true; service_pid=""
printf '\ndemo finished: image imported, tagged, saved, loaded back, run as containers, served on a published port with data in a volume, reached by name on a user network, pushed to a registry and pulled back, a compose project brought up and down, a pod generated as Kubernetes YAML, the compose project converted to Kubernetes YAML and played, run as `docker`, and driven through the Docker Engine API\n'
