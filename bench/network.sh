#!/usr/bin/env bash
# Network benchmark (issue 6), side by side with podman when it is installed
# and usable. Not a test: it prints figures.
#   bench/network.sh [RCON_BINARY] [RUNS]
# Run it as the user you want to measure (rootless: an unprivileged user).
# podman's default port handler is rootlessport (a proxy of its own in front
# of slirp4netns); rcon publishes through slirp4netns' API, or pasta's -t.
#  - throughput: 1 GiB sent in 1 MiB writes by python3 in the container
#    (the host's /usr bound in read-only; busybox dd drops the rest of short
#    socket writes, busybox head/cat copy 4 KiB at a time) through a
#    published port, read on the host (median of RUNS)
#  - time to first byte: from `run -d -p` to the first byte of an HTTP answer
#    of busybox httpd through the published port (median of RUNS)
#  - connect latency: TCP connect + 1-byte echo through the published port,
#    with busybox `nc -ll -e cat` (forks a cat per connection) and with a
#    python3 echo server that does not fork (the host's /usr bound in
#    read-only), which leaves the network path's own cost
#  - user network: connect + echo and 1 GiB between two containers on a
#    user-defined network, by name
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
    if $have_podman; then podman rm -f -t 0 nb-tp nb-web nb-echo nb-srv nb-sink >/dev/null 2>&1 || true; podman network rm nb-net >/dev/null 2>&1 || true; fi
    "$RCON" image prune -af >/dev/null 2>&1 || true
    rm -rf "$work" 2>/dev/null || true
}
have_podman=false
trap cleanup EXIT

root=$work/rootfs; mkdir -p "$root/bin" "$root/etc" "$root/www"
cp "$(command -v busybox)" "$root/bin/busybox"
for a in sh true sleep echo nc dd httpd cat head; do ln -s busybox "$root/bin/$a"; done
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
buf = bytearray(1 << 20)
while True:
    # A proxy (pasta, rootlessport) may accept before the server listens,
    # then close: connect again until data comes.
    try:
        s = socket.create_connection(("127.0.0.1", port))
        k = s.recv_into(buf)
    except OSError:
        k = 0
    if k: break
    if time.time() > deadline: raise SystemExit("no data on port %d" % port)
    time.sleep(0.005)
n = k; t0 = time.time()
while True:
    k = s.recv_into(buf)
    if not k: break
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
    # Ready once a byte comes back: the port forwarder accepts before the
    # server in the container listens.
    try:
        s = socket.create_connection(("127.0.0.1", port)); s.sendall(b"x")
        if s.recv(1): s.close(); break
    except OSError:
        pass
    if time.time() > deadline: raise SystemExit("no echo on port %d" % port)
    time.sleep(0.005)
for _ in range(200):
    a = time.perf_counter()
    s = socket.create_connection(("127.0.0.1", port)); s.sendall(b"x"); s.recv(1); s.close()
    t.append((time.perf_counter() - a) * 1000)
t.sort(); print("%.2f" % t[len(t) // 2])
EOF
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

HOST_USR=(-v /usr:/usr:ro -v /lib:/lib:ro -v /lib64:/lib64:ro)
# 1 GiB in 1 MiB writes, each sent in full.
SEND_PY='import socket
l = socket.socket(); l.bind(("0.0.0.0", 5000)); l.listen(1)
c, _ = l.accept(); b = bytes(1 << 20)
for _ in range(1024): c.sendall(b)
c.close()'

throughput() { # ENGINE IMAGE [rm flags]
    local e=$1 img=$2 v=()
    for _ in $(seq "$N"); do
        local p; p=$(free_port)
        "$e" run -d ${NETFLAG:-} --name nb-tp -p "$p:5000" "${HOST_USR[@]}" "$img" python3 -c "$SEND_PY" >/dev/null
        v+=( "$(read_all "$p")" )
        "$e" rm -f ${3:-} nb-tp >/dev/null
    done
    # Runs that lost the end of the stream count apart (podman's
    # rootlessport did, here): the median is over complete runs.
    local short; short=$(printf '%s\n' "${v[@]}" | grep -c '^short' || true)
    local m; m=$(printf '%s\n' "${v[@]}" | grep -v '^short' | median)
    if [ "$short" -gt 0 ]; then echo "${m:--} ($short/$N short)"; else echo "$m"; fi
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
user_network() { # ENGINE IMAGE [rm flags]
    local e=$1 img=$2
    "$e" network create nb-net >/dev/null
    "$e" run -d --name nb-srv --network nb-net "${HOST_USR[@]}" "$img" python3 -c "$ECHO_PY" >/dev/null
    "$e" run -d --name nb-sink --network nb-net "${HOST_USR[@]}" "$img" python3 -c '
import socket
l = socket.socket(); l.bind(("0.0.0.0", 5001)); l.listen(1)
c, _ = l.accept(); b = bytearray(1 << 20)
while c.recv_into(b): pass' >/dev/null
    "$e" run --rm --network nb-net "${HOST_USR[@]}" "$img" python3 -c '
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
    "$e" rm -f ${3:-} nb-srv nb-sink >/dev/null
    "$e" network rm nb-net >/dev/null
}

row() { printf '%-44s %14s %14s\n' "$@"; }
# One row: LABEL, then a measuring function run for rcon and for podman.
compare() {
    local r p=-
    r=$("$2" "$RCON" busybox)
    $have_podman && p=$("$2" podman localhost/nb-busybox "-t 0")
    row "$1" "$r" "$p"
}
row "benchmark ($N runs, median)" "rcon" "podman"
compare "1 GiB through -p, MiB/s (slirp4netns)" throughput
compare "run -d -p to first HTTP byte, ms" first_byte
compare "connect + 1-byte echo through -p, ms" latency
compare "same, non-forking echo server, ms" latency_py
read -r ul ut <<<"$(user_network "$RCON" busybox)"
pl=- pt=-
$have_podman && read -r pl pt <<<"$(user_network podman localhost/nb-busybox "-t 0")"
row "user network, connect + echo by name, ms" "$ul" "$pl"
row "user network, 1 GiB ctr to ctr, MiB/s" "$ut" "$pt"
if command -v pasta >/dev/null 2>&1; then
    export NETFLAG=--network=pasta
    row "1 GiB through -p, MiB/s (rcon: pasta)" "$(throughput "$RCON" busybox)" "-"
    row "run -d -p to first HTTP byte, ms (pasta)" "$(first_byte "$RCON" busybox)" "-"
    row "connect + 1-byte echo through -p, ms (pasta)" "$(latency "$RCON" busybox)" "-"
fi
