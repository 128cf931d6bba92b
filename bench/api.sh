#!/usr/bin/env bash
# Docker Engine API benchmark (issue 14): `rcon system service` side by side
# with `podman system service`, same image, same clients. Not a test: it
# prints figures.
#   bench/api.sh [RCON_BINARY] [ITERATIONS]
# Run it as the user you want to measure (rootless: an unprivileged user).
# Needs the docker CLI, and for the docker-py row the test venv
# (contrib/test-setup/api-clients.sh).
set -euo pipefail
RCON=${1:-target/release/rcon}
RCON=$(cd "$(dirname "$RCON")" && pwd)/$(basename "$RCON")
N=${2:-20}
VENV=${RCON_TEST_VENV:-/opt/rcon-test-venv}
DOCKER=$(command -v /usr/local/bin/docker docker | head -1)
work=$(mktemp -d /tmp/rcon-bench-api.XXXXXX)
export XDG_DATA_HOME=$work/data XDG_RUNTIME_DIR=$work/run XDG_CONFIG_HOME=$work/config DOCKER_CONFIG=$work/docker
mkdir -p "$XDG_RUNTIME_DIR" "$DOCKER_CONFIG" && chmod 700 "$XDG_RUNTIME_DIR"
if [ "$(id -u)" = 0 ]; then export RCON_ROOT=$work/data/rcon RCON_RUNROOT=$work/run/rcon; fi
RSOCK=$work/rcon.sock PSOCK=$work/podman.sock
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    "$RCON" rm -f $("$RCON" ps -aq) >/dev/null 2>&1 || true
    if $have_podman; then podman rm -f -t 0 $(podman ps -aq --filter label=rcon-bench) >/dev/null 2>&1 || true; fi
    rm -rf "$work" 2>/dev/null || true
}
have_podman=false
trap cleanup EXIT

# busybox from the static binary, in both stores
root=$work/rootfs; mkdir -p "$root/bin" "$root/etc" "$root/tmp"
cp "$(command -v busybox)" "$root/bin/busybox"
for a in sh true sleep echo cat; do ln -s busybox "$root/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
tar -C "$root" -c . | "$RCON" import -c 'CMD ["sh"]' - busybox >/dev/null
"$RCON" save -o "$work/busybox.tar" busybox
if command -v podman >/dev/null 2>&1 && podman load -i "$work/busybox.tar" >/dev/null 2>&1; then
    have_podman=true
    podman tag "$(podman images -q --filter reference=localhost/busybox | head -1)" docker.io/library/busybox:latest >/dev/null 2>&1 || true
fi

wait_sock() { for _ in $(seq 500); do [ -S "$1" ] && python3 -c "import socket,sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])" "$1" 2>/dev/null && return; sleep 0.01; done; echo "no socket $1" >&2; exit 1; }
"$RCON" system service --time 0 "unix://$RSOCK" 2>/dev/null & pids+=($!)
wait_sock "$RSOCK"
if $have_podman; then
    podman system service --time 0 "unix://$PSOCK" 2>/dev/null & pids+=($!)
    wait_sock "$PSOCK"
fi

# median of N timings (ms) of "$@": hyperfine (no shell in between)
median() {
    hyperfine -N -w 2 -r "$N" --export-json "$work/h.json" "$(printf '%q ' "$@")" >/dev/null 2>&1 \
        && python3 -c "import json; print('%.1f' % (json.load(open('$work/h.json'))['results'][0]['median'] * 1000))" \
        || echo "-"
}
row() { printf '%-44s %12s %12s %8s\n' "$@"; }
ratio() { { [ "$1" = "-" ] || [ "$2" = "-" ]; } && echo "-" || awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", b / a }'; }
# both NAME CMD...: CMD with DOCKER_HOST at rcon, then at podman; the row.
both() {
    local name=$1; shift
    local r p=-
    r=$(DOCKER_HOST=unix://$RSOCK median "$@")
    $have_podman && p=$(DOCKER_HOST=unix://$PSOCK median "$@")
    row "$name" "$r" "$p" "$(ratio "$r" "$p")"
}
# Timings inside one Python process (no interpreter start in the figure).
py() { "${PYTHON:-python3}" - "$@"; }

row "benchmark ($N runs, median)" "rcon ms" "podman ms" "speedup"
both "docker run --rm busybox true (CLI)" "$DOCKER" run --rm busybox true

if [ -x "$VENV/bin/python3" ]; then
    dpy() {
        DOCKER_HOST=unix://$1 PYTHON=$VENV/bin/python3 py "$N" <<'EOF'
import docker, statistics, sys, time
c = docker.from_env(); n = int(sys.argv[1]); t = []
c.containers.run("busybox", "true", remove=True)
for _ in range(n):
    a = time.perf_counter(); c.containers.run("busybox", "true", remove=True); t.append(time.perf_counter() - a)
print("%.1f" % (statistics.median(t) * 1000))
EOF
    }
    r=$(dpy "$RSOCK" 2>/dev/null || echo -); p=-
    $have_podman && p=$(dpy "$PSOCK" 2>/dev/null || echo -)
    row "docker-py containers.run(true, remove)" "$r" "$p" "$(ratio "$r" "$p")"
fi

# GET /containers/json?all=1 over one keep-alive connection.
list() {
    py "$1" "$N" <<'EOF'
import socket, statistics, sys, time
path, n = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_UNIX); s.connect(path)
req = b"GET /v1.41/containers/json?all=1 HTTP/1.1\r\nHost: x\r\n\r\n"
def one():
    s.sendall(req); buf = b""
    while b"\r\n\r\n" not in buf: buf += s.recv(65536)
    head, body = buf.split(b"\r\n\r\n", 1); h = head.lower()
    if b"content-length:" in h:
        want = int(h.split(b"content-length:")[1].split(b"\r\n")[0])
        while len(body) < want: body += s.recv(65536)
    else:
        while not body.endswith(b"0\r\n\r\n"): body += s.recv(65536)
    return body
one(); t = []
for _ in range(n):
    a = time.perf_counter(); one(); t.append(time.perf_counter() - a)
print("%.1f" % (statistics.median(t) * 1000))
EOF
}
for i in $(seq 100); do "$RCON" create --label rcon-bench=1 busybox true >/dev/null; done
$have_podman && for i in $(seq 100); do podman create --label rcon-bench=1 localhost/busybox true >/dev/null; done
r=$(list "$RSOCK"); p=-
$have_podman && p=$(list "$PSOCK")
row "GET /containers/json, 100 containers" "$r" "$p" "$(ratio "$r" "$p")"
"$RCON" rm -f $("$RCON" ps -aq) >/dev/null
$have_podman && podman rm -f -t 0 $(podman ps -aq --filter label=rcon-bench) >/dev/null 2>&1 || true

ctx=$work/ctx; mkdir -p "$ctx"
{ echo "FROM busybox"; for i in $(seq 9); do echo "RUN echo step $i > /tmp/s$i"; done; } > "$ctx/Dockerfile"
DOCKER_HOST=unix://$RSOCK "$DOCKER" build -q -t bench10 "$ctx" >/dev/null 2>&1 || true
$have_podman && { DOCKER_HOST=unix://$PSOCK "$DOCKER" build -q -t bench10 "$ctx" >/dev/null 2>&1 || true; }
both "docker build, 10 steps, cached" "$DOCKER" build -q -t bench10 "$ctx"

# Cold start: socket activation to the first answer of GET /_ping.
cold() {
    py "$N" "$work/act.sock" "$@" <<'EOF'
import os, socket, statistics, subprocess, sys, time
n, sock, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
t = []
for _ in range(n + 1):
    if os.path.exists(sock): os.unlink(sock)
    p = subprocess.Popen(["systemd-socket-activate", "-l", sock] + cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not os.path.exists(sock): time.sleep(0.001)
    time.sleep(0.05)  # the activator listens; nothing of ours runs yet
    a = time.perf_counter()
    s = socket.socket(socket.AF_UNIX); s.connect(sock)
    s.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n"); r = s.recv(4096)
    t.append(time.perf_counter() - a)
    assert r.startswith(b"HTTP/1.1 200"), r
    s.close(); p.terminate(); p.wait()
print("%.1f" % (statistics.median(t[1:]) * 1000))
EOF
}
if command -v systemd-socket-activate >/dev/null; then
    r=$(cold "$RCON" system service --time 0 2>/dev/null || echo -); p=-
    $have_podman && p=$(cold podman system service --time 0 2>/dev/null || echo -)
    row "cold start: activation to first answer" "$r" "$p" "$(ratio "$r" "$p")"
fi
