#!/usr/bin/env bash
# Network benchmark (issue 6), side by side with podman when it is installed
# and usable. Not a test: it prints figures.
#   bench/network.sh [RCON_BINARY] [RUNS]
# Run it as the user you want to measure (rootless: an unprivileged user).
# podman's default port handler is rootlessport (a proxy of its own in front
# of slirp4netns); rcon publishes through slirp4netns' API, or pasta's -t.
#  - throughput: 1 GiB sent by busybox `nc` in the container through a
#    published port, read on the host (median of RUNS)
#  - time to first byte: from `run -d -p` to the first byte of an HTTP answer
#    of busybox httpd through the published port (median of RUNS)
#  - connect latency: TCP connect + 1-byte echo through the published port,
#    with busybox `nc -ll -e cat` (forks a cat per connection) and with a
#    python3 echo server that does not fork (the host's /usr bound in
#    read-only), which leaves the network path's own cost
#  - user network: connect + echo and 1 GiB between two containers on a
#    user-defined network, by name (rcon only: podman's rootless bridge
#    needs netavark's firewall in its namespace)
set -euo pipefail
RCON=${1:-target/release/rcon}
RCON=$(cd "$(dirname "$RCON")" && pwd)/$(basename "$RCON")
N=${2:-5}
work=$(mktemp -d /tmp/rcon-netbench.XXXXXX)
export XDG_DATA_HOME=$work/data XDG_RUNTIME_DIR=$work/run XDG_CONFIG_HOME=$work/config
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
if [ "$(id -u)" = 0 ]; then export RCON_ROOT=$work/data/rcon RCON_RUNROOT=$work/run/rcon; fi
cleanup() {
    "$RCON" rm -f $("$RCON" ps -aq) >/dev/null 2>&1 || true
    if $have_podman; then podman rm -f -t 0 nb-tp nb-web nb-echo >/dev/null 2>&1 || true; fi
    "$RCON" image prune -af >/dev/null 2>&1 || true
    rm -rf "$work" 2>/dev/null || true
}
have_podman=false
trap cleanup EXIT

root=$work/rootfs; mkdir -p "$root/bin" "$root/etc" "$root/www"
cp "$(command -v busybox)" "$root/bin/busybox"
for a in sh true sleep echo nc dd httpd cat; do ln -s busybox "$root/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
echo hello > "$root/www/index.html"
tar -C "$root" -c . | "$RCON" import -c 'CMD ["sh"]' - busybox >/dev/null
"$RCON" save -o "$work/busybox.tar" busybox
if command -v podman >/dev/null 2>&1 && podman load -i "$work/busybox.tar" >/dev/null 2>&1; then
    have_podman=true
    podman tag "$(podman images -q | head -1)" localhost/nb-busybox:latest >/dev/null 2>&1 || true
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Read everything from 127.0.0.1:PORT (retrying the connection until the
# server is up); print MiB/s.
read_all() {
    python3 - "$1" <<'EOF'
import socket, sys, time
port = int(sys.argv[1])
deadline = time.time() + 20
while True:
    try:
        s = socket.create_connection(("127.0.0.1", port)); break
    except OSError:
        if time.time() > deadline: raise
        time.sleep(0.005)
buf = bytearray(1 << 20); n = 0; t0 = None
while True:
    k = s.recv_into(buf)
    if not k: break
    if t0 is None: t0 = time.time()
    n += k
dt = time.time() - t0
print("%.0f" % (n / dt / (1 << 20)) if n >= (1 << 30) else "short:%d" % n)
EOF
}

# ms from now until an HTTP answer's first byte arrives on PORT, after "$@" (the run command).
ttfb() {
    local port=$1; shift
    python3 - "$port" "$@" <<'EOF'
import socket, subprocess, sys, time
port = int(sys.argv[1]); cmd = sys.argv[2:]
t0 = time.time()
subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
while True:
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        s.sendall(b"GET /index.html HTTP/1.0\r\n\r\n")
        if s.recv(1):
            break
    except OSError:
        pass
    if time.time() - t0 > 20: raise SystemExit("no answer")
    time.sleep(0.001)
print("%.1f" % ((time.time() - t0) * 1000))
EOF
}

# Median ms of a TCP connect + 1-byte round trip, 200 times, through PORT.
connect_latency() {
    python3 - "$1" <<'EOF'
import socket, sys, time
port = int(sys.argv[1]); t = []
deadline = time.time() + 20
while True:
    try:
        socket.create_connection(("127.0.0.1", port)).close(); break
    except OSError:
        if time.time() > deadline: raise
        time.sleep(0.005)
for _ in range(200):
    a = time.perf_counter()
    s = socket.create_connection(("127.0.0.1", port)); s.sendall(b"x"); s.recv(1); s.close()
    t.append((time.perf_counter() - a) * 1000)
t.sort(); print("%.2f" % t[len(t) // 2])
EOF
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

throughput() { # ENGINE IMAGE [rm flags]
    local e=$1 img=$2 v=()
    for _ in $(seq "$N"); do
        local p; p=$(free_port)
        "$e" run -d ${NETFLAG:-} --name nb-tp -p "$p:5000" "$img" nc -l -p 5000 -e dd if=/dev/zero bs=1M count=1024 >/dev/null
        v+=( "$(read_all "$p")" )
        "$e" rm -f ${3:-} nb-tp >/dev/null
    done
    printf '%s\n' "${v[@]}" | median
}

first_byte() {
    local e=$1 img=$2 v=()
    for _ in $(seq "$N"); do
        local p; p=$(free_port)
        v+=( "$(ttfb "$p" "$e" run -d ${NETFLAG:-} --name nb-web -p "$p:80" "$img" httpd -f -p 80 -h /www)" )
        "$e" rm -f ${3:-} nb-web >/dev/null
    done
    printf '%s\n' "${v[@]}" | median
}

latency() {
    local e=$1 img=$2 p; p=$(free_port)
    # busybox nc -ll -e cat: an echo server that survives each connection
    "$e" run -d ${NETFLAG:-} --name nb-echo -p "$p:7" "$img" nc -ll -p 7 -e cat >/dev/null
    connect_latency "$p"
    "$e" rm -f ${3:-} nb-echo >/dev/null
}

HOST_USR=(-v /usr:/usr:ro -v /lib:/lib:ro -v /lib64:/lib64:ro)
ECHO_PY='import socket
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", 7)); l.listen(64)
while True:
    c, _ = l.accept()
    d = c.recv(1)
    if d: c.sendall(d)
    c.close()'

latency_py() {
    local e=$1 img=$2 p; p=$(free_port)
    "$e" run -d ${NETFLAG:-} --name nb-echo -p "$p:7" "${HOST_USR[@]}" "$img" python3 -c "$ECHO_PY" >/dev/null
    connect_latency "$p"
    "$e" rm -f ${3:-} nb-echo >/dev/null
}

# Between two containers on a user network: connect + echo (ms, median of
# 200) and 1 GiB (MiB/s), client and server by name.
user_network() {
    "$RCON" network create nb-net >/dev/null
    "$RCON" run -d --name nb-srv --network nb-net "${HOST_USR[@]}" busybox python3 -c "$ECHO_PY" >/dev/null
    "$RCON" run -d --name nb-sink --network nb-net busybox sh -c 'while :; do nc -l -p 5001 >/dev/null; done' >/dev/null
    "$RCON" run --rm --network nb-net "${HOST_USR[@]}" busybox python3 -c '
import socket, time, subprocess
t = []
deadline = time.time() + 20
while True:
    try:
        socket.create_connection(("nb-srv", 7)).close(); break
    except OSError:
        if time.time() > deadline: raise
        time.sleep(0.01)
addr = socket.getaddrinfo("nb-srv", 7)[0][4]
for _ in range(200):
    a = time.perf_counter()
    s = socket.create_connection(addr); s.sendall(b"x"); s.recv(1); s.close()
    t.append((time.perf_counter() - a) * 1000)
t.sort()
sink = socket.getaddrinfo("nb-sink", 5001)[0][4]
while True:
    try:
        s = socket.create_connection(sink); break
    except OSError:
        time.sleep(0.01)
buf = bytes(1 << 20); a = time.perf_counter()
for _ in range(1024): s.sendall(buf)
s.close()
print("%.2f %.0f" % (t[len(t) // 2], 1024 / (time.perf_counter() - a)))'
    "$RCON" rm -f nb-srv nb-sink >/dev/null
    "$RCON" network rm nb-net >/dev/null
}

row() { printf '%-44s %12s %12s\n' "$@"; }
row "benchmark ($N runs, median)" "rcon" "podman"
r=$(throughput "$RCON" busybox); p=-
$have_podman && p=$(throughput podman localhost/nb-busybox "-t 0")
row "1 GiB through -p, MiB/s (slirp4netns)" "$r" "$p"
r=$(first_byte "$RCON" busybox); p=-
$have_podman && p=$(first_byte podman localhost/nb-busybox "-t 0")
row "run -d -p to first HTTP byte, ms" "$r" "$p"
r=$(latency "$RCON" busybox); p=-
$have_podman && p=$(latency podman localhost/nb-busybox "-t 0")
row "connect + 1-byte echo through -p, ms" "$r" "$p"
r=$(latency_py "$RCON" busybox); p=-
$have_podman && p=$(latency_py podman localhost/nb-busybox "-t 0")
row "same, non-forking echo server, ms" "$r" "$p"
read -r ul ut <<<"$(user_network)"
row "user network: connect + echo by name, ms" "$ul" "-"
row "user network: 1 GiB container to container, MiB/s" "$ut" "-"
if command -v pasta >/dev/null 2>&1; then
    export NETFLAG=--network=pasta
    row "1 GiB through -p, MiB/s (rcon: pasta)" "$(throughput "$RCON" busybox)" "-"
    row "run -d -p to first HTTP byte, ms (pasta)" "$(first_byte "$RCON" busybox)" "-"
    row "connect + 1-byte echo through -p, ms (pasta)" "$(latency "$RCON" busybox)" "-"
fi
